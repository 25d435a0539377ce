"""Running an ONNX scene parser with ONNX Runtime: photo in, ADE20K ``LabelMap`` out.

The model contract (SegFormer exports follow it; anything else is checked and refused with the
shape it has): one float input ``N×3×H×W`` (RGB, scaled to [0, 1], normalised by mean/std) and a
first output of ``N×C×h×w`` logits at a fixed fraction of the input size, where model class ``i``
is ADE20K id ``i + label_offset``.

onnxruntime is imported only when a session is made, so importing this module stays cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.arrays import LabelMap, RGBImage
from inference.errors import BadInputError, CheckpointError, ImageError, ModelUnavailableError
from inference.labels import NUM_CLASSES
from inference.onnx_runtime import Device, create_session
from inference.parser.refine import RefineConfig, guided_argmax, upsample_argmax
from inference.parser.registry import Preprocessing
from inference.progress import CancelToken, ProgressFn, no_progress


@dataclass(frozen=True)
class ParseResult:
    """A parsed photo: the ``LabelMap`` and what produced it."""

    labels: LabelMap
    model: str
    provider: str
    working_size: tuple[int, int]  # (H, W) the photo was resized to for the model
    windows: int  # model runs: 1 for whole-image inference, more for sliding windows
    refined: bool
    seconds: float


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _positions(length: int, window: int, step: int) -> list[int]:
    return list(range(0, max(0, length - window) + 1, step))


class OnnxSceneParser:
    """An ONNX scene parser plus the pre/post-processing of its :class:`Preprocessing`."""

    def __init__(self, path: str | Path, preprocessing: Preprocessing | None = None,
                 name: str | None = None, device: Device = "auto") -> None:
        path = Path(path)
        if not path.exists():
            raise ModelUnavailableError(f"parser model file not found: {path}")
        if not path.is_file():
            raise BadInputError(f"parser model path is not a file: {path}")
        self.path = path
        self.name = name or path.name
        self.pre = preprocessing or Preprocessing()
        if self.pre.input_size < 32 or self.pre.pad_multiple < 1:
            raise BadInputError(f"parser input size must be at least 32, got {self.pre.input_size}")
        self.session = create_session(path, device)
        self.provider = self.session.get_providers()[0]
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else []
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            got = [(i.name, i.shape) for i in inputs]
            raise CheckpointError(
                f"parser model {path} must take one N×3×H×W image input, it takes {got}")
        self.input_name = inputs[0].name
        h, w = inputs[0].shape[2], inputs[0].shape[3]
        self.fixed_hw = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        out_shape = outputs[0].shape
        if len(out_shape) != 4:
            raise CheckpointError(
                f"parser model {path} must output N×C×h×w logits, its output has shape {out_shape}")
        if isinstance(out_shape[1], int):
            self._check_classes(out_shape[1])

    def _check_classes(self, channels: int) -> None:
        # An ADE20K parser covers all 150 classes, with or without a leading "other" channel;
        # any other count means a different label set, whose ids would be silently wrong.
        if channels + self.pre.label_offset != NUM_CLASSES + 1:
            raise CheckpointError(
                f"parser model {self.path} outputs {channels} classes with label offset "
                f"{self.pre.label_offset}; an ADE20K parser outputs {NUM_CLASSES} class logits "
                f"(offset 1) or {NUM_CLASSES + 1} (offset 0)")

    # ------------------------------------------------------------------ model runs
    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self.session.run(None, {self.input_name: batch})[0]
        except Exception as exc:  # ORT's runtime errors are pybind types
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"parser model {self.path} failed on a {batch.shape} input: {first}") from None
        if out.ndim != 4 or out.shape[0] != 1:
            raise CheckpointError(
                f"parser model {self.path} must output 1×C×h×w logits for one image, "
                f"got shape {out.shape}")
        self._check_classes(out.shape[1])
        if not np.isfinite(out).all():
            # NaN logits argmax to class 0 everywhere: a one-class map that looks like a result.
            bad = int(out.size - np.isfinite(out).sum())
            raise CheckpointError(
                f"parser model {self.path} output {bad} non-finite logits (NaN or inf) of "
                f"{out.size} on a {batch.shape} input; the model or its preprocessing is broken")
        return out[0].astype(np.float32, copy=False)

    def _normalise(self, rgb: np.ndarray) -> np.ndarray:
        x = rgb.astype(np.float32) / 255.0
        x = (x - np.asarray(self.pre.mean, np.float32)) / np.asarray(self.pre.std, np.float32)
        return x

    def working_size(self, h: int, w: int) -> tuple[int, int]:
        """Short side to ``input_size`` (aspect kept), long side at most 4× that."""
        s = self.pre.input_size
        scale = min(s / min(h, w), 4 * s / max(h, w))
        return max(1, round(h * scale)), max(1, round(w * scale))

    def _probs(self, x: np.ndarray, progress: ProgressFn, cancel: CancelToken | None
               ) -> tuple[np.ndarray, tuple[float, float], int]:
        """Class probabilities over the normalised working image ``x`` (h×w×3), the fraction of
        them covering ``x``, and the number of model runs."""
        wh, ww = x.shape[:2]
        m = self.pre.pad_multiple
        whole = self.fixed_hw is None and max(wh, ww) <= self.pre.max_whole_side
        if whole:
            th, tw = -(-wh // m) * m, -(-ww // m) * m
            step_y = step_x = 0
        else:
            th, tw = self.fixed_hw or (self.pre.input_size, self.pre.input_size)
            # Steps are multiples of 32 so windows sit on the model's output grid (stride ≤ 32).
            step_y = max(32, int(th * (1 - self.pre.window_overlap)) // 32 * 32)
            step_x = max(32, int(tw * (1 - self.pre.window_overlap)) // 32 * 32)
        # Pad (with the mean colour, i.e. zeros after normalising) to a whole number of windows.
        ph = th if wh <= th else th + -(-(wh - th) // max(step_y, 1)) * step_y
        pw = tw if ww <= tw else tw + -(-(ww - tw) // max(step_x, 1)) * step_x
        padded = np.zeros((ph, pw, 3), np.float32)
        padded[:wh, :ww] = x
        ys, xs = _positions(ph, th, step_y or th), _positions(pw, tw, step_x or tw)
        total = len(ys) * len(xs)
        canvas = count = None
        stride = 1
        done = 0
        for y in ys:
            for x0 in xs:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                window = padded[y:y + th, x0:x0 + tw].transpose(2, 0, 1)[None]
                probs = _softmax(self._run(np.ascontiguousarray(window)))
                if canvas is None:
                    stride = max(1, round(th / probs.shape[1]))
                    canvas = np.zeros((probs.shape[0], ph // stride, pw // stride), np.float32)
                    count = np.zeros((ph // stride, pw // stride), np.float32)
                oh, ow = th // stride, tw // stride
                if probs.shape[1:] != (oh, ow):
                    # Outputs not an exact fraction of the window: put them on the common grid.
                    probs = np.stack([cv2.resize(p, (ow, oh), interpolation=cv2.INTER_LINEAR)
                                      for p in probs])
                if probs.shape[0] != canvas.shape[0]:
                    raise CheckpointError(f"parser model {self.path} changed its class count "
                                          f"between windows ({canvas.shape[0]} → {probs.shape[0]})")
                canvas[:, y // stride:y // stride + oh, x0 // stride:x0 // stride + ow] += probs
                count[y // stride:y // stride + oh, x0 // stride:x0 // stride + ow] += 1
                done += 1
                progress(done, total + 1)
        canvas /= np.maximum(count, 1)[None]
        return canvas, (wh / ph, ww / pw), total

    # ------------------------------------------------------------------ public
    def parse(self, image: RGBImage, refine: bool = True,
              refine_config: RefineConfig | None = None, progress: ProgressFn = no_progress,
              cancel: CancelToken | None = None) -> ParseResult:
        """``LabelMap`` of an ``RGBImage`` at the photo's full resolution."""
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 \
                or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
            raise ImageError(
                f"parser needs a uint8 H×W×3 photo, got {getattr(image, 'dtype', type(image))} "
                f"{getattr(image, 'shape', '')}")
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        wh, ww = self.working_size(h, w)
        small = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA if wh < h
                           else cv2.INTER_LINEAR)
        probs, coverage, runs = self._probs(self._normalise(small), progress, cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        if refine:
            index = guided_argmax(image, probs, refine_config, coverage)
        else:
            index = upsample_argmax(probs, (h, w), coverage)
        labels = (index + self.pre.label_offset).astype(np.uint8)
        progress(runs + 1, runs + 1)
        return ParseResult(labels, self.name, self.provider, (wh, ww), runs, refine,
                           time.perf_counter() - t0)
