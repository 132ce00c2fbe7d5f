"""Shortcut features: properties of a file that say nothing about the voice, used by the audit."""

from __future__ import annotations

import numpy as np

from ..audio import frame_db

FEATURES = (
    "duration", "rms_db", "peak_db", "dc_offset", "lead_silence", "trail_silence",
    "spectral_bandwidth", "spectral_rolloff", "zcr", "clipping_rate",
)  # fmt: skip


def shortcut_features(x: np.ndarray, sr: int, silence_rel_db: float = 35.0) -> dict[str, float]:
    """The :data:`FEATURES` of ``x`` (shape (T,), float in [-1, 1]).

    Silence is measured per 20 ms frame relative to the loudest frame, like a naive VAD a
    shortcut-learning model could imitate; spectra are averaged 512-point power spectra.
    """
    x = x.astype(np.float64)
    rms = float(np.sqrt(np.mean(x**2)) + 1e-12)
    db = frame_db(x, sr)
    active = np.flatnonzero(db > db.max() - silence_rel_db)
    fs = 0.02
    lead = float(active[0] * fs) if active.size else len(db) * fs
    trail = float((len(db) - 1 - active[-1]) * fs) if active.size else len(db) * fs
    n = 512
    frames = x[: (x.size // n) * n].reshape(-1, n) if x.size >= n else np.pad(x, (0, n - x.size))[None]
    spec = np.mean(np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2, axis=0) + 1e-18
    freqs = np.fft.rfftfreq(n, 1 / sr)
    p = spec / spec.sum()
    centroid = float(np.sum(freqs * p))
    bandwidth = float(np.sqrt(np.sum(p * (freqs - centroid) ** 2)))
    rolloff = float(freqs[min(len(freqs) - 1, int(np.searchsorted(np.cumsum(p), 0.85)))])
    signs = np.signbit(x)
    return {
        "duration": x.size / sr,
        "rms_db": 20 * np.log10(rms),
        "peak_db": float(20 * np.log10(np.max(np.abs(x)) + 1e-12)),
        "dc_offset": float(np.mean(x)),
        "lead_silence": lead,
        "trail_silence": trail,
        "spectral_bandwidth": bandwidth,
        "spectral_rolloff": rolloff,
        "zcr": float(np.mean(signs[1:] != signs[:-1])) if x.size > 1 else 0.0,
        "clipping_rate": float(np.mean(np.abs(x) >= 0.999)),
    }
