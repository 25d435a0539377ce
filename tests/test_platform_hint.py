"""``python main.py`` on a Linux machine whose Qt platform plugin cannot load (issue 12, 3b):
a clear message naming the system packages, exit status 1, no core-dumping abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform_hint import XCB_LIBRARIES, missing_libraries, platform_hint

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_main_explains_a_platform_plugin_that_cannot_load():
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=":4242", HF_HUB_OFFLINE="1")
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # Qt alone: abort(), 134
    assert "error: the editor window could not start" in proc.stderr
    assert "sudo apt-get install" in proc.stderr
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"):
        assert package in proc.stderr
    assert "--screenshot" in proc.stderr  # the way to render without a display


def test_missing_libraries_are_named_with_their_packages():
    def loader(soname: str) -> object:
        if soname in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
            raise OSError(f"{soname}: cannot open shared object file")
        return object()

    missing = missing_libraries(loader)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    text = platform_hint("xcb", missing, ":0")
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in text
    assert text.startswith("error: ") and "'xcb' platform plugin" in text
    assert "DISPLAY is not set" in platform_hint("xcb", [], None)
    assert set(XCB_LIBRARIES.values()) >= {"libxcb-cursor0", "libxkbcommon-x11-0"}
