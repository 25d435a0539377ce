"""Relayout training package: synthetic scenes, datasets, losses, trainers, evaluation, export.

Run as ``python -m training <command> --help``. Depends on :mod:`inference`, never on ``app``.
"""
