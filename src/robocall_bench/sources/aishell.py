"""AISHELL-style folders: ``audio/<utt_id>.<ext>`` plus ``transcripts.tsv`` (utt_id, speaker, seconds, text)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import SourceMissingError
from .base import HumanSource, Skipped, SourceItem


class AishellSource(HumanSource):
    """AISHELL-1 style Mandarin read speech."""

    def __init__(self, transcripts: str = "transcripts.tsv", audio_dir: str = "audio", **kw) -> None:
        super().__init__(**kw)
        self.transcripts = transcripts
        self.audio_dir = audio_dir

    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        folder = self.folder(root)
        tsv = folder / self.transcripts
        if not tsv.is_file():
            raise SourceMissingError(
                f"{tsv} is missing: AISHELL-style sources need utt_id/speaker/text in it."
            )
        audio = {p.stem: p for p in sorted((folder / self.audio_dir).glob("*")) if p.is_file()}
        items: list[SourceItem] = []
        skipped: list[Skipped] = []
        seen: set[str] = set()
        with io.StringIO(self.read_text(tsv), newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                uid, spk, text = row.get("utt_id"), row.get("speaker"), (row.get("text") or "").strip()
                if not uid or not spk:
                    skipped.append(
                        Skipped(f"{tsv}:{uid}", "row without utt_id or speaker; fix transcripts.tsv")
                    )
                    continue
                seen.add(uid)
                p = audio.get(uid)
                if p is None:
                    skipped.append(
                        Skipped(f"{folder / self.audio_dir / uid}.*", "transcript without audio file")
                    )
                    continue
                it = self.single(p, uid, spk, text or None)
                (items if isinstance(it, SourceItem) else skipped).append(it)
        skipped += [
            Skipped(str(p), "audio without a transcripts.tsv row") for u, p in audio.items() if u not in seen
        ]
        return items, skipped
