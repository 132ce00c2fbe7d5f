"""An inverted index of landmark hashes: which calls hold a hash, and at which anchor frame.

The index sits behind a small interface (:class:`HashIndex`: ``add``, ``query``, ``__len__``) so
that it can live elsewhere when one machine is not enough (docs/campaign.md, "Sharding"): postings
are keyed by hash alone, so they shard by hash prefix onto any key-value store with list values; a
query sends each hash to its shard, gets back (call, offset-delta) votes and merges them, which is
all :func:`top_matches` does here in memory.

Cost: a query touches only the postings of its own hashes (at most ``max_postings`` each), so
building grows linearly with the calls indexed and a query with the postings per hash, never with
all pairs of calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .landmarks import HASH_BITS, Fingerprint

# Anchor-frame offsets between two copies of one message differ by up to a frame (frame grid vs
# where the copy starts), so votes within +-1 frame of one offset count together.
OFFSET_TOLERANCE = 1
_DBITS = 26  # offset-deltas live in [-2^25, 2^25) frames (6 days of audio) inside a packed int64 vote
_OFF = 1 << (_DBITS - 1)


@dataclass(frozen=True)
class Match:
    """An indexed call for a query: its ``key``, ``votes`` at its best frame ``offset`` (+-1 frame),
    and ``hits``, the query hashes it shares at any offset (``hits >= votes``)."""

    key: int
    votes: int
    offset: int
    hits: int


class HashIndex(Protocol):
    """What the campaign detector needs from an index (in memory here; a sharded store elsewhere)."""

    def add(self, key: int, fp: Fingerprint) -> None: ...

    def query(self, fp: Fingerprint, exclude: int | None = None, top: int = 1) -> list[Match]: ...

    def __len__(self) -> int: ...


class NumpyIndex:
    """In-memory index: postings (key, frame) grouped by hash in CSR form over the whole hash space.

    ``add`` appends to a tail (O(1) amortised); the tail is merged in before the next query with
    one sort of packed (hash, position) int64 codes, so build-then-query (the campaign command)
    sorts once. Memory: 8 bytes per posting (int32 key, int32 frame) plus a fixed 2^22+1 int64
    offsets table (32 MiB); hashes themselves are implied by the CSR row.
    """

    def __init__(self, max_postings: int = 64) -> None:
        self.max_postings = int(max_postings)
        self._k = np.zeros(0, np.int32)
        self._t = np.zeros(0, np.int32)
        self._off = np.zeros((1 << HASH_BITS) + 1, np.int64)  # postings of hash h: [_off[h], _off[h+1])
        self._tail: list[tuple[int, Fingerprint]] = []
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def n_postings(self) -> int:
        return int(self._k.size + sum(len(fp) for _, fp in self._tail))

    @property
    def nbytes(self) -> int:
        """Bytes held by the merged index (postings + offsets table)."""
        return int(self._k.nbytes + self._t.nbytes + self._off.nbytes)

    def add(self, key: int, fp: Fingerprint) -> None:
        """Index the hashes of call ``key`` (an int in [0, 2^31) the caller maps to its call id)."""
        if not 0 <= int(key) < 1 << 31:
            raise ValueError(f"index key {key} outside [0, 2^31)")
        self._keys.add(int(key))
        if len(fp):
            self._tail.append((int(key), fp))

    def _merge(self) -> None:
        if not self._tail:
            return
        parts = [fp.hashes.astype(np.int64) for _, fp in self._tail]
        if self._k.size:  # the merged postings' hashes, rebuilt from the CSR rows
            parts.insert(0, np.repeat(np.arange(1 << HASH_BITS, dtype=np.int64), np.diff(self._off)))
        h = np.concatenate(parts)
        k = np.concatenate([self._k, *(np.full(len(fp), key, np.int32) for key, fp in self._tail)])
        t = np.concatenate([self._t, *(fp.frames for _, fp in self._tail)])
        self._tail = []
        # one int64 sort of (hash, position) instead of a stable argsort: postings of a hash stay in
        # insertion order, and numpy's SIMD sort of int64 is several times faster than argsort
        code = np.sort((h << 36) | np.arange(h.size, dtype=np.int64))
        del h
        order = code & ((1 << 36) - 1)
        self._k, self._t = k[order], t[order]
        counts = np.bincount(code >> 36, minlength=1 << HASH_BITS)
        self._off = np.r_[0, np.cumsum(counts)].astype(np.int64)

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Postings of ``hashes`` (n,): (lens (n,) int64 postings kept per hash (<= max_postings),
        keys (m,) int32, frames (m,) int32), the postings of hash i at ``[sum(lens[:i]), +lens[i])``."""
        self._merge()
        h = np.asarray(hashes).astype(np.int64)
        if h.size == 0 or self._k.size == 0:
            return np.zeros(h.size, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
        starts = self._off[h]
        lens = np.minimum(self._off[h + 1] - starts, self.max_postings)
        total = int(lens.sum())
        idx = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        return lens, self._k[idx], self._t[idx]

    def query(self, fp: Fingerprint, exclude: int | None = None, top: int = 1) -> list[Match]:
        """The ``top`` calls sharing most offset-consistent hashes with ``fp`` (best first; may be empty)."""
        lens, keys, t = self.lookup(fp.hashes)
        if keys.size == 0:
            return []
        delta = np.repeat(fp.frames, lens) - t
        if exclude is not None:
            other = keys != exclude
            keys, delta = keys[other], delta[other]
        return top_matches(keys, delta, top)


def top_matches(keys: np.ndarray, delta: np.ndarray, top: int) -> list[Match]:
    """Votes (key, offset-delta) (n,) -> the ``top`` keys by votes within +-OFFSET_TOLERANCE of one
    offset (ties: more ``hits``, then the smaller key)."""
    if keys.size == 0:
        return []
    d = np.clip(delta.astype(np.int64), -_OFF + 2, _OFF - 2) + _OFF
    code = np.sort((keys.astype(np.int64) << _DBITS) | d)
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    u = code[starts]
    c = np.diff(np.r_[starts, code.size])
    votes = c.copy()
    # u is sorted by (key, delta): the neighbours of an offset are adjacent entries of the same key
    for step in range(1, OFFSET_TOLERANCE + 1):
        if u.size <= step:
            break
        near = (u[step:] - u[:-step]) <= OFFSET_TOLERANCE
        near &= (u[step:] >> _DBITS) == (u[:-step] >> _DBITS)
        votes[:-step] += np.where(near, c[step:], 0)
        votes[step:] += np.where(near, c[:-step], 0)
    k = u >> _DBITS
    ks = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])  # first entry of each key
    best_votes = np.maximum.reduceat(votes, ks)
    hits = np.add.reduceat(c, ks)
    # offset of each key's best entry: the first entry in the key's run reaching its maximum
    is_best = votes == np.repeat(best_votes, np.diff(np.r_[ks, u.size]))
    pos = np.flatnonzero(is_best)
    run = np.searchsorted(ks, pos, side="right") - 1
    first_best = pos[np.r_[True, run[1:] != run[:-1]]]
    kk = k[ks]
    order = np.lexsort((kk, -hits, -best_votes))[:top]
    return [
        Match(
            int(kk[i]), int(best_votes[i]), int((u[first_best[i]] & ((1 << _DBITS) - 1)) - _OFF), int(hits[i])
        )
        for i in order
    ]
