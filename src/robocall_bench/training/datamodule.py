"""LightningDataModule: the resumable, seeded training loader (dev scoring lives in the callback)."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl

from ..inference.preprocess import Preprocess
from .data import Item, TrainDataset, collate_train
from .sampler import BalancedBatchSampler, ResumableLoader


class RcbDataModule(pl.LightningDataModule):
    """Training batches ``(wave (B, T), lengths (B,), labels (B,))`` for ``total_batches`` batches.

    The loader is built when Lightning asks for it, after the strategy knows this process's rank
    and the world size, so each DDP rank draws its own slice of every global batch.
    """

    def __init__(
        self,
        items: list[Item],
        pre: Preprocess,
        batch_size: int,
        total_batches: int,
        seed: int,
        crop_s: float | None = 4.0,
        pad: str = "zero",
        balance: bool = True,
        num_workers: int = 0,
        sample_rate: int | None = None,
        augment: Any = None,
        augment_p: float = 0.0,
    ) -> None:
        super().__init__()
        self.items, self.pre, self.batch_size, self.total = items, pre, int(batch_size), int(total_batches)
        self.seed, self.balance, self.num_workers = int(seed), bool(balance), int(num_workers)
        self.dataset = TrainDataset(items, pre, crop_s, pad, sample_rate, augment, augment_p)

    def sampler(self, rank: int = 0, world: int = 1) -> BalancedBatchSampler:
        """The batch sampler for ``rank`` of ``world``."""
        return BalancedBatchSampler(
            [i.label for i in self.items], self.batch_size, self.total, self.seed, self.balance, rank, world
        )

    def train_dataloader(self) -> ResumableLoader:
        t = self.trainer
        rank, world = (t.global_rank, t.world_size) if t is not None else (0, 1)
        return ResumableLoader(
            self.dataset,
            batch_sampler=self.sampler(rank, world),
            collate_fn=collate_train,
            num_workers=self.num_workers,
            pin_memory=False,
        )


def steps_for_epochs(n_items: int, labels: list[int], batch_size: int, world: int, accum: int, epochs: float,
                     balance: bool) -> int:  # fmt: skip
    """Optimizer steps in ``epochs`` data epochs (drop-last batches, gradient accumulation)."""
    s = BalancedBatchSampler(labels, batch_size, 1, 0, balance, 0, world)
    return max(1, math.ceil(epochs * s.per_epoch / max(1, accum)))
