"""Resumable, distributed-aware infinite data loading.

:class:`InfiniteSampler` yields ``(index, position)``: global position ``p`` belongs to rank
``p mod world``; within epoch ``e = p // N`` the photo is ``perm_e[p mod N]`` with a permutation
seeded by ``(seed, e)``. Starting at a given per-rank offset continues a stream exactly, which is
what ``--resume`` needs; datasets seed their augmentation from the position.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class InfiniteSampler(Sampler):
    def __init__(self, size: int, seed: int = 0, start: int = 0, rank: int = 0,
                 world: int = 1) -> None:
        self.size, self.seed, self.start, self.rank, self.world = size, seed, start, rank, world

    def __iter__(self) -> Iterator[tuple[int, int]]:
        i = self.start
        epoch, perm = -1, None
        while True:
            pos = i * self.world + self.rank
            e = pos // self.size
            if e != epoch:
                epoch, perm = e, np.random.default_rng([self.seed, e]).permutation(self.size)
            yield int(perm[pos % self.size]), pos
            i += 1

    def __len__(self) -> int:   # DataLoader only uses it for len(); the stream is endless
        return 2**62


def make_loader(dataset: Dataset, batch_size: int, seed: int, start_step: int, rank: int,
                world: int, workers: int, pin_memory: bool, prefetch: int = 4) -> DataLoader:
    """An endless loader whose first batch is the one of ``start_step`` on this rank."""
    sampler = InfiniteSampler(len(dataset), seed, start_step * batch_size, rank, world)
    extra = {"prefetch_factor": prefetch, "persistent_workers": True} if workers > 0 else {}
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      pin_memory=pin_memory and torch.cuda.is_available(), drop_last=True,
                      **extra)
