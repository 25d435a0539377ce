"""Atomic file writes: a temporary file in the destination folder, then one ``os.replace``.

What a reader of the destination can see is the old file or the new one, never a half-written
one; a write that fails (disk full, read-only folder, ...) raises :class:`OutputError` naming the
path and the OS reason, keeps the old file and leaves no temporary file behind.

Permissions are those an ordinary ``open(path, "w")`` would give: a new file gets
``0o666 & ~umask``; a replaced file keeps its mode. (``mkstemp`` alone creates 0600 files, which
made every saved photo private to its owner whatever the umask.)
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from inference.errors import OutputError


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere the only way is to set it and put it back (briefly visible to other threads).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode_for(path: str | os.PathLike) -> int:
    """Mode a write to ``path`` should leave: the existing file's, else ``0o666 & ~umask``."""
    try:
        st = os.stat(path)
    except OSError:
        return 0o666 & ~current_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~current_umask()


def folder_mode() -> int:
    """Mode of a new folder (``0o777 & ~umask``), for folders made with ``mkdtemp`` (0700)."""
    return 0o777 & ~current_umask()


def give_new_file_mode(path: str | os.PathLike) -> None:
    """Set ``path`` to a new file's ordinary mode; for writers that create 0600 files
    themselves (``safetensors.save_file``)."""
    os.chmod(path, 0o666 & ~current_umask())


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def make_parent(path: Path) -> None:
    """Create ``path``'s folder (and its parents) or raise :class:`OutputError` saying why."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write {path}: {path.parent} is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: cannot create folder {path.parent} "
                          f"({_reason(exc)})") from None


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    make_parent(path)
    mode = file_mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda fh: fh.write(data))
