"""Track names: the protocol's tracks, the ``early-<N>s`` crops of the main track, and their order.

An ``early-<N>s`` track scores the main ``eval`` track's rows from their first N seconds only
(streaming detection). Its name is made and parsed here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .vocab import EVAL_TRACKS, MAIN_TRACK, SPLITS

EARLY_PREFIX = "early-"
_EARLY_RE = re.compile(r"^early-([0-9]+(?:\.[0-9]+)?)s$")
# What a leaderboard entry may submit: a registered eval track or early-<N>s with N in [1, 99.9],
# one decimal at most (a file name and a table header, so kept short).
LEADERBOARD_TRACK_RE = re.compile(
    "^(" + "|".join(map(re.escape, EVAL_TRACKS)) + r"|early-(?:[1-9][0-9]?)(?:\.[0-9])?s)$"
)


def early_key(seconds: float) -> str:
    """``2`` for 2.0 s, ``1.5`` for 1.5 s: the seconds as written in track names and metrics.json keys."""
    return f"{float(seconds):g}"


def early_track(seconds: float) -> str:
    """``early-2s``: the track name for the first ``seconds`` of the main track."""
    return f"{EARLY_PREFIX}{early_key(seconds)}s"


def parse_early(track: str) -> float | None:
    """Seconds of an ``early-<N>s`` track name, else None (also for a malformed ``early-...``)."""
    m = _EARLY_RE.match(track)
    return float(m.group(1)) if m else None


def is_early(track: str) -> bool:
    """True for a well-formed ``early-<N>s`` track name."""
    return parse_early(track) is not None


def track_selection(track: str) -> tuple[str, str | None]:
    """(split, protocol track or None for the whole split) whose rows a named track scores.

    ``early-<N>s`` reuses the main eval track's rows; ``train``/``dev`` are whole splits; any
    other name is an eval-split track.
    """
    if is_early(track):
        return "eval", MAIN_TRACK
    if track in SPLITS and track != "eval":
        return track, None
    return "eval", track


def track_order(tracks: Iterable[str]) -> list[str]:
    """train, dev, the eval tracks (EVAL_TRACKS order), early-<N>s by seconds, then the rest sorted."""
    have = set(tracks)
    fixed = [t for t in ("train", "dev", *EVAL_TRACKS) if t in have]
    early = sorted((t for t in have if is_early(t)), key=lambda t: parse_early(t) or 0.0)
    return fixed + early + sorted(have - set(fixed) - set(early))
