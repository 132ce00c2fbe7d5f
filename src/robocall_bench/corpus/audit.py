"""``rcb corpus audit``: can simple classifiers on shortcut features (or on the text) find the label?

Each feature alone and all jointly are fitted on train and scored on eval (ROC AUC, folded to
>= 0.5 for single features since the direction is irrelevant to a shortcut). ``joint_auc`` is the
higher of a logistic regression and a small gradient-boosted tree model, so it is the
demanding number. A text-only bag of words on the known texts shows content leakage.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..audio import atomic_write_text
from ..console import make_console
from ..contract import CAMPAIGN_TRACK, LABELS, read_protocol
from ..errors import RcbError
from .features import FEATURES, shortcut_features


def _feat(path: str) -> list[float]:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    f = shortcut_features(x.mean(axis=1), sr)
    return [f[k] for k in FEATURES]


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def _models(seed: int) -> dict:
    return {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "gbdt": HistGradientBoostingClassifier(
            max_depth=3, max_iter=100, learning_rate=0.1, random_state=seed
        ),
    }


def feature_audit(X_tr, y_tr, X_ev, y_ev, seed: int = 0) -> dict:
    """Per-feature and joint eval AUCs; X: (n, n_features) in :data:`FEATURES` order, y: 1 = robocall."""
    per = {}
    for j, name in enumerate(FEATURES):
        best = 0.5
        for m in _models(seed).values():
            m.fit(X_tr[:, [j]], y_tr)
            a = _auc(y_ev, m.predict_proba(X_ev[:, [j]])[:, 1])
            best = max(best, a, 1 - a)
        per[name] = round(best, 4)
    joint = {}
    for k, m in _models(seed).items():
        m.fit(X_tr, y_tr)
        joint[k] = round(_auc(y_ev, m.predict_proba(X_ev)[:, 1]), 4)
    return {"per_feature_auc": per, "joint_auc_by_model": joint, "joint_auc": max(joint.values())}


def text_audit(rows: list[dict], texts: dict[str, str], seed: int = 0) -> dict:
    """Bag-of-words (char 1–3-grams, so Chinese works) logistic regression on rows with a known text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def part(split: str):
        rs = [r for r in rows if r["split"] == split and texts.get(r["utt_id"])]
        return [texts[r["utt_id"]] for r in rs], np.array([r["label"] == "robocall" for r in rs], int)

    t_tr, y_tr = part("train")
    t_ev, y_ev = part("eval")
    if len(set(y_tr)) < 2 or len(set(y_ev)) < 2:
        return {
            "text_auc": None,
            "n_train": len(t_tr),
            "n_eval": len(t_ev),
            "note": "one class lacks known texts",
        }
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=1, sublinear_tf=True)
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit(vec.fit_transform(t_tr), y_tr)
    a = _auc(y_ev, clf.predict_proba(vec.transform(t_ev))[:, 1])
    return {"text_auc": round(a, 4), "n_train": len(t_tr), "n_eval": len(t_ev)}


def campaign_audit(
    X: np.ndarray, y: np.ndarray, rows: list[dict], tr: np.ndarray, on: np.ndarray, seed: int
) -> dict:
    """Shortcuts on the campaign track: the train-split models applied to it (overall and per robocall
    role against all live calls), and a 5-fold cross-validation inside it (folds grouped by campaign,
    so no campaign is on both sides, and stratified by class). ``joint_auc`` is the higher of the two.

    The cross-validated AUC is the mean of the per-fold AUCs: pooling the folds' scores would mix
    models with different intercepts, which alone can push a pooled AUC far from 0.5.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    idx = np.flatnonzero(on)
    Xc, yc = X[idx], y[idx]
    res: dict = {"n": int(idx.size), "train_to_track": feature_audit(X[tr], y[tr], Xc, yc, seed)}
    role = np.array([r.get("role", "") for r in rows])[idx]
    by_role: dict[str, float] = {}
    for m in _models(seed).values():
        s = m.fit(X[tr], y[tr]).predict_proba(Xc)[:, 1]
        for r in ("tts", "recorded"):
            keep = (role == r) | (role == "live")
            if (role == r).any():
                a = _auc(yc[keep], s[keep])
                by_role[f"{r} vs live"] = round(max(by_role.get(f"{r} vs live", 0.0), a), 4)
    res["by_role"] = by_role
    groups = np.array([r["campaign"] if r["campaign"] != "-" else r["utt_id"] for r in rows])[idx]
    k_folds = min(5, len(set(groups[yc == 1])), len(set(groups[yc == 0])))  # every fold needs both classes
    folds = StratifiedGroupKFold(n_splits=max(2, k_folds), shuffle=True, random_state=seed)
    per: dict[str, list[float]] = {k: [] for k in _models(seed)}
    for a, b in folds.split(Xc, yc, groups) if k_folds >= 2 else ():
        if len(set(yc[a])) < 2 or len(set(yc[b])) < 2:
            continue
        for k, m in _models(seed).items():
            per[k].append(_auc(yc[b], m.fit(Xc[a], yc[a]).predict_proba(Xc[b])[:, 1]))
    cv = {k: round(float(np.mean(v)), 4) for k, v in per.items() if v}
    res["cross_validated"] = {"joint_auc_by_model": cv, "joint_auc": max(cv.values()) if cv else None,
                              "folds": len(next(iter(per.values())))}  # fmt: skip
    res["joint_auc"] = max(res["train_to_track"]["joint_auc"], res["cross_validated"]["joint_auc"] or 0.0)
    return res


def run_audit(
    corpus: str | Path, seed: int = 0, num_workers: int = 2, console: Console | None = None
) -> dict:
    """Audit the corpus in ``corpus``; writes ``audit.json`` there, prints a table and the JSON."""
    console = console or make_console()
    d = Path(corpus)
    rows = read_protocol(d, require=("path",)).rows()
    paths = [str(d / r["path"]) for r in rows]
    with ProcessPoolExecutor(max(1, num_workers)) as ex:
        X = np.array(list(ex.map(_feat, paths, chunksize=32)), dtype=np.float64)
    y = np.array([r["label"] == "robocall" for r in rows], int)
    split = np.array([r["split"] for r in rows])
    track = np.array([r["track"] for r in rows])
    on_campaign = track == CAMPAIGN_TRACK
    tr, ev = split == "train", (split == "eval") & ~on_campaign  # the per-call tracks
    if len(set(y[tr])) < 2 or len(set(y[ev])) < 2:
        raise RcbError(f"{d}: the audit needs both classes in train and eval; is the corpus complete?")
    res = feature_audit(X[tr], y[tr], X[ev], y[ev], seed)
    by_lang = {}
    lang = np.array([r["language"] for r in rows])
    for lg in sorted(set(lang)):
        m_tr, m_ev = tr & (lang == lg), ev & (lang == lg)
        if len(set(y[m_tr])) == 2 and len(set(y[m_ev])) == 2:
            by_lang[lg] = feature_audit(X[m_tr], y[m_tr], X[m_ev], y[m_ev], seed)["joint_auc"]
    res["joint_auc_by_language"] = by_lang
    texts = {}
    meta = d / "metadata.jsonl"
    if meta.is_file():
        for line in meta.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            if m.get("text"):
                texts[m["utt_id"]] = m["text"]
    res["text"] = text_audit([r for r in rows if r["track"] != CAMPAIGN_TRACK], texts, seed)
    if on_campaign.any():
        res["campaign"] = campaign_audit(X, y, rows, tr, on_campaign, seed)
    res["n_train"], res["n_eval"] = int(tr.sum()), int(ev.sum())
    means = {
        lab: {k: round(float(v), 4) for k, v in zip(FEATURES, X[ev & (y == i)].mean(axis=0), strict=True)}
        for i, lab in enumerate(LABELS)
    }
    res["eval_feature_means"] = means
    atomic_write_text(d / "audit.json", json.dumps(res, indent=1, sort_keys=True))
    t = Table(title=f"shortcut audit (train -> eval ROC AUC; 0.5 = no shortcut) {d.name}")
    for c in ("feature", "AUC", "human mean", "robocall mean"):
        t.add_column(c, justify="left" if c == "feature" else "right")
    for k in FEATURES:
        t.add_row(
            k, f"{res['per_feature_auc'][k]:.3f}", f"{means['human'][k]:.4g}", f"{means['robocall'][k]:.4g}"
        )
    t.add_row("joint", f"{res['joint_auc']:.3f}", str(res["joint_auc_by_model"]), "", end_section=True)
    t.add_row("text only", str(res["text"]["text_auc"]), f"{res['text']['n_eval']} eval texts", "")
    if "campaign" in res:
        c = res["campaign"]
        t.add_row(
            "campaign track", f"{c['joint_auc']:.3f}",
            f"train->track {c['train_to_track']['joint_auc']:.3f}, 5-fold {c['cross_validated']['joint_auc'] or float('nan'):.3f}",
            " ".join(f"{k} {v:.3f}" for k, v in c["by_role"].items()),
        )  # fmt: skip
    console.print(t)
    print(
        json.dumps(
            {
                "joint_auc": res["joint_auc"],
                "joint_auc_by_language": by_lang,
                "text_auc": res["text"]["text_auc"],
                **({"campaign_joint_auc": res["campaign"]["joint_auc"]} if "campaign" in res else {}),
            }
        )
    )
    return res
