"""Model manager: which parsers and checkpoints are available here, and downloads when online.

Availability comes from the Hugging Face cache (no network). A download runs in its own thread
(network, not inference, so it does not hold up the engine worker); its progress is read from the
size of the partial file in the cache. Offline, the dialog says so and how to get a model anyway.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.settings import EditorSettings
from inference.errors import RelayoutError
from inference.parser import PARSERS, ParserModel
from inference.parser.hub_files import (
    HubFile,
    fetch_hub_file,
    hub_cache_dir,
    hub_offline,
    repo_cache_folder,
)


def cached_path(model: ParserModel) -> Path | None:
    """Local file of a registry parser when it is in the hub cache (never touches the network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(model.repo_id, model.filename, cache_dir=hub_cache_dir(),
                                   revision=model.revision)
    return Path(found) if isinstance(found, str) else None


def checkpoint_status(location: str) -> str:
    location = location.strip()
    if not location:
        return "none configured: the engine uses hand-made features and patch synthesis"
    if location.startswith("hf:"):
        repo = location[3:].split("@")[0]
        folder = repo_cache_folder(repo)
        return f"in the hub cache ({folder})" if folder.is_dir() else \
            "not in the hub cache: it is downloaded on first use when online"
    path = Path(location).expanduser()
    if (path / "config.json").is_file():
        return f"local folder {path}"
    return f"missing: {path} has no config.json"


class DownloadThread(QThread):
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, model: ParserModel) -> None:
        super().__init__()
        self.model = model

    def run(self) -> None:
        try:
            path = fetch_hub_file(HubFile(self.model.repo_id, self.model.filename,
                                          self.model.revision), label=self.model.name)
        except RelayoutError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # network stacks raise many kinds; the user needs the text
            self.failed.emit(f"download failed: {exc}")
        else:
            self.done.emit(str(path))


class ModelManagerDialog(QDialog):
    def __init__(self, settings: EditorSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model Manager")
        self.setMinimumSize(720, 380)
        self.settings = settings
        self._thread: DownloadThread | None = None
        layout = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        layout.addWidget(self.banner)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["parser", "size", "status", "licence"])
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        self.checkpoint = QLabel()
        self.checkpoint.setWordWrap(True)
        layout.addWidget(self.checkpoint)
        row = QHBoxLayout()
        self.download = QPushButton("Download selected")
        self.download.setObjectName("primary")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        row.addWidget(self.download)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.download.clicked.connect(self.start_download)
        self._poll = QTimer(self)
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._update_progress)
        self.refresh()

    def refresh(self) -> None:
        self.table.setRowCount(len(PARSERS))
        for row, model in enumerate(PARSERS.values()):
            local = cached_path(model)
            status = "available (cached)" if local else "not downloaded"
            for col, text in enumerate([model.name, f"{model.size_mb:.1f} MB", status,
                                        model.licence]):
                item = QTableWidgetItem(text)
                item.setToolTip(model.description if col == 0 else text)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        offline = hub_offline()
        self.banner.setText(
            "<b>Offline</b> (HF_HUB_OFFLINE is set): downloads are off. Copy a Hugging Face "
            f"cache into {hub_cache_dir()}, or choose a local .onnx parser in Settings; without "
            "a parser, open photos with automatic regions." if offline else
            f"Models are cached in {hub_cache_dir()}. The configured parser is "
            f"<b>{self.settings.parser}</b>.")
        self.download.setEnabled(not offline and self._thread is None)
        self.checkpoint.setText(f"<b>Checkpoint</b>: {checkpoint_status(self.settings.checkpoint)}")

    def selected_model(self) -> ParserModel | None:
        row = self.table.currentRow()
        names = list(PARSERS)
        return PARSERS[names[row]] if 0 <= row < len(names) else None

    def start_download(self) -> None:
        model = self.selected_model()
        if model is None or self._thread is not None:
            return
        self._thread = DownloadThread(model)
        self._thread.done.connect(self._finished)
        self._thread.failed.connect(self._failed)
        self.progress.setVisible(True)
        self.progress.setRange(0, max(1, int(model.size_mb * 1e6)))
        self.progress.setValue(0)
        self.download.setEnabled(False)
        self._poll.start()
        self._thread.start()

    def _update_progress(self) -> None:
        thread = self._thread
        if thread is None:
            return
        blobs = repo_cache_folder(thread.model.repo_id) / "blobs"
        partial = list(blobs.glob("*.incomplete")) if blobs.is_dir() else []
        if partial:
            self.progress.setValue(min(self.progress.maximum(),
                                       max(p.stat().st_size for p in partial)))

    def _end(self) -> None:
        self._poll.stop()
        if self._thread is not None:
            self._thread.wait(2000)
        self._thread = None
        self.progress.setVisible(False)
        self.refresh()

    def _finished(self, path: str) -> None:
        self._end()
        self.banner.setText(f"Downloaded to {path}")

    def _failed(self, message: str) -> None:
        self._end()
        self.banner.setText(f"<b>Download failed.</b> {message}")
