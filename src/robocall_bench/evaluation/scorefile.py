"""Score files (``utt_id<TAB>score``, optional header): reading and validation against a protocol."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RcbError
from .protocol import Protocol, sha256_file

SHOW = 5  # offenders listed per kind of problem


@dataclass
class ScoreFile:
    """Scores of one file aligned to a protocol selection: ``scores`` (n,) in the selection's row order."""

    path: Path
    sha256: str
    scores: np.ndarray


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _fmt(items: list, n: int) -> str:
    shown = ", ".join(map(str, items[:SHOW]))
    return shown + (", ..." if n > SHOW else "")


def read_scores(
    path: str | os.PathLike,
    sel: Protocol,
    full: Protocol | None = None,
    where: str = "",
    max_bytes: int | None = None,
) -> ScoreFile:
    """Read ``path`` and check it scores exactly the rows of ``sel`` (a protocol selection).

    ``full`` (the whole protocol) lets the error say when ids belong to another split or track;
    ``where`` names the selection in messages (e.g. "split=eval"). Every problem is gathered into
    one RcbError with counts and the first offenders: unreadable or empty file, malformed lines,
    non-numeric or non-finite scores, duplicate, extra and missing ids.
    """
    p = Path(path).expanduser()
    where = where or "the selected protocol rows"
    if not p.is_file():
        raise RcbError(f"score file {p} not found; pass scores=FILE with lines `utt_id<TAB>score`")
    size = p.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise RcbError(
            f"{p}: {size} bytes exceeds the limit of {max_bytes} bytes; score only the protocol rows"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RcbError(f"{p}: not UTF-8 text ({e}); write lines `utt_id<TAB>score`") from e
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise RcbError(f"{p}: empty score file; expected {len(sel)} lines `utt_id<TAB>score` for {where}")

    expected = {u: i for i, u in enumerate(sel.cols["utt_id"])}
    problems: list[str] = []
    malformed, nonnum, nonfinite = [], [], []
    ids: list[str] = []
    vals: list[float] = []
    for k, (lineno, ln) in enumerate(lines):
        f = ln.split("\t") if "\t" in ln else ln.split()
        f = [x.strip() for x in f]
        if len(f) != 2 or not f[0]:
            malformed.append(lineno)
            continue
        uid, raw = f
        if not _is_float(raw):
            if k == 0 and uid not in expected:  # a header line such as "utt_id<TAB>score"
                continue
            nonnum.append(f"line {lineno}: {raw[:20]!r}")
            continue
        v = float(raw)
        if not np.isfinite(v):
            nonfinite.append(f"{uid}={raw}")
            continue
        ids.append(uid)
        vals.append(v)
    if malformed:
        problems.append(
            f"{len(malformed)} malformed line(s) (need 2 fields), at line(s) {_fmt(malformed, len(malformed))}"
        )
    if nonnum:
        problems.append(f"{len(nonnum)} non-numeric score(s): {_fmt(nonnum, len(nonnum))}")
    if nonfinite:
        problems.append(f"{len(nonfinite)} non-finite score(s) (NaN/inf): {_fmt(nonfinite, len(nonfinite))}")

    id_arr = np.array(ids, dtype=str)
    uniq, counts = np.unique(id_arr, return_counts=True)
    dups = list(uniq[counts > 1])
    if dups:
        problems.append(f"{len(dups)} duplicate id(s): {_fmt(dups, len(dups))}")
    extra = [u for u in uniq if u not in expected]
    if extra:
        problems.append(_extra_message(extra, full, where))
    seen = set(uniq)
    missing = [u for u in sel.cols["utt_id"] if u not in seen]
    if missing:
        problems.append(
            f"{len(missing)} of {len(sel)} id(s) of {where} missing: {_fmt(missing, len(missing))}"
        )
    if problems:
        raise RcbError(
            f"{p} does not match {where} of {sel.path}:\n  - " + "\n  - ".join(problems) + "\n"
            "Fix: score every protocol row of that selection exactly once with a finite number."
        )
    out = np.empty(len(sel), dtype=np.float64)
    out[[expected[u] for u in ids]] = vals
    return ScoreFile(p, sha256_file(p), out)


def _extra_message(extra: list[str], full: Protocol | None, where: str) -> str:
    msg = f"{len(extra)} id(s) not in {where}: {_fmt(extra, len(extra))}"
    if full is None:
        return msg
    pos = {u: i for i, u in enumerate(full.cols["utt_id"])}
    known = [pos[u] for u in extra if u in pos]
    if known:
        places = sorted({f"split={full.cols['split'][i]} track={full.cols['track'][i]}" for i in known})
        msg += f" ({len(known)} of them are protocol rows of {', '.join(places[:4])}: wrong split or track?)"
    if len(known) < len(extra):
        msg += f" ({len(extra) - len(known)} are not in the protocol at all: another corpus version?)"
    return msg
