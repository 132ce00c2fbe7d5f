"""Score files (``utt_id<TAB>score``, optional header): the one writer, and the streamed reader that
checks a file against a protocol selection.

Writers put a header line ``utt_id<TAB>score`` first and each score as ``repr(float)``, so a value
survives the round trip exactly and the same scores always give the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import RcbError
from .protocol import Columns, Protocol
from .vocab import BAD_CELL_CHARS

SHOW = 5  # offenders listed per kind of problem
# Score files at least this large are first tried by :func:`_read_compact` (Arrow, no Python object
# per line); anything it does not accept is read line by line below, which words every error.
COMPACT_READ_BYTES = 1 << 20
MAX_BAD_LINES = 20  # default of max_bad_score_lines: stop reading after this many bad lines
MAX_LINE_BYTES = 4096  # an id and a number: a longer line is junk, and is not held in memory
HEADER = "utt_id\tscore"


@dataclass
class ScoreFile:
    """Scores of one file aligned to a protocol selection: ``scores`` (n,) in the selection's row order."""

    path: Path
    sha256: str
    scores: np.ndarray


@dataclass
class _Tally:
    """One kind of problem: how often, and the first :data:`SHOW` examples (memory stays bounded)."""

    n: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, item: str) -> None:
        self.n += 1
        if len(self.first) < SHOW:
            self.first.append(item)

    def shown(self) -> str:
        return ", ".join(self.first) + (", ..." if self.n > SHOW else "")


def _lines(f: BinaryIO, h: Any, p: Path, max_bytes: int | None) -> Iterator[tuple[int, bytes | None]]:
    """(line number, the line's bytes without the newline, or None for a line over
    :data:`MAX_LINE_BYTES`), hashing every byte read.

    Read in 64 KiB blocks: a file without newlines never sits in memory whole, and the bytes of an
    over-long line are dropped as they come.
    """
    lineno, total = 0, 0
    buf, too_long = b"", False  # the unfinished line so far (at most MAX_LINE_BYTES)
    while chunk := f.read(1 << 16):
        h.update(chunk)
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:  # the file grew after the size check
            raise RcbError(f"{p}: more than the limit of {max_bytes} bytes; score only the protocol rows")
        *done, rest = chunk.split(b"\n")
        for part in done:
            lineno += 1
            yield lineno, None if too_long or len(buf) + len(part) > MAX_LINE_BYTES else buf + part
            buf, too_long = b"", False
        if too_long or len(buf) + len(rest) > MAX_LINE_BYTES:
            buf, too_long = b"", True
        else:
            buf += rest
    if buf or too_long:
        yield lineno + 1, None if too_long else buf


def read_scores(
    path: str | os.PathLike,
    sel: Protocol,
    full: Protocol | None = None,
    where: str = "",
    max_bytes: int | None = None,
    max_bad_lines: int | None = MAX_BAD_LINES,
) -> ScoreFile:
    """Read ``path`` and check it scores exactly the rows of ``sel`` (a protocol selection).

    ``full`` (the whole protocol) lets the error say when ids belong to another split or track;
    ``where`` names the selection in messages (e.g. "split=eval"). Every problem is gathered into
    one RcbError with counts and the first offenders: unreadable or empty file, malformed, over-long
    or non-UTF-8 lines, non-numeric or non-finite scores, duplicate, extra and missing ids.

    The file is streamed: memory grows with ``len(sel)``, not with the file. (A file of at least
    :data:`COMPACT_READ_BYTES` and at most 256 bytes per selected row is first read whole by Arrow,
    :func:`_read_compact`; it returns only what this reader would, else the stream reads it.) Reading stops at the
    ``max_bad_lines``-th bad line (None: no limit) with an error showing the first few as
    ``file:line: reason``; a file of junk is not worth reading to its end.
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
    # In memory at once only when the file is no bigger than its rows could be (the stream keeps
    # memory proportional to the rows whatever the file holds).
    if COMPACT_READ_BYTES <= size <= 256 * len(sel) + 4096:
        fast = _read_compact(p, sel)
        if fast is not None:
            return fast
    ids = sel.cols["utt_id"]
    expected = {u: i for i, u in enumerate(ids.tolist())}
    vals = [0.0] * len(sel)
    seen = bytearray(len(sel))  # 0 unseen, 1 seen, 2 seen more than once
    tally = {k: _Tally() for k in ("malformed", "too_long", "not_utf8", "nonnum", "nonfinite")}
    dups, extra = _Tally(), _Tally()
    extra_known, places = 0, set()
    full_pos = None
    bad_lines: list[str] = []  # the first few bad lines as "file:line: reason"
    n_bad = n_content = 0

    def bad(kind: str, lineno: int, item: str, reason: str) -> None:
        nonlocal n_bad
        n_bad += 1
        tally[kind].add(item)
        if len(bad_lines) < SHOW:
            bad_lines.append(f"{p}:{lineno}: {reason}")
        if max_bad_lines is not None and n_bad >= max_bad_lines:
            raise RcbError(
                f"{p}: stopped reading at line {lineno} after {n_bad} bad lines (limit max_bad_score_lines="
                f"{max_bad_lines}); the first ones:\n  - " + "\n  - ".join(bad_lines) + "\n"
                "Is this a score file? Fix: write one UTF-8 line `utt_id<TAB>score` per protocol row of "
                f"{where} (an optional header line first)."
            )

    h = hashlib.sha256()
    try:
        f = p.open("rb")
    except OSError as e:
        raise RcbError(f"score file {p}: cannot be read ({e.strerror}); check its permissions") from None
    with f:
        for lineno, raw in _lines(f, h, p, max_bytes):
            if raw is None:
                bad("too_long", lineno, str(lineno), f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                ln = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                bad("not_utf8", lineno, str(lineno), f"not UTF-8 ({e.reason} at byte {e.start})")
                continue
            if lineno == 1:
                ln = ln.removeprefix("\ufeff")  # a BOM some editors write
            if not ln.strip():
                continue
            fields = ln.split("\t") if "\t" in ln else ln.split()
            n_content += 1
            if len(fields) != 2 or not (uid := fields[0].strip()):
                why = f"malformed: need 2 fields `utt_id<TAB>score`, got {len(fields)}"
                bad("malformed", lineno, str(lineno), why)
                continue
            raw_score = fields[1].strip()
            try:
                v = float(raw_score)
            except ValueError:
                if n_content == 1 and uid not in expected:  # a header line such as "utt_id<TAB>score"
                    continue
                shown = repr(raw_score[:20])
                bad("nonnum", lineno, f"line {lineno}: {shown}", f"non-numeric score {shown}")
                continue
            if not math.isfinite(v):
                bad("nonfinite", lineno, f"{uid[:40]}={raw_score}", f"non-finite score {raw_score!r}")
                continue
            i = expected.get(uid)
            if i is None:
                extra.add(uid[:40])
                if full is not None:
                    if full_pos is None:
                        full_pos = {u: k for k, u in enumerate(full.cols["utt_id"].tolist())}
                    k = full_pos.get(uid)
                    if k is not None:
                        extra_known += 1
                        places.add(f"split={full.cols['split'][k]} track={full.cols['track'][k]}")
            elif seen[i]:
                if seen[i] == 1:
                    dups.add(uid)
                seen[i] = 2
            else:
                seen[i] = 1
                vals[i] = v
    if n_content == 0 and n_bad == 0:
        raise RcbError(f"{p}: empty score file; expected {len(sel)} lines `utt_id<TAB>score` for {where}")

    problems: list[str] = []
    t = tally
    if t["malformed"].n:
        problems.append(
            f"{t['malformed'].n} malformed line(s) (need 2 fields), at line(s) {t['malformed'].shown()}"
        )
    if t["too_long"].n:
        problems.append(
            f"{t['too_long'].n} line(s) longer than {MAX_LINE_BYTES} bytes, at line(s) {t['too_long'].shown()}"
        )
    if t["not_utf8"].n:
        problems.append(f"{t['not_utf8'].n} line(s) not UTF-8 text, at line(s) {t['not_utf8'].shown()}")
    if t["nonnum"].n:
        problems.append(f"{t['nonnum'].n} non-numeric score(s): {t['nonnum'].shown()}")
    if t["nonfinite"].n:
        problems.append(f"{t['nonfinite'].n} non-finite score(s) (NaN/inf): {t['nonfinite'].shown()}")
    if dups.n:
        problems.append(f"{dups.n} duplicate id(s): {dups.shown()}")
    if extra.n:
        problems.append(_extra_message(extra, extra_known, places, full is not None, where))
    if not all(seen):
        missing = ids[np.frombuffer(bytes(seen), dtype=np.uint8) == 0]
        problems.append(
            f"{missing.size} of {len(sel)} id(s) of {where} missing: "
            + ", ".join(map(str, missing[:SHOW]))
            + (", ..." if missing.size > SHOW else "")
        )
    if problems:
        raise RcbError(
            f"{p} does not match {where} of {sel.path}:\n  - " + "\n  - ".join(problems) + "\n"
            "Fix: score every protocol row of that selection exactly once with a finite number."
        )
    return ScoreFile(p, h.hexdigest(), np.asarray(vals, dtype=np.float64))


def _read_compact(p: Path, sel: Protocol) -> ScoreFile | None:
    """The :class:`ScoreFile` of a plain, valid score file, read by Arrow; None for anything the
    line-by-line reader might read differently or refuse (then it reads the file and words the
    error): non-ASCII or control bytes other than TAB and newline, CRs, lines over
    :data:`MAX_LINE_BYTES`, a row without exactly two TAB-separated fields, spaces around a field, a
    header other than ``utt_id<TAB>score``, a score Arrow cannot parse or that is not finite, and
    empty, duplicate, extra or missing ids."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyarrow import csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    try:
        data = p.read_bytes()
    except OSError:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0 or buf.max() >= 0x80 or ((buf < 0x20) & (buf != 9) & (buf != 10)).any():
        return None
    nl = np.flatnonzero(buf == 10)
    spans = np.diff(np.concatenate(([-1], nl, [buf.size])))  # line lengths + 1
    if spans.max() - 1 > MAX_LINE_BYTES:
        return None
    first = data[: nl[0]] if nl.size else data
    skip = 1 if first == HEADER.encode() else 0
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=["u", "s"], skip_rows=skip, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, escape_char=False, newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={"u": pa.string(), "s": pa.string()}, strings_can_be_null=False,
            ),
        )  # fmt: skip
        uid, raw = table.column("u").combine_chunks(), table.column("s").combine_chunks()
        if len(uid) != len(sel) or len(uid) == 0:
            return None
        for col in (uid, raw):
            if pc.any(pc.or_(pc.starts_with(col, " "), pc.ends_with(col, " "))).as_py():
                return None
        if pc.any(pc.equal(pc.utf8_length(uid), 0)).as_py():
            return None
        vals = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not np.isfinite(vals).all():
        return None
    want = sel.cols.arrow("utt_id") if isinstance(sel.cols, Columns) else pa.array(sel.cols["utt_id"])
    pos = pc.index_in(uid, value_set=want)
    if pos.null_count:
        return None
    pos = pos.to_numpy(zero_copy_only=False)
    if not (np.bincount(pos, minlength=len(sel)) == 1).all():
        return None
    out = np.empty(len(sel), dtype=np.float64)
    out[pos] = vals
    return ScoreFile(p, hashlib.sha256(data).hexdigest(), out)


def _extra_message(extra: _Tally, known: int, places: set[str], have_full: bool, where: str) -> str:
    msg = f"{extra.n} id(s) not in {where}: {extra.shown()}"
    if not have_full:
        return msg
    if known:
        msg += (
            f" ({known} of them are protocol rows of {', '.join(sorted(places)[:4])}: wrong split or track?)"
        )
    if known < extra.n:
        msg += f" ({extra.n - known} are not in the protocol at all: another corpus version?)"
    return msg


def bad_ids(ids: Iterable[str]) -> list[str]:
    """The ids (as given) that cannot be a score-file id: empty, or holding a TAB or line break."""
    return [u for u in map(str, ids) if not u or BAD_CELL_CHARS & set(u)]


def score_text(ids: Iterable[str], scores: Iterable[float]) -> str:
    """A score file's text: the header, then ``<id><TAB><repr(float(score))>`` per id, in order.

    RcbError when an id is empty or holds a TAB or line break (it would split a line), or when
    ``ids`` and ``scores`` differ in length.
    """
    ids = [str(u) for u in ids]
    vals = [float(s) for s in scores]
    if len(ids) != len(vals):
        raise RcbError(f"internal: {len(ids)} ids but {len(vals)} scores for a score file")
    bad = bad_ids(ids)
    if bad:
        shown = ", ".join(ascii(u) for u in bad[:SHOW]) + (", ..." if len(bad) > SHOW else "")
        raise RcbError(
            f"{len(bad)} id(s) are empty or hold a TAB or line break, which would break the score file "
            f"(one utt_id<TAB>score per line): {shown}; rename them"
        )
    return "\n".join([HEADER, *(f"{u}\t{v!r}" for u, v in zip(ids, vals, strict=True))]) + "\n"


def write_scores(path: str | os.PathLike, ids: Iterable[str], scores: Iterable[float]) -> Path:
    """Write a score file atomically (temp file + rename: never a partial file under ``path``).

    ``ids`` and ``scores`` are (n,); see :func:`score_text` for the format and what is refused
    (checked before anything is written). Returns ``path``.
    """
    from ..audio import atomic_write_text  # audio pulls in soundfile/scipy: only writers need it

    text = score_text(ids, scores)
    p = Path(path)
    atomic_write_text(p, text)
    return p
