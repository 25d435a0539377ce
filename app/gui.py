"""Starting the editor: the Qt application, the window, and the ``--screenshot`` mode.

``main.py`` calls :func:`run`; it is the only module outside ``app`` that imports ``app``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app import platform_hint
from app.document import PROJECT_SUFFIX
from app.main_window import MainWindow
from app.prompts import ScriptedPrompts
from app.theme import apply_theme
from inference.errors import OutputError

SCREENSHOT_SIZE = (1400, 900)


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        platform_hint.install()  # a platform plugin that cannot load gets a useful message
        app = QApplication(argv or [sys.argv[0]])
        platform_hint.uninstall()
        app.setApplicationName("Relayout")
        app.setOrganizationName("Relayout")
    apply_theme(app)
    return app  # type: ignore[return-value]


def wait_for_document(window: MainWindow, timeout_ms: int = 60000) -> bool:
    """Run the event loop until the window's document has its layout (parsing and automatic
    regions run on the worker while the photo is already shown)."""
    def ready() -> bool:
        return window.session.document is not None and not window.session.layout_pending

    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if ready() else None)
    poll.start(50)
    window.files.status.connect(lambda m: loop.quit() if m.startswith("Could not") else None)
    QTimer.singleShot(timeout_ms, loop.quit)
    if not ready():
        loop.exec()
    poll.stop()
    return ready()


def screenshot(window: MainWindow, out: str | Path) -> None:
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    QApplication.processEvents()
    window.canvas.fit()
    QApplication.processEvents()
    if not window.grab().save(str(out)):
        raise OutputError(f"could not write the screenshot {out}")


def run(image: str | None, labels: str | None = None, screenshot_path: str | None = None) -> int:
    """Open the editor (optionally on ``image``); with ``screenshot_path``, save and exit."""
    if screenshot_path and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = application()
    if screenshot_path:
        # Nothing may wait for a person: answer questions, keep settings out of the user's
        # (in a folder of its own: nothing beside the screenshot is touched).
        with tempfile.TemporaryDirectory(prefix="relayout-shot-") as tmp:
            store = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
            window = MainWindow(store=store, prompts=ScriptedPrompts(label_source="regions"))
            try:
                return _screenshot_run(window, image, labels, screenshot_path)
            finally:
                window.worker.shutdown()
    window = MainWindow()
    if image:
        open_path(window, image, labels)
    window.show()
    return int(app.exec())


def open_path(window: MainWindow, path: str, labels: str | None = None) -> bool:
    """Open what the command line names: a ``.relayout`` project or a photo (with labels)."""
    if Path(path).suffix.lower() == PROJECT_SUFFIX:
        return window.files.open_project(path)
    return window.files.open_photo(path, labels)


def _screenshot_run(window: MainWindow, image: str | None, labels: str | None, out: str) -> int:
    if image:
        opened = open_path(window, image, labels) and wait_for_document(window)
        if not opened:
            errors = getattr(window.prompts, "errors", [])
            print(f"error: {errors[-1] if errors else 'could not open ' + image}",
                  file=sys.stderr)
            return 2
    screenshot(window, out)
    print(f"wrote {out}")
    return 0
