"""Shared helpers for the training/scoring tests: a tiny detector, a tiny corpus and a trained run.

Built once per test session (module-level caches): the corpus takes ~8 s, a debug run ~3 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from robocall_bench.config import compose
from robocall_bench.models import register_detector
from robocall_bench.models.base import Detector

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so that Hydra's _target_ can import this module by name
    sys.path.insert(0, str(HERE))

FAST_TTS = [
    "tts.systems=[espeak-en-us-m3,flite-slt,flite-awb,espeak-cmn-m1,espeak-cmn-f2]",
    "protocol.eval_only_systems=[flite-awb,espeak-cmn-f2]",
]
TINY_MODEL = {"_target_": "test_train_support.TinyDetector", "name": "tiny"}
_CACHE: dict[str, Path] = {}


class TinyDetector(Detector):
    """Strided conv + masked mean + dropout + linear: (B, T), (B,) -> (B, 2). ``nan_at``: the n-th
    training forward returns NaN logits (NaN-loss test)."""

    def __init__(self, channels: int = 8, nan_at: int | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, channels, kernel_size=400, stride=160)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(channels, 2)
        self.nan_at, self.calls = nan_at, 0

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(wave[:, None, :]))  # (B, C, F)
        n = ((lengths - 400) // 160 + 1).clamp(min=1)
        mask = (torch.arange(h.shape[-1], device=h.device)[None, :] < n[:, None]).to(h.dtype)
        pooled = (h * mask[:, None, :]).sum(-1) / mask.sum(-1, keepdim=True).clamp(min=1)
        out = self.head(self.drop(pooled))
        if self.training:
            self.calls += 1
            if self.nan_at is not None and self.calls >= self.nan_at:
                out = out * float("nan")
        return out


class OtherDetector(TinyDetector):
    """Same interface, different architecture (another model's checkpoint)."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__(channels)
        self.extra = nn.Linear(2, 2)


# Model configs are built only from an allowlist (configs/model/*.yaml + registered classes).
register_detector(TinyDetector)
register_detector(OtherDetector)


def tiny_corpus(corpora_root: Path, tmp_factory) -> Path:
    """A tiny corpus (~40 utterances, 8 kHz) built from the synthetic corpora root, once per session."""
    if "corpus" not in _CACHE:
        from robocall_bench.corpus.build import build

        out = tmp_factory.mktemp("train_corpus") / "tiny"
        cfg = compose(
            "corpus", ["preset=tiny", f"corpora_root={corpora_root}", f"out={out}", "audit=false", *FAST_TTS]
        )
        build(cfg)
        _CACHE["corpus"] = out
    return _CACHE["corpus"]


def train_cfg(corpus: Path, run_dir: Path, *overrides: str, model: dict | None = None):
    """A composed debug training config with the tiny model (or ``model``)."""
    from omegaconf import open_dict

    cfg = compose(
        "train", ["debug=default", "logger=csv", f"corpus={corpus}", f"run_dir={run_dir}", *overrides]
    )
    with open_dict(cfg):
        cfg.model = dict(model or TINY_MODEL)
    return cfg


def trained_run(corpus: Path, tmp_factory) -> Path:
    """A finished debug run directory (tiny model), once per session."""
    if "run" not in _CACHE:
        from robocall_bench.training.run import train

        run_dir = tmp_factory.mktemp("train_run") / "run"
        train(train_cfg(corpus, run_dir), run_dir)
        _CACHE["run"] = run_dir
    return _CACHE["run"]
