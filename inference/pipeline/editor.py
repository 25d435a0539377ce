"""``LayoutEditor``: the whole edit pipeline of the design, shared by the GUI and the command line.

parse (if needed) -> mask -> crop around the mask with context -> warp (any backend) -> Eq. 7 ->
generator (with a checkpoint) or classical harmonisation (without) -> Eq. 6 composite -> paste
back at full resolution. Pixels outside the mask are bit-identical to the input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from inference.correspondence import create_backend
from inference.correspondence.base import Correspondence, WarpRequest, WarpSource
from inference.defaults import DEFAULT_WARP
from inference.errors import BadInputError
from inference.imageio import check_same_size
from inference.labels import validate_label_values
from inference.pipeline.cropping import CropWindow, crop_window, paste_back
from inference.pipeline.fullres import resample_full_resolution
from inference.pipeline.harmonize import harmonize
from inference.pipeline.masking import edit_mask
from inference.pipeline.models import EngineModels
from inference.progress import CancelToken, ProgressFn, no_progress

Path_ = Literal["unchanged", "classical", "generator"]


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

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BadInputError("--device cuda was asked for but no CUDA device is available")
        return self.device


@dataclass
class Reference:
    """A reference photo whose pixels the warp may use; labels are parsed when missing."""

    image: np.ndarray                 # RGB uint8 (H, W, 3)
    labels: np.ndarray | None = None  # LabelMap


@dataclass
class EditResult:
    image: np.ndarray                 # RGB uint8, same size as the input
    warped: np.ndarray                # Eq. 7 composite at full resolution, RGB uint8
    mask: np.ndarray                  # the edit mask used (bool, full resolution)
    path: Path_
    warp_backend: str
    window: CropWindow | None = None
    correspondence: Correspondence | None = None   # at the working resolution of the crop
    sources: list[str] = field(default_factory=list)   # what each correspondence source is
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class LayoutEditor:
    """Runs edits. ``models`` carries the optional parser, learned features and generator."""

    def __init__(self, settings: EditSettings | None = None,
                 models: EngineModels | None = None) -> None:
        self.settings = settings or EditSettings()
        self.models = models or EngineModels()

    def edit(
        self,
        image: np.ndarray,
        edited_labels: np.ndarray,
        labels: np.ndarray | None = None,
        user_mask: np.ndarray | None = None,
        references: list[Reference] | tuple[Reference, ...] = (),
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> EditResult:
        progress = progress or no_progress
        cancel = cancel or CancelToken()
        st = self.settings
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        _check_image(image, "photo")
        validate_label_values(edited_labels)
        check_same_size(image, edited_labels, "edited label map")
        if labels is None:
            labels = self.models.parse(image, "photo")
            timings["parse"] = time.perf_counter() - t0
        validate_label_values(labels)
        check_same_size(image, labels, "label map")
        if user_mask is not None:
            check_same_size(image, user_mask, "mask")
        mask = edit_mask(labels, edited_labels, user_mask, st.mask_dilation)
        if not mask.any():
            return EditResult(image=image.copy(), warped=image.copy(), mask=mask,
                              path="unchanged", warp_backend=st.warp, timings=timings,
                              notes=["the edited layout equals the original: nothing to do"])
        cancel.raise_if_cancelled()
        progress(1, 10)

        window = crop_window(mask, st.working_size, st.context)
        x0w = window.to_work(image)
        c0w = window.to_work(labels, nearest=True)
        c1w = window.to_work(edited_labels, nearest=True)
        mw = window.to_work(mask)
        full_sources, scales, names = [window.cut(image)], [window.scale], ["photo (crop)"]
        sources = [WarpSource(_tensor(x0w), _labels(c0w),
                              torch.from_numpy(mw) if st.reconstruction else None)]
        if st.global_source and (window.height, window.width) != image.shape[:2]:
            g_win = _whole(image, st.working_size)
            g_img, g_lab = g_win.to_work(image), g_win.to_work(labels, nearest=True)
            g_ex = torch.from_numpy(g_win.to_work(mask)) if st.reconstruction else None
            sources.append(WarpSource(_tensor(g_img), _labels(g_lab), g_ex))
            full_sources.append(image)
            scales.append(g_win.scale)
            names.append("photo (whole)")
        for i, ref in enumerate(references):
            _check_image(ref.image, f"reference {i + 1}")
            ref_labels = ref.labels
            if ref_labels is None:
                ref_labels = self.models.parse(ref.image, f"reference {i + 1}")
            validate_label_values(ref_labels)
            check_same_size(ref.image, ref_labels, f"reference {i + 1} label map")
            r_win = _whole(ref.image, st.working_size)
            sources.append(WarpSource(_tensor(r_win.to_work(ref.image)),
                                      _labels(r_win.to_work(ref_labels, nearest=True))))
            full_sources.append(ref.image)
            scales.append(r_win.scale)
            names.append(f"reference {i + 1}")
        timings["prepare"] = time.perf_counter() - t0 - timings.get("parse", 0.0)
        progress(2, 10)

        t = time.perf_counter()
        request = WarpRequest(sources=sources, target_labels=_labels(c1w),
                              target_image=_tensor(x0w), target_known=torch.from_numpy(~mw),
                              seed=st.seed)
        backend = self._backend()

        def warp_progress(done: int, total: int) -> None:
            progress(2 + (5 * done) // max(total, 1), 10)

        result = backend.warp(request, progress=warp_progress, cancel=cancel)
        corr = _to_cpu(result.correspondence)
        r_work = result.warped.detach().float().cpu().permute(1, 2, 0).numpy()
        timings["warp"] = time.perf_counter() - t
        cancel.raise_if_cancelled()
        progress(7, 10)

        t = time.perf_counter()
        crop_hw = (window.height, window.width)
        if window.scale < 1.0 and st.full_resolution:
            r_full = resample_full_resolution(corr, full_sources, scales, crop_hw)
        else:
            r_full = window.from_work(r_work)
        timings["full_resolution"] = time.perf_counter() - t
        x0_crop = window.cut(image).astype(np.float32) / 255.0
        m_crop = window.cut(mask)
        xwarp_crop = np.where(m_crop[..., None], r_full, x0_crop)            # Eq. 7
        cancel.raise_if_cancelled()

        t = time.perf_counter()
        if self.models.generator is not None:
            path: Path_ = "generator"
            xwarp_w = np.where(mw[..., None], r_work, x0w.astype(np.float32) / 255.0)
            y_w = self.models.generate(xwarp_w, c1w, mw, st.resolved_device(), st.runtime)
            # The generator works at the working resolution; keep the full-res warp's detail
            # that the working resolution could not hold.
            y_crop = window.from_work(y_w) + (r_full - window.from_work(r_work))
        else:
            path = "classical"
            y_crop = harmonize(r_full, x0_crop, m_crop, window.cut(edited_labels),
                               window.cut(labels))
        timings["refine"] = time.perf_counter() - t
        progress(9, 10)

        out = paste_back(image, window, _to_uint8(y_crop), mask)            # Eq. 6
        warped = paste_back(image, window, _to_uint8(xwarp_crop), mask)
        timings["total"] = time.perf_counter() - t0
        progress(10, 10)
        return EditResult(image=out, warped=warped, mask=mask, path=path, warp_backend=st.warp,
                          window=window, correspondence=corr, sources=names, timings=timings)

    def _backend(self):
        st = self.settings
        config: dict = {"device": st.resolved_device()}
        if st.warp in ("hrs", "hrs-ms"):
            if st.iterations is not None:
                config["iterations"] = st.iterations
            if st.particles is not None:
                config["particles"] = st.particles
        elif st.iterations is not None or st.particles is not None:
            raise BadInputError(f"iterations/particles apply to hrs and hrs-ms, not {st.warp!r}")
        features = self.models.features(st.runtime, config["device"])
        return create_backend(st.warp, features=features, **config)


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


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _to_cpu(corr: Correspondence) -> Correspondence:
    return Correspondence(keys=corr.keys.cpu(), weights=corr.weights.float().cpu(),
                          source_coords=corr.source_coords.float().cpu())
