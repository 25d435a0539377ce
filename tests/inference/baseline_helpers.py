"""Shared fixtures of the baseline-backend tests: textured images and a colour feature provider.

The colour provider describes a pixel by its 3×3 colour patch (plus a class code), on the target
side from ``request.target_image``; with the source itself as the target image, the correct warp
is the identity and the features make it unambiguous, so a backend that searches correctly must
recover it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inference.correspondence.base import FeatureMaps, WarpRequest, WarpSource


class PatchColourFeatures:
    name = "test-patch-colour"
    channels = 27 + 8

    def _describe(self, image: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h, w = labels.shape
        patch = F.unfold(image[None], 3, padding=1).view(27, h, w)
        code = F.one_hot(labels.long() % 8, 8).permute(2, 0, 1).float() * 0.5
        f = torch.cat([patch - patch.mean(0, keepdim=True), code])
        return f / f.norm(dim=0, keepdim=True).clamp_min(1e-6)

    def __call__(self, request: WarpRequest) -> FeatureMaps:
        tgt = request.target_image
        if tgt is None:
            tgt = torch.zeros(3, *request.target_labels.shape)
        return FeatureMaps(sources=[self._describe(s.image, s.labels) for s in request.sources],
                           target=self._describe(tgt, request.target_labels))


def texture(seed: int, h: int, w: int) -> torch.Tensor:
    """(3, H, W) in [0, 1]: smooth colour blobs plus fine noise, distinct everywhere."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=g),
                           size=(h, w), mode="bilinear", align_corners=False)[0]
    return (0.6 * coarse + 0.4 * torch.rand(3, h, w, generator=g)).clamp(0, 1)


def two_class_labels(h: int, w: int) -> torch.Tensor:
    labels = torch.full((h, w), 3, dtype=torch.long)     # sky above
    labels[h // 2:] = 10                                 # grass below
    return labels


def identity_request(h: int = 64, w: int = 64, seed: int = 0,
                     exclude: torch.Tensor | None = None) -> WarpRequest:
    img, lab = texture(seed, h, w), two_class_labels(h, w)
    return WarpRequest(sources=[WarpSource(img, lab, exclude)], target_labels=lab,
                       target_image=img, seed=seed)


def key_grid_exact(source_coords: torch.Tensor, source: int = 0) -> float:
    """Fraction of queries whose best key is the identity (source, y, x)."""
    _, h, w = source_coords.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ok = (source_coords[0] == source) & (source_coords[1] == ys) & (source_coords[2] == xs)
    return float(ok.float().mean())
