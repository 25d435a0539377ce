"""Training datasets: image/label-map folders as numpy arrays (torch wrappers live elsewhere)."""

from __future__ import annotations

from training.data.ade20k import ADE20KFolder

__all__ = ["ADE20KFolder"]
