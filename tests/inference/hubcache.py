"""Build folders laid out exactly like the huggingface-hub cache, for offline tests."""

from __future__ import annotations

import shutil
from pathlib import Path


def make_hub_repo(cache: Path, repo: str, files: dict[str, Path | bytes],
                  revision: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """Put ``files`` (name -> source path or bytes) into ``cache`` as ``repo`` at ``revision``.

    The layout is huggingface-hub's: ``models--ORG--NAME/{blobs,refs/main,snapshots/<rev>/}``.
    Returns the snapshot folder.
    """
    root = cache / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    for name, src in files.items():
        dest = snap / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            dest.write_bytes(src)
        else:
            shutil.copyfile(src, dest)
    return snap
