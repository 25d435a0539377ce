"""Spatially-adaptive normalisation (SPADE, Park et al. 2019) and the SPADE residual block.

Used by the correspondence feature upsamplers ``Ux``/``Uc`` (paper 000, Eq. 3) and, later, by the
refinement generator. The conditioning map (label embedding, image, mask, or a concatenation) is
resized to the normalised activation's size, so one conditioning input serves every scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


@dataclass(frozen=True)
class SPADEConfig:
    norm: Literal["instance", "batch"] = "instance"   # the parameter-free normalisation
    hidden: int = 128                                  # channels of the shared conditioning MLP
    kernel: int = 3
    cond_resize: Literal["nearest", "bilinear"] = "bilinear"


class SPADE(nn.Module):
    """``norm(x) * (1 + γ(cond)) + β(cond)`` with ``γ, β`` predicted per pixel from ``cond``."""

    def __init__(self, channels: int, cond_channels: int, config: SPADEConfig | None = None):
        super().__init__()
        self.config = cfg = config or SPADEConfig()
        if cfg.norm == "instance":
            self.norm = nn.InstanceNorm2d(channels, affine=False)
        else:
            self.norm = nn.BatchNorm2d(channels, affine=False)
        pad = cfg.kernel // 2
        self.shared = nn.Sequential(
            nn.Conv2d(cond_channels, cfg.hidden, cfg.kernel, padding=pad), nn.ReLU())
        self.gamma = nn.Conv2d(cfg.hidden, channels, cfg.kernel, padding=pad)
        self.beta = nn.Conv2d(cfg.hidden, channels, cfg.kernel, padding=pad)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W); cond: (B, Cc, Hc, Wc) -> resized to (H, W)
        if cond.shape[-2:] != x.shape[-2:]:
            mode = self.config.cond_resize
            cond = F.interpolate(cond, size=x.shape[-2:], mode=mode,
                                 **({"align_corners": False} if mode == "bilinear" else {}))
        h = self.shared(cond)
        return self.norm(x) * (1 + self.gamma(h)) + self.beta(h)


class SPADEResBlock(nn.Module):
    """SPADE ResBlock: two SPADE-LReLU-conv stages plus a (learned if needed) shortcut."""

    def __init__(self, fin: int, fout: int, cond_channels: int,
                 config: SPADEConfig | None = None, spectral: bool = False) -> None:
        super().__init__()
        fmid = min(fin, fout)
        wrap = spectral_norm if spectral else (lambda m: m)
        self.conv_0 = wrap(nn.Conv2d(fin, fmid, 3, padding=1))
        self.conv_1 = wrap(nn.Conv2d(fmid, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, cond_channels, config)
        self.norm_1 = SPADE(fmid, cond_channels, config)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = wrap(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, cond_channels, config)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # x: (B, fin, H, W) -> (B, fout, H, W)
        shortcut = self.conv_s(self.norm_s(x, cond)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, cond), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, cond), 0.2))
        return shortcut + dx
