"""``LearnedFeatures``: the trained correspondence networks as a :class:`FeatureProvider`.

Checkpoint discovery and loading (``config.json`` + safetensors) is issue 4's; this wrapper only
needs a config and a state dict, so ``LearnedFeatures.from_state_dict(config, weights)`` is all the
loader has to call. Wrong shapes raise :class:`CheckpointError` naming the first bad tensor.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from inference.checkpoint import check_state_dict
from inference.correspondence.base import FeatureMaps, WarpRequest
from inference.errors import LabelMapError
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig


class LearnedFeatures:
    """Computes ``ux`` for every source and ``uc`` for the target with a ``CorrespondenceNet``."""

    name = "learned"

    def __init__(self, net: CorrespondenceNet, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()

    @classmethod
    def from_state_dict(cls, config: CorrespondenceNetConfig,
                        state_dict: Mapping[str, torch.Tensor],
                        device: torch.device | str = "cpu") -> LearnedFeatures:
        net = CorrespondenceNet(config)
        check_state_dict(net, dict(state_dict), "correspondence")
        net.load_state_dict(dict(state_dict))
        return cls(net, device)

    @torch.no_grad()
    def __call__(self, request: WarpRequest) -> FeatureMaps:
        dev, n = self.device, self.net.config.num_labels
        sources = []
        for i, src in enumerate(request.sources):
            _check_labels(src.labels, n, f"source {i}")
            _, ux = self.net.source_features(src.image[None].to(dev).float(),
                                             src.labels[None].to(dev))
            sources.append(ux[0])
        _check_labels(request.target_labels, n, "target")
        img = None if request.target_image is None else request.target_image[None].to(dev).float()
        known = None if request.target_known is None else request.target_known[None].to(dev)
        _, uc = self.net.target_features(request.target_labels[None].to(dev), img, known)
        return FeatureMaps(sources=sources, target=uc[0])


def _check_labels(labels: torch.Tensor, n: int, what: str) -> None:
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= n:
        raise LabelMapError(f"{what} labels hold values {lo}..{hi}; the network knows 0..{n - 1}")
