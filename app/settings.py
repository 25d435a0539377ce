"""Editor settings: a frozen dataclass, persisted in ``QSettings``, plus the recent-files list.

The settings describe *how* the engine runs (device, warp backend, working size, N/M, checkpoint,
parser) and a few editor preferences. Widgets read a copy and hand back a new one; nothing edits
a settings object in place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QSettings

from inference.defaults import DEFAULT_REFINE, DEFAULT_WARP, REFINEMENTS
from inference.parser import DEFAULT_PARSER

if TYPE_CHECKING:  # torch loads with the engine, not at start-up
    from inference.pipeline.editor import EditSettings

Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[Device, ...] = ("auto", "cpu", "cuda")
MAX_RECENT = 10
_GROUP = "editor"


@dataclass(frozen=True)
class EditorSettings:
    """Engine and editor preferences (all plain values, so QSettings can store them)."""

    device: Device = "auto"
    warp: str = DEFAULT_WARP
    refine: str = DEFAULT_REFINE  # the no-checkpoint refinement (see inference.defaults)
    working_size: int = 512
    iterations: int = 0  # N; 0 = the backend's default
    particles: int = 0  # M; 0 = the backend's default
    seed: int = 0
    checkpoint: str = ""  # local folder or hf:ORG/REPO[@REV]; empty = no-checkpoint path
    parser: str = DEFAULT_PARSER  # registry name, hf:..., PATH.onnx, or "regions"
    auto_generate: bool = False
    auto_delay_ms: int = 900
    overlay_opacity: float = 0.55
    export_quality: int = 92

    def edit_settings(self) -> EditSettings:
        """The engine's view of these settings."""
        from inference.correspondence import takes_sampler
        from inference.pipeline.editor import EditSettings

        per_backend = takes_sampler(self.warp)
        return EditSettings(
            warp=self.warp,
            working_size=self.working_size,
            device=self.device,
            seed=self.seed,
            iterations=self.iterations or None if per_backend else None,
            particles=self.particles or None if per_backend else None,
            refine=self.refine,
        )

    @property
    def model_key(self) -> tuple[str, str]:
        """What the loaded models depend on: reloading is needed only when this changes."""
        return self.checkpoint, self.device


def _coerce(kind: Any, raw: Any, default: Any) -> Any:
    """QSettings hands back strings on some platforms: convert to the field's type."""
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        return default


def load_settings(store: QSettings) -> EditorSettings:
    """Settings from ``store``; missing or malformed values fall back to the defaults."""
    defaults = EditorSettings()
    values: dict[str, Any] = {}
    store.beginGroup(_GROUP)
    try:
        for f in fields(EditorSettings):
            default = getattr(defaults, f.name)
            if store.contains(f.name):
                values[f.name] = _coerce(f.type, store.value(f.name), default)
    finally:
        store.endGroup()
    settings = replace(defaults, **values)
    if settings.device not in DEVICES:
        settings = replace(settings, device="auto")
    if settings.refine not in REFINEMENTS:
        settings = replace(settings, refine=DEFAULT_REFINE)
    return settings


def save_settings(store: QSettings, settings: EditorSettings) -> None:
    store.beginGroup(_GROUP)
    try:
        for key, value in asdict(settings).items():
            store.setValue(key, value)
    finally:
        store.endGroup()
    store.sync()


def recent_files(store: QSettings) -> list[str]:
    raw = store.value("recent", [])
    if isinstance(raw, str):
        raw = [raw]
    return [str(p) for p in (raw or []) if p][:MAX_RECENT]


def add_recent_file(store: QSettings, path: str | Path) -> list[str]:
    """Put ``path`` first in the recent list (deduplicated, bounded); returns the new list."""
    text = str(Path(path).resolve())
    items = [text, *(p for p in recent_files(store) if p != text)][:MAX_RECENT]
    store.setValue("recent", items)
    store.sync()
    return items


def clear_recent_files(store: QSettings) -> None:
    store.setValue("recent", [])
    store.sync()
