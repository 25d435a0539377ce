"""``python -m training evaluate``: appendix D manipulation and appendix E reconstruction."""

from __future__ import annotations

import argparse

from inference.commands.validation import SEED_MAX, WORKING_SIZE, int_in

HELP = "evaluate the editor on the manipulation and reconstruction tasks of paper 000"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="labelled folder in the ADE20K layout")
    p.add_argument("--split", default="validation", choices=("training", "validation"))
    p.add_argument("--checkpoint", help="checkpoint folder or hf:...; else the no-checkpoint path")
    p.add_argument("--out", required=True, help="folder for report.md and report.json")
    p.add_argument("--task", default="both", choices=("manipulation", "reconstruction", "both"))
    p.add_argument("--count", type=int_in(1, 100_000), default=50,
                   help="cases per task, 1..100000 (default 50)")
    p.add_argument("--size", type=int_in(32, 4096), default=256,
                   help="long side images are scaled to, 32..4096 (default 256)")
    p.add_argument("--backends", default="hrs,hrs-ms",
                   help="comma-separated warp backends to evaluate with the editor")
    p.add_argument("--baselines", default="unchanged,telea",
                   help="comma-separated baselines among unchanged, telea ('' for none)")
    p.add_argument("--working-size", type=int_in(*WORKING_SIZE), default=512,
                   help="the editor's working resolution, {}..{} (default 512)".format(
                       *WORKING_SIZE))
    p.add_argument("--refine", default="synthesis",
                   help="comma-separated no-checkpoint refinements to compare: synthesis "
                        "(the default), harmonize (the earlier colour correction)")
    p.add_argument("--sheet", action="store_true",
                   help="also write a contact sheet per task (sheet-TASK.png): input, edited "
                        "layout, truth and every method, cut to the edit and outlined")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int_in(0, SEED_MAX), default=0, help=f"0..{SEED_MAX}")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from inference.correspondence import BACKENDS
    from inference.errors import BadInputError
    from inference.imageio import atomic_write_bytes, save_image
    from inference.paths import check_output_folder
    from inference.pipeline.editor import EditSettings
    from inference.pipeline.models import EngineModels
    from training.data.ade20k import ADE20KFolder
    from training.evaluation.runner import (
        build_cases,
        evaluate,
        relayout_method,
        report_json,
        report_markdown,
        telea,
    )
    from training.evaluation.sheet import render_sheet

    check_output_folder(args.out, "--out")  # before the evaluation, not after it
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in BACKENDS:
            raise BadInputError(f"unknown warp backend {b!r}; known: {', '.join(BACKENDS)}")
    baselines = [b for b in args.baselines.split(",") if b]
    for b in baselines:
        if b not in ("unchanged", "telea"):
            raise BadInputError(f"unknown baseline {b!r}; use unchanged, telea")
    settings = EditSettings(working_size=args.working_size, device=args.device, seed=args.seed)
    models = (EngineModels.from_checkpoint(args.checkpoint, device=settings.resolved_device())
              if args.checkpoint else EngineModels())
    methods = {}
    if "unchanged" in baselines:
        methods["unchanged"] = None
    if "telea" in baselines:
        methods["telea"] = telea
    refines = [r for r in args.refine.split(",") if r]
    for r in refines:
        dataclasses.replace(settings, refine=r)       # an unknown name is refused here
    for b in backends:
        if models.generator is not None:
            methods[f"relayout:{b} (generator)"] = relayout_method(b, models, settings)
            continue
        for r in refines:
            methods[f"relayout:{b} ({r})"] = relayout_method(b, models, settings, r)
    folder = ADE20KFolder(args.data, args.split)
    tasks = ["manipulation", "reconstruction"] if args.task == "both" else [args.task]
    results = []
    for task in tasks:
        cases = build_cases(folder, task, args.count, args.seed, args.size)
        if not cases:
            raise BadInputError(f"no {task} case could be built from {args.data} ({args.split})")
        rows: list | None = [] if args.sheet else None
        results += evaluate(cases, methods, task, settings.mask_dilation, sheet=rows)
        if rows:
            sheet = render_sheet(rows, ["case / input", "edited layout", "truth", *methods])
            save_image(Path(args.out) / f"sheet-{task}.png", sheet)
    header = (f"Evaluation on {args.data} ({args.split}), {args.count} cases per task at "
              f"{args.size} px, checkpoint: {args.checkpoint or 'none'}")
    out = Path(args.out)
    atomic_write_bytes(out / "report.md", report_markdown(results, header).encode())
    atomic_write_bytes(out / "report.json", report_json(results).encode())
    print(report_markdown(results, header))
    return 0
