"""Every training config composes with configs/train.yaml, and its data/trainer/logger pieces instantiate."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
from omegaconf import OmegaConf

from robocall_bench.config import compose, config_dir
from robocall_bench.inference.preprocess import Preprocess
from robocall_bench.inference.scoring import build_model, is_torch_model
from robocall_bench.training.engine import build_augment, trainer_kwargs
from robocall_bench.training.loggers import build_loggers
from robocall_bench.training.sampler import BalancedBatchSampler


def _names(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


BASELINES = [
    "lfcc_gmm",
    "lfcc_lcnn",
    "rawnet2",
    "aasist",
    "aasist_l",
    "wav2vec2",
    "wav2vec2_aasist",
    "resemblyzer",
]
FITTED = {"lfcc_gmm", "resemblyzer"}  # fitted (fit/score_batch/save), not trained by SGD
NEEDS_HUB = {"wav2vec2_base"}  # downloads pretrained weights: never built in tests


def _cpu_trainer(cfg) -> pl.Trainer:
    kw = {**trainer_kwargs(cfg.trainer), "accelerator": "cpu", "devices": 1}
    if kw.get("strategy") == "ddp":  # no process group here; the config's other keys still apply
        kw["strategy"] = "auto"
    return pl.Trainer(**kw, logger=False, enable_checkpointing=False, max_steps=1)


def test_every_baseline_has_mini_and_full_recipes():
    assert {f"{b}_{s}" for b in BASELINES for s in ("mini", "full")} <= set(_names("experiment"))


@pytest.mark.parametrize("name", _names("experiment"))
def test_experiment_composes_and_builds(name, tmp_path):
    cfg = compose("train", [f"experiment={name}", f"corpus={tmp_path}"])
    assert cfg.name == name and cfg.model._target_
    assert OmegaConf.to_container(cfg, resolve=True)["run_dir"].startswith(f"experiments/runs/{name}/")
    Preprocess.from_dict(OmegaConf.to_container(cfg.data.preprocess))
    _cpu_trainer(cfg)
    model_name = OmegaConf.load(config_dir() / "experiment" / f"{name}.yaml").defaults[0]["override /model"]
    if model_name in NEEDS_HUB:
        return
    model = build_model(OmegaConf.to_container(cfg.model, resolve=True))
    assert is_torch_model(model) == (model_name not in FITTED)
    if is_torch_model(model):
        assert cfg.trainer.max_steps > 0 and cfg.trainer.eval_every_n_steps > 0 and cfg.optim.lr > 0


@pytest.mark.parametrize("name", _names("data"))
def test_data_config(name, tmp_path):
    cfg = compose("train", [f"data={name}", f"corpus={tmp_path}"])
    d = cfg.data
    assert (
        d.corpus == str(tmp_path) and d.balance in ("sampler", "loss", "none") and d.pad in ("zero", "repeat")
    )
    assert Preprocess.from_dict(OmegaConf.to_container(d.preprocess)).sample_rate == 16000
    aug, p = build_augment(cfg)
    assert (aug is None) == (p == 0.0)
    if aug is not None:
        assert aug.sample_rate == 8000
    s = BalancedBatchSampler([0, 0, 0, 1] * 20, int(d.batch_size), 3, balance=d.balance == "sampler")
    assert len(list(s)) == 3


@pytest.mark.parametrize("name", _names("trainer"))
def test_trainer_config(name, tmp_path):
    cfg = compose("train", [f"trainer={name}", f"corpus={tmp_path}"])
    t = cfg.trainer
    assert t.ckpt_every_n_steps > 0 and t.eval_every_n_steps > 0
    if name != "cpu":
        assert t.accelerator == "gpu" and "mixed" in t.precision
    _cpu_trainer(cfg)


@pytest.mark.parametrize("name", _names("logger"))
def test_logger_config(name, tmp_path):
    cfg = compose("train", [f"logger={name}", f"corpus={tmp_path}"])
    loggers = build_loggers(cfg.logger, tmp_path)
    assert len(loggers) == {"none": 0, "local": 2}.get(name, 1)
    for lg in loggers:
        lg.log_metrics({"x": 1.0}, step=0)
        lg.finalize("success")
    if name == "wandb":  # offline by default: the run is written locally, nothing is uploaded
        import wandb

        wandb.finish()
        runs = list((tmp_path / "wandb").glob("offline-run-*"))
        assert runs and any(runs[0].glob("*.wandb")), list(tmp_path.rglob("*"))[:20]


@pytest.mark.parametrize("name", _names("debug"))
def test_debug_config_is_tiny(name, tmp_path):
    cfg = compose("train", [f"debug={name}", "experiment=aasist_full", f"corpus={tmp_path}"])
    assert cfg.trainer.max_steps <= 10 and cfg.data.num_workers == 0 and cfg.eval.bootstrap_n <= 50


def test_score_config_requires_its_arguments():
    cfg = compose("score", [])
    assert {k for k in cfg if OmegaConf.is_missing(cfg, k)} == {"ckpt", "input", "out"}


def test_train_config_defaults(tmp_path):
    cfg = compose("train", [f"corpus={tmp_path}"])
    assert cfg.get("model") is None and cfg.resume == "auto" and cfg.trainer.deterministic is True
    assert Path(config_dir() / "train.yaml").read_text().count("_self_") == 1


def test_baselines_recipes_are_pinned_release_experiments():
    """`rcb baselines`: every recipe is a file under configs/experiment/ trained on the release, one entry id each."""
    cfg = compose("baselines", [])
    names = set(_names("experiment"))
    ids = [str(r.entry_id) for r in cfg.recipes.values()]
    assert len(set(ids)) == len(ids) and set(cfg.baselines.models) <= set(cfg.recipes)
    kinds = {str(r.get("kind") or "train") for r in cfg.recipes.values()}
    assert kinds == {"train", "zero_shot", "fingerprint", "fusion"}
    for name, r in cfg.recipes.items():
        if str(r.get("kind") or "train") == "train":
            assert r.experiment in names and r.experiment.endswith("_release"), r.experiment
        elif r.kind == "zero_shot":
            assert r.weights in ("AASIST.pth", "AASIST-L.pth")
        elif r.kind == "fusion":  # fused recipes are trained ones
            per_call = list(r.per_call) if not isinstance(r.per_call, str) else [r.per_call]
            assert all(str(cfg.recipes[p].get("kind") or "train") == "train" for p in per_call), name
    assert cfg.baselines.preset == "release" and (config_dir() / "preset" / "release.yaml").is_file()
