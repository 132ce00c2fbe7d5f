"""Cluster files (``utt_id<TAB>cluster``, header line first): the one writer and the one reader.

A set-level system (``rcb campaign``) may say which calls it believes carry the same audio: one
line per call, the cluster a free-form label (calls with the same label form one cluster, a label
seen once is a singleton). Evaluation compares them with the protocol's ``campaign`` column.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import RcbError
from .vocab import BAD_CELL_CHARS

HEADER = "utt_id\tcluster"
SHOW = 5
MAX_BYTES = 1 << 30  # a cluster file is two short cells per call: a bigger one is not one


def cluster_text(ids: Iterable[str], clusters: Iterable[str]) -> str:
    """TSV text (header + one ``utt_id<TAB>cluster`` line per call); RcbError for a cell holding a TAB
    or line break."""
    out = [HEADER + "\n"]
    for i, c in zip(ids, clusters, strict=True):
        i, c = str(i), str(c)
        if not i or not c or BAD_CELL_CHARS & set(i + c):
            raise RcbError(f"cluster file: id {i!r} or cluster {c!r} is empty or holds a TAB or line break")
        out.append(f"{i}\t{c}\n")
    return "".join(out)


def write_clusters(path: str | os.PathLike, ids: Iterable[str], clusters: Iterable[str]) -> Path:
    """Write a cluster file atomically (temp file + rename); returns its path."""
    from ..audio import atomic_write_text  # soundfile/scipy: only writers need them

    p = Path(path)
    atomic_write_text(p, cluster_text(ids, clusters))
    return p


def read_clusters(path: str | os.PathLike, ids: np.ndarray) -> np.ndarray:
    """Cluster labels (n,) str aligned to ``ids`` (n,) (the protocol selection being evaluated).

    RcbError naming the file and the lines for: a missing or unreadable file, non-UTF-8 text, lines
    without exactly two TAB-separated fields, repeated ids, ids not in the selection, and selection
    ids the file does not cover.
    """
    p = Path(path)
    fix = "write one `utt_id<TAB>cluster` line per call of the track (e.g. `rcb campaign ... clusters=FILE`)"
    if not p.is_file():
        raise RcbError(f"clusters={p}: no such file; {fix}")
    if p.stat().st_size > MAX_BYTES:
        raise RcbError(f"clusters={p}: larger than {MAX_BYTES >> 20} MiB; {fix}")
    try:
        text = p.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise RcbError(f"clusters={p}: not UTF-8 (byte offset {e.start}); {fix}") from None
    except OSError as e:
        raise RcbError(f"clusters={p}: cannot be read ({e.strerror})") from None
    want = {str(u): k for k, u in enumerate(ids.tolist())}
    out = np.full(len(want), "", dtype=object)
    bad, extra, dup = [], [], []
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line or (n == 1 and line == HEADER):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            bad.append(n)
            continue
        k = want.get(parts[0])
        if k is None:
            extra.append(f"line {n} ({parts[0]!r})")
        elif out[k]:
            dup.append(f"line {n} ({parts[0]!r})")
        else:
            out[k] = parts[1]
    problems = []
    if bad:
        problems.append(f"{len(bad)} line(s) without two TAB-separated fields, e.g. line(s) {bad[:SHOW]}")
    if dup:
        problems.append(f"{len(dup)} repeated id(s): {', '.join(dup[:SHOW])}")
    if extra:
        problems.append(f"{len(extra)} id(s) not in the evaluated track: {', '.join(extra[:SHOW])}")
    missing = [u for u, k in want.items() if not out[k]]
    if missing:
        problems.append(f"{len(missing)} call(s) of the track have no cluster, e.g. {missing[:SHOW]}")
    if problems:
        raise RcbError(f"clusters={p}: " + "; ".join(problems) + f". {fix}")
    return out.astype(str)
