"""Measurements behind the README's parser section (standalone: needs no dataset, no network).

    python -m training.parser_eval boundary [--scenes 24] [--size 512]
    python -m training.parser_eval timing [--runs 10] [--size 512]

``boundary``: piecewise-textured synthetic scenes with known label maps; a coarse parser output is
simulated by area-downsampling the true one-hot map by 4, 8 or 16 (a parser predicting at 1/4 or
1/8 of its input, which is itself a downscaled photo), optionally softened by a blur of one coarse
pixel, and upsampling it again, with and without the guided-filter refinement of
:mod:`inference.parser.refine`. Reports boundary F-score within 2 px, pixel accuracy and mIoU.

``timing``: SegFormer-B0's architecture (MiT-B0 encoder + all-MLP decoder, 150 classes) built in
torch with RANDOM weights, exported to ONNX and timed in ONNX Runtime on CPU at size²: the figure
is the cost of the architecture, which a trained export of the same network shares.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from inference.parser.refine import RefineConfig, guided_argmax, upsample_argmax

# --------------------------------------------------------------------------- synthetic scenes


def synthetic_scene(rng: np.random.Generator, size: int, n_regions: int = 7
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(image uint8 H×W×3, labels int64 H×W in 0..n_regions-1)``: warped Voronoi cells, each
    with its own colour, stripe texture and noise, plus a couple of ellipses on top."""
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Smoothly warp coordinates so cell borders curve like real object outlines.
    warp = [cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), size / 12)
            for _ in range(2)]
    warp = [wp / (np.abs(wp).max() + 1e-6) * size * 0.06 for wp in warp]
    wy, wx = yy + warp[0], xx + warp[1]
    seeds = rng.uniform(0, size, (n_regions, 2))
    d = np.stack([(wy - sy) ** 2 + (wx - sx) ** 2 for sy, sx in seeds])
    labels = d.argmin(0)
    for k in range(2):
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        ay, ax = rng.uniform(0.06, 0.18, 2) * size
        labels[((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 < 1] = (n_regions - 1 - k)
    image = np.zeros((h, w, 3), np.float32)
    for c in range(n_regions):
        colour = rng.uniform(30, 225, 3)
        freq, angle, amp = rng.uniform(0.05, 0.4), rng.uniform(0, math.pi), rng.uniform(0, 25)
        stripes = amp * np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy))
        region = colour[None, None, :] + stripes[..., None] + rng.normal(0, 8, (h, w, 3))
        image[labels == c] = region[labels == c]
    image = cv2.GaussianBlur(image, (0, 0), 0.7)  # optics: edges are not perfectly sharp
    return np.clip(image, 0, 255).astype(np.uint8), labels


def coarse_probs(labels: np.ndarray, n: int, factor: int, soften: float = 0.0) -> np.ndarray:
    """``(n, h/factor, w/factor)`` class map: the true one-hot area-downsampled by ``factor``,
    then blurred by ``soften`` coarse pixels (a network's outputs change smoothly across an edge;
    area averaging alone is the sharpest a coarse predictor can be)."""
    h, w = labels.shape
    out = np.empty((n, h // factor, w // factor), np.float32)
    for c in range(n):
        out[c] = cv2.resize((labels == c).astype(np.float32), (w // factor, h // factor),
                            interpolation=cv2.INTER_AREA)
        if soften > 0:
            out[c] = cv2.GaussianBlur(out[c], (0, 0), soften)
    return out


# --------------------------------------------------------------------------- metrics


def _boundary(labels: np.ndarray) -> np.ndarray:
    b = np.zeros(labels.shape, bool)
    b[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    b[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return b


def boundary_f(pred: np.ndarray, gt: np.ndarray, tol: int = 2) -> float:
    """F-score of boundary pixels matched within ``tol`` px (Euclidean) either way."""
    bp, bg = _boundary(pred), _boundary(gt)
    if not bp.any() and not bg.any():
        return 1.0
    dist_to_g = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((dist_to_g[bp] <= tol).mean()) if bp.any() else 0.0
    recall = float((dist_to_p[bg] <= tol).mean()) if bg.any() else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def miou(pred: np.ndarray, gt: np.ndarray, n: int) -> float:
    ious = []
    for c in range(n):
        inter = np.logical_and(pred == c, gt == c).sum()
        union = np.logical_or(pred == c, gt == c).sum()
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))


def run_boundary(scenes: int, size: int, seed: int = 0,
                 configs: dict[str, RefineConfig] | None = None) -> dict[str, dict[str, float]]:
    configs = configs or {"guided": RefineConfig()}
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, list[float]]] = {}
    data = [synthetic_scene(rng, size) for _ in range(scenes)]
    for factor, soften in [(4, 0.0), (8, 0.0), (8, 1.0), (16, 0.0), (16, 1.0)]:
        for name in ["bilinear", *configs]:
            key = f"1/{factor}{' soft' if soften else ''}|{name}"
            acc = rows.setdefault(key, {"bf2": [], "pixacc": [], "miou": [], "ms": []})
            for image, labels in data:
                n = int(labels.max()) + 1
                probs = coarse_probs(labels, n, factor, soften)
                t0 = time.perf_counter()
                if name == "bilinear":
                    pred = upsample_argmax(probs, labels.shape)
                else:
                    pred = guided_argmax(image, probs, configs[name])
                acc["ms"].append(1000 * (time.perf_counter() - t0))
                acc["bf2"].append(boundary_f(pred, labels))
                acc["pixacc"].append(float((pred == labels).mean()))
                acc["miou"].append(miou(pred, labels, n))
    return {k: {m: float(np.mean(v)) for m, v in r.items()} for k, r in rows.items()}


# --------------------------------------------------------------------------- SegFormer-B0 timing


def build_segformer_b0(num_classes: int = 150):
    """SegFormer-B0 (MiT-B0 + all-MLP decoder) in torch, randomly initialised."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class OverlapPatchEmbed(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, s: int) -> None:
            super().__init__()
            self.proj = nn.Conv2d(cin, cout, k, s, k // 2)
            self.norm = nn.LayerNorm(cout)

        def forward(self, x):  # (B, C, H, W) -> (B, N, C'), H', W'
            x = self.proj(x)
            _, _, h, w = x.shape
            return self.norm(x.flatten(2).transpose(1, 2)), h, w

    class EfficientAttention(nn.Module):
        def __init__(self, dim: int, heads: int, sr: int) -> None:
            super().__init__()
            self.heads, self.sr = heads, sr
            self.q, self.kv, self.proj = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim), nn.Linear(
                dim, dim)
            if sr > 1:
                self.reduce = nn.Conv2d(dim, dim, sr, sr)
                self.norm = nn.LayerNorm(dim)

        def forward(self, x, h, w):
            b, n, c = x.shape
            q = self.q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
            if self.sr > 1:
                x = x.transpose(1, 2).reshape(b, c, h, w)
                x = self.norm(self.reduce(x).flatten(2).transpose(1, 2))
            kv = self.kv(x).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            out = F.scaled_dot_product_attention(q, kv[0], kv[1])
            return self.proj(out.transpose(1, 2).reshape(b, n, c))

    class MixFFN(nn.Module):
        def __init__(self, dim: int, hidden: int) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
            self.dw = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)

        def forward(self, x, h, w):
            x = self.fc1(x)
            b, _, c = x.shape
            x = self.dw(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            return self.fc2(F.gelu(x))

    class Block(nn.Module):
        def __init__(self, dim: int, heads: int, sr: int) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn, self.ffn = EfficientAttention(dim, heads, sr), MixFFN(dim, 4 * dim)

        def forward(self, x, h, w):
            x = x + self.attn(self.n1(x), h, w)
            return x + self.ffn(self.n2(x), h, w)

    class SegFormerB0(nn.Module):
        dims, depths, heads, srs = (32, 64, 160, 256), (2, 2, 2, 2), (1, 2, 5, 8), (8, 4, 2, 1)

        def __init__(self) -> None:
            super().__init__()
            cins = (3, *self.dims[:-1])
            self.embeds = nn.ModuleList(OverlapPatchEmbed(ci, d, 7 if i == 0 else 3,
                                                          4 if i == 0 else 2)
                                        for i, (ci, d) in enumerate(zip(cins, self.dims)))
            self.stages = nn.ModuleList(
                nn.ModuleList(Block(d, hd, sr) for _ in range(n))
                for d, hd, sr, n in zip(self.dims, self.heads, self.srs, self.depths))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for d in self.dims)
            self.mlps = nn.ModuleList(nn.Linear(d, 256) for d in self.dims)
            self.fuse = nn.Sequential(nn.Conv2d(1024, 256, 1, bias=False), nn.BatchNorm2d(256),
                                      nn.ReLU())
            self.classify = nn.Conv2d(256, num_classes, 1)

        def forward(self, x):  # (B, 3, H, W) -> (B, 150, H/4, W/4) logits
            feats = []
            for embed, blocks, norm in zip(self.embeds, self.stages, self.norms):
                x, h, w = embed(x)
                for blk in blocks:
                    x = blk(x, h, w)
                x = norm(x).transpose(1, 2).reshape(x.shape[0], -1, h, w)
                feats.append(x)
            size = feats[0].shape[2:]
            ups = [F.interpolate(mlp(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(
                f.shape[0], -1, *f.shape[2:]), size=size, mode="bilinear", align_corners=False)
                   for mlp, f in zip(self.mlps, feats)]
            return self.classify(self.fuse(torch.cat(ups[::-1], 1)))

    return SegFormerB0().eval()


def run_timing(runs: int, size: int) -> dict[str, float]:
    import onnxruntime as ort
    import torch

    net = build_segformer_b0()
    params = sum(p.numel() for p in net.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "segformer_b0_random.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
            torch.onnx.export(net, torch.zeros(1, 3, size, size), str(path), opset_version=17,
                              input_names=["pixel_values"], output_names=["logits"],
                              dynamic_axes={"pixel_values": {0: "n", 2: "h", 3: "w"},
                                            "logits": {0: "n", 2: "h4", 3: "w4"}},
                              dynamo=False)
        mb = path.stat().st_size / 1e6
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).normal(0, 1, (1, 3, size, size)).astype(np.float32)
        sess.run(None, {"pixel_values": x})  # warm-up: allocations, kernel selection
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            out = sess.run(None, {"pixel_values": x})[0]
            times.append(time.perf_counter() - t0)
        # End to end through the editor's parser (resize, model, softmax, upsampling), on a
        # smooth random photo. Random weights give near-uniform class scores, so many classes
        # compete everywhere: the refinement's cost here is an upper bound.
        from inference.parser.onnx_parser import OnnxSceneParser

        parser = OnnxSceneParser(path, device="cpu")
        photo_rng = np.random.default_rng(1)
        e2e = {}
        for label, (ph, pw) in (("512x512", (size, size)), ("4000x3000", (3000, 4000))):
            photo = cv2.resize(photo_rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (pw, ph))
            for refine in (False, True):
                result = parser.parse(photo, refine=refine)
                e2e[f"{label} {'refined' if refine else 'plain'}"] = result.seconds
                e2e[f"{label} classes"] = len(np.unique(result.labels))
    return {"params_M": params / 1e6, "onnx_MB": mb, "median_ms": 1000 * statistics.median(times),
            "min_ms": 1000 * min(times), "out_shape": str(tuple(out.shape)),
            "e2e": e2e}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.parser_eval")
    parser.add_argument("what", choices=["boundary", "timing"])
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    if args.what == "boundary":
        table = run_boundary(args.scenes, args.size)
        print(f"{args.scenes} synthetic scenes, {args.size}²")
        print("| coarse input | method | boundary F (2 px) | pixel acc. | mIoU | ms |")
        print("|---|---|---|---|---|---|")
        for key, m in table.items():
            coarse, method = key.split("|", 1)
            print(f"| {coarse} | {method} | {m['bf2']:.3f} | {m['pixacc']:.4f} | "
                  f"{m['miou']:.4f} | {m['ms']:.0f} |")
    else:
        r = run_timing(args.runs, args.size)
        print(f"SegFormer-B0 architecture, RANDOM weights: {r['params_M']:.2f}M params, ONNX "
              f"{r['onnx_MB']:.1f} MB, output {r['out_shape']}; ONNX Runtime CPU at "
              f"{args.size}²: median {r['median_ms']:.0f} ms, best {r['min_ms']:.0f} ms "
              f"over {args.runs} runs")
        for key, value in r["e2e"].items():
            print(f"  parse() {key}: " + (f"{value:.2f} s" if isinstance(value, float)
                                           else str(value)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
