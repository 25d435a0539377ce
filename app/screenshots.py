"""Make the README screenshots with the real editor, offscreen, on the sample photos.

    QT_QPA_PLATFORM=offscreen python -m app.screenshots [--out docs/screenshots]

Each shot drives the window the way a user would (select, move, paste, generate through the
worker thread on the no-checkpoint path) and grabs it at 1400×900; ``*_100.png`` are the results
at 100 % around the edit, cut from the full-resolution output. Layouts come from
:mod:`inference.samples` (painted programmatically: no parser runs offline).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.canvas import ViewMode
from app.document import EditDocument
from app.gui import SCREENSHOT_SIZE, application
from app.main_window import MainWindow
from app.prompts import ScriptedPrompts
from app.session import PickedRegion, Tool
from app.settings import EditorSettings
from inference.labels import class_id
from inference.samples import load_sample, sample_path


def _window(tmp: Path) -> MainWindow:
    store = QSettings(str(tmp / "shots.ini"), QSettings.Format.IniFormat)
    settings = EditorSettings(warp="hrs-ms", working_size=384, parser="regions", device="cpu")
    win = MainWindow(store=store, prompts=ScriptedPrompts(), settings=settings)
    win.resize(*SCREENSHOT_SIZE)
    win.show()
    QApplication.processEvents()
    return win


def _open(win: MainWindow, name: str) -> EditDocument:
    photo, labels = load_sample(name)
    doc = EditDocument(photo, labels)
    win.session.set_document(doc, photo_path=sample_path(name))
    QApplication.processEvents()
    win.canvas.fit()
    return doc


def _generate(win: MainWindow, timeout_ms: int = 600000) -> None:
    loop = QEventLoop()
    win.generation.resultReady.connect(loop.quit)
    win.generation.failed.connect(lambda m: (print("generate failed:", m), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    win.generation.generate()
    loop.exec()
    if not win.session.document or not win.session.document.result_is_current:
        raise RuntimeError("no result was generated")


def _inside_largest(labels, cls: int) -> tuple[int, int]:
    """``(x, y)`` of a pixel inside the largest connected region of class ``cls``."""
    import cv2
    import numpy as np

    n, comp, stats, _ = cv2.connectedComponentsWithStats((labels == cls).astype(np.uint8), 4)
    if n < 2:
        raise RuntimeError(f"class {cls} is not in the layout")
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    inner = cv2.erode((comp == biggest).astype(np.uint8), np.ones((9, 9), np.uint8))
    ys, xs = np.nonzero(inner if inner.any() else comp == biggest)
    i = len(ys) // 2
    return int(xs[i]), int(ys[i])


def _grab(win: MainWindow, path: Path) -> None:
    QApplication.processEvents()
    win.grab().save(str(path))
    print(f"wrote {path}")


def layout_view(win: MainWindow, out: Path) -> None:
    doc = _open(win, "eveningglow.jpg")
    win.session.set_class(class_id("boat"))
    win.session.set_class(class_id("water"))
    win.session.set_class(class_id("mountain"))
    win.session.set_class(class_id("boat"))
    win.palette.search.setText("boat")
    doc.select_object(*_inside_largest(doc.labels, class_id("boat")))
    win.session.set_tool(Tool.MOVE)
    _grab(win, out / "editor_layout.png")


def move_object(win: MainWindow, out: Path) -> None:
    doc = _open(win, "kite.jpg")
    win.palette.search.setText("")
    win.session.set_class(class_id("flag"))
    flag = doc.labels == class_id("flag")
    ys, xs = flag.nonzero()
    doc.select_object(int(xs.mean()), int(ys.mean()))
    doc.transform_selection(dx=220, dy=120, scale=1.3, name="Move object")
    win.session.set_tool(Tool.MOVE)
    win.set_view_mode(ViewMode.EDIT)
    _grab(win, out / "move_before.png")
    _generate(win)
    win.set_view_mode(ViewMode.RESULT)
    doc.clear_selection()
    _grab(win, out / "move_after.png")
    _crop_1to1(win, out / "move_100.png", (900, 520))
    win.split_slider.setValue(80)
    win.set_view_mode(ViewMode.COMPARE)
    _grab(win, out / "move_compare.png")


def _crop_1to1(win: MainWindow, path: Path, size: tuple[int, int] = (720, 420)) -> None:
    """The result at 100 % around the edit: what a user sees zoomed in (no window scaling)."""
    import numpy as np

    from inference.imageio import save_image

    doc = win.session.document
    result = doc.last_result
    ys, xs = np.nonzero((result.image != doc.photo).any(axis=2))   # outside: bit-identical
    h, w = result.image.shape[:2]
    cw, ch = min(size[0], w), min(size[1], h)
    x0 = int(np.clip((xs.min() + xs.max()) // 2 - cw // 2, 0, w - cw))
    y0 = int(np.clip((ys.min() + ys.max()) // 2 - ch // 2, 0, h - ch))
    save_image(path, result.image[y0:y0 + ch, x0:x0 + cw])
    print(f"wrote {path}")


def _compare(win: MainWindow, out: Path, name: str) -> None:
    """The split view (before / after) and the result at 100 %."""
    win.split_slider.setValue(50)
    win.set_view_mode(ViewMode.COMPARE)
    _grab(win, out / f"{name}_compare.png")
    _crop_1to1(win, out / f"{name}_100.png")


def delete_object(win: MainWindow, out: Path) -> None:
    doc = _open(win, "kite.jpg")
    doc.select_object(*_inside_largest(doc.labels, class_id("flag")))
    doc.delete_selection()
    _generate(win)
    doc.clear_selection()
    _compare(win, out, "delete")


def paint_grass(win: MainWindow, out: Path) -> None:
    doc = _open(win, "path.jpg")
    win.session.set_class(class_id("grass"))
    doc.fill(*_inside_largest(doc.labels, class_id("path")), class_id("grass"))
    win.session.set_tool(Tool.FILL)
    win.set_view_mode(ViewMode.EDIT)
    _grab(win, out / "grass_before.png")
    _generate(win)
    _compare(win, out, "grass")


def reference_panel(win: MainWindow, out: Path) -> None:
    doc = _open(win, "summer_1am.jpg")
    ref_photo, ref_labels = load_sample("eveningglow.jpg")
    ref_id = doc.add_reference(ref_photo, ref_labels, "eveningglow.jpg")
    win.references.raise_()
    QApplication.processEvents()
    sel = win.references.pick(*_inside_largest(ref_labels, class_id("boat")))
    if sel is None:
        raise RuntimeError("no boat under the pick point of the reference")
    h, w = doc.shape
    b = sel.bbox
    doc.paste_reference(ref_id, sel, int(0.30 * w) - b.width // 2, int(0.84 * h) - b.height // 2)
    win.session.reference_selection = PickedRegion(ref_id, sel)
    win.references.refresh()
    _generate(win)
    win.set_view_mode(ViewMode.RESULT)
    _grab(win, out / "reference_panel.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication exists
    application()
    with tempfile.TemporaryDirectory() as tmp:
        win = _window(Path(tmp))
        try:
            layout_view(win, out)
            move_object(win, out)
            delete_object(win, out)
            paint_grass(win, out)
            reference_panel(win, out)
        finally:
            win.worker.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
