"""The edit bench: whole ``LayoutEditor.edit`` calls, end to end, stage by stage.

The warp bench (:mod:`training.bench.runner`) times one warp on synthetic known-correspondence
cases; what a user waits for is the whole edit. This times the README's three sample edits
(the kite moved and enlarged with its own pixels, the kite deleted, the forest path painted as
grass) and, given a labelled folder, its appendix-D manipulation cases: the median over
``repeats`` runs of every stage the editor reports (after one untimed warm-up run per case, so
lazy imports and first-call allocations do not count), and the process's peak resident set
during one run (on CUDA the allocator's peak), which includes the interpreter, torch and the
photo (about 250 MB before any edit).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from inference.errors import BadInputError
from inference.labels import class_id
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.objects import ObjectMove, ObjectTransform, warp_mask
from inference.samples import load_sample
from training.bench.memory import PeakMemory

SAMPLE_EDITS = ("kite-move", "kite-delete", "path-grass")
STAGES = ("prepare", "warp", "full_resolution", "refine")


@dataclass
class EditCase:
    name: str
    image: np.ndarray
    labels: np.ndarray
    edited: np.ndarray
    mask: np.ndarray | None = None
    objects: list[ObjectTransform] = field(default_factory=list)


@dataclass
class EditRow:
    case: str
    size: str                    # W×H of the photo
    mask_px: int
    device: str
    total_s: float               # median of the repeats: a generate after the first (the GUI's)
    stages_s: dict[str, float]   # median seconds per stage (STAGES, then "rest")
    peak_mem_mb: float | None    # the process's peak resident set during a run (CUDA: allocated)
    route: str
    first_s: float = 0.0         # the first generate on the photo (nothing cached yet)
    preview_s: float | None = None   # median time to the first preview (hrs-ms: its coarse stage)

    def as_json(self) -> dict:
        return asdict(self)


def sample_edit(name: str) -> EditCase:
    """One of :data:`SAMPLE_EDITS` on the shipped sample photos and their painted layouts."""
    if name in ("kite-move", "kite-delete"):
        photo, labels = load_sample("kite.jpg")
        flag, sky = class_id("flag"), class_id("sky")
        kite = labels == flag
        edited = labels.copy()
        edited[kite] = sky
        if name == "kite-delete":
            return EditCase(name, photo, labels, edited)
        ys, xs = np.nonzero(kite)
        i = len(ys) // 2
        move = ObjectMove(int(xs[i]), int(ys[i]), dx=-300.0, dy=120.0, scale=1.3)
        transform = move.resolve(labels)
        edited[warp_mask(transform.source, transform.matrix, labels.shape)] = flag
        return EditCase(name, photo, labels, edited, objects=[transform])
    if name == "path-grass":
        photo, labels = load_sample("path.jpg")
        edited = labels.copy()
        edited[labels == class_id("path")] = class_id("grass")
        return EditCase(name, photo, labels, edited)
    raise BadInputError(f"unknown sample edit {name!r}; known: {', '.join(SAMPLE_EDITS)}")


def folder_edits(root: str, count: int, size: int) -> list[EditCase]:
    """Appendix-D manipulation cases of a labelled ADE20K-layout folder (validation split)."""
    from training.data.ade20k import ADE20KFolder
    from training.evaluation.runner import build_cases

    cases = build_cases(ADE20KFolder(root, "validation"), "manipulation", count, 0, size)
    return [EditCase(c.name, c.image, c.labels, c.edited_labels, c.user_mask) for c in cases]


def time_edit(case: EditCase, settings: EditSettings, repeats: int) -> EditRow:
    """The first generate on the photo (nothing cached), then the median stage times of
    ``repeats`` more with the same editor (the source side cached, as in the GUI), each with
    the time to its first preview; the peak memory over all of them. One untimed edit with
    another editor comes first, so lazy imports and first-call allocations do not count."""
    def once(editor: LayoutEditor):
        """(result, seconds, seconds to the first preview or None)."""
        t = time.perf_counter()
        seen: list[float] = []
        res = editor.edit(case.image, case.edited, case.labels, case.mask, objects=case.objects,
                          preview=lambda _im, _st: seen.append(time.perf_counter() - t))
        return res, time.perf_counter() - t, (seen[0] if seen else None)

    once(LayoutEditor(settings))                               # warm-up, not counted
    editor = LayoutEditor(settings)
    device = torch.device(settings.resolved_device())
    with PeakMemory(device) as pm:
        _, first, _ = once(editor)
        runs = [once(editor) for _ in range(repeats)]
    previews = [p for _, _, p in runs if p is not None]
    stages = {}
    for key in STAGES:
        stages[key] = statistics.median(r.timings.get(key, 0.0) for r, _, _ in runs)
    stages["rest"] = statistics.median(
        max(0.0, dt - sum(r.timings.get(k, 0.0) for k in STAGES)) for r, dt, _ in runs)
    res = runs[0][0]
    h, w = case.labels.shape
    return EditRow(case.name, f"{w}×{h}", int(res.mask.sum()), device.type,
                   statistics.median(dt for _, dt, _ in runs), stages,
                   None if pm.peak_total_bytes is None else pm.peak_total_bytes / 2**20,
                   res.route, first, statistics.median(previews) if previews else None)


def edits_table(rows: list[EditRow]) -> str:
    head = ("| edit | photo | mask px | device | route | first (s) | again (s) | preview (s) "
            "| prepare | warp | full res | refine | rest | peak RSS (MB) |")
    lines = [head, "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        st = " | ".join(f"{r.stages_s[k]:.2f}" for k in (*STAGES, "rest"))
        mem = "–" if r.peak_mem_mb is None else f"{r.peak_mem_mb:.0f}"
        pre = "–" if r.preview_s is None else f"{r.preview_s:.2f}"
        lines.append(f"| {r.case} | {r.size} | {r.mask_px} | {r.device} | {r.route} "
                     f"| {r.first_s:.2f} | {r.total_s:.2f} | {pre} | {st} | {mem} |")
    if len(rows) > 1:
        med = statistics.median
        pres = [r.preview_s for r in rows if r.preview_s is not None]
        lines.append(f"| median of {len(rows)} | | | | | {med(r.first_s for r in rows):.2f} "
                     f"| {med(r.total_s for r in rows):.2f} "
                     f"| {med(pres) if pres else float('nan'):.2f} | | | | | | |")
    return "\n".join(lines)
