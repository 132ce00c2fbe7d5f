"""Ranks with statistical ties: entries whose EER difference is within the noise share a rank.

Definition (one track of one corpus): the ranked entries (flagged ones excluded) are sorted by EER,
then minDCF, then entry id. The first entry leads rank group 1. Each next entry is compared with the
leader of the current group (its best entry) by the paired cluster bootstrap of the EER difference
(:func:`..evaluation.paired.paired_bootstrap`, the leaderboard's bootstrap settings and seed): when
the 95% CI of EER(leader) - EER(entry) includes 0 the entry joins the group and shares its rank;
otherwise it leads a new group whose rank is one more (dense ranking: 1, =2, =2, 3). Comparing with
the leader, not with the entry just above, keeps a chain of small steps from tying entries that
differ clearly. Without replicates (bootstrap.n = 0) no entry ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.core import CostModel
from ..evaluation.paired import Difference, paired_bootstrap


@dataclass(frozen=True)
class TrackRank:
    """One entry's place on a track: ``rank`` (dense), the other members of its rank group, and the
    EER test that placed it (``vs``: the group leader it was compared with; None for the first entry)."""

    rank: int
    tied_with: tuple[str, ...]
    vs: str | None = None
    test: Difference | None = None

    def to_json(self) -> dict:
        d = self.test
        test = None
        if d is not None:
            test = {
                "vs": self.vs,
                "eer_diff": d.diff,
                "ci": None if d.ci is None else list(d.ci),
                "p_value": d.p_value,
                "tie": d.verdict == "tie",
            }
        return {"rank": self.rank, "tied_with": list(self.tied_with), "tie_test": test}


def tied_ranks(
    order: Sequence[str],
    scores: dict[str, np.ndarray],
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig,
    cost: CostModel,
) -> dict[str, TrackRank]:
    """``{entry_id: TrackRank}`` for the entries of ``order`` (best first, see module docstring).

    ``scores[entry_id]`` (n,) are aligned to the same trials as ``labels`` and ``clusters`` (n,).
    """
    groups: list[list[str]] = []
    tests: dict[str, tuple[str, Difference]] = {}
    for eid in order:
        if groups and cfg.n > 0:
            leader = groups[-1][0]
            d = paired_bootstrap(scores[leader], scores[eid], labels, clusters, cfg, cost, ("eer",))["eer"]
            tests[eid] = (leader, d)
            if d.verdict == "tie":
                groups[-1].append(eid)
                continue
        groups.append([eid])
    out = {}
    for rank, members in enumerate(groups, start=1):
        for eid in members:
            vs, test = tests.get(eid, (None, None))
            out[eid] = TrackRank(rank, tuple(m for m in members if m != eid), vs, test)
    return out
