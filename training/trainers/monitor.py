"""Progress lines, the JSON-lines training log, and periodic image grids (rank 0 only)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.imageio import save_image


class TrainMonitor:
    """Collects per-step losses; every ``every`` steps prints one line and appends to
    ``OUT/train_log.jsonl`` ``{"step", "phase", "losses", "images_per_s", "seconds", ...}``."""

    def __init__(self, out: Path, total_steps: int, every: int, batch_images: int,
                 enabled: bool = True) -> None:
        self.path = out / "train_log.jsonl"
        self.total, self.every, self.batch_images = total_steps, max(1, every), batch_images
        self.enabled = enabled
        self.sums: dict[str, float] = {}
        self.count = 0
        self.t0 = self.t_window = time.perf_counter()
        self.tty = sys.stdout.isatty()

    def add(self, losses: dict[str, float]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def step_done(self, step: int, phase: str, extra: dict[str, Any] | None = None,
                  force: bool = False) -> dict[str, Any] | None:
        if not (force or step % self.every == 0) or self.count == 0:
            return None
        now = time.perf_counter()
        rate = self.count * self.batch_images / max(now - self.t_window, 1e-9)
        record = {"step": step, "phase": phase,
                  "losses": {k: round(v / self.count, 6) for k, v in self.sums.items()},
                  "images_per_s": round(rate, 3), "steps_per_s": round(rate / self.batch_images, 4),
                  "seconds": round(now - self.t0, 2), **(extra or {})}
        self.sums, self.count, self.t_window = {}, 0, now
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            losses = " ".join(f"{k}={v:.4f}" for k, v in record["losses"].items())
            lead = "\r" if self.tty else ""
            print(f"{lead}step {step}/{self.total} [{phase}] {losses} "
                  f"{rate:.1f} img/s", end="" if self.tty and step < self.total else "\n",
                  flush=True)
        return record


def write_grid(path: Path, columns: list[torch.Tensor], max_rows: int = 4) -> None:
    """Save a PNG grid: one row per sample, one column per ``(B, 3, H, W)`` [0, 1] tensor."""
    rows = []
    for b in range(min(max_rows, columns[0].shape[0])):
        cells = [c[b].detach().float().clamp(0, 1).cpu() for c in columns]
        rows.append(torch.cat(cells, dim=2))
    grid = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
    save_image(path, (grid * 255.0 + 0.5).astype(np.uint8))
