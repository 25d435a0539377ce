"""Torch datasets for the two training stages, over an ADE20K-layout folder.

Items are addressed by ``(index, position)``: ``index`` picks the photo, ``position`` is the
sample's global position in the training stream and seeds every random choice (crop, scale,
translation, flip, mask, retrieved neighbour). Results therefore do not depend on the number of
workers or processes, and a resumed run sees exactly the samples it would have seen
(:class:`InfiniteSampler` yields these pairs).

* :class:`CorrespondencePairs` (stage A, paper 003's scheme as used by paper 000 section 3.2):
  ``(x0, c0)``; the pseudo pair ``(x1, c1)``, a random translation / flip / zoom of it; and
  ``(x2, c2)``, a retrieved image with similar label histogram.
* :class:`ManipulationSamples` (stage B, Eq. 8): ``(x1, c1)``, a free-form mask ``m`` (DeepFill v2)
  and ``(x̃1, c̃1)``, a random translation and flip of the pair.

Tensors: images ``(3, S, S)`` float32 in [0, 1], labels ``(S, S)`` int64, mask ``(1, S, S)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from inference.errors import BadInputError
from inference.imageio import PHOTO_SUFFIXES
from training.data.ade20k import ADE20KFolder
from training.data.augment import AffineConfig, random_affine, resize_short_side, scaled_crop
from training.data.masks import FreeFormConfig, free_form_mask
from training.data.retrieval import CACHE_DIR, retrieval_index

MIN_SIZE = 32


@dataclass(frozen=True)
class DataConfig:
    """What the loaders produce; every field is settable with ``--set data.<name>=...``."""

    size: int = 256                               # S: square training crops
    split: str = "training"
    scale: tuple[float, float] = (1.0, 1.25)      # crop scale augmentation (short side × s)
    pair: AffineConfig = field(default_factory=lambda: AffineConfig(   # stage A pseudo pairs
        translate=0.15, flip=0.5, scale=(0.85, 1.2)))
    shift: AffineConfig = field(default_factory=lambda: AffineConfig(  # stage B, Eq. 8
        translate=0.25, flip=0.5, scale=(1.0, 1.0)))
    retrieval_k: int = 5                          # retrieved pair drawn from the k nearest
    target_hidden: float = 0.5                    # stage A: P(target photo wholly unknown)
    mask: FreeFormConfig = field(default_factory=FreeFormConfig)
    workers: int = 2
    pin_memory: bool = True
    prefetch: int = 4                             # batches prefetched per worker
    cache_decoded: bool = False                   # decoded, resized arrays in DATA/.relayout_cache

    def __post_init__(self) -> None:
        if self.size < MIN_SIZE or self.size % 8:
            raise BadInputError(f"--size must be a multiple of 8, >= {MIN_SIZE}, got {self.size}")
        if self.workers < 0 or self.retrieval_k < 1:
            raise BadInputError(f"data workers must be >= 0 and retrieval_k >= 1, got "
                                f"{self.workers} / {self.retrieval_k}")
        if not 1.0 <= self.scale[0] <= self.scale[1]:
            raise BadInputError(f"data scale must be 1 <= lo <= hi, got {self.scale}")


class PhotoStore:
    """Photos of a folder at a common short side, decoded once to disk when caching is on.

    The cache holds one ``uint8 (H, W, 4)`` ``.npy`` per photo (RGB + labels), memory-mapped on
    read, so every worker process shares the operating system's page cache instead of decoding
    JPEGs again each epoch.
    """

    def __init__(self, folder: ADE20KFolder, short_side: int, cache: bool) -> None:
        self.folder = folder
        self.short = short_side
        self.cache_dir = (folder.root / CACHE_DIR / f"decoded-{folder.split}-{short_side}"
                          if cache else None)

    def __len__(self) -> int:
        return len(self.folder)

    def get(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self.cache_dir is not None:
            path = self.cache_dir / f"{self.folder.pairs[index][0].stem}.npy"
            if path.is_file():
                arr = np.load(path, mmap_mode="r")
                return np.asarray(arr[..., :3]), np.asarray(arr[..., 3])
        rgb, labels = resize_short_side(*self.folder[index], self.short)
        if self.cache_dir is not None:
            _atomic_save(path, np.concatenate([rgb, labels[..., None]], axis=2))
        return rgb, labels


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)


def to_image(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)


def to_labels(labels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(labels).astype(np.int64))


def sample_rng(seed: int, position: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(position)])


class _FolderDataset(Dataset):
    def __init__(self, root: str | os.PathLike, config: DataConfig, seed: int = 0) -> None:
        self.config = config
        self.seed = seed
        self.folder = ADE20KFolder(root, config.split)   # type: ignore[arg-type]
        self.store = PhotoStore(self.folder, math.ceil(config.size * config.scale[1]),
                                config.cache_decoded)

    def __len__(self) -> int:
        return len(self.folder)

    def _crop(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        rgb, labels = self.store.get(index)
        return scaled_crop(rgb, labels, self.config.size, self.config.scale, rng)

    @staticmethod
    def _unpack(item) -> tuple[int, int]:
        if isinstance(item, (tuple, list)):
            return int(item[0]), int(item[1])
        return int(item), int(item)       # plain index: a fixed, reproducible sample


class CorrespondencePairs(_FolderDataset):
    """Stage A items: ``x0, c0`` (aligned), ``x1, c1`` (pseudo pair), ``x2, c2`` (retrieved),
    ``m`` the part of the target ``x0`` hidden from ``Uc``."""

    def __init__(self, root: str | os.PathLike, config: DataConfig, seed: int = 0) -> None:
        super().__init__(root, config, seed)
        self.neighbours = retrieval_index(self.folder, config.retrieval_k)

    def __getitem__(self, item) -> dict[str, torch.Tensor]:
        index, position = self._unpack(item)
        rng = sample_rng(self.seed, position)
        x0, c0 = self._crop(index, rng)
        x1, c1 = random_affine(x0, c0, rng, self.config.pair)
        row = self.neighbours[index]
        other = int(row[rng.integers(0, len(row))]) if len(row) else index
        x2, c2 = self._crop(other, rng)
        # Where the target photo is known to Uc: outside a free-form mask, as when editing, or
        # nowhere (global translation), so Uc learns both uses of its photo input.
        s = self.config.size
        if rng.random() < self.config.target_hidden:
            mask = np.ones((s, s), bool)
        else:
            mask = free_form_mask(rng, s, s, self.config.mask)
        return {"x0": to_image(x0), "c0": to_labels(c0), "x1": to_image(x1),
                "c1": to_labels(c1), "x2": to_image(x2), "c2": to_labels(c2),
                "m": torch.from_numpy(mask[None].astype(np.float32)),
                "index": torch.tensor(index), "retrieved": torch.tensor(other)}


class ManipulationSamples(_FolderDataset):
    """Stage B items: ``x1, c1``, free-form mask ``m``, and ``x1s, c1s`` = x̃1, c̃1 (Eq. 8)."""

    def __getitem__(self, item) -> dict[str, torch.Tensor]:
        index, position = self._unpack(item)
        rng = sample_rng(self.seed, position)
        x1, c1 = self._crop(index, rng)
        xs, cs = random_affine(x1, c1, rng, self.config.shift)
        s = self.config.size
        mask = free_form_mask(rng, s, s, self.config.mask)
        return {"x1": to_image(x1), "c1": to_labels(c1), "x1s": to_image(xs),
                "c1s": to_labels(cs), "m": torch.from_numpy(mask[None].astype(np.float32)),
                "index": torch.tensor(index)}


def photo_files(folder: str | os.PathLike) -> list[Path]:
    """The photos of a plain folder (for ``python -m training label``), sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise BadInputError(f"photo folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise BadInputError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) in {root}")
    return files
