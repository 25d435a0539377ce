"""All sources of a warp laid out side by side in one padded *atlas*.

Keys must address ``(source, y, x)`` (paper 000 section 4.6: the photo plus reference photos).
Rather than carry a source index through every tensor of the sampler and the warp, the sources
are packed left to right into one canvas of height ``max(Hs)`` and width ``sum(Ws)``::

    +---------+-----------+------+
    | source0 | source1   | src2 |
    |         |           +------+  <- padding: invalid keys
    +---------+-----------+------+

A key is then one flat index ``y * Wa + x`` into the atlas; ``key_class`` holds each atlas pixel's
class id, or ``-1`` where the pixel is padding or excluded (reconstruction mode, paper 000 appendix
E), so one gather gives both the class penalty and validity. A window sample may cross from one
source into the next: that is just another candidate, and a sample in padding scores ``-inf``.
:meth:`SourceAtlas.source_coords` turns atlas keys back into ``(source, y, x)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.correspondence.base import Correspondence, WarpRequest, WarpSource
from inference.errors import BadInputError, ImageError, LabelMapError


def check_request(request: WarpRequest) -> None:
    """Validate shapes and dtypes at the backend boundary; raise a :class:`BadInputError`."""
    if not request.sources:
        raise BadInputError("warp request has no sources")
    tl = request.target_labels
    if tl.dim() != 2 or tl.shape[0] < 1 or tl.shape[1] < 1:
        raise LabelMapError(f"target labels must be (H, W), got shape {tuple(tl.shape)}")
    if tl.dtype.is_floating_point:
        raise LabelMapError(f"target labels must be an integer tensor, got {tl.dtype}")
    h, w = tl.shape
    for i, src in enumerate(request.sources):
        img, lab = src.image, src.labels
        if img.dim() != 3 or img.shape[0] != 3:
            raise ImageError(f"source {i}: image must be (3, Hs, Ws), got {tuple(img.shape)}")
        if lab.shape != img.shape[1:]:
            raise LabelMapError(
                f"source {i}: labels {tuple(lab.shape)} do not match image {tuple(img.shape[1:])}"
            )
        if src.exclude is not None and src.exclude.shape != lab.shape:
            raise BadInputError(
                f"source {i}: exclude mask {tuple(src.exclude.shape)} does not match labels "
                f"{tuple(lab.shape)}"
            )
    if request.target_image is not None and tuple(request.target_image.shape) != (3, h, w):
        raise ImageError(
            f"target image must be (3, {h}, {w}), got {tuple(request.target_image.shape)}"
        )
    if request.target_known is not None and tuple(request.target_known.shape) != (h, w):
        raise BadInputError(
            f"target_known must be ({h}, {w}), got {tuple(request.target_known.shape)}"
        )


@dataclass
class SourceAtlas:
    """Sources packed side by side; see the module docstring."""

    height: int                     # Ha
    width: int                      # Wa
    offsets: list[int]              # x offset of each source in the atlas
    sizes: list[tuple[int, int]]    # (Hs, Ws) of each source
    image: torch.Tensor             # (3, Ha, Wa) float, zero in padding
    key_class: torch.Tensor         # (Ha, Wa) int64 class id, -1 = not a valid key
    column_source: torch.Tensor     # (Wa,) int64 source index of each atlas column

    @classmethod
    def build(cls, sources: list[WarpSource], device: torch.device | str = "cpu") -> SourceAtlas:
        sizes = [(int(s.labels.shape[0]), int(s.labels.shape[1])) for s in sources]
        ha = max(h for h, _ in sizes)
        wa = sum(w for _, w in sizes)
        image = torch.zeros(3, ha, wa, device=device)
        key_class = torch.full((ha, wa), -1, dtype=torch.int64, device=device)
        column_source = torch.empty(wa, dtype=torch.int64, device=device)
        offsets, x0 = [], 0
        for i, (src, (h, w)) in enumerate(zip(sources, sizes)):
            offsets.append(x0)
            image[:, :h, x0:x0 + w] = src.image.to(device, torch.float32)
            lab = src.labels.to(device, torch.int64)
            if src.exclude is not None:
                lab = lab.masked_fill(src.exclude.to(device, torch.bool), -1)
            key_class[:h, x0:x0 + w] = lab
            column_source[x0:x0 + w] = i
            x0 += w
        return cls(ha, wa, offsets, sizes, image, key_class, column_source)

    @property
    def num_valid(self) -> int:
        return int((self.key_class >= 0).sum())

    def pack(self, maps: list[torch.Tensor]) -> torch.Tensor:
        """Lay per-source maps ``(C, Hs, Ws)`` out like the atlas: ``(C, Ha, Wa)``, zero padding
        (:meth:`pack_rows`, channels first)."""
        rows = self.pack_rows(maps)
        return rows.view(self.height, self.width, -1).permute(2, 0, 1).contiguous()

    def pack_rows(self, maps: list[torch.Tensor]) -> torch.Tensor:
        """:meth:`pack` laid out as rows, ``(Ha·Wa, C)`` (what gathers read), in one pass per
        source: no ``(C, Ha, Wa)`` canvas and no transposed copy of it. Its ``(C, Ha, Wa)`` view
        is ``rows.view(Ha, Wa, C).permute(2, 0, 1)``."""
        c = maps[0].shape[0]
        out = maps[0].new_empty(self.height, self.width, c)
        for m, x0, (h, w) in zip(maps, self.offsets, self.sizes):
            if tuple(m.shape[1:]) != (h, w):
                raise BadInputError(f"feature map {tuple(m.shape)} does not match source {(h, w)}")
            out[:h, x0:x0 + w] = m.permute(1, 2, 0)
            out[h:, x0:x0 + w] = 0.0
        return out.view(-1, c)

    def source_coords(self, flat: torch.Tensor) -> torch.Tensor:
        """Atlas flat indices ``(...)`` -> ``(..., 3)`` int64 ``(source, y, x)``."""
        y = torch.div(flat, self.width, rounding_mode="floor")
        x = flat - y * self.width
        s = self.column_source[x]
        offsets = torch.tensor(self.offsets, dtype=torch.int64, device=flat.device)
        return torch.stack([s, y, x - offsets[s]], dim=-1)

    def flat_from_source(self, s: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(source, y, x)`` (any equal shapes, int64) -> atlas flat indices."""
        offsets = torch.tensor(self.offsets, dtype=torch.int64, device=s.device)
        return y * self.width + x + offsets[s]

    def correspondence(self, keys: torch.Tensor, weights: torch.Tensor) -> Correspondence:
        """Build the :class:`Correspondence` from atlas keys ``(K, H, W)`` and weights.

        Written one key slice at a time into the ``(K, 3, H, W)`` output: at 1024² with 30 keys
        the output alone is 720 MB, and whole-tensor temporaries would triple that.
        """
        k, h, w = keys.shape
        coords = torch.empty(k, 3, h, w, dtype=torch.int64, device=keys.device)
        for i in range(k):
            coords[i] = self.source_coords(keys[i]).permute(2, 0, 1)
        best = weights.argmax(dim=0, keepdim=True)                             # (1, H, W)
        top = self.source_coords(keys.gather(0, best)[0]).permute(2, 0, 1)     # (3, H, W)
        return Correspondence(keys=coords, weights=weights, source_coords=top.float())


def downsample_source(src: WarpSource, size: tuple[int, int]) -> WarpSource:
    """A source at a coarser ``size``: image area-averaged, labels sampled at cell centres,
    exclusion max-pooled (a coarse key is invalid if any pixel under it is excluded)."""
    h, w = size
    img = F.adaptive_avg_pool2d(src.image[None].float(), (h, w))[0]
    lab = sample_labels(src.labels, (h, w))
    exc = None
    if src.exclude is not None:
        exc = F.adaptive_max_pool2d(src.exclude[None, None].float(), (h, w))[0, 0] > 0
    return WarpSource(image=img, labels=lab, exclude=exc)


def sample_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour resample of an ``(H, W)`` label map at cell centres."""
    hs, ws = labels.shape
    h, w = size
    ys = ((torch.arange(h, device=labels.device) + 0.5) * (hs / h)).long().clamp_(max=hs - 1)
    xs = ((torch.arange(w, device=labels.device) + 0.5) * (ws / w)).long().clamp_(max=ws - 1)
    return labels[ys[:, None], xs[None, :]]


def coarse_size(h: int, w: int, factor: int) -> tuple[int, int]:
    """Size of a map ``factor`` times coarser (at least 1×1; ceil so no pixel is dropped)."""
    return max(1, -(-h // factor)), max(1, -(-w // factor))
