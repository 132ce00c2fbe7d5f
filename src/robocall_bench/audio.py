"""Reading, checking, resampling and atomically writing audio (soundfile + scipy)."""

from __future__ import annotations

import io
import os
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .errors import BadAudioError

# Source audio below this length (after reading) carries no usable speech.
MIN_SECONDS = 0.2
# Peak below this (full scale = 1) is treated as digital silence.
SILENT_PEAK = 1e-4
# Fraction of samples at full scale above which we call a file badly clipped.
CLIP_FRACTION = 0.01


def read_audio(
    path: str | os.PathLike, *, start: float = 0.0, stop: float | None = None
) -> tuple[np.ndarray, int]:
    """Read a file as mono float32 in [-1, 1].

    Returns (audio of shape (T,), sample_rate). Multi-channel input is averaged. Raises
    BadAudioError naming the file for unreadable, empty or silent audio.
    """
    try:
        info = sf.info(str(path))
        sr = int(info.samplerate)
        a = round(start * sr)
        b = None if stop is None else round(stop * sr)
        data, sr = sf.read(str(path), start=a, stop=b, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as e:  # corrupt header, unknown format
        raise BadAudioError(path, f"unreadable audio ({e})", "re-download or re-encode the file") from e
    if data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True)
    x = np.ascontiguousarray(data[:, 0])
    check_audio(x, sr, path)
    return x, int(sr)


def check_audio(x: np.ndarray, sr: int, path: object = "<audio>") -> None:
    """Raise BadAudioError if ``x`` (shape (T,)) is empty, too short, non-finite or silent."""
    if x.size == 0:
        raise BadAudioError(path, "empty audio", "remove the file or replace it")
    if not np.all(np.isfinite(x)):
        raise BadAudioError(path, "audio contains NaN or Inf samples", "re-encode the file")
    if x.size / sr < MIN_SECONDS:
        raise BadAudioError(path, f"too short ({x.size / sr:.3f} s < {MIN_SECONDS} s)", "drop it")
    if float(np.max(np.abs(x))) < SILENT_PEAK:
        raise BadAudioError(path, "digital silence (peak below -80 dBFS)", "drop it or check the recording")


def clipping_rate(x: np.ndarray, thresh: float = 0.999) -> float:
    """Fraction of samples of ``x`` (shape (T,)) at or above ``thresh`` in magnitude."""
    return float(np.mean(np.abs(x) >= thresh)) if x.size else 0.0


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling of ``x`` (shape (T,)) from ``sr_in`` to ``sr_out``; returns float32 (T',).

    scipy's resample_poly instead of torchaudio: the corpus builder must not need torch, and
    resample_poly is deterministic and fast for the rational ratios used here.
    """
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def encode(x: np.ndarray, sr: int, fmt: str = "FLAC", subtype: str | None = "PCM_16") -> bytes:
    """Encode ``x`` (shape (T,)) in memory with libsndfile and return the bytes."""
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and rename it into place.

    An interrupted run therefore never leaves a partial file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text variant of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_flac(path: str | os.PathLike, x: np.ndarray, sr: int) -> bytes:
    """Write ``x`` (shape (T,), float in [-1, 1]) as 16-bit FLAC atomically; returns the file bytes."""
    data = encode(np.clip(x, -1.0, 1.0), sr, "FLAC", "PCM_16")
    atomic_write_bytes(path, data)
    return data


# Level and silence: used by sources (trimming what they read) and the corpus (segmenting), so they
# live here rather than in corpus/ (a source importing corpus code ran upward).
FRAME_S = 0.02


def frame_db(x: np.ndarray, sr: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Per-frame RMS level in dB of ``x`` (shape (T,)); returns shape (ceil(T / frame),)."""
    n = max(1, int(sr * frame_s))
    pad = (-x.size) % n
    f = np.pad(x, (0, pad)).reshape(-1, n)
    return 10.0 * np.log10(np.mean(f.astype(np.float64) ** 2, axis=1) + 1e-12)


def trim_silence(x: np.ndarray, sr: int, rel_db: float = 40.0, margin_s: float = 0.05) -> np.ndarray:
    """Drop leading/trailing frames more than ``rel_db`` below the loudest frame; keeps a margin."""
    db = frame_db(x, sr)
    active = np.flatnonzero(db > db.max() - rel_db)
    if active.size == 0:
        return x
    n = int(sr * FRAME_S)
    a = max(0, active[0] * n - int(margin_s * sr))
    b = min(x.size, (active[-1] + 1) * n + int(margin_s * sr))
    return x[a:b]
