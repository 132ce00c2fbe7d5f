"""Band presets, resampling and telephone band-limiting filters (scipy, second-order sections)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import gcd

import numpy as np
from scipy.signal import butter, iirdesign, sosfiltfilt

from ..audio import resample
from ..errors import RcbError

# Rate of the talker-side (acoustic) part of the chain: RIR and background noise are applied here,
# whatever the input rate, so neither step can behave differently for 8 kHz and 48 kHz sources.
INTERNAL_SR = 16000


@dataclass(frozen=True)
class Band:
    """A telephone band: output sample rate and pass band edges (Hz).

    ``stop_hz`` is where the top edge must reach ``stop_db`` attenuation (per filter pass; the
    zero-phase filter runs twice, so the effective attenuation is doubled).
    """

    name: str
    sample_rate: int
    lo_hz: float
    hi_hz: float
    stop_hz: float
    stop_db: float = 30.0
    hp_order: int = 4


BANDS: dict[str, Band] = {
    # ITU-T G.712-like 300-3400 Hz at 8 kHz.
    "narrowband": Band("narrowband", 8000, 300.0, 3400.0, 3700.0),
    # G.722 / AMR-WB "HD voice" 50-7000 Hz at 16 kHz.
    "wideband": Band("wideband", 16000, 50.0, 7000.0, 7600.0),
}


def get_band(name: str) -> Band:
    """Look up a band preset by name; RcbError listing the valid ones otherwise."""
    try:
        return BANDS[name]
    except KeyError:
        raise RcbError(f"unknown channel band {name!r}; valid bands: {sorted(BANDS)}") from None


def resampled_len(n: int, sr_in: int, sr_out: int) -> int:
    """Length of ``resample`` output for ``n`` input samples (scipy resample_poly: ceil(n*up/down))."""
    if sr_in == sr_out:
        return n
    g = gcd(int(sr_in), int(sr_out))
    up, down = sr_out // g, sr_in // g
    return -(-n * up // down)


def to_rate(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``x`` (T,) to ``sr_out``; returns float64 (T',) with T' = resampled_len(T, ...)."""
    return resample(np.asarray(x, np.float32), int(sr_in), int(sr_out)).astype(np.float64)


@lru_cache(maxsize=32)
def band_sos(
    sr: int, lo_hz: float, hi_hz: float, stop_hz: float, stop_db: float, hp_order: int
) -> np.ndarray:
    """SOS cascade: Butterworth high-pass at ``lo_hz`` (removes DC) + elliptic low-pass ``hi_hz``."""
    nyq = sr / 2.0
    parts = []
    if lo_hz > 0:
        parts.append(butter(hp_order, lo_hz, btype="highpass", fs=sr, output="sos"))
    if hi_hz < nyq:
        stop = min(stop_hz, 0.995 * nyq)
        if stop <= hi_hz:
            raise RcbError(f"band stop edge {stop_hz} Hz must lie above {hi_hz} Hz and below {nyq} Hz")
        parts.append(iirdesign(hi_hz, stop, gpass=0.25, gstop=stop_db, ftype="ellip", fs=sr, output="sos"))
    if not parts:
        return np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    return np.vstack(parts)


def band_limit(x: np.ndarray, sr: int, band: Band) -> np.ndarray:
    """Zero-phase band-pass of ``x`` (T,) at rate ``sr`` to ``band``'s pass band; float64 (T,).

    Zero phase (forward-backward) keeps speech aligned with the input, so word timings survive.
    """
    x = np.asarray(x, np.float64)
    sos = band_sos(int(sr), band.lo_hz, band.hi_hz, band.stop_hz, band.stop_db, band.hp_order)
    if x.size <= 3 * (2 * sos.shape[0] + 1):  # too short for sosfiltfilt's edge padding
        return x - x.mean() if x.size else x
    return sosfiltfilt(sos, x)
