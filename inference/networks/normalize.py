"""Channel normalisation of feature maps (paper 000, Eq. 1/3), shared by the networks, the warp
backends, the patch synthesis and the training losses."""

from __future__ import annotations

import math

import torch


def channel_normalize(features: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Zero mean and unit L2 norm over the channel axis at every location (paper 000, Eq. 1/3).

    ``features`` is ``(C, H, W)`` or ``(B, C, H, W)``; the channel axis is ``-3``.
    """
    centred = features - features.mean(dim=-3, keepdim=True)
    # sum of squares over the channel axis: ~2x faster on CPU than ``norm(dim=-3)``, which
    # reduces along a strided axis
    return centred / centred.square().sum(dim=-3, keepdim=True).sqrt().clamp_min(eps)


def channel_normalize_(features: torch.Tensor, eps: float = 1e-6,
                       band_elements: int = 1 << 20) -> torch.Tensor:
    """:func:`channel_normalize` in place, the same values bit for bit, for a fresh map outside
    autograd (hand-made features, a resized or pooled map): a map of tens of MB is not copied
    twice more. A map autograd tracks gets the out-of-place version (its backward needs it).

    In bands of rows of about ``band_elements`` values: every pixel is reduced over its own
    channels alone, so on a contiguous map the bands give the same values, and the squares'
    temporary is a band's size, not the map's (97 MB for 37 channels at 1024×640)."""
    if features.requires_grad and torch.is_grad_enabled():
        return channel_normalize(features, eps)
    h, w = features.shape[-2:]
    # a band holds a multiple of 256 pixels, so the vectorised loops split it as they split the
    # whole map (a band ending mid-vector would take a scalar tail: other rounding)
    step = 256 // math.gcd(w, 256)
    rows = max(step, band_elements // max(1, features[..., :1, :].numel()) // step * step)
    r0 = 0
    while r0 < h:
        # the last band takes the remainder: a band of a few pixels is summed another way
        r1 = h if h - r0 < rows + step else r0 + rows
        band = features[..., r0:r1, :]
        band.sub_(band.mean(dim=-3, keepdim=True))
        norm = band.square().sum(dim=-3, keepdim=True).sqrt_().clamp_min_(eps)
        band.div_(norm)
        r0 = r1
    return features
