"""What ``rcb score`` reads: one file, a folder of audio files, or a protocol (corpus) with its audio.

An input's id becomes the first column of a score file (``utt_id<TAB>score`` lines), so an id or
path holding a TAB or a line break (``\\n``, ``\\r`` and the other breaks of ``str.splitlines``)
would break the file: such inputs are refused up front, naming the file; rename it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..contract import BAD_CELL_CHARS, read_protocol
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
    """Resolve ``input=``; RcbError for a missing path, an empty folder, protocol rows without audio,
    or an id/path with a TAB or line break (see :func:`check_ids`)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise RcbError(f"input {p} not found; pass input=FILE, input=FOLDER or input=CORPUS/protocol.tsv")
    if _is_protocol(p):
        inp = from_protocol(p, split, track)
    elif p.is_file():
        inp = Inputs([p.name], [str(p)], "file", p.parent)
    else:
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES
                       and not any(part.startswith(".") for part in f.relative_to(p).parts))  # fmt: skip
        if not files:
            raise RcbError(f"{p} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES)[:8])}, ...)")
        inp = Inputs([f.relative_to(p).as_posix() for f in files], [str(f) for f in files], "folder", p)
    check_ids(inp)
    return inp


def check_ids(inp: Inputs) -> None:
    """RcbError listing the inputs whose id or path holds a TAB or line break (they would split a line
    of the score file or of ``<out>.errors.tsv``)."""
    bad = [(i, q) for i, q in zip(inp.ids, inp.paths, strict=True) if BAD_CELL_CHARS & set(i + q)]
    if not bad:
        return
    shown = "\n  ".join(ascii(q) for _, q in bad[:SHOW])
    more = f"\n  ... and {len(bad) - SHOW} more" if len(bad) > SHOW else ""
    fix = (
        "rename the file(s) (and fix the protocol's utt_id/path)"
        if inp.kind == "protocol"
        else "rename the file(s), e.g. replace the TAB or line break with _"
    )
    raise RcbError(
        f"{len(bad)} input(s) of {inp.root} have a TAB or line break in the name, which would break the "
        f"score file (one utt_id<TAB>score per line):\n  {shown}{more}\nNothing was scored: {fix}."
    )


def from_protocol(p: Path, split: str | None, track: str | None) -> Inputs:
    """Rows of a protocol (optionally one split/track); every listed audio file must exist."""
    proto = read_protocol(p, require=("path",))
    root = proto.path.parent
    keep = np.ones(len(proto), dtype=bool)
    if split:
        keep &= proto.cols["split"] == split
    if track:
        keep &= proto.cols["track"] == track
    if not keep.any():
        raise RcbError(
            f"{p}: no rows" + (f" with split={split}" if split else "") + (f" track={track}" if track else "")
        )
    rows = proto.subset(keep)
    if (rows.cols["path"] == "").any():
        raise RcbError(f"{p}: rows without a path; a protocol must list each utterance's audio path")
    paths = [str(root / q) for q in rows.cols["path"].tolist()]
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
    return Inputs(rows.cols["utt_id"].tolist(), paths, "protocol", root, rate)
