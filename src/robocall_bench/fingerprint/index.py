"""An inverted index of landmark hashes: which calls hold a hash, and at which anchor frame.

The index sits behind a small interface (:class:`HashIndex`: ``add``, ``query``, ``__len__``) so
that it can live elsewhere when one machine is not enough: postings are keyed by hash alone, so
they shard by ``hash % n_shards`` onto any key-value store with list values (Redis lists,
Cassandra/ScyllaDB partitions keyed by hash, RocksDB prefix keys); a query sends each hash to its
shard and merges the (call, offset) votes, which is all :meth:`NumpyIndex.query` does in memory.

Cost: a query touches only the postings of its own hashes (at most ``max_postings`` each), so
indexing grows linearly with the calls indexed and a query grows with the postings per hash,
never with all pairs of calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .landmarks import Fingerprint

# Anchor-frame offsets between two copies of one message differ by up to a frame (frame grid vs
# where the copy starts), so votes within +-1 frame of one offset count together.
OFFSET_TOLERANCE = 1
_OFF = 1 << 24  # offsets are stored shifted into [0, 2^25) inside a packed int64 vote key


@dataclass(frozen=True)
class Match:
    """The best other call for a query: its ``key``, aligned ``votes`` and frame ``offset``."""

    key: int
    votes: int
    offset: int


class HashIndex(Protocol):
    """What the campaign detector needs from an index (in memory here; a sharded store elsewhere)."""

    def add(self, key: int, fp: Fingerprint) -> None: ...

    def query(self, fp: Fingerprint, exclude: int | None = None, top: int = 1) -> list[Match]: ...

    def __len__(self) -> int: ...


class NumpyIndex:
    """In-memory index: sorted postings (hash, key, frame) in CSR form plus an unsorted tail.

    ``add`` appends to the tail (O(1) amortised); the tail is merged into the sorted part when it
    outgrows ``merge_every`` postings or before a query, so streaming inserts and batch builds
    cost the same O(n log n) overall. Memory: 12 bytes per posting (uint32 hash, int32 key,
    int32 frame) plus the CSR offsets.
    """

    def __init__(self, max_postings: int = 64, merge_every: int = 1 << 20) -> None:
        self.max_postings = int(max_postings)
        self.merge_every = int(merge_every)
        self._h = np.zeros(0, np.uint32)
        self._k = np.zeros(0, np.int32)
        self._t = np.zeros(0, np.int32)
        self._uh = np.zeros(0, np.uint32)  # unique hashes of the sorted part
        self._off = np.zeros(1, np.int64)  # postings of _uh[i] are _k[_off[i]:_off[i+1]]
        self._tail: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._tail_n = 0
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def n_postings(self) -> int:
        return int(self._h.size + self._tail_n)

    @property
    def nbytes(self) -> int:
        return int(self._h.nbytes + self._k.nbytes + self._t.nbytes + self._uh.nbytes + self._off.nbytes)

    def add(self, key: int, fp: Fingerprint) -> None:
        """Index the hashes of call ``key`` (an int the caller maps to its call id)."""
        self._keys.add(int(key))
        if len(fp) == 0:
            return
        self._tail.append((fp.hashes, np.full(len(fp), key, np.int32), fp.frames))
        self._tail_n += len(fp)
        if self._tail_n >= self.merge_every:
            self._merge()

    def _merge(self) -> None:
        if not self._tail:
            return
        h = np.concatenate([self._h, *(a for a, _, _ in self._tail)])
        k = np.concatenate([self._k, *(b for _, b, _ in self._tail)])
        t = np.concatenate([self._t, *(c for _, _, c in self._tail)])
        order = np.argsort(h, kind="stable")  # stable: postings of a hash stay in insertion order
        self._h, self._k, self._t = h[order], k[order], t[order]
        self._tail, self._tail_n = [], 0
        starts = (
            np.flatnonzero(np.r_[True, self._h[1:] != self._h[:-1]]) if self._h.size else np.zeros(0, int)
        )
        self._uh = self._h[starts]
        self._off = np.r_[starts, self._h.size].astype(np.int64)

    def query(self, fp: Fingerprint, exclude: int | None = None, top: int = 1) -> list[Match]:
        """The ``top`` calls sharing most offset-consistent hashes with ``fp`` (best first; may be empty)."""
        self._merge()
        if len(fp) == 0 or self._uh.size == 0:
            return []
        pos = np.searchsorted(self._uh, fp.hashes)
        pos = np.minimum(pos, self._uh.size - 1)
        hit = self._uh[pos] == fp.hashes
        if not hit.any():
            return []
        qt = fp.frames[hit]
        starts = self._off[pos[hit]]
        lens = np.minimum(self._off[pos[hit] + 1] - starts, self.max_postings)
        total = int(lens.sum())
        rep = np.repeat(np.arange(lens.size), lens)
        within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        idx = starts[rep] + within
        keys = self._k[idx]
        delta = qt[rep] - self._t[idx]
        if exclude is not None:
            other = keys != exclude
            keys, delta = keys[other], delta[other]
        if keys.size == 0:
            return []
        return top_matches(keys, delta, top)


def top_matches(keys: np.ndarray, delta: np.ndarray, top: int) -> list[Match]:
    """Votes (key, offset) (n,) -> the ``top`` keys by votes within +-OFFSET_TOLERANCE of one offset."""
    code = (keys.astype(np.int64) << 25) | (np.clip(delta, -_OFF + 2, _OFF - 2) + _OFF).astype(np.int64)
    u, c = np.unique(code, return_counts=True)
    votes = c.copy()
    for d in range(1, OFFSET_TOLERANCE + 1):
        for sgn in (-1, 1):
            j = np.searchsorted(u, u + sgn * d)
            j = np.minimum(j, u.size - 1)
            same = u[j] == u + sgn * d
            votes[same] += c[j[same]]
    k = (u >> 25).astype(np.int64)
    # best offset per key: sort by (key, votes) and take each key's last row
    order = np.lexsort((votes, k))
    k, votes, u = k[order], votes[order], u[order]
    last = np.r_[k[1:] != k[:-1], True]
    k, votes, u = k[last], votes[last], u[last]
    best = np.argsort(-votes, kind="stable")[:top]
    return [Match(int(k[i]), int(votes[i]), int((u[i] & ((1 << 25) - 1)) - _OFF)) for i in best]
