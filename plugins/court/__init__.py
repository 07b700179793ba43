"""Sector plugin: court."""
