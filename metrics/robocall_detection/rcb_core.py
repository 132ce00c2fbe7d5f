"""Robocall-vs-human detection metrics from scores and labels: numpy + scipy's PAVA, O(n log n).

This file is self-contained (numpy and scipy only) because it is vendored verbatim into the
Hugging Face ``evaluate`` module under ``metrics/robocall_detection/``; a test keeps the copy identical.

Conventions
-----------
* ``score``: evidence for robocall, higher = more robocall; ideally a log-likelihood ratio
  log p(score | robocall) / p(score | human).  ``label``: True/1 = robocall, False/0 = human.
* Decision: a trial is flagged robocall when ``score > threshold``.
* FPR = humans flagged / humans (blocking a human, the carrier's costly error);
  FNR = robocalls passed / robocalls.
* ASVspoof 5 mapping: robocall plays the spoof role and human the bona fide role with
  CM score = -score, so ASVspoof's P_miss(bona fide) = FPR and P_fa(spoof) = FNR, and
  DCF = C_miss (1 - P_spoof) FPR + C_fa P_spoof FNR, normalised by min(C_miss (1 - P_spoof), C_fa P_spoof).
* Ties are handled exactly: the operating points are the cuts between distinct scores.

Degenerate inputs have documented values: all-equal scores give EER 0.5, minDCF 1, AUC 0.5 and
minCllr 1; a single class present is an error (every metric needs both classes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression

LOG2 = float(np.log(2.0))
# Above this many values two independent numpy passes run in two threads (numpy releases the GIL
# in sorts and ufunc loops); below it a thread start costs more than it saves.
PARALLEL_MIN = 1 << 17


def _both(f: Callable[[], Any], g: Callable[[], Any], n: int) -> tuple[Any, Any]:
    """(f(), g()), with f in a second thread when ``n`` >= PARALLEL_MIN.

    A short-lived thread rather than a pool: a module-level pool would be inherited broken by
    forked data-loader workers. Each call computes the same values either way (no split reductions).
    """
    if n < PARALLEL_MIN:
        return f(), g()
    out: list[Any] = []
    err: list[BaseException] = []

    def run() -> None:
        try:
            out.append(f())
        except BaseException as e:  # re-raised in the caller's thread
            err.append(e)

    th = threading.Thread(target=run)
    th.start()
    try:
        b = g()
    finally:
        th.join()
    if err:
        raise err[0]
    return out[0], b


@dataclass(frozen=True)
class CostModel:
    """Detection cost parameters; the defaults are ASVspoof 5's (robocall = spoof)."""

    p_spoof: float = 0.05
    c_miss: float = 1.0
    c_fa: float = 10.0

    @property
    def act_threshold(self) -> float:
        """Bayes threshold on a calibrated LLR: flag robocall when score > log(C_miss (1-P) / (C_fa P))."""
        return float(np.log(self.c_miss * (1.0 - self.p_spoof) / (self.c_fa * self.p_spoof)))

    @property
    def normaliser(self) -> float:
        """Cost of the better of the two trivial systems (flag all, flag none)."""
        return min(self.c_miss * (1.0 - self.p_spoof), self.c_fa * self.p_spoof)


@dataclass(frozen=True)
class Grouped:
    """Scores collapsed to distinct values: ``u`` (U,) ascending, ``pos``/``neg`` (U,) robocall/human counts.

    Counts are floats so that bootstrap replicates can carry multiplicities.
    """

    u: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    # softplus(-u), softplus(u) (U,): cached by the bootstrap, which reuses ``u`` for every replicate.
    sp: tuple[np.ndarray, np.ndarray] | None = None
    # (sum of softplus(-s) over robocall trials, sum of softplus(s) over human trials): the Cllr
    # numerators, computed by ``group(..., cllr=True)`` from the trials while it merges the classes.
    cllr_sums: tuple[float, float] | None = None


# Passes over (K,) curves run in blocks that fit in L2 with per-thread scratch: at 1M trials each
# fresh 8 MB temporary costs ~1-2 ms of page faults, more than the arithmetic on it.
BLOCK = 1 << 16


def _spans(lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) cut into blocks of at most BLOCK values."""
    return [(a, min(a + BLOCK, hi)) for a in range(lo, hi, BLOCK)]


def _run_blocks(
    spans: list[tuple], fn: Callable[..., Any], n: int, main: Callable[[], Any] | None = None
) -> tuple[list[Any], Any]:
    """([fn(*span, scratch) for span in spans], main()), the results in span order.

    ``scratch`` is a (2, BLOCK) float64 buffer private to the thread. When ``n`` is large a second
    thread starts on the spans at once while the calling one runs ``main`` (if any) and then takes
    spans too, so neither waits while the other has work. Results come back in span order, so a
    caller's reduction over them is the same whichever thread did which span.
    """
    res: list[Any] = [None] * len(spans)
    todo = iter(range(len(spans)))  # next() on a range iterator is atomic under the GIL

    def drain() -> None:
        scratch = np.empty((2, max(1, min(BLOCK, n))))
        for j in todo:
            res[j] = fn(*spans[j], scratch)

    def main_then_drain() -> Any:
        out = None if main is None else main()
        drain()
        return out

    _, out = _both(drain, main_then_drain, n)
    return res, out


def _log1p_exp_neg_abs(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """log1p(exp(-|x|)) of ``x`` into ``out`` (same shape; may be ``x`` itself): softplus's tail."""
    np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    return np.log1p(out, out=out)


def check_inputs(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``scores`` (n,) finite floats and ``labels`` (n,) 0/1 with both classes; return them typed."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores has {s.size} values but labels has {y.size}")
    if s.size == 0:
        raise ValueError("no trials: scores and labels are empty")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{int(np.sum(~np.isfinite(s)))} scores are NaN or infinite")
    if y.dtype != np.bool_:
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("labels must be 0/1 or boolean (1 = robocall)")
        y = y.astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        only = "robocall" if n_pos else "human"
        raise ValueError(f"only one class present ({y.size} {only} trials): every metric needs both classes")
    return s, y


def group_index(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``scores`` (n,) ascending (U,) and each trial's index into them (n,)."""
    order = np.argsort(scores)  # stability is irrelevant: equal scores collapse into one group
    s = scores[order]
    new = np.empty(s.size, dtype=bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    inv = np.empty(s.size, dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return s[new], inv


def _softplus_sum_block(lo: int, hi: int, sign: float, c: np.ndarray, buf: np.ndarray) -> float:
    """sum(softplus(sign * c[lo:hi])), hi - lo <= BLOCK, using ``buf`` (2, BLOCK)."""
    xb = c[lo:hi]
    tail, relu = buf[0, : xb.size], buf[1, : xb.size]
    _log1p_exp_neg_abs(xb, tail)
    np.multiply(xb, sign, out=relu)
    np.maximum(relu, 0.0, out=relu)  # softplus(z) = max(z, 0) + log1p(exp(-|z|))
    return float(tail.sum()) + float(relu.sum())


def group(scores: np.ndarray, labels: np.ndarray, cllr: bool = False) -> Grouped:
    """Collapse ``scores`` (n,) with boolean ``labels`` (n,) into per-distinct-score class counts.

    ``cllr``: also fill ``cllr_sums``, in a second thread while the main one merges the classes
    (the merge is the one step that does not split in two), so that Cllr costs no extra wall time.
    """
    # Sort each class by value, then merge the two sorted runs with a stable argsort (timsort
    # merges runs in linear time): several times faster at 10M trials than one indirect sort of
    # everything, because numpy's value sort is vectorised and its indirect quicksort is not.
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    n_pos = int(np.count_nonzero(labels))
    c = np.empty(scores.size, dtype=np.float64)  # robocall scores sorted, then human scores sorted

    def fill(sel: np.ndarray, part: np.ndarray) -> None:
        np.compress(sel, scores, out=part)  # compress: several times faster than a boolean mask
        part.sort()

    _both(lambda: fill(labels, c[:n_pos]), lambda: fill(~labels, c[n_pos:]), scores.size)

    sums_ = None
    if cllr:  # Cllr numerators over the trials, block by block, beside the merge
        pos_spans = [(lo, hi, -1.0) for lo, hi in _spans(0, n_pos)]
        spans = pos_spans + [(lo, hi, 1.0) for lo, hi in _spans(n_pos, c.size)]
        parts, order = _run_blocks(
            spans,
            lambda lo, hi, sign, buf: _softplus_sum_block(lo, hi, sign, c, buf),
            c.size,
            main=lambda: np.argsort(c, kind="stable"),
        )
        k = len(pos_spans)
        sums_ = (sum(parts[:k]), sum(parts[k:]))  # span order: the same totals whichever thread ran them
    else:
        order = np.argsort(c, kind="stable")
    a = c[order]
    new = np.empty(a.size, dtype=bool)
    new[:1] = True
    np.not_equal(a[1:], a[:-1], out=new[1:])
    is_pos = order < n_pos
    if new.all():  # no ties (continuous scores): every trial is its own group
        # c and order are spent: their memory takes pos and neg (no fresh 8 MB arrays at 1M trials).
        pos, neg = c, order.view(np.float64)
        np.copyto(pos, is_pos)
        np.subtract(1.0, pos, out=neg)
        return Grouped(a, pos, neg, cllr_sums=sums_)
    starts = np.flatnonzero(new)
    u = a[starts]
    ends = np.append(starts[1:], a.size)
    cum_pos = np.cumsum(is_pos)[ends - 1]  # robocalls with score <= u, per group
    pos = np.diff(cum_pos, prepend=0).astype(np.float64)
    neg = np.diff(ends, prepend=0).astype(np.float64) - pos
    return Grouped(u, pos, neg, cllr_sums=sums_)


def operating_points(g: Grouped) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FPR (K,), FNR (K,) and thresholds (K,), K = U + 1, for "flag robocall when score > threshold".

    Point 0 flags everything (FPR 1, FNR 0); point U flags nothing (FPR 0, FNR 1).
    """
    fpr, fnr = rates(g)
    thr = np.concatenate(([np.nextafter(g.u[0], -np.inf)], g.u))
    return fpr, fnr, thr


def _threshold(g: Grouped, k: int) -> float:
    """Threshold of operating point ``k`` (the k-th entry of :func:`operating_points`'s thresholds)."""
    return float(g.u[k - 1]) if k > 0 else float(np.nextafter(g.u[0], -np.inf))


def rates(g: Grouped) -> tuple[np.ndarray, np.ndarray]:
    """FPR (K,) and FNR (K,) of :func:`operating_points`, without the thresholds array."""
    # In place (each (K,) array allocated once): at 1M trials fresh arrays cost as much as the arithmetic.
    fnr = np.empty(g.u.size + 1)
    fpr = np.empty(g.u.size + 1)
    fnr[0] = fpr[0] = 0.0

    def miss() -> None:
        np.cumsum(g.pos, out=fnr[1:])
        np.divide(fnr, fnr[-1], out=fnr)  # robocalls at or below the cut / robocalls

    def false_alarm() -> None:
        np.cumsum(g.neg, out=fpr[1:])
        n_neg = fpr[-1]
        np.subtract(n_neg, fpr, out=fpr)
        np.divide(fpr, n_neg, out=fpr)  # humans above the cut / humans

    _both(miss, false_alarm, fnr.size)
    return fpr, fnr


def eer_index(fpr: np.ndarray, fnr: np.ndarray) -> int:
    """The EER operating point of ``fpr``/``fnr`` (K,) from :func:`operating_points`.

    ASVspoof scans operating points by increasing P_miss(bona fide) = FPR and takes the first
    minimiser of |FPR - FNR|; our points run by decreasing FPR, so this is the last minimiser.
    d = FPR - FNR never increases along the points, so the minimisers are found by bisection
    (O(log K) instead of a pass over K points); ``_eer_index_scan`` is the pass, kept for the tests.
    """
    k_hi = fpr.size - 1

    def d(k: int) -> float:  # the same float arithmetic as the vectorised scan
        return float(fpr[k] - fnr[k])

    def first(pred: Callable[[float], bool]) -> int:
        """First k in [0, K] with pred(d(k)) (K if none); pred is monotone along k."""
        lo, hi = 0, k_hi + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(d(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    ks = first(lambda v: v <= 0.0)  # first point at or past the crossing (d(0) = 1 > 0)
    if ks > k_hi:  # cannot happen for operating points (d(K-1) = -1); kept for arbitrary curves
        ks = k_hi
    v = d(ks)
    # Points before ks have d > 0, the closest to zero last (so ks - 1 ends its run of equal d);
    # points from ks on have d <= 0, the closest to zero in the run of d == d(ks). On a tie in
    # |d| the later point wins.
    if ks > 0 and abs(d(ks - 1)) < abs(v):
        return ks - 1
    return first(lambda x: x < v) - 1


def _eer_index_scan(fpr: np.ndarray, fnr: np.ndarray) -> int:
    """Reference for :func:`eer_index`: the last minimiser of |FPR - FNR| by a full pass."""
    d = np.subtract(fpr, fnr)
    np.abs(d, out=d)
    return d.size - 1 - int(np.argmin(d[::-1]))


def min_dcf_index(fpr: np.ndarray, fnr: np.ndarray, cost: CostModel) -> tuple[int, float]:
    """(operating point, normalised DCF there) minimising the DCF over ``fpr``/``fnr`` (K,)."""
    a, b = cost.c_miss * (1.0 - cost.p_spoof), cost.c_fa * cost.p_spoof

    def part(lo: int, hi: int, buf: np.ndarray) -> tuple[float, int]:
        dcf, tmp = buf[0, : hi - lo], buf[1, : hi - lo]
        np.multiply(fpr[lo:hi], a, out=dcf)
        np.multiply(fnr[lo:hi], b, out=tmp)
        dcf += tmp  # a * fpr + b * fnr
        j = dcf.size - 1 - int(np.argmin(dcf[::-1]))  # last minimiser = first in ASVspoof's scan order
        return float(dcf[j]), lo + j

    best, kd = min(_run_blocks(_spans(0, fpr.size), part, fpr.size)[0], key=lambda r: (r[0], -r[1]))
    return kd, best / cost.normaliser


def summarize(g: Grouped, cost: CostModel = CostModel(), threshold: float | None = None) -> dict[str, float]:
    """Every scalar metric from grouped counts (see module docstring for conventions).

    ``threshold``: an externally fixed threshold (e.g. the dev EER threshold); adds ``*_at_fixed`` keys.
    Zero-count groups (bootstrap replicates) are allowed: they only repeat an operating point.
    """
    n_pos, n_neg = float(g.pos.sum()), float(g.neg.sum())
    fpr, fnr = rates(g)
    k = eer_index(fpr, fnr)
    a, b = cost.c_miss * (1.0 - cost.p_spoof), cost.c_fa * cost.p_spoof
    kd, min_dcf = min_dcf_index(fpr, fnr, cost)
    t_act = cost.act_threshold
    j = int(np.searchsorted(g.u, t_act, side="right"))  # groups 0..j-1 have score <= t_act
    act = (a * fpr[j] + b * fnr[j]) / cost.normaliser
    # AUC = P(robocall score > human score) + P(tie) / 2, from counts (Mann-Whitney).
    pos_above = n_pos - np.cumsum(g.pos)
    auc = float(np.dot(g.neg, pos_above + 0.5 * g.pos)) / (n_pos * n_neg)
    out = {
        "eer": float(0.5 * (fpr[k] + fnr[k])),
        "eer_threshold": _threshold(g, k),
        "min_dcf": min_dcf,
        "min_dcf_threshold": _threshold(g, kd),
        "act_dcf": float(act),
        "cllr": cllr_grouped(g),
        "min_cllr": min_cllr_grouped(g),
        "auc": auc,
        "fpr_at_fnr_1pct": float(fpr[np.searchsorted(fnr, 0.01, side="right") - 1]),
        "fnr_at_fpr_1pct": float(fnr[np.searchsorted(-fpr, -0.01, side="left")]),
        "n_robocall": n_pos,
        "n_human": n_neg,
    }
    out.update(_confusion(fpr, fnr, k, n_pos, n_neg, "at_eer"))
    if threshold is not None:
        kf = int(np.searchsorted(g.u, float(threshold), side="right"))
        out.update(_confusion(fpr, fnr, kf, n_pos, n_neg, "at_fixed"))
    return out


def _confusion(fpr: np.ndarray, fnr: np.ndarray, k: int, n_pos: float, n_neg: float, tag: str) -> dict:
    tp = (1.0 - fnr[k]) * n_pos
    fp = fpr[k] * n_neg
    fn, tn = n_pos - tp, n_neg - fp
    # No trial flagged: precision is 0 by convention (as scikit-learn's zero_division=0).
    prec = tp / (tp + fp) if tp + fp > 0 else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
    return {
        f"accuracy_{tag}": float((tp + tn) / (n_pos + n_neg)),
        f"precision_{tag}": float(prec),
        f"recall_{tag}": float(tp / n_pos),
        f"f1_{tag}": float(f1),
    }


def _softplus_tail(u: np.ndarray) -> np.ndarray:
    """log1p(exp(-|u|)) (U,), the two halves in two threads when large (elementwise: same bits)."""
    tail = np.empty_like(u, dtype=np.float64)
    h = tail.size // 2
    _both(lambda: _log1p_exp_neg_abs(u[:h], tail[:h]), lambda: _log1p_exp_neg_abs(u[h:], tail[h:]), tail.size)
    return tail


def softplus_pair(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(softplus(-u), softplus(u)), each (U,): per-score Cllr costs of a robocall and a human trial.

    One exp/log1p pass for both: softplus(+-u) = max(+-u, 0) + log1p(exp(-|u|)), numpy's
    logaddexp(0, +-u) by the same formula.
    """
    tail = _softplus_tail(u)
    spp = np.maximum(u, 0.0)
    spm = spp - u  # max(-u, 0), exactly
    spm += tail
    spp += tail
    return spm, spp


def cllr_grouped(g: Grouped) -> float:
    """Cllr in bits of scores taken as LLRs: (mean softplus(-s | robocall) + mean softplus(s | human)) / 2 ln 2."""
    n_pos, n_neg = float(g.pos.sum()), float(g.neg.sum())
    if g.cllr_sums is not None:
        return (g.cllr_sums[0] / n_pos + g.cllr_sums[1] / n_neg) / (2.0 * LOG2)
    if g.sp is not None:
        spm, spp = g.sp
        return (float(np.dot(g.pos, spm)) / n_pos + float(np.dot(g.neg, spp)) / n_neg) / (2.0 * LOG2)
    # softplus(-+u) = max(-+u, 0) + tail and max(-u, 0) = max(u, 0) - u: one exp/log1p pass, then dot
    # products only (no per-score cost arrays); equal to the cached form up to float rounding.

    def part(lo: int, hi: int, buf: np.ndarray) -> tuple[float, float]:
        u, p, q = g.u[lo:hi], g.pos[lo:hi], g.neg[lo:hi]
        tail, relu = buf[0, : hi - lo], buf[1, : hi - lo]
        _log1p_exp_neg_abs(u, tail)
        np.maximum(u, 0.0, out=relu)
        return (
            float(np.dot(p, tail)) + float(np.dot(p, relu)) - float(np.dot(p, u)),
            float(np.dot(q, tail)) + float(np.dot(q, relu)),
        )

    parts, _ = _run_blocks(_spans(0, g.u.size), part, g.u.size)
    t = sum(r[0] for r in parts)  # span order: the same sum whichever thread ran which block
    n = sum(r[1] for r in parts)
    return (t / n_pos + n / n_neg) / (2.0 * LOG2)


def min_cllr_grouped(g: Grouped) -> float:
    """Cllr after the optimal monotone calibration (PAV on distinct scores, so ties are pooled)."""
    w = g.pos + g.neg
    keep = w > 0
    pos, neg, w = g.pos[keep], g.neg[keep], w[keep]
    blocks = isotonic_regression(pos / w, weights=w, increasing=True).blocks[:-1]
    # Pool counts per PAV block: the calibrated posterior is constant on a block.
    bp, bn = np.add.reduceat(pos, blocks), np.add.reduceat(neg, blocks)
    n_pos, n_neg = float(bp.sum()), float(bn.sum())
    p = bp / (bp + bn)
    # Posterior -> LLR: subtract the empirical prior log odds. p is 0 (1) only in blocks with no
    # robocall (human) trial, so the infinite terms get zero weight.
    with np.errstate(divide="ignore"):
        llr = np.log(p) - np.log1p(-p) - np.log(n_pos / n_neg)
    t = np.where(bp > 0, np.logaddexp(0.0, -llr), 0.0)
    n = np.where(bn > 0, np.logaddexp(0.0, llr), 0.0)
    return float((np.dot(bp, t) / n_pos + np.dot(bn, n) / n_neg) / (2.0 * LOG2))


def compute_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    cost: CostModel = CostModel(),
    threshold: float | None = None,
) -> dict[str, float]:
    """All scalar metrics for ``scores`` (n,) and ``labels`` (n,) (1/True = robocall)."""
    s, y = check_inputs(scores, labels)
    return summarize(group(s, y, cllr=True), cost, threshold)
