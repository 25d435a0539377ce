"""The two-stage manipulation generator of paper 000 section 3.3.

``G(xwarp, c1, m, x0 ⊙ (1 − m))``: a semantic encoder of ``xwarp``, a layout embedding (1×1 conv of
one-hot ``c1``), the coarse two-branch stage (:mod:`inference.networks.coarse`), and a SPADE
refinement network fed the coarse decoder's intermediate features and
``[xwarp, y_coarse, f_c1, m]``. The caller composites ``y ⊙ m + x0 ⊙ (1 − m)`` (Eq. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inference.labels import NUM_CLASSES
from inference.networks.coarse import CoarseGenerator, SemanticEncoder
from inference.networks.spade import SPADEConfig, SPADEResBlock


@dataclass(frozen=True)
class GeneratorConfig:
    """Generator sizes (flat, so a checkpoint's ``config.json`` rebuilds it directly).

    ``tiny()`` is for tests; the defaults are the shipped scale at 512² working resolution.
    """

    num_labels: int = NUM_CLASSES + 1
    layout_channels: int = 16                         # E, channels of f_c1
    channels: int = 32                                # C at full res; 2C at H/2; 4C at H/4
    dilations: tuple[int, ...] = (2, 4, 8, 16)
    attention_rate: int = 2                           # contextual attention at H/8
    attention_channels: int = 32                      # features matched by the attention
    semantic_channels: tuple[int, int, int] = (32, 64, 128)   # f(1..3) at H/2, H/4, H/8
    refine_channels: int = 64
    spade_hidden: int = 32                            # SPADE's shared conditioning width

    @staticmethod
    def tiny() -> GeneratorConfig:
        return GeneratorConfig(layout_channels=4, channels=8, dilations=(2, 4),
                               attention_channels=8, semantic_channels=(8, 8, 8),
                               refine_channels=8, spade_hidden=8)


class LayoutEmbedding(nn.Module):
    """One-hot ``c1`` -> ``f_c1`` with a 1×1 convolution (an embedding lookup, done as a conv)."""

    def __init__(self, num_labels: int, channels: int) -> None:
        super().__init__()
        self.num_labels = num_labels
        self.proj = nn.Conv2d(num_labels, channels, 1)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        # labels (B, H, W) int64 -> (B, E, H, W)
        onehot = F.one_hot(labels, self.num_labels).permute(0, 3, 1, 2).to(self.proj.weight.dtype)
        return self.proj(onehot)


class SpadeRefiner(nn.Module):
    """Refine ``y_coarse`` from the coarse decoder's features, modulated by the inputs."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        c, r = cfg.channels, cfg.refine_channels
        seg = 3 + 3 + cfg.layout_channels + 1        # [xwarp, y_coarse, f_c1, m]
        spade = SPADEConfig(hidden=cfg.spade_hidden)
        self.head = nn.Conv2d(4 * c, r, 3, 1, 1)
        self.block2 = SPADEResBlock(r, r, seg, spade)                 # H/4
        self.block1 = SPADEResBlock(r + 2 * c, r, seg, spade)         # H/2, + coarse decoder
        # Full resolution is where the cost is: merge with the decoder's features by a 1×1
        # convolution, then one narrow block with no learned shortcut.
        self.merge0 = nn.Conv2d(r + c // 2, r // 2, 1)
        self.block0 = SPADEResBlock(r // 2, r // 2, seg, spade)       # H
        self.to_rgb = nn.Conv2d(r // 2, 3, 3, 1, 1)

    def forward(self, decoder_feats: list[torch.Tensor], seg: torch.Tensor) -> torch.Tensor:
        d2, d1, d0 = decoder_feats
        x = self.block2(self.head(d2), seg)
        # scale_factor, not size: the ONNX export then keeps the channel count static
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.block1(torch.cat([x, d1], 1), seg)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.block0(self.merge0(torch.cat([x, d0], 1)), seg)
        return torch.sigmoid(self.to_rgb(F.leaky_relu(x, 0.2)))


class ManipulationGenerator(nn.Module):
    """Paper 000's generator: ``forward`` gives ``(y, y_coarse)``, ``(B, 3, H, W)`` in [0, 1].

    H and W must be multiples of 8 (three stride-2 levels).
    """

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.semantic = SemanticEncoder(cfg.semantic_channels)
        self.layout = LayoutEmbedding(cfg.num_labels, cfg.layout_channels)
        self.coarse = CoarseGenerator(cfg)
        self.refine = SpadeRefiner(cfg)

    def forward(
        self,
        xwarp: torch.Tensor,      # (B, 3, H, W) Eq. 7 composite, [0, 1]
        labels: torch.Tensor,     # (B, H, W) int64 edited layout c1
        mask: torch.Tensor,       # (B, 1, H, W) float, 1 = edited
        known: torch.Tensor,      # (B, 3, H, W) x0 ⊙ (1 − m)
        stage: int = 2,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        f_c1 = self.layout(labels)
        semantic = self.semantic(xwarp)
        inputs = torch.cat([xwarp, f_c1, mask, known], 1)
        y_coarse, decoder_feats = self.coarse(inputs, semantic, f_c1, mask)
        if stage == 1:  # first training phase: the coarse stage alone
            return y_coarse, y_coarse
        seg = torch.cat([xwarp, y_coarse, f_c1, mask], 1)
        y = self.refine(decoder_feats, seg)
        return y, y_coarse
