"""Argument types with ranges, shared by ``main.py`` and ``python -m training``.

Every numeric flag gets its range here, at the boundary: argparse refuses a value outside it with
one line (``error: main.py edit: argument --seed: ...``) and exit status 2, before any work.
The ranges are the contract the README's "Limits" table lists.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

SEED_MAX = 2**31 - 1            # numpy and torch both take it; a 64-bit seed overflowed torch
WORKING_SIZE = (32, 4096)       # long side of the working resolution, px
ITERATIONS = (1, 50)            # key index sampling iterations N (paper: 15)
PARTICLES = (1, 8)              # particles M (paper: 2); keys per query = M·N
QUALITY = (1, 100)              # JPEG / WebP quality
PARSER_INPUT_SIZE = (32, 2048)  # short side the parser sees, px (SegFormer: 512)
REGIONS = (1, 150)
MEAN_RANGE = (0.0, 1.0)         # parser normalisation, on [0, 1] RGB
STD_RANGE = (1e-3, 10.0)        # 0 divides by zero: a one-class map with only a warning


def _shown(text: str) -> str:
    """``text`` for a message: a 5 000-digit number is not worth 5 000 characters."""
    return repr(text) if len(text) <= 40 else repr(text[:20] + "…" + text[-8:])


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type: an integer in ``lo..hi`` (both included)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:  # also the interpreter's cap on very long digit strings
            raise argparse.ArgumentTypeError(
                f"expected an integer in {lo}..{hi}, got {_shown(text)}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{_shown(text.strip())} is outside {lo}..{hi}")
        return value

    parse.__name__ = "integer"
    return parse


def _finite(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {_shown(text)}")
    return value


def _check_float(value: float, lo: float, hi: float, hi_open: bool, text: str) -> float:
    if value < lo or value > hi or (hi_open and value == hi):
        span = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise argparse.ArgumentTypeError(f"{_shown(text.strip())} is outside {span}")
    return value


def float_in(lo: float, hi: float, hi_open: bool = False) -> Callable[[str], float]:
    """argparse type: a finite number in ``[lo, hi]`` (``[lo, hi)`` with ``hi_open``)."""

    def parse(text: str) -> float:
        return _check_float(_finite(text), lo, hi, hi_open, text)

    parse.__name__ = "number"
    return parse


def triple_in(lo: float, hi: float) -> Callable[[str], tuple[float, float, float]]:
    """argparse type: three finite numbers ``R,G,B``, each in ``[lo, hi]``."""

    def parse(text: str) -> tuple[float, float, float]:
        parts = text.split(",")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(
                f"expected three numbers R,G,B, got {_shown(text)}")
        values = tuple(_check_float(_finite(p), lo, hi, False, p) for p in parts)
        return values  # type: ignore[return-value]

    parse.__name__ = "R,G,B"
    return parse


def int_list_in(lo: int, hi: int) -> Callable[[str], list[int]]:
    """argparse type: a comma-separated list of integers, each in ``lo..hi``, at least one."""
    one = int_in(lo, hi)

    def parse(text: str) -> list[int]:
        values = [one(p) for p in text.split(",") if p.strip()]
        if not values:
            raise argparse.ArgumentTypeError("lists nothing")
        return values

    parse.__name__ = "list"
    return parse
