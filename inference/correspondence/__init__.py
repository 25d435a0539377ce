"""Warp (correspondence) backends behind one interface (:mod:`.base`), and their registry.

``create_backend(name, features=None, **config)`` builds a backend from its name and the fields
of its frozen config dataclass (``create_backend("hrs", iterations=5, device="cuda")``). A
backend is registered with one line in ``BACKENDS``: name -> (factory, config class).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from inference.correspondence.backends.bilevel import BilevelBackend, BilevelConfig
from inference.correspondence.backends.dense import DenseBackend, DenseConfig
from inference.correspondence.backends.hrs import HRSBackend, HRSConfig
from inference.correspondence.backends.hrs_ms import HRSMultiScaleBackend, HRSMultiScaleConfig
from inference.correspondence.backends.msca import MSCABackend, MSCABackendConfig
from inference.correspondence.backends.patchmatch_gru import (
    PatchMatchGRUBackend,
    PatchMatchGRUConfig,
)
from inference.correspondence.base import FeatureProvider, WarpBackend
from inference.errors import BadInputError

BackendFactory = Callable[..., WarpBackend]   # (config, features) -> backend

BACKENDS: dict[str, tuple[BackendFactory, type]] = {
    "hrs": (HRSBackend, HRSConfig),
    "hrs-ms": (HRSMultiScaleBackend, HRSMultiScaleConfig),
    "dense": (DenseBackend, DenseConfig),
    "patchmatch-gru": (PatchMatchGRUBackend, PatchMatchGRUConfig),
    "bilevel": (BilevelBackend, BilevelConfig),
    "msca": (MSCABackend, MSCABackendConfig),
}


def create_backend(name: str, features: FeatureProvider | None = None,
                   **config: Any) -> WarpBackend:
    """Build backend ``name`` with config fields ``config``; unknown names/fields are errors."""
    if name not in BACKENDS:
        raise BadInputError(f"unknown warp backend {name!r}; known: {', '.join(BACKENDS)}")
    factory, config_cls = BACKENDS[name]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise BadInputError(
            f"warp backend {name!r} has no setting {', '.join(unknown)}; "
            f"settings: {', '.join(sorted(known))}")
    return factory(config_cls(**config), features=features)


__all__ = ["BACKENDS", "create_backend"]
