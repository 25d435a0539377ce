"""Error hierarchy shared by the engine, the training package and the GUI.

Every error that is the user's to fix derives from :class:`BadInputError`; the command line maps
it to exit status 2 with a one-line message. Anything else is an internal error (exit status 1).
"""

from __future__ import annotations


class RelayoutError(Exception):
    """Base class of every error Relayout raises on purpose."""


class BadInputError(RelayoutError):
    """The user gave something unusable: a missing, unreadable or invalid file or value."""


class ImageError(BadInputError):
    """A photo could not be read or is outside the supported limits."""


class LabelMapError(BadInputError):
    """A label map is malformed, has unknown values, or does not match its photo."""


class CheckpointError(BadInputError):
    """A checkpoint is missing, has the wrong format version, or has mismatched weights."""


class ProjectFileError(BadInputError):
    """A ``.relayout`` project file is corrupt or of an unsupported version."""


class OutputError(BadInputError):
    """An output cannot be written where asked: no such folder, not writable, disk full, or the
    path is one of the command's inputs (which the write would destroy)."""


class ModelUnavailableError(BadInputError):
    """A model (parser, checkpoint) is not available locally and cannot be downloaded."""


class CancelledError(RelayoutError):
    """A long-running operation was cancelled through its cancel token."""
