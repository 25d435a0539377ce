"""``python main.py bench``: time, peak memory and warp PSNR of the warp backends.

    python main.py bench [--backends hrs,hrs-ms,dense,...] [--resolutions 128,256,512,1024]
                         [--device auto|cpu|cuda] [--repeats R] [--json OUT]

For every backend × resolution × device: the median time of one warp over ``repeats`` runs of
each case of the known-correspondence set (:mod:`training.bench.cases`), the peak memory of one
warp, and the warp PSNR (dB) against the true warp at the output resolution. A markdown table goes
to stdout, progress to stderr. Top-level imports stay light so that ``main.py --help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "benchmark the warp backends: time, peak memory, warp PSNR on known correspondences"
DEFAULT_RESOLUTIONS = "128,256,512,1024"
MIN_RESOLUTION, MAX_RESOLUTION = 16, 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values are parsed in run(), so a bad one is a one-line error with exit status 2.
    parser.add_argument("--backends", default=None,
                        help="comma-separated backend names (default: every registered backend)")
    parser.add_argument("--resolutions", default=DEFAULT_RESOLUTIONS,
                        help=f"comma-separated square output sizes (default {DEFAULT_RESOLUTIONS})")
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda, or a comma list such as cpu,cuda (default auto)")
    parser.add_argument("--repeats", default="3", help="timed runs of every case (default 3)")
    parser.add_argument("--json", dest="json_out", default=None, metavar="OUT",
                        help="also write the rows as a JSON list to OUT")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint for the learned backends (msca, patchmatch-gru)")
    parser.add_argument("--seed", default="0", help="first scene seed of the bench set")
    parser.add_argument("--threads", default="0",
                        help="torch CPU threads per job (default 0: torch's default)")
    parser.add_argument("--timeout", default="1800",
                        help="seconds one backend × resolution × device job may take")


def _ints(text: str, what: str, lo: int, hi: int) -> list[int]:
    from inference.errors import BadInputError

    values = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            v = int(part)
        except ValueError:
            raise BadInputError(f"--{what}: {part!r} is not an integer") from None
        if not lo <= v <= hi:
            raise BadInputError(f"--{what}: {v} is outside {lo}..{hi}")
        values.append(v)
    if not values:
        raise BadInputError(f"--{what} lists nothing")
    return values


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


def _backend_config(name: str, checkpoint: str | None) -> dict[str, Any]:
    from dataclasses import fields

    from inference.correspondence import BACKENDS

    has_ckpt = "checkpoint" in {f.name for f in fields(BACKENDS[name][1])}
    return {"checkpoint": checkpoint} if checkpoint and has_ckpt else {}


def run(args: argparse.Namespace) -> int:
    from inference.correspondence import BACKENDS
    from inference.errors import BadInputError
    from training.bench.report import markdown_table, write_json
    from training.bench.runner import JobSpec, run_isolated

    names = [n.strip() for n in (args.backends or ",".join(BACKENDS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise BadInputError(f"--backends: unknown {', '.join(unknown) or '(none given)'}; "
                            f"known: {', '.join(BACKENDS)}")
    resolutions = _ints(args.resolutions, "resolutions", MIN_RESOLUTION, MAX_RESOLUTION)
    repeats = _ints(args.repeats, "repeats", 1, 1000)[0]
    seed = _ints(args.seed, "seed", 0, 2**31 - 1)[0]
    timeout = _ints(args.timeout, "timeout", 1, 7 * 24 * 3600)[0]
    threads = _ints(args.threads, "threads", 0, 1024)[0] or None
    devices = _devices(args.device)

    rows = []
    for device in devices:
        for res in resolutions:
            for name in names:
                spec = JobSpec(backend=name, resolution=res, device=device, repeats=repeats,
                               seed=seed, threads=threads,
                               config=_backend_config(name, args.checkpoint))
                print(f"bench: {name} at {res}² on {device} ...", file=sys.stderr, flush=True)
                row = run_isolated(spec, timeout)
                note = f" ({row.detail})" if row.detail and row.status != "ok" else ""
                print(f"bench: {name} at {res}² on {device}: {row.status}{note}",
                      file=sys.stderr, flush=True)
                rows.append(row)
    print(markdown_table(rows))
    if args.json_out:
        write_json(args.json_out, rows)
    return 0
