"""Conditions for per-condition metrics: one per value of a protocol column (or an SNR/duration bucket)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..contract import ROLE_LABEL, ROLES, Protocol, column_codes, column_eq, numeric_column, track_order
from ..errors import RcbError

# Virtual columns derived from numeric ones.
BUCKETED = {"snr_bucket": ("snr_db", "dB"), "duration_bucket": ("duration", "s")}
# Breakdowns when none are asked for; those whose column a protocol lacks are skipped with a note.
DEFAULT_BREAKDOWN = ("track", "system", "language", "codec", "snr_bucket", "duration_bucket")
# Added to the defaults when the protocol has the column, without a note when it does not
# (protocols before corpus version 2 have no role column, and that is not worth a warning).
DEFAULT_IF_PRESENT = ("role",)
# Robocall roles, each scored against the live calls of its track (see role_conditions).
ROBOCALL_ROLES = tuple(r for r in ROLES if ROLE_LABEL[r] == "robocall")
ROLE_PAIRING = "role-vs-live"


@dataclass(frozen=True)
class Condition:
    """One condition: ``mask`` (n,) over the evaluated rows; ``pairing`` says how the classes were formed.

    pairing: "both" (both classes have the value), "robocall-vs-all-human" (the value only occurs in
    robocall rows, e.g. a TTS system, so it is scored against every human row, as ASVspoof does per
    attack), "human-vs-all-robocall", or "role-vs-live" (a robocall role against every live call
    of the same track, see :func:`role_conditions`).
    """

    column: str
    value: str
    mask: np.ndarray
    pairing: str


def bucket_labels(values: np.ndarray, edges: Sequence[float], unit: str, missing: str) -> np.ndarray:
    """Label each of ``values`` (n,) with its bucket between sorted ``edges``; NaN gets ``missing``."""
    e = sorted(float(x) for x in edges)

    def fmt(x: float) -> str:
        return f"{x:g}"

    names = [f"<{fmt(e[0])}{unit}"] if e else ["all"]
    names += [f"{fmt(a)}-{fmt(b)}{unit}" for a, b in pairwise(e)]
    if e:
        names.append(f">={fmt(e[-1])}{unit}")
    idx = np.searchsorted(np.asarray(e), np.nan_to_num(values), side="right")
    out = np.asarray(names, dtype=object)[idx]
    out[np.isnan(values)] = missing
    return out.astype(str)


def available_columns(proto: Protocol) -> list[str]:
    """Columns ``proto`` can be broken down by: its own, plus the buckets whose numeric column it has."""
    return [*proto.cols, *(b for b, (src, _) in BUCKETED.items() if src in proto.cols)]


def breakdown_columns(proto: Protocol, requested: Sequence[str] | None) -> tuple[list[str], list[dict]]:
    """(columns to break down by, skipped ``[{"column", "reason"}]``).

    ``requested`` None means :data:`DEFAULT_BREAKDOWN`, minus the columns ``proto`` lacks (each
    skipped with its reason: a protocol with only the required columns is still evaluated). An
    explicit list must name available columns only: RcbError listing them otherwise.
    """
    have = available_columns(proto)
    if requested is None:
        cols, skipped = [], []
        for c in DEFAULT_BREAKDOWN:
            if c in have:
                cols.append(c)
            else:
                src = BUCKETED[c][0] if c in BUCKETED else c
                skipped.append({"column": c, "reason": f"the protocol has no {src} column"})
        cols += [c for c in DEFAULT_IF_PRESENT if c in have]
        return cols, skipped
    missing = [c for c in requested if c not in have]
    if missing:
        raise RcbError(
            f"breakdown column(s) {', '.join(map(repr, missing))} not in {proto.path}; choose from "
            f"{', '.join(have)} (or leave breakdown= unset for the defaults the protocol has)"
        )
    return list(dict.fromkeys(requested)), []


def column_values(
    proto: Protocol, column: str, snr_edges: Sequence[float], dur_edges: Sequence[float]
) -> np.ndarray:
    """The (n,) str values of ``column``: a protocol column or one of ``snr_bucket``/``duration_bucket``."""
    if column in BUCKETED:
        src, unit = BUCKETED[column]
        if src not in proto.cols:
            raise RcbError(f"{proto.path}: breakdown {column} needs column {src}, which the protocol lacks")
        edges = snr_edges if column == "snr_bucket" else dur_edges
        return bucket_labels(
            numeric_column(proto, src), edges, unit, "clean" if src == "snr_db" else "unknown"
        )
    if column not in proto.cols:
        have = ", ".join(available_columns(proto))
        raise RcbError(f"breakdown column {column!r} is not in {proto.path}; choose from {have}")
    return proto.cols[column]


def conditions(
    proto: Protocol, columns: Sequence[str], snr_edges: Sequence[float], dur_edges: Sequence[float]
) -> list[Condition]:
    """Every (column, value) condition over the rows of ``proto``, in column then value order.

    A value held by every row (a column with one value) is skipped: it is the pooled condition.
    Values that pair with the whole other class (a TTS system, "human" in the system column) are
    skipped when they would equal the pooled condition too.
    """
    robo = proto.is_robocall
    out = []
    for col in columns:
        if col == "role":
            out += role_conditions(proto)
            continue
        if col in BUCKETED:
            values, codes = np.unique(column_values(proto, col, snr_edges, dur_edges), return_inverse=True)
        else:
            if col not in proto.cols:
                column_values(proto, col, snr_edges, dur_edges)  # raises the error naming the column
            values, codes = column_codes(proto.cols, col)  # ascending, as sorted(set(values))
        for k, v in enumerate(values.tolist()):
            sel = codes.ravel() == k
            if sel.all():
                continue  # the pooled condition, reported already
            has_r, has_h = bool((sel & robo).any()), bool((sel & ~robo).any())
            if has_r and has_h:
                out.append(Condition(col, v, sel, "both"))
            elif has_r:
                if not (robo & ~sel).any():
                    continue  # every robocall row: the pooled condition
                out.append(Condition(col, v, sel | ~robo, "robocall-vs-all-human"))
            else:
                if not (~robo & ~sel).any():
                    continue
                out.append(Condition(col, v, sel | robo, "human-vs-all-robocall"))
    return out


def role_conditions(proto: Protocol) -> list[Condition]:
    """One condition per robocall role present: its rows against every live call of the same track.

    Not the generic split by value: that would pair a role with the human rows of every track, and
    drop a role that is the whole robocall class (the pooled condition), so the role split would
    change shape from one protocol to the next. Pairing within a track keeps each track's design
    (the campaign track cuts each live call to the length of the campaign call it is paired with). Values are the role
    (``tts``) when the rows hold one track, else ``<track>:<role>``. A role whose track has no live
    call is left out (no human trials to score it against).
    """
    robo = proto.is_robocall
    track_values, track_codes = column_codes(proto.cols, "track")
    tracks = track_order(track_values.tolist())  # report order, whatever the row order
    is_role = {r: column_eq(proto.cols, "role", r) for r in ROBOCALL_ROLES}
    out = []
    for t in tracks:
        in_t = track_codes == track_values.tolist().index(t)
        live = in_t & ~robo
        if not live.any():
            continue
        for r in ROBOCALL_ROLES:
            sel = in_t & is_role[r]
            if sel.any():
                value = r if len(tracks) == 1 else f"{t}:{r}"
                out.append(Condition("role", value, sel | live, ROLE_PAIRING))
    return out


def cluster_ids(proto: Protocol, human_key: str, robocall_key: str) -> np.ndarray:
    """(n,) bootstrap cluster id per row: ``human_key`` columns for human rows, ``robocall_key`` for robocall.

    Keys may join columns with '+', e.g. ``system+family``.
    """

    def join(key: str, prefix: str) -> np.ndarray:
        """(n,) ``prefix`` + the key's columns joined with '|', built from each column's distinct values."""
        parts = key.split("+")
        for c in parts:
            if c not in proto.cols:
                raise RcbError(f"bootstrap cluster column {c!r} is not in {proto.path}")
        values, codes = column_codes(proto.cols, parts[0])
        names = values.astype(object)
        for c in parts[1:]:
            v2, c2 = column_codes(proto.cols, c)
            pair, codes = np.unique(codes * v2.size + c2, return_inverse=True)
            names = names[pair // v2.size] + "|" + v2.astype(object)[pair % v2.size]
            codes = codes.ravel()
        return (prefix + names).astype(str)[codes] if names.size else np.empty(codes.size, dtype=str)

    robo = proto.is_robocall
    ids = np.where(robo, join(robocall_key, "r:"), join(human_key, "h:"))
    return ids.astype(str)
