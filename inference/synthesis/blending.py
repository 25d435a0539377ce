"""Seam blending in the gradient domain: no colour step and no halo where synthesis meets photo.

The synthesis votes colours for a thin ring of known pixels just outside the hole too; there the
photo's value and the synthesis' value should agree. Their difference, measured on the ring, is
spread smoothly over the hole by a membrane (push-pull) interpolation and added: the synthesised
gradients are kept (its detail) and its boundary values become the photo's, which is what Poisson
blending solves for, without a linear solve. Done per class of the edited layout, so the sky's
correction never tints a tree.
"""

from __future__ import annotations

import warnings

import numpy as np

from inference.pipeline.harmonize import push_pull
from inference.synthesis.nnf import component_boxes

# The Poisson solve uses torch's compressed-row matrices for a plain product only; their "beta"
# notice would print on every first solve (a filter, not ``catch_warnings``: that swaps the
# process-wide filters and is not safe while the GUI's other thread runs)
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta",
                        category=UserWarning)


def blend_seam(
    synth: np.ndarray,          # (H, W, 3) float: synthesis inside the hole and on the ring
    photo: np.ndarray,          # (H, W, 3) float: the known pixels
    hole: np.ndarray,           # (H, W) bool
    ring: np.ndarray,           # (H, W) bool, outside the hole: where synth and photo both exist
    labels: np.ndarray,         # (H, W) edited layout
) -> np.ndarray:
    """``synth`` inside ``hole`` corrected to meet ``photo`` on ``ring``; ``photo`` elsewhere."""
    out = photo.astype(np.float32).copy()
    if not hole.any():
        return out
    diff = (photo - synth).astype(np.float32)
    body = synth.astype(np.float32)
    for cls in np.unique(labels[hole]):
        region = hole & (labels == cls)
        constraint = ring & (labels == cls)
        if constraint.any():
            corr = push_pull(diff, constraint.astype(np.float32))
            out[region] = body[region] + corr[region]
        else:
            out[region] = body[region]
    return np.clip(out, 0.0, 1.0)


def replace_low_frequencies(
    synth: np.ndarray,          # (H, W, 3) float: synthesis inside the hole (photo outside)
    photo: np.ndarray,          # (H, W, 3) float: the known pixels
    hole: np.ndarray,           # (H, W) bool
    labels: np.ndarray,         # (H, W) edited layout
    sigma: float,
) -> np.ndarray:
    """The hole's colours below scale ``sigma`` from the photo around it, above it from the
    synthesis: ``synth - G_σ(synth) + G_σ(fill)``, where ``fill`` spreads each class's known
    pixels over the hole's pixels of that class (push-pull). A class with no known pixel keeps
    the synthesis as it is."""
    import cv2

    out = synth.astype(np.float32).copy()
    if not hole.any() or sigma <= 0:
        return out
    k = int(2 * round(3 * sigma) + 1)
    low_s = cv2.GaussianBlur(out, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    fill = out.copy()
    known = ~hole
    for cls in np.unique(labels[hole]):
        constraint = known & (labels == cls)
        if not constraint.any():
            continue
        region = hole & (labels == cls)
        spread = push_pull(photo.astype(np.float32), constraint.astype(np.float32))
        fill[region] = spread[region]
    low_f = cv2.GaussianBlur(fill, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    out[hole] = (out - low_s + low_f)[hole]
    return np.clip(out, 0.0, 1.0)


def poisson_blend(
    synth: np.ndarray,          # (H, W, 3) float: synthesis inside the hole and on the ring
    photo: np.ndarray,          # (H, W, 3) float: the known pixels
    hole: np.ndarray,           # (H, W) bool
    labels: np.ndarray,         # (H, W) edited layout
    guide: tuple[np.ndarray, np.ndarray] | None = None,  # (H, W-1, 3), (H-1, W, 3)
    start: np.ndarray | None = None,                     # first estimate (e.g. blend_seam)
    iterations: int = 400,
    tol: float = 2e-4,
    screen: float = 1e-3,
) -> np.ndarray:
    """Integrate guidance gradients over the hole, the photo its boundary (Pérez et al. 2003).

    ``guide`` holds the wanted differences ``u[y, x+1] - u[y, x]`` and ``u[y+1, x] - u[y, x]``
    on the edges that touch the hole: the gradients of the places the synthesis copied from,
    so a step between two copied regions (a seam) becomes their natural continuation instead
    of a colour edge; without it the synthesis' own gradients are used. An edge from the hole
    to a known pixel of another class of the edited layout is left free (Neumann): a tree's
    colour does not flow into the sky around it. ``screen`` ties every pixel weakly to the
    synthesis, so a hole region that touches no known pixel of its class keeps its colours.
    Solved by Jacobi-preconditioned conjugate gradients (vectorised torch, a sparse matrix), on
    each separate part of the hole in its own box (one pixel of photo around it): the parts do
    not touch, so their systems are independent, and a small hole in a large crop costs the
    hole's size, not the crop's. The unknowns are the hole's pixels alone (a sparse matrix in
    compressed rows: one product per iteration), so the box's photo pixels cost nothing.
    """
    out = photo.astype(np.float32).copy()
    if not hole.any():
        return out
    for box in component_boxes(hole, 1):
        ys, xs = box.slices
        part = (None if guide is None        # the edges inside the box
                else (guide[0][ys, box.x0:box.x1 - 1], guide[1][box.y0:box.y1 - 1, xs]))
        sol = _poisson_part(synth[ys, xs], photo[ys, xs], hole[ys, xs], labels[ys, xs], part,
                            None if start is None else start[ys, xs], iterations, tol, screen)
        sub = hole[ys, xs]
        out[ys, xs][sub] = sol[sub]
    return np.clip(out, 0.0, 1.0)


def _poisson_part(synth, photo, hole, labels, guide, start, iterations, tol, screen
                  ) -> np.ndarray:
    """:func:`poisson_blend` on one box whose border holds no hole pixel (or is the map's)."""
    import torch

    s = torch.from_numpy(np.ascontiguousarray(synth, np.float32)).permute(2, 0, 1)
    p = torch.from_numpy(np.ascontiguousarray(photo, np.float32)).permute(2, 0, 1)
    hl = torch.from_numpy(np.ascontiguousarray(hole))
    lab = torch.from_numpy(np.ascontiguousarray(labels.astype(np.int64)))
    if guide is None:
        gx, gy = s[:, :, 1:] - s[:, :, :-1], s[:, 1:] - s[:, :-1]
    else:
        gx = torch.from_numpy(np.ascontiguousarray(guide[0], np.float32)).permute(2, 0, 1)
        gy = torch.from_numpy(np.ascontiguousarray(guide[1], np.float32)).permute(2, 0, 1)

    def edges(a_hole, b_hole, a_lab, b_lab):
        touch = a_hole | b_hole
        mixed = a_hole ^ b_hole
        return (touch & ~(mixed & (a_lab != b_lab))).float()

    ex = edges(hl[:, :-1], hl[:, 1:], lab[:, :-1], lab[:, 1:])     # (H, W-1)
    ey = edges(hl[:-1], hl[1:], lab[:-1], lab[1:])                 # (H-1, W)
    hf = hl.float()
    deg = torch.full(hl.shape, screen)
    deg[:, :-1] += ex
    deg[:, 1:] += ex
    deg[:-1] += ey
    deg[1:] += ey

    # b: sum over active edges of (u_p - u_q) wanted, known neighbours' values, the screen
    b = screen * s
    b[:, :, :-1] -= ex * gx
    b[:, :, 1:] += ex * gx
    b[:, :-1] -= ey * gy
    b[:, 1:] += ey * gy
    known = p * (1 - hf)
    b[:, :, :-1] += ex * known[:, :, 1:]
    b[:, :, 1:] += ex * known[:, :, :-1]
    b[:, :-1] += ey * known[:, 1:]
    b[:, 1:] += ey * known[:, :-1]

    # The system lives on the hole's pixels alone (a box is often half photo): each hole pixel
    # has its degree and its 4 neighbours in the hole with the edges' weights (a neighbour
    # outside the hole is not an unknown: its value, if known, is already in b) -- a sparse
    # matrix in compressed rows, so one product per iteration.
    n = int(hl.sum())
    ids = torch.full((hl.shape[0] + 2, hl.shape[1] + 2), -1, dtype=torch.int64)
    ids[1:-1, 1:-1][hl] = torch.arange(n)
    zx, zy = ex.new_zeros(ex.shape[0], 1), ey.new_zeros(1, ey.shape[1])
    nb = torch.stack([ids[1:-1, :-2][hl], ids[1:-1, 2:][hl],
                      ids[:-2, 1:-1][hl], ids[2:, 1:-1][hl]], 1)            # (N, 4)
    wt = torch.stack([torch.cat([zx, ex], 1)[hl], torch.cat([ex, zx], 1)[hl],
                      torch.cat([zy, ey], 0)[hl], torch.cat([ey, zy], 0)[hl]], 1)
    dg = deg[hl][:, None]                                                   # (N, 1)
    own = torch.arange(n)
    on = (nb >= 0) & (wt > 0)
    coo = torch.sparse_coo_tensor(
        torch.stack([torch.cat([own, own.repeat_interleave(4)[on.reshape(-1)]]),
                     torch.cat([own, nb[on]])]),
        torch.cat([dg[:, 0], -wt[on]]), (n, n), check_invariants=True)
    matrix = coo.coalesce().to_sparse_csr()

    def rows(img):                      # (3, H, W) -> the hole's (N, 3)
        return img.permute(1, 2, 0)[hl]

    def apply(u):                       # A u
        return matrix @ u

    b = rows(b)
    x = rows(torch.from_numpy(np.ascontiguousarray(start, np.float32)).permute(2, 0, 1)
             if start is not None else s)
    r = b - apply(x)
    z = r / dg
    d = z.clone()
    rz = (r * z).sum(0)
    norm_b = b.norm(dim=0).clamp_min(1e-12)
    for _ in range(iterations):
        if bool((r.norm(dim=0) / norm_b < tol).all()):
            break
        ad = apply(d)
        alpha = rz / (d * ad).sum(0).clamp_min(1e-20)
        x += alpha * d
        r -= alpha * ad
        z = r / dg
        rz_new = (r * z).sum(0)
        d = z + (rz_new / rz.clamp_min(1e-20)) * d
        rz = rz_new
    out = s.permute(1, 2, 0).clone()
    out[hl] = x
    return out.numpy()


def restore_detail(
    blended: np.ndarray,        # (H, W, 3) float: the Poisson result (seamless, flattened)
    synth: np.ndarray,          # (H, W, 3) float: the synthesis (hole and ring)
    hole: np.ndarray,           # (H, W) bool
    sigma: float,
    seams: np.ndarray | None = None,  # (H, W) bool: pixels beside a removed seam
) -> np.ndarray:
    """``blended`` with its detail finer than ``sigma`` px taken from ``synth`` in the hole.

    The seam-free integration also flattens fine texture the mode vote assembled from small
    pieces; the seams it removes are steps between large regions, low frequencies. So the
    result keeps ``blended`` below ``sigma`` and ``synth`` above it: ``B - G(B) + S - G(S)``
    (Burt and Adelson's two-band split). On the pixels beside a removed seam the fine band
    stays ``blended``'s own, so the step does not come back as a thin line.
    """
    import cv2

    if sigma <= 0 or not hole.any():
        return blended
    k = int(2 * round(3 * sigma) + 1)
    b = blended.astype(np.float32)
    s = synth.astype(np.float32)
    low_b = cv2.GaussianBlur(b, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    low_s = cv2.GaussianBlur(s, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    out = b.copy()
    fine = s - low_s
    if seams is not None:
        fine = np.where(seams[..., None], b - low_b, fine)
    out[hole] = (low_b + fine)[hole]
    return np.clip(out, 0.0, 1.0)
