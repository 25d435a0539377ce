"""The auxiliary SPADE generator of stage A (paper 000 section 3.2, "Training Scheme").

It turns the warped image ``r_{x→c}`` into ``y_{x→c}`` under the target layout, so that the
image losses of paper 003 reach the feature networks; it is discarded after stage A. CoCosNet's
translation network: SPADE residual blocks from ``H/2^L`` up to ``H``, every normalisation
modulated by ``[label embedding, r]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inference.labels import NUM_CLASSES
from inference.networks.spade import SPADEConfig, SPADEResBlock


@dataclass(frozen=True)
class AuxGeneratorConfig:
    num_labels: int = NUM_CLASSES + 1
    label_channels: int = 16
    channels: int = 64
    levels: int = 3                 # starts at H / 2^levels
    spade_hidden: int = 64

    @staticmethod
    def tiny() -> AuxGeneratorConfig:
        return AuxGeneratorConfig(label_channels=4, channels=8, levels=2, spade_hidden=8)

    @staticmethod
    def small() -> AuxGeneratorConfig:
        return AuxGeneratorConfig(label_channels=8, channels=32, levels=3, spade_hidden=32)


class AuxSPADEGenerator(nn.Module):
    """``(warped (B, 3, H, W) [0, 1], labels (B, H, W) int64)`` -> ``y (B, 3, H, W)`` [0, 1];
    H, W multiples of ``2^levels``."""

    def __init__(self, config: AuxGeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or AuxGeneratorConfig()
        cond = cfg.label_channels + 3
        spade = SPADEConfig(hidden=cfg.spade_hidden)
        self.embed = nn.Embedding(cfg.num_labels, cfg.label_channels)
        self.head = nn.Conv2d(cond, cfg.channels, 3, padding=1)
        self.blocks = nn.ModuleList(SPADEResBlock(cfg.channels, cfg.channels, cond, spade)
                                    for _ in range(cfg.levels + 1))
        self.to_rgb = nn.Conv2d(cfg.channels, 3, 3, padding=1)

    def forward(self, warped: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        lab = self.embed(labels.long()).permute(0, 3, 1, 2).to(warped.dtype)
        cond = torch.cat([lab, warped * 2 - 1], 1)
        x = self.head(F.avg_pool2d(cond, 2**self.config.levels))
        for i, block in enumerate(self.blocks):
            if i:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(x, cond)
        return torch.sigmoid(self.to_rgb(F.leaky_relu(x, 0.2)))
