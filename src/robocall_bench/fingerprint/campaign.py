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

Landmark score of call i, with ``v`` the offset-consistent votes (shared hashes at one frame offset,
+-1 frame) of its best other call and ``h`` that call's hits (hashes shared at any offset):

    score = log1p(v + h / (n_i + 1))          n_i = hashes of call i

``h / (n_i + 1)`` lies in [0, 1), so it only breaks ties between calls with equal ``v`` (more
shared hashes at other offsets = more evidence) and never reorders calls with different ``v``;
the score is monotone in ``v`` and 0 for a call that shares nothing (a set of one call, silence,
calls with nothing in common). log1p makes the scale roughly duration-free in the tails: votes
grow with the overlapping seconds.

Clusters: the connected components (union-find) of the graph whose edges join each call to each
of its ``top`` best other calls with at least ``min_votes`` votes. Re-spoken words (the same speaker
reading the same digits again) and same-speaker calls stay below it (benchmarks/fingerprint_compare.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .index import HashIndex, NumpyIndex
from .landmarks import Fingerprint


@dataclass(frozen=True)
class CampaignResult:
    """Per call (n,): ``scores`` float64, ``votes`` int64 and ``best`` (index of the best other call, -1
    for none); ``clusters`` (n,) int64 component labels (the smallest call index of the component)."""

    scores: np.ndarray
    votes: np.ndarray
    best: np.ndarray
    clusters: np.ndarray


def evidence(votes: int, hits: int, n_hashes: int) -> float:
    """The documented score: ``log1p(votes + hits / (n_hashes + 1))`` (0 when nothing is shared)."""
    return float(np.log1p(votes + min(hits, n_hashes) / (n_hashes + 1)))


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
    min_votes: int = 15,
    top: int = 5,
    index: HashIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> CampaignResult:
    """Fingerprints of n calls -> :class:`CampaignResult`: every call is indexed, then queried against
    all the others (itself excluded); cost linear in n (each query touches only its hashes' postings).

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
        matches = index.query(fp, exclude=i, top=max(1, int(top)))
        if matches:
            m = matches[0]
            votes[i], best[i] = m.votes, m.key
            scores[i] = evidence(m.votes, m.hits, len(fp))
            for m in matches:
                if m.votes >= min_votes:
                    uf.union(i, m.key)
        if progress is not None:
            progress(1)
    return CampaignResult(scores, votes, best, uf.labels())
