"""Order-independent seeding: every utterance gets its own generator derived from (seed, key)."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *keys: object) -> int:
    """Return a 63-bit integer seed that depends only on ``seed`` and ``keys``.

    Hashing (not ``hash()``, which is salted per process) keeps results identical across
    processes, worker counts and shards.
    """
    h = hashlib.sha256(repr((int(seed), *map(str, keys))).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little") >> 1


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator seeded by :func:`derive_seed`."""
    return np.random.default_rng(derive_seed(seed, *keys))
