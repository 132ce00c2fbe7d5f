"""Helpers for the scoring tests: a checkpoint of the tiny detector without training, and test audio.

``tiny_checkpoint`` writes what ``rcb train`` writes for a torch model (the keys ``rcb score`` reads),
from a seeded, untrained TinyDetector: scoring it is real, only the weights are not trained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from robocall_bench.inference.preprocess import Preprocess
from test_train_support import TINY_MODEL, TinyDetector


def tiny_checkpoint(path: Path, seed: int = 0, model: dict | None = None) -> Path:
    """A scoreable ``.ckpt`` of TinyDetector (or ``model``'s config with TinyDetector weights)."""
    torch.manual_seed(seed)
    state = TinyDetector().state_dict()
    ck = {
        "rcb": {"model": dict(model or TINY_MODEL), "preprocess": Preprocess().to_dict(), "kind": "torch",
                "corpus": {}, "global_step": 1},
        "state_dict": {f"model.{k}": v for k, v in state.items()},
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, path)
    return path


def voice(sr: int, seconds: float, seed: int = 0, channels: int = 1) -> np.ndarray:
    """A speech-like float32 signal (T,) or (T, C): harmonics of a wandering f0 under a syllable envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(sr * seconds)) / sr
    f0 = rng.uniform(100, 220) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    x = x * np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t) + 0.3, 0, None) + 0.01 * rng.standard_normal(
        t.size
    )
    x = (0.3 * x / np.max(np.abs(x))).astype(np.float32)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


def write_long(path: Path, sr: int, seconds: float, block_s: float = 60.0, seed: int = 0) -> Path:
    """A long 16-bit FLAC written block by block (never whole in memory); each block its own voice."""
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16", format="FLAC") as f:
        left, k = seconds, 0
        while left > 0:
            n = min(block_s, left)
            f.write(voice(sr, n, seed + k))
            left -= n
            k += 1
    return path
