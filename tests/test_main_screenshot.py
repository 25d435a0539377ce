"""``main.py PHOTO --screenshot OUT``: an unwritable OUT is refused before the editor starts."""

from __future__ import annotations

import numpy as np
import pytest

import main
from inference.imageio import save_image
from tests.hostile import assert_refused, run_cli, snapshot

CASES = [
    ("in-sys", "/sys/shot.png", ["--screenshot", "cannot write in folder /sys"]),
    ("in-proc", "/proc/shot.png", ["cannot write in folder /proc"]),
    ("a-folder", "{d}/dir.png", ["is a folder"]),
    ("under-a-file", "{d}/photo.png/shot.png", ["photo.png is a file"]),
    ("folder-missing", "{d}/nope/shot.png", ["does not exist"]),
    ("gif", "{d}/shot.gif", ["unknown file type '.gif'"]),
    ("is-the-photo", "{d}/photo.png", ["same file as IMAGE"]),
]


@pytest.mark.parametrize(("target", "needles"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_screenshot_target_is_checked_before_the_gui(tmp_path, capfd, monkeypatch, target,
                                                     needles):
    monkeypatch.setattr("app.gui.run", lambda *a: pytest.fail("the editor started"),
                        raising=False)
    save_image(tmp_path / "photo.png", np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "dir.png").mkdir()
    before = snapshot(tmp_path)
    target = target.replace("{d}", str(tmp_path))
    out = run_cli(main.main, [str(tmp_path / "photo.png"), "--screenshot", target], capfd)
    assert_refused(out, *needles)
    assert snapshot(tmp_path) == before


def test_screenshot_leaves_the_files_beside_it_alone(tmp_path):
    """The throwaway settings live in a temporary folder: a user's ``shot.ini`` survives."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    save_image(tmp_path / "photo.png", np.full((48, 64, 3), 90, np.uint8))
    mine = tmp_path / "shot.ini"
    mine.write_text("[mine]\nkeep=1\n")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "main.py", str(tmp_path / "photo.png"), "--screenshot",
                        str(tmp_path / "shot.png")], cwd=root, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "shot.png").stat().st_size > 0
    assert mine.read_text() == "[mine]\nkeep=1\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["photo.png", "shot.ini", "shot.png"]
