"""rcb train end to end on a tiny corpus: run directory, resume after a kill, NaN stop, atomic saves."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robocall_bench import cli
from robocall_bench.contract import read_protocol, read_scores
from robocall_bench.errors import RcbError
from robocall_bench.inference.checkpoint import atomic_torch_save, read_checkpoint
from robocall_bench.training.callbacks import StopAt
from robocall_bench.training.run import train
from test_train_support import TINY_MODEL, tiny_corpus, train_cfg, trained_run


class SimulatedKill(Exception):
    """Stands for SIGKILL: the run stops between two steps without any cleanup of its own."""


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> Path:
    return trained_run(corpus, tmp_path_factory)


def test_debug_run_writes_a_complete_run_directory(run, corpus):
    proto = read_protocol(corpus)
    tracks = sorted(set(proto.cols["track"][proto.cols["split"] == "eval"]))
    for f in ("config.yaml", "checkpoints/best.ckpt", "checkpoints/last.ckpt", "logs/metrics.csv", "metrics.json",
              "README.md"):  # fmt: skip
        assert (run / f).is_file(), f
    for name in ["dev", *tracks]:
        split, track = ("dev", None) if name == "dev" else ("eval", name)
        read_scores(run / "scores" / f"{name}.tsv", proto.select(split, track), proto)  # every row, once
        m = json.loads((run / "metrics" / name / "metrics.json").read_text())
        assert m["schema"] == "robocall-bench/metrics" and 0 <= m["eer"]["value"] <= 1 and m["eer"]["ci"]
    for sec in (1, 2, 3, 5):
        read_scores(run / "scores" / f"early-{sec}s.tsv", proto.select("eval", "eval"), proto)
    m = json.loads((run / "metrics" / "eval" / "metrics.json").read_text())
    assert [e["seconds"] for e in m["early_detection"]] == [1.0, 2.0, 3.0, 5.0]
    assert m["thresholds"]["fixed"]["source"] == "dev_eer"
    summary = json.loads((run / "metrics.json").read_text())
    assert set(summary["tracks"]) == {"dev", *tracks} and summary["corpus"]["sample_rate"] == 8000
    card = (run / "README.md").read_text()
    assert (
        card.startswith("---\n")
        and "model-index" in card
        and "## Limitations" in card
        and "rcb score" in card
    )
    ck = read_checkpoint(run / "checkpoints" / "best.ckpt")
    assert (
        ck["rcb"]["model"]["_target_"] == TINY_MODEL["_target_"]
        and ck["rcb"]["preprocess"]["sample_rate"] == 16000
    )
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 4
    assert "dev/eer" in (run / "logs" / "metrics.csv").read_text()


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["state_dict"]


def test_resume_after_kill_equals_uninterrupted_run(corpus, tmp_path):
    steps = ["trainer.max_steps=7", "trainer.ckpt_every_n_steps=2", "trainer.eval_every_n_steps=3"]
    full = tmp_path / "full"
    train(train_cfg(corpus, full, *steps), full)
    cut = tmp_path / "cut"
    with pytest.raises(SimulatedKill):  # killed during step 6: last.ckpt holds step 4
        train(train_cfg(corpus, cut, *steps), cut, callbacks=[StopAt(5, SimulatedKill())])
    assert read_checkpoint(cut / "checkpoints" / "last.ckpt")["global_step"] == 4
    assert not (cut / "scores").exists()
    train(train_cfg(corpus, cut, *steps), cut)  # same run_dir: resumes from last.ckpt
    for name in ("last.ckpt", "best.ckpt"):
        a, b = _weights(full / "checkpoints" / name), _weights(cut / "checkpoints" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert (full / "scores" / "dev.tsv").read_text() == (cut / "scores" / "dev.tsv").read_text()
    assert (full / "scores" / "eval.tsv").read_text() == (cut / "scores" / "eval.tsv").read_text()
    ca, cb = (read_checkpoint(d / "checkpoints" / "last.ckpt")["callbacks"] for d in (full, cut))
    assert ca == cb  # same dev-EER history and best step
    ta, tb = (json.loads((d / "metrics.json").read_text())["tracks"] for d in (full, cut))
    assert ta == tb
    la, lb = ((d / "logs" / "metrics.csv").read_text().splitlines() for d in (full, cut))
    assert la[0] == lb[0] and len(lb) > len(la)  # the log before the kill is kept, the resumed run appends


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(corpus, tmp_path):
    model = {**TINY_MODEL, "nan_at": 4}  # the 4th training step yields NaN logits
    cfg = train_cfg(corpus, tmp_path, "trainer.max_steps=8", "trainer.ckpt_every_n_steps=2", model=model)
    with pytest.raises(RcbError, match=r"(?s)non-finite loss.*last good checkpoint.*step 2.*optim.lr"):
        train(cfg, tmp_path)
    ck = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert ck["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in ck["state_dict"].values() if v.is_floating_point())


def test_resume_refuses_a_checkpoint_of_another_model(run, corpus, tmp_path):
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(run / "checkpoints" / "last.ckpt", tmp_path / "checkpoints" / "last.ckpt")
    other = {"_target_": "test_train_support.OtherDetector", "name": "other"}
    msg = (
        r"trained with model 'tiny \(TinyDetector\)' but this run configures model 'other \(OtherDetector\)'"
    )
    with pytest.raises(RcbError, match=msg):
        train(train_cfg(corpus, tmp_path, model=other), tmp_path)


def test_missing_corpus_and_missing_model_are_clear_errors(corpus, tmp_path):
    with pytest.raises(RcbError, match="corpus .* not found"):
        train(train_cfg(tmp_path / "nowhere", tmp_path / "r"), tmp_path / "r")
    from robocall_bench.config import compose

    cfg = compose("train", ["debug=default", f"corpus={corpus}"])
    with pytest.raises(RcbError, match="no model configured: pass experiment=NAME"):
        train(cfg, tmp_path / "r2")


@pytest.mark.parametrize("bad", ["0", "-1", "abc"])
def test_a_bad_max_batch_seconds_fails_before_training(corpus, tmp_path, bad):
    cfg = train_cfg(corpus, tmp_path, f"score.max_batch_seconds={bad}")
    with pytest.raises(RcbError, match=r"score\.max_batch_seconds=.*positive number of seconds"):
        train(cfg, tmp_path)
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()


def test_atomic_save_survives_a_crash_mid_write(tmp_path, monkeypatch):
    p = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1}, p)
    before = p.read_bytes()

    def crash(fd):
        raise OSError("killed while writing")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="killed"):
        atomic_torch_save({"step": 2, "big": np.zeros(100_000)}, p)
    assert p.read_bytes() == before and torch.load(p, weights_only=True) == {"step": 1}
    assert [q.name for q in tmp_path.iterdir()] == ["last.ckpt"]  # no temp file left behind


def test_lfcc_gmm_goes_through_the_fit_path(corpus, tmp_path):
    gmm = {"_target_": "robocall_bench.models.lfcc_gmm.LFCCGMM", "n_components": 2, "max_iter": 10}
    cfg = train_cfg(corpus, tmp_path, "data.train_crop_s=2.0", "score.early_seconds=[1]", model=gmm)
    out = train(cfg, tmp_path)
    assert out["fit"]["steps"] == 0 and 0 <= out["fit"]["best_dev_eer"] <= 1
    for f in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "scores/eval.tsv", "scores/early-1s.tsv",
              "metrics/eval/metrics.json", "README.md"):  # fmt: skip
        assert (tmp_path / f).is_file(), f
    assert read_checkpoint(tmp_path / "checkpoints" / "best.ckpt")["rcb"]["kind"] == "sklearn"


def test_rcb_train_cli(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "debug=default", f"corpus={corpus}", f"run_dir={tmp_path / 'r'}", "trainer.max_steps=2",
            "score.early_seconds=[]", f"+model._target_={TINY_MODEL['_target_']}"]  # fmt: skip
    assert cli.main(argv) == 0
    assert (tmp_path / "r" / "README.md").is_file() and (tmp_path / "r" / ".hydra" / "config.yaml").is_file()
    assert "EER" in capsys.readouterr().out
    assert cli.main(["train", "debug=default", f"+model._target_={TINY_MODEL['_target_']}"]) == 2
    assert "missing corpus=DIR" in capsys.readouterr().err


def test_throughput_separates_steps_loader_waits_and_dev_scoring(monkeypatch):
    """A fake clock: 3 steps of 2 s, loader waits of 1 s, 5 s of dev scoring after steps 2 and 3."""
    from robocall_bench.training import callbacks
    from robocall_bench.training.callbacks import Throughput

    now = [100.0]
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: now[0])

    class Ckpt:
        seconds = 0.0

    ck, batch = Ckpt(), (torch.zeros(4, 8),)
    meter = Throughput(ck)  # type: ignore[arg-type]
    for i in range(3):
        meter.on_train_batch_start(None, None, batch, i)  # type: ignore[arg-type]
        now[0] += 2.0
        meter.on_train_batch_end(None, None, None, batch, i)  # type: ignore[arg-type]
        if i >= 1:  # dev scoring + checkpoint after this step (the last one's is outside the loop)
            now[0] += 5.0
            ck.seconds += 5.0
        now[0] += 1.0  # waiting for the next batch
    s = meter.summary()
    assert s["samples"] == 12 and s["step_seconds"] == 6.0
    assert s["loop_seconds"] == 8.0  # 3 steps + 2 waits; dev scoring excluded
    assert s["samples_per_s"] == 2.0 and s["loop_samples_per_s"] == 1.5 and s["loader_share"] == 0.25
    assert Throughput().summary() == {}  # no step measured: nothing claimed
