"""Audio -> model input, identical in training, dev evaluation and ``rcb score``.

Order: cut (a crop or the first ``window`` seconds) at the source rate, downmix, resample to
16 kHz, then level-normalise what the model sees. Normalising the cut, not the whole file, keeps
streaming decisions honest: a ``window=1`` score uses only the first second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..audio import resample
from ..models.base import SAMPLE_RATE

# Below this RMS (-120 dBFS) a segment is digital silence: leave it alone rather than amplify noise.
_SILENT_RMS = 1e-6


@dataclass(frozen=True)
class Preprocess:
    """Preprocessing settings, stored in every checkpoint so scoring repeats training exactly.

    ``normalize``: ``rms`` (scale to ``target_dbfs`` RMS), ``peak`` (peak to -1 dBFS) or ``none``.
    """

    sample_rate: int = SAMPLE_RATE
    normalize: str = "rms"
    target_dbfs: float = -26.0

    def __post_init__(self) -> None:
        if self.normalize not in ("rms", "peak", "none"):
            raise ValueError(f"normalize={self.normalize!r}: use rms, peak or none")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/YAML/checkpoint friendly)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Preprocess:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing ones take defaults."""
        d = dict(d or {})
        keys = {"sample_rate", "normalize", "target_dbfs"}
        return cls(**{k: v for k, v in d.items() if k in keys})

    def __call__(self, x: np.ndarray, sr: int) -> np.ndarray:
        """Mono ``x`` (T,) or (T, C) at ``sr`` -> float32 (T',) at :attr:`sample_rate`, normalised."""
        return self.normalise(self.resample(x, sr))

    def resample(self, x: np.ndarray, sr: int) -> np.ndarray:
        """Downmix (T, C) -> (T,) and resample to :attr:`sample_rate`; returns float32 (T',)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=1)
        return resample(x, int(sr), self.sample_rate)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Level-normalise ``x`` (T,) float32; silent or empty input is returned unchanged."""
        if self.normalize == "none" or x.size == 0:
            return x.astype(np.float32, copy=False)
        if self.normalize == "peak":
            peak = float(np.max(np.abs(x)))
            return x if peak < _SILENT_RMS else (x * (10 ** (-1 / 20) / peak)).astype(np.float32)
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
        if rms < _SILENT_RMS:
            return x.astype(np.float32, copy=False)
        return (x * (10 ** (self.target_dbfs / 20) / rms)).astype(np.float32)


def first_seconds(x: np.ndarray, sr: int, seconds: float | None) -> np.ndarray:
    """The first ``seconds`` of ``x`` (T, ...) at ``sr`` (all of it when None or longer)."""
    if seconds is None:
        return x
    return x[: max(1, round(float(seconds) * sr))]


def first_samples_tiled(x: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples of ``x`` (T,); shorter (non-empty) input is tiled (repeated) up to ``n``.

    The evaluation input of the published AASIST weights (the authors' ``data_utils.pad``).
    """
    if x.size >= n or x.size == 0:
        return x[:n]
    return np.tile(x, -(-n // x.size))[:n]


def crop(
    x: np.ndarray, sr: int, seconds: float | None, rng: np.random.Generator, pad: str = "zero"
) -> np.ndarray:
    """A random ``seconds`` crop of ``x`` (T,) at ``sr``; shorter input is returned whole
    (``pad=zero``: the collate pads it and passes its length) or tiled (``pad=repeat``)."""
    if seconds is None:
        return x
    n = max(1, round(float(seconds) * sr))
    if x.size > n:
        start = int(rng.integers(0, x.size - n + 1))
        return x[start : start + n]
    if pad == "repeat" and 0 < x.size < n:
        return np.tile(x, -(-n // x.size))[:n]
    return x
