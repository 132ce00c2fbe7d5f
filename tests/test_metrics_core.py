"""Core metrics against independent references: ASVspoof 5 formulas re-implemented by brute force,
scikit-learn's roc_curve / roc_auc_score / IsotonicRegression, plus property-based invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score, roc_curve

from robocall_bench.evaluation.core import CostModel, compute_metrics, group, operating_points

TOL = 1e-9

# ---- ASVspoof 5 definitions, from the formulas (CM score: higher = bona fide). ----------------
# Here robocall is the spoof class and CM score = -score; bona fide = human.


def asv_points(bona: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_miss(t) = P(bona < t), P_fa(t) = P(spoof >= t) at every distinct score and +inf, ascending t."""
    taus = np.concatenate((np.unique(np.concatenate([bona, spoof])), [np.inf]))
    pmiss = np.array([np.mean(bona < t) for t in taus])
    pfa = np.array([np.mean(spoof >= t) for t in taus])
    return pmiss, pfa


def asv_eer(bona: np.ndarray, spoof: np.ndarray) -> float:
    pm, pf = asv_points(bona, spoof)
    i = np.argmin(np.abs(pm - pf))
    return float(np.mean((pm[i], pf[i])))


def asv_min_dcf(bona, spoof, p_spoof=0.05, c_miss=1.0, c_fa=10.0) -> float:
    pm, pf = asv_points(bona, spoof)
    best = np.inf
    for i in range(pm.size):
        best = min(best, c_miss * (1 - p_spoof) * pm[i] + c_fa * p_spoof * pf[i])
    return best / min(c_miss * (1 - p_spoof), c_fa * p_spoof)


def asv_act_dcf(bona, spoof, p_spoof=0.05, c_miss=1.0, c_fa=10.0) -> float:
    beta = c_miss * (1 - p_spoof) / (c_fa * p_spoof)
    thr = -np.log(beta)
    rate_miss = np.sum(bona < thr) / bona.size
    rate_fa = np.sum(spoof >= thr) / spoof.size
    return (c_miss * (1 - p_spoof) * rate_miss + c_fa * p_spoof * rate_fa) / min(
        c_miss * (1 - p_spoof), c_fa * p_spoof
    )


def asv_cllr(target_llrs: np.ndarray, nontarget_llrs: np.ndarray) -> float:
    def nls(x):
        return np.log1p(np.exp(-x))

    return float(0.5 * (np.mean(nls(target_llrs)) + np.mean(nls(-nontarget_llrs))) / np.log(2))


def ref_min_cllr(s: np.ndarray, y: np.ndarray) -> float:
    """PAV by scikit-learn (ties pooled), posterior -> LLR by subtracting the prior log odds.

    PAV only uses the order of the scores; dense ranks stop scikit-learn from merging distinct
    scores closer than its float resolution (it treats them as ties).
    """
    r = np.unique(s, return_inverse=True)[1].astype(float)
    p = IsotonicRegression(y_min=0.0, y_max=1.0).fit(r, y.astype(float)).predict(r)
    with np.errstate(divide="ignore"):
        llr = np.log(p) - np.log1p(-p) - np.log(y.sum() / (~y).sum())
    return asv_cllr(llr[y], llr[~y])


def references(s: np.ndarray, y: np.ndarray, cost: CostModel | None = None) -> dict[str, float]:
    cost = cost or CostModel()
    bona, spoof = -s[~y], -s[y]
    kw = {"p_spoof": cost.p_spoof, "c_miss": cost.c_miss, "c_fa": cost.c_fa}
    return {
        "eer": asv_eer(bona, spoof),
        "min_dcf": asv_min_dcf(bona, spoof, **kw),
        "act_dcf": asv_act_dcf(bona, spoof, **kw),
        "cllr": asv_cllr(s[y], s[~y]),  # robocall = target of the LLR score; Cllr is symmetric
        "min_cllr": ref_min_cllr(s, y),
        "auc": float(roc_auc_score(y, s)),
    }


def cases(seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(40):
        n = int(rng.integers(2, 80))
        y = rng.random(n) < rng.uniform(0.2, 0.8)
        y[0], y[-1] = True, False
        s = rng.normal(size=n) + y * rng.uniform(0, 3)
        out.append(("random", s, y))
        out.append(("tie-heavy", np.round(s * rng.integers(1, 3)) / 2, y))
        out.append(("integer", rng.integers(-2, 3, size=n).astype(float), y))
        out.append(("separable", np.where(y, 1.0 + rng.random(n), -rng.random(n)), y))
    return out


@pytest.mark.parametrize("kind", ["random", "tie-heavy", "integer", "separable"])
def test_agrees_with_asvspoof5_definitions_and_sklearn(kind: str) -> None:
    checked = 0
    for k, s, y in cases(seed=7):
        if k != kind:
            continue
        got = compute_metrics(s, y)
        for name, ref in references(s, y).items():
            assert abs(got[name] - ref) <= TOL, (kind, name, got[name], ref, s.tolist(), y.tolist())
        checked += 1
    assert checked == 40


def test_agrees_under_other_cost_models() -> None:
    for p_spoof, c_miss, c_fa in ((0.5, 1.0, 1.0), (0.01, 1.0, 10.0), (0.2, 5.0, 1.0)):
        cost = CostModel(p_spoof, c_miss, c_fa)
        for _, s, y in cases(seed=3)[:40]:
            got, ref = compute_metrics(s, y, cost), references(s, y, cost)
            for name in ("min_dcf", "act_dcf"):
                assert abs(got[name] - ref[name]) <= TOL, (cost, name)


def test_roc_points_equal_sklearn_roc_curve() -> None:
    for _, s, y in cases(seed=11):
        fpr, fnr, thr = operating_points(group(s, y))
        sk_fpr, sk_tpr, sk_thr = roc_curve(y, s, drop_intermediate=False)
        # sklearn runs from the highest threshold down ("score >= t"); ours from the lowest ("score > t").
        np.testing.assert_allclose(fpr[::-1], sk_fpr, atol=TOL)
        np.testing.assert_allclose(1 - fnr[::-1], sk_tpr, atol=TOL)
        np.testing.assert_array_equal(thr[1:][::-1], sk_thr[1:])


def brute_rates(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """FPR at FNR <= 1% and FNR at FPR <= 1%, from counts at every threshold."""
    best_fpr, best_fnr = 1.0, 1.0
    for t in np.concatenate(([-np.inf], np.unique(s))):
        flagged = s > t
        fnr = np.sum(y & ~flagged) / y.sum()
        fpr = np.sum(~y & flagged) / (~y).sum()
        if fnr <= 0.01:
            best_fpr = min(best_fpr, fpr)
        if fpr <= 0.01:
            best_fnr = min(best_fnr, fnr)
    return best_fpr, best_fnr


def test_rates_at_one_percent_match_brute_force() -> None:
    rng = np.random.default_rng(5)
    big = rng.random(500) < 0.5
    for _, s, y in [*cases(seed=5)[:80], ("big", rng.normal(size=500) + big, big)]:
        got = compute_metrics(s, y)
        ref = brute_rates(s, y)
        assert got["fpr_at_fnr_1pct"] == pytest.approx(ref[0], abs=TOL)
        assert got["fnr_at_fpr_1pct"] == pytest.approx(ref[1], abs=TOL)


def test_threshold_metrics_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    for _, s, y in cases(seed=13)[:60]:
        for t in (float(np.median(s)), float(s.min()) - 1.0, float(s.max())):
            got = compute_metrics(s, y, threshold=t)
            pred = s > t
            assert got["accuracy_at_fixed"] == pytest.approx(accuracy_score(y, pred), abs=TOL)
            assert got["precision_at_fixed"] == pytest.approx(
                precision_score(y, pred, zero_division=0), abs=TOL
            )
            assert got["recall_at_fixed"] == pytest.approx(recall_score(y, pred), abs=TOL)
            assert got["f1_at_fixed"] == pytest.approx(f1_score(y, pred, zero_division=0), abs=TOL)
        # at the EER threshold, the reported threshold reproduces the EER operating point
        m = compute_metrics(s, y)
        pred = s > m["eer_threshold"]
        fpr, fnr = np.mean(pred[~y]), np.mean(~pred[y])
        assert m["eer"] == pytest.approx((fpr + fnr) / 2, abs=TOL)


def test_degenerate_inputs_have_documented_values_or_fail() -> None:
    y = np.array([1, 0, 1, 0, 0], bool)
    m = compute_metrics(np.full(5, 0.3), y)
    assert (m["eer"], m["min_dcf"], m["auc"]) == (0.5, 1.0, 0.5)
    assert m["min_cllr"] == pytest.approx(1.0, abs=TOL)
    with pytest.raises(ValueError, match="only one class"):
        compute_metrics(np.arange(4.0), np.ones(4, bool))
    with pytest.raises(ValueError, match="NaN or infinite"):
        compute_metrics(np.array([0.0, np.nan]), np.array([1, 0]))
    with pytest.raises(ValueError, match="no trials"):
        compute_metrics(np.array([]), np.array([], bool))
    # perfect separation and perfect inversion
    s = np.array([3.0, 2.0, -1.0, -2.0])
    good = compute_metrics(s, np.array([1, 1, 0, 0]))
    assert (good["eer"], good["min_dcf"], good["auc"], good["min_cllr"]) == (0.0, 0.0, 1.0, 0.0)
    bad = compute_metrics(s, np.array([0, 0, 1, 1]))
    assert (bad["eer"], bad["auc"]) == (1.0, 0.0)


def test_large_scores_do_not_overflow() -> None:
    s = np.array([800.0, -800.0, 1e6, -1e6])
    m = compute_metrics(s, np.array([1, 0, 0, 1]))
    assert np.isfinite(m["cllr"]) and m["cllr"] > 1000


# ---- properties --------------------------------------------------------------------------------

scores_st = st.lists(
    st.tuples(st.floats(-50, 50, allow_nan=False, allow_subnormal=False), st.booleans()),
    min_size=2,
    max_size=60,
).filter(lambda t: 0 < sum(b for _, b in t) < len(t))
tie_scores_st = st.lists(
    st.tuples(st.integers(-3, 3).map(float), st.booleans()), min_size=2, max_size=60
).filter(lambda t: 0 < sum(b for _, b in t) < len(t))


def _arrays(pairs):
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


@settings(max_examples=150, deadline=None)
@given(st.one_of(scores_st, tie_scores_st))
def test_property_matches_references(pairs) -> None:
    s, y = _arrays(pairs)
    got = compute_metrics(s, y)
    for name, ref in references(s, y).items():
        assert abs(got[name] - ref) <= TOL, name


@settings(max_examples=150, deadline=None)
@given(st.one_of(scores_st, tie_scores_st))
def test_property_invariants(pairs) -> None:
    s, y = _arrays(pairs)
    m = compute_metrics(s, y)
    assert 0.0 <= m["eer"] <= 1.0 and 0.0 <= m["auc"] <= 1.0
    assert 0.0 <= m["min_dcf"] <= 1.0 + TOL
    assert m["min_dcf"] <= m["act_dcf"] + TOL
    assert 0.0 <= m["min_cllr"] <= min(1.0, m["cllr"]) + TOL
    # rank-based metrics depend only on the order of scores: replace scores by dense ranks
    ranks = np.unique(s, return_inverse=True)[1].astype(float)
    r = compute_metrics(ranks, y)
    for k in ("eer", "min_dcf", "auc", "min_cllr", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct"):
        assert r[k] == pytest.approx(m[k], abs=TOL), k
    # negating the scores mirrors AUC
    assert compute_metrics(-s, y)["auc"] == pytest.approx(1.0 - m["auc"], abs=TOL)
    # order of trials is irrelevant
    perm = np.random.default_rng(0).permutation(s.size)
    p = compute_metrics(s[perm], y[perm])
    for k, v in m.items():
        assert p[k] == pytest.approx(v, abs=TOL), k


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40),
)
def test_eer_bisection_equals_the_scan(counts) -> None:
    """eer_index (bisection) picks the very point of the full scan, with ties in |FPR - FNR| and
    zero-count groups (bootstrap replicates) whose runs of equal FPR - FNR make plateaus."""
    from robocall_bench.evaluation.core import Grouped, _eer_index_scan, eer_index

    pos = np.array([c[0] for c in counts], dtype=float)
    neg = np.array([c[1] for c in counts], dtype=float)
    if pos.sum() == 0 or neg.sum() == 0:
        pos[0] += 1
        neg[-1] += 1
    g = Grouped(np.arange(pos.size, dtype=float), pos, neg)
    fpr, fnr, _ = operating_points(g)
    assert eer_index(fpr, fnr) == _eer_index_scan(fpr, fnr)


def test_parallel_group_equals_serial(monkeypatch) -> None:
    """Above PARALLEL_MIN the class sorts and cumulative sums run in two threads: same bits."""
    from robocall_bench.evaluation import core

    rng = np.random.default_rng(3)
    y = rng.random(5000) < 0.4
    s = np.round(rng.normal(size=5000) + y, 2)  # ties
    monkeypatch.setattr(core, "PARALLEL_MIN", 10**9)
    serial = core.compute_metrics(s, y)
    gs = core.group(s, y)
    ops_s = core.operating_points(gs)
    monkeypatch.setattr(core, "PARALLEL_MIN", 1)
    assert core.compute_metrics(s, y) == serial
    gp = core.group(s, y)
    for a, b in zip((gs.u, gs.pos, gs.neg), (gp.u, gp.pos, gp.neg), strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(ops_s, core.operating_points(gp), strict=True):
        assert np.array_equal(a, b)


def test_cllr_from_trial_sums_equals_grouped_form() -> None:
    """group(cllr=True) sums softplus over the trials while it merges; the grouped form (bootstrap
    replicates) must give the same Cllr, with ties and across several blocks."""
    from robocall_bench.evaluation import core

    rng = np.random.default_rng(5)
    n = 3 * core.BLOCK + 17
    y = rng.random(n) < 0.3
    s = np.round(3 * rng.normal(size=n) + 2 * y, 3)
    g = core.group(s, y, cllr=True)
    assert g.cllr_sums is not None
    plain = core.Grouped(g.u, g.pos, g.neg)
    assert abs(core.cllr_grouped(g) - core.cllr_grouped(plain)) < 1e-12
    ref = (np.mean(np.logaddexp(0, -s[y])) + np.mean(np.logaddexp(0, s[~y]))) / (2 * np.log(2))
    assert abs(core.cllr_grouped(g) - ref) < 1e-12
