"""Stage A, ``python -m training correspondence``: the HRS-Att feature networks (paper 000
section 3.2, "Training Scheme", following paper 003).

Each step samples ``(x0, c0)``, its spatially augmented pseudo pair ``(x1, c1)`` and a retrieved
similar image ``(x2, c2)``; both sources are warped into the layout ``c0`` with the sparse
attention on the learned ``ux``/``uc`` (keys from the key index sampler) and refined by an
auxiliary SPADE generator into ``y_{x1→c0}`` and ``y_{x2→c0}``. Losses (weights in
:class:`StageALosses`): feature matching ``y_{x1→c0}`` vs ``x0`` (003 Eq. 8); perceptual
``y_{x2→c0}`` vs ``x0`` (003 Eq. 10); contextual ``y_{x2→c0}`` vs ``x2`` (003 Eq. 11); domain
alignment ``Fx(x0, c0)`` vs ``Fc(c0)`` (003 Eq. 9); cycle regularisation with dense attention at
``H/4`` on ``u^L_x, u^L_c`` (000 appendix C); and, beyond the papers, ``warp``: L1 of the pseudo
pair's warp ``r_{x1→c0}`` to ``x0``, a direct signal that speeds up early training (0 disables).
The output checkpoint holds the network ``correspondence``; the auxiliary generator is kept only
in the resumable step folders.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.correspondence.sampling import KeyIndexSampler
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
from training.configs import config_dict, correspondence_preset
from training.data.datasets import CorrespondencePairs, DataConfig
from training.data.loader import make_loader
from training.losses import (
    CONTEXTUAL,
    FEATURE_MATCHING,
    PERCEPTUAL,
    contextual_loss,
    cycle_loss,
    domain_alignment_loss,
    feature_l1,
    l1_loss,
    load_vgg19,
)
from training.trainers.aux_generator import AuxGeneratorConfig, AuxSPADEGenerator
from training.trainers.common import (
    RunConfig,
    add_common_arguments,
    check_out,
    resolve_config,
    run_metadata,
)
from training.trainers.monitor import TrainMonitor, write_grid
from training.trainers.runtime import Runtime, seed_everything, setup_runtime, unwrap, wrap_ddp
from training.trainers.state import (
    latest_state,
    load_networks,
    load_training_state,
    restore_optimizer,
    restore_rng,
    save_training_state,
)
from training.trainers.warping import WarpConfig, hrs_warp

HELP = "stage A: train the HRS-Att correspondence networks (paper 000 section 3.2)"
NAME = "correspondence"


@dataclass(frozen=True)
class StageALosses:
    feature_matching: float = 10.0
    perceptual: float = 1.0
    contextual: float = 1.0
    domain: float = 10.0
    cycle: float = 1.0
    warp: float = 1.0
    contextual_band: float = 0.1
    contextual_positions: int = 4096


@dataclass(frozen=True)
class StageAConfig:
    model_size: str = "paper"
    network: CorrespondenceNetConfig = field(default_factory=CorrespondenceNetConfig)
    aux: AuxGeneratorConfig = field(default_factory=AuxGeneratorConfig)
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    warp: WarpConfig = field(default_factory=WarpConfig)
    losses: StageALosses = field(default_factory=StageALosses)

    @staticmethod
    def preset(model_size: str) -> StageAConfig:
        aux = {"tiny": AuxGeneratorConfig.tiny(), "small": AuxGeneratorConfig.small()}.get(
            model_size, AuxGeneratorConfig())
        return StageAConfig(model_size=model_size, network=correspondence_preset(model_size),
                            aux=aux)


class StageAModel(nn.Module):
    """Everything stage A trains, behind one ``forward`` so that DDP sees a single call."""

    def __init__(self, config: StageAConfig) -> None:
        super().__init__()
        self.config = config
        self.net = CorrespondenceNet(config.network)
        self.aux = AuxSPADEGenerator(config.aux)
        self.sampler = KeyIndexSampler(config.warp.sampler)

    def forward(self, batch: dict[str, torch.Tensor], generator: torch.Generator
                ) -> dict[str, torch.Tensor]:
        x0, c0 = batch["x0"], batch["c0"]
        b = x0.shape[0]
        # One pass for the three sources (x0 for domain alignment, x1 and x2 to warp).
        fx, ux = self.net.source_features(torch.cat([x0, batch["x1"], batch["x2"]]),
                                          torch.cat([c0, batch["c1"], batch["c2"]]))
        known = batch["m"][:, 0] < 0.5
        fc, uc = self.net.target_features(c0, x0 * known[:, None], known)
        outs = {"fx0": fx[:b], "fc": fc, "uc": uc, "ux1": ux[b:2 * b], "ux2": ux[2 * b:]}
        for i in ("1", "2"):
            r = hrs_warp(self.sampler, self.config.warp, uc, outs["ux" + i], batch["x" + i], c0,
                         batch["c" + i], generator)
            outs["r" + i] = r
            outs["y" + i] = self.aux(r, c0)
        return outs


def stage_a_losses(outs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], vgg,
                   w: StageALosses, gamma: float = 100.0) -> dict[str, torch.Tensor]:
    x0, x1, x2 = batch["x0"], batch["x1"], batch["x2"]
    losses = {"domain": domain_alignment_loss(outs["fx0"], outs["fc"]),
              "warp": l1_loss(outs["r1"], x0)}
    # VGG passes only for the terms that are on (weight 0 switches a term off entirely).
    fm_layers = FEATURE_MATCHING.layers if w.feature_matching else ()
    pc_layers = PERCEPTUAL.layers if w.perceptual else ()
    cx_layers = CONTEXTUAL.layers if w.contextual else ()
    f_x0 = vgg(x0, set(fm_layers) | set(pc_layers)) if fm_layers or pc_layers else {}
    f_y2 = vgg(outs["y2"], set(pc_layers) | set(cx_layers)) if pc_layers or cx_layers else {}
    if w.feature_matching:
        losses["feature_matching"] = feature_l1(vgg(outs["y1"], fm_layers), f_x0,
                                                FEATURE_MATCHING)
    if w.perceptual:
        losses["perceptual"] = feature_l1(f_y2, f_x0, PERCEPTUAL)
    if w.contextual:
        with torch.autocast(device_type=x0.device.type, enabled=False):
            losses["contextual"] = contextual_loss(
                {k: v.float() for k, v in f_y2.items()},
                {k: v.float() for k, v in vgg(x2.float(), CONTEXTUAL.layers).items()},
                CONTEXTUAL, w.contextual_band, w.contextual_positions)
    if w.cycle:
        with torch.autocast(device_type=x0.device.type, enabled=False):
            losses["cycle"] = 0.5 * (cycle_loss(outs["ux1"], outs["uc"], x1, gamma)
                                     + cycle_loss(outs["ux2"], outs["uc"], x2, gamma))
    return losses


def weighted_total(losses: dict[str, torch.Tensor], weights: Any) -> torch.Tensor:
    return sum(getattr(weights, k) * v for k, v in losses.items())


def train_correspondence(config: StageAConfig, data: str | Path, out: str | Path,
                         resume: bool = False, runtime: Runtime | None = None) -> dict[str, Any]:
    """Run stage A; returns a summary (steps, seconds, last losses). See the module doc."""
    out = Path(out)
    rt = runtime or setup_runtime(config.run.device, config.run.amp)
    run = config.run
    seed_everything(run.seed, run.threads)
    model = StageAModel(config).to(rt.device)
    opt = torch.optim.Adam(model.parameters(), lr=run.lr, betas=run.betas)
    generator = torch.Generator(device=rt.device).manual_seed(run.seed * 7919 + rt.rank)
    start = 0
    if resume:
        folder = latest_state(out)
        if folder is not None:
            meta, tensors = load_training_state(folder)
            load_networks(folder, {NAME: model.net, "aux_generator": model.aux})
            restore_optimizer(opt, "opt", tensors, meta["optimizers"]["opt"])
            restore_rng(tensors, generator)
            start = int(meta["step"])
    # The data first: a wrong --data is a one-line error before the VGG weights are fetched.
    dataset = CorrespondencePairs(data, config.data, seed=run.seed)
    vgg, vgg_info = load_vgg19(run.vgg)
    vgg = vgg.to(rt.device)
    loader = make_loader(dataset, run.batch_size, run.seed, start, rt.rank, rt.world,
                         config.data.workers, config.data.pin_memory, config.data.prefetch)
    ddp = wrap_ddp(model, rt)
    scaler = rt.scaler()
    monitor = TrainMonitor(out, run.steps, run.log_every, run.batch_size * rt.world, rt.main)
    if rt.main:
        out.mkdir(parents=True, exist_ok=True)
        print(f"stage A: {len(dataset)} photos, {run.steps} steps from {start}, batch "
              f"{run.batch_size}×{rt.world} at {config.data.size}², device {rt.device}, "
              f"VGG-19 {vgg_info['weights']}", flush=True)
    t0 = time.perf_counter()
    last: dict[str, float] = {}
    batches = iter(loader)
    for step in range(start + 1, run.steps + 1):
        batch = {k: v.to(rt.device, non_blocking=True) for k, v in next(batches).items()}
        with rt.autocast():
            outs = ddp(batch, generator)
            losses = stage_a_losses(outs, batch, vgg, config.losses, config.warp.gamma)
            total = weighted_total(losses, config.losses)
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.step(opt)
        scaler.update()
        last = {k: float(v.detach()) for k, v in losses.items()} | {"total": float(total.detach())}
        monitor.add(last)
        monitor.step_done(step, "correspondence", force=step == run.steps)
        if rt.main and (step % run.image_every == 0 or step == run.steps):
            write_grid(out / "samples" / f"step_{step:08d}.png",
                       [batch["x1"], outs["r1"], outs["y1"], batch["x2"], outs["r2"],
                        outs["y2"], batch["x0"]])
        if step % run.checkpoint_every == 0 or step == run.steps:
            if rt.main:
                metadata = run_metadata(NAME, step, config, rt, time.perf_counter() - t0,
                                        vgg_info, data)
                net = unwrap(ddp).net
                save_training_state(
                    out, step, {NAME: (config.network, net),
                                "aux_generator": (config.aux, unwrap(ddp).aux)},
                    [NAME], {"opt": opt}, generator, {"config": config_dict(config)},
                    metadata, run.keep)
            rt.barrier()
    return {"steps": run.steps, "start": start, "seconds": time.perf_counter() - t0,
            "losses": last, "vgg": vgg_info, "model": unwrap(ddp)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)


def run(args: argparse.Namespace) -> int:
    out = check_out(args.out, args.resume)
    config = resolve_config(StageAConfig, args, out)
    rt = setup_runtime(config.run.device, config.run.amp)
    try:
        summary = train_correspondence(config, args.data, out, args.resume, rt)
    finally:
        rt.close()
    if rt.main:
        print(f"wrote {out} (network '{NAME}') after {summary['steps']} steps in "
              f"{summary['seconds']:.1f} s")
    return 0
