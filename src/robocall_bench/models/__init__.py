"""Detectors (config group ``model/``): one file per model, one contract (see base.py).

>>> from robocall_bench.models import build_model
>>> model = build_model("aasist")  # a name under configs/model/ (or a config node, e.g. cfg.model)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .base import CLASSES, SAMPLE_RATE, Detector, score_from_logits
from .wav2vec2 import PretrainedUnavailableError  # transformers itself is imported lazily

__all__ = [
    "CLASSES",
    "SAMPLE_RATE",
    "Detector",
    "PretrainedUnavailableError",
    "build_model",
    "count_parameters",
    "score_from_logits",
]


def build_model(cfg: str | Mapping[str, Any], **overrides: Any) -> Detector:
    """Instantiate a detector from a ``model/`` config node (with ``_target_``) or a config name.

    ``overrides`` replace top-level kwargs (e.g. ``build_model("lfcc_gmm", n_components=4)``).
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    if isinstance(cfg, str):
        from robocall_bench.config import config_dir

        path = config_dir() / "model" / f"{cfg}.yaml"
        if not path.is_file():
            names = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise ValueError(f"unknown model config {cfg!r}; available: {', '.join(names)}")
        cfg = OmegaConf.load(path)
    node = OmegaConf.merge(OmegaConf.create(dict(cfg) if not OmegaConf.is_config(cfg) else cfg), overrides)
    try:
        model = instantiate(node, _convert_="all")  # plain lists / dicts for the model kwargs
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, PretrainedUnavailableError):  # surface the clear "offline" message as is
            raise cause from cause.__cause__
        raise
    if not isinstance(model, Detector):
        raise TypeError(f"{node.get('_target_')} built a {type(model).__name__}, not a Detector")
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
