"""The HRS-Att warp as training uses it: key index sampling on detached features (it is not
differentiable), then the sparse attentive warp, which is differentiable w.r.t. both feature
maps (paper 000 section 3.2, "Training Scheme")."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from inference.correspondence.sampling import KeyIndexSampler, SamplerConfig
from inference.correspondence.sparse_warp import DEFAULT_GAMMA, sparse_attentive_warp


@dataclass(frozen=True)
class WarpConfig:
    """Sampler and attention settings (paper: N = 15, M = 2; γ = 100 as CoCosNet). The sampler's
    ``class_penalty`` and ``chunk_size`` serve the attentive warp too."""

    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    gamma: float = DEFAULT_GAMMA


def sample_keys(sampler: KeyIndexSampler, uc: torch.Tensor, ux: torch.Tensor,
                target_labels: torch.Tensor, source_labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
    """Keys ``(B, K, H, W)`` (flat source indices) for target ``uc`` and source ``ux``
    ``(B, C, H, W)``; labels ``(B, H, W)`` int64."""
    with torch.no_grad():
        keys = [sampler.sample(uc[b].detach().float(), target_labels[b], ux[b].detach().float(),
                               source_labels[b].long(), generator).keys
                for b in range(uc.shape[0])]
    return torch.stack(keys)


def hrs_warp(sampler: KeyIndexSampler, config: WarpConfig, uc: torch.Tensor, ux: torch.Tensor,
             source: torch.Tensor, target_labels: torch.Tensor, source_labels: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
    """``r_{x→c}`` ``(B, 3, H, W)``: the source image warped into the target layout."""
    # Full precision under AMP: the sampler writes into float32 buffers, and γ·s with γ = 100
    # needs more mantissa than bfloat16 has to rank close keys.
    with torch.autocast(device_type=uc.device.type, enabled=False):
        keys = sample_keys(sampler, uc, ux, target_labels, source_labels, generator)
        out = sparse_attentive_warp(uc.float(), ux.float(), source.float(), keys,
                                    gamma=config.gamma, target_classes=target_labels,
                                    source_classes=source_labels.long(),
                                    class_penalty=config.sampler.class_penalty,
                                    chunk_size=config.sampler.chunk_size)
    return out.warped
