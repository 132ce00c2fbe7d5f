"""Seeded cluster bootstrap confidence intervals for every metric of :mod:`.core`.

Trials of one speaker (human) or one TTS system / script family (robocall) are correlated, so
resampling trials independently gives intervals that are too narrow. Each replicate resamples,
per class, whole clusters with replacement and then (``within=True``, the default) trials with
replacement inside every drawn cluster: a two-stage bootstrap, which keeps an interval non-degenerate
when a condition has a single cluster (e.g. one unseen TTS system).

A replicate is a vector of multiplicities, so the scores are sorted once and each replicate
costs O(n) (bincount) plus O(U) for the metrics.
"""

from __future__ import annotations

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

    def __init__(self, idx: np.ndarray, clusters: np.ndarray, inv: np.ndarray, n_groups: int) -> None:
        codes = np.unique(clusters, return_inverse=True)[1].ravel()
        order = np.argsort(codes, kind="stable")
        self.group_of = inv[idx]  # distinct-score group of each class trial, original order
        self.sorted_groups = self.group_of[order]  # the same, grouped by cluster
        self.codes = codes
        self.sizes = np.bincount(codes)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        self.n_groups = n_groups

    def group_counts(self, rng: np.random.Generator, within: bool) -> np.ndarray:
        """(U,) multiplicities of this class per distinct score in one replicate."""
        k = self.sizes.size
        drawn = rng.integers(0, k, size=k)
        if not within:
            w = np.bincount(drawn, minlength=k).astype(np.float64)[self.codes]
            return np.bincount(self.group_of, weights=w, minlength=self.n_groups)
        sz = self.sizes[drawn]
        base = np.repeat(self.starts[drawn], sz)
        off = (rng.random(base.size) * np.repeat(sz, sz)).astype(np.int64)
        return np.bincount(self.sorted_groups[base + off], minlength=self.n_groups).astype(np.float64)


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
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    u, inv = group_index(s)
    pos = _ClassSampler(np.flatnonzero(y), np.asarray(clusters)[y], inv, u.size)
    neg = _ClassSampler(np.flatnonzero(~y), np.asarray(clusters)[~y], inv, u.size)
    sp = softplus_pair(u)
    rng = np.random.default_rng(cfg.seed)
    reps: dict[str, list[float]] = {}
    for _ in range(cfg.n):
        g = Grouped(u, pos.group_counts(rng, cfg.within), neg.group_counts(rng, cfg.within), sp)
        for key, v in summarize(g, cost, threshold).items():
            reps.setdefault(key, []).append(v)
    lo, hi = 100 * cfg.alpha / 2, 100 * (1 - cfg.alpha / 2)
    out = {}
    for key, vals in reps.items():
        a = np.asarray(vals)
        out[key] = (float(np.percentile(a, lo)), float(np.percentile(a, hi)))
    return out
