"""One way for the GUI tests to open the editor: its settings in a throwaway INI, scripted
prompts, shown and exposed. Fixtures yield it and shut its worker down afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings

from app.main_window import MainWindow
from app.prompts import ScriptedPrompts
from app.settings import EditorSettings

# A small, quick engine for generate tests: tiny working size, short sampler schedule.
QUICK_ENGINE = EditorSettings(warp="hrs-ms", working_size=64, parser="regions", device="cpu",
                              iterations=2, particles=1)


def editor_window(qtbot, tmp_path: Path, settings: EditorSettings,
                  prompts: ScriptedPrompts | None = None,
                  size: tuple[int, int] = (900, 600)) -> Iterator[MainWindow]:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(store=store, prompts=prompts or ScriptedPrompts(), settings=settings)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.worker.shutdown()


def sky_over_grass(folder: Path, h: int, w: int, seed: int, sky: int = 3, grass: int = 10
                   ) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A random photo and a layout of sky over grass (the lower half), written as
    ``photo.png`` and ``labels.png`` in ``folder``: ``(photo path, labels path, photo, labels)``."""
    rng = np.random.default_rng(seed)
    photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    labels = np.full((h, w), sky, np.uint8)
    labels[h // 2:] = grass
    Image.fromarray(photo).save(folder / "photo.png")
    Image.fromarray(labels, "L").save(folder / "labels.png")
    return folder / "photo.png", folder / "labels.png", photo, labels
