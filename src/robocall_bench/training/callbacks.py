"""Callbacks: dev evaluation + best/last checkpoints every N optimizer steps, and training throughput."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np

from ..evaluation.core import compute_metrics
from ..inference.preprocess import Preprocess
from ..inference.scoring import Scorer, score_paths


class RunCheckpoints(pl.Callback):
    """Every ``eval_every`` optimizer steps (and at the last step) score the dev split, log ``dev/eer``
    and write ``best.ckpt`` when it improves; every ``ckpt_every`` steps (and at the last step) write
    ``last.ckpt``. ``last`` is written after ``best`` so that it carries the updated best-so-far state.

    The best/last bookkeeping is part of the checkpoint (``state_dict``), so a resumed run picks the
    same best checkpoint as an uninterrupted one.
    """

    def __init__(
        self,
        ckpt_dir: str | Path,
        dev_paths: list[str],
        dev_labels: list[int],
        pre: Preprocess,
        eval_every: int,
        ckpt_every: int,
        batch_size: int = 16,
        window: float | None = None,
        max_s: float | None = None,
        max_batch_s: float | None = None,
    ) -> None:
        self.dir = Path(ckpt_dir)
        self.max_batch_s = max_batch_s  # seconds of padded audio per scoring batch (None: the default)
        self.dev_paths, self.dev_labels, self.pre = dev_paths, np.asarray(dev_labels, dtype=bool), pre
        self.eval_every, self.ckpt_every = max(1, int(eval_every)), max(1, int(ckpt_every))
        self.batch_size, self.window, self.max_s = int(batch_size), window, max_s
        self.best_eer: float | None = None
        self.best_step: int | None = None
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0  # wall time spent in dev scoring and checkpoint writing (not training)
        self._seen = -1

    @property
    def last_path(self) -> Path:
        return self.dir / "last.ckpt"

    @property
    def best_path(self) -> Path:
        return self.dir / "best.ckpt"

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._seen = trainer.global_step

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step == self._seen:  # accumulating: no optimizer step happened in this batch
            return
        self._seen = step
        t0 = time.perf_counter()
        try:
            self._after_step(trainer, pl_module, step)
        finally:
            self.seconds += time.perf_counter() - t0

    def _after_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        final = trainer.max_steps > 0 and step >= trainer.max_steps
        if step % self.eval_every == 0 or final:
            # DDP: every rank scores dev, and all take rank 0's EER so that they agree on "best"
            # (save_checkpoint is collective; GPU non-determinism could otherwise split the ranks)
            eer = float(trainer.strategy.broadcast(self.evaluate(pl_module), src=0))
            self.history.append({"step": step, "dev_eer": eer})
            for lg in trainer.loggers:
                lg.log_metrics({"dev/eer": eer}, step=step)
            if self.best_eer is None or eer < self.best_eer:
                self.best_eer, self.best_step = eer, step
                trainer.save_checkpoint(self.best_path, weights_only=False)
        if step % self.ckpt_every == 0 or final:
            trainer.save_checkpoint(self.last_path, weights_only=False)

    def evaluate(self, pl_module: pl.LightningModule) -> float:
        """Dev EER of the current weights (eval mode, full-length or ``window`` inputs)."""
        was_training = pl_module.training
        pl_module.eval()
        try:
            scorer = Scorer(pl_module.model, "torch", self.pre, {}, self.dir, pl_module.device)
            res = score_paths(scorer, self.dev_paths, self.window, self.batch_size, max_s=self.max_s,
                              max_batch_s=self.max_batch_s)
        finally:
            pl_module.train(was_training)
        s = res.scores
        if res.errors or not np.all(np.isfinite(s)):
            return 1.0  # unreadable dev audio or non-finite scores: never "best"
        return float(compute_metrics(s, self.dev_labels)["eer"])

    def state_dict(self) -> dict[str, Any]:
        return {"best_eer": self.best_eer, "best_step": self.best_step, "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_eer = state.get("best_eer")
        self.best_step = state.get("best_step")
        self.history = list(state.get("history", []))


class Throughput(pl.Callback):
    """Training rate of this process: samples per second of train steps (forward + backward +
    optimizer) and of the whole loop, where the loop also waits on the data loader.

    Insert it before :class:`RunCheckpoints` so that its ``on_train_batch_end`` runs first: step
    time then excludes dev scoring, which ``RunCheckpoints.seconds`` measures and :meth:`summary`
    takes out of the loop time. A resumed run measures the steps after the resume.
    """

    def __init__(self, checkpoints: RunCheckpoints | None = None) -> None:
        self.checkpoints = checkpoints
        self.samples = 0
        self.step_s = 0.0
        self._t_batch: float | None = None
        self._t_first: float | None = None
        self._last_step = 0.0
        self._ckpt_s0 = self._ckpt_at_start = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:  # fmt: skip
        now = time.perf_counter()
        spent = self.checkpoints.seconds if self.checkpoints else 0.0
        if self._t_first is None:
            self._t_first, self._ckpt_s0 = now, spent
        # the loop is measured from the first batch start to the last one (+ its step): dev scoring
        # after the final step falls outside it and must not be subtracted
        self._t_batch, self._ckpt_at_start = now, spent

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:  # fmt: skip
        if self._t_batch is None:
            return
        self._last_step = time.perf_counter() - self._t_batch
        self.step_s += self._last_step
        self.samples += int(batch[0].shape[0])

    def summary(self) -> dict[str, Any]:
        """``{samples, step_seconds, loop_seconds, samples_per_s, loop_samples_per_s, loader_share}``."""
        if not self.samples or self._t_first is None or self._t_batch is None:
            return {}
        dev_s = self._ckpt_at_start - self._ckpt_s0
        loop = max(self._t_batch - self._t_first - dev_s + self._last_step, self.step_s)
        return {
            "samples": self.samples,
            "step_seconds": round(self.step_s, 3),
            "loop_seconds": round(loop, 3),
            "samples_per_s": round(self.samples / self.step_s, 3),
            "loop_samples_per_s": round(self.samples / loop, 3),
            "loader_share": round(1 - self.step_s / loop, 4),  # of the loop spent waiting for batches
        }


class StopAt(pl.Callback):
    """Raise ``exc`` when ``at_step`` optimizer steps are done (tests: a kill in the middle of a run)."""

    def __init__(self, at_step: int, exc: BaseException | None = None) -> None:
        self.at_step, self.exc = int(at_step), exc or KeyboardInterrupt()

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step >= self.at_step:
            raise self.exc
