"""Loading what the command-line sub-commands share: photos, label maps, masks, models."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

from inference.imageio import load_image, load_label_map, load_mask
from inference.pipeline.editor import Reference
from inference.pipeline.models import EngineModels, ParserFn


@dataclass
class EditInputs:
    image: np.ndarray
    edited_labels: np.ndarray
    labels: np.ndarray | None = None
    mask: np.ndarray | None = None
    references: list[Reference] = field(default_factory=list)


def load_inputs(args: argparse.Namespace) -> EditInputs:
    """Read and validate every file an ``edit`` names; sizes must match the photo."""
    image = load_image(args.image)
    shape = image.shape[:2]
    inputs = EditInputs(image=image,
                        edited_labels=load_label_map(args.edited_labels, shape, args.image))
    if args.labels:
        inputs.labels = load_label_map(args.labels, shape, args.image)
    if args.mask:
        inputs.mask = load_mask(args.mask, shape, args.image)
    ref_labels = list(args.reference_labels or [])
    for i, ref_path in enumerate(args.reference or []):
        ref = load_image(ref_path)
        labels_path = ref_labels[i] if i < len(ref_labels) else None
        labels = load_label_map(labels_path, ref.shape[:2], ref_path) if labels_path else None
        inputs.references.append(Reference(ref, labels))
    return inputs


def make_parser_fn(spec: str | None, device: str) -> ParserFn:
    """A ``LabelMap``-returning function for the parser ``spec`` (loaded on first use)."""
    loaded = {}

    def parse(image: np.ndarray) -> np.ndarray:
        if "parser" not in loaded:
            from inference.parser import load_parser

            loaded["parser"] = load_parser(spec, device=device)
        return loaded["parser"].parse(image).labels

    return parse


def build_models(checkpoint: str | None, parser: str | None, device: str) -> EngineModels:
    parser_fn = make_parser_fn(parser, device)
    if checkpoint:
        return EngineModels.from_checkpoint(checkpoint, parser=parser_fn, device=device)
    return EngineModels(parser=parser_fn)
