"""Semantic parsing of photos into ADE20K label maps, and automatic regions when no parser exists.

* :mod:`~inference.parser.registry` -- known ONNX scene parsers on the Hugging Face Hub.
* :mod:`~inference.parser.hub_files` -- ``hf:ORG/REPO/FILE.onnx[@REV]`` files via the Hub cache.
* :mod:`~inference.parser.onnx_parser` -- ONNX Runtime inference with resizing / sliding windows.
* :mod:`~inference.parser.refine` -- edge-aware (guided filter) upsampling of class probabilities.
* :mod:`~inference.parser.regions` -- superpixels merged to tens of regions, for naming by hand.

Only the registry is imported eagerly (it is plain data); the rest load on first use, so that
``main.py --help`` does not pay for numpy, OpenCV or onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

from inference.parser.registry import (
    DEFAULT_PARSER,
    PARSERS,
    REGIONS_PARSER,
    ParserModel,
    Preprocessing,
)

_LAZY: dict[str, str] = {
    "load_parser": "inference.parser.loader",
    "resolve_parser": "inference.parser.loader",
    "OnnxSceneParser": "inference.parser.onnx_parser",
    "ParseResult": "inference.parser.onnx_parser",
    "RefineConfig": "inference.parser.refine",
    "RegionConfig": "inference.parser.regions",
    "segment_regions": "inference.parser.regions",
}

__all__ = ["DEFAULT_PARSER", "PARSERS", "REGIONS_PARSER", "ParserModel", "Preprocessing",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'inference.parser' has no attribute {name!r}")
