"""``python -m training synth``: write procedural landscapes as an ADE20K-layout folder."""

from __future__ import annotations

import argparse
import sys

from inference.commands.validation import SEED_MAX, float_in, int_in
from training.synth.scenes import MAX_SIDE, MIN_SIDE, write_dataset

MAX_COUNT = 1_000_000

HELP = ("Write procedural outdoor scenes with ADE20K labels in the official ADE20K folder layout "
        "(images/{training,validation}/*.jpg, annotations/{training,validation}/*.png).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--count", required=True, type=int_in(1, MAX_COUNT), metavar="N",
                        help=f"number of scenes, 1..{MAX_COUNT}")
    parser.add_argument("--size", type=int_in(MIN_SIDE, MAX_SIDE), default=256, metavar="S",
                        help=f"side of the square scenes in pixels, {MIN_SIDE}..{MAX_SIDE} "
                             "(default 256)")
    parser.add_argument("--seed", type=int_in(0, SEED_MAX), default=0, metavar="K",
                        help=f"base seed, 0..{SEED_MAX}; the same seed writes the same files "
                             "(default 0)")
    parser.add_argument("--val-fraction", type=float_in(0.0, 1.0, hi_open=True), default=0.1,
                        metavar="F",
                        help="share of scenes in the validation split, 0 <= F < 1 (default 0.1)")


def run(args: argparse.Namespace) -> int:
    from inference.paths import check_output_folder

    check_output_folder(args.out, "--out")  # before the first scene, not after it

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
