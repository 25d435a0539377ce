"""Atomic writes: the mode a normal write would give, the old file kept on failure (issue 13)."""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

from inference.atomic import atomic_write_bytes, current_umask
from inference.errors import OutputError
from inference.imageio import save_image, save_label_map, save_mask


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


WRITERS = {
    "bytes": lambda p: atomic_write_bytes(p, b"data"),
    "image": lambda p: save_image(p, np.zeros((16, 16, 3), np.uint8)),
    "labels": lambda p: save_label_map(p, np.ones((16, 16), np.uint8)),
    "mask": lambda p: save_mask(p, np.ones((16, 16), bool)),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_new_file_respects_the_umask(tmp_path, umask, writer):
    assert current_umask() == umask
    path = tmp_path / "new.png"
    WRITERS[writer](path)
    assert _mode(path) == 0o666 & ~umask  # was 0600 whatever the umask


@pytest.mark.parametrize("writer", WRITERS)
def test_replaced_file_keeps_its_mode(tmp_path, writer):
    path = tmp_path / "old.png"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    WRITERS[writer](path)
    assert _mode(path) == 0o640 and path.read_bytes() != b"old"


def test_checkpoint_folder_gets_a_normal_folder_mode(tmp_path, umask):
    import torch

    from inference.checkpoint import save_checkpoint
    from inference.networks.generator import GeneratorConfig, ManipulationGenerator

    cfg = GeneratorConfig.tiny()
    folder = save_checkpoint(tmp_path / "ck", {"generator": (cfg, ManipulationGenerator(cfg))})
    assert _mode(folder) == 0o777 & ~umask  # mkdtemp alone gives 0700
    for file in folder.iterdir():
        assert _mode(file) == 0o666 & ~umask, file.name
    del torch


def test_project_file_mode(tmp_path, umask):
    from app.document import EditDocument, save_project

    doc = EditDocument(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16), np.uint8))
    save_project(doc, tmp_path / "p.relayout")
    assert _mode(tmp_path / "p.relayout") == 0o666 & ~umask


@pytest.mark.parametrize(("problem", "message"), [
    ("folder", "it is a folder"),
    ("parent-is-file", "is a file, not a folder"),
    ("disk-full", "No space left on device"),
])
def test_failed_write_is_one_output_error_and_leaves_nothing(tmp_path, monkeypatch, problem,
                                                             message):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    if problem == "folder":
        target = tmp_path / "dir"
        target.mkdir()
    elif problem == "parent-is-file":
        target = tmp_path / "out.bin" / "x.bin"
    else:
        def full(_fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=message) as info:
        atomic_write_bytes(target, b"new")
    assert str(target) in str(info.value)
    assert (tmp_path / "out.bin").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.bin"] + (["dir"] if problem == "folder" else []))
