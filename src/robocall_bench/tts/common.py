"""Helpers shared by the TTS engines: config ranges, request checks and output clean-up."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import EngineUnavailableError, RcbError
from .base import TTSEngine

# Peak below this (full scale = 1) means the engine produced no audible speech.
SILENT_PEAK = 1e-3

Range = tuple[float, float]


def as_range(system: str, key: str, value: object, lo: float | None = None, hi: float | None = None) -> Range:
    """Parse a config value that is either a number (fixed) or ``[min, max]`` into ``(min, max)``.

    Raises RcbError naming the system, the key and the fix for malformed or out-of-bounds values.
    """
    where = f"configs/tts/{system}.yaml: {key}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        pair = (float(value), float(value))
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        try:
            pair = (float(value[0]), float(value[1]))
        except (TypeError, ValueError):
            raise RcbError(f"{where} must hold two numbers [min, max], got {value!r}") from None
    else:
        raise RcbError(f"{where} must be a number or a [min, max] pair, got {value!r}")
    if pair[0] > pair[1]:
        raise RcbError(f"{where} has min > max ({pair[0]} > {pair[1]}); swap the two values")
    if (lo is not None and pair[0] < lo) or (hi is not None and pair[1] > hi):
        raise RcbError(f"{where} = {list(pair)} is outside the engine's limits [{lo}, {hi}]; narrow it")
    return pair


def draw(rng: np.random.Generator, r: Range, integer: bool = False) -> float | int:
    """One uniform draw from ``r``. Always consumes exactly one value of ``rng`` (fixed draw order)."""
    x = float(rng.uniform(r[0], r[1]))
    return round(x) if integer else round(x, 4)


def draw_seed(rng: np.random.Generator) -> int:
    """A non-negative 31-bit seed for engine-internal randomness, drawn from the utterance ``rng``."""
    return int(rng.integers(0, 2**31 - 1))


def check_request(engine: TTSEngine, text: str, language: str) -> str:
    """Validate one synthesis request; returns the stripped text."""
    if language not in engine.languages:
        raise RcbError(
            f"TTS system {engine.system!r} speaks {list(engine.languages)}, not {language!r}; "
            f"pick a system whose `languages` include {language!r} (see configs/tts/)"
        )
    if not isinstance(text, str) or not text.strip():
        raise RcbError(f"TTS system {engine.system!r} got empty text; every script line needs words to speak")
    return text.strip()


def ascii_text(text: str) -> str:
    """Transliterate to printable ASCII (é -> e; others dropped) for English-only engines.

    flite and festival treat input as bytes in a Latin-1-ish way; UTF-8 multibyte sequences
    would be spelled out as junk, so they get plain ASCII with whitespace collapsed.
    """
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join("".join(c if c.isprintable() else " " for c in t).split())


def finish(engine: TTSEngine, audio: np.ndarray, text: str) -> np.ndarray:
    """Return ``audio`` (shape (T,)) as contiguous float32 in [-1, 1]; RcbError if silent or broken."""
    x = np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1))
    x = np.clip(x, -1.0, 1.0)
    if x.size == 0 or float(np.max(np.abs(x))) < SILENT_PEAK:
        snippet = text if len(text) < 60 else text[:57] + "..."
        raise RcbError(
            f"TTS system {engine.system!r} produced silence for {snippet!r}; the text may hold nothing "
            "speakable in this voice's language (check the script line or the system's `languages`)"
        )
    return np.ascontiguousarray(x)


def require_binary(system: str, binary: str, install: str) -> str:
    """Resolve ``binary`` (name or path) to an executable path or raise EngineUnavailableError."""
    path = shutil.which(binary)
    if path is None:
        raise EngineUnavailableError(
            f"TTS system {system!r} needs the {Path(binary).name!r} program, which was not found at "
            f"{binary!r}. Install it with `{install}` (or fix `binary:` in configs/tts/{system}.yaml)."
        )
    return path
