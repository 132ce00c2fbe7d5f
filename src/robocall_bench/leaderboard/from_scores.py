"""A leaderboard entry from a folder of score files (recipes that are not one ``rcb train`` run:
zero-shot published weights, the campaign fingerprint, a fusion), validated before it is kept."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import yaml

from ..audio import atomic_write_text
from ..contract import (
    LEADERBOARD_TRACK_RE,
    MAIN_TRACK,
    read_protocol,
    read_scores,
    track_order,
    track_selection,
)
from ..errors import RcbError
from ..evaluation.core import compute_metrics
from ..evaluation.run import git_sha
from .registry import install_protocol
from .schema import SCHEMA_VERSION
from .validate import LeaderboardConfig, validate_entry


def entry_from_scores(scores: Path, corpus: Path, lb: LeaderboardConfig, entry_id: str, fields: dict[str, Any],
                      out: Path | None = None) -> Path:  # fmt: skip
    """Write ``<out>/<entry_id>/`` (default ``<lb.root>/entries``) from ``scores/<track>.tsv`` and validate it.

    ``fields``: the entry.yaml fields that describe the system (model, description, experiment,
    pretrained, training_data, params, macs, cpu_rtf, compute, reproduce); corpus, code commit and
    the reported EER/minDCF per track (recomputed by validation anyway) are filled in here.
    The corpus must be registered in the leaderboard (validation refuses it otherwise).
    """
    proto = read_protocol(corpus)
    tracks = track_order(p.stem for p in Path(scores).glob("*.tsv") if LEADERBOARD_TRACK_RE.match(p.stem))
    if MAIN_TRACK not in tracks:
        raise RcbError(f"{scores}/{MAIN_TRACK}.tsv is missing: every entry scores the main eval track")
    reported = {}
    for t in tracks:
        split, ptrack = track_selection(t)
        sel = proto.select(split, ptrack)
        s = read_scores(Path(scores) / f"{t}.tsv", sel, proto, f"split={split} track={ptrack}").scores
        m = compute_metrics(s, sel.is_robocall)
        reported[t] = {"eer": round(float(m["eer"]), 6), "min_dcf": round(float(m["min_dcf"]), 6)}
    entries = Path(out) if out else lb.root / "entries"
    root = entries.parent
    installed = install_protocol(corpus, root)
    sha = git_sha()
    entry = {
        "schema_version": SCHEMA_VERSION,
        "entry_id": entry_id,
        **{k: fields.get(k) for k in ("model", "description")},
        "code": {"repository": None, "commit": sha},
        **{
            k: fields.get(k)
            for k in (
                "experiment",
                "pretrained",
                "training_data",
                "params",
                "macs",
                "cpu_rtf",
                "train_samples_per_s",
                "compute",
            )
        },
        "corpus": {
            "name": installed.manifest["name"],
            "version": installed.manifest["version"],
            "protocol_sha256": installed.sha256,
        },
        "reported": reported,
        "reproduce": fields.get("reproduce"),
    }
    entry = {
        k: v for k, v in entry.items() if v is not None or k in ("pretrained", "macs", "cpu_rtf", "reproduce")
    }
    edir = entries / entry_id
    if (edir / "scores").is_dir():
        shutil.rmtree(edir / "scores")  # a track missing now must not survive from an older entry
    (edir / "scores").mkdir(parents=True)
    for t in tracks:
        shutil.copyfile(Path(scores) / f"{t}.tsv", edir / "scores" / f"{t}.tsv")
    atomic_write_text(edir / "entry.yaml", yaml.safe_dump(entry, sort_keys=False, allow_unicode=True))
    check = validate_entry(edir, dataclasses.replace(lb, root=root))
    if not check.ok:
        shutil.rmtree(edir)  # an invalid entry left in entries/ would break `rcb leaderboard build`
        raise RcbError(
            f"the entry {entry_id} does not validate (not written):\n  - " + "\n  - ".join(check.errors)
        )
    return edir
