"""CMU Flite voices through the ``flite`` program (Debian package ``flite``)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import EngineUnavailableError, RcbError
from .base import Synthesis, TTSEngine
from .common import as_range, ascii_text, check_request, draw, finish, require_binary

APT_INSTALL = "apt-get install flite"
# Generous per-utterance limit: flite renders ~100x faster than real time.
_TIMEOUT_S = 120


class FliteEngine(TTSEngine):
    """One flite voice (kal, kal16, awb, rms, slt, or a .flitevox path).

    Per utterance: ``duration_stretch`` (>1 = slower) and, for voices that honour it (kal16,
    awb, slt; not rms), the intonation target mean F0 in Hz (``f0_mean``; null = voice default).
    flite has no randomness, so the drawn values fully determine the audio.
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en",),
        voice: str = "slt",
        binary: str = "flite",
        duration_stretch: Any = (0.9, 1.15),
        f0_mean: Any = None,
    ) -> None:
        super().__init__(system, languages)
        self.voice = str(voice)
        self.binary = str(binary)
        self.duration_stretch = as_range(system, "duration_stretch", duration_stretch, 0.3, 3.0)
        self.f0_mean = None if f0_mean is None else as_range(system, "f0_mean", f0_mean, 40, 400)

    def check(self) -> None:
        exe = require_binary(self.system, self.binary, APT_INSTALL)
        if self.voice.endswith(".flitevox") or "/" in self.voice:
            if not Path(self.voice).is_file():
                raise EngineUnavailableError(
                    f"TTS system {self.system!r}: flite voice file {self.voice} not found; "
                    f"download it or fix `voice:` in configs/tts/{self.system}.yaml"
                )
            return
        out = subprocess.run([exe, "-lv"], capture_output=True, text=True, timeout=30).stdout
        voices = out.split(":", 1)[-1].split()
        if self.voice not in voices:
            raise EngineUnavailableError(
                f"TTS system {self.system!r}: flite at {exe} has no voice {self.voice!r} (it has {voices}); "
                f"install the full Debian build with `{APT_INSTALL}` or fix `voice:` in "
                f"configs/tts/{self.system}.yaml"
            )

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        text = check_request(self, text, language)
        exe = require_binary(self.system, self.binary, APT_INSTALL)
        params: dict[str, Any] = {"voice": self.voice, "duration_stretch": draw(rng, self.duration_stretch)}
        if self.f0_mean is not None:
            params["f0_mean"] = draw(rng, self.f0_mean)
        cmd = [exe, "-voice", self.voice, "--setf", f"duration_stretch={params['duration_stretch']}"]
        if "f0_mean" in params:
            cmd += ["--setf", f"int_f0_target_mean={params['f0_mean']}"]
        with tempfile.TemporaryDirectory(prefix="rcb-flite-") as tmp:
            # Text goes through a file: no argv length limit, and text starting with "-" stays text.
            src, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(ascii_text(text) + "\n", encoding="ascii")
            proc = subprocess.run(
                [*cmd, "-f", str(src), "-o", str(wav)], capture_output=True, text=True, timeout=_TIMEOUT_S
            )
            if proc.returncode != 0 or not wav.is_file():
                raise RcbError(
                    f"TTS system {self.system!r}: flite failed (exit {proc.returncode}): "
                    f"{proc.stderr.strip()[-300:]}"
                )
            audio, sr = sf.read(str(wav), dtype="float32", always_2d=False)
        return Synthesis(finish(self, audio, text), int(sr), params)

    def version(self) -> dict[str, str]:
        exe = require_binary(self.system, self.binary, APT_INSTALL)
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
        found = re.search(r"flite-[\w.\-]+", out)
        return {"engine": "flite", "flite": found.group(0) if found else "unknown", "voice": self.voice}
