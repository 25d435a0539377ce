"""Correspondence losses: domain alignment (paper 003 Eq. 9) and the cycle regularisation of
paper 000 appendix C, with the differentiable dense low-resolution attention it needs.

Appendix C warps ``x^L`` forward with ``softmax_p(γ <u_c^L(q), u_x^L(p)>)`` and back with the
transposed similarities, then penalises the cycle. Its last formula compares ``r_forward`` with
``r_cycle``, but its text ("``x^L`` should be consistent to the forward-backward warped image of
``x^L``") and CoCosNet's ``L_reg`` (paper 003 Eq. 12) compare the cycle with ``x^L`` itself; the
forward warp lives in the other frame, so we follow the text: ``‖r_cycle − x^L‖_1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inference.networks.normalize import channel_normalize


def domain_alignment_loss(fx: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
    """``mean |Fx(x, c) − Fc(c)|`` of an aligned pair; both ``(B, F, h, w)`` channel-normalised
    (so the minimum is not the trivial all-zero feature)."""
    return (fx - fc).abs().mean()


def dense_attention_warp(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                         gamma: float) -> torch.Tensor:
    """``r(q) = Σ_p softmax_p(γ <query(q), keys(p)>) values(p)``, differentiable.

    query ``(B, C, Hq, Wq)``, keys ``(B, C, Hk, Wk)``, values ``(B, V, Hk, Wk)`` ->
    ``(B, V, Hq, Wq)``. Memory ``O((Hq Wq)(Hk Wk))``: used at ``H/4`` only.
    """
    b, _, hq, wq = query.shape
    sim = torch.bmm(query.flatten(2).transpose(1, 2), keys.flatten(2))   # (B, Nq, Nk)
    attn = torch.softmax(gamma * sim, dim=2)
    out = torch.bmm(attn, values.flatten(2).transpose(1, 2))             # (B, Nq, V)
    return out.transpose(1, 2).reshape(b, values.shape[1], hq, wq)


def downsample_features(u: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """``u^L``: average-pool full-resolution features by ``factor`` and re-normalise."""
    return channel_normalize(F.avg_pool2d(u, factor))


def cycle_loss(ux: torch.Tensor, uc: torch.Tensor, x: torch.Tensor, gamma: float = 100.0,
               factor: int = 4) -> torch.Tensor:
    """Appendix C: ``x^L -> target frame -> source frame`` must give ``x^L`` back.

    ``ux (B, O, H, W)`` source features, ``uc (B, O, H, W)`` target features, ``x (B, 3, H, W)``
    the source image.
    """
    ul_x, ul_c = downsample_features(ux.float(), factor), downsample_features(uc.float(), factor)
    xl = F.avg_pool2d(x.float(), factor)
    forward = dense_attention_warp(ul_c, ul_x, xl, gamma)      # (B, 3, H/4, W/4) target frame
    back = dense_attention_warp(ul_x, ul_c, forward, gamma)    # source frame
    return (back - xl).abs().mean()
