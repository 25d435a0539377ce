"""Learned cross-domain correspondence features (paper 000, Eq. 1 and 3; paper 003's design).

* ``Fx(x, c_x)`` and ``Fc(c)``: two domain adaptors (conv-IN-LReLU, two stride-2 stages, residual
  blocks) into a shared domain at ``H/4``, followed by a *shared* adaptive block (paper 003: "a
  shared adaptive feature block further transforms the features from two branches").
* ``Ux(fx, c_x)`` and ``Uc(fc, guide)``: SPADE upsamplers ``H/4 -> H`` (two ×2 stages), ending in
  a 1×1 projection and channel normalisation (zero mean, unit L2 per pixel).

Labels enter through a learned embedding (equal to a 1×1 convolution of the one-hot map, at a
fraction of the cost at full resolution). ``Ux`` is guided by the source labels, as in the paper.
``Uc`` is guided by the target labels plus the photo where it is known in the target frame and
that known-mask (paper 000 writes ``Uc(fc, x)``; in local editing ``x`` outside the mask is the
target-frame photo, and elsewhere it is unknown). ``forward`` returns features, never losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inference.labels import NUM_CLASSES
from inference.networks.normalize import channel_normalize
from inference.networks.spade import SPADEConfig, SPADEResBlock


@dataclass(frozen=True)
class CorrespondenceNetConfig:
    num_labels: int = NUM_CLASSES + 1     # ids 0..150
    label_channels: int = 32              # label embedding width
    base: int = 64                        # first adaptor width; x2 per stride-2 stage
    feature_channels: int = 256           # fx / fc at H/4
    adaptor_blocks: int = 2
    shared_blocks: int = 2
    up_channels: tuple[int, int] = (128, 64)   # Ux/Uc widths at H/2 and H
    out_channels: int = 64                # ux / uc at H
    spade_hidden: int = 64

    @staticmethod
    def tiny() -> CorrespondenceNetConfig:
        return CorrespondenceNetConfig(label_channels=4, base=4, feature_channels=8,
                                       adaptor_blocks=1, shared_blocks=1, up_channels=(8, 8),
                                       out_channels=8, spade_hidden=8)


@dataclass
class CorrespondenceFeatures:
    fx: torch.Tensor    # (B, F, H/4, W/4) channel-normalised (Eq. 1)
    fc: torch.Tensor    # (B, F, H/4, W/4)
    ux: torch.Tensor    # (B, O, H, W) channel-normalised (Eq. 3)
    uc: torch.Tensor    # (B, O, H, W)


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1), nn.InstanceNorm2d(ch), nn.LeakyReLU(0.2),
            nn.Conv2d(ch, ch, 3, padding=1), nn.InstanceNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv_block(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2 if stride == 1
                                   else 1), nn.InstanceNorm2d(cout), nn.LeakyReLU(0.2))


class DomainAdaptor(nn.Module):
    """``(B, Cin, H, W) -> (B, F, H/4, W/4)``; H and W must be multiples of 4."""

    def __init__(self, cin: int, cfg: CorrespondenceNetConfig) -> None:
        super().__init__()
        b = cfg.base
        self.net = nn.Sequential(
            _conv_block(cin, b, 3, 1), _conv_block(b, 2 * b, 4, 2), _conv_block(2 * b, 4 * b, 4, 2),
            *[_ResBlock(4 * b) for _ in range(cfg.adaptor_blocks)],
            nn.Conv2d(4 * b, cfg.feature_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SPADEUpsampler(nn.Module):
    """``(B, F, H/4, W/4)`` + guide ``(B, G, H, W)`` -> ``(B, O, H, W)`` channel-normalised."""

    def __init__(self, cfg: CorrespondenceNetConfig, guide_channels: int) -> None:
        super().__init__()
        spade = SPADEConfig(hidden=cfg.spade_hidden)
        c1, c2 = cfg.up_channels
        self.block0 = SPADEResBlock(cfg.feature_channels, c1, guide_channels, spade)   # H/4
        self.block1 = SPADEResBlock(c1, c2, guide_channels, spade)                     # H/2
        self.block2 = SPADEResBlock(c2, c2, guide_channels, spade)                     # H
        self.out = nn.Conv2d(c2, cfg.out_channels, 1)

    def forward(self, f: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        x = self.block0(f, guide)
        x = self.block1(F.interpolate(x, scale_factor=2.0, mode="nearest"), guide)
        x = self.block2(F.interpolate(x, scale_factor=2.0, mode="nearest"), guide)
        return channel_normalize(self.out(F.leaky_relu(x, 0.2)))


class CorrespondenceNet(nn.Module):
    """``Fx, Fc`` (shared-domain extractors at H/4) and ``Ux, Uc`` (SPADE upsamplers to H)."""

    def __init__(self, config: CorrespondenceNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or CorrespondenceNetConfig()
        e = cfg.label_channels
        self.embed = nn.Embedding(cfg.num_labels, e)
        self.adapt_x = DomainAdaptor(3 + e, cfg)
        self.adapt_c = DomainAdaptor(e, cfg)
        self.shared = nn.Sequential(*[_ResBlock(cfg.feature_channels)
                                      for _ in range(cfg.shared_blocks)])
        self.up_x = SPADEUpsampler(cfg, e)
        self.up_c = SPADEUpsampler(cfg, e + 4)

    def _labels(self, labels: torch.Tensor) -> torch.Tensor:
        # (B, H, W) int64 -> (B, E, H, W)
        return self.embed(labels.long()).permute(0, 3, 1, 2)

    def source_features(self, image: torch.Tensor, labels: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """``image (B, 3, H, W)``, ``labels (B, H, W)`` -> ``fx (B, F, H/4, W/4)``, ``ux``."""
        (image, labels), crop = _pad4(image, labels)
        lab = self._labels(labels)
        fx = channel_normalize(self.shared(self.adapt_x(torch.cat([image * 2 - 1, lab], 1))))
        ux = self.up_x(fx, lab)
        return fx, ux[..., :crop[0], :crop[1]]

    def target_features(self, labels: torch.Tensor, image: torch.Tensor | None = None,
                        known: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``labels (B, H, W)`` [+ target-frame photo ``(B, 3, H, W)`` where ``known (B, H, W)``]
        -> ``fc (B, F, H/4, W/4)``, ``uc (B, O, H, W)``."""
        b, h, w = labels.shape
        if image is None:
            image = labels.new_zeros(b, 3, h, w, dtype=torch.float32)
            known = labels.new_zeros(b, h, w, dtype=torch.bool)
        elif known is None:
            known = labels.new_ones(b, h, w, dtype=torch.bool)
        k = known[:, None].float()
        (labels, image, k), crop = _pad4(labels, image, k)
        lab = self._labels(labels)
        fc = channel_normalize(self.shared(self.adapt_c(lab)))
        uc = self.up_c(fc, torch.cat([lab, (image * 2 - 1) * k, k], 1))
        return fc, uc[..., :crop[0], :crop[1]]

    def forward(self, source_image: torch.Tensor, source_labels: torch.Tensor,
                target_labels: torch.Tensor, target_image: torch.Tensor | None = None,
                target_known: torch.Tensor | None = None) -> CorrespondenceFeatures:
        fx, ux = self.source_features(source_image, source_labels)
        fc, uc = self.target_features(target_labels, target_image, target_known)
        return CorrespondenceFeatures(fx=fx, fc=fc, ux=ux, uc=uc)


def _pad4(*maps: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, int]]:
    """Replicate-pad ``(B, [C,] H, W)`` maps to multiples of 4; return them and ``(H, W)``."""
    h, w = maps[0].shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if not (ph or pw):
        return list(maps), (h, w)
    out = []
    for m in maps:
        x = m if m.dim() == 4 else m[:, None]
        x = F.pad(x.float(), (0, pw, 0, ph), mode="replicate").to(m.dtype)
        out.append(x if m.dim() == 4 else x[:, 0])
    return out, (h, w)
