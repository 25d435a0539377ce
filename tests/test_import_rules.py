"""The layering rules of the design, checked on the AST: app -> inference, training -> inference,
nothing imports app, only app imports Qt, inference never imports training; app imports only the
engine's public face (APP_MAY_IMPORT); inference.networks never imports inference.correspondence.

Every import statement counts, including ones inside functions, so a lazy import cannot dodge it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6")

# The engine's public face: what app may import from inference. A name covers its submodules.
APP_MAY_IMPORT = (
    "inference.pipeline", "inference.errors", "inference.labels", "inference.imageio",
    "inference.parser", "inference.progress",
    "inference.arrays",      # the array aliases (RGBImage, LabelMap, ...) of those signatures
    "inference.defaults",    # the defaults the CLI and the GUI share (torch-free)
    "inference.samples",     # the sample photos and layouts the editor opens
    "inference.jsonfile",    # the hardened JSON reader project files share with checkpoints
    "inference.cache",       # the per-photo source cache the GUI's engine session holds
)
# Allowed as the package only, not its submodules: the backend registry (names, N/M takers).
APP_MAY_IMPORT_EXACTLY = ("inference.correspondence",)


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


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _app_may_import(name: str) -> bool:
    return (name in APP_MAY_IMPORT_EXACTLY
            or any(_within(name, allowed) for allowed in APP_MAY_IMPORT))


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
                if (_within(str(rel.with_suffix("")).replace("/", "."), "inference.networks")
                        and _within(name, "inference.correspondence")):
                    problems.append(f"{rel}:{line} imports {name} (networks must not import "
                                    f"correspondence)")
                if package == "app" and top == "inference" and not _app_may_import(name):
                    problems.append(f"{rel}:{line} imports {name} (app imports only the "
                                    f"engine's public face, see APP_MAY_IMPORT)")
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
    (fake_root / "inference" / "networks").mkdir()
    (fake_root / "inference" / "networks" / "bad.py").write_text(
        "from inference.correspondence.base import WarpRequest\n")
    (fake_root / "app" / "bad.py").write_text(
        "from inference.correspondence.backends.hrs import HRSConfig\n"
        "from inference.pipeline.editor import LayoutEditor\n"
        "from inference.correspondence import BACKENDS\n"
        "import inference.synthesis.completion\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    problems = _violations()
    assert any("inference/bad.py:2 imports PySide6" in p for p in problems)
    assert any("inference/bad.py:3 imports training.synth" in p for p in problems)
    assert any("training/bad.py:1 imports app.main_window" in p for p in problems)
    assert any("inference/networks/bad.py:1 imports inference.correspondence.base" in p
               for p in problems)
    app_problems = [p for p in problems if p.startswith("app/")]
    assert [p.split(" ")[0] for p in app_problems] == ["app/bad.py:1", "app/bad.py:4"]
