"""The bench's outputs: a markdown table for people, a JSON list of rows for tools."""

from __future__ import annotations

import json
import os

from inference.imageio import atomic_write_bytes
from training.bench.runner import KEYS, BenchRow


def _fmt(value: float | int | str | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: list[BenchRow]) -> str:
    """One line per row; a skipped row's memory is its estimate, marked ``(est.)``."""
    lines = ["| backend | resolution | corr. resolution | device | status | time (ms) "
             "| peak memory (MB) | warp PSNR (dB) |",
             "|---|---:|---:|---|---|---:|---:|---:|"]
    for r in rows:
        mem = _fmt(r.peak_mem_mb)
        if r.status == "skipped" and r.peak_mem_mb is not None:
            mem = f"{mem} (est.)"
        lines.append(f"| {r.backend} | {r.resolution} | {_fmt(r.corr_resolution)} | {r.device} "
                     f"| {r.status} | {_fmt(r.time_ms)} | {mem} | {_fmt(r.warp_psnr, 2)} |")
    return "\n".join(lines)


def write_json(path: str | os.PathLike, rows: list[BenchRow]) -> None:
    """A JSON list of rows with exactly the keys of :data:`KEYS`, written atomically."""
    data = [{k: r.as_json()[k] for k in KEYS} for r in rows]
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
