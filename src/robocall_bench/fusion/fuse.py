"""``rcb fuse scores=[a.tsv,b.tsv] dev_scores=[a_dev.tsv,b_dev.tsv] protocol=CORPUS out=fused.tsv``.

A logistic regression on the systems' standardised scores, fitted on the dev split (the labels of
``protocol``; nothing is fitted on eval) and applied to the eval score files. The fused score is
the regression's log-odds (higher = more likely robocall). Score files are read through the
contract's validating reader; the fitted weights go to ``<out>.fusion.json`` with provenance.

Why a linear fusion: the two evidences are complementary (acoustics of one call; the same audio in
other calls), each monotone in "robocall", and dev is small; a linear model cannot overfit it the
way a tree ensemble could, and its weights say how much each system counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..audio import atomic_write_text
from ..config import load_config, print_help_if_asked
from ..contract import Protocol, read_protocol, read_scores, sha256_file, write_scores
from ..errors import RcbError


def _ids_of(path: str) -> set[str]:
    """The ids a score file holds (for choosing the protocol rows it must cover)."""
    p = Path(path)
    if not p.is_file():
        raise RcbError(f"score file {p} not found; pass existing files in scores=[...] and dev_scores=[...]")
    out = set()
    with open(p, encoding="utf-8", errors="replace") as f:
        for line in f:
            cell = line.split("\t", 1)[0].strip()
            if cell and cell != "utt_id":
                out.add(cell)
    return out


def _selection(proto: Protocol, split: str, path: str, track: str | None) -> Protocol:
    """The rows of ``split`` (and ``track``) a score file is checked against."""
    sel = proto.select(split, track)
    if track is None and split == "eval":  # eval files may score one track: take the tracks they touch
        ids = _ids_of(path)
        tracks = sorted(set(sel.cols["track"][np.isin(sel.cols["utt_id"], list(ids))].tolist()))
        sel = sel.subset(np.isin(sel.cols["track"], tracks))
    return sel


def matrix(paths: Sequence[str], sel: Protocol, full: Protocol) -> np.ndarray:
    """(n_rows, n_systems) scores of ``sel``'s rows, one column per score file (all validated)."""
    cols = [read_scores(p, sel, full, where=f"{len(sel)} protocol rows").scores for p in paths]
    return np.stack(cols, axis=1).astype(np.float64)


def fit_fusion(X: np.ndarray, y: np.ndarray, seed: int = 0) -> dict:
    """Logistic regression on standardised columns of X (n, k) with labels y (n,) 0/1 -> parameters."""
    if len(set(y.tolist())) < 2:
        raise RcbError("fusion needs both classes in the dev rows; pass dev score files of the dev split")
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit((X - mu) / sd, y)
    return {
        "mean": mu.tolist(),
        "std": sd.tolist(),
        "coef": clf.coef_[0].tolist(),
        "intercept": float(clf.intercept_[0]),
    }


def apply_fusion(X: np.ndarray, params: dict) -> np.ndarray:
    """Fused log-odds (n,) of scores X (n, k) with the parameters of :func:`fit_fusion`."""
    z = (X - np.asarray(params["mean"])) / np.asarray(params["std"])
    return z @ np.asarray(params["coef"]) + params["intercept"]


def main(argv: Sequence[str]) -> int:
    if print_help_if_asked(argv, __doc__, "fuse"):
        return 0
    c = load_config("fuse", argv)
    scores, dev = [str(s) for s in c.scores], [str(s) for s in c.dev_scores]
    if len(scores) < 2 or len(scores) != len(dev):
        raise RcbError(
            f"scores= has {len(scores)} file(s), dev_scores= {len(dev)}: give the same >= 2 systems in the same "
            "order, e.g. scores=[lcnn_eval.tsv,fp_eval.tsv] dev_scores=[lcnn_dev.tsv,fp_dev.tsv]"
        )
    out = Path(str(c.out))
    if out.is_dir():
        raise RcbError(f"out={out} is a directory; pass a file path")
    proto = read_protocol(str(c.protocol))
    # a dev score file covers the whole dev split (as `rcb train` writes it) or just the rows of
    # dev_track (as `rcb campaign split=dev track=dev-campaign` does); the fit uses dev_track's rows
    dall = proto.select("dev")
    track = None if c.get("dev_track") in (None, "") else str(c.dev_track)
    keep = np.ones(len(dall), bool) if track is None else dall.cols["track"] == track
    if not keep.any():
        raise RcbError(f"dev_track={track}: no dev rows of that track in {proto.path}; "
                       f"tracks there: {sorted(set(dall.cols['track'].tolist()))}")  # fmt: skip
    dsel = dall.subset(keep)
    cols = []
    for f in dev:
        whole = track is None or _ids_of(f) >= set(dall.cols["utt_id"].tolist())
        cols.append(matrix([f], dall, proto)[keep, 0] if whole else matrix([f], dsel, proto)[:, 0])
    Xd = np.stack(cols, axis=1)
    params = fit_fusion(Xd, dsel.is_robocall.astype(int), int(c.seed))
    esel = _selection(proto, "eval", scores[0], c.get("track"))
    Xe = matrix(scores, esel, proto)
    fused = apply_fusion(Xe, params)
    write_scores(out, esel.cols["utt_id"].tolist(), fused.tolist())
    info = {
        "systems": scores, "dev_scores": dev, "params": params, "n_dev": len(dsel), "n_eval": len(esel),
        "protocol_sha256": proto.sha256, "inputs_sha256": {p: sha256_file(p) for p in scores + dev},
    }  # fmt: skip
    atomic_write_text(out.with_name(out.name + ".fusion.json"), json.dumps(info, indent=1, sort_keys=True))
    print(f"fused {len(scores)} systems on {len(esel)} eval rows (weights {np.round(params['coef'], 3).tolist()}, "
          f"fitted on {len(dsel)} dev rows) -> {out}")  # fmt: skip
    return 0
