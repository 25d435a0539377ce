"""Running one bench job (backend × resolution × device) and turning it into a row.

Each job runs in its own Python process (``python -m training.bench.runner SPEC_JSON``) so that
its peak memory is measured from a clean process, and so that a case the operating system kills
for memory becomes an ``out-of-memory`` row instead of ending the benchmark. :func:`run_job` is
the in-process body (the tests call it directly).

Statuses: ``ok``; ``skipped`` (the backend refused before allocating: ``peak_mem_mb`` then holds
its *estimate*); ``out-of-memory`` (an allocation failed, or the job was killed);
``needs-checkpoint`` (a learned backend without weights); ``timeout``; ``error`` (anything else;
the message goes to stderr).
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KEYS = ("backend", "resolution", "corr_resolution", "device", "status", "time_ms",
        "peak_mem_mb", "warp_psnr")
PSNR_CAP = 100.0   # JSON has no infinity: an exact warp is reported as 100 dB
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class JobSpec:
    backend: str
    resolution: int
    device: str                       # "cpu" or "cuda"
    repeats: int = 3
    seed: int = 0
    threads: int | None = None        # torch CPU threads; None = torch's default
    config: dict[str, Any] = field(default_factory=dict)   # backend config fields


@dataclass
class BenchRow:
    backend: str
    resolution: int
    corr_resolution: int | str | None
    device: str
    status: str
    time_ms: float | None = None
    peak_mem_mb: float | None = None
    warp_psnr: float | None = None
    detail: str = ""                  # one line for stderr (why, or the stage times); not JSON

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KEYS}


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                             or "can't allocate memory" in text
                                             or "not enough memory" in text)


def _corr(hw: tuple[int, int]) -> int | str:
    return int(hw[0]) if hw[0] == hw[1] else f"{hw[0]}x{hw[1]}"


def run_job(spec: JobSpec) -> BenchRow:
    """Run every case of the bench set ``spec.repeats`` times; never raises for a backend."""
    import torch

    from inference.correspondence import create_backend
    from inference.correspondence.base import MemoryBudgetError
    from inference.errors import CheckpointError
    from training.bench.cases import make_cases, squared_error
    from training.bench.memory import PeakMemory

    row = BenchRow(spec.backend, spec.resolution, None, spec.device, "error")
    device = torch.device(spec.device)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        backend = create_backend(spec.backend, device=spec.device, **spec.config)
        cases = make_cases(spec.resolution, seed=spec.seed)
        if device.type == "cuda":   # first-call kernel/cuBLAS setup is not the method's cost
            backend.warp(cases[0].request)
        times, peaks, errors, stages = [], [], [], []
        for rep in range(spec.repeats):
            for case in cases:
                with PeakMemory(device) as pm:
                    t0 = time.perf_counter()
                    result = backend.warp(case.request)
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    times.append(time.perf_counter() - t0)
                stages.append(result.timings)
                if pm.peak_bytes is not None:
                    peaks.append(pm.peak_bytes)
                if rep == 0:
                    errors.append(squared_error(result.warped, case))
                    row.corr_resolution = _corr(result.corr_resolution)
                del result
    except MemoryBudgetError as exc:
        row.status, row.peak_mem_mb = "skipped", round(exc.estimate_bytes / 2**20, 1)
        row.detail = str(exc)
        return row
    except CheckpointError as exc:
        row.status, row.detail = "needs-checkpoint", str(exc)
        return row
    except Exception as exc:  # a failing backend becomes a row, not a crash
        row.status = "out-of-memory" if _is_oom(exc) else "error"
        row.detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return row
    from training.bench.cases import pooled_psnr

    psnr = pooled_psnr(errors)
    row.status = "ok"
    row.time_ms = round(statistics.median(times) * 1000.0, 1)
    row.peak_mem_mb = round(max(peaks) / 2**20, 1) if peaks else None
    row.warp_psnr = None if math.isnan(psnr) else round(min(psnr, PSNR_CAP), 2)
    row.detail = _stage_summary(stages)
    return row


def _stage_summary(stages: list[dict[str, float]]) -> str:
    """Median ms of each stage the backend reports (``WarpResult.timings``), e.g. ``features 12
    ms, sampling 80 ms, warp 9 ms``: where a backend's time goes, for the stderr line."""
    names = [k for k in stages[0] if all(k in s for s in stages)] if stages else []
    return ", ".join(f"{k} {statistics.median(s[k] for s in stages) * 1000:.0f} ms"
                     for k in names)


def run_isolated(spec: JobSpec, timeout_s: float) -> BenchRow:
    """:func:`run_job` in a child process; a killed or hung child still gives a row."""
    cmd = [sys.executable, "-m", "training.bench.runner", json.dumps(asdict(spec))]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    base = BenchRow(spec.backend, spec.resolution, None, spec.device, "error")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        base.status, base.detail = "timeout", f"no result within {timeout_s:.0f} s"
        return base
    if proc.returncode == -signal.SIGKILL:
        base.status, base.detail = "out-of-memory", "the job was killed (SIGKILL, likely OOM)"
        return base
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        base.detail = f"job exited with status {proc.returncode}: {tail}"
        return base
    data = json.loads(lines[-1])
    return BenchRow(**data)


def _main(argv: list[str]) -> int:
    spec = JobSpec(**json.loads(argv[0]))
    row = run_job(spec)
    print(json.dumps(asdict(row)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
