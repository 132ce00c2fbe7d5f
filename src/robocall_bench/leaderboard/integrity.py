"""Entries that copy another entry's scores.

Two entries on the same corpus and track whose scores (aligned by utt_id: both follow the protocol's
row order) are identical, or rank-correlate above ``copy_spearman`` (any monotone rescaling of a
copy), are one model submitted twice: a copy would otherwise outrank its original through the
entry-id tie-break. Both entries get an error naming the other. Deciding which one is the original
from git dates would trust a date the submitter can set (``GIT_COMMITTER_DATE``); in practice the pull
request that adds the copy fails CI, and a maintainer settles a real dispute.

Perfect separation (an entry made from the public eval labels) is flagged by validation itself;
see ``validate.PERFECT``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from .validate import Checked, LeaderboardConfig


def _unit_ranks(x: np.ndarray) -> np.ndarray | None:
    """Centred, unit-norm average ranks of ``x`` (n,): dot products of two are Spearman's rho."""
    r = rankdata(x)
    r -= r.mean()
    n = float(np.linalg.norm(r))
    return r / n if n > 0 else None


def mark_copies(checks: Sequence[Checked], cfg: LeaderboardConfig) -> None:
    """Append a "copy of entry X" error to both entries of every copied (corpus, track) pair."""
    groups: dict[tuple[str, str, str], list[tuple[Checked, np.ndarray]]] = defaultdict(list)
    for c in checks:
        if c.entry is not None:
            for track, (scores, _) in c.scores.items():
                groups[(c.entry.corpus.name, c.entry.corpus.version, track)].append((c, scores))
    for (_, _, track), items in sorted(groups.items()):
        ranks = [_unit_ranks(s) if s.size >= cfg.copy_min_trials else None for _, s in items]
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (a, sa), (b, sb) = items[i], items[j]
                if np.array_equal(sa, sb):
                    how = "identical scores"
                elif ranks[i] is not None and ranks[j] is not None:
                    rho = float(ranks[i] @ ranks[j])
                    if rho <= cfg.copy_spearman:
                        continue
                    how = f"Spearman rank correlation {rho:.5f} > {cfg.copy_spearman:g}"
                else:
                    continue
                for x, y in ((a, b), (b, a)):
                    x.errors.append(
                        f"scores/{track}.tsv: copy of entry {y.entry.entry_id} ({how}); an entry must be "
                        "scored by its own model (to update an entry, change it instead of adding one)"
                    )
