"""Relayout desktop editor (PySide6). Only this package imports Qt."""
