"""Detectors (config group ``model/``): one file per model, one contract (see base.py).

>>> from robocall_bench.models import build_model
>>> model = build_model("aasist")  # a name under configs/model/ (or a config node, e.g. cfg.model)

Model configs also arrive inside checkpoints, i.e. from files other people hand us. So
``build_model`` never lets a config choose code: every ``_target_`` in it (top level and nested)
must be on the allowlist, which is derived from the committed ``configs/model/*.yaml`` (their
top-level targets are the detector classes, targets nested inside them the known sub-configs),
plus classes registered in code with :func:`register_detector`. Anything else is refused before
it is imported, and the allowed class is then called directly (no Hydra ``instantiate``, whose
``_args_``/``_partial_``/interpolations a crafted config could also steer).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import RcbError
from .base import CLASSES, SAMPLE_RATE, Detector, score_from_logits
from .wav2vec2 import PretrainedUnavailableError  # transformers itself is imported lazily

__all__ = [
    "CLASSES",
    "SAMPLE_RATE",
    "Detector",
    "PretrainedUnavailableError",
    "allowed_targets",
    "build_model",
    "check_model_config",
    "count_parameters",
    "register_detector",
    "score_from_logits",
]

# Targets allowed in code (tests, plugins, the user's own training config): (top level, nested).
_REGISTERED: tuple[set[str], set[str]] = (set(), set())
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
# Hydra's other special keys: they change how (or whether) a target is called, so none is accepted.
_SPECIAL = re.compile(r"_[A-Za-z0-9]+_")


def _target_name(target: str | type) -> str:
    return target if isinstance(target, str) else f"{target.__module__}.{target.__qualname__}"


def register_detector(target: str | type, nested: bool = False) -> None:
    """Allow ``target`` (a class, or its ``"module.Class"`` name) as a model ``_target_`` in this process.

    For detectors defined in code (tests, plugins) rather than in ``configs/model/``; ``nested``: as a
    sub-config target instead of a top-level detector. Never pass a string read from a user's file.
    """
    _REGISTERED[1 if nested else 0].add(_target_name(target))


def _walk_targets(node: Any, path: str) -> list[tuple[str, Any]]:
    """``(key path, _target_ value)`` of every mapping in ``node`` that has a ``_target_``."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, Mapping):
        if "_target_" in node:
            found.append((path, node["_target_"]))
        for k, v in node.items():
            found += _walk_targets(v, f"{path}.{k}")
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            found += _walk_targets(v, f"{path}.{i}")
    return found


@functools.lru_cache(maxsize=4)
def _config_targets(model_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    import yaml

    top: set[str] = set()
    nested: set[str] = set()
    for f in sorted(model_dir.glob("*.yaml")):
        for path, target in _walk_targets(yaml.safe_load(f.read_text(encoding="utf-8")) or {}, "model"):
            (top if path == "model" else nested).add(str(target))
    return frozenset(top), frozenset(nested)


def allowed_targets() -> tuple[frozenset[str], frozenset[str]]:
    """(detector targets, nested sub-config targets): those of ``configs/model/*.yaml`` + registered ones."""
    from robocall_bench.config import config_dir

    top, nested = _config_targets(config_dir() / "model")
    return top | _REGISTERED[0], nested | _REGISTERED[1]


def check_model_config(cfg: Any, where: str = "model config") -> None:
    """RcbError naming ``where`` and the offending key unless every ``_target_`` in ``cfg`` is allowed.

    Runs before anything is imported or called; ``cfg`` is a plain mapping (resolved, no interpolation).
    """
    if not isinstance(cfg, Mapping):
        raise RcbError(f"{where}: the model config is a {type(cfg).__name__}, not a mapping with a _target_")
    top, nested = allowed_targets()
    fix = (
        "Only the detectors of configs/model/*.yaml can be built; nothing was imported or run. Do not use "
        "this file if you did not make it, or add a configs/model/<name>.yaml for your own detector class."
    )
    targets = _walk_targets(cfg, "model")
    if not targets or targets[0][0] != "model":
        raise RcbError(f"{where}: the model config has no top-level _target_ (the detector class). {fix}")
    for path, target in targets:
        allowed = top if path == "model" else nested
        if not isinstance(target, str) or target not in allowed:
            what = "detector" if path == "model" else "sub-config"
            raise RcbError(
                f"{where}: {path}._target_ {target!r} is not an allowed {what} class "
                f"(allowed: {', '.join(sorted(allowed)) or 'none'}). {fix}"
            )
    special = _special_keys(cfg, "model")
    if special:
        raise RcbError(
            f"{where}: model config key {special[0]} is not accepted (only name keys; no Hydra special key). {fix}"
        )


def _special_keys(node: Any, path: str) -> list[str]:
    out: list[str] = []
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k != "_target_" and (not isinstance(k, str) or _SPECIAL.fullmatch(k)):
                out.append(f"{path}.{k}")
            out += _special_keys(v, f"{path}.{k}")
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            out += _special_keys(v, f"{path}.{i}")
    return out


def _locate(target: str) -> Any:
    """The object named by an allowed dotted ``target`` (module path, then attributes)."""
    if not _DOTTED.fullmatch(target):
        raise ValueError(f"_target_ {target!r} is not a dotted name")
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        mod = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name is None or not mod.startswith(e.name):  # a dependency of the module is missing
                raise
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"cannot import {target!r}")


def _construct(node: Any) -> Any:
    """Plain containers as they are; a mapping with ``_target_`` (checked) becomes ``target(**rest)``."""
    if isinstance(node, Mapping):
        kwargs = {k: _construct(v) for k, v in node.items() if k != "_target_"}
        return _locate(node["_target_"])(**kwargs) if "_target_" in node else kwargs
    if isinstance(node, list | tuple):
        return [_construct(v) for v in node]
    return node


def build_model(cfg: str | Mapping[str, Any], **overrides: Any) -> Detector:
    """Build a detector from a ``model/`` config node (with ``_target_``) or a config name.

    ``overrides`` replace top-level kwargs (e.g. ``build_model("lfcc_gmm", n_components=4)``). An
    OmegaConf node is resolved first; a plain mapping (e.g. from a checkpoint) is taken literally.
    RcbError (before any import) when a ``_target_`` is not allowed (see :func:`check_model_config`).
    """
    from omegaconf import OmegaConf

    if isinstance(cfg, str):
        from robocall_bench.config import config_dir

        path = config_dir() / "model" / f"{cfg}.yaml"
        if not path.is_file():
            names = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise ValueError(f"unknown model config {cfg!r}; available: {', '.join(names)}")
        cfg = OmegaConf.load(path)
    if OmegaConf.is_config(cfg):
        plain: Any = OmegaConf.to_container(OmegaConf.merge(cfg, overrides), resolve=True)
    else:
        plain = {**_copy(cfg), **_copy(overrides)}
    check_model_config(plain)
    model = _construct(plain)
    if not isinstance(model, Detector):
        raise TypeError(f"{plain.get('_target_')} built a {type(model).__name__}, not a Detector")
    return model


def _copy(node: Any) -> Any:
    """A deep copy of plain containers (the constructor must not alias the caller's config)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(node):  # an in-process node inside a dict: resolve it like a whole node
        return OmegaConf.to_container(node, resolve=True)
    if isinstance(node, Mapping):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_copy(v) for v in node]
    return node


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
