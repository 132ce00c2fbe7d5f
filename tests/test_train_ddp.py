"""DDP on CPU: ``torchrun`` with 2 gloo processes trains, and rank 0 alone writes the run directory.

The strongest check of the rank sharding: with a model free of dropout and BatchNorm and a
deterministic loader, 2 ranks with batch B/2 each take the same optimizer steps as 1 process with
batch B (DDP averages the two half-batch mean gradients = the mean over the global batch), so both
end with the same weights up to float rounding.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from rich.console import Console
from torch import nn

from robocall_bench.config import compose
from robocall_bench.contract import read_protocol, read_scores
from robocall_bench.inference.checkpoint import read_checkpoint
from robocall_bench.inference.scoring import build_model
from robocall_bench.models import register_detector
from robocall_bench.training.data import load_corpus
from robocall_bench.training.engine import fit, trainer_kwargs
from robocall_bench.training.sampler import BalancedBatchSampler
from test_train_support import HERE, TinyDetector, tiny_corpus, train_cfg

PLAIN_MODEL = {"_target_": "test_train_ddp.PlainDetector", "name": "plain"}
GLOBAL_BATCH, STEPS, WORLD = 4, 4, 2


class PlainDetector(TinyDetector):
    """TinyDetector without dropout: no per-rank randomness, so DDP and one process can agree exactly."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__(channels)
        self.drop = nn.Identity()


register_detector(PlainDetector)  # a test class: checkpoints naming it may be read back here


def free_port() -> int:
    """A TCP port free right now (for torchrun's rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


def test_rank_halves_make_up_the_single_process_batch():
    labels = [0] * 9 + [1] * 5
    one = list(BalancedBatchSampler(labels, GLOBAL_BATCH, 12, seed=1))
    halves = [list(BalancedBatchSampler(labels, GLOBAL_BATCH // WORLD, 12, seed=1, rank=r, world=WORLD))
              for r in range(WORLD)]  # fmt: skip
    # rows and crop seeds (which fix crop and augmentation) of global batch j, in the same order
    assert [a + b for a, b in zip(*halves, strict=True)] == one


def test_trainer_kwargs_follow_torchrun(tmp_path):
    cfg = compose("train", ["trainer=ddp", "trainer.accelerator=cpu", f"corpus={tmp_path}"])
    with pytest.warns(UserWarning, match="sync_batchnorm is ignored on CPU"):
        kw = trainer_kwargs(cfg.trainer, {"LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "4"})
    assert (kw["devices"], kw["num_nodes"], kw["sync_batchnorm"], kw["strategy"]) == (2, 2, False, "ddp")
    single = compose("train", [f"corpus={tmp_path}"]).trainer  # trainer=cpu: an explicit devices=1 is kept
    assert trainer_kwargs(single, {"LOCAL_WORLD_SIZE": "2"})["devices"] == 1


@pytest.mark.slow
def test_torchrun_two_cpu_processes_match_one_process_with_the_global_batch(corpus, tmp_path):
    parent = tmp_path / "ddp"
    run_dir = parent / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline",
           "PYTHONPATH": os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])}  # fmt: skip
    cmd = [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={WORLD}", f"--master_port={free_port()}",
        "-m", "robocall_bench.cli", "train", "debug=default", "logger=csv", "trainer=ddp", "trainer.accelerator=cpu",
        "trainer.precision=32-true", f"trainer.max_steps={STEPS}", f"data.batch_size={GLOBAL_BATCH // WORLD}",
        "score.early_seconds=[1]", f"corpus={corpus}", f"run_dir={run_dir}",
        f"+model={{_target_:{PLAIN_MODEL['_target_']},name:{PLAIN_MODEL['name']}}}",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "distributed_backend=gloo" in proc.stdout + proc.stderr and wall < 240

    # one run directory, written by rank 0 alone (rank 1 stops after fit)
    assert [p.name for p in parent.iterdir()] == ["run"]
    for f in ("config.yaml", "metrics.json", "README.md", "checkpoints/best.ckpt", "checkpoints/last.ckpt",
              "logs/metrics.csv"):  # fmt: skip
        assert (run_dir / f).is_file(), f
    assert proc.stdout.count("run directory ") == 1  # the closing summary: printed by rank 0 only
    proto = read_protocol(corpus)
    read_scores(run_dir / "scores" / "dev.tsv", proto.select("dev", None), proto)  # every row, once
    read_scores(run_dir / "scores" / "eval.tsv", proto.select("eval", "eval"), proto)
    summary = json.loads((run_dir / "metrics.json").read_text())
    fit_s = summary["fit"]
    assert fit_s["steps"] == STEPS and len(fit_s["history"]) == STEPS // 2  # eval_every_n_steps=2 (debug)
    tp = fit_s["throughput"]
    assert tp["world_size"] == WORLD and tp["batch_size"] == GLOBAL_BATCH // WORLD
    assert tp["samples"] == STEPS * GLOBAL_BATCH // WORLD  # rank 0 trained on its half of each global batch
    last = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert last["rcb"]["global_step"] == STEPS and last["rcb"]["model"]["_target_"] == PLAIN_MODEL["_target_"]

    # the same run in one process with the global batch: same seed, steps, data and LR schedule
    ref_dir = tmp_path / "single"
    cfg = train_cfg(corpus, ref_dir, f"trainer.max_steps={STEPS}", f"data.batch_size={GLOBAL_BATCH}",
                    model=PLAIN_MODEL)  # fmt: skip
    ref = fit(cfg, ref_dir, load_corpus(corpus), Console(quiet=True))
    assert ref["steps"] == STEPS
    ddp_w = last["state_dict"]
    one_w = read_checkpoint(ref_dir / "checkpoints" / "last.ckpt")["state_dict"]
    pl.seed_everything(0, verbose=False)  # fit seeds the same way before it builds the model
    init = {f"model.{k}": v for k, v in build_model(dict(PLAIN_MODEL)).state_dict().items()}
    assert ddp_w.keys() == one_w.keys() == init.keys()
    for k in ddp_w:
        diff = (ddp_w[k] - one_w[k]).abs().max().item()
        assert torch.allclose(ddp_w[k], one_w[k], atol=1e-5, rtol=0), f"{k}: max |ddp - single| {diff:.2e}"
    moved = max((ddp_w[k] - init[k]).abs().max().item() for k in ddp_w)
    assert moved > 5e-4  # the weights did train: the match above is not init == init
