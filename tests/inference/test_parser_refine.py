"""Edge-aware refinement of coarse class probabilities (inference/parser/refine.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.errors import BadInputError
from inference.parser.refine import (
    RefineConfig,
    candidate_classes,
    guided_argmax,
    upsample_argmax,
)
from training.parser_eval import boundary_f


def textured_scene(size: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes with curved borders, each with its own colour, stripes and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    labels = np.zeros((size, size), np.int64)
    labels[yy > size * 0.45 + 25 * np.sin(xx / 23)] = 1
    labels[(yy - 80) ** 2 + (xx - 170) ** 2 < 45 ** 2] = 2
    colours = np.array([[60, 120, 200], [90, 160, 60], [200, 80, 60]], np.float32)
    image = colours[labels] + 12 * np.sin(xx / 3)[..., None] + rng.normal(0, 6, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8), labels


def coarse(labels: np.ndarray, factor: int, soften: float = 1.0) -> np.ndarray:
    h, w = labels.shape
    probs = np.stack([cv2.resize((labels == c).astype(np.float32), (w // factor, h // factor),
                                 interpolation=cv2.INTER_AREA) for c in range(labels.max() + 1)])
    return np.stack([cv2.GaussianBlur(p, (0, 0), soften) for p in probs])


@pytest.mark.parametrize("factor", [8, 16])
def test_refinement_improves_boundary_f_score(factor):
    image, truth = textured_scene()
    probs = coarse(truth, factor)
    plain = upsample_argmax(probs, truth.shape)
    refined = guided_argmax(image, probs)
    f_plain, f_refined = boundary_f(plain, truth), boundary_f(refined, truth)
    assert f_refined > f_plain + 0.05, (f_plain, f_refined)
    assert (refined == truth).mean() > (plain == truth).mean()


def test_refinement_at_full_resolution_of_a_large_photo():
    # The guide is capped at max_guide_side; coefficients are applied at full size.
    image, truth = textured_scene(256)
    big = cv2.resize(image, (1536, 1536), interpolation=cv2.INTER_NEAREST)
    big_truth = cv2.resize(truth.astype(np.uint8), (1536, 1536), interpolation=cv2.INTER_NEAREST)
    probs = coarse(truth, 16)
    refined = guided_argmax(big, probs, RefineConfig(max_guide_side=512))
    plain = upsample_argmax(probs, (1536, 1536))
    assert refined.shape == (1536, 1536)
    assert (refined == big_truth).mean() > (plain == big_truth).mean() + 0.01


def test_coverage_maps_a_padded_prediction_onto_the_image():
    # Probabilities for a 64-wide padded input of which the image is the left 48 columns.
    probs = np.zeros((2, 16, 16), np.float32)
    probs[0, :, :6] = 1.0   # class 0 on the image's left half (24 of 48 px = 6 coarse px)
    probs[1, :, 6:] = 1.0
    out = upsample_argmax(probs, (48, 48), coverage=(1.0, 0.75))
    assert out[:, :22].max() == 0 and out[:, 26:].min() == 1


def test_candidate_classes_skip_classes_that_never_compete():
    probs = np.full((150, 4, 4), 1e-4, np.float32)
    probs[7] = 0.9
    probs[3, 0, 0] = 0.5
    assert set(candidate_classes(probs).tolist()) >= {3, 7}
    assert len(candidate_classes(probs)) <= 3


def test_bad_shapes_are_refused():
    with pytest.raises(BadInputError, match="C×h×w"):
        upsample_argmax(np.zeros((4, 4), np.float32), (8, 8))
    with pytest.raises(BadInputError, match="H×W×3"):
        guided_argmax(np.zeros((8, 8), np.uint8), np.zeros((2, 4, 4), np.float32))
