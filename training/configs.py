"""Frozen-dataclass configs settable from the command line, and the model-size presets.

``apply_overrides(config, ["data.size=64", "losses.perceptual=2"])`` returns a new config with
the named (possibly nested) fields replaced; values are parsed by the field's annotated type
(``int``, ``float``, ``bool``, ``str``, ``Literal``, tuples, ``X | None``). An unknown key or an
unparsable value is a :class:`BadInputError` naming it. ``config_dict`` turns a config into plain
JSON for the checkpoint metadata, ``config_from_dict`` rebuilds it on ``--resume``. A nested
``sampler``'s fields are named flat (``warp.iterations=10``), as the checkpoint metadata stores
them; ``warp.sampler.iterations`` works too.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar

from inference.correspondence.sampling import has_sampler, split_sampler_fields
from inference.errors import BadInputError
from inference.networks.correspondence_net import CorrespondenceNetConfig
from inference.networks.generator import GeneratorConfig

C = TypeVar("C")
ModelSize = Literal["tiny", "small", "paper"]
MODEL_SIZES: tuple[str, ...] = ("tiny", "small", "paper")


def correspondence_preset(size: str) -> CorrespondenceNetConfig:
    """``tiny`` for tests, ``small`` for CPU smoke runs and demos, ``paper`` the shipped scale."""
    if size == "tiny":
        return CorrespondenceNetConfig.tiny()
    if size == "small":
        return CorrespondenceNetConfig(label_channels=16, base=16, feature_channels=64,
                                       adaptor_blocks=1, shared_blocks=1, up_channels=(32, 32),
                                       out_channels=32, spade_hidden=32)
    if size == "paper":
        return CorrespondenceNetConfig()
    raise BadInputError(f"model size must be one of {', '.join(MODEL_SIZES)}, got {size!r}")


def generator_preset(size: str) -> GeneratorConfig:
    if size == "tiny":
        return GeneratorConfig.tiny()
    if size == "small":
        return GeneratorConfig(layout_channels=8, channels=16, dilations=(2, 4, 8),
                               semantic_channels=(16, 32, 32), refine_channels=32)
    if size == "paper":
        return GeneratorConfig()
    raise BadInputError(f"model size must be one of {', '.join(MODEL_SIZES)}, got {size!r}")


def apply_overrides(config: C, assignments: list[str] | None) -> C:
    """A copy of ``config`` with every ``key=value`` (dotted keys for nested configs) applied."""
    for item in assignments or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--set expects key=value, got {item!r}")
        config = _set(config, key.strip().split("."), value.strip(), key.strip())
    return config


def _set(config: Any, path: list[str], value: str, full: str) -> Any:
    if not dataclasses.is_dataclass(config):
        raise BadInputError(f"--set {full}: {'.'.join(path)} is not a config section")
    names = {f.name for f in dataclasses.fields(config)}
    name = path[0]
    if split_sampler_fields(type(config), {name: None})[1]:
        path, name = ["sampler", *path], "sampler"   # warp.iterations = warp.sampler.iterations
    if name not in names:
        raise BadInputError(f"--set {full}: unknown setting {name!r} in {type(config).__name__}; "
                            f"settings: {', '.join(sorted(names))}")
    current = getattr(config, name)
    if len(path) > 1:
        new = _set(current, path[1:], value, full)
    else:
        hint = typing.get_type_hints(type(config))[name]
        new = parse_value(hint, value, full)
    try:
        return dataclasses.replace(config, **{name: new})
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"--set {full}: {exc}") from None


def parse_value(hint: Any, text: str, what: str) -> Any:
    """``text`` parsed as type ``hint``; the error names ``what`` and the offending text."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(arg, text, what)
            except BadInputError:
                continue
        raise BadInputError(f"--set {what}: cannot read {text!r} as {hint}")
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise BadInputError(f"--set {what}: {text!r} is not one of {', '.join(map(str, args))}")
    if origin is tuple:
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse_value(args[0], p.strip(), what) for p in parts)
        if len(parts) != len(args):
            raise BadInputError(f"--set {what}: expected {len(args)} comma-separated values, "
                                f"got {text!r}")
        return tuple(parse_value(a, p.strip(), what) for a, p in zip(args, parts))
    if hint is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise BadInputError(f"--set {what}: {text!r} is not a boolean")
    if hint in (int, float, str):
        try:
            return hint(text)
        except ValueError:
            raise BadInputError(f"--set {what}: {text!r} is not a {hint.__name__}") from None
    raise BadInputError(f"--set {what}: a {hint} setting cannot be set from the command line")


def config_dict(config: Any) -> dict[str, Any]:
    """``config`` as plain JSON-able data; a nested ``sampler`` is written flat into its parent,
    the checkpoint schema from before it was nested (``"warp": {"iterations": 15, ...}``)."""
    return _flatten_sampler(config, dataclasses.asdict(config))


def _flatten_sampler(config: Any, data: dict[str, Any]) -> dict[str, Any]:
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not dataclasses.is_dataclass(value):
            continue
        if f.name == "sampler" and has_sampler(type(config)):
            data.update(data.pop("sampler"))
        else:
            _flatten_sampler(value, data[f.name])
    return data


def config_from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Rebuild a (nested) frozen config from :func:`config_dict` output (lists -> tuples)."""
    hints = typing.get_type_hints(cls)
    data, flat = split_sampler_fields(cls, data)
    if flat:   # the checkpoint schema stores the sampler's fields flat (see config_dict)
        data["sampler"] = {**flat, **data.get("sampler", {})}
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, hint = data[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = config_from_dict(hint, value)
        elif isinstance(value, list):
            value = _tuples(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
