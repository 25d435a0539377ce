"""Coarse stage of the manipulation generator (paper 000 section 3.3).

Inputs ``[xwarp, f_c1, m, x0 ⊙ (1 − m)]`` go through a two-branch encoder -- dilated convolutions
for a large receptive field, contextual attention to copy features from the known surroundings
(DeepFill v2) -- with the semantic features of ``xwarp`` and the resized layout embedding
concatenated at every scale; a deconvolution decoder gives ``y_coarse`` and the intermediate
features the SPADE refinement stage consumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from inference.networks.generator import GeneratorConfig


def conv_act(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation), nn.ELU())


class SemanticEncoder(nn.Module):
    """``xwarp (B, 3, H, W)`` -> features at ``H/2, H/4, H/8`` (``f(1), f(2), f(3)``).

    The paper uses a pretrained visual-semantic embedding; ours is trained with the generator
    (and can be initialised from pretrained weights through a checkpoint).
    """

    def __init__(self, channels: tuple[int, int, int]) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.stages = nn.ModuleList([
            nn.Sequential(conv_act(3, c1, 3, 2), conv_act(c1, c1)),
            nn.Sequential(conv_act(c1, c2, 3, 2), conv_act(c2, c2)),
            nn.Sequential(conv_act(c2, c3, 3, 2), conv_act(c3, c3)),
        ])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def _patches(x: torch.Tensor, p: int) -> torch.Tensor:
    """``(B, C, h, w)`` -> ``(B, C·p·p, h, w)``: the p×p neighbourhood of every pixel.

    Shifted slices of a zero-padded copy rather than ``unfold``, so the graph exports to ONNX.
    """
    h, w, pad = x.shape[-2], x.shape[-1], p // 2
    xp = F.pad(x, (pad, pad, pad, pad))
    return torch.cat([xp[:, :, i:i + h, j:j + w] for i in range(p) for j in range(p)], 1)


def _fold(cols: torch.Tensor, p: int, channels: int) -> torch.Tensor:
    """Overlap-add the p×p patches ``(B, C·p·p, h, w)`` back into ``(B, C, h, w)``."""
    h, w, pad = cols.shape[-2], cols.shape[-1], p // 2
    out = 0
    for n, (i, j) in enumerate((i, j) for i in range(p) for j in range(p)):
        block = F.pad(cols[:, n * channels:(n + 1) * channels], (pad, pad, pad, pad))
        out = out + block[:, :, 2 * pad - i:2 * pad - i + h, 2 * pad - j:2 * pad - j + w]
    return out


class ContextualAttention(nn.Module):
    """Fill the hole's features with softmax-weighted known-region patches (DeepFill v2).

    Matching runs at ``1 / rate`` of the input on ``patch×patch`` patches: cosine similarity
    scaled by ``softmax_scale``; patches whose centre lies in the hole are never used as sources.
    Written as batched matrix products so that it trains batched and exports to ONNX.
    """

    def __init__(self, patch: int = 3, rate: int = 2, softmax_scale: float = 10.0) -> None:
        super().__init__()
        self.patch, self.rate, self.softmax_scale = patch, rate, softmax_scale

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # feats (B, C, h, w); mask (B, 1, h, w) with 1 = hole
        b, c, h, w = feats.shape
        small = F.avg_pool2d(feats, self.rate) if self.rate > 1 else feats
        msmall = F.max_pool2d(mask, self.rate) if self.rate > 1 else mask
        cols = _patches(small, self.patch).flatten(2)                   # (B, D, L)
        keys = cols / cols.norm(dim=1, keepdim=True).clamp_min(1e-4)
        scores = torch.bmm(keys.transpose(1, 2), cols)                  # (B, Lkey, Lquery)
        hole = msmall.flatten(2).transpose(1, 2)                        # (B, Lkey, 1)
        attn = torch.softmax(scores * self.softmax_scale - hole * 1e4, dim=1)
        filled = torch.bmm(cols, attn).reshape(b, -1, *small.shape[-2:])  # (B, D, hs, ws)
        filled = _fold(filled, self.patch, c) / (self.patch ** 2)
        if self.rate > 1:
            filled = F.interpolate(filled, size=(h, w), mode="nearest")
        # An image whose every key lies in the hole has nothing to copy: keep its features.
        has_keys = (hole < 0.5).any(dim=1).reshape(b, 1, 1, 1)
        return torch.where(has_keys, filled, feats)


class CoarseGenerator(nn.Module):
    """Two-branch encoder + deconvolution decoder -> ``y_coarse`` and decoder features."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        c, e = cfg.channels, cfg.layout_channels
        s1, s2, s3 = cfg.semantic_channels
        cin = 3 + e + 1 + 3
        self.cfg = cfg

        def encoder() -> nn.ModuleDict:
            return nn.ModuleDict({
                "s0": conv_act(cin, c, 5),
                "s1": conv_act(c, 2 * c, 3, 2),
                "s1b": conv_act(2 * c + s1 + e, 2 * c),
                "s2": conv_act(2 * c, 4 * c, 3, 2),
                "s2b": conv_act(4 * c + s2 + e, 4 * c),
            })

        self.enc_dilated, self.enc_attention = encoder(), encoder()
        self.dilated = nn.Sequential(
            *[conv_act(4 * c, 4 * c, 3, dilation=d) for d in cfg.dilations])
        a = cfg.attention_channels   # matching on a narrow projection keeps the (HW/64)² cheap
        self.att_pre = conv_act(4 * c, a)
        self.attention = ContextualAttention(rate=cfg.attention_rate)
        self.att_post = nn.Sequential(conv_act(a, 4 * c), conv_act(4 * c, 4 * c))
        self.fuse = conv_act(8 * c + s3 + e, 4 * c)
        self.dec2 = conv_act(4 * c, 4 * c)                                   # H/4
        self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1), nn.ELU())  # -> H/2
        self.dec1 = conv_act(2 * c, 2 * c)
        self.up0 = nn.Sequential(nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.ELU())      # -> H
        self.dec0 = conv_act(c, c // 2)
        self.to_rgb = nn.Conv2d(c // 2, 3, 3, 1, 1)

    @staticmethod
    def _encode(enc: nn.ModuleDict, x, sem, layout) -> torch.Tensor:
        x = enc["s0"](x)
        x = enc["s1"](x)
        x = enc["s1b"](torch.cat([x, sem[0], _resize(layout, x)], 1))
        x = enc["s2"](x)
        return enc["s2b"](torch.cat([x, sem[1], _resize(layout, x)], 1))

    def forward(
        self,
        inputs: torch.Tensor,          # (B, 3+E+1+3, H, W) = [xwarp, f_c1, m, x0 ⊙ (1 − m)]
        semantic: list[torch.Tensor],  # f(1..3) at H/2, H/4, H/8
        layout: torch.Tensor,          # (B, E, H, W) layout embedding f_c1
        mask: torch.Tensor,            # (B, 1, H, W) 1 = edited
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        a = self.dilated(self._encode(self.enc_dilated, inputs, semantic, layout))
        b = self.att_pre(self._encode(self.enc_attention, inputs, semantic, layout))
        b = self.att_post(self.attention(b, F.interpolate(mask, size=b.shape[-2:], mode="nearest")))
        sem3 = F.interpolate(semantic[2], size=a.shape[-2:], mode="bilinear", align_corners=False)
        x = self.fuse(torch.cat([a, b, sem3, _resize(layout, a)], 1))
        d2 = self.dec2(x)                       # (B, 4C, H/4, W/4)
        d1 = self.dec1(self.up1(d2))            # (B, 2C, H/2, W/2)
        d0 = self.dec0(self.up0(d1))            # (B, C/2, H, W)
        y = torch.sigmoid(self.to_rgb(d0))      # (B, 3, H, W) in [0, 1]
        return y, [d2, d1, d0]


def _resize(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(t, size=like.shape[-2:], mode="bilinear", align_corners=False)
