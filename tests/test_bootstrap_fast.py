"""The block bootstrap engine (issue 11 target 1) against the reference loop and an exact enumeration."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from robocall_bench.evaluation.bootstrap import (
    BootstrapConfig,
    _bins,
    reference_replicate_metrics,
    replicate_metrics,
    summarize_rows,
)
from robocall_bench.evaluation.core import CostModel, Grouped, compute_metrics, group_index, summarize

COST = CostModel()


def test_summarize_rows_is_summarize_row_by_row() -> None:
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=300), 1)  # ties
    y = rng.random(300) < 0.4
    b = _bins(s, y, None, [COST.act_threshold])
    assert b.exact
    pos = rng.integers(0, 4, size=(20, b.g)).astype(float)
    neg = rng.integers(0, 4, size=(20, b.g)).astype(float)
    pos[:, ::3] = 0  # zero-count groups, as in replicates
    rows = summarize_rows(b, pos, neg, COST, threshold=0.3)
    for i in range(20):
        one = summarize(Grouped(b.u, pos[i], neg[i]), COST, 0.3)
        assert set(one) == set(rows)
        for k, v in one.items():
            assert rows[k][i] == pytest.approx(v, rel=1e-12, abs=1e-12), k


def exact_class_distribution(sizes: list[int], within: bool) -> dict[tuple, float]:
    """{trial multiplicities: probability} of one class under the two-stage bootstrap, by enumeration:
    every sequence of k cluster draws, then every sequence of trial draws in each drawn copy."""
    starts = np.cumsum([0, *sizes])
    n, k = starts[-1], len(sizes)
    out: dict[tuple, float] = defaultdict(float)
    for drawn in itertools.product(range(k), repeat=k):
        p_clusters = k**-k
        if not within:
            w = np.zeros(n, dtype=int)
            for c in drawn:
                w[starts[c] : starts[c + 1]] += 1
            out[tuple(w)] += p_clusters
            continue
        per_copy = [list(itertools.product(range(sizes[c]), repeat=sizes[c])) for c in drawn]
        for picks in itertools.product(*per_copy):
            w = np.zeros(n, dtype=int)
            p = p_clusters
            for c, pick in zip(drawn, picks, strict=True):
                p *= sizes[c] ** -sizes[c]
                for t in pick:
                    w[starts[c] + t] += 1
            out[tuple(w)] += p
    return out


@pytest.mark.parametrize("within", [True, False])
def test_matches_exact_enumeration_of_all_resamples(within: bool) -> None:
    pos_sizes, neg_sizes = [2, 1, 2], [1, 2, 1]
    s_pos = np.array([0.3, 1.2, 0.3, 2.0, -0.4])  # a tie inside a cluster and across classes
    s_neg = np.array([0.3, -1.0, 0.8, -0.2])
    s = np.concatenate((s_pos, s_neg))
    y = np.r_[np.ones(5, bool), np.zeros(4, bool)]
    clusters = np.array(["a", "a", "b", "c", "c", "h1", "h2", "h2", "h3"])
    keys = ("eer", "auc", "cllr", "min_dcf")
    moments = {k: np.zeros(5) for k in keys}  # E[1], E[x], E[x^2], E[x^3], E[x^4]
    dp, dn = exact_class_distribution(pos_sizes, within), exact_class_distribution(neg_sizes, within)
    for wp, pp in dp.items():
        for wn, pn in dn.items():
            w = np.r_[wp, wn].astype(float)
            u, inv = group_index(s)
            g = Grouped(u, np.bincount(inv[y], w[y], u.size), np.bincount(inv[~y], w[~y], u.size))
            m = summarize(g, COST)
            for k in keys:
                moments[k] += pp * pn * m[k] ** np.arange(5)
    n_rep = 20000
    [reps] = replicate_metrics([s], y, clusters, BootstrapConfig(n=n_rep, seed=3, within=within), COST)
    for k in keys:
        e = moments[k]
        assert e[0] == pytest.approx(1.0)
        mean, var = e[1], e[2] - e[1] ** 2
        mu4 = e[4] - 4 * e[3] * mean + 6 * e[2] * mean**2 - 3 * mean**4
        x = reps[k]
        assert abs(x.mean() - mean) <= 4 * np.sqrt(var / n_rep), k
        assert abs(x.var() - var) <= 4 * np.sqrt((mu4 - var**2) / n_rep), k


def clustered(seed: int, n_clusters: int, per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([True, False], n_clusters * per)
    c = np.repeat(np.arange(2 * n_clusters), per)
    s = rng.normal(size=y.size) + 1.2 * y + rng.normal(scale=0.4, size=2 * n_clusters)[c]
    return s, y, c


def test_large_data_approximations_match_the_reference_within_mc_error() -> None:
    # 300-trial clusters (Poisson bin counts) and 1,024 bins for 7,200 distinct scores: both approximations
    # on, at about the resolution rcb eval has at 1M trials relative to the replicate spread (8,192 bins)
    s, y, c = clustered(1, n_clusters=12, per=300)
    n_rep = 600
    cfg = BootstrapConfig(n=n_rep, seed=0)
    [fast] = replicate_metrics([s], y, c, cfg, COST, max_bins=1024)
    [ref] = reference_replicate_metrics([s], y, c, cfg, COST)
    point = compute_metrics(s, y, COST)
    for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct"):
        a, b = fast[k], ref[k]
        se = np.sqrt((a.var() + b.var()) / n_rep)
        assert abs(a.mean() - b.mean()) <= 4 * se + 1e-12, (k, a.mean(), b.mean(), point[k])
        assert a.std() == pytest.approx(b.std(), rel=0.2), k
        for q in (2.5, 97.5):  # CI endpoints, within a few of their own MC errors (~0.1 sd here)
            assert abs(np.percentile(a, q) - np.percentile(b, q)) <= 0.5 * b.std(), (k, q)


def test_seeded_block_engine_and_exact_act_threshold() -> None:
    s, y, c = clustered(2, n_clusters=6, per=200)
    cfg = BootstrapConfig(n=50, seed=4)
    a = replicate_metrics([s], y, c, cfg, COST, max_bins=32)[0]
    b = replicate_metrics([s], y, c, cfg, COST, max_bins=32)[0]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # the actDCF cut is an exact bin edge even with 32 bins: with every count the full data's,
    # summarize_rows reproduces the point value
    bins = _bins(s, y, 32, [COST.act_threshold])
    pos = np.bincount(bins.of_trial[y], minlength=bins.g)[None, :].astype(float)
    neg = np.bincount(bins.of_trial[~y], minlength=bins.g)[None, :].astype(float)
    rows = summarize_rows(bins, pos, neg, COST)
    point = compute_metrics(s, y, COST)
    for k in ("act_dcf", "auc", "cllr", "n_robocall", "n_human"):
        assert rows[k][0] == pytest.approx(point[k], rel=1e-9), k
