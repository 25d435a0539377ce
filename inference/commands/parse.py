"""``python main.py parse``: a photo's ADE20K label map, or its automatic regions.

Kept light at import time (main.py imports every command to build its help): numpy, OpenCV and
onnxruntime are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import dataclasses

from inference.commands.validation import (
    MEAN_RANGE,
    PARSER_INPUT_SIZE,
    REGIONS,
    STD_RANGE,
    int_in,
    triple_in,
)
from inference.errors import BadInputError
from inference.parser.registry import DEFAULT_PARSER, PARSERS, REGIONS_PARSER

HELP = "parse a photo into an ADE20K label map (or into automatic regions)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, help="photo to parse")
    parser.add_argument("--out", required=True,
                        help="label map to write (PNG): 8-bit, 0 = other, 1..150 = ADE20K classes")
    parser.add_argument(
        "--parser", default=DEFAULT_PARSER, metavar="NAME|PATH.onnx|hf:ORG/REPO/FILE.onnx[@REV]|"
        + REGIONS_PARSER,
        help=f"scene parser: a registry name ({', '.join(PARSERS)}; default {DEFAULT_PARSER}), a "
        "local ONNX file (SegFormer-style: ImageNet mean/std, N×150×h×w logits, class i -> id "
        "i+1), or a Hub file, downloaded once into the Hugging Face cache (HF_HUB_OFFLINE=1 "
        f"uses the cache only). '{REGIONS_PARSER}' needs no model: it writes an automatic "
        "over-segmentation whose pixel values are REGION IDS 1..N (largest first), not ADE20K "
        "classes -- a starting point to name regions by hand")
    parser.add_argument("--color", action="store_true",
                        help="write the map in the ADE20K palette colours instead of indices")
    parser.add_argument("--no-refine", action="store_true",
                        help="skip the edge-aware refinement (plain bilinear upsampling)")
    parser.add_argument("--regions", type=int_in(*REGIONS), default=24, metavar="N",
                        help=f"number of regions for --parser {REGIONS_PARSER} (1..150, "
                        "default 24)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="ONNX Runtime device (auto: CUDA when it loads, else CPU)")
    group = parser.add_argument_group("overrides for local and hf: models")
    group.add_argument("--input-size", type=int_in(*PARSER_INPUT_SIZE), metavar="PX",
                       help="short side the photo is resized to for the model, {}..{} "
                       "(default 512)".format(*PARSER_INPUT_SIZE))
    group.add_argument("--label-offset", type=int_in(0, 1), metavar="K",
                       help="model class i becomes ADE20K id i+K: 1 for 150 class logits, 0 for "
                       "151 (default 1)")
    group.add_argument("--mean", type=triple_in(*MEAN_RANGE), metavar="R,G,B",
                       help="normalisation mean on [0,1] RGB, each in [{:g}, {:g}] (default "
                       "ImageNet)".format(*MEAN_RANGE))
    group.add_argument("--std", type=triple_in(*STD_RANGE), metavar="R,G,B",
                       help="normalisation std on [0,1] RGB, each in [{:g}, {:g}] (default "
                       "ImageNet)".format(*STD_RANGE))


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    fields = {"input_size": args.input_size, "label_offset": args.label_offset,
              "mean": args.mean, "std": args.std}
    return {k: v for k, v in fields.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    from inference.imageio import load_image, save_label_map
    from inference.paths import check_distinct, check_output_file

    # Checked before the slow part so a typo costs nothing, and never costs the photo.
    check_output_file(args.out, "--out", (".png",))
    model_file = args.parser if str(args.parser).lower().endswith(".onnx") else None
    check_distinct({"--image": args.image, "--parser": model_file}, {"--out": args.out})
    image = load_image(args.image)
    h, w = image.shape[:2]
    if args.parser == REGIONS_PARSER:
        from inference.parser.regions import RegionConfig, segment_regions

        labels = segment_regions(image, RegionConfig(regions=args.regions))
        save_label_map(args.out, labels, color=args.color)
        print(f"wrote {args.out}: {w}×{h}, {int(labels.max())} regions (region ids, not classes)")
        return 0

    from inference.parser.loader import load_parser, resolve_parser

    overrides = _overrides(args)
    preprocessing = None
    if overrides:
        _, base, _ = resolve_parser(args.parser)
        try:
            preprocessing = dataclasses.replace(base, **overrides)
        except (TypeError, ValueError) as exc:
            raise BadInputError(f"bad preprocessing override: {exc}") from None
    parser = load_parser(args.parser, preprocessing, device=args.device)
    result = parser.parse(image, refine=not args.no_refine)
    save_label_map(args.out, result.labels, color=args.color)
    import numpy as np

    classes = int((np.bincount(result.labels.ravel(), minlength=151) > 0).sum())
    print(f"wrote {args.out}: {w}×{h}, {classes} classes, parser {result.model} on "
          f"{result.provider}, "
          f"{result.windows} window(s) at {result.working_size[1]}×{result.working_size[0]}, "
          f"{'refined' if result.refined else 'not refined'}, {result.seconds:.2f} s",
          )
    return 0
