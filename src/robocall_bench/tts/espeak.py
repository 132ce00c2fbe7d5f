"""eSpeak NG voices through the library shipped by the ``espeakng-loader`` wheel (ctypes, in memory)."""

from __future__ import annotations

import _ctypes
import ctypes
import importlib.metadata as md
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineUnavailableError, RcbError
from .base import Synthesis, TTSEngine
from .common import as_range, check_request, draw, draw_seed, finish

PIP_INSTALL = "pip install espeakng-loader"
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_DONT_EXIT = 0x8000  # return an error instead of calling exit() when the data is missing
_CHARS_UTF8, _ENDPAUSE = 0x1, 0x1000
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4  # espeak_PARAMETER
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
# The library is one global state per process; engines in threads must take turns.
_LOCK = threading.Lock()
_PRIVATE_LIB: dict[int, str] = {}  # pid -> path of this process's private copy of the library


def _loader_paths() -> tuple[str, str]:
    """(shared library, espeak-ng-data dir) from espeakng-loader, or EngineUnavailableError."""
    try:
        import espeakng_loader
    except ImportError:
        raise EngineUnavailableError(f"eSpeak NG systems need espeakng-loader: `{PIP_INSTALL}`") from None
    lib, data = (
        espeakng_loader.get_library_path(),
        str(Path(espeakng_loader.__file__).parent / "espeak-ng-data"),
    )
    if not Path(lib).is_file() or not Path(data).is_dir():
        raise EngineUnavailableError(f"espeakng-loader is incomplete ({lib}); reinstall: `{PIP_INSTALL}`")
    return lib, data


def _private_library(lib_path: str) -> str:
    """Path of a copy of the library that only this module dlopens (an in-memory file).

    espeak-ng keeps synthesis state in C statics (e.g. the pitch-flutter phase) that survive
    espeak_Terminate, so the same text renders differently depending on what came before. We
    dlopen the library per utterance and dlclose it afterwards, which resets every static; that
    only works if nobody else holds the same library open, hence a private memfd copy.
    """
    pid = os.getpid()
    if pid not in _PRIVATE_LIB:
        if not hasattr(os, "memfd_create"):  # non-Linux: fresh statics are not guaranteed
            _PRIVATE_LIB[pid] = lib_path
        else:
            fd = os.memfd_create("rcb-libespeak-ng")
            with open(fd, "wb", closefd=False) as f:  # stays open: the path below names this fd
                f.write(Path(lib_path).read_bytes())
            _PRIVATE_LIB[pid] = f"/proc/{pid}/fd/{fd}"
    return _PRIVATE_LIB[pid]


class EspeakEngine(TTSEngine):
    """One eSpeak NG voice (+ optional variant such as ``m3`` or ``f2``) at 22050 Hz.

    Per utterance: rate (words/min), pitch (0-99) and pitch range (0-99) drawn from config ranges;
    a seed drawn from ``rng`` feeds espeak's own noise (whisper/breathy variants). ``volume``
    (0-200, fixed) lowers the level of voices that would otherwise clip (the Mandarin ones).
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en",),
        voice: str = "en-us",
        variant: str | None = None,
        rate: Any = (150, 190),
        pitch: Any = (35, 65),
        pitch_range: Any = (30, 70),
        volume: int = 100,
    ) -> None:
        super().__init__(system, languages)
        self.voice = str(voice)
        self.variant = None if variant in (None, "") else str(variant)
        self.rate = as_range(system, "rate", rate, 80, 450)
        self.pitch = as_range(system, "pitch", pitch, 0, 99)
        self.pitch_range = as_range(system, "pitch_range", pitch_range, 0, 99)
        self.volume = int(as_range(system, "volume", volume, 1, 200)[0])

    @property
    def voice_name(self) -> str:
        """The name given to espeak_SetVoiceByName, e.g. ``en-us+m3``."""
        return self.voice if self.variant is None else f"{self.voice}+{self.variant}"

    def check(self) -> None:
        _, data = _loader_paths()
        if self.variant is not None and not (Path(data) / "voices" / "!v" / self.variant).is_file():
            raise RcbError(
                f"configs/tts/{self.system}.yaml: variant {self.variant!r} is not an espeak-ng variant; "
                f"use one of the files in {Path(data) / 'voices' / '!v'} (e.g. m3, f2) or null"
            )
        self._render(b"a", 175, 50, 50, 1)  # unknown voice names fail here, naming the fix

    def _render(self, text: bytes, rate: int, pitch: int, prange: int, seed: int) -> tuple[np.ndarray, int]:
        """Synthesize UTF-8 ``text`` with a freshly loaded library; returns (int16 samples, rate)."""
        lib_path, data = _loader_paths()
        chunks: list[np.ndarray] = []

        @_CALLBACK
        def on_audio(wav: Any, n: int, _events: Any) -> int:
            if n > 0 and wav:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0  # 0 = continue synthesis

        with _LOCK:
            lib = ctypes.CDLL(_private_library(lib_path))
            try:
                lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
                sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INIT_DONT_EXIT)
                if sr <= 0:
                    raise EngineUnavailableError(
                        f"espeak-ng could not load its data from {data}: `{PIP_INSTALL}`"
                    )
                lib.espeak_SetSynthCallback(on_audio)
                lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
                lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
                if lib.espeak_SetVoiceByName(self.voice_name.encode()) != 0:
                    raise RcbError(
                        f"configs/tts/{self.system}.yaml: espeak-ng has no voice {self.voice!r}; use a name "
                        "listed by `espeak-ng --voices` (e.g. en-us, en, en-gb-x-rp, cmn)"
                    )
                for param, value in (
                    (_RATE, rate),
                    (_VOLUME, self.volume),
                    (_PITCH, pitch),
                    (_RANGE, prange),
                ):
                    lib.espeak_SetParameter(param, int(value), 0)
                lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int]
                lib.espeak_Synth.argtypes += [ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
                buf = text + b"\0"
                err = lib.espeak_Synth(buf, len(buf), 0, 0, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
                lib.espeak_Synchronize()
                if err != 0:
                    raise RcbError(f"TTS system {self.system!r}: espeak_Synth failed with status {err}")
            finally:
                lib.espeak_Terminate()
                _ctypes.dlclose(lib._handle)  # drop the C statics so the next call starts fresh
        return (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)), int(sr)

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        text = check_request(self, text, language)
        params = {
            "voice": self.voice_name,
            "rate": draw(rng, self.rate, integer=True),
            "pitch": draw(rng, self.pitch, integer=True),
            "pitch_range": draw(rng, self.pitch_range, integer=True),
            "seed": draw_seed(rng),
        }
        # Control characters could be read as espeak commands; newlines would split clauses oddly.
        clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
        pcm, sr = self._render(
            clean.encode("utf-8"), params["rate"], params["pitch"], params["pitch_range"], params["seed"]
        )
        return Synthesis(finish(self, pcm.astype(np.float32) / 32768.0, text), sr, params)

    def version(self) -> dict[str, str]:
        lib_path, _ = _loader_paths()
        lib = ctypes.CDLL(lib_path)
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        info = {"engine": "espeak-ng", "library": lib.espeak_Info(None).decode(), "voice": self.voice_name}
        try:
            info["espeakng-loader"] = md.version("espeakng-loader")
        except md.PackageNotFoundError:
            info["espeakng-loader"] = "unknown"
        return info
