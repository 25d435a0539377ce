"""Image quality metrics: L1, PSNR, SSIM (whole image and inside a mask) and a detail ratio.

All take ``RGBImage`` (uint8) inputs; :func:`psnr`, the project's one PSNR, also takes float
images in [0, 1] and torch tensors (the warp benches and the backend tests score tensors). PSNR
and SSIM reward blur, so ``detail_ratio`` reports the Laplacian energy of the output over that
of the truth inside the mask: 1.0 = as sharp as the truth, < 1 = blurrier, > 1 = noisier.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np


def _f(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / 255.0


def l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error in [0, 1] units."""
    d = np.abs(_f(a) - _f(b))
    return float(d[mask].mean()) if mask is not None else float(d.mean())


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of images in [0, 1] whose mean squared error is ``mse`` (``inf`` for 0)."""
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def psnr(a: Any, b: Any, mask: Any = None) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images, ``nan`` for no pixels).

    ``a`` and ``b`` are ``RGBImage`` (uint8, read as /255) or float images in [0, 1]: numpy
    ``(H, W, C)`` arrays or torch ``(C, H, W)`` tensors. ``mask`` ``(H, W)`` bool (array or
    tensor) scores only those pixels; the error is averaged over channels, then pixels.
    """
    x, y = _hwc(a), _hwc(b)
    err = ((x - y) ** 2).mean(axis=-1) if x.ndim == 3 else (x - y) ** 2
    if mask is not None:
        err = err[_numpy(mask).astype(bool)]
    return psnr_from_mse(float(err.mean())) if err.size else math.nan


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):                       # a torch tensor, on any device
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _hwc(img: Any) -> np.ndarray:
    """``img`` as float64 ``(H, W, C)`` in [0, 1]; tensors come channel-first."""
    arr = _numpy(img)
    if hasattr(img, "detach") and arr.ndim == 3:
        arr = np.moveaxis(arr, 0, -1)
    return arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03)."""
    c1, c2 = 0.01**2, 0.03**2
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    m = ssim_map(a, b)
    return float(m[mask].mean()) if mask is not None else float(m.mean())


def laplacian_energy(img: np.ndarray, mask: np.ndarray) -> float:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
    lap = cv2.Laplacian(gray, cv2.CV_64F, ksize=3)
    return float((lap[mask] ** 2).mean())


def detail_ratio(output: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Laplacian energy of ``output`` over that of ``truth`` inside ``mask``."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    region = inner if inner.any() else mask
    return laplacian_energy(output, region) / max(laplacian_energy(truth, region), 1e-9)


def all_metrics(output: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    return {
        "l1": l1(output, truth), "psnr": psnr(output, truth), "ssim": ssim(output, truth),
        "l1_mask": l1(output, truth, mask), "psnr_mask": psnr(output, truth, mask),
        "ssim_mask": ssim(output, truth, mask), "detail": detail_ratio(output, truth, mask),
    }
