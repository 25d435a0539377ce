"""``main.py bench``: the known-correspondence set, the job runner, the report, the command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.bench.cases import (
    TRANSFORMS,
    make_case,
    oracle_warp,
    pooled_psnr,
    squared_error,
    warp_psnr,
)
from training.bench.memory import PeakMemory
from training.bench.report import markdown_table, write_json
from training.bench.runner import KEYS, BenchRow, JobSpec, run_job

ROOT = Path(__file__).resolve().parents[2]


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("kind", TRANSFORMS)
@pytest.mark.parametrize("size", [32, 64])
def test_true_mapping_reproduces_the_target(kind, size):
    case = make_case(kind, seed=1, size=size)
    assert case.truth.shape == (3, size, size)
    assert case.valid.float().mean() > 0.5
    assert warp_psnr(oracle_warp(case), case) == math.inf
    # The metric can fail: the unwarped source is not the answer.
    assert warp_psnr(case.request.sources[0].image, case) < 40.0


def test_cases_are_the_transforms_they_claim():
    flip = make_case("flip", seed=2, size=32)
    assert torch.equal(flip.request.sources[0].image, flip.truth.flip(-1))
    assert torch.equal(flip.request.sources[0].labels, flip.request.target_labels.flip(-1))
    shift = make_case("translate", seed=2, size=64)
    sy, sx = shift.true_source[:, 40, 40].tolist()
    assert torch.equal(shift.request.sources[0].image[:, sy, sx], shift.truth[:, 40, 40])
    assert (sy, sx) != (40, 40)
    scale = make_case("scale", seed=2, size=64)
    assert not scale.valid[0, 0] and scale.valid[32, 32]     # the border is outside the crop


def test_pooled_psnr_counts_pixels():
    assert pooled_psnr([(0.0, 10), (0.0, 5)]) == math.inf
    assert pooled_psnr([(1.0, 100), (0.0, 0)]) == pytest.approx(20.0)
    case = make_case("flip", seed=0, size=32)
    err, n = squared_error(torch.zeros(3, 32, 32), case)
    assert n == 32 * 32 and err > 0


def test_run_job_measures_a_backend():
    row = run_job(JobSpec(backend="bilevel", resolution=32, device="cpu", repeats=1))
    assert row.status == "ok", row.detail
    assert row.corr_resolution == 16
    assert row.time_ms > 0 and row.peak_mem_mb is not None
    assert 5.0 < row.warp_psnr < 60.0
    assert set(row.as_json()) == set(KEYS)


def test_refusals_become_rows():
    msca = run_job(JobSpec(backend="msca", resolution=32, device="cpu", repeats=1))
    assert msca.status == "needs-checkpoint" and msca.time_ms is None
    dense = run_job(JobSpec(backend="dense", resolution=128, device="cpu", repeats=1,
                            config={"memory_budget_mb": 1}))
    assert dense.status == "skipped"
    assert dense.peak_mem_mb == pytest.approx(4.0)            # (32² keys)² float32 = 4 MiB


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(torch.device("cpu")) as pm:
        x = torch.ones(40_000_000)                            # 160 MB
        del x
    assert pm.peak_bytes is not None and pm.peak_bytes > 120e6


def test_report_table_and_json(tmp_path):
    rows = [BenchRow("hrs", 64, 64, "cpu", "ok", 12.5, 30.0, 25.5),
            BenchRow("dense", 1024, None, "cpu", "skipped", None, 16384.0, None)]
    table = markdown_table(rows)
    assert "| dense | 1024 | – | cpu | skipped | – | 16384.0 (est.) | – |" in table
    write_json(tmp_path / "r.json", rows)
    data = json.loads((tmp_path / "r.json").read_text())
    assert [list(r) for r in data] == [list(KEYS)] * 2
    assert data[0]["warp_psnr"] == 25.5 and data[1]["time_ms"] is None


def test_command_writes_json_and_table(tmp_path):
    out = tmp_path / "bench.json"
    proc = _main("--backends", "bilevel,msca", "--resolutions", "32,48", "--repeats", "1",
                 "--device", "cpu", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "| backend | resolution |" in proc.stdout
    rows = json.loads(out.read_text())
    assert len(rows) == 4
    assert all(list(r) == list(KEYS) for r in rows)
    assert {(r["backend"], r["resolution"], r["status"]) for r in rows} == {
        ("bilevel", 32, "ok"), ("bilevel", 48, "ok"),
        ("msca", 32, "needs-checkpoint"), ("msca", 48, "needs-checkpoint")}


@pytest.mark.parametrize("args", [
    ("--resolutions", "abc"),
    ("--resolutions", "8"),
    ("--backends", "nope"),
    ("--repeats", "0"),
    ("--device", "tpu"),
])
def test_bad_arguments_exit_2_with_one_line(args):
    proc = _main(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_bad_input():
    proc = _main("--device", "cuda", "--resolutions", "32")
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr


def test_feature_ablation_rows_and_hole_scoring(tmp_path):
    from training.bench.ablation import ABLATIONS, feature_ablation, main, markdown

    ablations = {"default": {}, "no context": {"context_weight": 0.0},
                 "colour": {"colour_weight": 0.5}}
    rows = feature_ablation(size=48, seeds=(0,), backends=("hrs-ms",), ablations=ablations)
    assert [r["features"] for r in rows] == list(ablations)
    assert rows[0]["channels"] - rows[1]["channels"] == 12     # 3 radii × 4 code dims
    assert math.isfinite(rows[0]["object"])
    for r in rows:
        assert all(5.0 < r[k] < 80.0 for k in (*TRANSFORMS, "pooled", "object"))
    assert markdown(rows).count("\n") == len(rows) + 1
    out = tmp_path / "abl.json"
    main(["--size", "32", "--seeds", "0", "--backends", "dense", "--json", str(out)])
    assert len(json.loads(out.read_text())) == len(ABLATIONS)


def test_edit_bench_times_whole_edits_per_stage(tmp_path):
    """``--edits``: a sample edit and a labelled folder's cases, stage times that add up."""
    from training.synth import write_dataset

    write_dataset(tmp_path / "data", count=16, size=96, seed=3, val_fraction=0.5)
    out = tmp_path / "edits.json"
    proc = _main("--edits", "--edit-samples", "kite-delete", "--edit-data",
                 str(tmp_path / "data"), "--edit-count", "2", "--repeats", "1", "--device",
                 "cpu", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "| edit | photo |" in proc.stdout and "| kite-delete | 1024×640 |" in proc.stdout
    rows = json.loads(out.read_text())
    assert rows[0]["case"] == "kite-delete" and len(rows) >= 2
    for r in rows:
        assert r["route"] == "synthesis" and r["mask_px"] > 0 and r["peak_mem_mb"] > 0
        parts = sum(r["stages_s"].values())
        assert math.isclose(parts, r["total_s"], rel_tol=0.05, abs_tol=0.02)


def test_sample_edits_are_the_readme_edits():
    from inference.labels import class_id
    from training.bench.edits import SAMPLE_EDITS, sample_edit

    move = sample_edit("kite-move")
    assert len(move.objects) == 1
    flag = class_id("flag")
    assert (move.edited == flag).sum() > 1.5 * (move.labels == flag).sum()   # enlarged ×1.3
    assert not ((move.edited == flag) & (move.labels == flag)).any()         # moved away
    grass = sample_edit("path-grass")
    assert not (grass.edited == class_id("path")).any()
    assert set(SAMPLE_EDITS) == {"kite-move", "kite-delete", "path-grass"}


@pytest.mark.parametrize(("args", "needle"), [
    (("--edits", "--edit-samples", "kite-fly"), "unknown kite-fly"),
    (("--edits", "--edit-samples", "none"), "nothing to time"),
    (("--edits", "--backends", "hrs"), "--backends is for the warp bench"),
    (("--edits", "--edit-data", "/nonexistent"), "not found"),
    (("--edits", "--edit-count", "0"), "1..1000"),
])
def test_edit_bench_refusals(args, needle):
    proc = _main(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
