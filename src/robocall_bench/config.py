"""Finding the Hydra config directory and composing configs outside ``@hydra.main``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


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


def load_config(name: str, argv: Sequence[str]) -> DictConfig:
    """Compose ``configs/<name>.yaml`` with ``key=value`` overrides; RcbError for bad or missing keys."""
    from .errors import RcbError

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise RcbError(f"arguments must be key=value (Hydra overrides); got {bad}. See `rcb {name} --help`.")
    try:
        cfg = compose(name, list(argv))
    except Exception as e:  # Hydra's override/composition errors: report them as a usage error
        raise RcbError(f"bad arguments {list(argv)}: {e}".strip()) from e
    missing = sorted(k for k in cfg if OmegaConf.is_missing(cfg, k))
    if missing:
        raise RcbError(
            f"missing required argument(s): {', '.join(f'{k}=...' for k in missing)}. See `rcb {name} --help`."
        )
    return cfg


def print_help_if_asked(argv: Sequence[str], doc: str | None, name: str) -> bool:
    """For ``-h/--help/help`` in ``argv``: print ``doc`` and ``configs/<name>.yaml`` and return True."""
    if not any(a in ("-h", "--help", "help") for a in argv):
        return False
    print(doc or "")
    print((config_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    return True
