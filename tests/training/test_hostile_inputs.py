"""Hostile and broken input to ``main.py bench`` and ``python -m training`` (issue 13).

Every refusal: exit status 2, one ``error:`` line, no traceback, the folder's files untouched --
and it comes before the work (no scene written, no bench job run, no VGG weights looked up).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import main
from tests.hostile import assert_refused, read_only_folder, run_cli, snapshot
from training.__main__ import main as training_main


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "file.txt").write_text("keep me")
    (tmp_path / "dir.json").mkdir()
    return tmp_path


def _generator_checkpoint(folder: Path) -> Path:
    from inference.checkpoint import save_checkpoint
    from inference.networks.generator import GeneratorConfig, ManipulationGenerator

    cfg = GeneratorConfig.tiny()
    return save_checkpoint(folder / "gen-ck", {"generator": (cfg, ManipulationGenerator(cfg))})


BENCH = ["bench", "--backends", "bilevel", "--resolutions", "32", "--repeats", "1",
         "--device", "cpu"]

# (case id, arguments, words of the error)
BENCH_CASES = [
    ("json-in-proc", ["--json", "/proc/b.json"], ["--json", "cannot write in folder /proc"]),
    ("json-is-a-folder", ["--json", "{d}/dir.json"], ["--json", "is a folder"]),
    ("json-under-a-file", ["--json", "{d}/file.txt/b.json"], ["file.txt is a file"]),
    ("checkpoint-missing", ["--backends", "msca", "--checkpoint", "/nope"],
     ["checkpoint folder not found: /nope"]),
    ("checkpoint-unused", ["--checkpoint", "{d}/gen-ck"], ["learned backends", "lists none"]),
    ("checkpoint-wrong-network", ["--backends", "msca", "--checkpoint", "{d}/gen-ck"],
     ["no network --backends msca uses", "'generator'", "msca"]),
    ("repeats-zero", ["--repeats", "0"], ["--repeats", "outside 1..1000"]),
    ("seed-overflow", ["--seed", str(2**70)], ["--seed", "outside 0..2147483647"]),
    ("resolutions-tiny", ["--resolutions", "32,8"], ["--resolutions", "outside 16..4096"]),
    ("timeout-zero", ["--timeout", "0"], ["--timeout", "outside"]),
    ("threads-negative", ["--threads", "-3"], ["--threads", "outside 0..1024"]),
]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in BENCH_CASES],
                         ids=[c[0] for c in BENCH_CASES])
def test_bench_refuses_before_any_job(folder, capfd, monkeypatch, extra, needles):
    import training.bench.runner as runner

    monkeypatch.setattr(runner, "run_isolated", lambda *a: pytest.fail("a bench job ran"))
    _generator_checkpoint(folder)
    before = snapshot(folder)
    argv = BENCH + [x.replace("{d}", str(folder)) for x in extra]
    assert_refused(run_cli(main.main, argv, capfd), *needles)
    assert snapshot(folder) == before


SYNTH = ["synth", "--count", "2", "--size", "64"]
SYNTH_CASES = [
    ("out-in-proc", ["--out", "/proc/scenes"], ["--out", "cannot write in folder /proc"]),
    ("out-in-sys", ["--out", "/sys/a/b"], ["cannot write in folder /sys"]),
    ("out-is-a-file", ["--out", "{d}/file.txt"], ["is a file, not a folder"]),
    ("out-under-a-file", ["--out", "{d}/file.txt/x"], ["file.txt is a file"]),
    ("count-zero", ["--out", "{d}/s", "--count", "0"], ["--count", "outside 1..1000000"]),
    ("count-huge", ["--out", "{d}/s", "--count", "9" * 40], ["--count", "outside"]),
    ("size-small", ["--out", "{d}/s", "--size", "5"], ["--size", "outside"]),
    ("seed-negative", ["--out", "{d}/s", "--seed", "-1"], ["--seed", "outside"]),
    ("val-fraction-one", ["--out", "{d}/s", "--val-fraction", "1"],
     ["--val-fraction", "outside [0, 1)"]),
    ("val-fraction-nan", ["--out", "{d}/s", "--val-fraction", "nan"], ["finite"]),
]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in SYNTH_CASES],
                         ids=[c[0] for c in SYNTH_CASES])
def test_synth_refuses_before_the_first_scene(folder, capfd, extra, needles):
    before = snapshot(folder)
    argv = SYNTH + [x.replace("{d}", str(folder)) for x in extra]
    assert_refused(run_cli(training_main, argv, capfd), *needles)
    assert snapshot(folder) == before


def test_synth_on_a_read_only_mount(folder, capfd, monkeypatch):
    ro = read_only_folder(monkeypatch, folder / "ro")
    out = run_cli(training_main, [*SYNTH, "--out", ro / "scenes"], capfd)
    assert_refused(out, "cannot write in folder", "Read-only file system")
    assert list(ro.iterdir()) == []


# No --vgg: the default hub weights, whose offline warning would be a second line if the
# trainers looked them up before checking their data.
TRAIN = ["--model-size", "tiny", "--device", "cpu", "--steps", "1"]
TRAIN_CASES = [
    ("correspondence-data-missing", ["correspondence", "--data", "/nope"],
     ["ADE20K folder not found: /nope"]),
    ("correspondence-out-in-proc", ["correspondence", "--data", "{d}", "--out", "/proc/run"],
     ["--out", "/proc"]),
    ("steps-zero", ["correspondence", "--data", "{d}", "--steps", "0"], ["--steps", "outside"]),
    ("batch-huge", ["correspondence", "--data", "{d}", "--batch-size", "100000"],
     ["--batch-size", "outside 1..4096"]),
    ("size-huge", ["generator", "--data", "{d}", "--correspondence", "{d}", "--size", "99999"],
     ["--size", "outside 32..2048"]),
    ("coarse-steps-negative", ["generator", "--data", "{d}", "--correspondence", "{d}",
                               "--coarse-steps", "-1"], ["--coarse-steps", "outside"]),
    ("label-regions", ["label", "--images", "{d}", "--parser", "regions"],
     ["'regions' finds automatic regions", "not ADE20K classes"]),
    ("label-max-side", ["label", "--images", "{d}", "--max-side", "4"], ["--max-side"]),
    ("evaluate-count", ["evaluate", "--data", "{d}", "--count", "0"], ["--count", "outside"]),
    ("export-repeats", ["export", "--checkpoint", "{d}", "--repeats", "0"],
     ["--repeats", "outside 1..1000"]),
]


@pytest.mark.parametrize(("argv", "needles"), [c[1:] for c in TRAIN_CASES],
                         ids=[c[0] for c in TRAIN_CASES])
def test_training_commands_refuse_with_one_line(folder, capfd, argv, needles):
    argv = [x.replace("{d}", str(folder)) for x in argv]
    if "--out" not in argv:
        argv += ["--out", str(folder / "run")]
    if argv[0] in ("correspondence", "generator"):
        argv += TRAIN
    before = snapshot(folder)
    assert_refused(run_cli(training_main, argv, capfd), *needles)
    assert snapshot(folder) == before
