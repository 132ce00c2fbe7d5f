"""protocol.tsv, the benchmark's one table: the validated reader and the writer.

Every module that reads a protocol (corpus audit/verify/export, training, scoring, evaluation,
leaderboard) goes through :func:`read_protocol`, so they all accept and refuse the same files.
A protocol may come from anyone (an entry, a user's own corpus): the reader checks the header,
every row's field count, labels, splits, tracks and unique ids, and names file and line.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RcbError
from .vocab import (
    BAD_CELL_CHARS,
    COLUMN_VALUES,
    MISSING_VALUES,
    NO_CAMPAIGN,
    PROTOCOL_COLUMNS,
    REQUIRED_COLUMNS,
    ROLE_LABEL,
    SPLIT_TRACKS,
    SPLITS,
)

SHOW = 5  # offenders listed per problem
_FIX = "rebuild it with `rcb corpus` (or pass the corpus's own protocol.tsv)"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


# Protocols at least this large are read by the compact reader (:func:`_read_compact`); smaller ones,
# and any file it does not accept, by :func:`parse_protocol`, the reference that words every error.
COMPACT_READ_BYTES = 1 << 20


class Columns(Mapping[str, np.ndarray]):
    """A protocol's columns held compactly: ``cols[name]`` builds the (n,) str array when read.

    Each column is kept as dictionary codes (int32) into its distinct values, or, when nearly every
    value is distinct (ids, paths), as an Arrow string array; :meth:`subset` keeps a row index, not
    copies. The 1M-row protocol of benchmarks/eval_e2e.py (all 19 columns) would take 1.2 GB as
    str arrays (numpy stores 4 bytes per character, padded to the longest cell); kept this way a
    whole ``rcb eval`` of it peaks under 0.9 GB. Reading a column
    costs a gather (a few ms per 1M rows for coded columns): cache it in a local when reused.
    """

    def __init__(self, store: dict[str, tuple], n: int, index: np.ndarray | None = None) -> None:
        self._store, self._n, self._index = store, n, index

    def __getitem__(self, name: str) -> np.ndarray:
        kind, *data = self._store[name]
        if kind == "codes":
            uniques, codes = data
            return uniques[codes if self._index is None else codes[self._index]]
        arr = data[0]
        if self._index is not None:
            arr = arr.take(self._index)
        return arr.to_numpy(zero_copy_only=False).astype(str)

    def __iter__(self) -> Iterator[str]:
        return iter(self._store)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def rows(self) -> int:
        return self._n if self._index is None else int(self._index.size)

    def subset(self, mask: np.ndarray) -> Columns:
        base = np.arange(self._n) if self._index is None else self._index
        return Columns(self._store, self._n, base[mask])

    def factorize(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct values (K,), code of each row (n,)) of a coded column (K may count values no
        row of a subset holds); None for a column kept as strings."""
        kind, *data = self._store[name]
        if kind != "codes":
            return None
        uniques, codes = data
        return uniques, codes if self._index is None else codes[self._index]

    def equals(self, name: str, value: str) -> np.ndarray:
        """(n,) ``cols[name] == value`` without building the str array."""
        f = self.factorize(name)
        if f is not None:
            return (f[0] == value)[f[1]]
        import pyarrow.compute as pc

        arr = self._store[name][1]
        arr = arr if self._index is None else arr.take(self._index)
        return pc.equal(arr, value).to_numpy(zero_copy_only=False)

    def arrow(self, name: str):
        """Column ``name`` as an Arrow string array (the rows of this subset)."""
        import pyarrow as pa

        kind, *data = self._store[name]
        if kind == "codes":
            return pa.array(self[name])
        return data[0] if self._index is None else data[0].take(self._index)

    def all_distinct(self, name: str) -> bool:
        """True when no two rows share a value of ``name`` (known from reading, for string columns)."""
        kind, *data = self._store[name]
        return kind == "arrow" and data[1] == self._n


def column_codes(cols: Mapping[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values of column ``name`` held by some row, ascending (K,), code of each row (n,)):
    ``np.unique(cols[name], return_inverse=True)``, from the codes when ``cols`` keeps them."""
    f = cols.factorize(name) if isinstance(cols, Columns) else None
    if f is None:
        u, inv = np.unique(cols[name], return_inverse=True)
        return u, inv.ravel()
    uniques, codes = f
    held = np.bincount(codes, minlength=uniques.size) > 0
    order = np.argsort(uniques, kind="stable")
    order = order[held[order]]
    rank = np.full(uniques.size, -1, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return uniques[order], rank[codes]


def column_eq(cols: Mapping[str, np.ndarray], name: str, value: str) -> np.ndarray:
    """(n,) bool ``cols[name] == value``."""
    return cols.equals(name, value) if isinstance(cols, Columns) else cols[name] == value


def column_isin(cols: Mapping[str, np.ndarray], name: str, values: Sequence[str]) -> np.ndarray:
    """(n,) bool ``np.isin(cols[name], values)``."""
    u, codes = column_codes(cols, name)
    return np.isin(u, values)[codes]


@dataclass
class Protocol:
    """A protocol table: ``cols[name]`` is an (n,) str array per column, in header order;
    ``manifest`` (the corpus's manifest.json) may be empty; ``lines`` (n,) the file line of each row."""

    path: Path
    sha256: str
    cols: Mapping[str, np.ndarray]  # a dict, or :class:`Columns` from :func:`read_protocol`
    manifest: dict = field(default_factory=dict)
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        if isinstance(self.cols, Columns):
            return self.cols.rows
        return int(self.cols["utt_id"].size)

    @property
    def columns(self) -> list[str]:
        """Column names in header order."""
        return list(self.cols)

    @property
    def corpus(self) -> dict[str, str | None]:
        """Corpus name and version from the manifest (None when there is no manifest)."""
        return {"name": self.manifest.get("name"), "version": self.manifest.get("version")}

    def subset(self, mask: np.ndarray) -> Protocol:
        """The rows where ``mask`` (n,) is True (same path, sha and manifest)."""
        lines = None if self.lines is None else self.lines[mask]
        if isinstance(self.cols, Columns):
            return Protocol(self.path, self.sha256, self.cols.subset(mask), self.manifest, lines)
        return Protocol(
            self.path, self.sha256, {k: v[mask] for k, v in self.cols.items()}, self.manifest, lines
        )

    def select(self, split: str, track: str | None = None) -> Protocol:
        """Rows of ``split`` (and ``track`` when given); RcbError when that leaves nothing."""
        if split not in SPLITS:
            raise RcbError(f"split={split!r} is not one of {', '.join(SPLITS)}")
        mask = column_eq(self.cols, "split", split)
        if track not in (None, "", "all"):
            mask &= column_eq(self.cols, "track", track)
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
        return column_eq(self.cols, "label", "robocall")

    def rows(self) -> list[dict[str, str]]:
        """One ``{column: value}`` dict per row, in file order (for code that walks rows)."""
        names = self.columns
        cells = zip(*(self.cols[c].tolist() for c in names), strict=True)
        return [dict(zip(names, vals, strict=True)) for vals in cells]

    def eval_tracks(self) -> list[str]:
        """The eval-split tracks that hold both classes (metrics need both), in EVAL_TRACKS order."""
        ev = self.cols["split"] == "eval"
        return [
            t
            for t in SPLIT_TRACKS["eval"]
            if len(set(self.cols["label"][ev & (self.cols["track"] == t)])) == 2
        ]


def resolve_protocol_path(path: str | os.PathLike) -> Path:
    """Accept a protocol file or a corpus directory holding ``protocol.tsv``."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "protocol.tsv"
    if not p.is_file():
        raise RcbError(
            f"protocol {p} not found; pass protocol=CORPUS_DIR/protocol.tsv (built by `rcb corpus`), "
            "or build a corpus with `rcb corpus out=DIR`"
        )
    return p


def _decode(p: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a BOM some editors write
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start : min(e.end, e.start + 4)].hex(" ")
        raise RcbError(
            f"{p}:{line}: not UTF-8 (byte(s) {bad} at offset {e.start}); a protocol is UTF-8 text: {_FIX}, "
            f"or re-encode it, e.g. `iconv -t UTF-8 {p}`"
        ) from None


def _where(lines: np.ndarray, mask: np.ndarray, values: np.ndarray | None = None) -> str:
    """``line 4 (x), line 9 (y), ...``: the first offenders of ``mask``."""
    idx = np.flatnonzero(mask)
    shown = [f"line {lines[i]}" + ("" if values is None else f" ({str(values[i])!r})") for i in idx[:SHOW]]
    return ", ".join(shown) + (", ..." if idx.size > SHOW else "")


def parse_protocol(p: Path, text: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(columns, line number (n,) of each row) of a protocol's text; RcbError naming ``p`` and the line."""
    numbered = [(i + 1, ln.removesuffix("\r")) for i, ln in enumerate(text.split("\n"))]
    numbered = [(i, ln) for i, ln in numbered if ln]
    if not numbered:
        raise RcbError(f"{p}: empty protocol; {_FIX}")
    header = numbered[0][1].split("\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RcbError(
            f"{p}: header lacks column(s) {', '.join(missing)} (a protocol needs {', '.join(REQUIRED_COLUMNS)}); "
            "is this a robocall-bench protocol.tsv?"
        )
    dup = sorted({c for c in header if header.count(c) > 1 or not c})
    if dup:
        raise RcbError(
            f"{p}:{numbered[0][0]}: header has empty or repeated column name(s) {dup[:SHOW]}; {_FIX}"
        )
    body = numbered[1:]
    rows = [ln.split("\t") for _, ln in body]
    ragged = [i for (i, _), r in zip(body, rows, strict=True) if len(r) != len(header)]
    if ragged:
        raise RcbError(
            f"{p}: {len(ragged)} row(s) do not have {len(header)} fields (TAB-separated), first at line(s) "
            f"{ragged[:SHOW]}; {_FIX}"
        )
    table = np.array(rows, dtype=object).reshape(len(rows), len(header))
    cols = {name: table[:, k].astype(str) for k, name in enumerate(header)}
    return cols, np.array([i for i, _ in body], dtype=np.int64)


def _line_spans(data: bytes, chunk: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets (L,) of the lines of ``data`` split at b"\\n", as ``data.split``."""
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.concatenate(
        [np.flatnonzero(buf[i : i + chunk] == 10) + i for i in range(0, buf.size, chunk)] or [[]]
    )
    nl = nl.astype(np.int64)
    return np.concatenate(([0], nl + 1)), np.concatenate((nl, [buf.size]))


def _read_compact(data: bytes) -> tuple[list[str], list, np.ndarray] | None:
    """(header, Arrow string column per header name, line number (n,) of each row) of a well-formed
    protocol, read by Arrow without a Python object per cell (:func:`_encode` makes the
    :class:`Columns`); None for anything else (bad header, ragged rows, non-UTF-8 bytes, a CR
    anywhere), which :func:`parse_protocol` then reads to word the error."""
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    if b"\r" in data:  # CRs: parse_protocol strips them line by line; Arrow would break lines at them
        return None
    starts, ends = _line_spans(data)
    keep = np.flatnonzero(ends > starts)  # parse_protocol drops empty lines
    if keep.size < 2:
        return None
    h0, h1 = int(starts[keep[0]]), int(ends[keep[0]])
    try:
        header = data[h0:h1].decode("utf-8").removeprefix("\ufeff").split("\t")
    except UnicodeDecodeError:
        return None
    if any(c not in header for c in REQUIRED_COLUMNS) or len(set(header)) != len(header) or not all(header):
        return None
    names = [f"c{k}" for k in range(len(header))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(data)[h1:]),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, escape_char=False, newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, check_utf8=True,
                quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    lines = keep[1:] + 1  # 1-based line numbers of the rows
    if table.num_rows != lines.size:
        return None
    return header, [table.column(k) for k in names], lines


def _encode(header: list[str], columns: list, lines: np.ndarray) -> tuple[Columns, np.ndarray]:
    """:class:`Columns` from the Arrow columns of :func:`_read_compact` (consumed one by one)."""
    import pyarrow.compute as pc

    store: dict[str, tuple] = {}
    n = int(lines.size)
    columns.reverse()
    for name in header:
        col = columns.pop().combine_chunks()
        enc = pc.dictionary_encode(col)
        k = len(enc.dictionary)
        if k * 2 > n:  # near-unique: the strings themselves are the compact form
            store[name] = ("arrow", col, k)
        else:
            uniques = enc.dictionary.to_numpy(zero_copy_only=False).astype(str)
            store[name] = ("codes", uniques, enc.indices.to_numpy(zero_copy_only=False).astype(np.int32))
        del enc, col
    return Columns(store, n), lines


def check_protocol(p: Path, cols: Mapping[str, np.ndarray], lines: np.ndarray) -> None:
    """RcbError naming ``p`` and the first lines for bad labels/splits/tracks and empty or duplicate ids."""
    for name, allowed in COLUMN_VALUES.items():
        if name in cols:
            bad = ~column_isin(cols, name, allowed)
            if bad.any():
                raise RcbError(
                    f"{p}: column {name} has value(s) {sorted(set(cols[name][bad].tolist()))[:SHOW]} at "
                    f"{_where(lines, bad)}; expected {', '.join(allowed)}"
                )
    for split, allowed in SPLIT_TRACKS.items():
        bad = column_eq(cols, "split", split) & ~column_isin(cols, "track", allowed)
        if bad.any():
            raise RcbError(
                f"{p}: {split} rows with track value(s) {sorted(set(cols['track'][bad].tolist()))[:SHOW]} at "
                f"{_where(lines, bad)}; tracks of split {split}: {', '.join(allowed)}"
            )
    if "role" in cols:
        roles, codes = column_codes(cols, "role")
        want = np.array([ROLE_LABEL.get(r, "") for r in roles.tolist()] + [""], dtype=str)[codes]
        bad = want != cols["label"]
        if bad.any():
            raise RcbError(
                f"{p}: role and label disagree at {_where(lines, bad, cols['role'])}; role live is label human, "
                f"roles tts and recorded are label robocall"
            )
        live = column_eq(cols, "role", "live")
        for name in ("campaign", "message"):
            if name in cols:
                bad = live != column_eq(cols, name, NO_CAMPAIGN)
                if bad.any():
                    raise RcbError(
                        f"{p}: column {name} must be {NO_CAMPAIGN!r} exactly for live calls; not so at "
                        f"{_where(lines, bad, cols[name])}"
                    )
    empty = column_eq(cols, "utt_id", "")
    if empty.any():
        raise RcbError(f"{p}: empty utt_id at {_where(lines, empty)}; {_FIX}")
    if isinstance(cols, Columns) and cols.all_distinct("utt_id"):
        return
    ids = cols["utt_id"]
    uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        again = np.isin(ids, dup)
        again[first[counts > 1]] = False  # point at the repeats, not the first occurrences
        raise RcbError(
            f"{p}: {dup.size} duplicate utt_id(s), e.g. {dup[:SHOW].tolist()}, repeated at {_where(lines, again)}; "
            "the protocol is corrupt"
        )


def read_protocol(path: str | os.PathLike, require: Sequence[str] = ()) -> Protocol:
    """Read and validate a protocol TSV (header + rows) and the ``manifest.json`` beside it, if any.

    ``path``: the file or a corpus folder holding ``protocol.tsv``. ``require``: columns needed on
    top of :data:`REQUIRED_COLUMNS` (e.g. ``("path",)`` to read audio). RcbError naming the file
    (and line) for a missing file or column, non-UTF-8 bytes, ragged rows, a label, split or track
    outside the vocabulary, and empty or duplicate ``utt_id``s.
    """
    p = resolve_protocol_path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise RcbError(f"protocol {p}: cannot be read ({e.strerror}); check its permissions") from None
    sha = hashlib.sha256(data).hexdigest()
    parsed = _read_compact(data) if len(data) >= COMPACT_READ_BYTES else None
    if parsed is None:
        cols, lines = parse_protocol(p, _decode(p, data))
        del data
    else:
        del data  # the file's bytes (its sha256 is taken) outweigh its columns: free them first
        cols, lines = _encode(*parsed)
        del parsed
    missing = [c for c in require if c not in cols]
    if missing:
        raise RcbError(f"{p}: header lacks column(s) {', '.join(missing)}, needed here; {_FIX}")
    check_protocol(p, cols, lines)
    return Protocol(p, sha, cols, read_manifest(p.parent), lines)


def read_manifest(corpus: Path) -> dict[str, Any]:
    """``corpus/manifest.json`` as a dict ({} when absent); RcbError when it is not JSON."""
    mpath = corpus / "manifest.json"
    if not mpath.is_file():
        return {}
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RcbError(f"{mpath}: not valid JSON ({e}); regenerate the corpus manifest") from e
    if not isinstance(manifest, dict):
        raise RcbError(f"{mpath}: not a JSON object; regenerate the corpus manifest")
    return manifest


def protocol_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """TSV text of ``rows`` (a header, then one line per row; None -> ""); RcbError for a cell holding a
    TAB or line break, which would shift every later field or line.

    ``columns`` defaults to the :data:`PROTOCOL_COLUMNS` that the rows use (the required ones always),
    in that order, so rows written before a column existed keep their header.
    """
    rows = list(rows)
    if columns is None:
        have = set().union(*(r.keys() for r in rows)) if rows else set()
        columns = [c for c in PROTOCOL_COLUMNS if c in have or c in REQUIRED_COLUMNS]
    out = ["\t".join(columns) + "\n"]
    for r in rows:
        vals = ["" if r.get(c) is None else str(r[c]) for c in columns]
        if any(BAD_CELL_CHARS & set(v) for v in vals):
            raise RcbError(f"internal: protocol value with a TAB or line break in row {r.get('utt_id')!r}")
        out.append("\t".join(vals) + "\n")
    return "".join(out)


def write_protocol(
    path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> str:
    """Write ``rows`` as ``path`` atomically (temp file + rename); returns the sha256 of the bytes."""
    from ..audio import atomic_write_bytes  # audio pulls in soundfile/scipy: only writers need it

    data = protocol_text(rows, columns).encode("utf-8")
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def numeric_column(proto: Protocol, name: str) -> np.ndarray:
    """Column ``name`` as float (n,); empty or '-' cells become NaN. RcbError naming the line otherwise."""
    if isinstance(proto.cols, Columns) and proto.cols.factorize(name) is not None:
        u, codes = column_codes(proto.cols, name)  # convert each distinct value once
        ok = ~np.isin(u, MISSING_VALUES)
        vals = np.full(u.size, np.nan)
        try:
            vals[ok] = u[ok].astype(np.float64)
            return vals[codes]
        except ValueError:
            pass  # the row-by-row path below names the lines
    raw = proto.cols[name]
    out = np.full(raw.size, np.nan)
    ok = ~np.isin(raw, MISSING_VALUES)
    try:
        out[ok] = raw[ok].astype(np.float64)
    except ValueError:
        bad = np.zeros(raw.size, dtype=bool)
        for i in np.flatnonzero(ok):
            try:
                float(raw[i])
            except ValueError:
                bad[i] = True
        lines = proto.lines if proto.lines is not None else np.arange(raw.size) + 2
        raise RcbError(
            f"{proto.path}: column {name} has non-numeric value(s) at {_where(lines, bad, raw)}"
        ) from None
    return out
