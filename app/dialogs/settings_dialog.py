"""Settings dialog: device, warp backend, refinement, working size, N/M, checkpoint, parser."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import DEVICES, EditorSettings
from inference.correspondence import BACKENDS, sampler_backends
from inference.defaults import REFINEMENTS
from inference.parser import PARSERS, REGIONS_PARSER


class SettingsDialog(QDialog):
    def __init__(self, settings: EditorSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        self._base = settings
        form = QFormLayout()
        form.setVerticalSpacing(8)

        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(settings.device)
        form.addRow("Device", self.device)

        self.warp = QComboBox()
        self.warp.addItems(list(BACKENDS))
        self.warp.setCurrentText(settings.warp)
        form.addRow("Warp backend", self.warp)

        self.refine = QComboBox()
        self.refine.addItems(list(REFINEMENTS))
        self.refine.setCurrentText(settings.refine)
        self.refine.setToolTip("Without a checkpoint: 'synthesis' completes the edited area from "
                               "the photo's own patches (sharp, seam-free); 'harmonize' keeps "
                               "the warp and only corrects its colours (faster, speckled)")
        form.addRow("Refinement", self.refine)

        self.working = QSpinBox()
        self.working.setRange(64, 2048)
        self.working.setSingleStep(64)
        self.working.setSuffix(" px")
        self.working.setValue(settings.working_size)
        form.addRow("Working resolution", self.working)

        self.iterations = QSpinBox()
        self.iterations.setRange(0, 64)
        self.iterations.setSpecialValueText("backend default")
        self.iterations.setValue(settings.iterations)
        form.addRow("Iterations N", self.iterations)
        self.particles = QSpinBox()
        self.particles.setRange(0, 16)
        self.particles.setSpecialValueText("backend default")
        self.particles.setValue(settings.particles)
        form.addRow("Particles M", self.particles)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(settings.seed)
        form.addRow("Seed", self.seed)

        row = QHBoxLayout()
        self.checkpoint = QLineEdit(settings.checkpoint)
        self.checkpoint.setPlaceholderText("none (hand-made features + the refinement above)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.checkpoint, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Checkpoint", holder)

        self.parser = QComboBox()
        self.parser.setEditable(True)
        self.parser.addItems([*PARSERS, REGIONS_PARSER])
        self.parser.setCurrentText(settings.parser)
        self.parser.setToolTip("A registry name, hf:ORG/REPO/FILE.onnx[@REV], a local .onnx "
                               f"file, or '{REGIONS_PARSER}' (automatic regions, no model)")
        form.addRow("Parser", self.parser)

        self.auto = QCheckBox("Generate automatically after each edit")
        self.auto.setChecked(settings.auto_generate)
        form.addRow("", self.auto)

        note = QLabel("Checkpoints are folders with config.json + safetensors, or "
                      f"hf:ORG/REPO[@REVISION]. N and M apply to "
                      f"{' and '.join(sampler_backends())}.")
        note.setWordWrap(True)
        note.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Checkpoint folder")
        if folder:
            self.checkpoint.setText(folder)

    def value(self) -> EditorSettings:
        """The settings as edited (the dialog's answer when accepted)."""
        return replace(
            self._base, device=self.device.currentText(), warp=self.warp.currentText(),
            refine=self.refine.currentText(),
            working_size=self.working.value(), iterations=self.iterations.value(),
            particles=self.particles.value(), seed=self.seed.value(),
            checkpoint=self.checkpoint.text().strip(), parser=self.parser.currentText().strip(),
            auto_generate=self.auto.isChecked())
