"""Run the evaluation tasks over a labelled folder for several methods and tabulate the metrics.

Methods: ``unchanged`` (the input itself), ``telea`` (OpenCV's Telea inpainting of the edit
mask), and ``relayout:<backend>`` (the full ``LayoutEditor``: the given checkpoint's generator,
else the no-checkpoint path with each ``--refine``). Every method is scored on the same edit mask.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.errors import BadInputError
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.masking import edit_mask
from inference.pipeline.models import EngineModels
from training.data.ade20k import ADE20KFolder
from training.evaluation.metrics import all_metrics
from training.evaluation.sheet import SheetRow, case_row
from training.evaluation.tasks import EvalCase, make_manipulation_case, make_reconstruction_case

METRICS = ("l1", "psnr", "ssim", "l1_mask", "psnr_mask", "ssim_mask", "detail")


@dataclass
class MethodScores:
    method: str
    task: str
    rows: list[dict[str, float]] = field(default_factory=list)
    per_case_seconds: list[float] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return float(np.median(self.per_case_seconds)) if self.per_case_seconds else 0.0

    def mean(self) -> dict[str, float]:
        out = {}
        for key in METRICS:
            vals = [r[key] for r in self.rows if math.isfinite(r[key])]
            out[key] = float(np.mean(vals)) if vals else math.nan
        return out


def resize_pair(image: np.ndarray, labels: np.ndarray, size: int | None):
    """Scale so the long side is ``size`` (area for the photo, nearest for labels)."""
    if size is None or max(image.shape[:2]) == size:
        return image, labels
    h, w = labels.shape
    s = size / max(h, w)
    nh, nw = max(16, round(h * s)), max(16, round(w * s))
    img = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    return img, cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)


def build_cases(folder: ADE20KFolder, task: str, count: int, seed: int,
                size: int | None) -> list[EvalCase]:
    """Up to ``count`` cases of ``task`` from ``folder`` (deterministic for a ``seed``)."""
    if task not in ("manipulation", "reconstruction"):
        raise BadInputError(f"unknown task {task!r}; use manipulation or reconstruction")
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(len(folder)):
        if len(cases) >= count:
            break
        image, labels = resize_pair(*folder[i], size)
        name = f"{task}-{i:05d}"
        if task == "manipulation":
            case = make_manipulation_case(image, labels, rng, name=name)
        else:
            case = make_reconstruction_case(image, labels, rng, name=name)
        if case is not None:
            cases.append(case)
    return cases


def case_mask(case: EvalCase, dilation: int) -> np.ndarray:
    return edit_mask(case.labels, case.edited_labels, case.user_mask, dilation)


def telea(case: EvalCase, mask: np.ndarray) -> np.ndarray:
    return cv2.inpaint(case.image, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)


def relayout_method(backend: str, models: EngineModels, settings: EditSettings,
                    refine: str | None = None) -> Callable[[EvalCase, np.ndarray], np.ndarray]:
    """The editor with warp ``backend`` (and no-checkpoint refinement ``refine``)."""
    def run(case: EvalCase, mask: np.ndarray) -> np.ndarray:
        st = dataclasses.replace(settings, warp=backend, reconstruction=case.reconstruction)
        if refine is not None:
            st = dataclasses.replace(st, refine=refine)
        return LayoutEditor(st, models).edit(case.image, case.edited_labels, case.labels,
                                             case.user_mask).image
    return run


def evaluate(cases: list[EvalCase], methods: dict[str, Callable], task: str,
             dilation: int, progress: Callable[[str], None] = print,
             sheet: list[SheetRow] | None = None) -> list[MethodScores]:
    """Score every method on every case; with ``sheet``, append each case's contact-sheet row.

    ``seconds`` per method is the median over cases times their number (a robust total: one
    case slowed by a busy machine does not move it), ``per_case_seconds`` keeps them all.
    """
    scores = {name: MethodScores(name, task) for name in methods}
    for n, case in enumerate(cases):
        mask = case_mask(case, dilation)
        outputs = []
        for name, fn in methods.items():
            t = time.perf_counter()
            out = case.image if fn is None else fn(case, mask)
            scores[name].per_case_seconds.append(time.perf_counter() - t)
            scores[name].rows.append(all_metrics(out, case.truth, mask))
            outputs.append((out, f"{scores[name].rows[-1]['psnr_mask']:.2f} dB"))
        if sheet is not None:
            sheet.append(case_row(case.name, case.image, case.edited_labels, case.truth, mask,
                                  outputs))
        progress(f"{task}: {n + 1}/{len(cases)} cases")
    return list(scores.values())


def report_markdown(results: list[MethodScores], header: str) -> str:
    lines = [header, "",
             "| task | method | L1 | PSNR | SSIM | L1 (mask) | PSNR (mask) | SSIM (mask) "
             "| detail (mask) | s/case (median) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        m = r.mean()
        per = r.median_seconds
        lines.append(
            f"| {r.task} | {r.method} | {m['l1']:.4f} | {m['psnr']:.2f} | {m['ssim']:.4f} | "
            f"{m['l1_mask']:.4f} | {m['psnr_mask']:.2f} | {m['ssim_mask']:.4f} | "
            f"{m['detail']:.2f} | {per:.2f} |")
    return "\n".join(lines) + "\n"


def report_json(results: list[MethodScores]) -> str:
    return json.dumps([{"task": r.task, "method": r.method, "cases": len(r.rows),
                        "median_seconds_per_case": r.median_seconds,
                        "seconds_per_case": r.per_case_seconds, **r.mean()}
                       for r in results], indent=2)
