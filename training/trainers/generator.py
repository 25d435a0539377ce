"""Stage B, ``python -m training generator``: the manipulation network, self-supervised (paper
000 section 3.3, Eq. 8-10).

Each step samples ``(x1, c1)``, a free-form mask ``m`` and ``x̃1``, a random translation and flip
of ``x1``; the frozen stage-A features and the sparse warp give
``xwarp = r(x̃1 → c1) ⊙ m + x1 ⊙ (1 − m)`` (Eq. 8), with ``Uc`` seeing ``x1`` outside the mask as
it sees the photo when editing. For the first ``coarse_steps`` only the coarse stage trains, with
L1 + perceptual; then both stages train jointly with L1 on both outputs, perceptual and the hinge
adversarial loss of a Markovian discriminator ``D(y, c1, m)`` (Eq. 9-10) on the composite
``y ⊙ m + x1 ⊙ (1 − m)``. The output folder is a checkpoint with ``correspondence`` (copied from
stage A) and ``generator``, which ``main.py edit --checkpoint OUT`` loads.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from inference.checkpoint import load_checkpoint
from inference.commands.validation import int_in
from inference.correspondence.sampling import KeyIndexSampler
from inference.errors import BadInputError
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
from inference.networks.generator import GeneratorConfig, ManipulationGenerator
from training.configs import apply_overrides, config_dict, generator_preset
from training.data.datasets import DataConfig, ManipulationSamples
from training.data.loader import make_loader
from training.losses import (
    FEATURE_MATCHING,
    DiscriminatorConfig,
    PatchDiscriminator,
    feature_l1,
    hinge_d_loss,
    hinge_g_loss,
    l1_loss,
    load_vgg19,
)
from training.trainers.common import (
    MAX_STEPS,
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

HELP = "stage B: train the two-stage manipulation generator (paper 000 section 3.3, Eq. 8-10)"
NAME = "generator"
CORRESPONDENCE = "correspondence"


@dataclass(frozen=True)
class StageBLosses:
    l1_coarse: float = 1.0          # λ_l1 on y_coarse (Eq. 9)
    l1: float = 1.0                 # λ_L1 on y
    perceptual: float = 1.0         # VGG pyramid relu1_2..relu5_2 (pix2pixHD weights)
    adversarial: float = 0.1


@dataclass(frozen=True)
class StageBConfig:
    model_size: str = "paper"
    coarse_steps: int = 0                    # first phase: coarse stage alone
    lr_d: float = 2e-4
    network: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    warp: WarpConfig = field(default_factory=WarpConfig)
    losses: StageBLosses = field(default_factory=StageBLosses)

    @staticmethod
    def preset(model_size: str) -> StageBConfig:
        disc = DiscriminatorConfig.tiny() if model_size == "tiny" else DiscriminatorConfig()
        return StageBConfig(model_size=model_size, network=generator_preset(model_size),
                            discriminator=disc)

    def phase(self, step: int) -> str:
        return "coarse" if step <= self.coarse_steps else "joint"


def load_correspondence(location: str | Path, device: torch.device
                        ) -> tuple[CorrespondenceNetConfig, CorrespondenceNet, dict[str, Any]]:
    ck = load_checkpoint(location)
    if not ck.has(CORRESPONDENCE):
        raise BadInputError(f"--correspondence {location} has no '{CORRESPONDENCE}' network; "
                            "pass the output folder of `python -m training correspondence`")
    cfg = ck.config(CORRESPONDENCE, CorrespondenceNetConfig)
    net = ck.load_into(CORRESPONDENCE, CorrespondenceNet(cfg)).to(device).eval()
    net.requires_grad_(False)
    return cfg, net, ck.metadata


@torch.no_grad()
def make_xwarp(net: CorrespondenceNet, sampler, warp: WarpConfig, batch: dict[str, torch.Tensor],
               generator: torch.Generator) -> torch.Tensor:
    """Eq. 8: ``r(x̃1 → c1) ⊙ m + x1 ⊙ (1 − m)`` with the frozen stage-A features."""
    x1, c1, m = batch["x1"], batch["c1"], batch["m"]
    _, ux = net.source_features(batch["x1s"], batch["c1s"])
    known = m[:, 0] < 0.5
    _, uc = net.target_features(c1, x1 * known[:, None], known)
    r = hrs_warp(sampler, warp, uc, ux, batch["x1s"], c1, batch["c1s"], generator)
    return r.clamp(0, 1) * m + x1 * (1 - m)


class GeneratorTrainer:
    """Stage B: the networks, optimisers, data and VGG are set up once; :meth:`step` runs one
    optimisation step (log, sample grid and checkpoint included) and :meth:`train` the loop."""

    def __init__(self, config: StageBConfig, data: str | Path, correspondence: str | Path,
                 out: str | Path, resume: bool = False, runtime: Runtime | None = None) -> None:
        self.config, self.data, self.correspondence = config, data, correspondence
        self.out = out = Path(out)
        self.rt = rt = runtime or setup_runtime(config.run.device, config.run.amp)
        run = config.run
        seed_everything(run.seed, run.threads)
        self.corr_cfg, self.corr_net, self.corr_meta = load_correspondence(correspondence,
                                                                           rt.device)
        self.gen_net = ManipulationGenerator(config.network).to(rt.device)
        self.disc = PatchDiscriminator(config.discriminator).to(rt.device)
        self.opt_g = torch.optim.Adam(self.gen_net.parameters(), lr=run.lr, betas=run.betas)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=config.lr_d, betas=run.betas)
        self.generator = torch.Generator(device=rt.device).manual_seed(run.seed * 7919 + rt.rank)
        self.start = 0
        if resume and (folder := latest_state(out)) is not None:
            meta, tensors = load_training_state(folder)
            load_networks(folder, {NAME: self.gen_net, "discriminator": self.disc})
            restore_optimizer(self.opt_g, "opt_g", tensors, meta["optimizers"]["opt_g"])
            restore_optimizer(self.opt_d, "opt_d", tensors, meta["optimizers"]["opt_d"])
            restore_rng(tensors, self.generator)
            self.start = int(meta["step"])
        # The data first: a wrong --data is a one-line error before the VGG weights are fetched.
        dataset = ManipulationSamples(data, config.data, seed=run.seed)
        vgg, self.vgg_info = load_vgg19(run.vgg)
        self.vgg = vgg.to(rt.device)
        self.sampler = KeyIndexSampler(config.warp.sampler)
        loader = make_loader(dataset, run.batch_size, run.seed, self.start, rt.rank, rt.world,
                             config.data.workers, config.data.pin_memory, config.data.prefetch)
        self.d_ddp = wrap_ddp(self.disc, rt)
        self.scaler = rt.scaler()
        self.monitor = TrainMonitor(out, run.steps, run.log_every, run.batch_size * rt.world,
                                    rt.main)
        if rt.main:
            out.mkdir(parents=True, exist_ok=True)
            print(f"stage B: {len(dataset)} photos, {run.steps} steps from {self.start} "
                  f"({config.coarse_steps} coarse), batch {run.batch_size}×{rt.world} at "
                  f"{config.data.size}², device {rt.device}, VGG-19 {self.vgg_info['weights']}",
                  flush=True)
        self.t0 = time.perf_counter()
        self.last: dict[str, float] = {}
        self.g_ddp, self.g_phase = None, None
        self.batches = iter(loader)

    def train(self) -> dict[str, Any]:
        """Every remaining step; returns a summary (steps, seconds, last losses, networks)."""
        for step in range(self.start + 1, self.config.run.steps + 1):
            self.step(step)
        return {"steps": self.config.run.steps, "start": self.start,
                "seconds": time.perf_counter() - self.t0, "losses": self.last,
                "vgg": self.vgg_info, "generator": self.gen_net, "discriminator": self.disc}

    def step(self, step: int) -> dict[str, float]:
        """Optimisation step ``step``: generator, then (joint phase) discriminator; its losses."""
        config, rt, run = self.config, self.rt, self.config.run
        phase = config.phase(step)
        if phase != self.g_phase:   # the coarse phase leaves the refiner unused: DDP must know
            self.g_ddp = wrap_ddp(self.gen_net, rt, find_unused=phase == "coarse")
            self.g_phase = phase
        batch = {k: v.to(rt.device, non_blocking=True) for k, v in next(self.batches).items()}
        x1, c1, m = batch["x1"], batch["c1"], batch["m"]
        xwarp = make_xwarp(self.corr_net, self.sampler, config.warp, batch, self.generator)
        with rt.autocast():
            y, y_coarse = self.g_ddp(xwarp, c1, m, x1 * (1 - m),
                                     stage=1 if phase == "coarse" else 2)
            comp = y * m + x1 * (1 - m)                   # Eq. 6: the edit pasted into x1
            losses = self._generator_losses(phase, batch, y, y_coarse, comp)
            total = sum(getattr(config.losses, k) * v for k, v in losses.items())
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.opt_g)
        if phase == "joint":
            losses["discriminator"] = self._discriminator_step(x1, c1, m, comp)
        self.scaler.update()
        self.last = ({k: float(v.detach()) for k, v in losses.items()}
                     | {"total": float(total.detach())})
        self.monitor.add(self.last)
        self.monitor.step_done(step, phase, force=step == run.steps)
        if rt.main and (step % run.image_every == 0 or step == run.steps):
            write_grid(self.out / "samples" / f"step_{step:08d}.png",
                       [x1 * (1 - m), batch["x1s"], xwarp, y_coarse, comp, x1])
        if step % run.checkpoint_every == 0 or step == run.steps:
            if rt.main:
                self._save(step, phase)
            rt.barrier()
        return self.last

    def _generator_losses(self, phase: str, batch: dict[str, torch.Tensor], y: torch.Tensor,
                          y_coarse: torch.Tensor, comp: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. 9-10: L1 and perceptual; in the joint phase also on ``y``, plus adversarial."""
        x1, c1, m, vgg = batch["x1"], batch["c1"], batch["m"], self.vgg
        f_x1 = vgg(x1, FEATURE_MATCHING.layers)
        losses = {"l1_coarse": l1_loss(y_coarse, x1)}
        if phase == "coarse":
            losses["perceptual"] = feature_l1(vgg(y_coarse, FEATURE_MATCHING.layers), f_x1,
                                              FEATURE_MATCHING)
        else:
            losses["l1"] = l1_loss(y, x1)
            losses["perceptual"] = feature_l1(vgg(y, FEATURE_MATCHING.layers), f_x1,
                                              FEATURE_MATCHING)
            losses["adversarial"] = hinge_g_loss(self.d_ddp(comp, c1, m))
        return losses

    def _discriminator_step(self, x1: torch.Tensor, c1: torch.Tensor, m: torch.Tensor,
                            comp: torch.Tensor) -> torch.Tensor:
        with self.rt.autocast():
            logits = self.d_ddp(torch.cat([x1, comp.detach()]), torch.cat([c1, c1]),
                                torch.cat([m, m]))
            real, fake = logits.chunk(2)
            d_loss = hinge_d_loss(real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.opt_d)
        return d_loss

    def _save(self, step: int, phase: str) -> None:
        config, rt, run = self.config, self.rt, self.config.run
        metadata = run_metadata(NAME, step, config, rt, time.perf_counter() - self.t0,
                                self.vgg_info, self.data, phase=phase,
                                correspondence_from=str(self.correspondence),
                                correspondence_metadata=self.corr_meta)
        save_training_state(
            self.out, step, {CORRESPONDENCE: (self.corr_cfg, self.corr_net),
                             NAME: (config.network, unwrap(self.g_ddp)),
                             "discriminator": (config.discriminator, unwrap(self.d_ddp))},
            [CORRESPONDENCE, NAME], {"opt_g": self.opt_g, "opt_d": self.opt_d}, self.generator,
            {"config": config_dict(config)}, metadata, run.keep)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p)
    p.add_argument("--correspondence", required=True, metavar="DIR_A",
                   help="stage A output (a checkpoint with a 'correspondence' network)")
    p.add_argument("--coarse-steps", type=int_in(0, MAX_STEPS), metavar="N",
                   help="steps of the first phase (coarse stage alone, L1 + perceptual), "
                        "0..--steps")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    out = check_out(args.out, args.resume)
    config = resolve_config(StageBConfig, args, out)
    if args.coarse_steps is not None and not args.resume:
        config = dataclasses.replace(config, coarse_steps=args.coarse_steps)
        config = apply_overrides(config, args.set)   # --set still has the last word
    if not 0 <= config.coarse_steps <= config.run.steps:
        raise BadInputError(f"--coarse-steps must be in 0..{config.run.steps}, got "
                            f"{config.coarse_steps}")
    rt = setup_runtime(config.run.device, config.run.amp)
    try:
        summary = GeneratorTrainer(config, args.data, args.correspondence, out, args.resume,
                                   rt).train()
    finally:
        rt.close()
    if rt.main:
        print(f"wrote {out} (networks '{CORRESPONDENCE}', '{NAME}') after {summary['steps']} "
              f"steps in {summary['seconds']:.1f} s; try: python main.py edit --checkpoint {out}")
    return 0
