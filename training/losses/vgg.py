"""Our own VGG-19 feature extractor for the perceptual, feature-matching and contextual losses.

Weights come only from safetensors: by default ``timm/vgg19.tv_in1k`` on the Hugging Face Hub
(torchvision's ImageNet VGG-19, whose ``features.N.*`` keys match this module), or a local
``.safetensors`` file. Without them (offline, not in the cache) :func:`load_vgg19` warns once and
falls back to **fixed random VGG-19 features**: the same architecture with a seeded He
initialisation, frozen. Random convolutional features still measure local structure and colour
statistics (they are what "random-network" texture losses use), but they are a far weaker
semantic prior than ImageNet features; the fallback is recorded in the training log and in the
checkpoint metadata (``metadata.vgg``), so a checkpoint says which one it was trained with.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.errors import BadInputError, ModelUnavailableError

DEFAULT_VGG = "hf:timm/vgg19.tv_in1k"
# SHA-256 of model.safetensors in timm/vgg19.tv_in1k (the Hub's LFS record): a download is
# checked against it, so a changed upstream file cannot silently change our losses.
KNOWN_SHA256 = {
    "timm/vgg19.tv_in1k": "11aea017b543ff59233749d8f1cf544cda749378f5790d2fedab841fb86b7669",
}
RANDOM = "random"
RANDOM_SEED = 0

# (name, out channels) of VGG-19's conv layers up to conv5_2 ("M" = 2×2 max pool).
_PLAN: tuple[Any, ...] = (
    ("1_1", 64), ("1_2", 64), "M", ("2_1", 128), ("2_2", 128), "M",
    ("3_1", 256), ("3_2", 256), ("3_3", 256), ("3_4", 256), "M",
    ("4_1", 512), ("4_2", 512), ("4_3", 512), ("4_4", 512), "M",
    ("5_1", 512), ("5_2", 512),
)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """``image (B, 3, H, W)`` in [0, 1] -> ``{"relu<b>_<i>": (B, C, H/2^(b-1), W/2^(b-1))}``.

    Layer indices equal torchvision's ``vgg19().features`` so its weights load by name. Frozen:
    parameters never require grad, but gradients flow to the input.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self.names: dict[int, str] = {}
        cin = 3
        for item in _PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            name, cout = item
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=False)]
            self.names[len(layers) - 1] = f"relu{name}"
            cin = cout
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Features:   # always frozen
        return super().train(False)

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        unknown = wanted - set(self.names.values())
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {sorted(unknown)}")
        x = (image - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            name = self.names.get(i)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out

    def randomise(self, seed: int = RANDOM_SEED) -> VGG19Features:
        """Seeded He (fan-out) initialisation, torchvision's own VGG init: activations keep
        their scale through the 16 layers, so every layer's loss term stays informative."""
        g = torch.Generator().manual_seed(seed)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                std = (2.0 / (m.out_channels * 9)) ** 0.5
                with torch.no_grad():
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                    m.bias.zero_()
        return self


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _weights_file(spec: str) -> Path:
    if spec.startswith("hf:"):
        from inference.hub import hub_snapshot

        repo, _, revision = spec[3:].partition("@")
        folder = hub_snapshot(repo, revision or None, ["model.safetensors"], "VGG-19 weights")
        path = folder / "model.safetensors"
        if not path.is_file():
            raise ModelUnavailableError(f"VGG-19 weights {spec} have no model.safetensors")
        want = KNOWN_SHA256.get(repo)
        if want and not revision and _sha256(path) != want:
            raise ModelUnavailableError(f"VGG-19 weights {path} do not match the known SHA-256 "
                                        f"of {repo}; delete them from the cache and retry")
        return path
    path = Path(spec).expanduser()
    if path.suffix != ".safetensors" or not path.is_file():
        raise BadInputError(f"VGG-19 weights must be hf:ORG/REPO, a .safetensors file or "
                            f"'{RANDOM}', got {spec!r}")
    return path


def load_vgg19(spec: str = DEFAULT_VGG, strict: bool = False) -> tuple[VGG19Features, dict]:
    """The VGG-19 for the losses and a record of where its weights came from.

    ``spec``: ``hf:ORG/REPO[@REV]``, a local ``.safetensors`` file, or ``random``. When the
    weights cannot be had and ``strict`` is false, warn and use seeded random features.
    """
    from safetensors.torch import load_file

    net = VGG19Features()
    if spec == RANDOM:
        return net.randomise(), {"weights": "random", "seed": RANDOM_SEED, "requested": spec}
    try:
        path = _weights_file(spec)
        tensors = load_file(str(path))
    except ModelUnavailableError as exc:
        if strict:
            raise
        print(f"warning: VGG-19 weights unavailable ({exc}); the perceptual, feature-matching "
              f"and contextual losses fall back to FIXED RANDOM VGG-19 features (seed "
              f"{RANDOM_SEED}), a much weaker prior; see training/README", file=sys.stderr)
        return net.randomise(), {"weights": "random", "seed": RANDOM_SEED, "requested": spec,
                                 "reason": str(exc)}
    own = net.state_dict()
    missing = [k for k in own if k not in tensors]
    if missing:
        raise BadInputError(f"VGG-19 weights {path} lack {missing[:3]}: not a torchvision/timm "
                            "VGG-19 state dict")
    for k in own:
        if tuple(tensors[k].shape) != tuple(own[k].shape):
            raise BadInputError(f"VGG-19 weight {k} in {path} has shape "
                                f"{tuple(tensors[k].shape)}, expected {tuple(own[k].shape)}")
    net.load_state_dict({k: tensors[k].float() for k in own})
    return net, {"weights": spec, "file": str(path)}
