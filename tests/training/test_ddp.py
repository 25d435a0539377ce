"""DistributedDataParallel on CPU: two gloo processes take steps on different data and end
with identical weights, different from the initial ones (gradients really are all-reduced)."""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from training.configs import apply_overrides
from training.synth import write_dataset
from training.trainers.correspondence import StageAConfig, StageAModel, train_correspondence


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config() -> StageAConfig:
    return apply_overrides(StageAConfig.preset("tiny"), [
        "data.size=32", "run.batch_size=1", "data.workers=0", "run.vgg=random",
        "warp.iterations=2", "run.steps=2", "losses.contextual=0", "run.log_every=1"])


def _worker(rank: int, world: int, port: int, data: str, out: str, results: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from training.trainers.runtime import setup_runtime

    rt = setup_runtime("cpu", amp=False)
    try:
        summary = train_correspondence(_config(), data, out, runtime=rt)
        state = {k: v.contiguous() for k, v in summary["model"].state_dict().items()}
        save_file(state, os.path.join(results, f"rank{rank}.safetensors"))
    finally:
        rt.close()


def test_two_gloo_processes_end_with_identical_weights(tmp_path):
    data = tmp_path / "synth"
    write_dataset(data, 6, 64, seed=9, val_fraction=0.0)
    results = tmp_path / "results"
    results.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "out"), str(results)),
             nprocs=2, join=True)
    a = load_file(str(results / "rank0.safetensors"))
    b = load_file(str(results / "rank1.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(_config().run.seed)
    init = StageAModel(_config()).state_dict()
    changed = [k for k in a if a[k].dtype.is_floating_point and not torch.equal(a[k], init[k])]
    assert len(changed) > len(a) // 2                     # steps were taken
    # Only rank 0 writes: one log with both processes' images counted.
    log = (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 2
    assert (tmp_path / "out" / "config.json").is_file()
