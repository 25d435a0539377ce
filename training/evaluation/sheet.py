"""Contact sheets: evaluation results to look at, not only to score.

One row per case: the input, the edited layout, the truth, then every method's output, each
cut to the edit mask's box (plus a margin) with the mask's outline drawn, scaled to one row
height; the method names head the columns and each output carries its masked PSNR. Outlines are
drawn on copies: the outputs scored are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.labels import colorize

_OUTLINE = (255, 0, 255)
_TEXT = (235, 235, 235)
_BG = (30, 30, 30)


@dataclass
class SheetRow:
    """One case: the panels left to right and the caption under each."""

    name: str
    panels: list[np.ndarray] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)


def case_row(name: str, image: np.ndarray, edited: np.ndarray, truth: np.ndarray,
             mask: np.ndarray, outputs: list[tuple[np.ndarray, str]],
             margin: float = 0.25) -> SheetRow:
    """The row of one case; ``outputs`` are ``(image, caption)`` per method."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    if ys.size == 0:
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        my = max(8, round(margin * (ys.max() - ys.min() + 1)))
        mx = max(8, round(margin * (xs.max() - xs.min() + 1)))
        y0, y1 = max(0, ys.min() - my), min(h, ys.max() + 1 + my)
        x0, x1 = max(0, xs.min() - mx), min(w, xs.max() + 1 + mx)
    box = (slice(y0, y1), slice(x0, x1))
    edge = cv2.morphologyEx(mask[box].astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((3, 3), np.uint8)) > 0

    def outlined(img: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(img[box]).copy()
        out[edge] = _OUTLINE
        return out

    row = SheetRow(name)
    row.panels = [outlined(image), outlined(colorize(edited)), np.ascontiguousarray(truth[box])]
    row.captions = ["input", "edited layout", "truth"]
    for out, caption in outputs:
        row.panels.append(outlined(out))
        row.captions.append(caption)
    return row


def render_sheet(rows: list[SheetRow], headers: list[str], height: int = 160) -> np.ndarray:
    """All rows as one RGB image: a header line, then each row's panels at ``height`` px."""
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1
    cap_h = 18
    widths = [0] * max(len(r.panels) for r in rows)
    scaled_rows = []
    for r in rows:
        scaled = []
        for i, p in enumerate(r.panels):
            s = height / p.shape[0]
            tile = cv2.resize(p, (max(1, round(p.shape[1] * s)), height),
                              interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_NEAREST)
            widths[i] = max(widths[i], tile.shape[1])
            scaled.append(tile)
        scaled_rows.append(scaled)
    widths = [max(w, 90) for w in widths]
    gap = 4
    total_w = sum(widths) + gap * (len(widths) + 1)
    head_h = 22
    total_h = head_h + len(rows) * (height + cap_h + gap) + gap
    sheet = np.full((total_h, total_w, 3), _BG, np.uint8)
    x = gap
    for i, w in enumerate(widths):
        label = headers[i] if i < len(headers) else ""
        cv2.putText(sheet, _fit(label, w, font, scale), (x, 15), font, scale, _TEXT, thick,
                    cv2.LINE_AA)
        x += w + gap
    y = head_h
    for r, scaled in zip(rows, scaled_rows):
        x = gap
        for i, tile in enumerate(scaled):
            sheet[y:y + height, x:x + tile.shape[1]] = tile
            caption = r.name if i == 0 else r.captions[i]
            if i >= 3 or i == 0:
                cv2.putText(sheet, _fit(caption, widths[i], font, scale), (x, y + height + 13),
                            font, scale, _TEXT, thick, cv2.LINE_AA)
            x += widths[i] + gap
        y += height + cap_h + gap
    return sheet


def _fit(text: str, width: int, font: int, scale: float) -> str:
    while text and cv2.getTextSize(text, font, scale, 1)[0][0] > width - 2:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text.replace("…", "~")
