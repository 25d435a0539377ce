"""VGG-feature losses: perceptual (Johnson et al.), feature matching (paper 003 Eq. 8) and the
contextual loss (Mechrez et al. 2018, paper 003 Eq. 11).

The losses take dictionaries of VGG features (``VGG19Features(image, layers)``), so one VGG pass
per image serves every loss that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

Features = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LayerWeights:
    layers: tuple[str, ...]
    weights: tuple[float, ...]

    def items(self) -> list[tuple[str, float]]:
        return list(zip(self.layers, self.weights))


# Paper 003: perceptual on relu4_2 (high-level semantics); feature matching over the pyramid
# with pix2pixHD's weights; contextual on relu3_2..relu5_2 (style statistics), deeper layers
# weighted more as in CoCosNet's code, normalised to sum to 1 so the term is O(1).
PERCEPTUAL = LayerWeights(("relu4_2",), (1.0,))
FEATURE_MATCHING = LayerWeights(("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"),
                                (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0))
CONTEXTUAL = LayerWeights(("relu3_2", "relu4_2", "relu5_2"), (1 / 7, 2 / 7, 4 / 7))


def feature_l1(a: Features, b: Features, spec: LayerWeights) -> torch.Tensor:
    """``Σ_l w_l · mean |φ_l(a) − φ_l(b)|`` (perceptual / feature-matching loss)."""
    total = 0.0
    for name, w in spec.items():
        total = total + w * (a[name] - b[name].detach()).abs().mean()
    return total


def contextual_similarity(x: torch.Tensor, y: torch.Tensor, band: float = 0.1,
                          eps: float = 1e-5) -> torch.Tensor:
    """CX(X, Y) of Mechrez et al. for features ``(B, C, N)`` and ``(B, C, M)`` -> ``(B,)``.

    Features are centred on Y's mean and L2-normalised; ``d_ij = 1 − cos``, normalised by the
    closest ``min_k d_ik`` per source i; ``w = exp((1 − d̃)/h)`` row-normalised; for every target j
    the best source is kept and averaged. 1 when every feature of Y has an exact match in X.
    """
    mu = y.mean(dim=2, keepdim=True)
    xn = F.normalize(x - mu, dim=1)
    yn = F.normalize(y - mu, dim=1)
    d = 1.0 - torch.bmm(xn.transpose(1, 2), yn)                    # (B, N, M)
    d = d.clamp_min(0.0)
    d_rel = d / (d.min(dim=2, keepdim=True).values + eps)
    w = torch.exp((1.0 - d_rel) / band)
    cx = w / w.sum(dim=2, keepdim=True)                            # (B, N, M)
    return cx.max(dim=1).values.mean(dim=1)                      # (B,)


def contextual_loss(a: Features, b: Features, spec: LayerWeights = CONTEXTUAL,
                    band: float = 0.1, max_positions: int = 4096) -> torch.Tensor:
    """``Σ_l w_l · mean_b −log CX(φ_l(a), φ_l(b))``; feature maps larger than ``max_positions``
    are average-pooled first (the similarity matrix is ``N × M``)."""
    total = 0.0
    for name, w in spec.items():
        fa, fb = a[name], b[name].detach()
        fa, fb = _limit(fa, max_positions), _limit(fb, max_positions)
        cx = contextual_similarity(fa.flatten(2).float(), fb.flatten(2).float(), band)
        total = total + w * (-torch.log(cx.clamp_min(1e-6))).mean()
    return total


def _limit(f: torch.Tensor, max_positions: int) -> torch.Tensor:
    h, w = f.shape[-2:]
    factor = 1
    while (h // factor) * (w // factor) > max_positions:
        factor *= 2
    return F.avg_pool2d(f, factor) if factor > 1 else f
