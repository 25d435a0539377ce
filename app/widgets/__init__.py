"""Dock widgets and panels, one widget per module."""
