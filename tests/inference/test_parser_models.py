"""ONNX scene parser: loading, shapes, label offset, resizing / sliding windows, error paths.

The models are tiny torch nets exported to ONNX inside the tests: an average pool (the output is
at 1/4 of the input, like SegFormer) and a 1×1 convolution whose class 0 / 1 / 2 logits are the
normalised R / G / B values and whose other 147 classes are strongly negative. So a red pixel is
model class 0 = ADE20K id 1, green -> id 2, blue -> id 3; other ids never appear.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from inference.errors import CancelledError, CheckpointError, ImageError, ModelUnavailableError
from inference.parser import Preprocessing
from inference.parser.loader import load_parser
from inference.parser.onnx_parser import OnnxSceneParser
from inference.progress import CancelToken

RED, GREEN, BLUE = (230, 20, 20), (20, 230, 20), (20, 20, 230)


def build_colour_model(path: Path, classes: int = 150, pool: int = 4,
                       fixed_hw: tuple[int, int] | None = None, flatten: bool = False) -> Path:
    """Export the colour-to-class net described in the module doc to ``path``."""
    import torch
    from torch import nn

    class ColourNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AvgPool2d(pool)
            self.head = nn.Conv2d(3, classes, 1)
            with torch.no_grad():
                self.head.weight.zero_()
                self.head.bias.fill_(-50.0)
                for c in range(min(3, classes)):
                    self.head.weight[c, c] = 5.0
                    self.head.bias[c] = 0.0

        def forward(self, x):  # (N, 3, H, W) -> (N, C, H/pool, W/pool)
            y = self.head(self.pool(x))
            return y.flatten(2) if flatten else y

    h, w = fixed_hw or (64, 64)
    dynamic = None if fixed_hw else {"pixel_values": {0: "n", 2: "h", 3: "w"},
                                     "logits": {0: "n", 2: "oh", 3: "ow"}}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(ColourNet().eval(), torch.zeros(1, 3, h, w), str(path),
                          opset_version=17, input_names=["pixel_values"],
                          output_names=["logits"], dynamic_axes=dynamic, dynamo=False)
    return path


def halves(h: int, w: int, left=RED, right=BLUE) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:, : w // 2] = left
    img[:, w // 2:] = right
    return img


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    return build_colour_model(tmp_path_factory.mktemp("models") / "colour.onnx")


def test_local_path_output_shape_offset_and_provider(model_path):
    parser = load_parser(str(model_path))
    img = halves(120, 200)
    img[:40, :] = GREEN
    result = parser.parse(img, refine=False)
    assert result.labels.shape == (120, 200) and result.labels.dtype == np.uint8
    # Model class i -> ADE20K id i + 1: red 0 -> 1, green 1 -> 2, blue 2 -> 3.
    assert result.labels[80, 10] == 1 and result.labels[5, 100] == 2 and result.labels[80, 190] == 3
    assert set(np.unique(result.labels)) == {1, 2, 3}
    assert result.provider == "CPUExecutionProvider"
    assert result.working_size == (512, 853)  # short side to 512, aspect kept
    assert result.windows == 1


def test_label_offset_override(model_path):
    with pytest.raises(CheckpointError, match="150 classes with label offset 0"):
        load_parser(str(model_path), Preprocessing(label_offset=0))
    model151 = build_colour_model(model_path.parent / "c151.onnx", classes=151)
    labels = load_parser(str(model151), Preprocessing(label_offset=0)).parse(halves(64, 64)).labels
    assert labels[10, 5] == 0 and labels[10, 60] == 2  # offset 0: class i -> id i


def test_large_photo_is_resized_and_labels_come_back_full_size(model_path):
    parser = load_parser(str(model_path))
    img = halves(2000, 3000)
    result = parser.parse(img)
    assert result.labels.shape == (2000, 3000)
    assert result.working_size == (512, 768)
    assert (result.labels[:, :1400] == 1).all() and (result.labels[:, 1600:] == 3).all()
    edge = np.flatnonzero(np.diff(result.labels[1000].astype(int)))
    assert len(edge) == 1 and abs(int(edge[0]) - 1499) <= 2


def test_panorama_runs_sliding_windows(model_path):
    pre = Preprocessing(input_size=64, max_whole_side=128)
    parser = OnnxSceneParser(model_path, pre)
    img = halves(256, 1024)
    calls = []
    result = parser.parse(img, progress=lambda d, t: calls.append((d, t)))
    # Working 64×256; 64-px windows every 32 px -> 7 windows.
    assert result.working_size == (64, 256) and result.windows == 7
    assert result.labels.shape == (256, 1024)
    assert (result.labels[:, :480] == 1).all() and (result.labels[:, 544:] == 3).all()
    assert calls[-1] == (8, 8) and len(calls) == 8


def test_fixed_input_model_is_tiled(tmp_path):
    fixed = build_colour_model(tmp_path / "fixed.onnx", fixed_hw=(64, 64))
    parser = OnnxSceneParser(fixed, Preprocessing(input_size=64))
    assert parser.fixed_hw == (64, 64)
    result = parser.parse(halves(200, 300))
    assert result.windows == 2  # working 64×96: windows at x = 0 and 32
    assert result.labels.shape == (200, 300)
    assert result.labels[100, 20] == 1 and result.labels[100, 280] == 3


def test_refinement_snaps_a_curved_boundary(model_path):
    # A blue disc on red: the model sees a 64-px working image and predicts at 16 px,
    # so plain upsampling has 16-px steps; the refinement should follow the circle.
    yy, xx = np.mgrid[0:256, 0:256]
    disc = (yy - 120) ** 2 + (xx - 135) ** 2 < 70 ** 2
    img = np.where(disc[..., None], np.uint8(BLUE), np.uint8(RED)).astype(np.uint8)
    truth = np.where(disc, 3, 1)
    parser = load_parser(str(model_path), Preprocessing(input_size=64))
    plain = parser.parse(img, refine=False).labels
    refined = parser.parse(img, refine=True).labels
    err_plain, err_refined = (plain != truth).mean(), (refined != truth).mean()
    assert err_refined < 0.25 * err_plain, (err_plain, err_refined)
    assert err_refined < 0.002


def test_cancel_stops_before_the_model_runs(model_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        load_parser(str(model_path)).parse(halves(64, 64), cancel=token)


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((8, 8, 3), np.float32),
                                 np.zeros((8, 8, 4), np.uint8), "not an array"])
def test_bad_image_is_refused(model_path, bad):
    with pytest.raises(ImageError, match="uint8 H×W×3"):
        load_parser(str(model_path)).parse(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ModelUnavailableError, match="not found.*nope.onnx"):
        load_parser(str(tmp_path / "nope.onnx"))


def test_not_an_onnx_file(tmp_path):
    bad = tmp_path / "fake.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(CheckpointError, match=r"fake\.onnx is not a loadable ONNX model"):
        load_parser(str(bad))


def test_wrong_class_count_is_refused_at_load(tmp_path):
    ten = build_colour_model(tmp_path / "ten.onnx", classes=10, fixed_hw=(64, 64))
    with pytest.raises(CheckpointError, match="outputs 10 classes"):
        load_parser(str(ten))


def test_wrong_output_rank_is_refused(tmp_path):
    flat = build_colour_model(tmp_path / "flat.onnx", flatten=True)
    with pytest.raises(CheckpointError, match=r"must output N×C×h×w logits"):
        load_parser(str(flat))


def test_unknown_parser_name_lists_the_choices():
    from inference.errors import BadInputError

    with pytest.raises(BadInputError, match="unknown parser 'segformer-b9'.*segformer-b0-ade"):
        load_parser("segformer-b9")


def test_preprocessing_is_frozen():
    pre = Preprocessing()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pre.label_offset = 0  # type: ignore[misc]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("mean", (float("nan"),) * 3, "mean must be three finite numbers"),
    ("std", (0.0, 0.0, 0.0), "std must be positive"),
    ("std", (float("inf"), 1.0, 1.0), "std must be three finite numbers"),
    ("input_size", 100_000, "input size must be 32..2048"),
    ("label_offset", 7, "label offset must be 0 or 1"),
])
def test_preprocessing_refuses_values_that_give_silent_wrong_maps(field, value, message):
    import dataclasses

    from inference.errors import BadInputError

    with pytest.raises(BadInputError, match=message):
        dataclasses.replace(Preprocessing(), **{field: value})
