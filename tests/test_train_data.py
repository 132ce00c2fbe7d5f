"""The training data path: balanced, seeded, resumable batches; crops independent of workers and order."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from rich.console import Console

from robocall_bench.errors import RcbError
from robocall_bench.inference.preprocess import Preprocess, crop
from robocall_bench.training.data import load_corpus
from robocall_bench.training.datamodule import RcbDataModule
from robocall_bench.training.run import train
from robocall_bench.training.sampler import BalancedBatchSampler
from test_train_support import tiny_corpus, train_cfg

LABELS = [0] * 30 + [1] * 10


def test_balanced_sampler_draws_both_classes_equally_and_reproducibly():
    s = BalancedBatchSampler(LABELS, batch_size=4, total_batches=30, seed=3)
    assert s.per_epoch == 15  # 2 x 30 samples per data epoch
    batches = list(s)
    epoch0 = [LABELS[r] for b in batches[:15] for r, _ in b]
    assert Counter(epoch0) == {0: 30, 1: 30}
    assert batches == list(BalancedBatchSampler(LABELS, 4, 30, seed=3))
    assert batches != list(BalancedBatchSampler(LABELS, 4, 30, seed=4))
    assert batches[:15] != batches[15:]  # a fresh permutation every data epoch
    seeds = [seed for b in batches for _, seed in b]
    assert len(set(seeds)) == len(seeds)  # every sample gets its own crop seed
    plain = BalancedBatchSampler(LABELS, 4, 10, seed=3, balance=False)
    assert Counter(LABELS[r] for b in list(plain)[:10] for r, _ in b) == {0: 30, 1: 10}


def test_resume_skip_and_rank_shards():
    full = list(BalancedBatchSampler(LABELS, 4, 20, seed=0))
    s = BalancedBatchSampler(LABELS, 4, 20, seed=0)
    s.start = 7
    assert list(s) == full[7:] and list(s) == full  # the skip applies to one pass only
    r0, r1 = (list(BalancedBatchSampler(LABELS, 4, 5, seed=0, rank=k, world=2)) for k in (0, 1))
    for a, b in zip(r0, r1, strict=True):  # each rank draws its own samples of every global batch
        assert {seed for _, seed in a}.isdisjoint({seed for _, seed in b})
    with pytest.raises(ValueError, match="exceeds"):
        BalancedBatchSampler(LABELS, 64, 1, world=2)


def test_crop_and_pad():
    rng = np.random.default_rng(0)
    x = np.arange(100, dtype=np.float32)
    c = crop(x, 10, 2.0, rng)
    assert c.size == 20 and np.all(np.diff(c) == 1)
    assert crop(x, 10, 20.0, rng).size == 100  # shorter than the crop: whole (zero-padded in the batch)
    assert np.array_equal(crop(x[:30], 10, 5.0, rng, "repeat"), np.tile(x[:30], 2)[:50])
    y = Preprocess()(np.stack([x, x], axis=1) / 100, 8000)
    assert y.dtype == np.float32 and y.size == 200
    assert 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2))) == pytest.approx(-26.0, abs=0.01)


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


def test_loader_batches_do_not_depend_on_workers_and_resume_exactly(corpus):
    c = load_corpus(corpus)
    train = c.select("train")

    def batches(workers: int, served: int = 0) -> list:
        dm = RcbDataModule(train, Preprocess(), 4, 6, seed=0, crop_s=1.0, num_workers=workers)
        dl = dm.train_dataloader()
        dl.load_state_dict({"served": served})
        out = list(dl)
        assert dl.state_dict() == {"served": 0}  # a finished pass starts over
        return out

    ref = batches(0)
    assert len(ref) == 6 and all(b[0].shape == (4, int(b[1].max())) and b[1].max() <= 16000 for b in ref)
    for a, b in zip(ref, batches(2), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    for a, b in zip(ref[4:], batches(0, served=4), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class DeleteAudio(pl.Callback):
    """Deletes corpus files once training has started (after the corpus check of `rcb train`)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for p in self.paths:
            Path(p).unlink()


@pytest.mark.parametrize("workers", [0, 1])
def test_corpus_file_deleted_during_training_is_one_clear_error(corpus, tmp_path, workers):
    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy)
    c = load_corpus(copy)
    cfg = train_cfg(c.root, tmp_path / "run", f"data.num_workers={workers}")
    gone = DeleteAudio([i.path for i in c.select("train")])
    with pytest.raises(RcbError) as e:
        train(cfg, tmp_path / "run", callbacks=[gone], console=Console(quiet=True))
    msg = str(e.value)
    assert "Traceback" not in msg and "Caught" not in msg and "LibsndfileError" not in msg, msg
    assert msg.startswith(f"{c.root}/audio/train/") and ".flac: corpus audio cannot be read any more" in msg
    assert f"changed during training: run `rcb corpus verify corpus={c.root}`" in msg
