"""LibriSpeech-style trees: ``spk-chapter-utt.flac`` at any depth, SPEAKERS.TXT, *.trans.txt."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .base import HumanSource, Skipped, SourceItem
from .text import read_text

_UTT = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def read_speakers(folder: Path, read: Callable[[Path], str] = read_text) -> dict[str, str]:
    """speaker id -> gender ("F"/"M") from every SPEAKERS.TXT under ``folder`` (``read`` decodes a file)."""
    out: dict[str, str] = {}
    for f in sorted(folder.rglob("SPEAKERS.TXT")):
        for line in read(f).splitlines():
            if line.startswith(";") or "|" not in line:
                continue
            cols = [c.strip() for c in line.split("|")]
            if len(cols) >= 2 and cols[0].isdigit():
                out[cols[0]] = cols[1]
    return out


def read_transcripts(folder: Path, read: Callable[[Path], str] = read_text) -> dict[str, str]:
    """utterance id -> transcript from every ``*.trans.txt`` under ``folder`` (``read`` decodes a file)."""
    out: dict[str, str] = {}
    for f in sorted(folder.rglob("*.trans.txt")):
        for line in read(f).splitlines():
            uid, _, text = line.strip().partition(" ")
            if uid and text:
                out[uid] = text.strip().lower().capitalize()
    return out


class LibriSpeechSource(HumanSource):
    """LibriSpeech (or any tree of ``spk-chapter-utt.flac`` files), English."""

    def __init__(self, extensions: tuple[str, ...] | list[str] = (".flac", ".wav"), **kw) -> None:
        super().__init__(**kw)
        self.extensions = tuple(extensions)

    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        folder = self.folder(root)
        genders = read_speakers(folder, self.read_text)
        texts = read_transcripts(folder, self.read_text)
        items: list[SourceItem] = []
        skipped: list[Skipped] = []
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in self.extensions)
        for p in files:
            m = _UTT.match(p.stem)
            if not m:
                skipped.append(
                    Skipped(str(p), "name is not spk-chapter-utt; rename it or use the folder_csv source")
                )
                continue
            it = self.single(p, p.stem, m.group(1), texts.get(p.stem), genders.get(m.group(1)))
            (items if isinstance(it, SourceItem) else skipped).append(it)
        return items, skipped
