"""A deterministic, resumable, optionally class-balanced batch sampler and the loader around it.

The whole run is one Lightning "epoch" of ``total_batches`` batches; inside it the sampler walks
through data epochs, each a fresh permutation drawn from (seed, data epoch). Every element it
yields is ``(row, seed)`` with the seed drawn from (seed, data epoch, position), which fixes the
crop and augmentation. :class:`ResumableLoader` counts the batches it has handed out and
implements ``state_dict``/``load_state_dict`` (Lightning stores them in the checkpoint), so a
resumed run continues with exactly the batch an uninterrupted run would have seen next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from ..seeding import derive_seed, rng_for


class BalancedBatchSampler:
    """Batches of ``(row, sample_seed)`` for rank ``rank`` of ``world``.

    ``balance=True``: each data epoch draws every class as often as the largest one (the smaller
    classes are tiled over fresh permutations), so batches are balanced in expectation.
    """

    def __init__(
        self,
        labels: Sequence[int],
        batch_size: int,
        total_batches: int,
        seed: int = 0,
        balance: bool = True,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.batch_size, self.total, self.seed = int(batch_size), int(total_batches), int(seed)
        self.balance, self.rank, self.world = bool(balance), int(rank), int(world)
        self.start = 0  # first batch to yield on the next __iter__ (set on resume)
        self._cache: tuple[int, np.ndarray] | None = None
        if self.per_epoch < 1:
            raise ValueError(
                f"batch_size {batch_size} x {world} device(s) exceeds the {self.epoch_size} training samples "
                "per data epoch; lower data.batch_size"
            )

    @property
    def epoch_size(self) -> int:
        """Samples per data epoch."""
        if not self.balance:
            return int(self.labels.size)
        counts = np.bincount(self.labels)
        return int(counts.max() * np.count_nonzero(counts))

    @property
    def per_epoch(self) -> int:
        """Whole batches per data epoch (per rank); the remainder is dropped."""
        return self.epoch_size // (self.batch_size * self.world)

    def order(self, epoch: int) -> np.ndarray:
        """Row indices (epoch_size,) of data epoch ``epoch``."""
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        if self.balance:
            classes = [c for c in np.unique(self.labels)]
            n = max(int(np.sum(self.labels == c)) for c in classes)
            parts = []
            for c in classes:
                idx = np.flatnonzero(self.labels == c)
                reps = -(-n // idx.size)
                perms = [
                    rng_for(self.seed, "sampler", epoch, int(c), r).permutation(idx) for r in range(reps)
                ]
                parts.append(np.concatenate(perms)[:n])
            rows = np.concatenate(parts)
            rows = rows[rng_for(self.seed, "sampler", epoch, "mix").permutation(rows.size)]
        else:
            rows = rng_for(self.seed, "sampler", epoch).permutation(self.labels.size)
        self._cache = (epoch, rows)
        return rows

    def batch(self, b: int) -> list[tuple[int, int]]:
        """Batch ``b`` (0-based, counted over the whole run) of this rank."""
        epoch, j = divmod(b, self.per_epoch)
        rows = self.order(epoch)
        lo = (j * self.world + self.rank) * self.batch_size
        return [
            (int(rows[p]), derive_seed(self.seed, "sample", epoch, p))
            for p in range(lo, lo + self.batch_size)
        ]

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        start, self.start = self.start, 0
        for b in range(start, self.total):
            yield self.batch(b)


class ResumableLoader(DataLoader):
    """A DataLoader over a :class:`BalancedBatchSampler` that can resume mid-run.

    Counting happens here, on the consumer side: worker prefetching never inflates the count.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.served = 0

    def __iter__(self) -> Iterator[Any]:
        # A generator: nothing runs (no sampler draw, no worker start) until the first batch is asked for.
        sampler: BalancedBatchSampler = self.batch_sampler  # type: ignore[assignment]
        sampler.start = self.served
        for batch in super().__iter__():
            self.served += 1
            yield batch
        self.served = 0

    def state_dict(self) -> dict[str, int]:
        """Batches already handed out in this run."""
        return {"served": int(self.served)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue after ``state['served']`` batches."""
        self.served = int(state.get("served", 0))
