"""Cluster bootstrap: seeded, covers the point estimate, and wider when trials are correlated in clusters."""

from __future__ import annotations

import numpy as np

from robocall_bench.evaluation.bootstrap import BootstrapConfig, bootstrap_metrics
from robocall_bench.evaluation.core import compute_metrics


def clustered(seed: int, n_clusters: int = 12, per: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores with a strong per-cluster offset: trials of one cluster are far from independent."""
    rng = np.random.default_rng(seed)
    labels, scores, clusters = [], [], []
    for robo in (True, False):
        for c in range(n_clusters):
            offset = rng.normal(scale=1.5)
            scores.append(rng.normal(size=per) * 0.3 + offset + (1.0 if robo else 0.0))
            labels.append(np.full(per, robo))
            clusters.append(np.full(per, f"{'r' if robo else 'h'}{c}"))
    return np.concatenate(scores), np.concatenate(labels), np.concatenate(clusters)


def width(ci: dict, key: str) -> float:
    return ci[key][1] - ci[key][0]


def test_seeded_and_covering() -> None:
    s, y, c = clustered(0)
    cfg = BootstrapConfig(n=200, seed=1)
    a = bootstrap_metrics(s, y, c, cfg)
    b = bootstrap_metrics(s, y, c, cfg)
    assert a == b
    assert a != bootstrap_metrics(s, y, c, BootstrapConfig(n=200, seed=2))
    point = compute_metrics(s, y)
    for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc"):
        lo, hi = a[k]
        assert lo <= point[k] <= hi, k
    assert bootstrap_metrics(s, y, c, BootstrapConfig(n=0)) == {}


def test_cluster_resampling_is_wider_than_trial_resampling() -> None:
    s, y, c = clustered(3)
    trial_level = np.arange(s.size).astype(str)  # every trial its own cluster
    for within in (True, False):
        cfg = BootstrapConfig(n=300, seed=0, within=within)
        wide = bootstrap_metrics(s, y, c, cfg)
        narrow = bootstrap_metrics(s, y, trial_level, cfg)
        for k in ("eer", "auc", "cllr"):
            assert width(wide, k) > 1.5 * width(narrow, k), (within, k)


def test_single_cluster_two_stage_is_not_degenerate() -> None:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2 == 0
    s = rng.normal(size=60) + y
    c = np.where(y, "one-system", "spk" + (np.arange(60) % 5).astype(str))
    two_stage = bootstrap_metrics(s, y, c, BootstrapConfig(n=200, within=True))
    clusters_only = bootstrap_metrics(s, y, c, BootstrapConfig(n=200, within=False))
    assert width(two_stage, "eer") > 0.05
    assert width(clusters_only, "eer") > 0  # human clusters still vary
