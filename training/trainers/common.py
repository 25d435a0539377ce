"""What both stages share: the run settings, their command-line flags, and config assembly.

Precedence: ``--model-size`` preset < explicit flags (``--size``, ``--steps``, ...) < ``--set``.
On ``--resume`` the saved config is used and only ``--steps`` (to extend a run) is taken from the
command line.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inference.commands.validation import SEED_MAX, int_in
from inference.errors import BadInputError
from inference.paths import check_output_folder
from training.configs import MODEL_SIZES, apply_overrides, config_dict, config_from_dict
from training.losses.vgg import DEFAULT_VGG
from training.trainers.runtime import Runtime
from training.trainers.state import latest_state, load_training_state

CROP_SIZE = (32, 2048)
MAX_STEPS = 10**9
MAX_BATCH = 4096
MAX_WORKERS = 256
MAX_THREADS = 1024


@dataclass(frozen=True)
class RunConfig:
    steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-4                       # paper 000 appendix F: Adam, 2e-4, both stages
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    device: str = "auto"
    amp: bool = True                       # autocast on CUDA (bf16 where supported, else fp16)
    log_every: int = 10
    image_every: int = 500
    checkpoint_every: int = 1000
    keep: int = 2                          # step folders kept under OUT/checkpoints
    vgg: str = DEFAULT_VGG                 # hf:ORG/REPO, a .safetensors file, or "random"
    threads: int = 0                       # CPU intra-op threads per process (0 = torch's)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise BadInputError(f"--steps and --batch-size must be >= 1, got "
                                f"{self.steps} / {self.batch_size}")
        if min(self.log_every, self.image_every, self.checkpoint_every, self.keep) < 1:
            raise BadInputError("log/image/checkpoint intervals and keep must be >= 1")


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="DIR", help="ADE20K-layout folder")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder: the checkpoint, checkpoints/, train_log.jsonl, samples/")
    p.add_argument("--size", type=int_in(*CROP_SIZE), metavar="S",
                   help="square training crops, {}..{} (multiple of 8)".format(*CROP_SIZE))
    p.add_argument("--steps", type=int_in(1, MAX_STEPS), metavar="N",
                   help=f"total optimisation steps, 1..{MAX_STEPS}")
    p.add_argument("--batch-size", type=int_in(1, MAX_BATCH), metavar="B",
                   help=f"images per step per process, 1..{MAX_BATCH}")
    p.add_argument("--model-size", default="paper", choices=MODEL_SIZES,
                   help="network preset: tiny (tests), small (CPU demos), paper (default)")
    p.add_argument("--seed", type=int_in(0, SEED_MAX), help=f"random seed, 0..{SEED_MAX}")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--workers", type=int_in(0, MAX_WORKERS), metavar="W",
                   help=f"data loader processes, 0..{MAX_WORKERS}")
    p.add_argument("--threads", type=int_in(0, MAX_THREADS), metavar="T",
                   help=f"CPU threads per process, 0..{MAX_THREADS} (1 is often fastest on a "
                        f"busy machine)")
    p.add_argument("--cache-decoded", action="store_true",
                   help="cache decoded, resized photos as .npy in DATA/.relayout_cache")
    p.add_argument("--vgg", metavar="SPEC",
                   help=f"VGG-19 weights: hf:ORG/REPO, FILE.safetensors or random "
                        f"(default {DEFAULT_VGG})")
    for flag in ("--log-every", "--image-every", "--checkpoint-every"):
        p.add_argument(flag, type=int_in(1, MAX_STEPS), metavar="N", help=f"steps, 1..{MAX_STEPS}")
    p.add_argument("--no-amp", action="store_true", help="full precision on CUDA")
    p.add_argument("--resume", action="store_true",
                   help="continue from the latest OUT/checkpoints/step_* folder")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config field, dotted for sections (e.g. losses.contextual=0, "
                        "data.translate=0.3, warp.iterations=10); repeatable")


def apply_common_flags(config: Any, args: argparse.Namespace) -> Any:
    """Explicit flags into ``config.run`` / ``config.data``, then the ``--set`` overrides."""
    run: dict[str, Any] = {}
    for name in ("steps", "batch_size", "seed", "device", "vgg", "threads", "log_every",
                 "image_every", "checkpoint_every"):
        if getattr(args, name, None) is not None:
            run[name] = getattr(args, name)
    if args.no_amp:
        run["amp"] = False
    data: dict[str, Any] = {}
    if args.size is not None:
        data["size"] = args.size
    if args.workers is not None:
        data["workers"] = args.workers
    if args.cache_decoded:
        data["cache_decoded"] = True
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, **run),
                                 data=dataclasses.replace(config.data, **data))
    return apply_overrides(config, args.set)


def resolve_config(cls: type, args: argparse.Namespace, out: Path) -> Any:
    """The run's config: preset + flags + ``--set``; on resume the saved one (new ``--steps``)."""
    if args.resume:
        folder = latest_state(out)
        if folder is not None:
            meta, _ = load_training_state(folder)
            saved = config_from_dict(cls, meta["config"])
            if args.steps is not None:
                saved = dataclasses.replace(saved, run=dataclasses.replace(saved.run,
                                                                           steps=args.steps))
            return saved
    return apply_common_flags(cls.preset(args.model_size), args)


def run_metadata(stage: str, step: int, config: Any, rt: Runtime, seconds: float,
                 vgg_info: dict[str, Any], data: str | Path, **extra: Any) -> dict[str, Any]:
    """The checkpoint metadata both stages write: what ran, on what, for how long."""
    run = config.run
    return {"stage": stage, "step": step, **extra, "config": config_dict(config),
            "vgg": vgg_info, "data": str(data),
            "images_seen": step * run.batch_size * rt.world,
            "train_seconds": round(seconds, 1),
            "device": str(rt.device), "world_size": rt.world, "torch": torch.__version__}


def check_out(out: str, resume: bool) -> Path:
    path = check_output_folder(out, "--out")
    if not resume and (path / "checkpoints").is_dir() and any((path / "checkpoints").iterdir()):
        raise BadInputError(f"--out {path} already holds a training run; pass --resume to "
                            "continue it or choose another folder")
    return path
