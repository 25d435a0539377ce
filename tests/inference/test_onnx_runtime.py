from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.checkpoint import save_checkpoint
from inference.errors import BadInputError, CheckpointError
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
from inference.networks.generator import GeneratorConfig, ManipulationGenerator
from inference.onnx_runtime import cached_session, export_correspondence, export_generator
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.models import EngineModels
from training.export import check_correspondence, check_generator
from training.synth import generate_scene

ROOT = Path(__file__).resolve().parents[2]
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("onnx")
    gcfg, ccfg = GeneratorConfig.tiny(), CorrespondenceNetConfig.tiny()
    save_checkpoint(d / "ck", {"generator": (gcfg, ManipulationGenerator(gcfg)),
                               "correspondence": (ccfg, CorrespondenceNet(ccfg))})
    return d / "ck"


def test_generator_parity_within_1e3_at_several_sizes(tmp_path):
    torch.manual_seed(1)
    gen = ManipulationGenerator(GeneratorConfig.tiny()).eval()
    path = export_generator(gen, tmp_path / "g.onnx")
    for size in ((48, 80), (64, 64), (32, 96)):
        assert check_generator(gen, path, size) < 1e-3


def test_correspondence_parity_within_1e3(tmp_path):
    torch.manual_seed(2)
    net = CorrespondenceNet(CorrespondenceNetConfig.tiny()).eval()
    export_correspondence(net, tmp_path)
    assert check_correspondence(net, tmp_path, (40, 56)) < 1e-3
    assert check_correspondence(net, tmp_path, (30, 42)) < 1e-3   # not multiples of 4


def test_export_command_and_onnx_runtime_edit(tiny_checkpoint):
    p = subprocess.run([sys.executable, "-m", "training", "export", "--checkpoint",
                        str(tiny_checkpoint)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    assert (tiny_checkpoint / "onnx" / "generator.onnx").is_file()
    assert "max |torch - onnx|" in p.stdout
    img, lab = generate_scene(4, (64, 80))
    edited = lab.copy()
    edited[8:28, 10:40] = lab[0, 0]
    settings = {"warp": "hrs-ms", "working_size": 64, "iterations": 3, "device": "cpu"}
    models = EngineModels.from_checkpoint(str(tiny_checkpoint))
    out_t = LayoutEditor(EditSettings(**settings), models).edit(img, edited, lab)
    out_o = LayoutEditor(EditSettings(**settings, runtime="onnx"), models).edit(img, edited, lab)
    assert out_o.route == "generator"
    np.testing.assert_array_equal(out_o.image[~out_o.mask], img[~out_o.mask])
    # same seed, same networks: the two runtimes agree to within rounding
    assert np.abs(out_o.image.astype(int) - out_t.image.astype(int)).max() <= 2


def test_onnx_runtime_errors(tmp_path, tiny_checkpoint):
    img, lab = generate_scene(4, (48, 48))
    edited = lab.copy()
    edited[:8] = 21  # a car where there was none
    with pytest.raises(BadInputError, match="pass --checkpoint"):
        LayoutEditor(EditSettings(runtime="onnx", warp="hrs-ms")).edit(img, edited, lab)
    gcfg = GeneratorConfig.tiny()
    save_checkpoint(tmp_path / "noexport", {"generator": (gcfg, ManipulationGenerator(gcfg))})
    models = EngineModels.from_checkpoint(str(tmp_path / "noexport"))
    with pytest.raises(BadInputError, match="training export"):
        LayoutEditor(EditSettings(runtime="onnx", warp="hrs-ms"), models).edit(img, edited, lab)
    with pytest.raises(CheckpointError, match="not found"):
        cached_session(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        cached_session(tmp_path / "junk.onnx", "cpu")
