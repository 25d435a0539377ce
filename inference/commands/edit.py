"""``python main.py edit``: re-synthesise a photo so that it follows an edited label map."""

from __future__ import annotations

import argparse
import sys

from inference.commands.validation import (
    ITERATIONS,
    PARTICLES,
    QUALITY,
    SEED_MAX,
    WORKING_SIZE,
    int_in,
)
from inference.defaults import DEFAULT_REFINE, DEFAULT_WARP, REFINEMENTS, WARP_NAMES

HELP = "edit a photo by its edited label map and write the result"
# The backends that run key index sampling (``inference.correspondence.sampler_backends()``,
# which needs torch; tests/test_warp_default.py checks that this line agrees with it).
SAMPLER_HELP = "hrs, hrs-ms"


class _ReferenceLabels(argparse.Action):
    """``--reference-labels`` belongs to the ``--reference`` right before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        refs = getattr(namespace, "reference", None) or []
        labels = list(getattr(namespace, "reference_labels", None) or [])
        if len(labels) >= len(refs):
            parser.error("--reference-labels must follow the --reference it belongs to")
        labels += [None] * (len(refs) - 1 - len(labels))
        labels.append(values)
        namespace.reference_labels = labels


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", required=True, help="the photo to edit")
    p.add_argument("--edited-labels", required=True, help="the edited label map (PNG)")
    p.add_argument("--labels", help="the photo's label map (PNG); parsed when left out")
    p.add_argument("--mask", help="extra region to re-synthesise (PNG, non-zero = edit)")
    p.add_argument("--reference", action="append", default=[],
                   help="a reference photo whose pixels may be used (repeatable)")
    p.add_argument("--reference-labels", action=_ReferenceLabels, default=[],
                   help="label map of the --reference given just before (else it is parsed)")
    p.add_argument("--out", required=True, help="output image (PNG, JPEG, WebP, TIFF, BMP)")
    p.add_argument("--warp", choices=WARP_NAMES, default=DEFAULT_WARP,
                   help=f"warp backend (default {DEFAULT_WARP})")
    p.add_argument("--checkpoint", help="checkpoint folder or hf:ORG/REPO[@REV]")
    p.add_argument("--parser", help="parser for photos without --labels (see `main.py parse`)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--runtime", choices=("torch", "onnx"), default="torch",
                   help="run the networks with PyTorch or ONNX Runtime")
    p.add_argument("--seed", type=int_in(0, SEED_MAX), default=0,
                   help=f"random seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--working-size", type=int_in(*WORKING_SIZE), default=512,
                   help="long side of the working resolution, {}..{} (default 512)".format(
                       *WORKING_SIZE))
    p.add_argument("--iterations", type=int_in(*ITERATIONS),
                   help="key index sampling iterations N, {}..{} ({})".format(
                       *ITERATIONS, SAMPLER_HELP))
    p.add_argument("--particles", type=int_in(*PARTICLES),
                   help="particles M, {}..{} ({})".format(*PARTICLES, SAMPLER_HELP))
    p.add_argument("--reconstruction", action="store_true",
                   help="never copy pixels from inside the mask (appendix E)")
    p.add_argument("--refine", choices=REFINEMENTS, default=DEFAULT_REFINE,
                   help="without a checkpoint: label-guided patch synthesis (default) or the "
                        "earlier per-class colour correction of the warp")
    p.add_argument("--object-transform", action="append", default=[], type=_object_move,
                   metavar="X,Y:DX,DY[,SCALE[,ANGLE[,flip]]]",
                   help="the object at pixel X,Y of the original layout was moved by DX,DY px, "
                        "scaled by SCALE and turned by ANGLE degrees (counter-clockwise) about "
                        "its box centre, mirrored first with 'flip': its pixels are resampled "
                        "exactly (repeatable; --edited-labels must show it moved)")
    p.add_argument("--save-warped", metavar="W.png", help="also save the warped image (Eq. 7)")
    p.add_argument("--quality", type=int_in(*QUALITY), default=95,
                   help="JPEG/WebP quality, 1..100 (default 95); WebP at 100 is lossless")


def _object_move(text: str):
    from inference.errors import BadInputError
    from inference.pipeline.objects import parse_object_move

    try:
        return parse_object_move(text)
    except BadInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_before_work(args: argparse.Namespace) -> None:
    """Every check that needs no decoding, before the first byte is read or written."""
    from inference.errors import BadInputError
    from inference.imageio import SAVE_SUFFIXES
    from inference.parser.registry import REGIONS_PARSER
    from inference.paths import check_distinct, check_output_file

    check_output_file(args.out, "--out", SAVE_SUFFIXES)
    if args.save_warped:
        check_output_file(args.save_warped, "--save-warped", SAVE_SUFFIXES)
    check_distinct(
        {"--image": args.image, "--edited-labels": args.edited_labels, "--labels": args.labels,
         "--mask": args.mask, "--reference": args.reference,
         "--reference-labels": [p for p in args.reference_labels or [] if p],
         "--parser": args.parser if args.parser and args.parser.endswith(".onnx") else None},
        {"--out": args.out, "--save-warped": args.save_warped})
    unlabelled = not args.labels or len([p for p in args.reference_labels or [] if p]) < len(
        args.reference or [])
    if args.parser == REGIONS_PARSER and unlabelled:
        from inference.parser.loader import regions_are_not_classes

        raise BadInputError(regions_are_not_classes(" for an edit (--labels, --reference-labels)"))


def run(args: argparse.Namespace) -> int:
    check_before_work(args)
    from inference.commands.common import build_models, load_inputs
    from inference.imageio import lossy_format_note, save_image
    from inference.pipeline.editor import EditSettings, LayoutEditor

    settings = EditSettings(
        warp=args.warp, working_size=args.working_size, device=args.device,
        runtime=args.runtime, seed=args.seed, reconstruction=args.reconstruction,
        iterations=args.iterations, particles=args.particles, refine=args.refine,
    )
    inputs = load_inputs(args)
    models = build_models(args.checkpoint, args.parser, settings.resolved_device())
    editor = LayoutEditor(settings, models)
    labels = inputs.labels
    if args.object_transform and labels is None:
        labels = models.parse(inputs.image, "photo")
    objects = [m.resolve(labels) for m in args.object_transform]
    result = editor.edit(inputs.image, inputs.edited_labels, labels, inputs.mask,
                         inputs.references, objects=objects)
    save_image(args.out, result.image, quality=args.quality)
    if args.save_warped:
        save_image(args.save_warped, result.warped, quality=args.quality)
    for path in (args.out, args.save_warped):
        note = lossy_format_note(path, args.quality) if path else None
        if note:
            print(f"note: {note}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}")
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    print(f"wrote {args.out} ({result.route} route, warp {result.warp_backend}"
          f"{', ' + timing if timing else ''})")
    return 0
