"""Turning a ``--parser`` value into a ready :class:`OnnxSceneParser`.

Accepted forms: a registry name (``segformer-b0-ade``), ``hf:ORG/REPO/FILE.onnx[@REVISION]``, or a
local ``PATH.onnx``. Registry entries bring their own preprocessing; the other two are treated
SegFormer-style (:class:`Preprocessing` defaults) unless ``preprocessing`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from inference.errors import BadInputError, ModelUnavailableError
from inference.parser.hub_files import HUB_PREFIX, HubFile, fetch_hub_file, parse_hub_spec
from inference.parser.onnx_parser import Device, OnnxSceneParser
from inference.parser.registry import DEFAULT_PARSER, PARSERS, REGIONS_PARSER, Preprocessing


def describe_forms() -> str:
    return (f"a registry name ({', '.join(PARSERS)}), hf:ORG/REPO/FILE.onnx[@REVISION], "
            f"a path to a .onnx file, or '{REGIONS_PARSER}'")


def regions_are_not_classes(where: str = "") -> str:
    """Why ``--parser regions`` cannot label a photo, and what to do instead."""
    return (f"'{REGIONS_PARSER}' finds automatic regions (region ids 1..N), not ADE20K classes, "
            f"so it cannot label a photo{where}; give the label map (made with an ADE20K parser, "
            f"e.g. `main.py parse --parser {DEFAULT_PARSER}`, or drawn in the editor, where "
            f"regions can be named), or choose an ADE20K parser: {', '.join(PARSERS)}, "
            f"hf:ORG/REPO/FILE.onnx or a .onnx file")


def resolve_parser(spec: str | None) -> tuple[Path, Preprocessing, str]:
    """Local ONNX path, its registry preprocessing (or the default) and a display name."""
    spec = (spec or DEFAULT_PARSER).strip()
    if spec == REGIONS_PARSER:
        raise BadInputError(regions_are_not_classes())
    if spec in PARSERS:
        entry = PARSERS[spec]
        path = fetch_hub_file(HubFile(entry.repo_id, entry.filename, entry.revision), label=spec)
        return path, entry.preprocessing, spec
    if spec.startswith(HUB_PREFIX):
        file = parse_hub_spec(spec)
        return fetch_hub_file(file), Preprocessing(), spec
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".onnx" or path.exists():
        if not path.exists():
            raise ModelUnavailableError(f"parser model file not found: {path}")
        return path, Preprocessing(), path.name
    raise BadInputError(f"unknown parser {spec!r}; use {describe_forms()}")


def load_parser(spec: str | None = None, preprocessing: Preprocessing | None = None,
                device: Device = "auto") -> OnnxSceneParser:
    """A ready parser for ``spec`` (default: the registry's default model).

    ``preprocessing`` replaces the registry's or the SegFormer default entirely; build it with
    ``dataclasses.replace(Preprocessing(), label_offset=0)`` to change one field.
    """
    path, default_pre, name = resolve_parser(spec)
    return OnnxSceneParser(path, preprocessing or default_pre, name=name, device=device)
