"""Defaults that the command line, the editor and the engine must agree on, in one place.

Kept free of heavy imports: ``main.py`` reads it while building its argument parser.
"""

from __future__ import annotations

from typing import Literal, get_args

# The warp backends, by name: the keys of ``inference.correspondence.BACKENDS`` (which builds
# them), spelled here so that the command line can offer them without importing torch.
WarpName = Literal["hrs", "hrs-ms", "dense", "patchmatch-gru", "bilevel", "msca"]
WARP_NAMES: tuple[WarpName, ...] = get_args(WarpName)

# The warp backend every entry point uses unless told otherwise. ``hrs-ms`` (coarse-to-fine
# HRS-Att) is the best measured trade-off in the README's bench table: at 512² it scores the
# highest warp PSNR of all backends (24.88 dB, ``hrs`` 24.64 dB) in a sixth of ``hrs``'s time
# (1.4 s against 8.3 s on two CPU cores). ``hrs`` stays available as the paper's reference.
DEFAULT_WARP: WarpName = "hrs-ms"

# The no-checkpoint refinement: "synthesis" (label-guided patch synthesis at full resolution,
# README "Quality on real photos") or "harmonize" (the warp, colour-corrected by push-pull; the
# earlier default, kept so the two can be compared). With a checkpoint the generator refines.
REFINEMENTS = ("synthesis", "harmonize")
DEFAULT_REFINE = "synthesis"
