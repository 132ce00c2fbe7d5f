"""Clustering quality of a set-level system: B-cubed precision/recall/F1 and the adjusted Rand index.

B-cubed (Bagga & Baldwin 1998) is averaged per item: for call i with predicted cluster C(i) and true
cluster L(i), precision_i = |C(i) & L(i)| / |C(i)| and recall_i = |C(i) & L(i)| / |L(i)|; F1 is the
harmonic mean of the averaged precision and recall (Amigo et al. 2009). Both sums only need the
contingency counts n_cl (calls in predicted cluster c and true cluster l), since every one of the
n_cl calls of a cell has the same precision n_cl / |C| and recall n_cl / |L|:
P = sum n_cl**2 / |C| / N, R = sum n_cl**2 / |L| / N, so the cost is one np.unique over pairs.

The truth comes from the protocol's ``campaign`` column, where a live call (``-``) belongs to no
campaign: each one is its own singleton truth cluster.
"""

from __future__ import annotations

import numpy as np

from ..contract import NO_CAMPAIGN

KEYS = ("bcubed_precision", "bcubed_recall", "bcubed_f1", "ari")


def truth_clusters(campaign: np.ndarray) -> np.ndarray:
    """(n,) truth labels from a ``campaign`` column (n,): each NO_CAMPAIGN cell gets its own label.

    The unique labels are built from the row index with a prefix no campaign id can share
    (campaign ids are the protocol's, so they are not prefixed), keeping the result a str array.
    """
    c = np.asarray(campaign).astype(str)
    live = c == NO_CAMPAIGN
    out = np.char.add("c:", c).astype(object)
    out[live] = np.char.add("live:", np.flatnonzero(live).astype(str))
    return out.astype(str)


def _codes(labels: np.ndarray) -> np.ndarray:
    """(n,) int codes 0..k-1 of any (n,) label array."""
    return np.unique(np.asarray(labels), return_inverse=True)[1].ravel()


def bcubed(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Per-item averaged B-cubed precision, recall and F1 of ``pred`` (n,) against ``truth`` (n,).

    Labels may be any hashable values; n must be >= 1 (ValueError otherwise).
    """
    p, t = _codes(pred), _codes(truth)
    if p.size != t.size:
        raise ValueError(f"pred has {p.size} labels, truth {t.size}")
    n = p.size
    if n == 0:
        raise ValueError("B-cubed needs at least one item")
    pair = p.astype(np.int64) * (int(t.max()) + 1) + t  # one code per (pred, truth) cell
    cells, cell_n = np.unique(pair, return_counts=True)
    cp, ct = cells // (int(t.max()) + 1), cells % (int(t.max()) + 1)
    size_p, size_t = np.bincount(p), np.bincount(t)
    sq = cell_n.astype(np.float64) ** 2
    prec = float(np.sum(sq / size_p[cp]) / n)
    rec = float(np.sum(sq / size_t[ct]) / n)
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"bcubed_precision": prec, "bcubed_recall": rec, "bcubed_f1": float(f1)}


def adjusted_rand(pred: np.ndarray, truth: np.ndarray) -> float:
    """Adjusted Rand index of ``pred`` (n,) against ``truth`` (n,) (scikit-learn's; 1 = identical)."""
    from sklearn.metrics import adjusted_rand_score  # heavy import: only when clusters= is given

    return float(adjusted_rand_score(_codes(truth), _codes(pred)))


def clustering_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """B-cubed P/R/F1, ARI and the sizes (n calls, true and predicted cluster counts) for (n,) labels."""
    out: dict[str, float | int] = {**bcubed(pred, truth), "ari": adjusted_rand(pred, truth)}
    out["n_calls"] = int(np.asarray(pred).size)
    out["n_true_clusters"] = int(np.unique(np.asarray(truth)).size)
    out["n_pred_clusters"] = int(np.unique(np.asarray(pred)).size)
    return out


def campaign_clustering(pred: np.ndarray, campaign: np.ndarray, robocall: np.ndarray) -> dict[str, dict]:
    """Clustering quality of ``pred`` (n,) against the ``campaign`` column (n,), ``robocall`` (n,) bool.

    ``all``: every call (live calls are singleton truths, so merging one into a campaign costs
    precision); ``campaign_calls``: the robocall rows only (None when there are none), i.e. how
    well the campaigns themselves are recovered.
    """
    truth = truth_clusters(campaign)
    robo = np.asarray(robocall, dtype=bool)
    return {
        "all": clustering_scores(pred, truth),
        "campaign_calls": clustering_scores(np.asarray(pred)[robo], truth[robo]) if robo.any() else None,
    }
