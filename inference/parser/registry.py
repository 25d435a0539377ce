"""Known ADE20K scene parsers (ONNX exports on the Hugging Face Hub) and their preprocessing.

Every entry pins a revision, so the same bytes are fetched on every machine. What was checked for
each entry (from the Hub's file listings, looked up while writing this module, not downloaded):

* ``Xenova/segformer-b0-finetuned-ade-512-512``: at commit ``1e78fb9c…`` the folder ``onnx/`` holds
  ``model.onnx`` (15.3 MB), ``model_fp16.onnx`` (7.94 MB) and ``model_quantized.onnx`` (4.42 MB);
  its ``preprocessor_config.json`` says 512×512, ImageNet mean/std, ``do_reduce_labels`` (the
  model's class 0 is ADE20K's "wall" = our id 1, hence ``label_offset=1``).
* ``Xenova/segformer-b2-finetuned-ade-512-512``: at commit ``f08c8fa6…`` ``onnx/model.onnx`` is
  110 MB and ``onnx/model_quantized.onnx`` 28.9 MB.
* ``Xenova/segformer-b1-finetuned-ade-512-512``: ``onnx/model.onnx`` is 55.2 MB on ``main``, whose
  head was shown only as the short hash ``6308717``; the full hash could not be verified, so that
  entry follows ``main`` (``revision_verified=False``). Pin it yourself with
  ``hf:Xenova/segformer-b1-finetuned-ade-512-512/onnx/model.onnx@<40-hex commit>``.

Licences: the Xenova repositories are ONNX conversions of NVIDIA's
``nvidia/segformer-bX-finetuned-ade-512-512`` checkpoints, whose model cards carry
``license: other`` (changed from apache-2.0 in August 2022). That refers to NVIDIA's SegFormer
licence, which to our knowledge allows non-commercial (research/evaluation) use only; read it
before any commercial use. The licence of the conversions themselves was not stated on the pages
we saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from inference.errors import BadInputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How a photo is fed to a parser and how its output maps to ADE20K ids.

    The working image has its short side scaled to ``input_size`` (ADE20K's own test protocol);
    when its long side then exceeds ``max_whole_side`` (panoramas) or the model takes a fixed
    input shape, the model runs on overlapping ``input_size`` windows instead of the whole image.
    """

    input_size: int = 512
    mean: tuple[float, float, float] = IMAGENET_MEAN  # RGB, applied after scaling to [0, 1]
    std: tuple[float, float, float] = IMAGENET_STD
    label_offset: int = 1  # model class i -> ADE20K id i + label_offset
    pad_multiple: int = 32  # SegFormer's four stages downsample by 32 in all
    max_whole_side: int = 1024
    window_overlap: float = 1 / 3  # fraction of a window shared with its neighbour

    def __post_init__(self) -> None:
        # The command line checks its flags with the same ranges; this guards every other
        # caller (the editor's settings, the training label command, library users).
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) != 3 or not all(isinstance(v, (int, float)) and math.isfinite(v)
                                           for v in values):
                raise BadInputError(f"parser {name} must be three finite numbers, got {values}")
        if min(self.std) <= 0:
            raise BadInputError(f"parser std must be positive, got {self.std}")
        if not 32 <= self.input_size <= 2048:
            raise BadInputError(f"parser input size must be 32..2048, got {self.input_size}")
        if self.label_offset not in (0, 1):
            raise BadInputError(f"parser label offset must be 0 or 1, got {self.label_offset}")


@dataclass(frozen=True)
class ParserModel:
    """One registry entry: where the ONNX file lives on the Hub and how to run it."""

    name: str
    description: str
    repo_id: str
    filename: str
    revision: str
    revision_verified: bool
    size_mb: float
    licence: str
    preprocessing: Preprocessing = field(default_factory=Preprocessing)

    @property
    def hub_spec(self) -> str:
        return f"hf:{self.repo_id}/{self.filename}@{self.revision}"


_NVIDIA_LICENCE = ("ONNX conversion of NVIDIA's SegFormer ADE20K weights; model card licence "
                   "'other' (NVIDIA SegFormer licence, non-commercial use)")

PARSERS: dict[str, ParserModel] = {
    "segformer-b0-ade": ParserModel(
        name="segformer-b0-ade",
        description="SegFormer-B0 ADE20K 512 (3.7M parameters), fp32",
        repo_id="Xenova/segformer-b0-finetuned-ade-512-512",
        filename="onnx/model.onnx",
        revision="1e78fb9c976ebbac92d859ef6d7aae4253da869e",
        revision_verified=True,
        size_mb=15.3,
        licence=_NVIDIA_LICENCE,
    ),
    "segformer-b0-ade-int8": ParserModel(
        name="segformer-b0-ade-int8",
        description="SegFormer-B0 ADE20K 512, 8-bit quantised (smallest download)",
        repo_id="Xenova/segformer-b0-finetuned-ade-512-512",
        filename="onnx/model_quantized.onnx",
        revision="1e78fb9c976ebbac92d859ef6d7aae4253da869e",
        revision_verified=True,
        size_mb=4.42,
        licence=_NVIDIA_LICENCE,
    ),
    "segformer-b1-ade": ParserModel(
        name="segformer-b1-ade",
        description="SegFormer-B1 ADE20K 512 (13.7M parameters), fp32",
        repo_id="Xenova/segformer-b1-finetuned-ade-512-512",
        filename="onnx/model.onnx",
        revision="main",  # full commit hash not verified; see the module doc
        revision_verified=False,
        size_mb=55.2,
        licence=_NVIDIA_LICENCE,
    ),
    "segformer-b2-ade": ParserModel(
        name="segformer-b2-ade",
        description="SegFormer-B2 ADE20K 512 (27.5M parameters), fp32, most accurate here",
        repo_id="Xenova/segformer-b2-finetuned-ade-512-512",
        filename="onnx/model.onnx",
        revision="f08c8fa61f71bbd36b7b899a47ebcd5eb4d3a758",
        revision_verified=True,
        size_mb=110.0,
        licence=_NVIDIA_LICENCE,
    ),
}

DEFAULT_PARSER = "segformer-b0-ade"
# Not a model: the automatic over-segmentation of :mod:`inference.parser.regions`.
REGIONS_PARSER = "regions"
