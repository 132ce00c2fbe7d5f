"""Reading a corpus protocol (protocol.tsv) and its manifest for evaluation."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RcbError

COLUMNS = [
    "utt_id",
    "path",
    "label",
    "split",
    "track",
    "system",
    "speaker",
    "language",
    "text_id",
    "family",
    "channel",
    "codec",
    "snr_db",
    "duration",
    "source",
]
LABELS = ("human", "robocall")
SPLITS = ("train", "dev", "eval")
EVAL_TRACKS = ("eval", "unseen-systems", "unseen-channel")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Protocol:
    """A protocol table: ``cols[name]`` is an (n,) array of str per column; ``manifest`` may be empty."""

    path: Path
    sha256: str
    cols: dict[str, np.ndarray]
    manifest: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.cols["utt_id"].size)

    @property
    def corpus(self) -> dict[str, str | None]:
        """Corpus name and version from the manifest (None when there is no manifest)."""
        return {"name": self.manifest.get("name"), "version": self.manifest.get("version")}

    def subset(self, mask: np.ndarray) -> Protocol:
        """The rows where ``mask`` (n,) is True (same path, sha and manifest)."""
        return Protocol(self.path, self.sha256, {k: v[mask] for k, v in self.cols.items()}, self.manifest)

    def select(self, split: str, track: str | None = None) -> Protocol:
        """Rows of ``split`` (and ``track`` when given); RcbError when that leaves nothing."""
        if split not in SPLITS:
            raise RcbError(f"split={split!r} is not one of {', '.join(SPLITS)}")
        mask = self.cols["split"] == split
        if track not in (None, "", "all"):
            mask &= self.cols["track"] == track
        if not mask.any():
            have = sorted(set(self.cols["track"][self.cols["split"] == split]))
            raise RcbError(
                f"{self.path}: no rows with split={split}" + (f" and track={track}" if track else "") + f"; "
                f"tracks of that split: {', '.join(have) or 'none'}. Pick one of those."
            )
        return self.subset(mask)

    @property
    def is_robocall(self) -> np.ndarray:
        """(n,) bool: True for robocall rows."""
        return self.cols["label"] == "robocall"


def resolve_protocol_path(path: str | os.PathLike) -> Path:
    """Accept a protocol file or a corpus directory holding ``protocol.tsv``."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "protocol.tsv"
    if not p.is_file():
        raise RcbError(
            f"protocol {p} not found; pass protocol=CORPUS_DIR/protocol.tsv (built by `rcb corpus`)"
        )
    return p


def read_protocol(path: str | os.PathLike) -> Protocol:
    """Read a protocol TSV (header + rows) and the ``manifest.json`` beside it, if any.

    Raises RcbError naming the file for missing columns, ragged rows, bad labels/splits and
    duplicate ``utt_id``s.
    """
    p = resolve_protocol_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RcbError(f"{p}: not UTF-8 ({e}); regenerate it with `rcb corpus`") from e
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise RcbError(f"{p}: empty protocol; regenerate it with `rcb corpus`")
    header = lines[0].split("\t")
    missing = [c for c in ("utt_id", "label", "split", "track") if c not in header]
    if missing:
        raise RcbError(
            f"{p}: header lacks column(s) {', '.join(missing)}; is this a robocall-bench protocol.tsv?"
        )
    rows = [ln.split("\t") for ln in lines[1:]]
    bad = [i + 2 for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise RcbError(f"{p}: {len(bad)} row(s) do not have {len(header)} fields, first at line(s) {bad[:5]}")
    table = np.array(rows, dtype=object).reshape(len(rows), len(header))
    cols = {name: table[:, i].astype(str) for i, name in enumerate(header)}
    _check_values(p, cols)
    manifest = {}
    mpath = p.parent / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RcbError(f"{mpath}: not valid JSON ({e}); regenerate the corpus manifest") from e
    return Protocol(p, sha256_file(p), cols, manifest)


def _check_values(p: Path, cols: dict[str, np.ndarray]) -> None:
    for name, allowed in (("label", LABELS), ("split", SPLITS)):
        bad = sorted(set(cols[name]) - set(allowed))
        if bad:
            raise RcbError(f"{p}: column {name} has value(s) {bad[:5]}; expected {', '.join(allowed)}")
    ids, counts = np.unique(cols["utt_id"], return_counts=True)
    if (counts > 1).any():
        dup = ids[counts > 1]
        raise RcbError(f"{p}: {dup.size} duplicate utt_id(s), e.g. {list(dup[:5])}; the protocol is corrupt")


def numeric_column(proto: Protocol, name: str) -> np.ndarray:
    """Column ``name`` as float (n,); empty or '-' cells become NaN."""
    raw = proto.cols[name]
    out = np.full(raw.size, np.nan)
    ok = (raw != "") & (raw != "-")
    try:
        out[ok] = raw[ok].astype(np.float64)
    except ValueError as e:
        raise RcbError(f"{proto.path}: column {name} has a non-numeric value ({e})") from e
    return out
