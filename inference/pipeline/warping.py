"""The warp where it is read: boxes around the edit mask, identity everywhere else.

Everything downstream of the warp reads it only inside the mask and a few pixels around it (Eq. 7
composites inside the mask; the synthesis starts from it and scores its keys in boxes around the
hole; the generator sees it inside the mask). The crop around the mask is built with context for
the *sources* and the layout features, so warping all of it spent most of the warp on queries
nobody reads: a small edit in a 512 px crop is a tenth of its queries. Here each separate part of
the mask, grown by ``margin`` working pixels (context for propagation and for the synthesis'
patches), is warped on its own box of the target, with the target's features cut from the whole
crop's (so they are the same features, not ones recomputed on a smaller canvas); the rest of the
crop is the identity -- the photo, its own key -- which is what the composite shows there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from inference.correspondence.backends.hrs import SparseAttentionBackend
from inference.correspondence.base import (
    Correspondence,
    FeatureFrame,
    FeatureMaps,
    WarpRequest,
    WarpResult,
)
from inference.progress import CancelToken, ProgressFn
from inference.synthesis.nnf import Box, component_boxes

WARP_MARGIN = 16        # working px around each part of the mask


def warp_boxes(mask: np.ndarray, margin: int = WARP_MARGIN) -> list[Box]:
    """Boxes of the mask's separate parts grown by ``margin`` (overlapping ones merged)."""
    return component_boxes(mask, margin)


def warp_in_boxes(backend, request: WarpRequest, maps: FeatureMaps, mask: np.ndarray,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  margin: int = WARP_MARGIN,
                  first_estimate: Callable[[torch.Tensor], None] | None = None) -> WarpResult:
    """``backend.warp_with_features`` on the boxes around ``mask`` (the target's working grid),
    the identity elsewhere. Same shapes as a warp of the whole target.

    With a backend that has a coarse stage (``hrs-ms``), ``first_estimate(image)`` receives the
    whole target ``(3, H, W)`` each time a box's coarse stage is done: that box from its coarse
    matches, the boxes before it warped, the rest still the target image (a preview before the
    fine stage)."""
    h, w = request.target_labels.shape
    boxes = warp_boxes(mask, margin)
    total = sum(b.shape[0] * b.shape[1] for b in boxes)
    coarse_stage = first_estimate is not None and isinstance(backend, SparseAttentionBackend)
    if not boxes or (len(boxes) == 1 and boxes[0].shape == (h, w)):
        extra = {"coarse": first_estimate} if coarse_stage else {}
        return backend.warp_with_features(request, maps, progress=progress, cancel=cancel,
                                          **extra)
    image = request.target_image
    if image is None:
        raise ValueError("a warp in boxes needs the target image (the identity outside them)")
    warped = image.detach().float().clone()
    # the sources are the same for every box: their atlas and tables are made once
    prepared = backend.prepare(request, maps) if hasattr(backend, "prepare") else None
    extra = {} if prepared is None else {"prepared": prepared}
    parts: list[tuple[Box, Correspondence]] = []
    timings: dict[str, float] = {}
    done = 0
    for box in boxes:
        ys, xs = box.slices
        area = box.shape[0] * box.shape[1]

        def part_progress(d: int, n: int, done: int = done, area: int = area) -> None:
            if progress is not None:
                progress(done + area * d // max(n, 1), total)

        sub = WarpRequest(
            sources=request.sources, target_labels=request.target_labels[ys, xs],
            target_image=image[:, ys, xs],
            target_known=None if request.target_known is None else request.target_known[ys, xs],
            seed=request.seed, target_frame=_shifted(request.target_frame, box))
        if coarse_stage:                # the boxes so far warped, this one from its start
            def coarse(img: torch.Tensor, ys: slice = ys, xs: slice = xs) -> None:
                estimate = warped.clone()
                estimate[:, ys, xs] = img.to(estimate.device, estimate.dtype)
                first_estimate(estimate)
            extra["coarse"] = coarse
        res = backend.warp_with_features(sub, FeatureMaps(maps.sources, maps.target[:, ys, xs]),
                                         progress=part_progress, cancel=cancel, **extra)
        warped[:, ys, xs] = res.warped.to(warped.device, warped.dtype)
        parts.append((box, res.correspondence))
        for k, v in res.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        done += area
    corr = _embed(parts, (h, w))
    return WarpResult(warped=warped, correspondence=corr, backend=res.backend,
                      corr_resolution=(h, w), timings=timings)


def _shifted(frame: FeatureFrame | None, box: Box) -> FeatureFrame | None:
    if frame is None:
        return None
    return FeatureFrame(frame.origin_y + box.y0, frame.origin_x + box.x0, frame.height,
                        frame.width, frame.unit)


def _embed(parts: list[tuple[Box, Correspondence]], shape: tuple[int, int]) -> Correspondence:
    """The boxes' correspondences on the whole target; outside them each query's one key is
    itself in source 0 (the crop, the target's own grid) with weight 1."""
    h, w = shape
    first = parts[0][1]
    k = first.keys.shape[0]
    dev = first.keys.device
    ys = torch.arange(h, device=dev)[:, None].expand(h, w)
    xs = torch.arange(w, device=dev)[None, :].expand(h, w)
    own = torch.stack([torch.zeros_like(ys), ys, xs])                      # (3, H, W)
    keys = own[None].repeat(k, 1, 1, 1)
    weights = torch.zeros(k, h, w, dtype=first.weights.dtype, device=dev)
    weights[0] = 1.0
    coords = own.to(first.source_coords.dtype).clone()
    for box, corr in parts:
        ys_, xs_ = box.slices
        keys[:, :, ys_, xs_] = corr.keys.to(dev)
        weights[:, ys_, xs_] = corr.weights.to(dev, weights.dtype)
        coords[:, ys_, xs_] = corr.source_coords.to(dev, coords.dtype)
    return Correspondence(keys=keys, weights=weights, source_coords=coords)
