"""The ADE20K class table: ids, names, aliases, palette colours, and label-map colourisation.

Label maps are ``LabelMap`` arrays (``uint8``, ``(H, W)``): 0 = other/unlabelled, 1..150 = the
ADE20K SceneParsing classes listed in ``assets/ade20k_classes.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from inference.arrays import LabelMap, RGBImage
from inference.errors import LabelMapError

NUM_CLASSES = 150  # ADE20K SceneParsing classes, ids 1..150; id 0 is "other"
CLASS_TABLE_PATH = Path(__file__).resolve().parent.parent / "assets" / "ade20k_classes.json"

# objectInfo150 lists multi-word names with their spaces lost ("pool;table;billiard;table").
# These are the readable names of the classes whose first word alone would mislead.
_DISPLAY_NAMES: dict[int, str] = {
    45: "chest of drawers",
    52: "grandstand",
    57: "pool table",
    59: "screen door",
    65: "coffee table",
    74: "kitchen island",
    76: "swivel chair",
    79: "arcade machine",
    88: "street lamp",
    106: "conveyer belt",
    108: "washing machine",
    110: "swimming pool",
    123: "storage tank",
    124: "trade name",
    131: "projection screen",
    137: "traffic light",
    142: "crt screen",
    145: "bulletin board",
}
# Tokens of the raw names that are fragments of multi-word names, never class names on their own.
_FRAGMENT_TOKENS = {"of", "open", "double", "covered", "name", "source", "set", "box", "tube",
                    "machine", "device", "system", "data", "being", "can", "pot", "stool",
                    "throne", "bath", "board", "card", "bill", "notice", "signal", "belt",
                    "vehicle", "coach", "range", "case", "table", "chair", "screen", "stand",
                    "tree", "lamp", "drawers", "tank", "oven", "processor", "information",
                    "processing", "electronic", "computing", "receiver", "dish", "washing",
                    "automatic", "moving", "storage", "traffic", "drinking", "trash", "garbage",
                    "ash", "solid", "kitchen", "cooking", "street", "silver", "projection",
                    "exhaust", "pool", "swimming", "coffee", "cocktail", "billiard", "snooker"}


@dataclass(frozen=True)
class ClassInfo:
    """One ADE20K class: ``id`` 0..150, short ``name``, readable ``display_name``, ``aliases``."""

    id: int
    name: str
    display_name: str
    aliases: tuple[str, ...]
    color: tuple[int, int, int]


@lru_cache(maxsize=1)
def class_table() -> tuple[ClassInfo, ...]:
    """All 151 entries (id 0 = other), indexed by id."""
    data = json.loads(CLASS_TABLE_PATH.read_text(encoding="utf-8"))
    table = []
    for entry in data["classes"]:
        cid = int(entry["id"])
        name = entry["name"]
        display = _DISPLAY_NAMES.get(cid, name)
        tokens = [t.strip().lower() for t in entry["raw"].replace("/", ";").split(";")]
        aliases = {display.lower(), name.lower()}
        aliases.update(t for t in tokens if t and t not in _FRAGMENT_TOKENS)
        table.append(ClassInfo(cid, name, display, tuple(sorted(aliases)), tuple(entry["color"])))
    if [c.id for c in table] != list(range(NUM_CLASSES + 1)):
        raise LabelMapError(f"{CLASS_TABLE_PATH} does not list ids 0..{NUM_CLASSES} in order")
    return tuple(table)


@lru_cache(maxsize=1)
def palette() -> np.ndarray:
    """``(151, 3) uint8`` colour of each class id."""
    return np.array([c.color for c in class_table()], dtype=np.uint8)


@lru_cache(maxsize=1)
def _name_index() -> dict[str, int]:
    index: dict[str, int] = {}
    # Aliases first, then names and display names, so an exact name always wins over an alias.
    for info in class_table():
        for alias in info.aliases:
            index.setdefault(alias, info.id)
    for info in reversed(class_table()):
        index[info.name.lower()] = info.id
    for info in class_table():
        index[info.display_name.lower()] = info.id
    return index


def class_id(name: str) -> int:
    """Class id of a name, display name or alias, case-insensitive (``"window"`` -> 9)."""
    key = " ".join(name.strip().lower().replace("_", " ").split())
    try:
        return _name_index()[key]
    except KeyError:
        raise LabelMapError(f"unknown ADE20K class name {name!r}") from None


def search_classes(text: str) -> list[ClassInfo]:
    """Classes whose name or an alias contains ``text``; exact and prefix matches first."""
    key = text.strip().lower()
    if not key:
        return list(class_table()[1:])
    scored = []
    for info in class_table():
        words = (info.display_name.lower(), *info.aliases)
        if any(w == key for w in words):
            scored.append((0, info.id, info))
        elif any(w.startswith(key) for w in words):
            scored.append((1, info.id, info))
        elif any(key in w for w in words):
            scored.append((2, info.id, info))
    return [info for _, _, info in sorted(scored, key=lambda s: (s[0], s[1]))]


def colorize(labels: LabelMap) -> RGBImage:
    """Palette-coloured ``RGBImage`` of a ``LabelMap``."""
    validate_label_values(labels)
    return palette()[labels]


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


@lru_cache(maxsize=1)
def _packed_palette_lookup() -> tuple[np.ndarray, np.ndarray]:
    packed = _pack_rgb(palette())
    # Stable, so a colour shared by two classes decodes to the lower id (see ``decolorize``).
    order = np.argsort(packed, kind="stable")
    return packed[order], order.astype(np.uint8)


def decolorize(rgb: RGBImage) -> LabelMap:
    """``LabelMap`` of an ADE20K-palette ``RGBImage``; exact colour match, else an error.

    The benchmark palette gives road (7) and skyscraper (49) the same colour (140, 140, 140);
    it decodes to road. Keep label maps as index PNGs where skyscraper matters.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise LabelMapError(f"colour label map must be H×W×3, got shape {rgb.shape}")
    packed = _pack_rgb(rgb)
    keys, ids = _packed_palette_lookup()
    pos = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
    ok = keys[pos] == packed
    if not ok.all():
        y, x = (int(v[0]) for v in np.nonzero(~ok))
        r, g, b = (int(v) for v in rgb[y, x])
        raise LabelMapError(
            f"pixel (x={x}, y={y}) has colour ({r}, {g}, {b}), which is not in the ADE20K palette"
        )
    return ids[pos]


def validate_label_values(labels: LabelMap) -> None:
    """Raise :class:`LabelMapError` unless ``labels`` is a 2-D uint8 map with values 0..150."""
    if not isinstance(labels, np.ndarray):
        raise LabelMapError(f"label map must be a numpy array, got {type(labels).__name__}")
    if labels.ndim != 2:
        raise LabelMapError(f"label map must be 2-D (H×W), got shape {labels.shape}")
    if labels.dtype != np.uint8:
        raise LabelMapError(f"label map must be uint8, got {labels.dtype}")
    if labels.size and int(labels.max()) > NUM_CLASSES:
        bad = np.argwhere(labels > NUM_CLASSES)[0]
        raise LabelMapError(
            f"label value {int(labels[bad[0], bad[1]])} at (x={bad[1]}, y={bad[0]}) is outside "
            f"0..{NUM_CLASSES}"
        )
