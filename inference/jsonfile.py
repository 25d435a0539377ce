"""Reading JSON that came from outside (checkpoint ``config.json``, ``project.json``) safely.

``json.loads`` lets several things through that are not ``JSONDecodeError``: ``RecursionError``
on deeply nested arrays, ``ValueError`` on integers longer than the interpreter's digit limit,
and the non-standard ``NaN`` / ``Infinity``, which parse fine and then make every later save
fail. :func:`parse_json` turns all of them into the caller's own error, naming the document.
"""

from __future__ import annotations

import json
from typing import Any

from inference.errors import RelayoutError

MAX_DEPTH = 64  # deepest nesting a document of ours has is 4; 64 is generous


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf (1e999 overflows to it); NaN cannot be written as a number
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed document, without recursion (stops counting at ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return deepest


def parse_json(data: bytes, what: str, error: type[RelayoutError], max_bytes: int) -> Any:
    """The document in ``data``, or ``error`` naming ``what`` and the problem."""
    if len(data) > max_bytes:
        raise error(f"{what} is {len(data)} bytes; the limit is {max_bytes}")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                           parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to read (limit {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # over-long integers, NaN / Infinity
        raise error(f"{what} is not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise error(f"{what} is nested too deeply to read (limit {MAX_DEPTH} levels)")
    return value
