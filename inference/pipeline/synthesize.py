"""The editor's no-checkpoint refinement: sources and target for :mod:`inference.synthesis`,
then the seam blend. Works on the crop at full resolution."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import torch

from inference.arrays import FloatImage, LabelMap, Mask, RGBImage
from inference.cache import SourceCache
from inference.correspondence.base import Correspondence, FeatureMaps
from inference.pipeline.cropping import CropWindow
from inference.pipeline.masking import grow
from inference.progress import CancelToken, ProgressFn
from inference.synthesis.blending import (
    blend_seam,
    poisson_blend,
    replace_low_frequencies,
    restore_detail,
)
from inference.synthesis.completion import (
    GradientGuide,
    PatchSynthesis,
    SynthesisConfig,
    SynthesisTarget,
)
from inference.synthesis.levels import SynthesisSource, resize_image


@dataclass
class SourcePhoto:
    """A photo the synthesis may copy from, at full resolution, with its working scale."""

    name: str
    image: np.ndarray
    labels: np.ndarray
    scale: float                    # its pixel scale relative to the crop's (1: the photo)
    invalid: np.ndarray | None = None
    # the crop source carries the whole photo's arrays too: the synthesis' photo source is a
    # window of them, whatever the warp's sources were
    full_image: np.ndarray | None = None
    full_labels: np.ndarray | None = None
    full_invalid: np.ndarray | None = None
    key: Hashable | None = None     # what its features were made from (see ``SourceCache``)


def synthesis_invalid(mask: Mask, labels: LabelMap, edited: LabelMap,
                      reconstruction: bool) -> Mask:
    """Photo pixels never to copy: the whole mask in reconstruction mode; else the masked pixels
    whose layout did not change (the dilation band, which still shows what was removed)."""
    if reconstruction:
        return mask.copy()
    return mask & (labels == edited)


def _seam_pixels(guide: GradientGuide, smooth: float = 0.01) -> np.ndarray:
    """Pixels at a removed seam where the sources are smooth (guidance under ``smooth``): there
    a thin line would show; in texture it does not, and the synthesis' fine detail is kept."""
    ex = guide.seam_x & (np.abs(guide.gx).max(-1) < smooth)
    ey = guide.seam_y & (np.abs(guide.gy).max(-1) < smooth)
    seams = np.zeros((guide.gy.shape[0] + 1, guide.gx.shape[1] + 1), bool)
    seams[:, :-1] |= ex
    seams[:, 1:] |= ex
    seams[:-1] |= ey
    seams[1:] |= ey
    return seams


def synthesize_crop(
    window: CropWindow,
    known: RGBImage,                # the photo with fixed pixels pasted in
    hole: Mask,                     # what to synthesise (inside the window)
    edited: LabelMap,               # the edited layout
    photos: list[SourcePhoto],      # in the order of the warp's sources
    maps: FeatureMaps,              # the warp's layout features (working resolution)
    corr: Correspondence,           # the warp's correspondence (working resolution)
    config: SynthesisConfig,
    device: str,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    initial: FloatImage | None = None,  # the warped crop
    cache: SourceCache | None = None,
    preview: Callable[[FloatImage, str], None] | None = None,   # (the crop so far, stage)
) -> tuple[FloatImage, dict[str, float]]:
    """The crop at full resolution, float ``(h, w, 3)`` in [0, 1], hole synthesised and blended.

    The photo source is one window ``P`` of the photo around the crop -- the whole photo when it
    fits ``config.source_budget`` at the finest scale -- and the target is the crop's window of
    ``P``'s grid; references follow as their own sources.
    """
    crop_src, whole_src = photos[0], None
    refs = photos[1:]
    if refs and refs[0].name == "photo (whole)":
        whole_src, refs = refs[0], refs[1:]
    ih, iw = known.shape[:2]
    top = min(1.0, config.max_size / max(window.height, window.width))
    if whole_src is not None:
        p = _photo_window(window, (ih, iw), config.source_budget / top**2)
        g = maps.sources[1]
        gy, gx = g.shape[1] / ih, g.shape[2] / iw
        feats = g[:, int(p[0] * gy):max(int(p[0] * gy) + 1, round(p[1] * gy)),
                  int(p[2] * gx):max(int(p[2] * gx) + 1, round(p[3] * gx))]
        photo_src = whole_src
    else:
        p = (window.y0, window.y1, window.x0, window.x1)
        feats, photo_src = maps.sources[0], crop_src
    py0, py1, px0, px1 = p
    cut = (slice(py0, py1), slice(px0, px1))
    full = crop_src.full_image if crop_src.full_image is not None else photo_src.image
    invalid = crop_src.full_invalid
    # kept across edits only when it is the whole photo (a window around the crop moves with it)
    feats_key = (whole_src or crop_src).key if p == (0, ih, 0, iw) else None
    sources = [SynthesisSource("photo", np.ascontiguousarray(full[cut]),
                               np.ascontiguousarray(crop_src.full_labels[cut]), feats,
                               None if invalid is None else invalid[cut], 1.0, grid=True,
                               key=None if feats_key is None else (feats_key, p))]
    ref_feats = maps.sources[len(photos) - len(refs):]
    sources += [SynthesisSource(r.name, r.image, r.labels, f, r.invalid, scale=r.scale,
                                key=r.key) for r, f in zip(refs, ref_feats)]
    field = _warp_field_in_window(corr.source_coords, window, p, maps, whole_src is not None,
                                  (ih, iw))
    init_sizes = [(py1 - py0, px1 - px0)] + [tuple(int(v) for v in f.shape[1:])
                                              for f in ref_feats]
    crop = (window.y0 - py0, window.y1 - py0, window.x0 - px0, window.x1 - px0)
    photo = window.cut(known).astype(np.float32) / 255.0
    hole_c = window.cut(hole)
    edited_c = window.cut(edited)
    if initial is not None:
        initial = np.where(hole_c[..., None], initial, photo)   # the warp is read in the hole
    if initial is not None and config.init_low_sigma > 0:
        # the warp's layout-following detail, the surroundings' colours (its per-pixel picks
        # average to whatever the keys' places had, not to what is around the hole)
        initial = replace_low_frequencies(initial, photo, hole_c, edited_c,
                                          config.init_low_sigma)
    target = SynthesisTarget(known[cut], hole[cut], edited[cut], maps.target, crop,
                             initial if config.warp_start else None)
    corr = Correspondence(corr.keys[:0], corr.weights[:0], field)

    def level_done(est: np.ndarray, stage: str) -> None:     # a coarse level, upsampled
        up = resize_image(est, (window.height, window.width))
        preview(np.where(hole_c[..., None], up, photo), stage)

    out = PatchSynthesis(config, device, cache).run(target, sources, corr, init_sizes, progress,
                                                    cancel, level_done if preview else None)
    image = out.image
    if config.low_sigma > 0:
        image = replace_low_frequencies(np.where(hole_c[..., None], image, photo), photo,
                                        hole_c, edited_c, config.low_sigma)
        image = np.where(out.ring[..., None], out.image, image)
    if not config.blend:
        return np.where(hole_c[..., None], image, photo), out.timings
    t = time.perf_counter()
    seam = blend_seam(image, photo, hole_c, out.ring, edited_c)
    if not config.poisson or out.guide is None:
        # beyond ``max_size`` there are no source gradients at full resolution: the membrane
        # blend alone closes the seam
        return seam, out.timings
    blended = poisson_blend(image, photo, hole_c, edited_c, (out.guide.gx, out.guide.gy),
                            start=seam, iterations=config.poisson_iterations)
    # the synthesis' own detail back on top (outside the hole's rim: the photo meets it there)
    inner = hole_c & ~grow(~hole_c, 2)
    blended = restore_detail(blended, np.where(hole_c[..., None] | out.ring[..., None], image,
                                               photo), inner, config.detail_sigma,
                             _seam_pixels(out.guide))
    out.timings["blend"] = time.perf_counter() - t
    return blended, out.timings


def _photo_window(window: CropWindow, shape: tuple[int, int], budget: float
                  ) -> tuple[int, int, int, int]:
    """The whole photo when it has at most ``budget`` pixels, else the crop grown evenly
    (clipped to the photo) until it has about that many."""
    h, w = shape
    if h * w <= budget:
        return 0, h, 0, w
    grow = 0.0
    lo, hi = 0.0, float(max(h, w))
    for _ in range(30):                       # bisect the margin
        grow = (lo + hi) / 2
        y0, y1 = max(0, window.y0 - grow), min(h, window.y1 + grow)
        x0, x1 = max(0, window.x0 - grow), min(w, window.x1 + grow)
        if (y1 - y0) * (x1 - x0) > budget:
            hi = grow
        else:
            lo = grow
    g = int(lo)
    return (max(0, window.y0 - g), min(h, window.y1 + g), max(0, window.x0 - g),
            min(w, window.x1 + g))


def _warp_field_in_window(field: torch.Tensor, window: CropWindow, p, maps: FeatureMaps,
                          has_whole: bool, shape: tuple[int, int]) -> torch.Tensor:
    """The warp's ``(source, y, x)`` field (sources: crop, [whole], references at working
    resolution) with the photo sources re-expressed as full-resolution pixels of the window
    ``p`` (source 0) and the references renumbered after it."""
    py0, _, px0, _ = p
    crop_h, crop_w = maps.sources[0].shape[1:]
    s = field[0].long()
    y, x = field[1], field[2]
    # crop working -> full-res photo
    fy = window.y0 + (y + 0.5) * window.height / crop_h - 0.5
    fx = window.x0 + (x + 0.5) * window.width / crop_w - 0.5
    n_photo = 1
    if has_whole:
        n_photo = 2
        gh, gw = maps.sources[1].shape[1:]
        wy = (y + 0.5) * shape[0] / gh - 0.5
        wx = (x + 0.5) * shape[1] / gw - 0.5
        fy = torch.where(s == 1, wy, fy)
        fx = torch.where(s == 1, wx, fx)
    on_photo = s < n_photo
    out = field.clone()
    out[0] = torch.where(on_photo, torch.zeros_like(s), s - n_photo + 1).to(field.dtype)
    out[1] = torch.where(on_photo, (fy - py0).round(), y)
    out[2] = torch.where(on_photo, (fx - px0).round(), x)
    return out
