"""Procedural outdoor scenes with ADE20K labels (``python -m training synth``)."""

from __future__ import annotations

from training.synth.scenes import SceneConfig, generate_scene, write_dataset

__all__ = ["SceneConfig", "generate_scene", "write_dataset"]
