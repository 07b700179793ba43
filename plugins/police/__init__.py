"""Sector plugin: police."""
