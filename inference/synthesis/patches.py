"""Patch descriptors for the nearest-patch search, shaped so that HRS-Att's sampler minimises a
patch distance.

A descriptor has a colour part -- the ``k×k`` Lab patch projected on its leading principal
components, scaled by ``1/k`` so that its squared distance is the patch's mean per-pixel squared
colour difference (Lab / 10 units) -- and a layout part, the layout features times ``√β``.
The sampler scores a key ``p`` for a query ``q`` by a dot product; with

    query  a_q = [2·d_q, -1]        key  b_p = [d_p, |d_p|²]

``a_q · b_p = -|d_q - d_p|² + |d_q|²``, and ``|d_q|²`` is the same for every key of ``q``: the
sampler's argmax is the nearest patch. A weak preference for nearby sources, ``μ·|p - q|²`` over
positions in the photo, enters the same way: a key carries its position ``p`` and ``|p|²`` in a
unit fixed per photo (its level grid's long side), the query carries ``2μq`` and ``-μ``, so one
table of keys serves every crop (``μ`` is rescaled per crop to its long side). Reference pixels,
which have no position in the photo, pay a constant instead (and an indicator column gives
their score the ``μ|q|²`` a photo key's has). Known pixels of the target enter exactly; hole
pixels with their current estimate, as in Wexler et al.'s EM completion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pca_basis(lab_maps: list[torch.Tensor], valid: list[torch.Tensor], patch: int,
              components: int, generator: torch.Generator, samples: int = 8192
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Leading principal components of ``patch×patch`` Lab patches of the sources.

    Returns ``(filters (D, 3, k, k), mean (3·k·k,))``; patches are drawn at valid pixels (evenly
    over the sources' pixels), deterministic for the generator.
    """
    r = patch // 2
    rows = []
    total = sum(int(v.sum()) for v in valid)
    for lab, ok in zip(lab_maps, valid):
        n_ok = int(ok.sum())
        if n_ok == 0:
            continue
        take = max(16, round(samples * n_ok / max(total, 1)))
        idx = torch.nonzero(ok.reshape(-1)).squeeze(1)
        pick = idx[torch.randint(0, idx.numel(), (take,), generator=generator,
                                 device=idx.device)]
        w = lab.shape[2]
        padded = F.pad(lab[None], (r, r, r, r), mode="replicate")[0]        # (3, h+2r, w+2r)
        dy, dx = torch.meshgrid(torch.arange(patch, device=lab.device),
                                torch.arange(patch, device=lab.device), indexing="ij")
        ys = torch.div(pick, w, rounding_mode="floor")[:, None] + dy.reshape(1, -1)
        xs = (pick % w)[:, None] + dx.reshape(1, -1)
        cols = padded[:, ys, xs]                                             # (3, N, k²)
        rows.append(cols.permute(1, 0, 2).reshape(pick.numel(), -1))        # unfold's order
    top, mean = principal_axes(torch.cat(rows), components)                 # (D, 3k²)
    return top.reshape(-1, 3, patch, patch), mean


def principal_axes(data: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` leading principal axes of the rows of ``data`` ``(N, D)``, largest first,
    computed in double: ``(axes (min(k, D), D), mean (D,))``, float32."""
    data = data.double()
    mean = data.mean(0)
    cov = (data - mean).t() @ (data - mean) / max(1, data.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)                                         # ascending
    d = min(k, vecs.shape[1])
    return vecs[:, -d:].flip(1).t().float().contiguous(), mean.float()


def colour_descriptors(lab: torch.Tensor, filters: torch.Tensor, mean: torch.Tensor
                       ) -> torch.Tensor:
    """``(3, h, w)`` Lab -> ``(D, h, w)`` projected patches (replicate padding), scaled 1/k."""
    k = filters.shape[-1]
    r = k // 2
    padded = F.pad(lab[None], (r, r, r, r), mode="replicate")
    bias = -(filters.reshape(filters.shape[0], -1) @ mean)
    out = F.conv2d(padded, filters, bias=bias)[0]
    return out.div_(float(k))


def key_table(colour: torch.Tensor, layout: torch.Tensor, layout_weight: float,
              position: torch.Tensor | None, position_weight: float,
              reference_distance: float, references: bool,
              out: torch.Tensor | None = None) -> torch.Tensor:
    """Key side, ``d = [colour, √β·layout]``: a photo pixel at ``position`` ``p`` (``(2, h,
    w)``) is ``[d, p, |p|², |d|²]``, a reference pixel (``position`` None) ``[d, 0, 0, 0,
    |d|² + μ·c]`` with ``c = reference_distance``; with ``references`` (any source is one) an
    indicator column, 0 for the photo and 1 for a reference, stands before the last. Without a
    position weight: ``[d, |d|²]``.

    Channels last, ``(h, w, C)``: the sampler gathers whole keys, so they are rows. Written into
    ``out`` when given (a window of the atlas' row table: no intermediate copies)."""
    dc, dl = colour.shape[0], layout.shape[0]
    h, w = colour.shape[1:]
    n = key_width(dc, dl, position_weight, references)
    if out is None:
        out = colour.new_empty(h, w, n)
    out[..., :dc] = colour.permute(1, 2, 0)
    torch.mul(layout.permute(1, 2, 0), layout_weight**0.5, out=out[..., dc:dc + dl])
    d = out[..., :dc + dl]
    bias = out[..., -1]
    rows = max(1, (1 << 20) // max(1, w * (dc + dl)))    # |d|² in bands: a band's temporary
    for r0 in range(0, h, rows):
        torch.sum(d[r0:r0 + rows].square(), dim=-1, out=bias[r0:r0 + rows])
    if position_weight <= 0:
        return out
    pos = out[..., dc + dl:dc + dl + 3]
    if position is None:
        pos.zero_()
        bias.add_(position_weight * reference_distance)
    else:
        pos[..., :2] = position.permute(1, 2, 0)
        torch.sum(pos[..., :2].square(), dim=-1, out=pos[..., 2])
    if references:
        out[..., -2] = 0.0 if position is not None else 1.0
    return out


def key_width(colour_components: int, layout_channels: int, position_weight: float,
              references: bool) -> int:
    """Channels of :func:`key_table`'s rows."""
    extra = (4 if references else 3) if position_weight > 0 else 0
    return colour_components + layout_channels + extra + 1


def query_table(colour: torch.Tensor, layout: torch.Tensor, layout_weight: float,
                position: torch.Tensor, position_weight: float, references: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Query side ``[2d, 2μq, -μ, (μ|q|²), -1]`` (positions in the keys' unit, ``μ`` for that
    unit) and the constant ``|d|² + μ|q|²`` that turns a score back into
    ``D_colour + β·D_layout + μ·|p - q|²`` (see the module docstring)."""
    d = torch.cat([colour, layout * layout_weight**0.5])
    const = d.square().sum(0)
    parts = [d * 2.0]
    if position_weight > 0:
        q2 = position.square().sum(0, keepdim=True) * position_weight
        parts += [position * (2.0 * position_weight), torch.full_like(q2, -position_weight)]
        if references:
            parts.append(q2)
        const = const + q2[0]
    parts.append(-torch.ones_like(d[:1]))
    return torch.cat(parts), const
