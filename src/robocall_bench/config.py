"""Finding the Hydra config directory and composing configs outside ``@hydra.main``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig


def config_dir() -> Path:
    """The directory holding the Hydra config groups.

    Order: ``$RCB_CONFIG_DIR``; the repository's ``configs/`` (editable install); the copy
    packaged into the wheel as ``robocall_bench/configs``.
    """
    env = os.environ.get("RCB_CONFIG_DIR")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "configs", here.parent / "configs"):
        if (cand / "corpus.yaml").is_file():
            return cand
    raise FileNotFoundError(
        "robocall_bench configs not found; set RCB_CONFIG_DIR to the repository's configs/"
    )


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with Hydra overrides (``key=value`` strings)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))
