"""ONNX Runtime sessions, and ONNX export / execution of the engine's networks.

``create_session`` picks CUDA only when it can actually load (no error spam when it cannot) and
falls back to the CPU. The generator and the correspondence feature networks export to ONNX with
dynamic height and width; ``--runtime onnx`` runs them here and must match PyTorch within 1e-3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch

from inference.errors import BadInputError, CheckpointError, ModelUnavailableError

Device = Literal["auto", "cpu", "cuda"]
_ORT_DEFAULT_SEVERITY = 2  # onnxruntime's own default: warnings and above
_cuda_loads: bool | None = None  # whether a CUDA session could be made, learned once per process
_sessions: dict[tuple[str, str], object] = {}


def create_session(path: Path, device: Device = "auto", what: str = "parser model"):
    """An ``onnxruntime.InferenceSession`` on CUDA when asked or available and loadable, else CPU.

    ``get_available_providers()`` lists CUDA whenever the GPU build is installed, even with no GPU
    or missing CUDA libraries; ORT then falls back to CPU after logging errors. So the first
    attempt runs with ORT's logging silenced and we check which provider the session really got.
    """
    global _cuda_loads
    import onnxruntime as ort

    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"device must be auto, cpu or cuda, got {device!r}")
    options = ort.SessionOptions()
    # Fatal only: a failing node is reported once, as our own one-line error, not also as
    # ORT's coloured log lines on stderr before it.
    options.log_severity_level = 4
    want_cuda = device == "cuda" or (device == "auto" and _cuda_loads is not False)
    want_cuda = want_cuda and "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cuda" and not want_cuda:
        raise ModelUnavailableError(
            "device cuda was asked for, but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {', '.join(ort.get_available_providers())})")
    providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if want_cuda
                 else ["CPUExecutionProvider"])
    try:
        if want_cuda:
            ort.set_default_logger_severity(4)  # a CUDA library that fails to load logs errors
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # ORT raises its own pybind types for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{what} {path} is not a loadable ONNX model: {first}") from None
    finally:
        if want_cuda:
            ort.set_default_logger_severity(_ORT_DEFAULT_SEVERITY)
    got_cuda = session.get_providers()[0] == "CUDAExecutionProvider"
    if want_cuda:
        _cuda_loads = got_cuda
    if device == "cuda" and not got_cuda:
        raise ModelUnavailableError(
            "device cuda was asked for, but ONNX Runtime could not load CUDA (missing GPU, "
            "driver, CUDA or cuDNN libraries); use --device cpu")
    return session


def cached_session(path: str | Path, device: Device = "auto", what: str = "network"):
    """One session per (model file, device) for the life of the process."""
    key = (str(path), device)
    if key not in _sessions:
        if not Path(path).is_file():
            raise CheckpointError(f"{what} ONNX file not found: {path}")
        _sessions[key] = create_session(Path(path), device, what)
    return _sessions[key]


class _GeneratorGraph(torch.nn.Module):
    """The generator's final output only, with the labels as a float map (ONNX-friendly)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, xwarp, labels, mask, known):
        y, _ = self.generator(xwarp, labels, mask, known)
        return y


class _SourceGraph(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image, labels):
        return self.net.source_features(image, labels)


class _TargetGraph(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, labels, image, known):
        return self.net.target_features(labels, image, known)


def _export(module: torch.nn.Module, args: tuple, path: Path, names: list[str],
            outputs: list[str], dynamic: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with torch.no_grad():
        torch.onnx.export(module.eval(), args, str(tmp), opset_version=17, input_names=names,
                          output_names=outputs, dynamic_axes=dynamic, dynamo=False)
    tmp.replace(path)
    return path


def export_generator(generator: torch.nn.Module, path: str | Path, size: int = 64) -> Path:
    """Export to ``path``: inputs xwarp, labels (int64), mask, known; output y. H, W dynamic."""
    x = torch.rand(1, 3, size, size)
    c = torch.randint(0, 151, (1, size, size))
    m = torch.zeros(1, 1, size, size)
    m[..., size // 4: size // 2, size // 4: size // 2] = 1
    hw = {2: "h", 3: "w"}
    return _export(_GeneratorGraph(generator), (x, c, m, x * (1 - m)), Path(path),
                   ["xwarp", "labels", "mask", "known"], ["y"],
                   {"xwarp": hw, "labels": {1: "h", 2: "w"}, "mask": hw, "known": hw, "y": hw})


def export_correspondence(net: torch.nn.Module, folder: str | Path, size: int = 64
                          ) -> list[Path]:
    """Export ``source_features`` and ``target_features`` as two graphs into ``folder``."""
    folder = Path(folder)
    img = torch.rand(1, 3, size, size)
    lab = torch.randint(0, 151, (1, size, size))
    known = torch.ones(1, size, size, dtype=torch.bool)
    hw, lhw = {2: "h", 3: "w"}, {1: "h", 2: "w"}
    src = _export(_SourceGraph(net), (img, lab), folder / "source_features.onnx",
                  ["image", "labels"], ["fx", "ux"],
                  {"image": hw, "labels": lhw, "fx": {2: "h4", 3: "w4"}, "ux": hw})
    tgt = _export(_TargetGraph(net), (lab, img, known), folder / "target_features.onnx",
                  ["labels", "image", "known"], ["fc", "uc"],
                  {"labels": lhw, "image": hw, "known": lhw, "fc": {2: "h4", 3: "w4"}, "uc": hw})
    return [src, tgt]


def run_generator_onnx(path: str | Path, xwarp: torch.Tensor, labels: torch.Tensor,
                       mask: torch.Tensor, known: torch.Tensor, device: Device = "auto"
                       ) -> torch.Tensor:
    """The exported generator's ``y`` for batch-1 inputs laid out as the torch module's."""
    if xwarp.shape[0] != 1:
        raise BadInputError(f"the ONNX generator runs one image at a time, got {xwarp.shape[0]}")
    session = cached_session(path, device, "generator")
    feeds = {"xwarp": xwarp.float().numpy(), "labels": labels.long().numpy(),
             "mask": mask.float().numpy(), "known": known.float().numpy()}
    (y,) = session.run(["y"], feeds)
    return torch.from_numpy(np.asarray(y))


def _pad4(t: torch.Tensor) -> torch.Tensor:
    """Replicate-pad the last two dims to multiples of 4, as the torch network does inside."""
    h, w = t.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if not (ph or pw):
        return t
    x = t if t.dim() == 4 else t[:, None]
    x = torch.nn.functional.pad(x.float(), (0, pw, 0, ph), mode="replicate").to(t.dtype)
    return x if t.dim() == 4 else x[:, 0]


def run_source_features_onnx(folder: str | Path, image: torch.Tensor, labels: torch.Tensor,
                             device: Device = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """``fx`` at H/4 (of the 4-padded size) and ``ux`` at ``(H, W)``, as the torch network."""
    session = cached_session(Path(folder) / "source_features.onnx", device, "feature network")
    h, w = labels.shape[-2:]
    fx, ux = session.run(["fx", "ux"], {"image": _pad4(image.float()).numpy(),
                                        "labels": _pad4(labels.long()).numpy()})
    return torch.from_numpy(fx), torch.from_numpy(ux)[..., :h, :w]


def run_target_features_onnx(folder: str | Path, labels: torch.Tensor, image: torch.Tensor,
                             known: torch.Tensor, device: Device = "auto"
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``fc`` and ``uc`` of the target layout, as the torch network's ``target_features``."""
    session = cached_session(Path(folder) / "target_features.onnx", device, "feature network")
    h, w = labels.shape[-2:]
    fc, uc = session.run(["fc", "uc"], {"labels": _pad4(labels.long()).numpy(),
                                        "image": _pad4(image.float()).numpy(),
                                        "known": _pad4(known.bool()).numpy()})
    return torch.from_numpy(fc), torch.from_numpy(uc)[..., :h, :w]


class OnnxFeatures:
    """The exported correspondence networks as a ``FeatureProvider`` (``--runtime onnx``)."""

    name = "learned-onnx"

    def __init__(self, folder: str | Path, device: Device = "auto") -> None:
        self.folder, self.device = Path(folder), device

    def __call__(self, request):
        from inference.correspondence.base import FeatureMaps

        sources = []
        for src in request.sources:
            _, ux = run_source_features_onnx(self.folder, src.image[None].cpu(),
                                             src.labels[None].cpu(), self.device)
            sources.append(ux[0])
        labels = request.target_labels[None].cpu()
        h, w = labels.shape[-2:]
        image = (torch.zeros(1, 3, h, w) if request.target_image is None
                 else request.target_image[None].cpu())
        if request.target_known is not None:
            known = request.target_known[None].cpu()
        else:
            known = torch.full((1, h, w), request.target_image is not None)
        _, uc = run_target_features_onnx(self.folder, labels, image, known, self.device)
        return FeatureMaps(sources=sources, target=uc[0])
