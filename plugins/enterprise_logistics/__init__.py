"""Sector plugin: enterprise_logistics."""
