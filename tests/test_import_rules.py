"""The layering rule of the design (app -> inference, training -> inference), checked on the AST.

Every import statement counts, including ones inside functions, so a lazy import cannot dodge it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations() -> list[str]:
    problems = []
    for package in ("app", "inference", "training"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            for line, name in _imports(path):
                top = _top(name)
                if package != "app" and top == "app":
                    problems.append(f"{rel}:{line} imports {name} (only main.py may import app)")
                if package != "app" and top in QT_MODULES:
                    problems.append(f"{rel}:{line} imports {name} (only app may import Qt)")
                if package == "inference" and top == "training":
                    problems.append(
                        f"{rel}:{line} imports {name} (inference must not import training)"
                    )
    return problems


def test_layering_rules_hold():
    assert _violations() == []


def test_checker_catches_a_violation(tmp_path, monkeypatch):
    # The checker itself must be able to fail: plant a bad module and look for it.
    fake_root = tmp_path
    for package in ("app", "inference", "training"):
        (fake_root / package).mkdir()
    (fake_root / "inference" / "bad.py").write_text(
        "def f():\n    from PySide6 import QtCore\n    import training.synth\n"
    )
    (fake_root / "training" / "bad.py").write_text("import app.main_window\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    problems = _violations()
    assert any("inference/bad.py:2 imports PySide6" in p for p in problems)
    assert any("inference/bad.py:3 imports training.synth" in p for p in problems)
    assert any("training/bad.py:1 imports app.main_window" in p for p in problems)
