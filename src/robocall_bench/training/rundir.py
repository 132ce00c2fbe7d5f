"""After training: score dev and every eval track (+ early crops), evaluate, write metrics and the card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..audio import atomic_write_text
from ..contract import (
    MAIN_TRACK,
    early_key,
    early_track,
    is_early,
    parse_early,
    track_selection,
    write_scores,
)  # fmt: skip
from ..errors import RcbError
from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.report import write_outputs
from ..evaluation.run import HEADLINE, EvalSpec, evaluate
from ..inference.scoring import Scorer, score_paths
from .data import Corpus, Item
from .engine import max_batch_seconds


def score_set(scorer: Scorer, items: list[Item], window: float | None, cfg: DictConfig, progress: Progress,
              label: str, speed: dict[str, float] | None = None) -> np.ndarray:  # fmt: skip
    """Scores (n,) of corpus rows; RcbError if any corpus file is unreadable (the corpus is damaged).

    ``speed`` (if given) accumulates ``audio_s`` and ``wall_s`` of the scoring.
    """
    task = progress.add_task(label, total=len(items))
    s = cfg.score
    res = score_paths(scorer, [i.path for i in items], window, int(s.batch_size), int(s.num_workers),
                      s.get("max_seconds"), lambda n: progress.advance(task, n),
                      max_batch_s=max_batch_seconds(cfg))  # fmt: skip
    if res.errors:
        k, msg = next(iter(res.errors.items()))
        raise RcbError(f"{len(res.errors)} corpus file(s) could not be scored, e.g. {items[k].path}: {msg}; "
                       "run `rcb corpus verify corpus=DIR`")  # fmt: skip
    if speed is not None:
        speed["audio_s"] = speed.get("audio_s", 0.0) + res.audio_s
        speed["wall_s"] = speed.get("wall_s", 0.0) + res.wall_s
    return res.scores


def score_run(
    cfg: DictConfig, run_dir: Path, corpus: Corpus, scorer: Scorer, console: Console,
    speed: dict[str, Any] | None = None,
) -> dict[str, Path]:  # fmt: skip
    """Write ``scores/<track>.tsv`` for dev and each eval track, and ``scores/early-<N>s.tsv``.

    Early files score the main ``eval`` track's rows from their first N seconds (the rows the
    leaderboard's ``early-<N>s`` tracks use). ``speed`` (if given) receives the scoring rate:
    ``{audio_s, wall_s, rtf, device, batch_size}`` (file reading and resampling included).
    """
    out: dict[str, Path] = {}
    sets = [("dev", corpus.select("dev"), None)]
    sets += [(t, corpus.select("eval", t), None) for t in corpus.tracks("eval")]
    main = corpus.select("eval", MAIN_TRACK) or corpus.select("eval")
    sets += [(early_track(n), main, float(n)) for n in (cfg.score.get("early_seconds") or [])]
    window = cfg.data.get("eval_window_s")
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console, transient=True) as progress:
        for name, items, sec in sets:
            w = sec if sec is not None else window
            scores = score_set(scorer, items, w, cfg, progress, f"scoring {name}", speed)
            path = run_dir / "scores" / f"{name}.tsv"
            write_scores(path, [i.utt_id for i in items], scores)
            out[name] = path
    if speed is not None and speed.get("audio_s"):
        speed.update(rtf=speed["wall_s"] / speed["audio_s"], device=str(scorer.device),
                     batch_size=int(cfg.score.batch_size))  # fmt: skip
    return out


def evaluate_run(cfg: DictConfig, run_dir: Path, corpus: Corpus, files: dict[str, Path],
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """``metrics/<track>/metrics.json`` (+ reports) per track via the evaluation library; returns a summary.

    Eval tracks take their fixed threshold from the dev scores (EER threshold on dev). ``extra``
    (e.g. the fit summary and scoring speed) is stored in the summary as is.
    """
    e = cfg.eval
    boot = BootstrapConfig(n=int(e.bootstrap_n), seed=int(e.get("bootstrap_seed", 0)))
    protocol = corpus.root / "protocol.tsv"
    early = {s: str(p) for k, p in files.items() if (s := parse_early(k)) is not None}
    summary: dict[str, Any] = {"tracks": {}, "skipped": {}}
    for track, path in files.items():
        if is_early(track):
            continue
        split, ptrack = track_selection(track)
        spec = EvalSpec(
            protocol=protocol,
            scores=path,
            split=split,
            track=ptrack,
            dev_scores=None if split == "dev" else files["dev"],
            early=early if track == MAIN_TRACK else {},
            bootstrap=boot,
            bootstrap_breakdowns=int(e.get("bootstrap_breakdowns", 0)),
        )
        try:
            res = evaluate(spec)
        except RcbError as err:  # e.g. a track holding one class only in a tiny corpus
            summary["skipped"][track] = str(err)
            continue
        write_outputs(res, run_dir / "metrics" / track, figures=bool(e.get("figures", False)))
        m = res.metrics
        summary["tracks"][track] = {
            **{k: m[k] for k in HEADLINE},
            "n_robocall": m["pooled"]["n_robocall"],
            "n_human": m["pooled"]["n_human"],
            "at_dev_threshold": m["pooled"]["at_fixed_threshold"],
        }
        if m["early_detection"]:
            summary["early"] = {
                early_key(x["seconds"]): {"eer": x["eer"], "min_dcf": x["min_dcf"]}
                for x in m["early_detection"]
            }
    summary["corpus"] = corpus.info
    summary.update(extra or {})
    atomic_write_text(run_dir / "metrics.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary
