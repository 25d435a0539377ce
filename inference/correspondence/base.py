"""The one interface every warp (correspondence) backend implements.

A backend warps one or more *sources* (the photo, plus reference photos) into a *target* layout
(the edited label map). Keys address ``(source, y, x)``: multiple sources are first-class.

Shapes (single sample; backends batch internally where they can):

* source image      ``(3, Hs, Ws)`` float in [0, 1]
* source labels     ``(Hs, Ws)`` int64, ADE20K ids 0..150
* target labels     ``(H, W)`` int64
* features          ``(C, H, W)`` float, channel-normalised (zero mean, unit L2 norm per pixel)
* exclude mask      ``(Hs, Ws)`` bool, True = never use this pixel as a key (reconstruction mode,
  paper 000 appendix E)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch

from inference.errors import BadInputError
from inference.progress import CancelToken, ProgressFn


@dataclass(frozen=True)
class FeatureFrame:
    """Where a map lies on a canvas that several maps share, in the map's own pixels.

    The editor warps from the crop *and* the whole photo into the crop: position-dependent
    features (distances as fractions of the long side, neighbourhood radii, position in the
    frame) agree between them only when measured on one canvas -- the whole photo at the map's
    scale. ``None`` (the default everywhere) means the map is its own canvas.
    """

    origin_y: float      # the map's pixel (0, 0) on the canvas
    origin_x: float
    height: float        # the canvas size
    width: float
    # the length distances and radii are fractions of; default the canvas' long side. A
    # reference photo is its own canvas but measures lengths as the photo it is copied into.
    unit: float | None = None

    @property
    def length_unit(self) -> float:
        return self.unit if self.unit is not None else max(self.height, self.width)


@dataclass
class WarpSource:
    """One source the warp may copy pixels from."""

    image: torch.Tensor                     # (3, Hs, Ws) float [0, 1]
    labels: torch.Tensor                    # (Hs, Ws) int64
    exclude: torch.Tensor | None = None     # (Hs, Ws) bool, True = not a valid key
    frame: FeatureFrame | None = None


@dataclass
class WarpRequest:
    """Everything a backend needs: sources, the target layout, and (optionally) the target photo.

    ``target_image`` is the photo in the target frame where it is known (outside the edit mask);
    feature extractors may use it, backends never copy from it directly.
    """

    sources: list[WarpSource]
    target_labels: torch.Tensor                     # (H, W) int64
    target_image: torch.Tensor | None = None        # (3, H, W) float [0, 1]
    target_known: torch.Tensor | None = None        # (H, W) bool, where target_image is valid
    seed: int = 0
    target_frame: FeatureFrame | None = None


@dataclass
class Correspondence:
    """Where each output pixel came from, at the output resolution ``(H, W)``.

    ``keys[k, :, y, x]`` is the k-th key of query ``(y, x)`` as ``(source, ky, kx)`` and
    ``weights[k, y, x]`` its attention weight (weights sum to 1 over k). Dense backends store their
    top-K keys here, so every backend can be visualised the same way (paper 000 Fig. 6).
    ``source_coords`` is the whole warp as one map: ``(3, H, W)`` float ``(source, y, x)`` of the
    highest-weight key.
    """

    keys: torch.Tensor              # (K, 3, H, W) int64: source, y, x
    weights: torch.Tensor           # (K, H, W) float
    source_coords: torch.Tensor     # (3, H, W) float

    def keys_at(self, y: int, x: int) -> list[tuple[int, int, int, float]]:
        """Keys of one query pixel as ``(source, y, x, weight)``, highest weight first."""
        k = self.keys[:, :, y, x].tolist()
        w = self.weights[:, y, x].tolist()
        rows = [(int(s), int(ky), int(kx), float(wt)) for (s, ky, kx), wt in zip(k, w)]
        return sorted(rows, key=lambda r: -r[3])


@dataclass
class WarpResult:
    """The warped image at the output resolution and the correspondence behind it."""

    warped: torch.Tensor                    # (3, H, W) float [0, 1]
    correspondence: Correspondence
    backend: str
    corr_resolution: tuple[int, int]        # (h, w) at which the correspondence was computed
    timings: dict[str, float] = field(default_factory=dict)   # stage -> seconds


class WarpBackend(Protocol):
    """A correspondence method. Implementations are registered in ``BACKENDS``."""

    name: str

    def warp(
        self,
        request: WarpRequest,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> WarpResult: ...


@dataclass
class FeatureMaps:
    """Per-pixel features of every source and of the target, channel-normalised.

    ``sources[i]`` is ``(C, Hs_i, Ws_i)`` and ``target`` is ``(C, H, W)``, at the resolution of the
    images/labels they describe; backends that work coarser pool them and re-normalise.
    """

    sources: list[torch.Tensor]
    target: torch.Tensor


class FeatureProvider(Protocol):
    """Computes :class:`FeatureMaps` for a request: hand-made features, or learned networks."""

    name: str

    def __call__(self, request: WarpRequest) -> FeatureMaps: ...


# --- helpers shared by backends (added with the hrs / hrs-ms / dense backends) ------------------


class MemoryBudgetError(BadInputError):
    """A backend refused a request whose estimated memory exceeds its budget.

    Raised *before* allocating, so nothing is lost; ``estimate_bytes`` and ``budget_bytes`` let a
    caller (the benchmark, the GUI) report the case as ``out-of-memory`` / ``skipped`` and suggest
    another backend. It is the user's to fix (choose another backend or a smaller working size),
    hence a :class:`BadInputError`.
    """

    def __init__(self, backend: str, what: str, estimate_bytes: int, budget_bytes: int) -> None:
        self.backend = backend
        self.estimate_bytes = int(estimate_bytes)
        self.budget_bytes = int(budget_bytes)
        super().__init__(
            f"{backend}: {what} needs about {estimate_bytes / 2**20:.0f} MiB, over the "
            f"{budget_bytes / 2**20:.0f} MiB memory budget; use a sparse backend (hrs, hrs-ms) "
            f"or a smaller working resolution"
        )
