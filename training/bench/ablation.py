"""Feature-group ablation of the hand-made features, scored on the bench's cases.

    python -m training.bench.ablation [--size 256] [--seeds 0,1] [--backends hrs,dense]
                                      [--json OUT]

Each row changes one thing in :class:`~inference.correspondence.features.SemanticFeatureConfig`
and reports the pooled warp PSNR (dB) per transform and over the whole set (``pooled``), as in
``main.py bench``, and on ``object``: the editor's typical edit, one object the frame does not cut
scaled by 1.3 about its centre (:func:`object_scale_case`; scored inside the grown object).
``--seeds 0,1`` means the bench sets of first scene seed 0 and 3 (every set takes three
consecutive scenes), so six cases, and the object cases of scenes 0..3. Rows are labels-only
on the target side, except the ``colour`` row, where the target photo is given outside a
central square hole (as when editing) and the warp is scored inside the hole only.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import cv2
import numpy as np
import torch

from inference.correspondence import create_backend
from inference.correspondence.base import WarpRequest, WarpSource
from inference.correspondence.features import SemanticFeatureConfig, SemanticFeatures
from inference.imageio import atomic_write_bytes
from training.bench.cases import (
    TRANSFORMS,
    BenchCase,
    _chw,
    _labels,
    make_cases,
    pooled_psnr,
    squared_error,
)
from training.synth import generate_scene

OBJECT_SCALE = 1.3

# Each removes or changes one thing relative to the defaults.
ABLATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "no class code": {"class_weight": 0.0},
    "no region position": {"position_weight": 0.0, "whole_weight": 0.0},
    "objects: weak region position (1)": {"whole_weight": 1.0},
    "signed u (no mirror)": {"position_mirror": False},
    "cut regions keep half their position": {"cut_trust": 0.5},
    "no boundary distance": {"boundary_weight": 0.0},
    "no boundary direction": {"direction_weight": 0.0},
    "no frame position": {"frame_weight": 0.0},
    "frame position weight 1": {"frame_weight": 1.0},
    "context: one radius (0.06)": {"context_radii": (0.06,), "context_weight": 1.0},
    "no context": {"context_weight": 0.0},
    "colour (target known outside a hole)": {"colour_weight": 0.5},
}


def _with_hole(case: BenchCase) -> BenchCase:
    """The case with the target photo known outside a central square, scored inside it."""
    h, w = case.truth.shape[1:]
    known = torch.ones(h, w, dtype=torch.bool)
    known[h // 4:3 * h // 4, w // 4:3 * w // 4] = False
    case.request.target_image = case.truth
    case.request.target_known = known
    case.valid = case.valid & ~known
    return case


def object_scale_case(seed: int, size: int) -> BenchCase | None:
    """The largest object of scene ``seed`` that the frame does not cut, grown ×1.3 in the
    target layout; the truth is the source sampled at ``c + (q - c) / 1.3`` (nearest pixel).
    ``None`` when the scene has no such object small enough to grow."""
    rgb, lab = generate_scene(seed, size)
    best = None
    for cls in np.unique(lab):
        n, cc, stats, cents = cv2.connectedComponentsWithStats(
            (lab == cls).astype(np.uint8), connectivity=4)
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            inside = x > 0 and y > 0 and x + w < size and y + h < size
            if inside and area > size * size // 200 and max(w, h) * OBJECT_SCALE < size / 2 \
                    and (best is None or area > best[0]):
                best = (area, int(cls), i, cc, cents[i])
    if best is None:
        return None
    _, cls, i, cc, (cx, cy) = best
    ys, xs = np.mgrid[0:size, 0:size]
    sy = np.rint(cy + (ys - cy) / OBJECT_SCALE).astype(np.int64).clip(0, size - 1)
    sx = np.rint(cx + (xs - cx) / OBJECT_SCALE).astype(np.int64).clip(0, size - 1)
    grown = cc[sy, sx] == i
    target = lab.copy()
    target[grown] = cls
    request = WarpRequest([WarpSource(_chw(rgb), _labels(lab))], _labels(target), seed=seed)
    truth = _chw(rgb[sy, sx])
    true_source = torch.from_numpy(np.where(grown, np.stack([sy, sx]), -1))
    return BenchCase(name="object", request=request, truth=truth,
                     valid=torch.from_numpy(grown), true_source=true_source)


def feature_ablation(size: int = 256, seeds: tuple[int, ...] = (0, 1),
                     backends: tuple[str, ...] = ("hrs", "dense"),
                     ablations: dict[str, dict[str, Any]] | None = None,
                     ) -> list[dict[str, Any]]:
    """One row per ablation × backend: pooled warp PSNR per transform and over all cases."""
    rows = []
    for label, overrides in (ablations or ABLATIONS).items():
        provider = SemanticFeatures(SemanticFeatureConfig(**overrides))
        cases = [c for s in seeds for c in make_cases(size, seed=len(TRANSFORMS) * s)]
        if overrides.get("colour_weight"):
            cases = [_with_hole(c) for c in cases]
        objects = [c for s in range(2 * len(seeds)) if (c := object_scale_case(s, size))]
        for name in backends:
            backend = create_backend(name)
            errors: dict[str, list[tuple[float, int]]] = {t: [] for t in (*TRANSFORMS, "object")}
            for case in cases + objects:
                res = backend.warp_with_features(case.request, provider(case.request))
                errors[case.name].append(squared_error(res.warped, case))
            row = {"features": label, "backend": name, "channels": provider.channels}
            row.update({t: round(pooled_psnr(errors[t]), 2) for t in TRANSFORMS})
            row["pooled"] = round(pooled_psnr([e for t in TRANSFORMS for e in errors[t]]), 2)
            row["object"] = round(pooled_psnr(errors["object"]), 2)
            rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ["features", "backend", "channels", *TRANSFORMS, "pooled", "object"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--backends", default="hrs,dense")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args(argv)
    rows = feature_ablation(args.size, tuple(int(s) for s in args.seeds.split(",")),
                            tuple(args.backends.split(",")))
    print(markdown(rows))
    if args.json_out:
        atomic_write_bytes(args.json_out, (json.dumps(rows, indent=2) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
