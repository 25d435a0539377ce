"""Training losses and the discriminator (they live only here, never in ``inference``)."""

from __future__ import annotations

from training.losses.adversarial import (
    DiscriminatorConfig,
    PatchDiscriminator,
    hinge_d_loss,
    hinge_g_loss,
)
from training.losses.correspondence import (
    cycle_loss,
    dense_attention_warp,
    domain_alignment_loss,
)
from training.losses.perceptual import (
    CONTEXTUAL,
    FEATURE_MATCHING,
    PERCEPTUAL,
    LayerWeights,
    contextual_loss,
    contextual_similarity,
    feature_l1,
)
from training.losses.vgg import DEFAULT_VGG, VGG19Features, load_vgg19

__all__ = [
    "CONTEXTUAL", "DEFAULT_VGG", "FEATURE_MATCHING", "PERCEPTUAL", "DiscriminatorConfig",
    "LayerWeights", "PatchDiscriminator", "VGG19Features", "contextual_loss",
    "contextual_similarity", "cycle_loss", "dense_attention_warp", "domain_alignment_loss",
    "feature_l1", "hinge_d_loss", "hinge_g_loss", "l1_loss", "load_vgg19",
]


def l1_loss(a, b):
    """Pixel ``mean |a − b|``."""
    return (a - b).abs().mean()
