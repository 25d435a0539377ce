"""How well automatic regions follow real objects: the README's regions table.

    python -m training.regions_eval --data ../shared/realset [--split validation] [--regions 24]
                                    [--tolerance 2] [--json OUT.json]

Runs :func:`inference.parser.segment_regions` on every photo of an ADE20K-layout folder and
scores the regions against its ground-truth layout:

* **ASA** (achievable segmentation accuracy): name every region with the ground-truth class most
  of its pixels have; the fraction of labelled pixels that end up right. It is the best accuracy
  naming the regions in the editor can reach (pixels labelled 0, "other", are not scored).
* **BR** (boundary recall): the fraction of ground-truth class boundaries (between two labelled
  classes) within ``tolerance`` pixels of a region border.
* **BP** (boundary precision): the fraction of region-border pixels within ``tolerance`` pixels
  of a ground-truth boundary (any class change, "other" included), so that a method cannot buy
  recall with ragged borders.

Figures are pooled over all pixels of all photos (``pooled``) and averaged per photo (``mean``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from inference.errors import BadInputError
from inference.parser.regions import RegionConfig, segment_regions


@dataclass
class RegionScore:
    name: str
    labelled: int  # pixels with a ground-truth class
    correct: int  # ... that the best naming of the regions gets right
    gt_boundary: int
    recalled: int
    region_boundary: int
    precise: int
    regions: int
    seconds: float

    @property
    def asa(self) -> float:
        return self.correct / max(1, self.labelled)

    @property
    def recall(self) -> float:
        return self.recalled / max(1, self.gt_boundary)

    @property
    def precision(self) -> float:
        return self.precise / max(1, self.region_boundary)


def boundaries(labels: np.ndarray, ignore_zero: bool = False) -> np.ndarray:
    """Pixels whose right or lower neighbour has another value (optionally: both non-zero)."""
    edge = np.zeros(labels.shape, bool)
    for a, b, out in ((labels[:, :-1], labels[:, 1:], edge[:, :-1]),
                      (labels[:-1, :], labels[1:, :], edge[:-1, :])):
        diff = a != b
        if ignore_zero:
            diff &= (a != 0) & (b != 0)
        out |= diff
    return edge


def near(mask: np.ndarray, tolerance: int) -> np.ndarray:
    kernel = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def score(name: str, regions: np.ndarray, gt: np.ndarray, tolerance: int,
          seconds: float) -> RegionScore:
    labelled = gt > 0
    ids = regions.astype(np.int64).ravel()
    cls = gt.astype(np.int64).ravel()
    keep = labelled.ravel()
    counts = np.zeros((int(ids.max()) + 1, 256), np.int64)
    np.add.at(counts, (ids[keep], cls[keep]), 1)
    gt_edge = boundaries(gt, ignore_zero=True)
    region_edge = boundaries(regions)
    return RegionScore(
        name=name, labelled=int(keep.sum()), correct=int(counts.max(axis=1).sum()),
        gt_boundary=int(gt_edge.sum()),
        recalled=int((gt_edge & near(region_edge, tolerance)).sum()),
        region_boundary=int(region_edge.sum()),
        precise=int((region_edge & near(boundaries(gt), tolerance)).sum()),
        regions=len(np.unique(regions)), seconds=seconds)


def evaluate(data: str, split: str, config: RegionConfig, tolerance: int) -> list[RegionScore]:
    from training.data.ade20k import ADE20KFolder

    folder = ADE20KFolder(data, split)  # type: ignore[arg-type]
    scores = []
    for i in range(len(folder)):
        photo, gt = folder[i]
        start = time.perf_counter()
        regions = segment_regions(photo, config)
        seconds = time.perf_counter() - start
        scores.append(score(folder.pairs[i][0].name, regions, gt, tolerance, seconds))
    return scores


def summary(scores: list[RegionScore]) -> dict[str, float]:
    pooled = RegionScore("pooled", *(sum(getattr(s, f) for s in scores) for f in (
        "labelled", "correct", "gt_boundary", "recalled", "region_boundary", "precise",
        "regions", "seconds")))
    return {
        "photos": len(scores),
        "asa_pooled": pooled.asa, "br_pooled": pooled.recall, "bp_pooled": pooled.precision,
        "asa_mean": float(np.mean([s.asa for s in scores])),
        "br_mean": float(np.mean([s.recall for s in scores])),
        "bp_mean": float(np.mean([s.precision for s in scores])),
        "regions_mean": float(np.mean([s.regions for s in scores])),
        "seconds_median": float(np.median([s.seconds for s in scores])),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.regions_eval",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="ADE20K-layout folder with ground truth")
    ap.add_argument("--split", default="validation", choices=("training", "validation"))
    ap.add_argument("--regions", type=int, default=24)
    ap.add_argument("--tolerance", type=int, default=2, help="boundary tolerance in pixels")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a RegionConfig field (e.g. --set merge=ward)")
    ap.add_argument("--json", help="write per-photo scores and the summary here")
    args = ap.parse_args(argv)
    try:
        config = replace(RegionConfig(), regions=args.regions, **_overrides(args.set))
        scores = evaluate(args.data, args.split, config, args.tolerance)
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = summary(scores)
    print(f"{len(scores)} photos, {args.regions} regions, tolerance {args.tolerance} px, "
          f"config {config}")
    print("| figure | ASA | boundary recall | boundary precision | regions | s/photo |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in ("pooled", "mean"):
        print(f"| {kind} | {result['asa_' + kind]:.4f} | {result['br_' + kind]:.4f} | "
              f"{result['bp_' + kind]:.4f} | {result['regions_mean']:.1f} | "
              f"{result['seconds_median']:.2f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"config": asdict(config), "summary": result,
                       "photos": [asdict(s) | {"asa": s.asa, "br": s.recall, "bp": s.precision}
                                  for s in scores]}, fh, indent=1)
    return 0


def _overrides(items: list[str]) -> dict[str, object]:
    fields = RegionConfig.__dataclass_fields__
    out: dict[str, object] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in fields:
            raise BadInputError(f"RegionConfig has no field {key!r}; fields: {', '.join(fields)}")
        kind = type(getattr(RegionConfig(), key))
        out[key] = value if kind is str else kind(value)
    return out


if __name__ == "__main__":
    sys.exit(main())
