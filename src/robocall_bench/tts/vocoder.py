"""Copy-synthesis "TTS": a human recording re-rendered through a vocoder (WORLD, Griffin-Lim).

The result keeps the speaker's words and prosody but carries the artefacts of machine speech
(vocoder buzz, phase smearing), as neural TTS does. Such systems take audio, not text: the corpus
planner hands them held-aside human recordings (``resynthesize``); they are role ``tts``.
"""

from __future__ import annotations

import importlib.metadata as md
import math
import sys
import types
from abc import abstractmethod
from typing import Any

import numpy as np

from ..errors import EngineUnavailableError, RcbError
from .base import Synthesis, TTSEngine
from .common import as_range, draw, finish

PIP_PYWORLD = "pip install pyworld (or pip install -e '.[tts]')"
PIP_TORCH = "pip install -e '.[torch]' (torch + torchaudio)"
# Output peak never above this, whatever the input level (a resynthesis can overshoot the input).
MAX_PEAK = 0.95
# WORLD's F0 search range for telephone speech of adults and children (Hz).
F0_FLOOR, F0_CEIL = 60.0, 500.0
# D4C's voiced/unvoiced check sums power up to 7900 Hz; below this rate that runs past Nyquist into
# an uninitialised buffer (WORLD d4c.cpp, D4CLoveTrainSub), so frames flipped to noise depending on
# what earlier calls left in memory. Such rates are analysed by D4C at an integer multiple >= this.
D4C_MIN_RATE = 15800
# Shortest input worth vocoding (s): below it dio/GL have only a handful of frames.
MIN_INPUT_S = 0.1


def _import_pyworld() -> Any:
    """``import pyworld`` (ImportError if absent). pyworld <= 0.3.5 reads its version through ``pkg_resources``,
    which setuptools >= 81 no longer ships, so a stand-in answering that one call is offered while
    it imports (and removed afterwards, so nothing else sees it)."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.get_distribution = lambda name: types.SimpleNamespace(version=md.version(name))  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
        try:
            import pyworld
        finally:
            if sys.modules.get("pkg_resources") is shim:
                del sys.modules["pkg_resources"]
        return pyworld
    import pyworld

    return pyworld


def _check_input(system: str, x: np.ndarray, sr: int) -> np.ndarray:
    """``x`` as contiguous float64 (T,); RcbError naming the system if it is not vocodable speech."""
    a = np.asarray(x)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.floating):
        raise RcbError(
            f"TTS system {system!r}: resynthesize needs mono float audio of shape (T,), got {a.shape}"
        )
    if int(sr) < 8000:
        raise RcbError(f"TTS system {system!r}: input rate {sr} Hz < 8000 Hz; resample the source first")
    if a.size < MIN_INPUT_S * sr or not np.all(np.isfinite(a)):
        raise RcbError(
            f"TTS system {system!r}: input is shorter than {MIN_INPUT_S} s or holds NaN/Inf; "
            "drop that source window"
        )
    return np.ascontiguousarray(a, dtype=np.float64)


def _level(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` (T,) scaled to the peak of the input ``x`` (T,), at most MAX_PEAK."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= 0:
        return y.astype(np.float32)
    target = min(float(np.max(np.abs(x))), MAX_PEAK)
    return (y * (target / peak)).astype(np.float32)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` trimmed or zero-padded to ``n`` samples (vocoders round to whole frames)."""
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


class CopySynthesisEngine(TTSEngine):
    """A vocoder system: ``resynthesize`` re-renders human audio; it cannot read text.

    ``copy = True`` tells the planner to feed it held-aside recordings. It copies any language,
    so ``languages`` defaults to ("en", "zh"). Deterministic given ``rng``; holds only config
    values until used, so it pickles before ``load``.
    """

    copy = True

    def __init__(self, system: str, languages: list[str] | tuple[str, ...] = ("en", "zh")) -> None:
        super().__init__(system, languages)

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        raise RcbError(
            f"TTS system {self.system!r} is a copy-synthesis vocoder: it needs source audio "
            "(resynthesize(x, sr, rng)), not text; the corpus planner gives it held-aside human "
            f"recordings. Use a text TTS system for scripts, or drop {self.system!r} from tts.systems."
        )

    @abstractmethod
    def resynthesize(self, x: np.ndarray, sr: int, rng: np.random.Generator) -> Synthesis:
        """Re-render ``x`` (float32 (T,), rate ``sr``) through the vocoder: Synthesis of ~T samples at ``sr``."""


class WorldEngine(CopySynthesisEngine):
    """WORLD analysis-synthesis (pyworld): F0 by dio + stonemask (about 25x faster than harvest at
    equal quality on clean read speech), spectral envelope by CheapTrick, aperiodicity by D4C,
    5 ms frames.

    Per utterance (drawn from ``rng``, recorded in params): ``f0_scale`` multiplies voiced F0;
    ``formant_shift`` stretches the envelope's frequency axis (>1 moves formants up, a smaller
    or larger vocal tract); ``aperiodicity_scale`` multiplies D4C's aperiodicity (>1 breathier).
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en", "zh"),
        f0_method: str = "dio",
        frame_period_ms: float = 5.0,
        f0_scale: Any = (0.9, 1.1),
        formant_shift: Any = (0.95, 1.05),
        aperiodicity_scale: Any = (0.8, 1.25),
    ) -> None:
        super().__init__(system, languages)
        if f0_method not in ("dio", "harvest"):
            raise RcbError(f"configs/tts/{system}.yaml: f0_method must be dio or harvest, got {f0_method!r}")
        self.f0_method = f0_method
        self.frame_period_ms = float(frame_period_ms)
        if not 1.0 <= self.frame_period_ms <= 20.0:
            raise RcbError(f"configs/tts/{system}.yaml: frame_period_ms={frame_period_ms} must be in [1, 20]")
        self.f0_scale = as_range(system, "f0_scale", f0_scale, 0.5, 2.0)
        self.formant_shift = as_range(system, "formant_shift", formant_shift, 0.7, 1.4)
        self.aperiodicity_scale = as_range(system, "aperiodicity_scale", aperiodicity_scale, 0.2, 5.0)

    def check(self) -> None:
        try:
            _import_pyworld()
        except ImportError as e:
            raise EngineUnavailableError(
                f"TTS system {self.system!r} needs the pyworld package ({e}); install it with `{PIP_PYWORLD}`"
            ) from None

    def resynthesize(self, x: np.ndarray, sr: int, rng: np.random.Generator) -> Synthesis:
        y = _check_input(self.system, x, sr)
        self.check()
        pw = _import_pyworld()
        params: dict[str, Any] = {
            "vocoder": "world",
            "f0_method": f"{self.f0_method}+stonemask" if self.f0_method == "dio" else "harvest",
            "frame_period_ms": self.frame_period_ms,
            "f0_scale": draw(rng, self.f0_scale),
            "formant_shift": draw(rng, self.formant_shift),
            "aperiodicity_scale": draw(rng, self.aperiodicity_scale),
        }
        fp = self.frame_period_ms
        if self.f0_method == "dio":
            f0, t = pw.dio(y, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=fp)
            f0 = pw.stonemask(y, f0, t, sr)
        else:
            f0, t = pw.harvest(y, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=fp)
        fft_size = int(pw.get_cheaptrick_fft_size(sr, F0_FLOOR))
        sp = pw.cheaptrick(y, f0, t, sr, f0_floor=F0_FLOOR, fft_size=fft_size)
        ap = aperiodicity(pw, y, f0, t, sr, fft_size)
        f0 = f0 * params["f0_scale"]  # unvoiced frames stay 0
        sp = warp_envelope(sp, params["formant_shift"])
        ap = np.clip(ap * params["aperiodicity_scale"], 0.0, 1.0)
        out = pw.synthesize(np.ascontiguousarray(f0), sp, np.ascontiguousarray(ap), sr, fp)
        audio = _level(_fit(out, y.size), y)
        return Synthesis(finish(self, audio, "<copy-synthesis>"), int(sr), params)

    def version(self) -> dict[str, str]:
        try:
            v = md.version("pyworld")
        except md.PackageNotFoundError:
            v = "missing"
        return {"engine": "world", "pyworld": v, "f0": self.f0_method}


def aperiodicity(pw: Any, y: np.ndarray, f0: np.ndarray, t: np.ndarray, sr: int, fft_size: int) -> np.ndarray:
    """D4C aperiodicity (frames, fft_size // 2 + 1) of ``y`` (T,) float64 at rate ``sr``.

    Below D4C_MIN_RATE the signal is upsampled by an integer k (its empty upper band reads as
    "periodic", so dio's voicing stands) and analysed with a k-times FFT: the same bin spacing,
    so the first fft_size // 2 + 1 bins are exactly the 0..sr/2 band asked for.
    """
    k = math.ceil(D4C_MIN_RATE / sr)
    if k <= 1:
        return pw.d4c(y, f0, t, sr, fft_size=fft_size)
    from scipy.signal import resample_poly

    up = np.ascontiguousarray(resample_poly(y, k, 1), dtype=np.float64)
    ap = pw.d4c(up, f0, t, sr * k, fft_size=fft_size * k)
    return np.ascontiguousarray(ap[:, : fft_size // 2 + 1])


def warp_envelope(sp: np.ndarray, alpha: float) -> np.ndarray:
    """Stretch a spectral envelope (frames, bins) along frequency by ``alpha`` (linear interpolation).

    out[:, k] = sp[:, k / alpha]: a formant at bin k0 moves to alpha * k0; bins beyond the source's
    top repeat its last bin.
    """
    if alpha == 1.0:
        return np.ascontiguousarray(sp)
    n = sp.shape[1]
    pos = np.minimum(np.arange(n) / alpha, n - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = pos - i0
    return np.ascontiguousarray(sp[:, i0] * (1 - frac) + sp[:, i1] * frac)


class GriffinLimEngine(CopySynthesisEngine):
    """Magnitude STFT (optionally squeezed through an ``n_mels`` mel filterbank and back through its
    pseudo-inverse, as a mel-spectrogram vocoder sees it) -> torchaudio GriffinLim, at the input rate.

    Window ``win_s`` rounded to a power-of-two FFT (512 at 8 kHz, 1024 at 16 kHz), hop a quarter of
    it. Per utterance: ``n_iter`` (fewer = more phasey) and ``magnitude_power`` (exponent on the
    magnitudes before phase recovery; >1 sharpens harmonics, the Tacotron trick). Phase starts at
    zero (``rand_init`` off) so the output depends on the drawn values only. Runs torch on one
    thread: workers already run in parallel processes, and more threads on shared cores were ~20x
    slower in benchmarks/vocoder_speed.py.
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en", "zh"),
        n_mels: int | None = 80,
        win_s: float = 0.064,
        momentum: float = 0.99,
        n_iter: Any = (16, 32),
        magnitude_power: Any = (1.0, 1.3),
    ) -> None:
        super().__init__(system, languages)
        self.n_mels = None if n_mels is None else int(n_mels)
        if self.n_mels is not None and not 8 <= self.n_mels <= 256:
            raise RcbError(f"configs/tts/{system}.yaml: n_mels={n_mels} must be in [8, 256] or null")
        self.win_s = float(win_s)
        if not 0.01 <= self.win_s <= 0.2:
            raise RcbError(f"configs/tts/{system}.yaml: win_s={win_s} must be in [0.01, 0.2] seconds")
        self.momentum = float(momentum)
        if not 0.0 <= self.momentum < 1.0:
            raise RcbError(f"configs/tts/{system}.yaml: momentum={momentum} must be in [0, 1)")
        self.n_iter = as_range(system, "n_iter", n_iter, 1, 500)
        self.magnitude_power = as_range(system, "magnitude_power", magnitude_power, 0.5, 2.0)

    def check(self) -> None:
        try:
            import torch  # noqa: F401
            import torchaudio  # noqa: F401
        except ImportError as e:
            raise EngineUnavailableError(
                f"TTS system {self.system!r} needs torch and torchaudio ({e}); install them with `{PIP_TORCH}`"
            ) from None

    def n_fft(self, sr: int) -> int:
        """The FFT size for rate ``sr``: ``win_s`` seconds rounded to a power of two."""
        return int(2 ** round(math.log2(self.win_s * sr)))

    def resynthesize(self, x: np.ndarray, sr: int, rng: np.random.Generator) -> Synthesis:
        y = _check_input(self.system, x, sr)
        self.check()
        import torch
        import torchaudio

        n_fft = self.n_fft(sr)
        hop = n_fft // 4
        params: dict[str, Any] = {
            "vocoder": "griffinlim",
            "n_fft": n_fft,
            "hop": hop,
            "n_mels": self.n_mels,
            "momentum": self.momentum,
            "n_iter": draw(rng, self.n_iter, integer=True),
            "magnitude_power": draw(rng, self.magnitude_power),
        }
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                wav = torch.from_numpy(y.astype(np.float32))
                window = torch.hann_window(n_fft)
                mag = torch.stft(wav, n_fft, hop, window=window, return_complex=True).abs()  # (bins, frames)
                if self.n_mels is not None:
                    fb = torchaudio.functional.melscale_fbanks(
                        n_fft // 2 + 1, 0.0, sr / 2, self.n_mels, sr, norm="slaney", mel_scale="slaney"
                    )  # (bins, mels)
                    mel = fb.T @ mag  # (mels, frames)
                    mag = (torch.linalg.pinv(fb.T) @ mel).clamp_min(0.0)
                mag = mag ** params["magnitude_power"]
                gl = torchaudio.transforms.GriffinLim(
                    n_fft=n_fft, hop_length=hop, n_iter=params["n_iter"], momentum=self.momentum,
                    power=1.0, rand_init=False, length=y.size,
                )  # fmt: skip
                out = gl(mag).numpy().astype(np.float64)
        finally:
            torch.set_num_threads(threads)
        audio = _level(_fit(out, y.size), y)
        return Synthesis(finish(self, audio, "<copy-synthesis>"), int(sr), params)

    def version(self) -> dict[str, str]:
        out = {"engine": "griffinlim"}
        for pkg in ("torch", "torchaudio"):
            try:
                out[pkg] = md.version(pkg)
            except md.PackageNotFoundError:
                out[pkg] = "missing"
        return out
