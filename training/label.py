"""``python -m training label``: a folder of plain photos -> an ADE20K-layout training folder.

Every photo under ``--images`` (recursively) is parsed with the semantic parser (a registry
name, a local ``.onnx`` file or ``hf:ORG/REPO/FILE.onnx``) and written as
``OUT/images/<split>/<stem>.jpg`` + ``OUT/annotations/<split>/<stem>.png``, which the training
commands read like ADE20K itself (paper 000 trains its generator on Places365 labelled this way).
The last ``--val-fraction`` of the photos form the validation split. Photos already labelled in
``OUT`` are skipped, so an interrupted run continues. Offline, a parser that is not cached fails
with one clear message (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
import time

from inference.commands.validation import float_in, int_in

HELP = "label a folder of photos with the semantic parser, writing an ADE20K-layout folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", required=True, metavar="DIR", help="folder of photos")
    p.add_argument("--out", required=True, metavar="DIR", help="ADE20K-layout output folder")
    p.add_argument("--parser", default=None,
                   help="registry name, PATH.onnx or hf:ORG/REPO/FILE.onnx (default: the "
                        "registry's default parser)")
    p.add_argument("--val-fraction", type=float_in(0.0, 1.0, hi_open=True), default=0.0,
                   metavar="F",
                   help="share of photos for the validation split, 0 <= F < 1 (default 0)")
    p.add_argument("--max-side", type=int_in(32, 16384), default=1024, metavar="PX",
                   help="photos are downscaled so their long side is at most PX, 32..16384 "
                        "(default 1024)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--no-refine", action="store_true",
                   help="skip the guided-filter refinement of label boundaries")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import cv2

    from inference.errors import BadInputError
    from inference.imageio import load_image, save_image, save_label_map
    from inference.parser.loader import load_parser, regions_are_not_classes
    from inference.parser.registry import REGIONS_PARSER
    from inference.paths import check_output_folder
    from training.data.datasets import photo_files

    check_output_folder(args.out, "--out")
    if args.parser == REGIONS_PARSER:  # a flag error: before scanning the photos
        raise BadInputError(regions_are_not_classes(" for a training folder"))
    files = photo_files(args.images)
    parser = load_parser(args.parser, device=args.device)
    out = Path(args.out)
    n_val = round(len(files) * args.val_fraction)
    root = Path(args.images)
    t0, done, skipped = time.perf_counter(), 0, 0
    for i, path in enumerate(files):
        split = "validation" if i >= len(files) - n_val else "training"
        # Stems must be unique across sub-folders: join the relative path.
        stem = "_".join(path.relative_to(root).with_suffix("").parts)
        image_out = out / "images" / split / f"{stem}.jpg"
        label_out = out / "annotations" / split / f"{stem}.png"
        if image_out.is_file() and label_out.is_file():
            skipped += 1
            continue
        rgb = load_image(path)
        h, w = rgb.shape[:2]
        if max(h, w) > args.max_side:
            s = args.max_side / max(h, w)
            rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                             interpolation=cv2.INTER_AREA)
        labels = parser.parse(rgb, refine=not args.no_refine).labels
        save_label_map(label_out, labels)     # the label first: a photo alone is incomplete
        save_image(image_out, rgb)
        done += 1
        if sys.stderr.isatty():
            print(f"\r{i + 1}/{len(files)} photos", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"labelled {done} photos ({skipped} already done) into {out} with {parser.name} in "
          f"{time.perf_counter() - t0:.1f} s ({len(files) - n_val} training, {n_val} validation)")
    return 0
