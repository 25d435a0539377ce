"""Sparse attentive warping (paper 000, Eq. 4/5): ``r(q) = Σ_{p∈K_q} softmax_p(γ·s_qp) x(p)``.

``s_qp = <u_c(q), u_x(p)>`` over channel-normalised features, so ``s ∈ [-1, 1]``. The temperature
``γ`` defaults to 100, CoCosNet's published value on the same normalised features (paper 003,
Eq. 4, "α = 100"), which paper 000 follows ("following [18]"); see ``DEFAULT_GAMMA``.

The equivalent deformable-convolution form (Eq. 5) is a gather: keys are flat indices into the
source's ``Hs·Ws`` pixels, so the warp is ``index_select`` of source feature rows, a batched dot
product, a softmax over ``K`` and a weighted sum of gathered source values. It walks chunks of
``chunk_size`` queries, so the largest intermediate is ``(chunk, K, C)`` whatever the image size.
Gradients reach both feature maps (and the values if they require grad); the keys are integer and
carry none, as in the paper. With autograd on, each chunk is checkpointed (recomputed in the
backward pass) so training memory stays bounded by the chunk size too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint

DEFAULT_GAMMA = 100.0


@dataclass
class WarpStats:
    """Optional probe: the largest gathered intermediate (elements) of one warp call."""

    max_chunk_elements: int = 0


@dataclass
class SparseWarpOutput:
    warped: torch.Tensor    # (B, V, H, W)
    weights: torch.Tensor   # (B, K, H, W), softmax over K


def sparse_attentive_warp(
    target_features: torch.Tensor,          # (B, C, H, W)
    source_features: torch.Tensor,          # (B, C, Hs, Ws)
    source_values: torch.Tensor,            # (B, V, Hs, Ws), e.g. the image (V = 3)
    keys: torch.Tensor,                     # (B, K, H, W) int64 flat indices into Hs·Ws
    gamma: float = DEFAULT_GAMMA,
    target_classes: torch.Tensor | None = None,   # (B, H, W) int64
    source_classes: torch.Tensor | None = None,   # (B, Hs, Ws) int64, -1 = invalid key
    class_penalty: float = 0.0,
    chunk_size: int = 32768,
    stats: WarpStats | None = None,
    source_rows: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> SparseWarpOutput:
    """Warp ``source_values`` to the target frame through sparse keys; see module docstring.

    With ``class_penalty`` (and both class maps) the attention logits get the same penalty the
    sampler used, ``γ·(s_qp - P·[class(q) != class(p)])``: keys of another class, accumulated in
    early iterations, then carry no weight. Keys with class ``-1`` get ``-inf``.

    ``source_rows`` (batch of one): the source features and values already laid out as rows,
    ``(Hs·Ws, C)`` and ``(Hs·Ws, V)``, as a caller that warps several targets keeps them.
    """
    b, c, h, w = target_features.shape
    _, v, hs, ws = source_values.shape
    k = keys.shape[1]
    if tuple(keys.shape) != (b, k, h, w):
        raise ValueError(f"keys {tuple(keys.shape)} do not match target {(b, k, h, w)}")
    if tuple(source_features.shape) != (b, c, hs, ws):
        raise ValueError(f"source features {tuple(source_features.shape)} vs values {(hs, ws)}")
    use_classes = target_classes is not None and source_classes is not None
    grad = torch.is_grad_enabled() and (
        target_features.requires_grad or source_features.requires_grad
        or source_values.requires_grad
    )
    chunk = max(1, int(chunk_size))
    outs, wts = [], []
    for bi in range(b):
        if source_rows is not None and b == 1:
            ux, xv = source_rows
        else:
            ux = source_features[bi].reshape(c, hs * ws).t().contiguous()    # (Ns, C)
            xv = source_values[bi].reshape(v, hs * ws).t().contiguous()      # (Ns, V)
        uc = target_features[bi].reshape(c, h * w).t()                       # (Nq, C)
        kq = keys[bi].reshape(k, h * w)                                      # (K, Nq)
        tcls = target_classes[bi].reshape(-1) if use_classes else None
        scls = source_classes[bi].reshape(-1) if use_classes else None
        if not grad:
            out_b, wt_b = _warp_no_grad(uc.contiguous(), ux, xv, kq, tcls, scls, gamma,
                                        class_penalty, chunk,
                                        stats)
            outs.append(out_b.t().reshape(v, h, w))
            wts.append(wt_b.t().reshape(k, h, w))
            continue
        parts_o, parts_w = [], []
        for q0 in range(0, h * w, chunk):
            q1 = min(h * w, q0 + chunk)
            kc = kq[:, q0:q1].t().contiguous()                               # (Q, K)
            bias = None
            if use_classes:
                kcls = scls.index_select(0, kc.reshape(-1)).view(kc.shape)
                bias = (kcls != tcls[q0:q1, None]).to(uc.dtype) * (-class_penalty * gamma)
                bias = bias.masked_fill_(kcls < 0, float("-inf"))
            if stats is not None:
                stats.max_chunk_elements = max(stats.max_chunk_elements, kc.numel() * max(c, v))
            o, a = checkpoint(_warp_chunk, uc[q0:q1], ux, xv, kc, bias, gamma,
                              use_reentrant=False)
            parts_o.append(o)
            parts_w.append(a)
        outs.append(torch.cat(parts_o).t().reshape(v, h, w))
        wts.append(torch.cat(parts_w).t().reshape(k, h, w))
    return SparseWarpOutput(warped=torch.stack(outs), weights=torch.stack(wts))


def _warp_no_grad(uc, ux, xv, kq, tcls, scls, gamma, penalty, chunk, stats):
    """Inference path: the same maths as :func:`_warp_chunk` with reused buffers and in-place
    softmax (fresh multi-megabyte temporaries per chunk cost page faults on the CPU)."""
    (k, n), c, v = kq.shape, ux.shape[1], xv.shape[1]
    out = xv.new_empty(n, v)
    wts = xv.new_empty(n, k)
    q = min(chunk, n)
    gbuf, vbuf, lbuf = ux.new_empty(q * k, c), xv.new_empty(q * k, v), ux.new_empty(q, k, 1)
    for q0 in range(0, n, chunk):
        q1 = min(n, q0 + chunk)
        m = q1 - q0
        idx = kq[:, q0:q1].t().reshape(-1)                                   # (Q·K,)
        g = torch.index_select(ux, 0, idx, out=gbuf[: m * k]).view(m, k, c)
        if stats is not None:
            stats.max_chunk_elements = max(stats.max_chunk_elements, g.numel(), m * k * v)
        logits = torch.bmm(g, uc[q0:q1, :, None], out=lbuf[:m]).view(m, k)
        logits.mul_(gamma)
        if tcls is not None:
            kcls = scls.index_select(0, idx).view(m, k)
            logits.sub_((kcls != tcls[q0:q1, None]).to(logits.dtype), alpha=penalty * gamma)
            logits.masked_fill_(kcls < 0, float("-inf"))
        a = wts[q0:q1]
        torch.sub(logits, logits.amax(dim=1, keepdim=True), out=a)
        a.exp_()
        a.div_(a.sum(dim=1, keepdim=True))
        vals = torch.index_select(xv, 0, idx, out=vbuf[: m * k]).view(m, k, v)
        out[q0:q1] = torch.bmm(a.unsqueeze(1), vals).squeeze(1)
    return out, wts


def _warp_chunk(
    uc: torch.Tensor,            # (Q, C)
    ux: torch.Tensor,            # (Ns, C)
    xv: torch.Tensor,            # (Ns, V)
    keys: torch.Tensor,          # (Q, K)
    bias: torch.Tensor | None,   # (Q, K)
    gamma: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    q, k = keys.shape
    idx = keys.reshape(-1)
    g = ux.index_select(0, idx).view(q, k, -1)                              # (Q, K, C)
    logits = torch.bmm(g, uc.unsqueeze(-1)).squeeze(-1) * gamma             # (Q, K)
    if bias is not None:
        logits = logits + bias
    a = torch.softmax(logits, dim=-1)                                        # (Q, K)
    vals = xv.index_select(0, idx).view(q, k, -1)                           # (Q, K, V)
    return torch.bmm(a.unsqueeze(1), vals).squeeze(1), a                    # (Q, V), (Q, K)
