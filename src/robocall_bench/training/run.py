"""``train(cfg, run_dir)``: the whole ``rcb train`` job, from a composed config to a finished run directory."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig, OmegaConf, open_dict
from rich.console import Console
from rich.table import Table

from ..audio import atomic_write_text
from ..errors import RcbError
from ..evaluation.report import fmt
from ..inference.scoring import load_scorer
from .card import pct, write_card
from .data import load_corpus
from .engine import fit
from .rundir import evaluate_run, score_run


def train(
    cfg: DictConfig,
    run_dir: str | os.PathLike,
    callbacks: Sequence[pl.Callback] = (),
    console: Console | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Train, score every track, evaluate and write the run directory; returns the metrics summary.

    ``run_dir`` gets: ``config.yaml``, ``checkpoints/``, ``logs/``, ``scores/``, ``metrics/``,
    ``metrics.json`` and ``README.md``. An existing ``checkpoints/last.ckpt`` is resumed (``resume=auto``).
    """
    console = console or Console()
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if OmegaConf.is_missing(cfg, "corpus"):
        raise RcbError(
            "missing corpus=DIR (a folder built by `rcb corpus`, e.g. `rcb corpus preset=tiny out=data/tiny`)"
        )
    corpus = load_corpus(cfg.corpus)
    with open_dict(cfg):
        cfg.run_dir = str(run_dir)
        cfg.corpus = str(corpus.root)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    console.print(f"[bold]rcb train[/] {cfg.name}: corpus {corpus.root} -> {run_dir}", highlight=False)
    summary = fit(cfg, run_dir, corpus, console, callbacks)
    if int(os.environ.get("RANK", "0")) != 0:  # DDP: rank 0 scores and writes the reports
        return summary
    scorer = load_scorer(run_dir, str(cfg.score.get("device", "auto")), str(cfg.score.checkpoint))
    speed: dict[str, Any] = {}
    files = score_run(cfg, run_dir, corpus, scorer, console, speed)
    metrics = evaluate_run(cfg, run_dir, corpus, files, {"fit": summary, "scoring": speed})
    resolved = OmegaConf.to_container(cfg, resolve=True)
    cmd = command or f"rcb train experiment={cfg.name} corpus={corpus.root} seed={cfg.seed}"
    write_card(run_dir, resolved, summary, metrics, cmd)  # type: ignore[arg-type]
    print_summary(console, cfg, run_dir, summary, metrics, time.perf_counter() - t0)
    return {"fit": summary, "metrics": metrics, "run_dir": str(run_dir)}


def print_summary(
    console: Console, cfg: DictConfig, run_dir: Path, fit_s: dict, metrics: dict, wall: float
) -> None:
    """A short rich table: per-track EER/minDCF/AUC with CIs, then where everything is."""
    tab = Table(
        title=f"{cfg.name}: best dev EER {pct(fit_s.get('best_dev_eer'))} at step {fit_s.get('best_step')}"
    )
    for col in ("track", "robocall/human", "EER", "minDCF", "AUC"):
        tab.add_column(col)
    for track, m in metrics.get("tracks", {}).items():
        tab.add_row(track, f"{m['n_robocall']}/{m['n_human']}", fmt("eer", m["eer"]), fmt("min_dcf", m["min_dcf"]),
                    fmt("auc", m["auc"]))  # fmt: skip
    for s, v in (metrics.get("early") or {}).items():
        tab.add_row(f"first {s} s", "", fmt("eer", v["eer"]), fmt("min_dcf", v["min_dcf"]), "")
    console.print(tab)
    for track, why in metrics.get("skipped", {}).items():
        console.print(f"[yellow]{track} not evaluated:[/] {why.splitlines()[0]}", highlight=False)
    console.print(
        f"run directory {run_dir} (model card README.md, metrics.json, scores/) in {wall:.1f} s",
        highlight=False,
    )
