"""The LightningModule wrapping any :class:`~robocall_bench.models.base.Detector`.

Why PyTorch Lightning: one well-kept engine gives every torch baseline the same checkpoint/resume
(loop, optimizer, scheduler, AMP scaler and data-loader state in one file), DDP via torchrun or
accelerate, mixed precision, gradient accumulation and clipping, deterministic mode and pluggable
loggers (CSV, W&B), none of which we then maintain ourselves. What it does not give is added here:
per-step reseeding (resume-exact dropout), class-weighted loss, a NaN stop, and robocall-bench
metadata in each checkpoint (model config + preprocessing) so ``rcb score`` can rebuild the model.
"""

from __future__ import annotations

import math
import random
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..seeding import derive_seed


class NonFiniteLossError(RuntimeError):
    """Raised by the training step when the loss is NaN or infinite."""

    def __init__(self, step: int, value: float) -> None:
        self.step, self.value = step, value
        super().__init__(f"loss is {value} at optimizer step {step}")


def lr_lambda(schedule: str, warmup: int, total: int, min_ratio: float):
    """LR multiplier per optimizer step: linear warmup, then ``cosine`` decay to ``min_ratio`` or ``constant``."""

    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant" or total <= warmup:
            return 1.0
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

    return f


class DetectorModule(pl.LightningModule):
    """Trains ``model`` with (optionally class-weighted) cross-entropy on (wave, lengths, labels) batches.

    ``meta`` (model config, preprocessing, corpus, ...) is written into every checkpoint under
    ``checkpoint["rcb"]``; ``class_weights`` (2,) or None; ``optim`` has lr, weight_decay, betas,
    schedule, warmup_steps, min_lr_ratio; ``total_steps`` sizes the schedule.
    """

    def __init__(
        self,
        model: nn.Module,
        optim: dict[str, Any],
        total_steps: int,
        seed: int = 0,
        class_weights: list[float] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.optim, self.total_steps, self.seed = dict(optim), int(total_steps), int(seed)
        self.meta = dict(meta or {})
        w = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", w, persistent=False)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """wave (B, T), lengths (B,) -> logits (B, 2) [human, robocall]."""
        return self.model(wave, lengths)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Reseed from (seed, batch, rank) before every step: dropout, SpecAugment-style masking (numpy
        # in transformers' wav2vec2) and any other randomness then depend on the step alone, so a run
        # resumed from a checkpoint repeats exactly the draws of an uninterrupted one.
        s = derive_seed(self.seed, "batch", batch_idx, self.global_rank)
        torch.manual_seed(s)
        np.random.seed(s % 2**32)
        random.seed(s)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        wave, lengths, labels = batch
        logits = self.model(wave, lengths)
        loss = F.cross_entropy(logits.float(), labels, weight=self.class_weights)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(int(self.global_step), float(loss.detach()))
        acc = (logits.argmax(-1) == labels).float().mean()
        self.log("train/loss", loss, prog_bar=True, on_step=True, batch_size=labels.numel())
        self.log("train/acc", acc, on_step=True, batch_size=labels.numel())
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.optim
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(
            params,
            lr=float(o.get("lr", 1e-3)),
            weight_decay=float(o.get("weight_decay", 0.0)),
            betas=tuple(float(b) for b in o.get("betas", (0.9, 0.999))),
        )
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt,
            lr_lambda(
                str(o.get("schedule", "cosine")),
                int(o.get("warmup_steps", 0)),
                self.total_steps,
                float(o.get("min_lr_ratio", 0.01)),
            ),
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["rcb"] = {**self.meta, "kind": "torch", "global_step": int(self.global_step)}
        backbone = getattr(self.model, "backbone", None)
        if callable(getattr(backbone, "backbone_config", None)):
            # Scoring rebuilds the architecture from this, never from `pretrained` (see scoring.py).
            checkpoint["rcb"]["backbone_config"] = backbone.backbone_config()
