"""What ``rcb score`` reads: one file, a folder of audio files, or a protocol (corpus) with its audio."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from ..corpus.protocol import read_protocol
from ..errors import RcbError

# Suffixes tried in a folder (libsndfile reads all of these; mp3/opus need libsndfile >= 1.1).
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
                  ".caf", ".w64", ".rf64", ".sph", ".nist", ".wv", ".mat", ".voc", ".sd2", ".ircam"}  # fmt: skip
SHOW = 10


@dataclass
class Inputs:
    """``ids`` and ``paths`` (n,) to score; ``kind`` file|folder|protocol; ``sample_rate`` of a protocol's audio."""

    ids: list[str]
    paths: list[str]
    kind: str
    root: Path
    sample_rate: int | None = None


def _is_protocol(p: Path) -> bool:
    return (p.is_file() and p.suffix == ".tsv") or (p.is_dir() and (p / "protocol.tsv").is_file())


def find_inputs(path: str | os.PathLike, split: str | None = None, track: str | None = None) -> Inputs:
    """Resolve ``input=``; RcbError for a missing path, an empty folder or protocol rows without audio."""
    p = Path(path).expanduser()
    if not p.exists():
        raise RcbError(f"input {p} not found; pass input=FILE, input=FOLDER or input=CORPUS/protocol.tsv")
    if _is_protocol(p):
        return from_protocol(p, split, track)
    if p.is_file():
        return Inputs([p.name], [str(p)], "file", p.parent)
    files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
                   and not any(part.startswith(".") for part in f.relative_to(p).parts))  # fmt: skip
    if not files:
        raise RcbError(f"{p} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES)[:8])}, ...)")
    return Inputs([f.relative_to(p).as_posix() for f in files], [str(f) for f in files], "folder", p)


def from_protocol(p: Path, split: str | None, track: str | None) -> Inputs:
    """Rows of a protocol (optionally one split/track); every listed audio file must exist."""
    rows = read_protocol(p)
    root = p if p.is_dir() else p.parent
    if split:
        rows = [r for r in rows if r["split"] == split]
    if track:
        rows = [r for r in rows if r.get("track") == track]
    if not rows:
        raise RcbError(
            f"{p}: no rows" + (f" with split={split}" if split else "") + (f" track={track}" if track else "")
        )
    if any("path" not in r or not r["path"] for r in rows):
        raise RcbError(f"{p}: rows without a path column; a protocol must list each utterance's audio path")
    paths = [str(root / r["path"]) for r in rows]
    missing = [q for q in paths if not Path(q).is_file()]
    if missing:
        raise RcbError(
            f"{p} lists {len(missing)} audio file(s) that are not there (of {len(paths)}), e.g.\n  "
            + "\n  ".join(missing[:SHOW])
            + "\nThe protocol does not match this audio folder: fetch/rebuild the corpus or pass its own protocol."
        )
    try:
        rate = int(sf.info(paths[0]).samplerate)
    except Exception:  # an unreadable first file is reported with the other errors when scoring
        rate = None
    return Inputs([r["utt_id"] for r in rows], paths, "protocol", root, rate)
