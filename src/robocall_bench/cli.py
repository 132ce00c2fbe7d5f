"""The one command line: ``rcb <verb> [subverb] [key=value ...]`` (Hydra overrides)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from .errors import RcbError

# verb -> (module with a ``main(argv) -> int``, one-line help). The registry of verbs.
VERBS: dict[str, tuple[str, str]] = {
    "corpus": (
        "robocall_bench.corpus.cli",
        "build the call corpus (preset=tiny|mini|full); subverbs: audit, verify, merge, download, export",
    ),
    "eval": (
        "robocall_bench.evaluation.cli",
        "score a score file against a protocol: metrics with CIs, breakdowns, reports (scores= protocol= out=); "
        "subverb: compare scores=[a,b] protocol= (paired bootstrap: is a better than b?)",
    ),
    "train": (
        "robocall_bench.training.cli",
        "train a detector into a run directory: checkpoints, scores, metrics, model card (experiment= corpus=)",
    ),
    "score": (
        "robocall_bench.inference.score_cli",
        "score audio files, a folder or a protocol.tsv with a trained run (ckpt= input= out= [window=])",
    ),
    "fuse": (
        "robocall_bench.fusion.fuse",
        "fuse score files of several systems with weights fitted on dev (scores=[..] dev_scores=[..] protocol= out=)",
    ),
    "campaign": (
        "robocall_bench.fingerprint.cli",
        "score a set of calls by shared audio (replayed messages): scores and clusters (input= out= [clusters=])",
    ),
    "summarize": (
        "robocall_bench.summarize",
        "mean ± std across seeds of training runs, per experiment and track (runs=DIR_OR_GLOB [metric=] [out=])",
    ),
    "demo": (
        "robocall_bench.demo",
        "the whole benchmark on CPU: mini corpus, three baselines trained and scored, leaderboard table",
    ),
    "baselines": (
        "robocall_bench.baselines",
        "regenerate the official baseline entries: release corpus, every recipe trained and scored, entries swapped in",
    ),
    "leaderboard": (
        "robocall_bench.leaderboard.cli",
        "leaderboard entries; subverbs: validate entry=DIR, build [check=true], "
        "reproduce entry=DIR corpus=DIR confirm=true (sandboxed re-run), entry run=RUN_DIR, "
        "register corpus=DIR kind=official|example (maintainers)",
    ),
}

_ERR = Console(stderr=True)


def _usage() -> str:
    lines = [
        "usage: rcb <verb> [subverb] [key=value ...]",
        "",
        "Hydra overrides follow the verb, e.g. `rcb corpus preset=tiny out=data/tiny seed=0`.",
        "`rcb <verb> --help` shows a verb's options.",
        "",
        "verbs:",
    ]
    width = max(map(len, VERBS))
    lines += [f"  {v.ljust(width)}  {h}" for v, (_, h) in VERBS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rcb`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Offline by default: nothing in this suite may reach a hub at run time.
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        _ERR.print(f"[red]error:[/] unknown verb {verb!r}.\n{_usage()}", markup=True, highlight=False)
        return 2
    module = importlib.import_module(VERBS[verb][0])
    try:
        return int(module.main(rest) or 0)
    except RcbError as e:
        _ERR.print(f"[red]error:[/] {escape(str(e))}", markup=True, highlight=False)
        return 2
    except KeyboardInterrupt:
        _ERR.print("interrupted; finished files are kept, rerun the same command to resume")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
