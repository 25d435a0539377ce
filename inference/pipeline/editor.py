"""``LayoutEditor``: the whole edit pipeline of the design, shared by the GUI and the command line.

parse (if needed) -> mask -> crop around the mask with context -> warp (any backend) -> Eq. 7 ->
generator (with a checkpoint) or, without one, label-guided patch synthesis at full resolution
(:mod:`inference.synthesis`; ``refine="harmonize"``: the warp, colour-corrected) -> Eq. 6
composite -> paste back at full resolution. Pixels outside the mask are bit-identical to the input.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from inference.arrays import LabelMap, Mask, RGBImage
from inference.cache import SourceCache, fingerprint
from inference.correspondence import create_backend, sampler_backends, takes_sampler
from inference.correspondence.base import (
    Correspondence,
    FeatureFrame,
    WarpRequest,
    WarpSource,
)
from inference.correspondence.features import SemanticFeatures
from inference.defaults import DEFAULT_REFINE, DEFAULT_WARP, REFINEMENTS
from inference.errors import BadInputError
from inference.imageio import check_same_size
from inference.labels import validate_label_values
from inference.pipeline.cropping import CropWindow, crop_window, paste_back
from inference.pipeline.fullres import resample_full_resolution
from inference.pipeline.harmonize import harmonize
from inference.pipeline.masking import edit_mask, grow
from inference.pipeline.models import EngineModels
from inference.pipeline.objects import ObjectTransform, infer_object_transforms, paste_objects
from inference.pipeline.synthesize import SourcePhoto, synthesis_invalid, synthesize_crop
from inference.pipeline.warping import warp_in_boxes
from inference.progress import CancelToken, ProgressFn, no_progress
from inference.synthesis.completion import SynthesisConfig
from inference.synthesis.levels import resize_any, resize_image

# Which branch of the pipeline made the result: none (nothing changed), the no-checkpoint
# refinements, or the generator.
EditRoute = Literal["unchanged", "synthesis", "harmonize", "generator"]
Refine = Literal["synthesis", "harmonize"]


@dataclass(frozen=True)
class EditSettings:
    """How an edit runs. Backend settings not listed here keep their backend's defaults."""

    warp: str = DEFAULT_WARP
    working_size: int = 512
    context: float = 0.5              # crop margin, fraction of the mask's box size
    mask_dilation: int = 8            # px at full resolution
    device: Literal["auto", "cpu", "cuda"] = "auto"
    runtime: Literal["torch", "onnx"] = "torch"
    seed: int = 0
    reconstruction: bool = False      # appendix E: never copy from inside the mask
    full_resolution: bool = True      # sample full-res pixels through the correspondence
    global_source: bool = True        # also warp from the whole photo, not only the crop
    iterations: int | None = None     # N override for hrs / hrs-ms
    particles: int | None = None      # M override for hrs / hrs-ms
    refine: Refine = DEFAULT_REFINE   # the no-checkpoint refinement
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    infer_objects: bool = True        # label-only edits: copy moved objects by their transform
    object_min_iou: float = 0.92      # ... when the transformed old region covers the new one

    def __post_init__(self) -> None:
        if self.refine not in REFINEMENTS:
            raise BadInputError(f"unknown refinement {self.refine!r}; use "
                                f"{', '.join(REFINEMENTS)}")

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BadInputError("--device cuda was asked for but no CUDA device is available")
        return self.device


@dataclass
class Reference:
    """A reference photo whose pixels the warp may use; labels are parsed when missing."""

    image: RGBImage
    labels: LabelMap | None = None


@dataclass
class EditResult:
    image: RGBImage                   # same size as the input
    warped: RGBImage                  # Eq. 7 composite at full resolution
    mask: Mask                        # the edit mask used (full resolution)
    route: EditRoute
    warp_backend: str
    window: CropWindow | None = None
    correspondence: Correspondence | None = None   # at the working resolution of the crop
    sources: list[str] = field(default_factory=list)   # what each correspondence source is
    # Per source: its full-resolution box and the working size the engine resized it to; the
    # correspondence's keys of source i are pixels of source_windows[i]'s working grid.
    source_windows: list[CropWindow] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _EditJob:
    """What :meth:`LayoutEditor._prepare` sets up: the crop, the warp's request, and every
    source at full resolution (for the full-resolution resampling and the synthesis)."""

    window: CropWindow
    full_sources: list[np.ndarray]
    windows: list[CropWindow]           # per source: full-res box -> working size
    names: list[str]
    photos: list[SourcePhoto]
    request: WarpRequest | None = None
    feature_keys: list[Hashable | None] = field(default_factory=list)   # per warp source
    work_mask: np.ndarray | None = None
    warp_mask: np.ndarray | None = None
    moved: int = 0                      # objects resampled exactly (their own pixels)

    @property
    def scales(self) -> list[float]:
        """Working px per full-res px, per source."""
        return [w.scale for w in self.windows]

    def add(self, name: str, image: np.ndarray, window: CropWindow, photo: SourcePhoto) -> None:
        self.names.append(name)
        self.full_sources.append(image)
        self.windows.append(window)
        self.photos.append(photo)


PreviewFn = Callable[[np.ndarray, str], None]   # (whole photo RGB uint8, stage name)


class _Run:
    """One edit's reporting: progress as percent of the whole, cancel, stage timings, and the
    previews the caller asked for."""

    def __init__(self, progress: ProgressFn, cancel: CancelToken,
                 preview: PreviewFn | None) -> None:
        self.progress, self.cancel, self.preview = progress, cancel, preview
        self.timings: dict[str, float] = {}
        self.t0 = time.perf_counter()

    def step(self, percent: int) -> None:
        self.cancel.raise_if_cancelled()
        self.progress(percent, 100)

    def span(self, lo: int, hi: int) -> ProgressFn:
        """A ``ProgressFn`` for a part of the edit that runs from ``lo`` to ``hi`` percent."""
        return lambda d, n: self.progress(lo + (hi - lo) * d // max(n, 1), 100)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - t

    def show(self, image: np.ndarray, stage: str) -> None:
        if self.preview is not None:
            self.cancel.raise_if_cancelled()
            self.preview(image, stage)


class LayoutEditor:
    """Runs edits. ``models`` carries the optional parser, learned features and generator."""

    def __init__(self, settings: EditSettings | None = None,
                 models: EngineModels | None = None, cache: SourceCache | None = None) -> None:
        self.settings = settings or EditSettings()
        self.models = models or EngineModels()
        # the source side of edits (features, level pyramids), kept across edits of one photo;
        # the GUI passes its session's cache so a second generate skips it
        self.cache = cache if cache is not None else SourceCache()

    def edit(
        self,
        image: RGBImage,
        edited_labels: LabelMap,
        labels: LabelMap | None = None,
        user_mask: Mask | None = None,
        references: list[Reference] | tuple[Reference, ...] = (),
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        objects: list[ObjectTransform] | tuple[ObjectTransform, ...] = (),
        preview: PreviewFn | None = None,
    ) -> EditResult:
        """Edit ``image`` so it follows ``edited_labels``: validate -> mask -> prepare the crop
        and sources -> warp -> full resolution -> refine (generator, patch synthesis or colour
        harmonisation) -> paste back. ``objects`` are moves the caller knows exactly;
        ``preview(image, stage)`` receives whole photos with the edit as far as it got (the
        warp, then each coarse synthesis level) while the edit runs."""
        run = _Run(progress or no_progress, cancel or CancelToken(), preview)
        st = self.settings
        labels = self._validated(image, edited_labels, labels, user_mask, objects, run.timings)
        t_prepare = time.perf_counter()         # "prepare": the mask and the crop's set-up
        mask = edit_mask(labels, edited_labels, user_mask, st.mask_dilation)
        if not mask.any():
            return EditResult(image=image.copy(), warped=image.copy(), mask=mask,
                              route="unchanged", warp_backend=st.warp, timings=run.timings,
                              notes=["the edited layout equals the original: nothing to do"])
        run.step(2)
        job = self._prepare(image, labels, edited_labels, mask, references)
        run.timings["prepare"] = time.perf_counter() - t_prepare
        run.step(5)
        with run.timed("warp"):
            corr, r_work, maps = self._warp(job, run.span(5, 40), run.cancel,
                                            self._first_estimate(job, image, mask, run))
        run.step(40)
        with run.timed("full_resolution"):
            r_full = self._full_resolution(job, corr, r_work, mask)
        window = job.window
        warped = _composite(image, window, mask, r_full)                          # Eq. 7
        run.show(warped, "warp")
        run.step(45)
        with run.timed("refine"):
            route, y_crop = self._refine(job, image, labels, edited_labels, mask, objects, corr,
                                         r_work, r_full, maps, run)
        run.step(95)                          # the last cancel check: the rest is the result
        out = paste_back(image, window, _to_uint8(y_crop), mask)            # Eq. 6
        run.timings["total"] = time.perf_counter() - run.t0
        run.progress(100, 100)
        notes = [f"{job.moved} object(s) moved with their own pixels"] if job.moved else []
        return EditResult(image=out, warped=warped, mask=mask, route=route, warp_backend=st.warp,
                          window=window, correspondence=corr, sources=job.names,
                          source_windows=job.windows, timings=run.timings, notes=notes)

    # ------------------------------------------------------------------ steps
    def _validated(self, image, edited_labels, labels, user_mask, objects, timings):
        """Check every input before any work; parse the photo when ``labels`` is missing."""
        _check_image(image, "photo")
        validate_label_values(edited_labels)
        check_same_size(image, edited_labels, "edited label map")
        for i, obj in enumerate(objects):
            if obj.source.shape != image.shape[:2]:
                raise BadInputError(
                    f"object transform {i + 1}: its mask is {obj.source.shape[1]}×"
                    f"{obj.source.shape[0]}, the photo {image.shape[1]}×{image.shape[0]}")
        if labels is None:
            t = time.perf_counter()
            labels = self.models.parse(image, "photo")
            timings["parse"] = time.perf_counter() - t
        validate_label_values(labels)
        check_same_size(image, labels, "label map")
        if user_mask is not None:
            check_same_size(image, user_mask, "mask")
        return labels

    def _prepare(self, image, labels, edited_labels, mask, references) -> _EditJob:
        """The crop window, the warp's request (crop, whole photo, references at the working
        resolution on one feature canvas) and the same sources at full resolution."""
        st = self.settings
        window = crop_window(mask, st.working_size, st.context)
        x0w = window.to_work(image)
        c0w = window.to_work(labels, nearest=True)
        mw = window.to_work(mask)
        invalid = synthesis_invalid(mask, labels, edited_labels, st.reconstruction)
        photo_id = fingerprint(image, labels)
        # what changes with the mask (the crop) is not kept: the next generate has another one
        whole_crop = (window.height, window.width) == image.shape[:2]
        crop_key = ("features", photo_id, window) if whole_crop else None
        job = _EditJob(window, [window.cut(image)], [window], ["photo (crop)"],
                       [SourcePhoto("photo (crop)", window.cut(image), window.cut(labels), 1.0,
                                    window.cut(invalid), image, labels, invalid, crop_key)])
        job.feature_keys.append(crop_key)
        # One feature canvas for all photo maps: the whole photo at the map's own scale.
        ih, iw = image.shape[:2]
        sy, sx = window.work_h / window.height, window.work_w / window.width
        crop_frame = FeatureFrame(window.y0 * sy, window.x0 * sx, ih * sy, iw * sx)
        sources = [WarpSource(_tensor(x0w), _labels(c0w),
                              torch.from_numpy(mw) if st.reconstruction else None, crop_frame)]
        if st.global_source and (window.height, window.width) != image.shape[:2]:
            g_win = _whole(image, st.working_size)
            g_ex = torch.from_numpy(g_win.to_work(mask)) if st.reconstruction else None
            sources.append(WarpSource(_tensor(g_win.to_work(image)),
                                      _labels(g_win.to_work(labels, nearest=True)), g_ex,
                                      FeatureFrame(0.0, 0.0, g_win.work_h, g_win.work_w)))
            whole_key = ("features", photo_id, g_win)
            job.feature_keys.append(whole_key)
            job.add("photo (whole)", image, g_win,
                    SourcePhoto("photo (whole)", image, labels, 1.0, invalid, key=whole_key))
        for i, ref in enumerate(references):
            name = f"reference {i + 1}"
            _check_image(ref.image, name)
            ref_labels = ref.labels
            if ref_labels is None:
                ref_labels = self.models.parse(ref.image, name)
            validate_label_values(ref_labels)
            check_same_size(ref.image, ref_labels, f"{name} label map")
            r_win = _whole(ref.image, st.working_size)
            r_frame = FeatureFrame(0.0, 0.0, r_win.work_h, r_win.work_w,
                                   unit=crop_frame.length_unit)
            sources.append(WarpSource(_tensor(r_win.to_work(ref.image)),
                                      _labels(r_win.to_work(ref_labels, nearest=True)),
                                      frame=r_frame))
            ref_key = ("features", fingerprint(ref.image, ref_labels), r_win, r_frame)
            job.feature_keys.append(ref_key)
            job.add(name, ref.image, r_win,
                    SourcePhoto(name, ref.image, ref_labels, r_win.scale / window.scale,
                                key=ref_key))
        job.request = WarpRequest(
            sources=sources, target_labels=_labels(window.to_work(edited_labels, nearest=True)),
            target_image=_tensor(x0w), target_known=torch.from_numpy(~mw), seed=st.seed,
            target_frame=crop_frame)
        job.work_mask = mw
        # where the warp is read, at the working size: every working pixel a masked pixel
        # touches (nearest resizing can drop a thin mask altogether)
        job.warp_mask = resize_any(window.cut(mask), (window.work_h, window.work_w))
        return job

    @staticmethod
    def _first_estimate(job: _EditJob, image: RGBImage, mask: Mask, run: _Run):
        """For the warp: its coarse stage's estimate (working resolution) shown as a preview,
        resized to the crop and composited in the mask like the warp itself (Eq. 7)."""
        if run.preview is None:
            return None
        window = job.window

        def show(estimate: torch.Tensor) -> None:
            work = estimate.detach().float().cpu().clamp(0.0, 1.0).permute(1, 2, 0).numpy()
            full = resize_image(np.ascontiguousarray(work), (window.height, window.width))
            run.show(_composite(image, window, mask, full), "coarse warp")
        return show

    def _warp(self, job: _EditJob, progress: ProgressFn, cancel: CancelToken,
              first_estimate=None):
        """The warp at the working resolution, in boxes around the mask (identity elsewhere:
        nothing reads it there); the hand-made layout features it used are kept for the
        synthesis (computed once). A learned feature provider warps the whole crop.
        ``first_estimate`` receives the coarse stage's estimate when the backend has one."""
        backend = self._backend()
        hand_made = self.models.feature_provider is None and hasattr(backend,
                                                                     "warp_with_features")
        synthesis = self.models.generator is None and self.settings.refine == "synthesis"
        maps = None
        if hand_made or synthesis:
            keys = job.feature_keys
            maps = SemanticFeatures()(job.request, memo=lambda i, make: make() if keys[i] is None
                                      else self.cache.get(keys[i], make))
        if hand_made:
            result = warp_in_boxes(backend, job.request, maps, job.warp_mask, progress=progress,
                                   cancel=cancel, first_estimate=first_estimate)
        else:
            result = backend.warp(job.request, progress=progress, cancel=cancel)
        corr = _to_cpu(result.correspondence)
        r_work = result.warped.detach().float().cpu().permute(1, 2, 0).numpy()
        return corr, r_work, maps

    def _full_resolution(self, job: _EditJob, corr: Correspondence, r_work: np.ndarray,
                         mask: np.ndarray) -> np.ndarray:
        """The warp at the crop's full resolution: every source's full-resolution pixels
        sampled through the correspondence where the mask and a band around it are (nothing
        else reads it: the colour harmonisation looks ``band`` px outside), or the
        working-size warp resized."""
        window = job.window
        if window.scale < 1.0 and self.settings.full_resolution:
            near = grow(window.cut(mask), _FULLRES_BAND)
            return resample_full_resolution(corr, job.full_sources, job.scales,
                                            (window.height, window.width), want=near)
        return window.from_work(r_work)

    def _refine(self, job, image, labels, edited_labels, mask, objects, corr, r_work, r_full,
                maps, run: _Run) -> tuple[EditRoute, np.ndarray]:
        """The crop at full resolution after the generator, the patch synthesis or the colour
        harmonisation of the warp."""
        st = self.settings
        window = job.window
        if self.models.generator is not None:
            mw = job.work_mask
            x0w = window.to_work(image)
            c1w = window.to_work(edited_labels, nearest=True)
            xwarp_w = np.where(mw[..., None], r_work, x0w.astype(np.float32) / 255.0)
            y_w = self.models.generate(xwarp_w, c1w, mw, st.resolved_device(), st.runtime)
            # The generator works at the working resolution; keep the full-res warp's detail
            # that the working resolution could not hold.
            return "generator", window.from_work(y_w) + (r_full - window.from_work(r_work))
        if st.refine == "harmonize":
            x0_crop = window.cut(image).astype(np.float32) / 255.0
            return "harmonize", harmonize(r_full, x0_crop, window.cut(mask),
                                          window.cut(edited_labels), window.cut(labels))
        return "synthesis", self._synthesize(job, image, labels, edited_labels, mask, objects,
                                             corr, r_full, maps, run)

    def _synthesize(self, job, image, labels, edited_labels, mask, objects, corr, r_full, maps,
                    run: _Run) -> np.ndarray:
        """Moved objects pasted with their own pixels, the rest of the hole synthesised from
        the photo and references (the no-checkpoint default)."""
        st = self.settings
        window = job.window
        moved = list(objects)
        if not moved and st.infer_objects and not st.reconstruction:
            moved = infer_object_transforms(labels, edited_labels, mask, st.object_min_iou)
        known, fixed = paste_objects(image, labels, edited_labels, moved,
                                     mask if st.reconstruction else None)

        def level_preview(crop: np.ndarray, stage: str) -> None:
            run.show(paste_back(image, window, _to_uint8(crop), mask), stage)

        y_crop, syn_t = synthesize_crop(
            window, known, mask & ~fixed, edited_labels, job.photos, maps, corr,
            dataclasses.replace(st.synthesis, seed=st.seed), st.resolved_device(),
            progress=run.span(45, 95), cancel=run.cancel, initial=r_full, cache=self.cache,
            preview=level_preview if run.preview is not None else None)
        run.timings.update({f"synthesis {k}": v for k, v in syn_t.items()})
        job.moved = len(moved)
        return y_crop

    def _backend(self):
        st = self.settings
        config: dict = {"device": st.resolved_device()}
        if takes_sampler(st.warp):
            if st.iterations is not None:
                config["iterations"] = st.iterations
            if st.particles is not None:
                config["particles"] = st.particles
        elif st.iterations is not None or st.particles is not None:
            raise BadInputError(f"iterations/particles apply to "
                                f"{' and '.join(sampler_backends())}, not {st.warp!r}")
        features = self.models.features(st.runtime, config["device"])
        return create_backend(st.warp, features=features, **config)


_FULLRES_BAND = 8          # px around the mask the full-resolution warp is made for


def _check_image(image: np.ndarray, what: str) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 \
            or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise BadInputError(f"{what} must be an RGB uint8 H×W×3 array, got {shape}")


def _whole(image: np.ndarray, working_size: int) -> CropWindow:
    h, w = image.shape[:2]
    scale = min(1.0, working_size / max(h, w))
    return CropWindow(0, h, 0, w, max(8, round(h * scale)), max(8, round(w * scale)))


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1).float() / 255.0


def _labels(labels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(labels.astype(np.int64))


def _composite(image: RGBImage, window: CropWindow, mask: Mask, crop: np.ndarray) -> RGBImage:
    """Eq. 7 on the whole photo: ``crop`` (float, the crop's full-resolution size) inside the
    mask, the photo everywhere else."""
    inside = np.where(window.cut(mask)[..., None], crop,
                      window.cut(image).astype(np.float32) / 255.0)
    return paste_back(image, window, _to_uint8(inside), mask)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _to_cpu(corr: Correspondence) -> Correspondence:
    return Correspondence(keys=corr.keys.cpu(), weights=corr.weights.float().cpu(),
                          source_coords=corr.source_coords.float().cpu())
