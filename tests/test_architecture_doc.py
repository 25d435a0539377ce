"""docs/ARCHITECTURE.md names only modules and folders that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"
PACKAGES = ("app", "inference", "training", "scripts", "tests", "docs")


def _named_paths(text: str) -> set[str]:
    roots = "|".join(PACKAGES)
    found = set(re.findall(rf"`((?:{roots})/[A-Za-z0-9_/.]*)`", text))
    # bare file names in a room's row: `editor.py` under the row's folder
    for row in text.splitlines():
        folder = re.match(r"\| `((?:app|inference|training)/[a-z_/]+/)` \|", row)
        if folder:
            for name in re.findall(r"`([a-z0-9_]+(?:/[a-z0-9_]+\.py|\.py|/))`", row):
                found.add(folder.group(1) + name)
    return found


def test_every_module_the_architecture_page_names_exists():
    text = DOC.read_text(encoding="utf-8")
    named = _named_paths(text)
    assert len(named) > 60
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_the_check_sees_a_missing_module(tmp_path):
    fake = "| `inference/pipeline/` | `editor.py`, `nowhere.py` |\n`app/gone.py`\n"
    named = _named_paths(fake)
    assert {"inference/pipeline/nowhere.py", "app/gone.py", "inference/pipeline/editor.py"} <= named
