"""Checking a command's outputs before it does any work.

A command calls these first, so a typo in ``--out`` costs nothing and never costs a file:

* :func:`check_output_file` / :func:`check_output_folder`: the location exists (or can be made),
  is a folder, and a file can really be created there (a probe file, removed at once: permission
  bits alone do not tell a read-only mount, ``/proc``, or root's rights apart); the target is not
  a folder or a device.
* :func:`check_distinct`: no output is one of the inputs or another output, by real path and by
  inode (symbolic and hard links), so no write replaces a photo or a label map it was given.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from inference.errors import OutputError

PathLike = str | os.PathLike


def _probe(folder: Path) -> str | None:
    """``None`` if a file can be created in ``folder``, else the OS reason it cannot."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".relayout-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(tmp)
    return None


def check_output_file(path: PathLike, flag: str, suffixes: Iterable[str] | None = None) -> Path:
    """Raise :class:`OutputError` unless a file can be written at ``path``; return it."""
    p = Path(path)
    if not str(path):
        raise OutputError(f"{flag} is empty; name the file to write")
    if suffixes is not None:
        allowed = tuple(suffixes)
        if p.suffix.lower() not in allowed:
            raise OutputError(f"{flag} {p}: unknown file type {p.suffix or '(none)'!r}; use one "
                              f"of {', '.join(allowed)}")
    if p.is_dir():
        raise OutputError(f"{flag} {p} is a folder; name a file to write")
    if p.exists() and not stat.S_ISREG(os.stat(p).st_mode):
        raise OutputError(f"{flag} {p} exists and is not a regular file (a device or pipe); "
                          f"name a file to write")
    folder = p.parent
    if not folder.exists():
        raise OutputError(f"{flag} {p}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{flag} {p}: {folder} is a file, not a folder")
    reason = _probe(folder)
    if reason is not None:
        raise OutputError(f"{flag} {p}: cannot write in folder {folder} ({reason})")
    return p


def check_output_folder(path: PathLike, flag: str) -> Path:
    """Raise :class:`OutputError` unless folder ``path`` exists or can be made, and is writable."""
    p = Path(path)
    if not str(path):
        raise OutputError(f"{flag} is empty; name the folder to write")
    if p.exists() and not p.is_dir():
        raise OutputError(f"{flag} {p} is a file, not a folder")
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{flag} {p}: {existing} is a file, not a folder")
    reason = _probe(existing)
    if reason is not None:
        raise OutputError(f"{flag} {p}: cannot write in folder {existing} ({reason})")
    return p


def _identity(path: PathLike) -> tuple[str, tuple[int, int] | None]:
    try:
        st = os.stat(path)
        inode = (st.st_dev, st.st_ino)
    except OSError:
        inode = None
    return os.path.realpath(path), inode


def check_distinct(inputs: Mapping[str, PathLike | Iterable[PathLike] | None],
                   outputs: Mapping[str, PathLike | None]) -> None:
    """Raise :class:`OutputError` if an output is the same file as an input or another output.

    ``inputs`` maps a flag to a path, a list of paths (repeatable flags) or ``None``;
    ``outputs`` maps a flag to a path or ``None``.
    """
    seen: list[tuple[str, PathLike, tuple[str, tuple[int, int] | None]]] = []
    for flag, value in inputs.items():
        if value is None:
            continue
        paths = [value] if isinstance(value, (str, os.PathLike)) else list(value)
        seen += [(flag, p, _identity(p)) for p in paths if p is not None]
    n_inputs = len(seen)
    for flag, path in outputs.items():
        if path is None:
            continue
        real, inode = _identity(path)
        for i, (other_flag, other, (other_real, other_inode)) in enumerate(seen):
            if real == other_real or (inode is not None and inode == other_inode):
                if i < n_inputs:
                    raise OutputError(
                        f"{flag} {path} is the same file as {other_flag} {other}; writing it "
                        f"would destroy that input, so choose another output path")
                raise OutputError(f"{flag} {path} and {other_flag} {other} are the same file; "
                                  f"choose two different output paths")
        seen.append((flag, path, (real, inode)))
