"""``msca``: masked spatial-channel attention with K learned slots (paper 002, sec. 3.1-3.2).

The exemplar (every source) is summarised into K slot vectors by *spatial* attention
(Eq. 4-5: ``α = softmax_{HW}(φ * [F_x2, F_c2])``, ``V = F_x2 αᵀ``); the slots are gated by
*feature masking* (Eq. 6: a 2-layer MLP + sigmoid on the global average pools of both layouts'
features); and every target pixel reads the slots back through *channel* attention (Eq. 7-8:
``β = softmax_K(ψ * F_c1)``, ``F_x1 = Ṽ β``). Cost is ``O(HW·K)``; K = 8 at the finest scale
(paper 002, sec. 4: K = 8, 16, 16, 16, 16 for scales 0..4).

Every part of this is learned, so the backend refuses to run without weights (a
:class:`~inference.errors.CheckpointError`) instead of producing noise. Our substitutions,
because no VGG-19 weights ship with Relayout: a small convolutional image encoder stands in for
``F_vgg`` before the 1×1 compression ``W_x`` (Eq. 1). The label encoder is Eq. 2-3 exactly
(a 1×1 convolution of a one-hot map is an embedding lookup).

As a *pixel* warp, the slots carry colours too: ``r(q) = Σ_k w_k(q) Σ_p α_k(p) x(p)`` with
``w = β ∘ gate`` renormalised over K, so the warp is a convex combination of source pixels. The
:class:`Correspondence` lists, per query, the K slots as keys -- each at the source pixel its
spatial attention peaks on -- with weights ``w``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inference.correspondence.atlas import check_request
from inference.correspondence.base import (
    Correspondence,
    FeatureProvider,
    WarpRequest,
    WarpResult,
)
from inference.correspondence.keybank import NEG, resolve_device
from inference.errors import BadInputError, CheckpointError
from inference.progress import CancelToken, ProgressFn

CHECKPOINT_NAME = "msca"
NEEDS_WEIGHTS = ("msca needs learned weights (paper 002 has no training-free form); pass "
                 "--checkpoint DIR|hf:ORG/REPO with an 'msca' network")


@dataclass(frozen=True)
class MSCAConfig:
    num_classes: int = 151          # label ids 0..150
    image_channels: int = 64        # N: channels of F_x
    label_channels: int = 64        # M1 = M2: channels of F_c (shared weights, Eq. 2-3)
    slots: int = 8                  # K attention maps at scale 0 (paper 002, sec. 4)
    label_scales: int = 4           # L: the label pyramid of Eq. 2 runs scales L..0
    encoder_channels: int = 32      # width of the stand-in for VGG-19 features
    mlp_hidden: int = 64            # hidden width of the feature-masking MLP (Eq. 6)


class LabelEncoder(nn.Module):
    """Eq. 2: ``F^(i) = LReLU(W^(i) * [↑F^(i+1), c^(i)])`` from scale L down to 0."""

    def __init__(self, cfg: MSCAConfig) -> None:
        super().__init__()
        m = cfg.label_channels
        self.embed = nn.ModuleList(nn.Embedding(cfg.num_classes, m)
                                   for _ in range(cfg.label_scales + 1))
        self.lift = nn.ModuleList(nn.Conv2d(m, m, 1, bias=False) for _ in range(cfg.label_scales))

    def forward(self, labels: torch.Tensor) -> torch.Tensor:   # (B, H, W) -> (B, M, H, W)
        h, w = labels.shape[-2:]
        feat = None
        for i in range(len(self.embed) - 1, -1, -1):
            size = (max(1, h >> i), max(1, w >> i))
            lab = F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()
            x = self.embed[i](lab).permute(0, 3, 1, 2)                       # (B, M, h_i, w_i)
            if feat is not None:
                up = F.interpolate(feat, size=size, mode="bilinear", align_corners=False)
                x = x + self.lift[i](up)
            feat = F.leaky_relu(x, 0.2)
        return feat


class MSCANetwork(nn.Module):
    """Feature extraction and one MSCA module (scale 0); ``forward`` returns attention outputs."""

    def __init__(self, config: MSCAConfig) -> None:
        super().__init__()
        self.config = config
        e, n, m, k = (config.encoder_channels, config.image_channels, config.label_channels,
                      config.slots)
        self.image_encoder = nn.Sequential(
            nn.Conv2d(3, e, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(e, e, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(e, n, 1),                                               # W_x (Eq. 1)
        )
        self.label_encoder = LabelEncoder(config)
        self.phi = nn.Conv2d(n + m, k, 1)                                     # Eq. 4
        self.psi = nn.Conv2d(m, k, 1)                                         # Eq. 7
        self.mask_mlp = nn.Sequential(nn.Linear(2 * m, config.mlp_hidden), nn.ReLU(),
                                      nn.Linear(config.mlp_hidden, k))        # Eq. 6

    def forward(
        self,
        images: list[torch.Tensor],       # each (3, Hs, Ws) in [0, 1]
        labels: list[torch.Tensor],       # each (Hs, Ws) int64
        valid: list[torch.Tensor],        # each (Hs, Ws) bool, False = excluded key
        target_labels: torch.Tensor,      # (H, W) int64
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``alpha`` (K, ΣHsWs) over all source pixels, ``gate`` (K,), ``beta``
        (K, H, W) and the aligned features ``F_x1`` (N, H, W)."""
        fx2, logits, fc2_sum, n_pix = [], [], 0.0, 0
        for img, lab, ok in zip(images, labels, valid):
            fx = self.image_encoder(img[None])                               # (1, N, Hs, Ws)
            fc = self.label_encoder(lab[None])                               # (1, M, Hs, Ws)
            a = self.phi(torch.cat([fx, fc], dim=1))[0].flatten(1)           # (K, HsWs)
            logits.append(a.masked_fill(~ok.flatten()[None], NEG))
            fx2.append(fx[0].flatten(1))
            fc2_sum = fc2_sum + fc[0].flatten(1).sum(1)
            n_pix += lab.numel()
        alpha = torch.softmax(torch.cat(logits, dim=1), dim=1)               # Eq. 4, (K, N_all)
        values = torch.cat(fx2, dim=1) @ alpha.T                              # Eq. 5, (N, K)
        fc1 = self.label_encoder(target_labels[None])[0]                      # (M, H, W)
        pooled = torch.cat([fc1.mean(dim=(1, 2)), fc2_sum / n_pix])           # gap, gap
        gate = torch.sigmoid(self.mask_mlp(pooled))                           # Eq. 6, (K,)
        beta = torch.softmax(self.psi(fc1[None])[0], dim=0)                   # Eq. 7, (K, H, W)
        aligned = torch.einsum("nk,khw->nhw", values * gate[None], beta)      # Eq. 8
        return alpha, gate, beta, aligned


@dataclass(frozen=True)
class MSCABackendConfig:
    checkpoint: str | None = None   # folder/hf: location with an 'msca' network
    seed: int | None = None         # unused: inference is deterministic
    device: str = "cpu"


class MSCABackend:
    """Warp backend ``msca`` (see the module doc). Needs weights: a ``checkpoint`` in the config,
    or (tests, training) a ``network`` or a ``weights`` state dict for ``network_config``.

    ``features`` is accepted for the common factory signature and unused: MSCA learns its own
    encoders (paper 002, sec. 3.1)."""

    name = "msca"

    def __init__(
        self,
        config: MSCABackendConfig | None = None,
        features: FeatureProvider | None = None,
        network: MSCANetwork | None = None,
        weights: Mapping[str, torch.Tensor] | None = None,
        network_config: MSCAConfig | None = None,
    ) -> None:
        self.config = config or MSCABackendConfig()
        self.device = resolve_device(self.config.device)
        if network is None and self.config.checkpoint is not None:
            network = load_network(self.config.checkpoint)
        elif network is None and weights is not None:
            network = MSCANetwork(network_config or MSCAConfig())
            try:
                network.load_state_dict(dict(weights), strict=True)
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[0]
                raise CheckpointError(f"msca weights do not match MSCAConfig: {first}") from None
        self.network = network.to(self.device).eval() if network is not None else None

    def warp(self, request: WarpRequest, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> WarpResult:
        if self.network is None:
            raise CheckpointError(NEEDS_WEIGHTS)
        check_request(request)
        dev = self.device
        t0 = time.perf_counter()
        images = [s.image.to(dev, torch.float32) for s in request.sources]
        labels = [s.labels.to(dev, torch.long) for s in request.sources]
        valid = [torch.ones_like(lab, dtype=torch.bool) if s.exclude is None
                 else ~s.exclude.to(dev, torch.bool) for s, lab in zip(request.sources, labels)]
        if not any(bool(v.any()) for v in valid):
            raise BadInputError("every source pixel is excluded: there is nothing to warp from")
        target = request.target_labels.to(dev, torch.long)
        with torch.no_grad():
            alpha, gate, beta, _ = self.network(images, labels, valid, target)
        timings = {"attention": time.perf_counter() - t0}
        if progress:
            progress(1, 1)

        t0 = time.perf_counter()
        colors = torch.cat([img.flatten(1) for img in images], dim=1)        # (3, N_all)
        slot_rgb = colors @ alpha.T                                           # (3, K)
        w = beta * gate[:, None, None]
        w = w / w.sum(0, keepdim=True).clamp_min(1e-12)                        # (K, H, W)
        warped = torch.einsum("ck,khw->chw", slot_rgb, w).clamp(0.0, 1.0)
        corr = slot_correspondence(alpha, w, [tuple(img.shape[-2:]) for img in images])
        timings["warp"] = time.perf_counter() - t0
        h, w_ = int(target.shape[0]), int(target.shape[1])
        return WarpResult(warped=warped, correspondence=corr, backend=self.name,
                          corr_resolution=(h, w_), timings=timings)


def slot_correspondence(alpha: torch.Tensor, weights: torch.Tensor,
                        sizes: list[tuple[int, int]]) -> Correspondence:
    """Keys = each slot's attention peak ``(source, y, x)``, shared by all queries."""
    k, h, w = weights.shape
    peak = alpha.argmax(dim=1)                                                # (K,)
    counts = torch.tensor([0] + [a * b for a, b in sizes], device=peak.device)
    starts = torch.cumsum(counts, 0)
    src = (torch.searchsorted(starts[1:], peak, right=True)).clamp_max(len(sizes) - 1)
    local = peak - starts[src]
    widths = torch.tensor([b for _, b in sizes], device=peak.device)[src]
    slot_keys = torch.stack([src, local // widths, local % widths], dim=1)   # (K, 3)
    keys = slot_keys[:, :, None, None].expand(k, 3, h, w)                     # view, no copy
    best = weights.argmax(0)                                                  # (H, W)
    return Correspondence(keys=keys, weights=weights,
                          source_coords=slot_keys[best].permute(2, 0, 1).float())


def load_network(checkpoint: str) -> MSCANetwork:
    """The trained MSCA network from a checkpoint (network ``msca``)."""
    from inference.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint).build(CHECKPOINT_NAME, MSCAConfig, MSCANetwork,
                                             NEEDS_WEIGHTS)
