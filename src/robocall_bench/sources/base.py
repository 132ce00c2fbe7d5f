"""Source items, the scan contract, and the one loader all human sources share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio import CLIP_FRACTION, MIN_SECONDS, check_audio, clipping_rate, read_audio, resample, trim_silence
from ..errors import BadAudioError, SourceMissingError
from .text import check_encoding, read_text

# Below this rate a file cannot feed an 8 kHz telephone channel without inventing bandwidth.
MIN_RATE = 8000


@dataclass(frozen=True)
class SourceItem:
    """One human recording (or a group of clips read as one, e.g. a digit string).

    files: absolute paths read in order and joined by ``gaps`` seconds of silence (each clip's
    own leading/trailing silence dropped first when ``trim_clips``);
    duration: total seconds; speaker: globally unique ("librispeech:1688").
    """

    item_id: str
    source: str
    speaker: str
    language: str
    files: tuple[str, ...]
    duration: float
    text: str | None = None
    gender: str | None = None
    gaps: tuple[float, ...] = field(default_factory=tuple)
    trim_clips: bool = False


@dataclass(frozen=True)
class Skipped:
    """An unusable input, recorded in the manifest with its reason."""

    path: str
    reason: str


class HumanSource(ABC):
    """A scanner for one corpus layout under the corpora root.

    ``name`` prefixes item and speaker ids; ``subdir`` is the folder under the corpora root;
    ``license`` and ``url`` go to the dataset card; ``encoding`` is that of the source's text files
    (transcripts, speaker lists, tables), decoded strictly; ``config_file`` names the YAML file
    that declares it, for messages.
    """

    def __init__(
        self,
        name: str,
        subdir: str,
        language: str,
        license: str = "",
        url: str = "",
        encoding: str = "utf-8",
        config_file: str = "",
    ) -> None:
        self.name = name
        self.subdir = subdir
        self.language = language
        self.license = license
        self.url = url
        self.config_file = config_file or f"configs/source/{name}.yaml"
        self.encoding = check_encoding(encoding, self.config_file)

    def read_text(self, path: Path) -> str:
        """A text file of this source, decoded strictly with its ``encoding`` (RcbError names file and line)."""
        fix = "declare it with `encoding: {enc}` in " + self.config_file
        return read_text(path, self.encoding, fix)

    def folder(self, root: Path) -> Path:
        """The source folder under ``root``; raises SourceMissingError with the fix if absent."""
        p = Path(root) / self.subdir
        if not p.is_dir():
            raise SourceMissingError(
                f"Source {self.name!r} expects {p} (corpora root {root}). Fetch it with "
                f"`rcb corpus download name={self.name}` or drop it from `sources=`."
            )
        return p

    def single(
        self,
        path: Path,
        uid: str,
        speaker: str,
        text: str | None = None,
        gender: str | None = None,
        language: str | None = None,
    ) -> SourceItem | Skipped:
        """A one-file item after a header probe, or the Skipped record saying why not."""
        dur, why = probe(path)
        if why:
            return Skipped(str(path), why)
        return SourceItem(
            item_id=f"{self.name}/{uid}", source=self.name, speaker=f"{self.name}:{speaker}",
            language=language or self.language, files=(str(path),), duration=dur, text=text, gender=gender,
        )  # fmt: skip

    @abstractmethod
    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        """List usable items (header-checked) and skipped inputs with reasons."""


def probe(path: Path) -> tuple[float, str | None]:
    """(duration seconds, reason to skip or None) from the file header only (cheap)."""
    try:
        info = sf.info(str(path))
    except Exception as e:  # libsndfile raises several types for corrupt headers
        return (
            0.0,
            f"unreadable audio header ({type(e).__name__}: {str(e)[:120]}); re-download or re-encode it",
        )
    if info.frames <= 0:
        return 0.0, "empty audio (0 frames); remove or replace the file"
    if info.samplerate < MIN_RATE:
        return 0.0, f"sample rate {info.samplerate} Hz < {MIN_RATE} Hz; resample the source to >= 8 kHz"
    dur = info.frames / info.samplerate
    if dur < MIN_SECONDS:
        return 0.0, f"too short ({dur:.3f} s < {MIN_SECONDS} s); drop it"
    return dur, None


def load_item(item: SourceItem, start: float = 0.0, stop: float | None = None) -> tuple[np.ndarray, int]:
    """Load ``item`` (optionally the window [start, stop) s of it) as mono float32, shape (T,).

    Clips of a group are resampled to the first clip's rate and joined with their gaps.
    Raises BadAudioError (file + fix) for corrupt, silent or badly clipped audio.
    """
    if len(item.files) == 1:
        x, sr = read_audio(item.files[0], start=start, stop=stop)
    else:
        parts: list[np.ndarray] = []
        sr = 0
        for i, f in enumerate(item.files):
            y, r = read_audio(f)
            sr = sr or r
            y = resample(y, r, sr)
            parts.append(trim_silence(y, sr) if item.trim_clips else y)
            if i < len(item.gaps):
                parts.append(np.zeros(int(item.gaps[i] * sr), np.float32))
        x = np.concatenate(parts)
        a = int(start * sr)
        x = x[a : None if stop is None else int(stop * sr)]
        check_audio(x, sr, item.files[0])
    if clipping_rate(x) > CLIP_FRACTION:
        raise BadAudioError(
            item.files[0],
            f"badly clipped ({100 * clipping_rate(x):.1f}% of samples at full scale)",
            "drop it",
        )
    return x, sr
