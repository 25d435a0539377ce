"""Retrieval of semantically similar images by label histogram (paper 003's retrieved pairs).

Every label map becomes a normalised 151-bin class histogram; the similarity of two images is the
Bhattacharyya coefficient ``Σ_k sqrt(h_a(k) h_b(k))`` (1 for identical class proportions, 0 for
disjoint classes), which is a plain matrix product of square-rooted histograms and so scales to
ADE20K's 20k images in blocks. The ``k`` nearest neighbours of every image (itself excluded) are
cached in ``DATA/.relayout_cache/retrieval-<split>-k<k>.json`` with the list of file stems they
were computed from, so a changed folder is detected and the cache rebuilt.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from inference.imageio import atomic_write_bytes, load_label_map
from inference.labels import NUM_CLASSES
from training.data.ade20k import ADE20KFolder

CACHE_DIR = ".relayout_cache"
CACHE_VERSION = 1


def label_histogram(labels: np.ndarray) -> np.ndarray:
    """``(NUM_CLASSES + 1,)`` float32 class proportions of a ``LabelMap``."""
    hist = np.bincount(labels.reshape(-1), minlength=NUM_CLASSES + 1)[: NUM_CLASSES + 1]
    return (hist / max(1, labels.size)).astype(np.float32)


def nearest_neighbours(hists: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """``(N, k')`` int64 indices of the most similar other images, best first (k' = min(k, N-1))."""
    n = hists.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), np.int64)
    root = np.sqrt(hists.astype(np.float32))
    out = np.empty((n, k), np.int64)
    for r0 in range(0, n, block):
        sim = root[r0:r0 + block] @ root.T                       # (b, N)
        rows = np.arange(sim.shape[0])
        sim[rows, r0 + rows] = -np.inf                           # never retrieve itself
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, part, 1), axis=1, kind="stable")
        out[r0:r0 + block] = np.take_along_axis(part, order, 1)
    return out


def retrieval_index(folder: ADE20KFolder, k: int, cache: bool = True) -> np.ndarray:
    """Neighbour table of ``folder`` (cached in the data folder when it is writable)."""
    stems = [img.stem for img, _ in folder.pairs]
    path = folder.root / CACHE_DIR / f"retrieval-{folder.split}-k{k}.json"
    if cache and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and data.get("stems") == stems:
                return np.asarray(data["neighbours"], np.int64).reshape(len(stems), -1)
        except (OSError, ValueError):
            pass   # unreadable cache: rebuild it
    hists = np.stack([label_histogram(load_label_map(lab)) for _, lab in folder.pairs])
    table = nearest_neighbours(hists, k)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path.with_suffix(".hist.npy"), hists)
            atomic_write_bytes(path, json.dumps({"version": CACHE_VERSION, "k": k,
                                                 "stems": stems,
                                                 "neighbours": table.tolist()}).encode())
        except OSError as exc:   # a read-only data folder: keep the table in memory
            print(f"warning: could not cache the retrieval index in {path.parent}: {exc}",
                  file=sys.stderr)
    return table
