"""Per-condition EERs of an entry on one track, for the page's drill-down (leaderboard.json).

The conditions are the ones ``rcb eval`` reports (:mod:`..evaluation.breakdown`, same bucket edges
and pairings), restricted to the columns a reader of the page drills into; only the point EER and
the trial counts are kept, so the JSON stays small (no CIs: the page shows them for whole tracks).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..contract import Protocol, track_selection
from ..evaluation.breakdown import BUCKETED, Condition, available_columns, bucket_labels, conditions
from ..evaluation.core import compute_metrics
from ..evaluation.run import EvalSpec

# Drill-down columns in page order (role: each robocall role against the track's live calls).
COLUMNS = ("system", "codec", "snr_bucket", "language", "duration_bucket", "role")
_DEFAULTS = EvalSpec(protocol="", scores="")  # rcb eval's default bucket edges


def track_conditions(proto: Protocol, track: str) -> list[Condition]:
    """The conditions over :data:`COLUMNS` of the rows leaderboard track ``track`` scores, in the
    row order of its score files."""
    sel = proto.select(*track_selection(track))
    cols = [c for c in COLUMNS if c in available_columns(sel)]
    conds = conditions(sel, cols, _DEFAULTS.snr_edges, _DEFAULTS.duration_edges)
    # Buckets in numeric order (<2s, 2-4s, ...; the missing-value bucket last), not as sorted strings.
    order = {c: _bucket_order(c) for c in BUCKETED}

    def key(c: Condition) -> tuple[int, int]:
        pos = order.get(c.column)
        return cols.index(c.column), 0 if pos is None else pos.get(c.value, len(pos))

    return sorted(conds, key=key)  # stable: other columns keep conditions()' value order


def _bucket_order(column: str) -> dict[str, int]:
    """{bucket label: position} of a bucketed column's finite buckets, from one probe value each."""
    edges = sorted(_DEFAULTS.snr_edges if column == "snr_bucket" else _DEFAULTS.duration_edges)
    probes = [edges[0] - 1, *((a + b) / 2 for a, b in pairwise(edges)), edges[-1] + 1]
    labels = bucket_labels(np.array(probes), edges, BUCKETED[column][1], "")
    return {v: i for i, v in enumerate(labels.tolist())}


def condition_eers(conds: list[Condition], scores: np.ndarray, labels: np.ndarray) -> dict[str, list[dict]]:
    """``{column: [{value, pairing, eer, n_robocall, n_human}, ...]}`` for ``scores``/``labels`` (n,).

    Every condition holds both classes (:func:`..evaluation.breakdown.conditions` guarantees it);
    EERs are rounded like the rest of leaderboard.json so a rebuild is byte-identical.
    """
    out: dict[str, list[dict]] = {}
    for c in conds:
        y = labels[c.mask]
        eer = compute_metrics(scores[c.mask], y)["eer"]
        n_r = int(y.sum())
        out.setdefault(c.column, []).append(
            {
                "value": c.value,
                "pairing": c.pairing,
                "eer": round(float(eer), 6),
                "n_robocall": n_r,
                "n_human": int(y.size - n_r),
            }
        )
    return out
