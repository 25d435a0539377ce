"""What a checkpoint's ``config.json`` may say, checked field by field before anything is built.

A network config is a frozen dataclass; ``config.json`` holds its fields as JSON. Every field is
checked against the dataclass's type hint (and, for integers, a range) so a hostile or corrupt
file is refused with :class:`CheckpointError` naming the network, the field and the value --
never a ``TypeError`` deep in a constructor, nor a 72 TB allocation. The network is then built
on PyTorch's ``meta`` device (no memory) to count its parameters against ``MAX_PARAMETERS``.

``KNOWN_NETWORKS`` is the explicit registry of what the engine can load from a checkpoint; a
consumer refuses a checkpoint with none of its networks (:func:`require_any`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

import torch

from inference.errors import CheckpointError
from inference.labels import NUM_CLASSES

MAX_CONFIG_BYTES = 1 << 20      # config.json: ours are ~2 KB
MAX_INT_FIELD = 1 << 16         # any width, count or rate in a network config
MAX_PARAMETERS = 500_000_000    # 2 GB of float32 weights; the shipped networks have ~17 M
MAX_STR_FIELD = 200
LABEL_COUNT_FIELDS = ("num_labels", "num_classes")  # must cover ids 0..150 exactly

# Network name in a checkpoint -> what uses it. Other names (a discriminator in a training
# state) may sit beside these.
KNOWN_NETWORKS: dict[str, str] = {
    "generator": "the editor's generator",
    "correspondence": "the editor's learned warp features",
    "msca": "warp backend msca",
    "patchmatch_gru": "warp backend patchmatch-gru",
}
EDITOR_NETWORKS = ("generator", "correspondence")


def network_class(config_cls: type) -> type[torch.nn.Module] | None:
    """The module a known config class builds (imported here, on demand), else ``None``."""
    from inference.correspondence.backends.msca import MSCAConfig, MSCANetwork
    from inference.networks.convgru import ConvGRURefiner, ConvGRURefinerConfig
    from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
    from inference.networks.generator import GeneratorConfig, ManipulationGenerator

    return {GeneratorConfig: ManipulationGenerator, CorrespondenceNetConfig: CorrespondenceNet,
            MSCAConfig: MSCANetwork, ConvGRURefinerConfig: ConvGRURefiner}.get(config_cls)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + "…" + text[-10:]


def _check(value: Any, hint: Any, name: str) -> Any:
    """``value`` converted to the type ``hint`` (JSON lists -> tuples), else ``ValueError``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer")
        if name in LABEL_COUNT_FIELDS:
            if value != NUM_CLASSES + 1:
                raise ValueError(f"must be {NUM_CLASSES + 1} (label ids 0..{NUM_CLASSES})")
        elif not 1 <= value <= MAX_INT_FIELD:
            raise ValueError(f"must be in 1..{MAX_INT_FIELD}")
        return value
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) \
                or not math.isfinite(value):
            raise ValueError("must be a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str) or len(value) > MAX_STR_FIELD:
            raise ValueError(f"must be a string of at most {MAX_STR_FIELD} characters")
        return value
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != isinstance(args[0], bool):
            raise ValueError(f"must be one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError("must be a list")
        if len(args) == 2 and args[1] is Ellipsis:
            if not 1 <= len(value) <= 64:
                raise ValueError("must list 1..64 items")
            return tuple(_check(v, args[0], name) for v in value)
        if len(value) != len(args):
            raise ValueError(f"must list exactly {len(args)} items")
        return tuple(_check(v, a, name) for v, a in zip(value, args))
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _check(value, option, name)
            except ValueError:
                continue
        raise ValueError(f"must be {hint}")
    raise ValueError(f"has a type ({hint}) a checkpoint cannot set")


def validate_config(config_cls: type, values: Any, where: str) -> dict[str, Any]:
    """Keyword arguments for ``config_cls`` from ``config.json``'s ``values``, all checked."""
    if not isinstance(values, dict):
        raise CheckpointError(f"{where}: config must be a JSON object, got {_shown(values)}")
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise CheckpointError(f"{where}: config has unknown fields {_shown(unknown)}")
    checked = {}
    for key, value in values.items():
        try:
            checked[key] = _check(value, hints[key], key)
        except ValueError as exc:
            raise CheckpointError(f"{where}: field {key!r} {exc}, got {_shown(value)}") from None
    return checked


def count_parameters(module_cls: type, config: Any, where: str) -> int:
    """Parameters of ``module_cls(config)``, counted on the meta device (nothing allocated)."""
    try:
        with torch.device("meta"):
            module = module_cls(config)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as exc:
        raise CheckpointError(f"{where}: the network cannot be built from its config: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else exc!r}") from None
    return sum(p.numel() for p in module.parameters())


def check_size(config_cls: type, config: Any, where: str) -> None:
    """Refuse a config whose network would exceed ``MAX_PARAMETERS``, before allocating it."""
    module_cls = network_class(config_cls)
    if module_cls is None:
        return
    n = count_parameters(module_cls, config, where)
    if n > MAX_PARAMETERS:
        raise CheckpointError(f"{where}: config describes a network of {n:,} parameters; the "
                              f"limit is {MAX_PARAMETERS:,}")


def check_networks(networks: Any, where: str) -> None:
    """The ``networks`` object of ``config.json``: every entry well formed."""
    if not isinstance(networks, dict) or not networks:
        raise CheckpointError(f"{where} lists no networks")
    for name, entry in networks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) \
                or not isinstance(entry.get("config"), dict):
            raise CheckpointError(
                f"{where}: network {name!r} entry must be an object with a \"class\" string and "
                f"a \"config\" object, got {_shown(entry)}")


def require_any(networks: dict[str, Any], wanted: tuple[str, ...], where: str,
                user: str) -> None:
    """Refuse a checkpoint holding none of ``wanted`` (what ``user`` loads) -- rather than
    running quietly without it."""
    if set(networks) & set(wanted):
        return
    known = [f"{k} ({KNOWN_NETWORKS[k]})" for k in sorted(networks) if k in KNOWN_NETWORKS]
    raise CheckpointError(
        f"{where} has no network {user} uses: it has {_shown(sorted(networks))}"
        f"{' -- ' + ', '.join(known) if known else ''}; {user} loads "
        f"{' or '.join(wanted)}")
