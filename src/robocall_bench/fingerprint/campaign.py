"""Set-level campaign scoring: how strongly each call's audio also occurs in other calls of the set.

The contract for set-level systems (also in docs/campaign.md):

- **input**: a set of calls (a folder, a protocol selection or a file list). A system sees the
  whole set at once; a call's score may depend on every other call, never on labels.
- **score file** (``utt_id<TAB>score``, :func:`robocall_bench.contract.write_scores`): one line
  per readable call, higher = more evidence that the call's audio is also heard in another call
  of the set (a dialer replaying one message), hence more likely a robocall.
- **cluster file** (optional, ``utt_id<TAB>cluster``,
  :func:`robocall_bench.contract.clusters.write_clusters`): which calls the system believes carry
  the same message; a call matched to none is its own singleton cluster.

Landmark score of call i: the index proposes its ``top`` best other calls by votes (hashes shared
at one frame offset, +-1 frame); each candidate is verified (:func:`.verify.overlap_z`: do the two
peak constellations coincide along the whole overlap at that offset, against the pair's chance
rate at other offsets?) and

    score = max(0, max over candidates of z)

so a call that shares nothing (a set of one call, silence, calls with nothing in common) scores 0.
z grows like the square root of the overlapping seconds for a replay and stays low for a short
stretch of similar speech (the same speaker re-speaking a phrase or a digit), which votes alone
could not tell apart.

Clusters: the connected components (union-find) of the graph whose edges join each call to each
of its ``top`` candidates verified with ``z >= min_z``. Re-spoken words (the same speaker reading
the same digits again) and same-speaker calls stay below it (benchmarks/fingerprint_compare.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .index import HashIndex, NumpyIndex
from .landmarks import Fingerprint
from .verify import overlap_z

# verified z of a cluster edge (configs/campaign.yaml): train-campaign B-cubed F1 0.976, dev 1.0
MIN_Z = 10.0


@dataclass(frozen=True)
class CampaignResult:
    """Per call (n,): ``scores`` float64 (the verified z), ``votes`` int64 (index votes of ``best``) and
    ``best`` (index of the best verified other call, -1 for none); ``clusters`` (n,) int64 component
    labels (the smallest call index of the component)."""

    scores: np.ndarray
    votes: np.ndarray
    best: np.ndarray
    clusters: np.ndarray


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)
        self.size = np.ones(n, np.int64)

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = int(p[i])
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a == b:
            return
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]

    def labels(self) -> np.ndarray:
        """(n,) label of each element: the smallest element of its set."""
        roots = np.array([self.find(i) for i in range(self.parent.size)], dtype=np.int64)
        smallest = np.full(self.parent.size, self.parent.size, np.int64)
        np.minimum.at(smallest, roots, np.arange(self.parent.size))
        return smallest[roots]


def score_set(
    fps: Sequence[Fingerprint],
    min_z: float = MIN_Z,
    top: int = 5,
    index: HashIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> CampaignResult:
    """Fingerprints of n calls -> :class:`CampaignResult`: every call is indexed, then queried against
    all the others (itself excluded) and its ``top`` candidates verified; cost linear in n (each query
    touches only its hashes' postings, each verification only two calls' peaks).

    ``index``: an empty :class:`HashIndex` to use (default: an in-memory :class:`NumpyIndex`);
    ``progress(k)`` is called after every k queries.
    """
    n = len(fps)
    index = index if index is not None else NumpyIndex()
    for i, fp in enumerate(fps):
        index.add(i, fp)
    scores = np.zeros(n)
    votes = np.zeros(n, np.int64)
    best = np.full(n, -1, np.int64)
    uf = UnionFind(n)
    for i, fp in enumerate(fps):
        for m in index.query(fp, exclude=i, top=max(1, int(top))):
            z = overlap_z(fp, fps[m.key], m.offset)
            if z > scores[i]:
                scores[i], votes[i], best[i] = z, m.votes, m.key
            if z >= min_z:
                uf.union(i, m.key)
        if progress is not None:
            progress(1)
    return CampaignResult(scores, votes, best, uf.labels())
