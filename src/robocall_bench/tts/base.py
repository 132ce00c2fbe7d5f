"""The TTS engine contract shared by every engine (one YAML file per engine-voice system)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Synthesis:
    """One synthesized utterance.

    audio: float32 mono waveform, shape (T,), in [-1, 1]; sample_rate: its rate in Hz;
    params: the per-utterance values actually used (rate, pitch, noise scales, ...), recorded
    in the corpus so the rendition can be reproduced.
    """

    audio: np.ndarray
    sample_rate: int
    params: dict[str, Any] = field(default_factory=dict)


class TTSEngine(ABC):
    """A text-to-speech *system*: one engine with one voice (and its variation ranges).

    Instantiated by Hydra from ``configs/tts/<system>.yaml`` (``_target_`` + keyword args).
    ``system`` is the id written to protocol.tsv; ``languages`` the language codes ("en", "zh")
    it can speak. Engines must be deterministic given ``rng`` and picklable before ``load()``
    is called (workers receive the engine and load it themselves).
    """

    def __init__(self, system: str, languages: list[str] | tuple[str, ...]) -> None:
        self.system = system
        self.languages = tuple(languages)

    @abstractmethod
    def check(self) -> None:
        """Raise EngineUnavailableError naming the package to install if the engine/voice is missing."""

    @abstractmethod
    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        """Render ``text`` in ``language``, drawing per-utterance variation from ``rng``."""

    @abstractmethod
    def version(self) -> dict[str, str]:
        """Engine, voice and package versions for the corpus manifest."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release subprocesses or sessions (optional)."""
