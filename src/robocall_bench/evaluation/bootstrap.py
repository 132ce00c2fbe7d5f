"""Seeded cluster bootstrap confidence intervals for every metric of :mod:`.core`.

Trials of one speaker (human) or one TTS system / script family (robocall) are correlated, so
resampling trials independently gives intervals that are too narrow. Each replicate resamples,
per class, whole clusters with replacement and then (``within=True``, the default) trials with
replacement inside every drawn cluster: a two-stage bootstrap, which keeps an interval non-degenerate
when a condition has a single cluster (e.g. one unseen TTS system).

:func:`replicate_metrics` is the engine (``rcb eval``, the leaderboard, :mod:`.paired`,
:mod:`.precision`): each system's scores are sorted once; blocks of replicates are drawn as class
counts along that fixed order (cluster copies, then trial counts within them), and the metrics of a
whole block come from cumulative counts at once (:func:`summarize_rows`). With several systems every
replicate draws the very same trials for all of them, which is what makes the paired bootstrap
paired. Its docstring says when it is exactly the reference scheme in distribution (always for the
paired bootstrap) and which two approximations keep one system's replicate O(bins) at 1M trials.

:func:`reference_replicate_metrics` is the previous one-replicate-at-a-time loop
(:class:`TrialResampler`, :meth:`ScoredTrials.grouped`, :func:`.core.summarize`), kept for the tests
(tests/test_bootstrap_fast.py) and benchmarks/bootstrap_speed.py, which compare the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .core import LOG2, CostModel, Grouped, group_index, min_cllr_grouped, softplus_pair, summarize


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


def reference_replicate_metrics(
    systems: Sequence[np.ndarray],
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig,
    cost: CostModel,
    threshold: float | None = None,
) -> list[dict[str, np.ndarray]]:
    """The original one-replicate-at-a-time loop (:class:`TrialResampler` + :meth:`ScoredTrials.grouped`
    + :func:`.core.summarize`), kept as the reference :func:`replicate_metrics` is tested and
    benchmarked against: same resampling scheme, another random stream, ~100x slower at 1M trials."""
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


# --- The fast engine: sort once, draw replicates in blocks as counts along the fixed sorted order ---

# Bins along one system's sorted scores. Up to this many distinct scores every distinct score is its
# own bin (exact); above it, consecutive distinct scores are pooled into bins of about equal trial
# mass (plus forced edges at the actDCF and fixed thresholds), so a replicate costs O(bins), not O(n):
# MAX_BINS bins at 1M trials, and fewer, in proportion to sqrt(n), below (see bin_count), so that a
# bin stays about the same small fraction of the CI width (which shrinks as 1 / sqrt(n)).
MAX_BINS = 8192


def bin_count(n: int, max_bins: int = MAX_BINS) -> int:
    """Bins for ``n`` trials with more than ``max_bins`` distinct scores: ``max_bins`` from 1M trials,
    ``max_bins * sqrt(n / 1M)`` below (at least 1024): ~1/8192 of the trials per bin at 1M, ~1/2600 at 100k."""
    return int(min(max_bins, max(1024, round(max_bins * np.sqrt(n / 1e6)))))


# Two-stage resampling draws the trials of a cluster of up to this many trials exactly (a multinomial
# per drawn copy); larger clusters get Poisson counts per bin (see :func:`replicate_metrics`).
EXACT_CLUSTER_TRIALS = 128
_BLOCK_CELLS = 1 << 21  # replicates x bins per block (a few such float arrays live at once)
_BLOCK_DRAWS = 1 << 22  # replicates x exactly drawn trials per block


@dataclass
class _Bins:
    """One system's scores as ``g`` bins of consecutive distinct values along the sorted order."""

    of_trial: np.ndarray  # (n,) bin of each trial
    thr: np.ndarray  # (g + 1,) threshold of each cut: cut j flags the trials of bins >= j
    spm: np.ndarray  # (g,) mean softplus(-s) of the bin's robocall trials (Cllr cost)
    spp: np.ndarray  # (g,) mean softplus(s) of the bin's human trials
    auc_w: np.ndarray  # (g,) share of the bin's robocall-human pairs ordered right (ties 1/2)
    u: np.ndarray  # (g,) the highest distinct score of each bin
    exact: bool  # one bin per distinct score

    @property
    def g(self) -> int:
        return self.u.size


def _bins(scores: np.ndarray, y: np.ndarray, max_bins: int | None, cuts: Sequence[float]) -> _Bins:
    s = np.asarray(scores, dtype=np.float64)
    u, inv = group_index(s)
    nu = u.size
    spm_u, spp_u = softplus_pair(u)
    if max_bins is None or nu <= max_bins:
        thr = np.concatenate(([np.nextafter(u[0], -np.inf)], u))
        return _Bins(inv, thr, spm_u, spp_u, np.full(nu, 0.5), u, True)
    max_bins = bin_count(s.size, max_bins)
    cnt = np.bincount(inv, minlength=nu)
    start = np.cumsum(cnt) - cnt  # trials before each distinct score
    new = np.empty(nu, dtype=bool)
    new[0] = True
    ideal = start * max_bins // s.size  # ~equal trial mass per bin
    np.not_equal(ideal[1:], ideal[:-1], out=new[1:])
    for t in cuts:  # exact cuts at the fixed thresholds (actDCF, at_fixed)
        j = int(np.searchsorted(u, t, side="right"))
        if 0 < j < nu:
            new[j] = True
    g_of_u = np.cumsum(new) - 1
    g = int(g_of_u[-1]) + 1
    last = np.append(np.flatnonzero(new)[1:], nu) - 1  # last distinct score of each bin
    ub = u[last]
    of_trial = g_of_u[inv]
    pos_u = np.bincount(inv[y], minlength=nu).astype(np.float64)
    neg_u = cnt - pos_u
    pos_b = np.bincount(g_of_u, weights=pos_u, minlength=g)
    neg_b = np.bincount(g_of_u, weights=neg_u, minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        spm = np.where(pos_b > 0, np.bincount(g_of_u, weights=pos_u * spm_u, minlength=g) / pos_b, 0.0)
        spp = np.where(neg_b > 0, np.bincount(g_of_u, weights=neg_u * spp_u, minlength=g) / neg_b, 0.0)
        cpos = np.cumsum(pos_u)
        above = cpos[last][g_of_u] - cpos  # robocall trials of the same bin above each distinct score
        right = np.bincount(g_of_u, weights=neg_u * (above + 0.5 * pos_u), minlength=g)
        auc_w = np.where(pos_b * neg_b > 0, right / (pos_b * neg_b), 0.5)
    thr = np.concatenate(([np.nextafter(u[0], -np.inf)], ub))
    return _Bins(of_trial, thr, spm, spp, auc_w, ub, False)


def _last_argmin(x: np.ndarray) -> np.ndarray:
    """(B,) index of the last minimum of each row of ``x`` (B, K)."""
    return x.shape[1] - 1 - np.argmin(x[:, ::-1], axis=1)


def summarize_rows(
    b: _Bins, pos: np.ndarray, neg: np.ndarray, cost: CostModel, threshold: float | None = None
) -> dict[str, np.ndarray]:
    """:func:`.core.summarize` of each row of bin counts ``pos``/``neg`` (B, g): ``{metric: (B,)}``.

    With one bin per distinct score (``b.exact``) every value equals :func:`.core.summarize` of that
    row (Cllr up to float rounding of the dot product); pooled bins treat their scores as tied,
    except that AUC and Cllr use each bin's own within-bin pair order and mean costs.
    """
    rows = np.arange(pos.shape[0])
    cpos = np.zeros((pos.shape[0], pos.shape[1] + 1))
    cneg = np.zeros_like(cpos)
    np.cumsum(pos, axis=1, out=cpos[:, 1:])
    np.cumsum(neg, axis=1, out=cneg[:, 1:])
    n_pos, n_neg = cpos[:, -1].copy(), cneg[:, -1].copy()
    fnr = cpos / n_pos[:, None]
    fpr = (n_neg[:, None] - cneg) / n_neg[:, None]
    k = _last_argmin(np.abs(fpr - fnr))
    a, c = cost.c_miss * (1.0 - cost.p_spoof), cost.c_fa * cost.p_spoof
    dcf = a * fpr + c * fnr
    kd = _last_argmin(dcf)
    j = int(np.searchsorted(b.u, cost.act_threshold, side="right"))
    pos_above = n_pos[:, None] - cpos[:, 1:]
    auc = (neg * (pos_above + b.auc_w * pos)).sum(axis=1) / (n_pos * n_neg)
    cllr = ((pos @ b.spm) / n_pos + (neg @ b.spp) / n_neg) / (2.0 * LOG2)
    min_cllr = np.array([min_cllr_grouped(Grouped(b.u, pos[i], neg[i])) for i in rows])
    i_fnr = np.sum(fnr <= 0.01, axis=1) - 1
    i_fpr = np.sum(fpr > 0.01, axis=1)
    out = {
        "eer": 0.5 * (fpr[rows, k] + fnr[rows, k]),
        "eer_threshold": b.thr[k],
        "min_dcf": dcf[rows, kd] / cost.normaliser,
        "min_dcf_threshold": b.thr[kd],
        "act_dcf": (a * fpr[:, j] + c * fnr[:, j]) / cost.normaliser,
        "cllr": cllr,
        "min_cllr": min_cllr,
        "auc": auc,
        "fpr_at_fnr_1pct": fpr[rows, i_fnr],
        "fnr_at_fpr_1pct": fnr[rows, i_fpr],
        "n_robocall": n_pos,
        "n_human": n_neg,
    }
    out.update(_confusion_rows(fpr[rows, k], fnr[rows, k], n_pos, n_neg, "at_eer"))
    if threshold is not None:
        kf = int(np.searchsorted(b.u, float(threshold), side="right"))
        out.update(_confusion_rows(fpr[:, kf], fnr[:, kf], n_pos, n_neg, "at_fixed"))
    return out


def _confusion_rows(fpr: np.ndarray, fnr: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray, tag: str) -> dict:
    """:func:`.core._confusion` for (B,) operating points."""
    tp = (1.0 - fnr) * n_pos
    fp = fpr * n_neg
    fn, tn = n_pos - tp, n_neg - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return {
        f"accuracy_{tag}": (tp + tn) / (n_pos + n_neg),
        f"precision_{tag}": prec,
        f"recall_{tag}": tp / n_pos,
        f"f1_{tag}": f1,
    }


class _ClassPlan:
    """One class's clusters for block sampling: which are drawn trial by trial (exact), which by bin."""

    def __init__(self, idx: np.ndarray, clusters: np.ndarray, within: bool, exact_max: float) -> None:
        codes = np.unique(clusters, return_inverse=True)[1].ravel()
        self.idx, self.codes, self.k = idx, codes, int(codes.max()) + 1
        self.sizes = np.bincount(codes, minlength=self.k)
        self.order = idx[np.argsort(codes, kind="stable")]  # global trial ids grouped by cluster
        self.starts = np.cumsum(self.sizes) - self.sizes
        # within=False: every cluster's trials are weighted by its count (one matrix product);
        # within=True: small clusters are drawn trial by trial, large ones get Poisson bin counts.
        self.exact = self.sizes <= exact_max if within else np.zeros(self.k, dtype=bool)
        self.ex = np.flatnonzero(self.exact & (self.sizes > 1))
        self.single = np.flatnonzero(self.exact & (self.sizes == 1))
        self.single_trial = self.order[self.starts[self.single]]
        self.rest = np.flatnonzero(~self.exact)
        self.n_exact = int(self.sizes[self.ex].sum())
        self.within = within

    def rest_matrix(self, of_trial: np.ndarray, g: int):
        """(k_rest, g) trial counts of the non-exact clusters per bin (dense float32, or CSR when large)."""
        keep = ~self.exact[self.codes]
        remap = np.full(self.k, -1)
        remap[self.rest] = np.arange(self.rest.size)
        r, c = remap[self.codes[keep]], of_trial[self.idx[keep]]
        if self.rest.size * g <= (1 << 23):
            # float32: counts and their sums stay integers below 2**24, exact, at twice the BLAS speed
            m = np.bincount(r * g + c, minlength=self.rest.size * g).reshape(self.rest.size, g)
            return m.astype(np.float32)
        from scipy.sparse import csr_matrix

        m = csr_matrix((np.ones(r.size, dtype=np.float32), (r, c)), shape=(self.rest.size, g))
        m.sum_duplicates()
        return m

    def draw(self, rng: np.random.Generator, nb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cluster counts (nb, k), replicate of each exactly drawn trial, its global trial id)."""
        k = self.k
        drawn = rng.integers(0, k, size=(nb, k)) + (np.arange(nb) * k)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=nb * k).reshape(nb, k)
        if self.ex.size == 0:
            e = np.empty(0, dtype=np.int64)
            return counts, e, e
        m = counts[:, self.ex].ravel()
        sz = np.tile(self.sizes[self.ex], nb)
        nd = m * sz  # trials drawn per (replicate, cluster): its copies x its size
        rep = np.repeat(np.repeat(np.arange(nb), self.ex.size), nd)
        base = np.repeat(np.tile(self.starts[self.ex], nb), nd)
        off = (rng.random(rep.size) * np.repeat(sz, nd)).astype(np.int64)
        return counts, rep, self.order[base + off]


def _class_counts(
    plan: _ClassPlan, draw: tuple, b: _Bins, rest_m, rng: np.random.Generator, nb: int
) -> np.ndarray:
    """(nb, g) counts per bin of one class in each replicate of a block."""
    counts, rep, trials = draw
    g = b.g
    out = np.zeros((nb, g))
    if trials.size:
        out += np.bincount(rep * g + b.of_trial[trials], minlength=nb * g).reshape(nb, g)
    if plan.single.size:
        w = counts[:, plan.single]
        cells = (np.arange(nb)[:, None] * g + b.of_trial[plan.single_trial][None, :]).ravel()
        out += np.bincount(cells, weights=w.ravel(), minlength=nb * g).reshape(nb, g)
    if plan.rest.size:
        mrest = counts[:, plan.rest].astype(np.float32)
        lam = mrest @ rest_m if isinstance(rest_m, np.ndarray) else (rest_m.T @ mrest.T).T
        out += rng.poisson(lam) if plan.within else lam
    return out


def replicate_metrics(
    systems: Sequence[np.ndarray],
    labels: np.ndarray,
    clusters: np.ndarray,
    cfg: BootstrapConfig,
    cost: CostModel,
    threshold: float | None = None,
    max_bins: int | None = MAX_BINS,
    exact_cluster_trials: float = EXACT_CLUSTER_TRIALS,
) -> list[dict[str, np.ndarray]]:
    """Per system, ``{metric: (cfg.n,) replicate values}``; every replicate resamples the same
    trials for all ``systems`` (each (n,) scores on the trials of ``labels``/``clusters`` (n,)).

    Same two-stage scheme as :func:`reference_replicate_metrics`, drawn as counts: per class (robocall
    first) the cluster copies M_c ~ Multinomial(k, 1/k) (k draws with replacement), then the trials
    of cluster c ~ Multinomial(M_c n_c, 1/n_c each). That is *exactly* the old scheme's distribution:
    the M_c copies each draw n_c trials with replacement, and a sum of independent multinomials
    with the same probabilities is the multinomial of the summed size. Each system sorts its scores
    once; a replicate is its class counts along that fixed order, and the metrics of a block of
    replicates come from their cumulative counts at once (:func:`summarize_rows`).

    Exact (equal in distribution to the reference) when every cluster has at most
    ``exact_cluster_trials`` trials and a system has at most ``max_bins`` distinct scores, and always
    with several ``systems`` (the paired bootstrap: both systems see the very same resampled trials).
    Otherwise, for one system (``rcb eval`` at scale), two approximations keep a replicate O(bins)
    instead of O(n): a larger cluster's trial counts are Poisson(M_c) per trial (the Poisson
    bootstrap of its trials; only the cluster's total differs, Poisson instead of fixed, a relative
    variance of 1/n_c), summed per bin as Poisson(sum of M_c x its trials in the bin); and distinct
    scores are pooled into :func:`bin_count` bins of equal trial mass (8192 at 1M trials), so
    operating points are read at bin edges (a resolution of 1/8192 of the trials at 1M; the actDCF
    and fixed thresholds are exact bin edges), minCllr pools each bin, and AUC / Cllr use each bin's
    own pair order and mean costs. benchmarks/bootstrap_speed.py prints both engines' replicate
    mean and sd at 1M trials; tests/test_bootstrap_fast.py checks them against each other.
    ``within=False`` (cluster counts only) is exact at any size: a matrix product of cluster counts.
    """
    y = np.asarray(labels, dtype=bool)
    c = np.asarray(clusters)
    if c.shape != y.shape:
        raise ValueError(f"clusters has {c.size} values but labels has {y.size}")
    paired = len(systems) > 1
    if paired:  # the pairing must hold trial by trial: no Poisson bins, no pooled scores
        max_bins, exact_cluster_trials = None, np.inf
    plans = [_ClassPlan(np.flatnonzero(y == side), c[y == side], cfg.within, exact_cluster_trials)
             for side in (True, False)]  # fmt: skip
    cuts = [cost.act_threshold] + ([float(threshold)] if threshold is not None else [])
    bins = [_bins(s, y, max_bins, cuts) for s in systems]
    mats = [[p.rest_matrix(b.of_trial, b.g) if p.rest.size else None for p in plans] for b in bins]
    g_max = max(b.g for b in bins)
    n_exact = sum(p.n_exact for p in plans)
    nb = int(max(1, min(256, _BLOCK_CELLS // g_max, _BLOCK_DRAWS // max(n_exact, 1))))
    rng = np.random.default_rng(cfg.seed)
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in systems]
    done = 0
    while done < cfg.n:
        m = min(nb, cfg.n - done)
        draws = [p.draw(rng, m) for p in plans]
        for out, b, mat in zip(parts, bins, mats, strict=True):
            pos = _class_counts(plans[0], draws[0], b, mat[0], rng, m)
            neg = _class_counts(plans[1], draws[1], b, mat[1], rng, m)
            out.append(summarize_rows(b, pos, neg, cost, threshold))
        done += m
    return [{k: np.concatenate([p[k] for p in sys_parts]) for k in sys_parts[0]} for sys_parts in parts]


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
