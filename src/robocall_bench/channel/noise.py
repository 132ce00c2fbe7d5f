"""Background noise: coloured noise from a seed, noise/RIR files from ``noise_dir`` (lazy), SNR scaling."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import fft as sp_fft

from ..audio import read_audio
from ..errors import RcbError
from .filters import resampled_len, to_rate

GENERATED = ("white", "pink", "brown")
# spectral slope exponent of the power spectrum: S(f) ~ 1 / f**alpha
_ALPHA = {"white": 0.0, "pink": 1.0, "brown": 2.0}
# below this frequency the 1/f shaping is flat (avoids an enormous DC-adjacent rumble)
_F_FLOOR_HZ = 20.0
AUDIO_SUFFIXES = (".wav", ".flac")


def coloured_noise(kind: str, n: int, sr: int, seed: int) -> np.ndarray:
    """Unit-RMS noise (n,) float64 of colour ``kind`` (white/pink/brown) from ``np.random.default_rng(seed)``."""
    if kind not in _ALPHA:
        raise RcbError(f"unknown noise type {kind!r}; valid: {list(GENERATED)} or 'file'")
    if n == 0:
        return np.zeros(0)
    w = np.random.default_rng(seed).standard_normal(n)
    if _ALPHA[kind] > 0:
        m = sp_fft.next_fast_len(n, real=True)  # shape a slightly longer block, keep n samples
        spec = sp_fft.rfft(w, m)
        f = np.fft.rfftfreq(m, 1.0 / sr)
        spec *= np.maximum(f, _F_FLOOR_HZ) ** (-_ALPHA[kind] / 2.0)
        spec[0] = 0.0
        w = sp_fft.irfft(spec, m)[:n]
    rms = float(np.sqrt(np.mean(w * w)))
    return w / rms if rms > 0 else w


def loop_segment(noise: np.ndarray, offset: int, n: int) -> np.ndarray:
    """``n`` samples of ``noise`` (L,) starting at ``offset``, looping around the end; float64 (n,)."""
    if noise.size == 0:
        raise RcbError("empty noise signal")
    idx = (int(offset) + np.arange(n)) % noise.size
    return np.asarray(noise, np.float64)[idx]


# Playback speed range of a recorded noise per call (also shifts its spectrum by the same factor).
NOISE_SPEED = (0.8, 1.25)


def file_noise(noise: np.ndarray, step: dict, n: int) -> np.ndarray:
    """``n`` samples (float64) of a recorded ``noise`` (L,) as a chain step drew them: from
    ``offset``, played at ``speed`` (linear interpolation; absent = 1) and reversed if ``reverse``."""
    speed = float(step.get("speed", 1.0))
    m = int(np.ceil(n * speed)) + 2
    seg = loop_segment(noise, step["offset"], m)
    seg = np.interp(np.arange(n) * speed, np.arange(m), seg) if speed != 1.0 else seg[:n]
    return seg[::-1].copy() if step.get("reverse") else seg


class NoiseDir:
    """Lazy view of ``noise_dir``: ``rir_*.wav`` are impulse responses, other *.wav/*.flac are noises.

    Only names and lengths are read on first use (headers); audio is loaded when a file is drawn,
    resampled to ``sr`` and kept in a small LRU cache. Pickles without the cache.
    """

    def __init__(self, root: str | None, sr: int, cache_files: int = 16) -> None:
        self.root = None if root is None else str(root)
        self.sr = int(sr)
        self.cache_files = int(cache_files)
        self._index: dict[str, dict[str, int]] | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def __getstate__(self) -> dict:
        return {"root": self.root, "sr": self.sr, "cache_files": self.cache_files}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"], state["sr"], state["cache_files"])

    def _scan(self) -> dict[str, dict[str, int]]:
        if self._index is not None:
            return self._index
        index: dict[str, dict[str, int]] = {"noise": {}, "rir": {}}
        if self.root is not None:
            root = Path(self.root)
            if not root.is_dir():
                raise RcbError(
                    f"channel noise_dir {root} is not a directory (create it or set noise_dir: null)"
                )
            for p in sorted(root.iterdir()):
                if p.suffix.lower() not in AUDIO_SUFFIXES or not p.is_file():
                    continue
                try:
                    info = sf.info(str(p))
                except (RuntimeError, sf.LibsndfileError) as e:
                    raise RcbError(f"{p}: unreadable noise/RIR file ({e}); remove or re-encode it") from e
                kind = "rir" if p.name.startswith("rir_") else "noise"
                index[kind][p.name] = resampled_len(int(info.frames), int(info.samplerate), self.sr)
        self._index = index
        return index

    def names(self, kind: str) -> list[str]:
        """Sorted file names of ``kind`` ("noise" or "rir")."""
        return list(self._scan()[kind])

    def length(self, kind: str, name: str) -> int:
        """Length in samples at ``self.sr`` of file ``name`` (from its header)."""
        return self._scan()[kind][name]

    def load(self, name: str) -> np.ndarray:
        """Audio of file ``name`` as float64 (L,) at ``self.sr`` (cached)."""
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        if self.root is None:
            raise RcbError(f"chain names noise file {name!r} but this channel has noise_dir: null")
        path = Path(self.root) / name
        if not path.is_file():
            raise RcbError(f"noise/RIR file {path} not found (the chain was recorded with another noise_dir)")
        x, sr = read_audio(path)
        y = to_rate(x, sr, self.sr)
        self._cache[name] = y
        while len(self._cache) > self.cache_files:
            self._cache.popitem(last=False)
        return y


def noise_gain_db(speech_level_db: float | None, noise_band: np.ndarray, snr_db: float) -> float | None:
    """Gain (dB) that puts noise (in-band copy ``noise_band`` (T,)) ``snr_db`` below the speech level.

    Both levels are measured in the telephone band, so the SNR is what reaches the listener.
    None when the speech is silent or the noise is zero (nothing to add).
    """
    ms = float(np.mean(noise_band * noise_band)) if noise_band.size else 0.0
    if speech_level_db is None or ms <= 0.0:
        return None
    return float(speech_level_db - snr_db - 10.0 * np.log10(ms))
