"""Every config under configs/ composes, and every ``_target_`` config instantiates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.sources.base import HumanSource
from robocall_bench.tts.base import TTSEngine

# The corpus pipeline's groups are tested here; the training groups compose through train.yaml
# and instantiate in the tests named below (models need torch, data needs a corpus).
ROOT_FOR_GROUP = {"preset": "corpus", "channel": "corpus", "hydra/launcher": "corpus"}
HERE = {"source", "tts", *ROOT_FOR_GROUP}
ELSEWHERE = {
    "model": "test_models.py",
    "data": "test_train_configs.py",
    "trainer": "test_train_configs.py",
    "logger": "test_train_configs.py",
    "experiment": "test_train_configs.py",
    "debug": "test_train_configs.py",
    "hydra/sweeper": "test_summarize.py",
}
# Keys each verb reads from its root config (a renamed key would otherwise surface only at run time).
ROOT_KEYS = {
    "campaign": ["input", "out", "clusters", "split", "track", "min_seconds", "min_z", "top"],
    "corpus": ["seed", "out", "corpora_root", "num_workers", "tts", "channel", "plan", "protocol"],
    "baselines": ["baselines", "recipes"],
    "demo": ["demo", "recipes"],
    "eval": ["scores", "protocol", "out", "split", "breakdown", "bootstrap", "cost"],
    "eval_compare": ["scores", "protocol", "split", "track", "n_boot", "seed", "alpha", "within", "cost", "out"],
    "fuse": ["scores", "dev_scores", "protocol", "out", "track", "dev_track", "seed"],
    "leaderboard": ["root", "entry", "check", "limits", "cost", "bootstrap", "reproduce"],
    "score": ["ckpt", "input", "out", "window", "batch_size", "device"],
    "train": ["corpus", "seed", "trainer", "data", "optim", "score", "run_dir"],
}
REQUIRED = {
    "campaign": {"input", "out"},
    "eval": {"scores", "protocol", "out"},
    "eval_compare": {"scores", "protocol"},
    "fuse": {"scores", "dev_scores", "protocol", "out"},
    "score": {"ckpt", "input", "out"},
    "train": {"corpus"},
}
ALL = sorted(p.relative_to(config_dir()) for p in config_dir().rglob("*.yaml"))
CONFIGS = [p for p in ALL if p.parent.as_posix() in HERE or p.parent.as_posix() == "."]


def test_every_config_group_is_tested_somewhere():
    groups = {p.parent.as_posix() for p in ALL} - {"."}
    tests = Path(__file__).parent
    for g in groups - HERE:
        assert g in ELSEWHERE and (tests / ELSEWHERE[g]).is_file(), f"configs/{g}/ is composed by no test"


def _compose(name: str, overrides: list[str], hydra_cfg: bool = False):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=name, overrides=overrides, return_hydra_config=hydra_cfg)


@pytest.mark.parametrize("rel", CONFIGS, ids=str)
def test_config_composes_and_instantiates(rel: Path, tmp_path):
    group, name = rel.parent.as_posix(), rel.stem
    if group == ".":
        cfg = _compose(name, [])
        # Every root config holds the keys its verb reads, and every `???` is one the verb requires.
        assert set(ROOT_KEYS[name]) <= set(cfg), f"{name}.yaml lacks {set(ROOT_KEYS[name]) - set(cfg)}"
        missing = {k for k in cfg if OmegaConf.is_missing(cfg, k)}
        assert missing == REQUIRED.get(name, set()), (name, missing)
        return
    raw = OmegaConf.load(config_dir() / rel)
    if group in ROOT_FOR_GROUP:
        cfg = _compose(
            ROOT_FOR_GROUP[group], [f"{group}={name}", "corpora_root=/tmp"], group.startswith("hydra")
        )
        if group == "channel":
            ch = instantiate(cfg.channel, noise_dir=None)
            assert ch.codec_names() and ch.sample_rate in (8000, 16000)
        if group == "preset":
            assert cfg.preset_name == name
        if group == "hydra/launcher":
            assert cfg.hydra.launcher._target_
        return
    if "_target_" in raw:
        obj = instantiate(raw)
        if group == "tts":
            assert isinstance(obj, TTSEngine) and obj.system == name
        if group == "source":
            assert isinstance(obj, HumanSource)
            assert obj.name and obj.subdir and obj.language in ("en", "zh")
