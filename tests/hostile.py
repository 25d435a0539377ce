"""Helpers for the hostile-input tables: run a command line in-process, check a refusal.

A refusal is the contract of DESIGN.md: exit status 2, exactly one line on stderr starting with
``error: ``, no traceback -- and the files in the test's folder exactly as they were (same names,
same bytes, same modes: nothing overwritten, nothing half-written, no temporary file left).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_cli(entry: Callable[[list[str]], int], argv: list[str], capsys) -> Outcome:
    """``entry(argv)`` (``main.main`` or ``training.__main__.main``) with its exit status and
    output; argparse's ``sys.exit(2)`` counts as a return."""
    capsys.readouterr()
    try:
        code = entry([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(int(code), captured.out, captured.err)


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """``relative path -> (sha256, mode)`` of every file under ``folder``."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            data = path.read_bytes() if path.is_file() else b""
            files[str(path.relative_to(folder))] = (hashlib.sha256(data).hexdigest(),
                                                   stat.S_IMODE(path.lstat().st_mode))
    return files


def assert_refused(outcome: Outcome, *needles: str) -> str:
    """Exit status 2, one ``error: `` line holding every needle; returns that line."""
    lines = outcome.err.strip().splitlines()
    assert outcome.code == 2, (outcome.code, outcome.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
    assert "Traceback" not in outcome.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def read_only_folder(monkeypatch, folder: Path) -> Path:
    """Make ``folder`` (created here) refuse new files with EROFS, as a read-only mount does
    (root included): the writers' probe and their temporary files go through ``mkstemp``."""
    folder.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir", "")) == folder:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return folder
