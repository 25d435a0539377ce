"""Resumable training checkpoints, written atomically, never pickled.

``OUT/checkpoints/step_NNNNNNNN/`` holds a complete Relayout checkpoint of every network being
trained (``config.json`` + ``<name>.safetensors``, auxiliary networks included) plus
``state.safetensors`` (optimiser moments, RNG states) and ``state.json`` (step, configs, optimiser
hyper-parameters, loss scaler). The folder is assembled under a temporary name and renamed into
place, so any ``step_*`` folder that exists is complete; the last ``keep`` are kept.

``OUT`` itself is the deliverable checkpoint (the networks the editor loads, as
:func:`inference.checkpoint.save_checkpoint` writes them): after each save its weight files and
then its ``config.json`` are replaced one by one with ``os.replace``, so the editor always reads
whole files, while logs and image grids beside them survive.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from inference.atomic import give_new_file_mode
from inference.checkpoint import load_checkpoint, save_checkpoint
from inference.errors import CheckpointError

STEP_PREFIX = "step_"


def optimizer_state(opt: torch.optim.Optimizer, prefix: str
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state dict split into tensors (for safetensors) and JSON."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def restore_optimizer(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor],
                      meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        head, _, rest = key.partition(".")
        if head != prefix:
            continue
        pid, _, name = rest.partition(".")
        state.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, _, name = key.partition(".")
        state.setdefault(int(pid), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_state(generator: torch.Generator) -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state(), "rng.sampler": generator.get_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    return out


def restore_rng(tensors: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    generator.set_state(tensors["rng.sampler"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def save_training_state(out: Path, step: int, networks: dict[str, tuple[Any, torch.nn.Module]],
                        deliverable: list[str], optimizers: dict[str, torch.optim.Optimizer],
                        generator: torch.Generator, extra: dict[str, Any],
                        metadata: dict[str, Any], keep: int = 2) -> Path:
    """Write ``out/checkpoints/step_<step>`` atomically and refresh the checkpoint in ``out``."""
    root = out / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        save_checkpoint(tmp / "ckpt", networks, metadata)
        tensors = rng_state(generator)
        opt_meta = {}
        for name, opt in optimizers.items():
            t, m = optimizer_state(opt, name)
            tensors.update(t)
            opt_meta[name] = m
        save_file(tensors, str(tmp / "ckpt" / "state.safetensors"))
        give_new_file_mode(tmp / "ckpt" / "state.safetensors")  # safetensors writes 0600
        (tmp / "ckpt" / "state.json").write_text(json.dumps(
            {"step": step, "optimizers": opt_meta, **extra}, indent=2, sort_keys=True))
        final = root / f"{STEP_PREFIX}{step:08d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp / "ckpt", final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    export_deliverable(out, {k: networks[k] for k in deliverable}, metadata)
    for old in sorted(p for p in root.glob(f"{STEP_PREFIX}*") if p.is_dir())[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def export_deliverable(out: Path, networks: dict[str, tuple[Any, torch.nn.Module]],
                       metadata: dict[str, Any]) -> None:
    """Make ``out`` a loadable checkpoint of ``networks`` (weights first, config.json last)."""
    staged = save_checkpoint(out / ".export", networks, metadata)
    try:
        names = sorted(p.name for p in staged.iterdir())
        for name in [n for n in names if n != "config.json"] + ["config.json"]:
            os.replace(staged / name, out / name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def latest_state(out: Path) -> Path | None:
    root = out / "checkpoints"
    steps = sorted(p for p in root.glob(f"{STEP_PREFIX}*") if (p / "state.json").is_file())
    return steps[-1] if steps else None


def load_training_state(folder: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(state.json, state.safetensors tensors)`` of a step folder."""
    try:
        meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(folder / "state.safetensors"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"training state in {folder} is unreadable: {exc}") from None
    return meta, tensors


def load_networks(folder: Path, modules: dict[str, torch.nn.Module]) -> None:
    ck = load_checkpoint(folder)
    for name, module in modules.items():
        ck.load_into(name, module)
