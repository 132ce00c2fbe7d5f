"""Channel configuration: defaults (mirroring configs/channel/narrowband.yaml), merging and validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import RcbError

DEFAULTS: dict[str, dict[str, Any]] = {
    "codecs": {"pcmu": 0.2, "pcma": 0.15, "gsm610": 0.15, "g721": 0.1, "opus": 0.15, "mp3": 0.1, "amr-nb": 0.15},
    "codec_params": {
        "mp3": {"kbps": [16, 24, 32], "bitrate_mode": "CONSTANT"},
        "opus": {"kbps": [8, 24]},
        "amr-nb": {"modes": [0, 1, 2, 3, 4, 5, 6, 7]},
    },
    "eq": {"p": 1.0, "tilt_db_per_oct": [-8.0, -3.0], "max_db": 15.0},
    "rir": {"p": 0.3, "synthetic_p": 0.5, "rt60_s": [0.15, 0.6], "drr_db": [0.0, 12.0]},
    "noise": {"p": 1.0, "snr_db": [5.0, 30.0], "types": {"file": 0.5, "white": 0.1, "pink": 0.25, "brown": 0.15}},
    "loudness": {"method": "rms", "target_dbfs": [-29.0, -23.0], "peak_ceiling": 0.98, "crest_db": [15.0, 19.0]},
    "frame_loss": {
        "p": 1.0, "loss_prob": [0.0, 0.03], "frame_ms": 20.0, "bursty_p": 0.5, "mean_burst_frames": 2.0,
        "attenuation_db": 6.0, "fade_ms": 2.5,
    },
    "gain": {"gain_db": [-6.0, 6.0], "peak_ceiling": 0.99},
}  # fmt: skip
STEPS = ("eq", "rir", "noise", "loudness", "frame_loss", "gain")


def plain(o: Any) -> Any:
    """Hydra/OmegaConf containers and numpy scalars -> plain dicts, lists and Python scalars."""
    if isinstance(o, Mapping):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)) or type(o).__name__ == "ListConfig":
        return [plain(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    return o


def step_cfg(name: str, value: Any) -> dict[str, Any] | None:
    """Merge a step's config over its defaults; ``False`` or ``enabled: false`` switches it off."""
    value = plain(value)
    if value is False or (isinstance(value, dict) and value.get("enabled", True) is False):
        return None
    if value is not None and not isinstance(value, dict):
        raise RcbError(f"channel.{name} must be a mapping or false, got {value!r}")
    cfg = {**DEFAULTS[name], **(value or {})}
    cfg.pop("enabled", None)
    for k, v in cfg.items():
        if k == "p" or k.endswith("_p"):
            if not 0.0 <= float(v) <= 1.0:
                raise RcbError(f"channel.{name}.{k}={v} must be a probability in [0, 1]")
        elif (
            isinstance(v, list) and k not in ("kbps", "modes") and (len(v) != 2 or float(v[0]) > float(v[1]))
        ):
            raise RcbError(f"channel.{name}.{k}={v} must be a range [low, high] with low <= high")
    return cfg


def uniform(rng: np.random.Generator, lo_hi: list[float]) -> float:
    """One draw, uniform in the range ``[low, high]``."""
    return float(rng.uniform(float(lo_hi[0]), float(lo_hi[1])))
