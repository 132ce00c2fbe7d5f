"""Handset response: equalise an utterance's long-term spectrum to a drawn target tilt.

Source recordings differ in microphone and recording chain, and TTS engines differ in spectral
tilt; a real call adds a handset response of its own. Mapping every utterance's long-term
average spectrum (LTAS) to a target drawn from one distribution, for both classes, keeps the
average spectral shape (rolloff, bandwidth, centroid) from telling the classes apart while the
short-time structure of the voice is untouched.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve, firwin2

N_FFT = 512
# Third-octave band centres covering the wideband telephone band.
CENTRES = 1000.0 * 2.0 ** (np.arange(-10, 9) / 3.0)  # 99 Hz ... 6.3 kHz


def ltas_db(x: np.ndarray, sr: int, rel_db: float = 40.0) -> np.ndarray:
    """LTAS of the active frames of ``x`` (shape (T,)) in third-octave bands; returns (len(CENTRES),) dB."""
    n = x.size // N_FFT
    frames = x[: n * N_FFT].reshape(n, N_FFT) if n else np.pad(x, (0, N_FFT - x.size))[None]
    pw = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2
    e = pw.sum(axis=1) + 1e-20
    active = e > e.max() * 10 ** (-rel_db / 10)
    spec = pw[active].mean(axis=0) + 1e-20
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    out = np.empty(len(CENTRES))
    for i, fc in enumerate(CENTRES):
        m = (freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6))
        out[i] = 10 * np.log10(spec[m].mean() if m.any() else spec[np.argmin(np.abs(freqs - fc))])
    return out


def target_db(tilt_db_per_oct: float) -> np.ndarray:
    """Target LTAS shape per band: flat below 500 Hz, then ``tilt`` dB per octave (speech-like)."""
    return tilt_db_per_oct * np.maximum(0.0, np.log2(CENTRES / 500.0))


def equalise(
    x: np.ndarray, sr: int, tilt_db_per_oct: float, max_db: float = 15.0
) -> tuple[np.ndarray, list[float]]:
    """Filter ``x`` (shape (T,)) so its LTAS follows :func:`target_db`; returns (y (T,), band gains dB).

    Gains are level-neutral over 300-3400 Hz and clipped to +-``max_db``; the filter is a
    255-tap linear-phase FIR, so speech stays time-aligned.
    """
    have = ltas_db(x, sr)
    gains = target_db(tilt_db_per_oct) - have
    tel = (CENTRES >= 300) & (CENTRES <= 3400)
    gains = np.clip(gains - gains[tel].mean(), -max_db, max_db)
    nyq = sr / 2.0
    keep = nyq * 0.95 > CENTRES
    f = np.concatenate([[0.0], CENTRES[keep] / nyq, [1.0]])
    g = 10 ** (np.concatenate([[gains[keep][0]], gains[keep], [gains[keep][-1]]]) / 20)
    h = firwin2(255, f, g)
    y = fftconvolve(x, h, mode="same")
    return y, [round(float(v), 2) for v in gains]
