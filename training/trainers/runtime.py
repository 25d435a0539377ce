"""Device, distributed (torchrun + DDP) and mixed-precision set-up shared by both stages.

``torchrun --nproc_per_node=G -m training correspondence ...`` sets ``RANK``/``WORLD_SIZE``/
``LOCAL_RANK``; each process then takes GPU ``LOCAL_RANK`` and the NCCL backend, or the gloo
backend on CPU. Without those variables training runs in one process. Only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from inference.errors import BadInputError


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1
    amp_dtype: torch.dtype | None = None      # autocast dtype on CUDA, None = full precision

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def scaler(self) -> torch.amp.GradScaler:
        # float16 needs loss scaling; bfloat16 (and full precision) do not.
        return torch.amp.GradScaler(self.device.type,
                                    enabled=self.amp_dtype == torch.float16)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def mean(self, value: float) -> float:
        """A scalar averaged over the processes (for logging)."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def setup_runtime(device: str = "auto", amp: bool = True) -> Runtime:
    """Pick the device and join the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"--device must be auto, cpu or cuda, got {device!r}")
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise BadInputError("--device cuda was asked for but no CUDA device is available")
    if use_cuda:
        dev = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    amp_dtype = None
    if amp and use_cuda:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return Runtime(device=dev, rank=rank, world=world, amp_dtype=amp_dtype)


def seed_everything(seed: int, threads: int = 0) -> None:
    if threads > 0:
        torch.set_num_threads(threads)
    # Data randomness is seeded per sample (training.data.datasets.sample_rng); these cover
    # network initialisation and any library that draws from the global generators.
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    return module.module if hasattr(module, "module") else module


def wrap_ddp(module: torch.nn.Module, rt: Runtime, find_unused: bool = False) -> torch.nn.Module:
    if not rt.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [rt.device.index] if rt.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused)
