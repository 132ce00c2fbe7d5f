"""Seeded cluster bootstrap confidence intervals for every metric of :mod:`.core`.

Trials of one speaker (human) or one TTS system / script family (robocall) are correlated, so
resampling trials independently gives intervals that are too narrow. Each replicate resamples,
per class, whole clusters with replacement and then (``within=True``, the default) trials with
replacement inside every drawn cluster: a two-stage bootstrap, which keeps an interval non-degenerate
when a condition has a single cluster (e.g. one unseen TTS system).

One primitive draws a replicate: :meth:`TrialResampler.draw`, a vector of per-trial multiplicities.
Every system scored on those trials turns the same vector into its counts per distinct score
(:meth:`ScoredTrials.grouped`), which is what makes the paired bootstrap of :mod:`.paired` paired.
Each system's scores are sorted once, so a replicate costs O(n) (bincount) plus O(U) for the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .core import CostModel, Grouped, group_index, softplus_pair, summarize


@dataclass(frozen=True)
class BootstrapConfig:
    """n: replicates (0 disables CIs); seed; alpha: 1 - coverage; within: two-stage resampling."""

    n: int = 1000
    seed: int = 0
    alpha: float = 0.05
    within: bool = True


class _ClassSampler:
    """Draws one class's trials: clusters with replacement, then (optionally) trials within them."""

    def __init__(self, clusters: np.ndarray) -> None:
        codes = np.unique(clusters, return_inverse=True)[1].ravel()
        self.order = np.argsort(codes, kind="stable")  # class trials grouped by cluster
        self.codes = codes
        self.sizes = np.bincount(codes)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))

    def trial_counts(self, rng: np.random.Generator, within: bool) -> np.ndarray:
        """(m,) multiplicity of each of this class's m trials (their original order) in one replicate."""
        k = self.sizes.size
        drawn = rng.integers(0, k, size=k)
        if not within:
            return np.bincount(drawn, minlength=k).astype(np.float64)[self.codes]
        sz = self.sizes[drawn]
        base = np.repeat(self.starts[drawn], sz)
        off = (rng.random(base.size) * np.repeat(sz, sz)).astype(np.int64)
        return np.bincount(self.order[base + off], minlength=self.codes.size).astype(np.float64)


class TrialResampler:
    """The resampling primitive: one replicate = (n,) multiplicities of ``labels`` (n,) trials.

    ``clusters`` (n,) are per class (a human speaker and a TTS voice may share a name); each class
    is resampled on its own, robocall first, so both classes are present in every replicate and the
    random stream is fixed by the seed alone.
    """

    def __init__(self, labels: np.ndarray, clusters: np.ndarray, within: bool = True) -> None:
        y = np.asarray(labels, dtype=bool)
        c = np.asarray(clusters)
        if c.shape != y.shape:
            raise ValueError(f"clusters has {c.size} values but labels has {y.size}")
        self.n, self.within = y.size, within
        self.pos_idx, self.neg_idx = np.flatnonzero(y), np.flatnonzero(~y)
        self._pos, self._neg = _ClassSampler(c[y]), _ClassSampler(c[~y])

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """(n,) float multiplicities of every trial in one replicate; a class's total is the summed size
        of its drawn clusters (its own size in expectation, exactly when its clusters are equal)."""
        w = np.empty(self.n, dtype=np.float64)
        w[self.pos_idx] = self._pos.trial_counts(rng, self.within)
        w[self.neg_idx] = self._neg.trial_counts(rng, self.within)
        return w


class ScoredTrials:
    """One system's ``scores`` (n,) on the resampler's trials, collapsed once to distinct values."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray) -> None:
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=bool)
        if s.shape != y.shape:
            raise ValueError(f"scores has {s.size} values but labels has {y.size}")
        self.u, inv = group_index(s)
        self.pos_idx, self.neg_idx = np.flatnonzero(y), np.flatnonzero(~y)
        self.inv_pos, self.inv_neg = inv[self.pos_idx], inv[self.neg_idx]
        self.sp = softplus_pair(self.u)

    def grouped(self, w: np.ndarray) -> Grouped:
        """Robocall/human counts per distinct score (U,) for trial multiplicities ``w`` (n,)."""
        k = self.u.size
        pos = np.bincount(self.inv_pos, weights=w[self.pos_idx], minlength=k)
        neg = np.bincount(self.inv_neg, weights=w[self.neg_idx], minlength=k)
        return Grouped(self.u, pos, neg, self.sp)


def replicate_metrics(
    systems: Sequence[np.ndarray],
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig,
    cost: CostModel,
    threshold: float | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per system, ``{metric: (cfg.n,) replicate values}``; every replicate resamples the same
    trials for all ``systems`` (each (n,) scores on the trials of ``labels``/``clusters`` (n,))."""
    sampler = TrialResampler(labels, clusters, cfg.within)
    scored = [ScoredTrials(s, labels) for s in systems]
    rng = np.random.default_rng(cfg.seed)
    reps: list[dict[str, list[float]]] = [{} for _ in scored]
    for _ in range(cfg.n):
        w = sampler.draw(rng)
        for sys_reps, sys in zip(reps, scored, strict=True):
            for key, v in summarize(sys.grouped(w), cost, threshold).items():
                sys_reps.setdefault(key, []).append(v)
    return [{k: np.asarray(v) for k, v in r.items()} for r in reps]


def percentile_ci(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """The (alpha/2, 1 - alpha/2) percentile interval of replicate ``values`` (B,)."""
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    return float(np.percentile(values, lo)), float(np.percentile(values, hi))


def bootstrap_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig | None = None,
    cost: CostModel | None = None,
    threshold: float | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile CIs ``{metric: (low, high)}`` for ``scores`` (n,), boolean ``labels`` (n,), ``clusters`` (n,).

    Cluster ids are per class (a human speaker and a TTS voice may share a name). Empty dict when
    ``cfg.n`` is 0. Deterministic for a given ``cfg.seed``.
    """
    cfg = cfg or BootstrapConfig()
    cost = cost or CostModel()
    if cfg.n <= 0:
        return {}
    [reps] = replicate_metrics([scores], labels, clusters, cfg, cost, threshold)
    return {key: percentile_ci(vals, cfg.alpha) for key, vals in reps.items()}
