"""Signal levels: active speech level (ITU-T P.56 method B style), RMS, and a zero-overshoot peak limiter."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d
from scipy.signal import lfilter

# P.56: margin between the active level and the activity threshold, envelope time constant, hangover.
P56_MARGIN_DB = 15.9
P56_TIME_CONST_S = 0.03
P56_HANGOVER_S = 0.2


def db_to_gain(db: float) -> float:
    """Amplitude factor for ``db`` decibels."""
    return float(10.0 ** (db / 20.0))


def rms_db(x: np.ndarray) -> float | None:
    """Mean-square level of ``x`` (T,) in dB re full scale (a full-scale square wave is 0 dB); None if silent."""
    x = np.asarray(x, np.float64)
    ms = float(np.mean(x * x)) if x.size else 0.0
    return 10.0 * np.log10(ms) if ms > 0 else None


def active_speech_level(x: np.ndarray, sr: int) -> float | None:
    """Active speech level of ``x`` (T,) in dB re full scale, following ITU-T P.56 (method B).

    The envelope (two one-pole smoothers, 30 ms) with 200 ms hangover is compared with a fine
    ladder of thresholds c; for each, A(c) = energy / active samples. The level is A where
    A(c) - 20 log10(c) = 15.9 dB (interpolated). Stationary signals give their RMS level; speech
    with pauses gives the level of the talk spurts. Returns None for digital silence.
    """
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return None
    energy = float(np.dot(x, x))
    if energy <= 0.0:
        return None
    g = np.exp(-1.0 / (P56_TIME_CONST_S * sr))
    env = lfilter([1.0 - g], [1.0, -g], lfilter([1.0 - g], [1.0, -g], np.abs(x)))
    size = round(P56_HANGOVER_S * sr) + 1
    # trailing window [n - H, n]: an active sample keeps the next H samples active (hangover)
    held = np.sort(maximum_filter1d(env, size=size, origin=size - 1 - size // 2, mode="nearest"))
    c_db = np.arange(-120.0, 0.5, 0.5)
    n_active = held.size - np.searchsorted(held, 10.0 ** (c_db / 20.0), side="left")
    ok = n_active > 0
    c_db, n_active = c_db[ok], n_active[ok]
    if c_db.size == 0:
        return rms_db(x)
    a_db = 10.0 * np.log10(energy / n_active)
    delta = a_db - c_db  # decreases as the threshold rises
    below = np.nonzero(delta < P56_MARGIN_DB)[0]
    if below.size == 0 or below[0] == 0:
        # never (or always) under the margin: quasi-stationary signal -> long-term level
        return rms_db(x) if below.size else float(a_db[-1])
    j = below[0]
    d0, d1 = delta[j - 1], delta[j]
    t = (d0 - P56_MARGIN_DB) / (d0 - d1) if d0 != d1 else 0.0
    return float(a_db[j - 1] + t * (a_db[j] - a_db[j - 1]))


def speech_level(x: np.ndarray, sr: int, method: str = "asl") -> float | None:
    """Level of ``x`` (T,) by ``method``: "asl" (active speech level) or "rms"; None if silent."""
    return active_speech_level(x, sr) if method == "asl" else rms_db(x)


def peak_limit(x: np.ndarray, ceiling: float, sr: int, window_ms: float = 5.0) -> tuple[np.ndarray, int]:
    """Limit |x| to ``ceiling`` with a smooth gain (no clipping distortion); returns (y (T,), n_over).

    The gain is the sliding minimum of ceiling/|x| over a window, then a moving average over the
    same window: every average only involves minima that cover the sample, so the smoothed gain
    never exceeds the required one (no overshoot, no look-ahead state). ``n_over`` counts the
    samples that were above the ceiling.
    """
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    n_over = int(np.count_nonzero(a > ceiling))
    if n_over == 0:
        return x, 0
    w = max(1, int(sr * window_ms / 1000.0)) | 1
    g = np.minimum(1.0, ceiling / np.maximum(a, 1e-12))
    g = uniform_filter1d(minimum_filter1d(g, size=w, mode="nearest"), size=w, mode="nearest")
    return np.clip(x * g, -ceiling, ceiling), n_over
