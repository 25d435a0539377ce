"""Dialogs: settings and the model manager."""
