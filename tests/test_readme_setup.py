"""The README's set-up section stays true to the code (issue 12, item 3): the exact CPU-only
torch command, the Linux packages the platform hint names, the regions table's command."""

from __future__ import annotations

import re
from pathlib import Path

from app.platform_hint import XCB_LIBRARIES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start:end if end > 0 else None]


def test_setup_gives_the_cpu_only_torch_command_and_the_install_weight():
    setup = _section("## Set up")
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in setup
    assert "pip install -e ." in setup and "python main.py" in setup
    assert re.search(r"\*\*1\.\d GB\*\*", setup)  # the measured venv size
    assert "onnxruntime-gpu" in setup


def test_setup_lists_every_package_the_platform_hint_names():
    setup = _section("## Set up")
    block = setup[setup.index("sudo apt-get install"):]
    block = block[:block.index("```")].replace("\\\n", " ")
    assert block.split()[3:] == list(XCB_LIBRARIES.values())


def test_regions_table_has_its_commands():
    assert "python -m training.regions_eval --data ../shared/realset" in README
    assert "--set merge=ward --set superpixels=400" in README  # the "before" row
