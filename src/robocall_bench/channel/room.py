"""Room impulse responses: synthetic exponential-decay RIRs and measured ones, applied by FFT convolution."""

from __future__ import annotations

import numpy as np
from scipy.signal import oaconvolve

# measured RIRs are cut this long before their direct-path peak (keeps the direct sound's onset)
PRE_PEAK_S = 0.001
MAX_RIR_S = 1.5


def synthetic_rir(sr: int, rt60_s: float, drr_db: float, seed: int) -> np.ndarray:
    """Exponential-decay RIR (L,) float64: unit direct path + Gaussian tail decaying 60 dB in ``rt60_s``.

    The tail starts after 2.5 ms (first reflections) and is scaled to the direct-to-reverberant
    energy ratio ``drr_db``.
    """
    n = max(2, int(min(MAX_RIR_S, 1.2 * rt60_s) * sr))
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)
    tail[: int(0.0025 * sr) + 1] = 0.0
    e = float(np.dot(tail, tail))
    if e > 0:
        tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / e)
    tail[0] = 1.0
    return tail


def prepare_rir(h: np.ndarray, sr: int) -> np.ndarray:
    """Trim a measured RIR (L,) to start just before its direct-path peak, cap its length, unit peak."""
    h = np.asarray(h, np.float64)
    k = int(np.argmax(np.abs(h)))
    h = h[max(0, k - int(PRE_PEAK_S * sr)) :][: int(MAX_RIR_S * sr)]
    peak = float(np.max(np.abs(h))) if h.size else 0.0
    return h / peak if peak > 0 else h


def apply_rir(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Convolve ``x`` (T,) with ``h`` (L,) (overlap-add FFT), keeping the first T samples (the tail is cut); float64 (T,)."""
    if x.size == 0:
        return np.asarray(x, np.float64)
    return oaconvolve(np.asarray(x, np.float64), h)[: x.size]
