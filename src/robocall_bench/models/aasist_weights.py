"""The published AASIST / AASIST-L weights (clovaai/aasist, trained on ASVspoof 2019 LA) in our AASIST.

The authors publish two PyTorch state dicts with their code (``models/weights/AASIST.pth`` and
``AASIST-L.pth`` of clovaai/aasist, MIT, commit :data:`REFERENCE`), 229 tensors each (batch-norm
statistics included). They fit :class:`~.aasist.AASIST` built from configs/model/aasist.yaml or
aasist_l.yaml (``block_preact: false``: the reference's residual block) through an explicit key
map, published name -> ours:

=============================================  ==============================================
published                                      ours
=============================================  ==============================================
``first_bn.*``                                 ``first_bn.*``
``encoder.<i>.0.<rest>``                       ``encoder.<i>.<rest>`` (no inner Sequential)
``encoder.<i>.0.conv_downsample.*``            ``encoder.<i>.down.*``
``pos_S``, ``master1``, ``master2``            ``backend.pos_S``, ``backend.master1``, ...
``GAT_layer_S.*``, ``GAT_layer_T.*``           ``backend.gat_S.*``, ``backend.gat_T.*``
``HtrgGAT_layer_ST11.*`` (12, 21, 22)          ``backend.hs11.*`` (hs12, hs21, hs22)
``pool_S.*``, ``pool_T.*``, ``pool_hS1.*``...  ``backend.pool_S.*``, ... (same names)
``out_layer.*``                                ``backend.out_layer.*``, rows swapped (below)
=============================================  ==============================================

Class order: the authors' label 1 is bona fide and 0 spoof; ours (:data:`~.base.CLASSES`) is
0 human, 1 robocall. The two rows of ``out_layer.weight`` / ``out_layer.bias`` are swapped on
loading, so our logits are ``(bona fide, spoof)`` = ``(human, robocall)`` and the usual score
``logits[:, 1] - logits[:, 0]`` is the authors' ``logits[:, 0] - logits[:, 1]`` (high = spoof =
robocall). Fine-tuning then starts from a classifier that already points the right way.

Every published key must map to a key of ours with the same shape, and every key of ours must be
covered (strict); otherwise :class:`~robocall_bench.errors.RcbError` names the file and the keys.
Files are read with ``torch.load(weights_only=True)`` (no pickled code).

Input convention of the authors' evaluation loader (``data_utils.pad``): raw 16 kHz audio, no level
normalisation, the first :data:`PUBLISHED_SAMPLES` samples (4.04 s), shorter audio tiled (repeated)
to that length. ``rcb score ckpt=AASIST.pth`` applies it (inference/scoring.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import RcbError

PUBLISHED_SAMPLES = 64_600  # the authors' nb_samp: 4.0375 s at 16 kHz
REFERENCE = "clovaai/aasist@a04c9863f63d44471dde8a6abcb3b082b07cd1d1"
PUBLISHED_SHA256 = {  # the two files at REFERENCE (models/weights/)
    "51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0": "AASIST.pth",
    "814331d088032bb4c3fa61cc014789eadeed464209dd094ab3a2dd6ffbdce27a": "AASIST-L.pth",
}
AASIST_TARGET = "robocall_bench.models.aasist.AASIST"
# Published keys every AASIST state dict has (and no other model of ours): recognises the files.
MARKERS = ("pos_S", "master1", "master2", "out_layer.weight")
# Rows swapped on loading: the authors' (spoof, bona fide) -> ours (human, robocall).
CLASS_ROWS = ("backend.out_layer.weight", "backend.out_layer.bias")

_TOP = {"pos_S": "backend.pos_S", "master1": "backend.master1", "master2": "backend.master2"}
_PREFIXES = {
    "first_bn": "first_bn",
    "GAT_layer_S": "backend.gat_S",
    "GAT_layer_T": "backend.gat_T",
    "HtrgGAT_layer_ST11": "backend.hs11",
    "HtrgGAT_layer_ST12": "backend.hs12",
    "HtrgGAT_layer_ST21": "backend.hs21",
    "HtrgGAT_layer_ST22": "backend.hs22",
    "pool_S": "backend.pool_S",
    "pool_T": "backend.pool_T",
    "pool_hS1": "backend.pool_hS1",
    "pool_hT1": "backend.pool_hT1",
    "pool_hS2": "backend.pool_hS2",
    "pool_hT2": "backend.pool_hT2",
    "out_layer": "backend.out_layer",
}
_ENCODER = re.compile(r"encoder\.(\d+)\.0\.(.+)")
_HOW = (
    "The published files are models/weights/AASIST.pth and AASIST-L.pth of clovaai/aasist; build the model "
    "from configs/model/aasist.yaml or aasist_l.yaml (the one whose sizes match the file)."
)


def our_key(key: str) -> str | None:
    """The key of ours for a published key (None: the published name is not part of AASIST)."""
    if key in _TOP:
        return _TOP[key]
    m = _ENCODER.fullmatch(key)
    if m:
        rest = m.group(2)
        if rest.startswith("conv_downsample."):
            rest = "down." + rest[len("conv_downsample.") :]
        return f"encoder.{m.group(1)}.{rest}"
    head, dot, rest = key.partition(".")
    if dot and head in _PREFIXES:
        return f"{_PREFIXES[head]}.{rest}"
    return None


def _strip_module(state: Mapping[str, Any]) -> dict[str, Any]:
    """Drop a ``module.`` prefix carried by every key (states saved from DataParallel / DDP)."""
    keys = list(state)
    if keys and all(isinstance(k, str) and k.startswith("module.") for k in keys):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def is_published_state(obj: Any) -> bool:
    """True for a plain state dict with the published AASIST names (not a robocall-bench checkpoint)."""
    if not isinstance(obj, Mapping) or "rcb" in obj or not obj:
        return False
    state = _strip_module(obj)
    return all(torch.is_tensor(v) for v in state.values()) and all(k in state for k in MARKERS)


def convert_published(
    state: Mapping[str, Any], model: torch.nn.Module, where: str
) -> dict[str, torch.Tensor]:
    """Published state dict -> state dict of ``model`` (our keys, our class order); strict.

    RcbError naming ``where`` when a published key has no counterpart (extra), a key of ours is not
    covered (missing), or shapes differ.
    """
    state = _strip_module(state)
    ours = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    extra: list[str] = []
    shape: list[str] = []
    misfit: set[str] = set()
    for k, v in state.items():
        o = our_key(k) if isinstance(k, str) else None
        if o is None or o not in ours or not torch.is_tensor(v):
            extra.append(str(k))
        elif tuple(v.shape) != tuple(ours[o].shape):
            shape.append(f"{k} {tuple(v.shape)}, ours {tuple(ours[o].shape)}")
            misfit.add(o)
        else:
            out[o] = v
    missing = [f"{_published_name(k)} (ours {k})" for k in ours if k not in out and k not in misfit]
    if extra or missing or shape:
        parts = []
        if missing:
            parts.append(
                f"missing {len(missing)} key(s): {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}"
            )
        if extra:
            parts.append(
                f"unexpected {len(extra)} key(s): {', '.join(extra[:6])}{' ...' if len(extra) > 6 else ''}"
            )
        if shape:
            parts.append(
                f"wrong shape for {len(shape)} key(s): {'; '.join(shape[:4])}{' ...' if len(shape) > 4 else ''}"
            )
        raise RcbError(f"{where}: the weights do not fit this AASIST model ({'; '.join(parts)}). {_HOW}")
    for k in CLASS_ROWS:  # authors: row 0 spoof, row 1 bona fide -> ours: 0 human, 1 robocall
        out[k] = out[k].flip(0)
    return out


def _published_name(ours: str) -> str:
    """The published name of one of our keys (for messages)."""
    for pub, o in _TOP.items():
        if ours == o:
            return pub
    m = re.fullmatch(r"encoder\.(\d+)\.(.+)", ours)
    if m:
        rest = m.group(2)
        if rest.startswith("down."):
            rest = "conv_downsample." + rest[len("down.") :]
        return f"encoder.{m.group(1)}.0.{rest}"
    for pub, o in _PREFIXES.items():
        if ours.startswith(o + "."):
            return pub + ours[len(o) :]
    return ours


def read_published(path: str | os.PathLike, what: str = "model.pretrained") -> dict[str, torch.Tensor]:
    """The published state dict in ``path`` (weights only); RcbError naming the file when unusable."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise RcbError(
            f"{what}={path}: file not found. {_HOW} (download them from that repository; they are not shipped here)."
        )
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise RcbError(f"{what}={p}: not a readable PyTorch weights file ({type(e).__name__}: {e})") from e
    if isinstance(obj, Mapping) and "rcb" in obj:
        raise RcbError(
            f"{what}={p} is a robocall-bench checkpoint, not published AASIST weights: score it with "
            "`rcb score ckpt=...`, or continue its run with run_dir= (resume)."
        )
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(k, str) and torch.is_tensor(v)
                                                           for k, v in obj.items()):  # fmt: skip
        raise RcbError(f"{what}={p}: not a state dict (a mapping of names to tensors). {_HOW}")
    return _strip_module(obj)


def load_published(model: torch.nn.Module, path: str | os.PathLike, what: str = "model.pretrained") -> None:
    """Load the published weights file ``path`` into ``model`` (an AASIST), strict, through the key map."""
    if getattr(model, "block_preact", False):
        raise RcbError(
            f"{what}={path}: the published weights need the reference residual block (block_preact: false, "
            "as in configs/model/aasist.yaml and aasist_l.yaml); this model has block_preact=true."
        )
    state = convert_published(read_published(path, what), model, f"{what}={path}")
    model.load_state_dict(state, strict=True)


def published_config(state: Mapping[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """(name, model config) of the configs/model/*.yaml AASIST whose sizes fit ``state`` exactly.

    The sizes tell AASIST from AASIST-L; what the weights cannot show (pool ratios, temperatures)
    comes from the config, whose values are the authors' (config/AASIST*.conf).
    """
    import yaml

    from robocall_bench.config import config_dir

    from . import build_model

    tried = []
    for f in sorted((config_dir() / "model").glob("*.yaml")):
        cfg = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if cfg.get("_target_") != AASIST_TARGET or cfg.get("block_preact", True):
            continue
        cfg = {**cfg, "pretrained": None}
        model = build_model(cfg)
        try:
            convert_published(state, model, where)
        except RcbError:
            tried.append(f.stem)
            continue
        return f.stem, cfg
    raise RcbError(
        f"{where}: AASIST weights whose sizes fit none of the AASIST model configs ({', '.join(tried) or 'none'}). "
        f"{_HOW}"
    )
