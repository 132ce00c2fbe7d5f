"""Speech/audio codec round trips in memory: libsndfile (soundfile + BytesIO) and AMR-NB via ``sox``.

Every round trip returns audio of exactly the input length, aligned with the input: codecs that
may add a constant delay (MP3 without a gapless tag, AMR) are calibrated once per
(codec, rate, parameters) on a fixed synthetic signal, never on the utterance itself, so the
alignment cannot depend on what is being said or by whom.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

from ..errors import RcbError
from .filters import to_rate


@dataclass(frozen=True)
class CodecSpec:
    """One codec: backend, libsndfile container/subtype, native sample rates (others are resampled to
    ``rates[0]`` and back), whether it can delay the signal, and where to get it when missing."""

    name: str
    backend: str  # "sndfile" | "sox"
    fmt: str | None
    subtype: str | None
    rates: tuple[int, ...]
    may_delay: bool
    description: str
    provider: str


_SNDFILE_HINT = "install the soundfile>=0.12 wheels (bundled libsndfile >= 1.1 with Opus and mpg123/LAME)"
CODECS: dict[str, CodecSpec] = {
    c.name: c
    for c in (
        CodecSpec("pcm16", "sndfile", "WAV", "PCM_16", (8000, 16000), False, "linear 16-bit PCM", _SNDFILE_HINT),
        CodecSpec("pcmu", "sndfile", "WAV", "ULAW", (8000,), False, "G.711 mu-law", _SNDFILE_HINT),
        CodecSpec("pcma", "sndfile", "WAV", "ALAW", (8000,), False, "G.711 A-law", _SNDFILE_HINT),
        CodecSpec("gsm610", "sndfile", "WAV", "GSM610", (8000,), False, "GSM 06.10 full rate", _SNDFILE_HINT),
        CodecSpec("g721", "sndfile", "WAV", "G721_32", (8000,), False, "G.721 32 kbit/s ADPCM", _SNDFILE_HINT),
        CodecSpec("opus", "sndfile", "OGG", "OPUS", (8000, 16000, 12000, 24000, 48000), True, "Opus", _SNDFILE_HINT),
        CodecSpec("mp3", "sndfile", "MP3", "MPEG_LAYER_III", (8000, 16000), True, "MPEG-1/2/2.5 Layer III", _SNDFILE_HINT),
        CodecSpec(
            "amr-nb", "sox", None, None, (8000,), True, "3GPP AMR-NB",
            "the `sox` binary with AMR-NB support (Debian/Ubuntu: apt-get install sox libsox-fmt-base "
            "libopencore-amrnb0; `sox -h` must list amr-nb)",
        ),
    )
}  # fmt: skip

AMR_NB_KBPS = (4.75, 5.15, 5.9, 6.7, 7.4, 7.95, 10.2, 12.2)  # sox -C 0..7
_MP3_KBPS_RANGE = {8000: (8.0, 64.0), 16000: (8.0, 160.0)}  # libsndfile CBR/ABR: kbps = max - level*(max-min)
_MP3_MODES = ("CONSTANT", "AVERAGE")


def get_codec(name: str) -> CodecSpec:
    """The spec for ``name``; RcbError listing the valid codec names otherwise."""
    try:
        return CODECS[name]
    except KeyError:
        raise RcbError(f"unknown codec {name!r}; valid codecs: {sorted(CODECS)}") from None


@cache
def codec_available(name: str) -> bool:
    """Whether ``name`` works here (probed once per process with a tiny round trip)."""
    spec = get_codec(name)
    if spec.backend == "sox" and shutil.which("sox") is None:
        return False
    if spec.backend == "sndfile" and spec.subtype not in sf.available_subtypes(spec.fmt):
        return False
    x = 0.1 * np.sin(2 * np.pi * 440 * np.arange(1600) / 8000)
    try:
        y = _raw_roundtrip(x, spec.rates[0], spec, default_params(name))
    except (RcbError, RuntimeError, sf.LibsndfileError, OSError):
        return False
    return y.size > 0 and bool(np.all(np.isfinite(y)))


def list_codecs() -> dict[str, bool]:
    """Every known codec name -> whether it is available on this machine."""
    return {name: codec_available(name) for name in CODECS}


def require_codec(name: str) -> CodecSpec:
    """The spec for ``name``; RcbError if unknown or not available here (saying what provides it)."""
    spec = get_codec(name)
    if not codec_available(name):
        raise RcbError(
            f"codec {name!r} ({spec.description}) is not available on this machine: needs {spec.provider}"
        )
    return spec


def default_params(name: str) -> dict[str, Any]:
    """Mid-range parameters for ``name`` (used for probing and as defaults)."""
    return {"mp3": {"kbps": 24, "bitrate_mode": "CONSTANT"}, "opus": {"kbps": 16}, "amr-nb": {"mode": 7}}.get(
        name, {}
    )


def draw_params(name: str, cfg: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Draw per-utterance parameters for ``name`` from its config block ``cfg``.

    mp3: ``kbps`` (list of choices) and ``bitrate_mode`` (CONSTANT/AVERAGE); opus: ``kbps`` [lo, hi]
    (integer, uniform); amr-nb: ``modes`` (choices among 0..7). Other codecs have none.
    """
    if name == "mp3":
        mode = str(cfg.get("bitrate_mode", "CONSTANT")).upper()
        if mode not in _MP3_MODES:
            raise RcbError(f"codec_params.mp3.bitrate_mode {mode!r}: use one of {list(_MP3_MODES)}")
        return {"kbps": int(rng.choice(list(cfg.get("kbps", [16, 24, 32])))), "bitrate_mode": mode}
    if name == "opus":
        lo, hi = (int(v) for v in cfg.get("kbps", [8, 24]))
        return {"kbps": int(rng.integers(lo, hi + 1))}
    if name == "amr-nb":
        mode = int(rng.choice(list(cfg.get("modes", range(8)))))
        if not 0 <= mode <= 7:
            raise RcbError(f"codec_params.amr-nb.modes: {mode} is not an AMR-NB mode (0..7)")
        return {"mode": mode}
    return {}


def _sf_kwargs(spec: CodecSpec, sr: int, params: dict[str, Any]) -> dict[str, Any]:
    if spec.name == "opus":  # libsndfile: bitrate = (1 - level) * 250 kbps + 6 kbps
        return {"compression_level": float(np.clip((256.0 - params["kbps"]) / 250.0, 0.0, 1.0))}
    if spec.name == "mp3":
        lo, hi = _MP3_KBPS_RANGE[sr]
        level = float(np.clip((hi - params["kbps"]) / (hi - lo), 0.0, 0.999))  # 1.0 is rejected
        return {"compression_level": level, "bitrate_mode": params["bitrate_mode"]}
    return {}


def _raw_roundtrip(x: np.ndarray, sr: int, spec: CodecSpec, params: dict[str, Any]) -> np.ndarray:
    """Encode and decode ``x`` (T,) at the codec's native rate ``sr``; decoded float64 (T',), unaligned."""
    x = np.clip(np.asarray(x, np.float64), -1.0, 32767.0 / 32768.0)
    if spec.backend == "sox":
        pcm = np.round(x * 32768.0).astype("<i2").tobytes()
        raw = ["-t", "raw", "-r", str(sr), "-e", "signed-integer", "-b", "16", "-c", "1"]
        enc = _sox([*raw, "-", "-t", "amr-nb", "-C", str(params["mode"]), "-"], pcm)
        dec = _sox(["-t", "amr-nb", "-", *raw, "-"], enc)
        return np.frombuffer(dec, "<i2").astype(np.float64) / 32768.0
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=spec.fmt, subtype=spec.subtype, **_sf_kwargs(spec, sr, params))
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float64", always_2d=True)
    return y[:, 0]


def _sox(args: list[str], data: bytes) -> bytes:
    try:
        r = subprocess.run(["sox", "-D", "-V1", *args], input=data, capture_output=True, check=False)
    except OSError as e:
        raise RcbError(f"cannot run sox ({e}); AMR-NB needs {CODECS['amr-nb'].provider}") from e
    if r.returncode != 0:
        raise RcbError(f"sox failed ({' '.join(args)}): {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def calibration_signal(sr: int, seconds: float = 1.0) -> np.ndarray:
    """Fixed test signal (T,): 200-3000 Hz noise with a 3 Hz syllable-like envelope (sharp correlation peak)."""
    n = int(seconds * sr)
    noise = np.random.default_rng(12345).standard_normal(n)
    sos = butter(2, [200.0, 3000.0], btype="bandpass", fs=sr, output="sos")
    env = 0.5 - 0.5 * np.cos(2 * np.pi * 3.0 * np.arange(n) / sr)
    return 0.2 * env * sosfilt(sos, noise)


def _best_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """Lag d in [0, max_lag] maximising sum x[n] * y[n + d] (FFT cross-correlation)."""
    n = 1 << int(np.ceil(np.log2(x.size + y.size)))
    c = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    return int(np.argmax(c[: max_lag + 1]))


_DELAYS: dict[tuple, int] = {}


def codec_delay(spec: CodecSpec, sr: int, params: dict[str, Any]) -> int:
    """Constant delay (samples at ``sr``) the codec adds, measured once on :func:`calibration_signal`."""
    if not spec.may_delay:
        return 0
    key = (spec.name, sr, tuple(sorted(params.items())))
    if key not in _DELAYS:
        x = calibration_signal(sr)
        _DELAYS[key] = _best_lag(x, _raw_roundtrip(x, sr, spec, params), int(0.25 * sr))
    return _DELAYS[key]


def _fit(y: np.ndarray, start: int, n: int) -> np.ndarray:
    """``y[start:start+n]``, zero-padded at the end to exactly ``n`` samples."""
    y = y[start : start + n]
    return np.pad(y, (0, n - y.size)) if y.size < n else y


def roundtrip(x: np.ndarray, sr: int, name: str, params: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Encode+decode ``x`` (T,) at rate ``sr`` with codec ``name``; returns (float64 (T,), info).

    Rates the codec does not support are resampled to its first native rate and back (as a gateway
    transcoding a call would). ``info`` (JSON-ready) holds the codec rate and compensated delay.
    """
    spec = require_codec(name)
    csr = sr if sr in spec.rates else spec.rates[0]
    xc = to_rate(x, sr, csr)
    delay = codec_delay(spec, csr, params)
    yc = _fit(_raw_roundtrip(xc, csr, spec, params), delay, xc.size)
    y = _fit(to_rate(yc, csr, sr), 0, np.asarray(x).size)
    info: dict[str, Any] = {"codec_sr": int(csr), "delay_samples": int(delay)}
    info.update(
        {k: float(v) if isinstance(v, float) else v for k, v in _sf_kwargs(spec, csr, params).items()}
    )
    if name == "amr-nb":
        info["kbps"] = AMR_NB_KBPS[params["mode"]]
    return y, info
