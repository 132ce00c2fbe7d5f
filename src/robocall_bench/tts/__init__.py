"""Offline TTS engines (piper, espeak-ng, flite, festival); one YAML per system in configs/tts/.

Each ``configs/tts/<system>.yaml`` names its engine class with ``_target_`` and holds the
keyword arguments (system id = file stem, languages, voice, variation ranges).
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ..errors import RcbError
from .base import Synthesis, TTSEngine

__all__ = [
    "Synthesis",
    "TTSEngine",
    "available_systems",
    "instantiate_engine",
    "load_engine",
    "system_config",
]


def _tts_dir(config_dir: str | os.PathLike | None) -> Path:
    if config_dir is None:
        from ..config import config_dir as default_config_dir

        config_dir = default_config_dir()
    root = Path(config_dir)
    return root if root.name == "tts" else root / "tts"


def available_systems(config_dir: str | os.PathLike | None = None) -> list[str]:
    """Sorted system ids (YAML stems) under ``<config_dir>/tts`` (default: the suite's configs)."""
    return sorted(p.stem for p in _tts_dir(config_dir).glob("*.yaml"))


def system_config(system: str, config_dir: str | os.PathLike | None = None) -> DictConfig:
    """Load ``configs/tts/<system>.yaml``; RcbError listing the known systems if it is missing."""
    path = _tts_dir(config_dir) / f"{system}.yaml"
    if not path.is_file():
        raise RcbError(
            f"Unknown TTS system {system!r}: {path} does not exist; known systems: "
            f"{', '.join(available_systems(config_dir))}"
        )
    cfg = OmegaConf.load(path)
    assert isinstance(cfg, DictConfig)
    return cfg


def instantiate_engine(cfg: DictConfig | dict) -> TTSEngine:
    """Build the engine described by one system config (``_target_`` + kwargs) with Hydra."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        engine = instantiate(cfg, _convert_="all")
    except InstantiationException as e:
        if isinstance(e.__cause__, RcbError):  # keep our message (names the key and the fix) intact
            raise e.__cause__ from None
        raise
    if not isinstance(engine, TTSEngine):
        raise RcbError(f"TTS config for {cfg.get('system')!r} does not build a TTSEngine (check `_target_`)")
    return engine


def load_engine(system: str, config_dir: str | os.PathLike | None = None) -> TTSEngine:
    """``instantiate_engine(system_config(system))``."""
    return instantiate_engine(system_config(system, config_dir))
