"""Every config under configs/ composes, and every ``_target_`` config instantiates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import config_dir

CONFIGS = sorted(p.relative_to(config_dir()) for p in config_dir().rglob("*.yaml"))
# The corpus pipeline's own groups; the other top-level configs belong to their verbs (eval, ...)
ROOT_FOR_GROUP = {"preset": "corpus", "channel": "corpus", "hydra/launcher": "corpus"}


def _compose(name: str, overrides: list[str], hydra_cfg: bool = False):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=name, overrides=overrides, return_hydra_config=hydra_cfg)


@pytest.mark.parametrize("rel", CONFIGS, ids=str)
def test_config_composes_and_instantiates(rel: Path, tmp_path):
    group, name = rel.parent.as_posix(), rel.stem
    if group == ".":
        cfg = _compose(name, [])
        assert cfg is not None
        return
    raw = OmegaConf.load(config_dir() / rel)
    if group in ROOT_FOR_GROUP:
        cfg = _compose(ROOT_FOR_GROUP[group], [f"{group}={name}", "corpora_root=/tmp"], group.startswith("hydra"))
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
        assert obj is not None
        if group == "tts":
            assert obj.system == name
        if group == "source":
            assert obj.name and obj.subdir and obj.language in ("en", "zh")
