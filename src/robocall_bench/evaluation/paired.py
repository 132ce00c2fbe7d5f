"""Paired cluster bootstrap of the difference between two systems scored on the same trials.

Both systems are evaluated on every replicate of :func:`.bootstrap.replicate_metrics`, i.e. on the
same resampled clusters and trials, so the spread of ``metric(a) - metric(b)`` excludes the
variation the two share (which trials happen to be hard): far narrower than comparing two
unpaired CIs.

Per metric: the point difference a - b on all trials, the percentile CI of the replicate
differences, a two-sided bootstrap p-value and a verdict. The verdict comes from the CI alone:
``tie`` when it includes 0, else the system the sign favours (lower is better except for AUC).

p-value: ``min(1, 2 min(#{d* <= 0}, #{d* >= 0}) / B)`` over the B replicate differences d*: twice
the share of replicates on the far side of 0, i.e. the smallest level at which a two-sided percentile
interval would exclude 0, so ``p < alpha`` and the verdict agree up to the interpolation between two
neighbouring replicates. Zeros count on both sides (EER differences are discrete and often exactly
0). 0 means no replicate fell on the far side: p < 2 / B, the resolution of B replicates. (The
Monte-Carlo ``(1 + k) / (B + 1)`` form would never be 0 but would disagree with the percentile CI
near alpha, e.g. a CI excluding 0 with p = 0.06.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .bootstrap import BootstrapConfig, percentile_ci, replicate_metrics
from .core import CostModel, check_inputs, compute_metrics

# Compared by default: the ranking metrics first, then the cheap extras (every replicate computes
# all of :func:`.core.summarize` anyway).
PAIRED_METRICS = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc")
HIGHER_IS_BETTER = frozenset({"auc"})
VERDICTS = ("a better", "b better", "tie")


@dataclass(frozen=True)
class Difference:
    """One metric of a paired comparison; ``ci``/``p_value`` are None without replicates."""

    metric: str
    a: float
    b: float
    diff: float  # a - b on all trials
    ci: tuple[float, float] | None
    p_value: float | None
    verdict: str  # one of VERDICTS

    def to_json(self) -> dict:
        d = asdict(self)
        d["ci"] = None if self.ci is None else [self.ci[0], self.ci[1]]
        return d


def bootstrap_p_value(diffs: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from replicate differences ``diffs`` (B,) (module docstring)."""
    tail = min(int(np.sum(diffs <= 0)), int(np.sum(diffs >= 0)))
    return min(1.0, 2.0 * tail / diffs.size)


def verdict(metric: str, ci: tuple[float, float] | None) -> str:
    """``tie`` when ``ci`` of a - b includes 0 (or is None), else which system is better on ``metric``."""
    if ci is None or ci[0] <= 0.0 <= ci[1]:
        return "tie"
    a_higher = ci[0] > 0.0
    return "a better" if a_higher == (metric in HIGHER_IS_BETTER) else "b better"


def paired_bootstrap(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig | None = None,
    cost: CostModel | None = None,
    metrics: Sequence[str] = PAIRED_METRICS,
) -> dict[str, Difference]:
    """``{metric: Difference}`` of system a minus system b, each scoring the same (n,) trials.

    ``labels`` (n,) 1/True = robocall; ``clusters`` (n,) per-class cluster ids as for
    :func:`.bootstrap.bootstrap_metrics`. ``cfg.n`` 0 gives point differences only (verdict tie).
    Deterministic for ``cfg.seed``. ValueError when the arrays do not describe the same trials.
    """
    cfg = cfg or BootstrapConfig()
    cost = cost or CostModel()
    a, y = check_inputs(scores_a, labels)
    b, _ = check_inputs(scores_b, labels)
    if np.asarray(clusters).shape != y.shape:
        raise ValueError(f"clusters has {np.asarray(clusters).size} values but there are {y.size} trials")
    pa, pb = compute_metrics(a, y, cost), compute_metrics(b, y, cost)
    reps = replicate_metrics([a, b], y, clusters, cfg, cost) if cfg.n > 0 else None
    out = {}
    for m in metrics:
        ci = p = None
        if reps is not None:
            d = reps[0][m] - reps[1][m]
            ci, p = percentile_ci(d, cfg.alpha), bootstrap_p_value(d)
        out[m] = Difference(m, pa[m], pb[m], pa[m] - pb[m], ci, p, verdict(m, ci))
    return out
