"""Festival voices through one persistent ``festival --pipe`` process per engine object."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import EngineUnavailableError, RcbError
from .base import Synthesis, TTSEngine
from .common import as_range, ascii_text, check_request, draw, finish, require_binary

# Debian packages of the voices we configure; anything else falls back to `apt_package:`.
VOICE_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}
_START_TIMEOUT_S = 60.0
# SIOD's reader keeps one token in a fixed buffer (a few kB) and festival dies on longer string
# literals, so long text is sent as (string-append "piece" "piece" ...).
_PIECE = 400


class _FestivalDied(RcbError):
    """The festival process ended (crash or kill); the caller restarts it."""


_SAY = """(define (rcb_say text fn)
  (let ((u (eval (list 'Utterance 'Text text))))
    (utt.synth u)
    (utt.save.wave u fn 'riff)))"""


def scheme_string(text: str) -> str:
    """``text`` as a Scheme expression evaluating to an ASCII string (quotes/backslashes escaped)."""
    t = ascii_text(text)  # also turns newlines/control characters into spaces
    pieces = [t[i : i + _PIECE] for i in range(0, len(t), _PIECE)] or [""]
    quoted = ('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in pieces)
    return f"(string-append {' '.join(quoted)})"


def _stop(proc: subprocess.Popen[bytes], tmp: str) -> None:
    """Finalizer (close(), garbage collection or interpreter exit): end festival, remove temp files."""
    if proc.poll() is None:
        try:
            proc.stdin.close()  # type: ignore[union-attr]  # festival exits at end of input
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    shutil.rmtree(tmp, ignore_errors=True)


class FestivalEngine(TTSEngine):
    """One Festival voice (e.g. kal_diphone, ked_diphone, cmu_us_slt_arctic_hts).

    Per utterance: ``duration_stretch`` (>1 = slower; HTS voices get it as the engine's speed
    ``-r 1/stretch`` since they ignore Duration_Stretch) and, for diphone voices, the intonation
    target F0 mean/std in Hz (``f0_mean``, ``f0_std``; null = voice default). Festival has no
    randomness, so these values fully determine the audio.
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en",),
        voice: str = "kal_diphone",
        binary: str = "festival",
        apt_package: str | None = None,
        duration_stretch: Any = (0.9, 1.15),
        f0_mean: Any = None,
        f0_std: Any = None,
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(system, languages)
        self.voice = str(voice)
        self.binary = str(binary)
        self.apt_package = apt_package or VOICE_PACKAGES.get(self.voice, f"festvox-<{self.voice}>")
        self.hts = "hts" in self.voice  # HTS voices take speed/pitch through hts_engine_params
        self.duration_stretch = as_range(system, "duration_stretch", duration_stretch, 0.3, 3.0)
        self.f0_mean = None if f0_mean is None else as_range(system, "f0_mean", f0_mean, 40, 400)
        self.f0_std = None if f0_std is None else as_range(system, "f0_std", f0_std, 0, 100)
        if self.hts and (self.f0_mean or self.f0_std):
            raise RcbError(f"configs/tts/{system}.yaml: HTS voices ignore f0_mean/f0_std; set them to null")
        self.timeout_s = float(timeout_s)
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = ""
        self._finalizer: weakref.finalize | None = None
        self._count = 0

    def __getstate__(self) -> dict[str, Any]:
        # A running process cannot travel to a worker; the worker starts its own.
        return {**self.__dict__, "_proc": None, "_tmp": "", "_finalizer": None, "_count": 0}

    def _send(self, commands: str, timeout: float) -> str:
        """Send Scheme ``commands``, wait for our sync marker on stderr; returns festival's messages."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stderr is not None
        self._count += 1
        marker = f"RCB-SYNC-{self._count}"
        # stderr, not stdout: festival block-buffers stdout on a pipe but writes stderr at once.
        proc.stdin.write(f'{commands}\n(format stderr "\\n%s\\n" "{marker}")\n'.encode("ascii"))
        proc.stdin.flush()
        buf, deadline = b"", time.monotonic() + timeout
        while marker.encode() not in buf:
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(proc.stderr.fileno(), 65536) if ready else b""
            if not chunk:
                self.close()
                tail = buf.decode(errors="replace")[-300:]
                if ready:
                    raise _FestivalDied(f"TTS system {self.system!r}: festival exited ({tail!r})")
                raise RcbError(
                    f"TTS system {self.system!r}: festival timed out after {timeout:.0f} s ({tail!r})"
                )
            buf += chunk
        return buf.decode(errors="replace").replace(marker, "").strip()

    def _start(self) -> None:
        """Start festival and select the voice (festival start-up costs ~0.3-1 s, paid once)."""
        exe = require_binary(self.system, self.binary, "apt-get install festival")
        self._tmp = tempfile.mkdtemp(prefix="rcb-festival-")
        self._proc = subprocess.Popen(
            [exe, "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self._tmp,
        )
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._tmp)
        base = "(set! rcb_hts_base hts_engine_params)" if self.hts else "(set! rcb_lr_base int_lr_params)"
        log = self._send(f"(voice_{self.voice})\n{base}\n{_SAY}", _START_TIMEOUT_S)
        if "SIOD ERROR" in log or "EST Error" in log:
            self.close()
            raise EngineUnavailableError(
                f"TTS system {self.system!r}: festival voice {self.voice!r} is not installed "
                f"({log[-200:]!r}); install it with `apt-get install {self.apt_package}`"
            )

    def load(self) -> None:
        """Start the festival process unless it is running."""
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._start()

    def check(self) -> None:
        self.load()

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        text = check_request(self, text, language)
        params: dict[str, Any] = {"voice": self.voice, "duration_stretch": draw(rng, self.duration_stretch)}
        cmds = [f"(Parameter.set 'Duration_Stretch {params['duration_stretch']})"]
        if self.hts:
            cmds.append(
                f'(set! hts_engine_params (append rcb_hts_base (list (list "-r" {1.0 / params["duration_stretch"]:.6f}))))'
            )
        else:
            lr = "rcb_lr_base"
            if self.f0_std is not None:
                params["f0_std"] = draw(rng, self.f0_std)
                lr = f"(cons (list 'target_f0_std {params['f0_std']}) {lr})"
            if self.f0_mean is not None:
                params["f0_mean"] = draw(rng, self.f0_mean)
                lr = f"(cons (list 'target_f0_mean {params['f0_mean']}) {lr})"
            cmds.append(f"(set! int_lr_params {lr})")
        for attempt in (0, 1):  # a dead process (crash, killed) is restarted once
            self.load()
            wav = Path(self._tmp) / "utt.wav"
            wav.unlink(missing_ok=True)
            say = f'(rcb_say {scheme_string(text)} "{wav}")'
            try:
                log = self._send("\n".join([*cmds, say]), self.timeout_s + len(text) / 20)
            except (BrokenPipeError, _FestivalDied):
                self.close()
                if attempt:
                    raise
                continue
            if not wav.is_file():
                raise RcbError(f"TTS system {self.system!r}: festival wrote no audio ({log[-300:]!r})")
            audio, sr = sf.read(str(wav), dtype="float32", always_2d=False)
            return Synthesis(finish(self, audio, text), int(sr), params)
        raise AssertionError("unreachable")

    def version(self) -> dict[str, str]:
        exe = require_binary(self.system, self.binary, "apt-get install festival")
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
        found = re.search(r"\d+\.\d+(\.\d+)?", out)
        return {"engine": "festival", "festival": found.group(0) if found else "unknown", "voice": self.voice}

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # idempotent: runs _stop at most once
        self._proc, self._finalizer = None, None
