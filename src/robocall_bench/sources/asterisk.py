"""Asterisk core sounds: professional IVR voice-talent prompts (Debian ``asterisk-core-sounds-en-wav``).

One speaker (the English set is Allison Smith, CC-BY-SA-3.0), 8 kHz PCM WAV, one prompt per file
(``agent-pass.wav``, ``digits/7.wav``, ...). The texts come from the upstream transcript
``core-sounds-<lang>.txt`` (``name: text`` lines; Debian ships it gzipped under /usr/share/doc).
Prompts are pre-recorded human speech that dialers play back, so they feed the robocall side
(role ``recorded``), not the live side; the planner decides how (``campaigns.voice_talent``).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from ..errors import SourceMissingError
from .base import HumanSource, Skipped, SourceItem
from .text import decode_text

APT_INSTALL = "apt-get install asterisk-core-sounds-en-wav"
# Bracketed notes in the transcript describe sounds, not words: "[ascending tones]", "dot [.]".
_NOTE = re.compile(r"\[[^\]]*\]")
# A text that is only a parenthesised note is a non-speech file: "(10 seconds of silence)".
_ONLY_PAREN = re.compile(r"^\([^)]*\)$")
DIGITS = tuple(str(d) for d in range(10))


def parse_transcript(text: str) -> dict[str, str]:
    """prompt name ("agent-pass", "digits/7") -> raw text, from ``name: text`` lines (";" = comment)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        name, sep, said = line.partition(":")
        if sep and name.strip() and " " not in name.strip():
            out[name.strip()] = said.strip()
    return out


def spoken_text(raw: str) -> str | None:
    """The words of a transcript text ("dot [.]" -> "dot"); None for tones and silence."""
    t = " ".join(_NOTE.sub(" ", raw).split())
    if not t or _ONLY_PAREN.match(t):
        return None
    return t


class AsteriskSource(HumanSource):
    """Scan an Asterisk sounds folder (``subdir``: absolute, or relative to the corpora root).

    Every prompt file with spoken words in the transcript is one item, sub-folders included
    (digits/, letters/, phonetic/, ...); tones and silence/ are skipped with a reason.
    ``speaker``/``gender``: the one voice talent of the set. ``transcript``: where the transcript
    lives when the folder itself holds no ``core-sounds-*.txt[.gz]`` (Debian: /usr/share/doc).
    """

    def __init__(
        self,
        speaker: str = "allison",
        gender: str | None = "F",
        transcript: str | None = None,
        extensions: tuple[str, ...] | list[str] = (".wav",),
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.speaker = str(speaker)
        self.gender = gender
        self.transcript = transcript or None
        self.extensions = tuple(e.lower() for e in extensions)

    def folder(self, root: Path) -> Path:
        p = Path(root) / self.subdir
        if not p.is_dir():
            raise SourceMissingError(
                f"Source {self.name!r}: no Asterisk sounds folder at {p}. Install it with `{APT_INSTALL}` "
                f"(Debian puts it in /usr/share/asterisk/sounds/en), or set RCB_ASTERISK_SOUNDS (or `subdir:` "
                f"in {self.config_file}) to the folder holding the prompt .wav files."
            )
        return p

    def transcript_file(self, folder: Path) -> Path:
        """The transcript: ``core-sounds-*.txt[.gz]`` in ``folder``, else the configured ``transcript``."""
        found = sorted(folder.glob("core-sounds-*.txt")) + sorted(folder.glob("core-sounds-*.txt.gz"))
        if found:
            return found[0]
        if self.transcript and Path(self.transcript).is_file():
            return Path(self.transcript)
        raise SourceMissingError(
            f"Source {self.name!r}: no transcript core-sounds-*.txt[.gz] in {folder}"
            + (f" nor at {self.transcript}" if self.transcript else "")
            + ". Install it with `apt-get install asterisk-core-sounds-en` (Debian ships it as "
            "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz; images that exclude "
            f"/usr/share/doc drop it), or set RCB_ASTERISK_TRANSCRIPT (or `transcript:` in {self.config_file})."
        )

    def read_transcript(self, folder: Path) -> tuple[Path, dict[str, str]]:
        """(transcript path, prompt name -> raw text), decoded strictly with ``encoding``."""
        path = self.transcript_file(folder)
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        fix = "declare it with `encoding: {enc}` in " + self.config_file
        return path, parse_transcript(decode_text(data, path, self.encoding, fix))

    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        folder = self.folder(root)
        tpath, texts = self.read_transcript(folder)
        items: list[SourceItem] = []
        skipped: list[Skipped] = []
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in self.extensions and p.is_file())
        for p in files:
            name = p.relative_to(folder).with_suffix("").as_posix()
            if name not in texts:
                skipped.append(
                    Skipped(str(p), f"no line `{name}: ...` in {tpath}; add one or remove the file")
                )
                continue
            said = spoken_text(texts[name])
            if said is None:
                skipped.append(
                    Skipped(str(p), f"not speech ({texts[name]!r} in {tpath}); tones and silence are unused")
                )
                continue
            it = self.single(p, name, self.speaker, said, self.gender)
            (items if isinstance(it, SourceItem) else skipped).append(it)
        return items, skipped

    def digit_items(self, root: Path) -> list[SourceItem]:
        """The prompts ``digits/0`` .. ``digits/9`` as items, in digit order (for personalised inserts).

        Raises SourceMissingError naming the first missing or unusable digit prompt.
        """
        items, skipped = self.scan(root, 0)
        by_name = {it.item_id.split("/", 1)[1]: it for it in items}
        out = []
        for d in DIGITS:
            it = by_name.get(f"digits/{d}")
            if it is None:
                why = next((s.reason for s in skipped if Path(s.path).parent.name == "digits"
                            and Path(s.path).stem == d), "file missing")  # fmt: skip
                raise SourceMissingError(
                    f"Source {self.name!r}: digit prompt digits/{d}.wav under {self.folder(root)} is "
                    f"unusable ({why}); reinstall it with `{APT_INSTALL}`"
                )
            out.append(it)
        return out
