"""``python -m training export``: a checkpoint's networks to ONNX for ``--runtime onnx``.

Writes ``generator.onnx`` and ``source_features.onnx`` / ``target_features.onnx`` (whichever
networks the checkpoint holds) into ``CHECKPOINT/onnx`` (or ``--out``), then checks each against
PyTorch on a random input and reports the largest difference. ``--benchmark S`` also times the
generator in both runtimes at S×S.
"""

from __future__ import annotations

import argparse

from inference.commands.validation import int_in

HELP = "export a checkpoint's networks to ONNX (and check them against PyTorch)"
PARITY_TOLERANCE = 1e-3


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--out", help="output folder (default: CHECKPOINT/onnx, where the editor "
                                 "looks for it)")
    p.add_argument("--benchmark", type=int_in(32, 4096), metavar="SIZE",
                   help="also time the generator in torch and ONNX Runtime at SIZE×SIZE")
    p.add_argument("--repeats", type=int_in(1, 1000), default=5, help="1..1000 (default 5)")


def parity_inputs(size_h: int, size_w: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size_h, size_w, generator=g)
    c = torch.randint(0, 151, (1, size_h, size_w), generator=g)
    m = torch.zeros(1, 1, size_h, size_w)
    m[..., size_h // 4: 3 * size_h // 4, size_w // 4: size_w // 2] = 1
    return x, c, m, x * (1 - m)


def check_generator(gen, path, size=(48, 80)) -> float:
    import torch

    from inference.onnx_runtime import run_generator_onnx

    x, c, m, known = parity_inputs(*size)
    with torch.no_grad():
        y_torch, _ = gen(x, c, m, known)
    y_onnx = run_generator_onnx(path, x, c, m, known, device="cpu")
    return float((y_torch - y_onnx).abs().max())


def check_correspondence(net, folder, size=(40, 56)) -> float:
    import torch

    from inference.onnx_runtime import run_source_features_onnx, run_target_features_onnx

    x, c, _, _ = parity_inputs(*size)
    known = torch.ones(1, *size, dtype=torch.bool)
    with torch.no_grad():
        ref = [*net.source_features(x, c), *net.target_features(c, x, known)]
    got = [*run_source_features_onnx(folder, x, c, "cpu"),
           *run_target_features_onnx(folder, c, x, known, "cpu")]
    return max(float((a - b).abs().max()) for a, b in zip(ref, got))


def benchmark_generator(gen, path, size: int, repeats: int) -> dict[str, float]:
    import statistics
    import time

    import torch

    from inference.onnx_runtime import run_generator_onnx

    x, c, m, known = parity_inputs(size, size)
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    with torch.no_grad():
        for _ in range(repeats + 1):   # the first run of each warms up
            t = time.perf_counter()
            gen(x, c, m, known)
            times["torch"].append(time.perf_counter() - t)
            t = time.perf_counter()
            run_generator_onnx(path, x, c, m, known, device="cpu")
            times["onnx"].append(time.perf_counter() - t)
    return {k: statistics.median(v[1:]) * 1000 for k, v in times.items()}


def run(args: argparse.Namespace) -> int:
    import warnings
    from pathlib import Path

    import torch

    from inference.checkpoint import load_checkpoint
    from inference.errors import BadInputError, CheckpointError
    from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
    from inference.networks.generator import GeneratorConfig, ManipulationGenerator
    from inference.onnx_runtime import export_correspondence, export_generator

    ck = load_checkpoint(args.checkpoint)
    out = Path(args.out) if args.out else ck.path / "onnx"
    if not (ck.has("generator") or ck.has("correspondence")):
        raise CheckpointError(f"checkpoint {ck.path} has no generator or correspondence network")
    if args.benchmark is not None and (args.benchmark < 32 or args.benchmark % 8):
        raise BadInputError(f"--benchmark size must be a multiple of 8, >= 32: {args.benchmark}")
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    worst = 0.0
    gen = None
    if ck.has("generator"):
        gen = ck.load_into("generator", ManipulationGenerator(
            ck.config("generator", GeneratorConfig))).eval()
        path = export_generator(gen, out / "generator.onnx")
        diff = check_generator(gen, path)
        worst = max(worst, diff)
        print(f"wrote {path} (max |torch - onnx| = {diff:.2e})")
    if ck.has("correspondence"):
        net = ck.load_into("correspondence", CorrespondenceNet(
            ck.config("correspondence", CorrespondenceNetConfig))).eval()
        paths = export_correspondence(net, out)
        diff = check_correspondence(net, out)
        worst = max(worst, diff)
        print(f"wrote {', '.join(str(p) for p in paths)} (max |torch - onnx| = {diff:.2e})")
    if worst > PARITY_TOLERANCE:
        print(f"error: ONNX outputs differ from PyTorch by {worst:.2e} > {PARITY_TOLERANCE}")
        return 1
    if args.benchmark and gen is not None:
        ms = benchmark_generator(gen, out / "generator.onnx", args.benchmark, args.repeats)
        print(f"generator at {args.benchmark}²: torch {ms['torch']:.0f} ms, "
              f"ONNX Runtime {ms['onnx']:.0f} ms (median of {args.repeats}, CPU)")
    return 0
