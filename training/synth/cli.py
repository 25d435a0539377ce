"""``python -m training synth``: write procedural landscapes as an ADE20K-layout folder."""

from __future__ import annotations

import argparse
import sys

from inference.errors import BadInputError
from training.synth.scenes import MAX_SIDE, MIN_SIDE, write_dataset

HELP = ("Write procedural outdoor scenes with ADE20K labels in the official ADE20K folder layout "
        "(images/{training,validation}/*.jpg, annotations/{training,validation}/*.png).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--count", required=True, type=int, metavar="N",
                        help="number of scenes (>= 1)")
    parser.add_argument("--size", type=int, default=256, metavar="S",
                        help=f"side of the square scenes in pixels, {MIN_SIDE}..{MAX_SIDE} "
                             "(default 256)")
    parser.add_argument("--seed", type=int, default=0, metavar="K",
                        help="base seed; the same seed writes the same files (default 0)")
    parser.add_argument("--val-fraction", type=float, default=0.1, metavar="F",
                        help="share of scenes in the validation split, 0 <= F < 1 (default 0.1)")


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise BadInputError(f"--count must be at least 1, got {args.count}")
    if not MIN_SIDE <= args.size <= MAX_SIDE:
        raise BadInputError(f"--size must be in {MIN_SIDE}..{MAX_SIDE} pixels, got {args.size}")
    if args.seed < 0:
        raise BadInputError(f"--seed must be >= 0, got {args.seed}")
    if not 0.0 <= args.val_fraction < 1.0:
        raise BadInputError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")

    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive and (done == total or done % 25 == 0):
            print(f"\r{done}/{total} scenes", end="\n" if done == total else "",
                  file=sys.stderr, flush=True)

    summary = write_dataset(args.out, args.count, args.size, seed=args.seed,
                            val_fraction=args.val_fraction, progress=progress)
    print(f"wrote {summary.training} training + {summary.validation} validation scenes "
          f"({args.size}×{args.size}) to {summary.root} in {summary.seconds:.1f} s "
          f"({summary.scenes_per_minute:.0f} scenes/minute)")
    return 0
