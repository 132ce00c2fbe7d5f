"""Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{index}.wav``, read as digit strings."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

from ..seeding import rng_for
from .base import HumanSource, Skipped, SourceItem, probe

_CLIP = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class FsddSource(HumanSource):
    """FSDD clips of one speaker grouped into digit strings (like a caller reading a number).

    Single 0.5 s digits are too short for call screening, so ``group_size`` [lo, hi] clips are
    joined with ``gap`` [lo, hi] s pauses; group_size [1, 1] keeps single clips.
    """

    def __init__(
        self,
        group_size: tuple[int, int] | list[int] = (4, 8),
        gap: tuple[float, float] | list[float] = (0.05, 0.25),
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.group_size = (int(group_size[0]), int(group_size[1]))
        self.gap = (float(gap[0]), float(gap[1]))

    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        folder = self.folder(root)
        genders: dict[str, str] = {}
        if (folder / "speakers.csv").is_file():
            with io.StringIO(self.read_text(folder / "speakers.csv"), newline="") as f:
                genders = {r["speaker"]: r.get("gender", "") for r in csv.DictReader(f)}
        clips: dict[str, list[tuple[Path, int, float]]] = defaultdict(list)
        skipped: list[Skipped] = []
        rec = folder / "recordings" if (folder / "recordings").is_dir() else folder
        for p in sorted(rec.glob("*.wav")):
            m = _CLIP.match(p.stem)
            if not m:
                skipped.append(Skipped(str(p), "name is not digit_speaker_index.wav; rename it"))
                continue
            dur, why = probe(p)
            if why:
                skipped.append(Skipped(str(p), why))
                continue
            clips[m.group(2)].append((p, int(m.group(1)), dur))
        items: list[SourceItem] = []
        lo, hi = self.group_size
        for spk in sorted(clips):
            rng = rng_for(seed, "fsdd-groups", spk)
            pool = [clips[spk][i] for i in rng.permutation(len(clips[spk]))]
            k = 0
            while pool:
                n = int(rng.integers(lo, hi + 1))
                group, pool = pool[:n], pool[n:]
                gaps = tuple(float(g) for g in rng.uniform(*self.gap, size=len(group) - 1).round(3))
                items.append(
                    SourceItem(
                        item_id=f"{self.name}/{spk}-{k:04d}",
                        source=self.name,
                        speaker=f"{self.name}:{spk}",
                        language=self.language,
                        files=tuple(str(g[0]) for g in group),
                        duration=sum(g[2] for g in group) + sum(gaps),
                        # commas: read as a number string, as people (and robocalls) read them
                        text=", ".join(DIGIT_WORDS[g[1]] for g in group).capitalize() + ".",
                        gender=(genders.get(spk) or "")[:1].upper() or None,
                        gaps=gaps,
                        trim_clips=True,
                    )
                )
                k += 1
        return items, skipped
