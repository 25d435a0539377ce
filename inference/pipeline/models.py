"""The optional models an edit can use: a parser, learned warp features, the generator.

Without any of them the engine still runs end to end (hand-made features, patch synthesis);
``EngineModels.from_checkpoint`` loads whatever networks a checkpoint holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from inference.checkpoint import Checkpoint, load_checkpoint
from inference.correspondence.base import FeatureProvider
from inference.correspondence.features import SemanticFeatures
from inference.errors import BadInputError, CheckpointError

ParserFn = Callable[[np.ndarray], np.ndarray]   # RGBImage -> LabelMap

GENERATOR = "generator"
CORRESPONDENCE = "correspondence"


@dataclass
class EngineModels:
    parser: ParserFn | None = None
    feature_provider: FeatureProvider | None = None     # None = hand-made features
    generator: torch.nn.Module | None = None
    checkpoint: Checkpoint | None = None
    onnx_dir: str | None = None                          # exported ONNX models, for runtime onnx

    @staticmethod
    def from_checkpoint(location: str, parser: ParserFn | None = None,
                        device: str = "cpu") -> EngineModels:
        ck = load_checkpoint(location)
        # A checkpoint with neither network would otherwise run the classical path silently.
        ck.require_any((GENERATOR, CORRESPONDENCE), "the editor")
        models = EngineModels(parser=parser, checkpoint=ck)
        if ck.has(GENERATOR):
            from inference.networks.generator import GeneratorConfig, ManipulationGenerator

            gen = ck.build(GENERATOR, GeneratorConfig, ManipulationGenerator)
            models.generator = gen.to(device)
        if ck.has(CORRESPONDENCE):
            from inference.correspondence.learned import LearnedFeatures
            from inference.networks.correspondence_net import (
                CorrespondenceNet,
                CorrespondenceNetConfig,
            )

            net = ck.build(CORRESPONDENCE, CorrespondenceNetConfig, CorrespondenceNet)
            models.feature_provider = LearnedFeatures(net, device=device)
        if ck.path.joinpath("onnx").is_dir():
            models.onnx_dir = str(ck.path / "onnx")
        return models

    def features(self, runtime: str = "torch", device: str = "cpu") -> FeatureProvider:
        if runtime == "onnx":
            self._check_onnx()
            if self.feature_provider is not None:   # the checkpoint has learned features
                from inference.onnx_runtime import OnnxFeatures

                return OnnxFeatures(self.onnx_dir, device=device)
        return self.feature_provider or SemanticFeatures()

    def _check_onnx(self) -> None:
        if self.checkpoint is None:
            raise BadInputError("--runtime onnx runs a checkpoint's networks; pass --checkpoint")
        if self.onnx_dir is None:
            raise BadInputError(
                f"--runtime onnx needs the checkpoint's exported networks in "
                f"{self.checkpoint.path / 'onnx'}; run `python -m training export --checkpoint "
                f"{self.checkpoint.path}` first"
            )

    def parse(self, image: np.ndarray, what: str) -> np.ndarray:
        if self.parser is None:
            raise BadInputError(
                f"no label map for the {what} and no semantic parser is configured; pass its "
                f"label map, or choose a parser"
            )
        return self.parser(image)

    @torch.no_grad()
    def generate(self, xwarp: np.ndarray, labels: np.ndarray, mask: np.ndarray, device: str,
                 runtime: str = "torch") -> np.ndarray:
        """Generator output ``(h, w, 3)`` float in [0, 1] for a working-resolution crop."""
        h, w = labels.shape
        ph, pw = (-h) % 8, (-w) % 8   # the generator needs multiples of 8
        x = torch.from_numpy(np.ascontiguousarray(xwarp)).permute(2, 0, 1)[None].float()
        c = torch.from_numpy(labels.astype(np.int64))[None]
        m = torch.from_numpy(mask.astype(np.float32))[None, None]
        if ph or pw:
            x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
            c = torch.nn.functional.pad(c[None].float(), (0, pw, 0, ph), mode="replicate")[0].long()
            m = torch.nn.functional.pad(m, (0, pw, 0, ph), mode="replicate")
        known = x * (1.0 - m)
        if runtime == "onnx":
            from inference.onnx_runtime import run_generator_onnx

            self._check_onnx()
            y = run_generator_onnx(f"{self.onnx_dir}/generator.onnx", x, c, m, known, device)
        else:
            gen = self.generator.to(device)
            y, _ = gen(x.to(device), c.to(device), m.to(device), known.to(device))
            y = y.float().cpu()
        if not bool(torch.isfinite(y).all()):
            # Non-finite output becomes black pixels once clipped: fail instead, naming it.
            source = self.checkpoint.path if self.checkpoint is not None else "(no checkpoint)"
            raise CheckpointError(
                f"the generator of checkpoint {source} ({runtime}) output non-finite values "
                f"(NaN or inf) on a {w}×{h} crop; its weights or the runtime are broken")
        return y[0, :, :h, :w].permute(1, 2, 0).numpy()
