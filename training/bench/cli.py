"""``python main.py bench``: time, peak memory and warp PSNR of the warp backends, or (with
``--edits``) whole edits end to end.

    python main.py bench [--backends hrs,hrs-ms,dense,...] [--resolutions 128,256,512,1024]
                         [--device auto|cpu|cuda] [--repeats R] [--json OUT]
    python main.py bench --edits [--edit-samples kite-move,kite-delete,path-grass|none]
                         [--edit-data ADE_FOLDER [--edit-count N]] [--device ...] [--repeats R]

For every backend × resolution × device: the median time of one warp over ``repeats`` runs of
each case of the known-correspondence set (:mod:`training.bench.cases`), the peak memory of one
warp, and the warp PSNR (dB) against the true warp at the output resolution. A markdown table goes
to stdout, progress to stderr. Top-level imports stay light so that ``main.py --help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inference.commands.validation import SEED_MAX, int_in, int_list_in

HELP = ("benchmark the warp backends (time, peak memory, warp PSNR on known correspondences), "
        "or with --edits whole edits end to end")
DEFAULT_EDIT_SAMPLES = "kite-move,kite-delete,path-grass"
MAX_EDIT_COUNT = 1000
DEFAULT_RESOLUTIONS = "128,256,512,1024"
MIN_RESOLUTION, MAX_RESOLUTION = 16, 4096
MAX_REPEATS, MAX_THREADS, MAX_TIMEOUT = 1000, 1024, 7 * 24 * 3600
LEARNED = {"msca": "msca", "patchmatch-gru": "patchmatch_gru"}  # backend -> checkpoint network


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Numbers are checked by argparse against their ranges: one line, exit status 2.
    parser.add_argument("--backends", default=None,
                        help="comma-separated backend names (default: every registered backend)")
    parser.add_argument("--resolutions", default=DEFAULT_RESOLUTIONS,
                        type=int_list_in(MIN_RESOLUTION, MAX_RESOLUTION),
                        help=f"comma-separated square output sizes, each {MIN_RESOLUTION}.."
                             f"{MAX_RESOLUTION} (default {DEFAULT_RESOLUTIONS})")
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda, or a comma list such as cpu,cuda (default auto)")
    parser.add_argument("--repeats", default=3, type=int_in(1, MAX_REPEATS),
                        help=f"timed runs of every case, 1..{MAX_REPEATS} (default 3)")
    parser.add_argument("--json", dest="json_out", default=None, metavar="OUT",
                        help="also write the rows as a JSON list to OUT")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint for the learned backends (msca, patchmatch-gru)")
    parser.add_argument("--seed", default=0, type=int_in(0, SEED_MAX),
                        help=f"first scene seed of the bench set, 0..{SEED_MAX} (default 0)")
    parser.add_argument("--threads", default=0, type=int_in(0, MAX_THREADS),
                        help=f"torch CPU threads per job, 0..{MAX_THREADS} (default 0: torch's "
                             f"default)")
    parser.add_argument("--edits", action="store_true",
                        help="time whole edits (LayoutEditor.edit, per stage, no checkpoint) "
                             "instead of warps")
    parser.add_argument("--edit-samples", default=DEFAULT_EDIT_SAMPLES,
                        help=f"with --edits: the sample edits to time, or none (default "
                             f"{DEFAULT_EDIT_SAMPLES})")
    parser.add_argument("--edit-data", default=None, metavar="FOLDER",
                        help="with --edits: also the manipulation cases of this labelled "
                             "ADE20K-layout folder (validation split), at 512 px")
    parser.add_argument("--edit-count", default=21, type=int_in(1, MAX_EDIT_COUNT),
                        help=f"with --edit-data: photos to try, 1..{MAX_EDIT_COUNT} (default 21)")
    parser.add_argument("--timeout", default=1800, type=int_in(1, MAX_TIMEOUT),
                        help=f"seconds one backend × resolution × device job may take, "
                             f"1..{MAX_TIMEOUT} (default 1800)")


def _devices(text: str) -> list[str]:
    import torch

    from inference.errors import BadInputError

    out = []
    for part in (p.strip().lower() for p in str(text).split(",") if p.strip()):
        if part == "auto":
            part = "cuda" if torch.cuda.is_available() else "cpu"
        if part not in ("cpu", "cuda"):
            raise BadInputError(f"--device: {part!r} is not auto, cpu or cuda")
        if part == "cuda" and not torch.cuda.is_available():
            raise BadInputError("--device cuda: no CUDA device is available (use cpu or auto)")
        if part not in out:
            out.append(part)
    if not out:
        raise BadInputError("--device lists nothing")
    return out


def _check_checkpoint(location: str, names: list[str]) -> None:
    """Refuse a checkpoint no requested backend can use, before any job runs (a missing one
    used to turn every learned backend into a 'needs-checkpoint' row, exit status 0)."""
    from inference.checkpoint import load_checkpoint
    from inference.errors import BadInputError

    learned = [n for n in names if n in LEARNED]
    if not learned:
        raise BadInputError(f"--checkpoint is for the learned backends ({', '.join(LEARNED)}); "
                            f"--backends lists none of them")
    load_checkpoint(location).require_any(tuple(LEARNED[n] for n in learned),
                                          f"--backends {','.join(learned)}")


def _backend_config(name: str, checkpoint: str | None) -> dict[str, Any]:
    from dataclasses import fields

    from inference.correspondence import BACKENDS

    has_ckpt = "checkpoint" in {f.name for f in fields(BACKENDS[name][1])}
    return {"checkpoint": checkpoint} if checkpoint and has_ckpt else {}


def run_edits(args: argparse.Namespace) -> int:
    """``--edits``: every case checked and loaded first, then timed one after another."""
    import json

    from inference.errors import BadInputError
    from inference.imageio import atomic_write_bytes
    from inference.pipeline.editor import EditSettings
    from training.bench.edits import SAMPLE_EDITS, edits_table, folder_edits, sample_edit, time_edit

    if args.backends:
        raise BadInputError("--backends is for the warp bench; --edits times the default "
                            "pipeline (hrs-ms, no checkpoint)")
    if args.checkpoint:
        raise BadInputError("--checkpoint is for the warp bench's learned backends; --edits "
                            "times the no-checkpoint path")
    devices = _devices(args.device)
    names = [] if args.edit_samples.strip().lower() == "none" else [
        n.strip() for n in args.edit_samples.split(",") if n.strip()]
    unknown = [n for n in names if n not in SAMPLE_EDITS]
    if unknown:
        raise BadInputError(f"--edit-samples: unknown {', '.join(unknown)}; known: "
                            f"{', '.join(SAMPLE_EDITS)} or none")
    if args.json_out:
        from inference.paths import check_output_file

        check_output_file(args.json_out, "--json")
    cases = [sample_edit(n) for n in names]
    if args.edit_data:
        cases += folder_edits(args.edit_data, args.edit_count, 512)
    if not cases:
        raise BadInputError("--edits: nothing to time (--edit-samples none and no --edit-data)")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows = []
    for device in devices:
        for case in cases:
            print(f"bench: edit {case.name} on {device} ...", file=sys.stderr, flush=True)
            rows.append(time_edit(case, EditSettings(device=device, seed=args.seed),
                                  args.repeats))
    print(edits_table(rows))
    if args.json_out:
        data = [r.as_json() for r in rows]
        atomic_write_bytes(args.json_out, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.edits:
        return run_edits(args)
    from inference.correspondence import BACKENDS
    from inference.errors import BadInputError
    from training.bench.report import markdown_table, write_json
    from training.bench.runner import JobSpec, run_isolated

    names = [n.strip() for n in (args.backends or ",".join(BACKENDS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise BadInputError(f"--backends: unknown {', '.join(unknown) or '(none given)'}; "
                            f"known: {', '.join(BACKENDS)}")
    resolutions = args.resolutions  # a string default goes through its type too
    repeats, seed, timeout, threads = args.repeats, args.seed, args.timeout, args.threads or None
    devices = _devices(args.device)
    if args.json_out:
        from inference.paths import check_output_file

        check_output_file(args.json_out, "--json")
    if args.checkpoint:
        _check_checkpoint(args.checkpoint, names)

    rows = []
    for device in devices:
        for res in resolutions:
            for name in names:
                spec = JobSpec(backend=name, resolution=res, device=device, repeats=repeats,
                               seed=seed, threads=threads,
                               config=_backend_config(name, args.checkpoint))
                print(f"bench: {name} at {res}² on {device} ...", file=sys.stderr, flush=True)
                row = run_isolated(spec, timeout)
                note = f" ({row.detail})" if row.detail else ""   # ok: stage times
                print(f"bench: {name} at {res}² on {device}: {row.status}{note}",
                      file=sys.stderr, flush=True)
                rows.append(row)
    print(markdown_table(rows))
    if args.json_out:
        write_json(args.json_out, rows)
    return 0
