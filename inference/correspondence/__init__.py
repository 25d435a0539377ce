"""Warp (correspondence) backends behind one interface (:mod:`.base`), and their registry.

``create_backend(name, features=None, **config)`` builds a backend from its name and the fields
of its frozen config dataclass (``create_backend("hrs", iterations=5, device="cuda")``). A
backend is registered with one line in ``BACKENDS``: name -> (factory, config class); its module
goes in :mod:`.backends`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
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
from inference.correspondence.sampling import (
    SAMPLER_FIELDS,
    has_sampler,
    split_sampler_fields,
)
from inference.defaults import WarpName
from inference.errors import BadInputError

BackendFactory = Callable[..., WarpBackend]   # (config, features) -> backend

# Keyed by the names in ``inference.defaults.WarpName``, which the command line reads without
# importing torch; tests/inference/test_hrs_backend.py checks that the two agree.
BACKENDS: dict[WarpName, tuple[BackendFactory, type]] = {
    "hrs": (HRSBackend, HRSConfig),
    "hrs-ms": (HRSMultiScaleBackend, HRSMultiScaleConfig),
    "dense": (DenseBackend, DenseConfig),
    "patchmatch-gru": (PatchMatchGRUBackend, PatchMatchGRUConfig),
    "bilevel": (BilevelBackend, BilevelConfig),
    "msca": (MSCABackend, MSCABackendConfig),
}


def takes_sampler(name: str) -> bool:
    """Whether backend ``name`` runs key index sampling (takes ``iterations``/``particles``)."""
    return name in BACKENDS and has_sampler(BACKENDS[name][1])


def sampler_backends() -> tuple[str, ...]:
    """The backends that take ``iterations``/``particles``, in registry order."""
    return tuple(name for name in BACKENDS if takes_sampler(name))


def create_backend(name: str, features: FeatureProvider | None = None,
                   **config: Any) -> WarpBackend:
    """Build backend ``name`` with config fields ``config``; unknown names/fields are errors.

    A backend with a nested ``sampler`` also takes the sampler's fields flat
    (``create_backend("hrs", iterations=5)``)."""
    if name not in BACKENDS:
        raise BadInputError(f"unknown warp backend {name!r}; known: {', '.join(BACKENDS)}")
    factory, config_cls = BACKENDS[name]
    own, flat = split_sampler_fields(config_cls, config)
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(own) - known)
    if unknown:
        settable = known | (SAMPLER_FIELDS if has_sampler(config_cls) else set())
        raise BadInputError(
            f"warp backend {name!r} has no setting {', '.join(unknown)}; "
            f"settings: {', '.join(sorted(settable))}")
    built = config_cls(**own)
    if flat:
        built = replace(built, sampler=replace(built.sampler, **flat))
    return factory(built, features=features)


__all__ = ["BACKENDS", "create_backend", "sampler_backends", "takes_sampler"]
