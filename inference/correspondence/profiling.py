"""Time, peak memory and warp PSNR of a backend on known-correspondence toy scenes.

A quick tool for developers and the building block of ``main.py bench``::

    python -m inference.correspondence.profiling --backends hrs hrs-ms dense --size 512
    python -m inference.correspondence.profiling --backends hrs --size 1024 --memory --repeats 1

``measure(name, size)`` returns one row (median and best wall time over ``repeats`` after a
warm-up, PSNR averaged over the toy pairs). ``peak_memory_mb`` runs one warp in a fresh
subprocess and reads the kernel's resident-set high-water mark (``VmHWM``, reset just before the
warp) minus the resident set before it; on CUDA it reads ``torch.cuda.max_memory_allocated``.
A backend that refuses (:class:`MemoryBudgetError`) gives ``status = "skipped"`` with the estimate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import torch

from inference.correspondence import create_backend
from inference.correspondence.base import MemoryBudgetError
from inference.correspondence.toyscenes import TRANSFORMS, make_pair, psnr


def measure(name: str, size: int, repeats: int = 3, device: str = "cpu",
            seeds: tuple[int, ...] = (0,), transforms: tuple[str, ...] = TRANSFORMS,
            **config: Any) -> dict[str, Any]:
    """Median wall time (ms) of ``warp`` on the first pair, PSNR (dB) over all pairs."""
    backend = create_backend(name, device=device, **config)
    pairs = [make_pair(s, size, t) for s in seeds for t in transforms]
    row: dict[str, Any] = {"backend": name, "resolution": size, "device": device}
    try:
        first = backend.warp(pairs[0].request)                # warm-up, and the first PSNR
    except MemoryBudgetError as err:
        return {**row, "status": "skipped", "estimate_mb": err.estimate_bytes / 2**20}
    times, stages = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = backend.warp(pairs[0].request)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        stages.append(res.timings)
    scores = [psnr(first.warped, pairs[0].target_image, pairs[0].valid)]
    for p in pairs[1:]:
        scores.append(psnr(backend.warp(p.request).warped, p.target_image, p.valid))
    return {**row, "status": "ok", "corr_resolution": list(first.corr_resolution),
            "time_ms": 1000 * statistics.median(times), "best_ms": 1000 * min(times),
            "stages_ms": {k: 1000 * statistics.median(s[k] for s in stages) for k in stages[0]},
            "warp_psnr": sum(scores) / len(scores)}


def peak_memory_mb(name: str, size: int, device: str = "cpu", **config: Any) -> float | None:
    """Peak extra memory (MiB) of one warp, measured in a fresh subprocess; None if refused."""
    code = ("import json,sys; from inference.correspondence.profiling import _peak_child; "
            "print(json.dumps(_peak_child(*json.loads(sys.argv[1]))))")
    arg = json.dumps([name, size, device, config])
    out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_child(name: str, size: int, device: str, config: dict[str, Any]) -> float | None:
    backend = create_backend(name, device=device, **config)
    pair = make_pair(0, size, "translate")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        with open("/proc/self/clear_refs", "w") as f:     # reset VmHWM to the current RSS
            f.write("5")
        base = _status_kb("VmRSS") * 1024
    try:
        backend.warp(pair.request)
    except MemoryBudgetError:
        return None
    peak = (torch.cuda.max_memory_allocated() if device.startswith("cuda")
            else _status_kb("VmHWM") * 1024)
    return (peak - base) / 2**20


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["hrs", "hrs-ms", "dense"])
    ap.add_argument("--size", type=int, nargs="+", default=[512])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--transforms", default=",".join(TRANSFORMS))
    ap.add_argument("--memory", action="store_true", help="also measure peak memory")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="backend config override, e.g. --set iterations=5")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    seeds = tuple(int(s) for s in args.seeds.split(","))
    for size in args.size:
        for name in args.backends:
            row = measure(name, size, args.repeats, args.device, seeds,
                          tuple(args.transforms.split(",")), **config)
            if args.memory:
                row["peak_mem_mb"] = peak_memory_mb(name, size, args.device, **config)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
