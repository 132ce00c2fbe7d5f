"""Evaluating one score file against a protocol: pooled, per-condition and early-detection metrics."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..contract import CAMPAIGN_TRACK, MAX_BAD_LINES, Protocol, read_protocol, read_scores, sha256_file
from ..contract.clusters import read_clusters
from ..errors import RcbError
from .bootstrap import BootstrapConfig, bootstrap_metrics
from .breakdown import breakdown_columns, cluster_ids, conditions
from .clustering import campaign_clustering
from .core import CostModel, compute_metrics

SCHEMA = "robocall-bench/metrics"
SCHEMA_VERSION = 1
# Scalar metrics reported with a CI, in report order.
HEADLINE = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct")
AT_THRESHOLD = ("accuracy", "precision", "recall", "f1")


@dataclass
class EvalSpec:
    """What to evaluate and how; mirrors ``configs/eval.yaml``."""

    protocol: str | Path
    scores: str | Path
    split: str = "eval"
    track: str | None = None
    dev_scores: str | Path | None = None
    threshold: float | None = None
    early: Mapping[float, str | Path] = field(default_factory=dict)
    # None: DEFAULT_BREAKDOWN minus the columns the protocol lacks (noted); a list: exactly those.
    breakdown: Sequence[str] | None = None
    snr_edges: Sequence[float] = (0.0, 10.0, 20.0)
    duration_edges: Sequence[float] = (2.0, 4.0, 8.0)
    cost: CostModel = field(default_factory=CostModel)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    # Replicates per breakdown condition (0: no CIs there). Fewer than for the pooled numbers:
    # dozens of conditions x 1000 replicates would dominate the run time.
    bootstrap_breakdowns: int = 200
    human_cluster: str = "speaker"
    robocall_cluster: str = "system"
    max_score_bytes: int | None = None
    max_bad_score_lines: int = MAX_BAD_LINES
    worst_min_trials: int = 5
    # A cluster file (utt_id<TAB>cluster) of a set-level system, scored against the campaign column.
    clusters: str | Path | None = None


@dataclass
class EvalResult:
    """``metrics``: the JSON-able metrics.json content; ``scores``/``labels`` (n,) for the plots."""

    metrics: dict
    scores: np.ndarray
    labels: np.ndarray
    early_scores: dict[float, np.ndarray] = field(default_factory=dict)


def git_sha() -> str | None:
    """HEAD of the repository this package runs from (editable install), else None."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        r = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return r.stdout.strip() or None


def pack(point: Mapping[str, float], ci: Mapping[str, tuple[float, float]]) -> dict:
    """Point values + CIs into ``{metric: {"value", "ci"}}`` plus thresholds and counts."""

    def one(key: str) -> dict:
        lo_hi = ci.get(key)
        return {"value": point[key], "ci": None if lo_hi is None else [lo_hi[0], lo_hi[1]]}

    out: dict = {k: one(k) for k in HEADLINE}
    out["at_eer_threshold"] = {m: one(f"{m}_at_eer") for m in AT_THRESHOLD}
    out["at_fixed_threshold"] = (
        {m: one(f"{m}_at_fixed") for m in AT_THRESHOLD} if "accuracy_at_fixed" in point else None
    )
    out["eer_threshold"] = point["eer_threshold"]
    out["min_dcf_threshold"] = point["min_dcf_threshold"]
    out["n_robocall"] = int(point["n_robocall"])
    out["n_human"] = int(point["n_human"])
    return out


def score_block(
    scores: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    spec: EvalSpec,
    threshold: float | None,
    boot: BootstrapConfig | None,
) -> dict:
    """Packed metrics (with CIs from ``boot`` unless None) for one set of trials, each array (n,)."""
    try:
        point = compute_metrics(scores, labels, spec.cost, threshold)
    except ValueError as e:
        raise RcbError(str(e)) from e
    cis = (
        bootstrap_metrics(scores, labels, clusters, boot, spec.cost, threshold) if boot and boot.n > 0 else {}
    )
    return pack(point, cis)


def _dev_threshold(spec: EvalSpec, proto: Protocol) -> tuple[float | None, dict]:
    if spec.dev_scores in (None, "", "null"):
        if spec.threshold is None:
            return None, {"source": None, "value": None}
        return float(spec.threshold), {"source": "given", "value": float(spec.threshold)}
    dev = proto.select("dev")
    sf = read_scores(spec.dev_scores, dev, proto, "split=dev", spec.max_score_bytes, spec.max_bad_score_lines)
    try:
        t = compute_metrics(sf.scores, dev.is_robocall, spec.cost)["eer_threshold"]
    except ValueError as e:
        raise RcbError(f"{sf.path}: cannot fix a threshold on dev: {e}") from e
    return t, {"source": "dev_eer", "value": t, "dev_scores_sha256": sf.sha256}


def clustering_rows(sel: Protocol) -> tuple[Protocol, str]:
    """(the rows a cluster file must cover, what they are): the campaign track's rows when the
    selection holds that track among others, else the whole selection."""
    track = sel.cols["track"]
    if (track == CAMPAIGN_TRACK).any() and not (track == CAMPAIGN_TRACK).all():
        return sel.subset(track == CAMPAIGN_TRACK), f"track={CAMPAIGN_TRACK}"
    return sel, "the evaluated rows"


def check_clusters_spec(spec: EvalSpec, proto: Protocol) -> None:
    """RcbError before any work when clusters= is given but the protocol has no campaign column."""
    if spec.clusters not in (None, "") and "campaign" not in proto.cols:
        raise RcbError(
            f"{proto.path}: this protocol has no campaign column: build a corpus with the campaign track "
            "(corpus version >= 2) or drop clusters="
        )


def evaluate_clusters(spec: EvalSpec, sel: Protocol) -> dict | None:
    """metrics.json's ``clustering`` block for ``spec.clusters`` (None when not given)."""
    if spec.clusters in (None, ""):
        return None
    rows, what = clustering_rows(sel)
    pred = read_clusters(spec.clusters, rows.cols["utt_id"])
    return {
        "rows": what,
        **campaign_clustering(pred, rows.cols["campaign"], rows.is_robocall),
        "truth": "protocol campaign column; each live call ('-') its own cluster",
    }


def evaluate(spec: EvalSpec) -> EvalResult:
    """Validate the score file(s) against the protocol selection and compute every metric."""
    proto = read_protocol(spec.protocol)
    sel = proto.select(spec.split, spec.track)
    where = f"split={spec.split}" + (f" track={spec.track}" if spec.track else "")
    columns, skipped_breakdowns = breakdown_columns(sel, spec.breakdown)  # before the slow part
    check_clusters_spec(spec, proto)
    clustering = evaluate_clusters(spec, sel)  # a bad cluster file fails before the score file is read
    sf = read_scores(spec.scores, sel, proto, where, spec.max_score_bytes, spec.max_bad_score_lines)
    labels = sel.is_robocall
    if labels.all() or not labels.any():
        only = "robocall" if labels.all() else "human"
        raise RcbError(
            f"{sel.path}: {where} holds only {only} rows ({len(sel)}); EER and the other metrics need both "
            "classes. Evaluate a split/track with both, or rebuild the corpus."
        )
    # Integer codes in the names' order: the same resampling as the names, without sorting 1M strings
    # again for every breakdown condition.
    clusters = np.unique(cluster_ids(sel, spec.human_cluster, spec.robocall_cluster), return_inverse=True)[
        1
    ].ravel()
    threshold, thr_info = _dev_threshold(spec, proto)
    ci = spec.bootstrap.n > 0
    pooled = score_block(sf.scores, labels, clusters, spec, threshold, spec.bootstrap)
    sub_boot = replace(spec.bootstrap, n=spec.bootstrap_breakdowns) if ci else None

    breakdowns: dict[str, list] = {}
    for cond in conditions(sel, columns, spec.snr_edges, spec.duration_edges):
        m = cond.mask
        block = score_block(sf.scores[m], labels[m], clusters[m], spec, threshold, sub_boot)
        breakdowns.setdefault(cond.column, []).append({"value": cond.value, "pairing": cond.pairing, **block})

    early, early_scores, early_prov = [], {}, {}
    for sec, path in sorted(((float(k), v) for k, v in (spec.early or {}).items()), key=lambda kv: kv[0]):
        ef = read_scores(
            path, sel, proto, f"{where} (early {sec:g} s)", spec.max_score_bytes, spec.max_bad_score_lines
        )
        early.append(
            {
                "seconds": sec,
                **score_block(ef.scores, labels, clusters, spec, threshold, spec.bootstrap if ci else None),
            }
        )
        early_scores[sec] = ef.scores
        early_prov[f"{sec:g}"] = {"path": str(ef.path), "sha256": ef.sha256}

    metrics = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        **{k: pooled[k] for k in HEADLINE},
        "pooled": pooled,
        "thresholds": {
            "eer": pooled["eer_threshold"],
            "min_dcf": pooled["min_dcf_threshold"],
            "act_dcf": spec.cost.act_threshold,
            "fixed": thr_info,
            "decision": "robocall when score > threshold",
        },
        "breakdowns": breakdowns,
        "breakdowns_skipped": skipped_breakdowns,
        "worst_condition": worst_condition(breakdowns, spec.worst_min_trials),
        "early_detection": early,
        "clustering": clustering,
        "config": {
            "split": spec.split,
            "track": spec.track,
            "cost": {"p_spoof": spec.cost.p_spoof, "c_miss": spec.cost.c_miss, "c_fa": spec.cost.c_fa},
            "bootstrap": {
                "n": spec.bootstrap.n,
                "seed": spec.bootstrap.seed,
                "alpha": spec.bootstrap.alpha,
                "within": spec.bootstrap.within,
                "human_cluster": spec.human_cluster,
                "robocall_cluster": spec.robocall_cluster,
                "breakdowns": spec.bootstrap_breakdowns,
            },
            "breakdown": columns,
            "snr_edges": list(spec.snr_edges),
            "duration_edges": list(spec.duration_edges),
        },
        "provenance": {
            "protocol": str(proto.path),
            "protocol_sha256": proto.sha256,
            "manifest_protocol_sha256": proto.manifest.get("protocol_sha256"),
            "corpus": proto.corpus,
            "scores": str(sf.path),
            "scores_sha256": sf.sha256,
            "early_scores": early_prov,
            "clusters": None
            if clustering is None
            else {"path": str(spec.clusters), "sha256": sha256_file(spec.clusters)},
            "package": "robocall-bench",
            "package_version": __version__,
            "git_sha": git_sha(),
        },
    }
    return EvalResult(metrics, sf.scores, labels, early_scores)


def worst_condition(breakdowns: Mapping[str, list], min_trials: int = 5, key: str = "eer") -> dict | None:
    """The condition with the highest ``key`` among those with >= ``min_trials`` trials of each class.

    Tiny conditions are left out: their EER is mostly noise. None when no condition qualifies.
    """
    best = None
    for col, rows in breakdowns.items():
        for r in rows:
            if min(r["n_robocall"], r["n_human"]) < min_trials:
                continue
            v = r[key]["value"]
            if best is None or v > best["value"]:
                best = {"column": col, "condition": r["value"], "metric": key, "value": v, "ci": r[key]["ci"]}
    return best
