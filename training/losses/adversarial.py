"""Hinge adversarial loss (paper 000 Eq. 9-10) and the Markovian discriminator ``D(y, c, m)``.

:class:`PatchDiscriminator` is DeepFill v2's SN-PatchGAN: stride-2 4×4 spectral-normalised
convolutions with leaky ReLU, so each output logit judges one overlapping patch. It is
conditioned on the layout (a learned label embedding, the same as a 1×1 convolution of the
one-hot map) and the mask, concatenated to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from inference.labels import NUM_CLASSES


@dataclass(frozen=True)
class DiscriminatorConfig:
    num_labels: int = NUM_CLASSES + 1
    label_channels: int = 16
    channels: int = 64
    downsamples: int = 4            # output at H / 2^downsamples

    @staticmethod
    def tiny() -> DiscriminatorConfig:
        return DiscriminatorConfig(label_channels=4, channels=8, downsamples=3)


class PatchDiscriminator(nn.Module):
    """``D(y (B, 3, H, W) [0, 1], c (B, H, W) int64, m (B, 1, H, W))`` -> logits
    ``(B, 1, H / 2^n, W / 2^n)``."""

    def __init__(self, config: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DiscriminatorConfig()
        self.embed = nn.Embedding(cfg.num_labels, cfg.label_channels)
        layers: list[nn.Module] = []
        cin = 3 + cfg.label_channels + 1
        for i in range(cfg.downsamples):
            cout = cfg.channels * min(2**i, 4)
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2)]
            cin = cout
        layers.append(spectral_norm(nn.Conv2d(cin, 1, 3, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, labels: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        lab = self.embed(labels.long()).permute(0, 3, 1, 2).to(image.dtype)
        return self.net(torch.cat([image * 2 - 1, lab, mask.to(image.dtype)], 1))


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Eq. 10: ``E[relu(1 − D(x))] + E[relu(1 + D(y))]``."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term of Eq. 9: ``−E[D(y)]``."""
    return -fake.mean()
