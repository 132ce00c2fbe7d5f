"""Paired cluster bootstrap: self-comparison ties, clear differences have the right sign, seeded, and
exactly the brute-force loop that resamples clusters and trials explicitly with the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from robocall_bench.evaluation.bootstrap import BootstrapConfig, bootstrap_metrics
from robocall_bench.evaluation.core import compute_metrics
from robocall_bench.evaluation.paired import PAIRED_METRICS, bootstrap_p_value, paired_bootstrap, verdict


def trials(seed: int = 0, n_sys: int = 6, n_spk: int = 10, per: int = 8):
    """labels (n,), clusters (n,) and a shared per-trial difficulty (n,) with per-cluster offsets."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.ones(n_sys * per, bool), np.zeros(n_spk * per, bool)])
    c = np.concatenate(
        [np.repeat([f"sys{i}" for i in range(n_sys)], per), np.repeat([f"spk{i}" for i in range(n_spk)], per)]
    )
    offset = {k: rng.normal(scale=0.7) for k in sorted(set(c))}
    z = rng.normal(size=y.size) + np.array([offset[k] for k in c])
    return y, c, z


def system(y: np.ndarray, z: np.ndarray, sep: float, seed: int) -> np.ndarray:
    return sep * y + z + 0.3 * np.random.default_rng(seed).normal(size=y.size)


def test_system_against_itself_is_a_tie_with_zero_difference() -> None:
    y, c, z = trials()
    s = system(y, z, 1.0, 1)
    res = paired_bootstrap(s, s, y, c, BootstrapConfig(n=100, seed=0))
    assert set(res) == set(PAIRED_METRICS)
    for m, d in res.items():
        assert d.diff == 0.0 and d.ci == (0.0, 0.0) and d.p_value == 1.0 and d.verdict == "tie", m
        assert d.a == d.b


def test_clearly_different_systems_have_the_right_sign() -> None:
    y, c, z = trials()
    good, bad = system(y, z, 4.0, 1), system(y, z, 0.3, 2)
    res = paired_bootstrap(good, bad, y, c, BootstrapConfig(n=200, seed=0))
    for m in ("eer", "min_dcf", "cllr", "min_cllr"):
        d = res[m]
        assert d.diff < 0 and d.ci[1] < 0 and d.verdict == "a better", m
        assert d.p_value < 0.05
    assert res["auc"].diff > 0 and res["auc"].ci[0] > 0 and res["auc"].verdict == "a better"
    point_a, point_b = compute_metrics(good, y), compute_metrics(bad, y)
    assert res["eer"].a == point_a["eer"] and res["eer"].b == point_b["eer"]
    assert res["eer"].diff == pytest.approx(point_a["eer"] - point_b["eer"])
    flipped = paired_bootstrap(bad, good, y, c, BootstrapConfig(n=200, seed=0))
    for m in PAIRED_METRICS:
        assert flipped[m].diff == -res[m].diff
        assert flipped[m].ci == pytest.approx((-res[m].ci[1], -res[m].ci[0]), abs=1e-12)
        assert (
            flipped[m].verdict
            == {"a better": "b better", "b better": "a better", "tie": "tie"}[res[m].verdict]
        )


def test_seeded() -> None:
    y, c, z = trials()
    a, b = system(y, z, 1.5, 1), system(y, z, 1.2, 2)
    cfg = BootstrapConfig(n=80, seed=7)
    assert paired_bootstrap(a, b, y, c, cfg) == paired_bootstrap(a, b, y, c, cfg)
    assert paired_bootstrap(a, b, y, c, cfg) != paired_bootstrap(a, b, y, c, BootstrapConfig(n=80, seed=8))


def test_each_side_alone_is_the_unpaired_bootstrap() -> None:
    """The replicates drawn for a pair are the ones drawn for one system: one primitive, one stream."""
    y, c, z = trials()
    a = system(y, z, 1.5, 1)
    cfg = BootstrapConfig(n=60, seed=3)
    res = paired_bootstrap(a, np.zeros_like(a), y, c, cfg)  # b constant: EER(b) = 0.5 in every replicate
    alone = bootstrap_metrics(a, y, c, cfg)
    assert res["eer"].ci == pytest.approx((alone["eer"][0] - 0.5, alone["eer"][1] - 0.5), abs=1e-12)


def brute_force_diffs(sa, sb, y, c, n, seed, within, metric):
    """Resample explicitly with the engine's random stream (one block of ``n`` replicates): per class,
    robocall first, the cluster draws of every replicate, then the trials in each drawn copy of a
    cluster of 2+ trials (a one-trial cluster needs no draw); list the trials of each replicate."""
    rng = np.random.default_rng(seed)
    idx: list[list[int]] = [[] for _ in range(n)]
    for cls in (True, False):
        members = np.flatnonzero(y == cls)
        names = sorted(set(c[members]))
        by_cluster = [members[c[members] == k] for k in names]
        k = len(by_cluster)
        counts = [np.bincount(row, minlength=k) for row in rng.integers(0, k, size=(n, k))]
        if not within:
            for r in range(n):
                for j in range(k):
                    idx[r].extend(list(by_cluster[j]) * counts[r][j])
            continue
        multi = [j for j in range(k) if len(by_cluster[j]) > 1]
        u = iter(rng.random(sum(counts[r][j] * len(by_cluster[j]) for r in range(n) for j in multi)))
        for r in range(n):
            for j in multi:
                m = len(by_cluster[j])
                idx[r].extend(by_cluster[j][int(next(u) * m)] for _ in range(counts[r][j] * m))
            for j in range(k):
                if len(by_cluster[j]) == 1:
                    idx[r].extend(list(by_cluster[j]) * counts[r][j])
    out = []
    for i in map(np.asarray, idx):
        out.append(compute_metrics(sa[i], y[i])[metric] - compute_metrics(sb[i], y[i])[metric])
    return np.asarray(out)


@pytest.mark.parametrize("within", [True, False])
def test_matches_brute_force_resampling_for_the_same_draws(within: bool) -> None:
    y, c, z = trials(1, n_sys=3, n_spk=4, per=5)
    # ties within and across systems: the grouped counts must handle them like the explicit lists
    a, b = np.round(system(y, z, 1.0, 1), 1), np.round(system(y, z, 0.6, 2), 1)
    cfg = BootstrapConfig(n=40, seed=5, within=within)
    res = paired_bootstrap(a, b, y, c, cfg)
    for m in ("eer", "min_dcf", "cllr", "auc"):
        d = brute_force_diffs(a, b, y, c, cfg.n, cfg.seed, within, m)
        lo, hi = np.percentile(d, [2.5, 97.5])
        assert res[m].ci == pytest.approx((lo, hi), abs=1e-12), m
        assert res[m].p_value == bootstrap_p_value(d), m


def test_p_value_and_verdict_rules() -> None:
    assert bootstrap_p_value(np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert bootstrap_p_value(np.array([-0.1, 0.2, 0.3, 0.4])) == 0.5
    assert bootstrap_p_value(np.zeros(5)) == 1.0  # zeros count on both sides
    assert verdict("eer", (-0.2, -0.1)) == "a better" and verdict("eer", (0.1, 0.2)) == "b better"
    assert verdict("auc", (0.1, 0.2)) == "a better" and verdict("auc", (-0.2, -0.1)) == "b better"
    assert verdict("eer", (-0.1, 0.0)) == "tie" and verdict("eer", None) == "tie"


def test_refuses_arrays_of_different_trials() -> None:
    y, c, z = trials()
    a = system(y, z, 1.0, 1)
    with pytest.raises(ValueError, match="scores has"):
        paired_bootstrap(a, a[:-1], y, c)
    with pytest.raises(ValueError, match="clusters has"):
        paired_bootstrap(a, a, y, c[:-1])


def test_no_replicates_gives_points_only() -> None:
    y, c, z = trials()
    res = paired_bootstrap(system(y, z, 3.0, 1), system(y, z, 0.1, 2), y, c, BootstrapConfig(n=0))
    assert res["eer"].ci is None and res["eer"].p_value is None and res["eer"].verdict == "tie"
    assert res["eer"].diff < 0
