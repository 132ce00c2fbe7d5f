"""``rcb eval compare scores=[a.tsv,b.tsv] protocol=FILE [split=eval track=eval n_boot=1000 seed=0 out=FILE]``.

Is system a better than system b on these trials, or is the difference within the noise? Both
score files must score exactly the selected protocol rows (the contract reader refuses missing,
extra or duplicate ids); the paired cluster bootstrap of :mod:`.paired` then gives, per metric, the
difference a - b, its CI, a p-value and a verdict (a better / b better / tie).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig
from rich.table import Table

from .. import __version__
from ..audio import atomic_write_text
from ..config import load_config, print_help_if_asked
from ..console import make_console
from ..contract import MAX_BAD_LINES, read_protocol, read_scores
from ..corpus.options import bool_option, float_option, int_option, path_option, seed_option
from ..errors import RcbError
from .bootstrap import BootstrapConfig
from .breakdown import cluster_ids
from .core import CostModel
from .paired import paired_bootstrap

SCHEMA = "robocall-bench/compare"
SCHEMA_VERSION = 1
P_VALUE = (
    "two-sided: min(1, 2 min(#{d* <= 0}, #{d* >= 0}) / B) over the B paired replicate differences "
    "d* = metric(a) - metric(b); 0 means p < 2/B"
)
PERCENT = {"eer"}


@dataclass
class CompareSpec:
    """What to compare and how; mirrors ``configs/eval_compare.yaml``."""

    protocol: str | Path
    scores: tuple[str | Path, str | Path]
    split: str = "eval"
    track: str | None = None
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    cost: CostModel = field(default_factory=CostModel)
    human_cluster: str = "speaker"
    robocall_cluster: str = "system"
    max_score_bytes: int | None = None
    max_bad_score_lines: int = MAX_BAD_LINES


def compare(spec: CompareSpec) -> dict:
    """The JSON-able comparison of ``spec.scores[0]`` (a) against ``spec.scores[1]`` (b)."""
    proto = read_protocol(spec.protocol)
    sel = proto.select(spec.split, spec.track)
    where = f"split={spec.split}" + (f" track={spec.track}" if spec.track else "")
    labels = sel.is_robocall
    if labels.all() or not labels.any():
        only = "robocall" if labels.all() else "human"
        raise RcbError(
            f"{sel.path}: {where} holds only {only} rows ({len(sel)}); a comparison needs both classes. "
            "Choose a split/track with both."
        )
    files = [
        read_scores(p, sel, proto, where, spec.max_score_bytes, spec.max_bad_score_lines) for p in spec.scores
    ]
    clusters = cluster_ids(sel, spec.human_cluster, spec.robocall_cluster)
    try:
        diffs = paired_bootstrap(
            files[0].scores, files[1].scores, labels, clusters, spec.bootstrap, spec.cost
        )
    except ValueError as e:
        raise RcbError(str(e)) from e
    b = spec.bootstrap
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "a": {"path": str(files[0].path), "sha256": files[0].sha256},
        "b": {"path": str(files[1].path), "sha256": files[1].sha256},
        "selection": {
            "split": spec.split,
            "track": spec.track,
            "n_robocall": int(labels.sum()),
            "n_human": int((~labels).sum()),
        },
        "metrics": {m: d.to_json() for m, d in diffs.items()},
        "config": {
            "bootstrap": {
                "n": b.n,
                "seed": b.seed,
                "alpha": b.alpha,
                "within": b.within,
                "human_cluster": spec.human_cluster,
                "robocall_cluster": spec.robocall_cluster,
                "paired": True,
            },
            "cost": {"p_spoof": spec.cost.p_spoof, "c_miss": spec.cost.c_miss, "c_fa": spec.cost.c_fa},
            "difference": "a - b",
            "p_value": P_VALUE,
            "verdict": "tie when the CI of a - b includes 0; lower is better except auc",
        },
        "provenance": {
            "protocol": str(proto.path),
            "protocol_sha256": proto.sha256,
            "corpus": proto.corpus,
            "package": "robocall-bench",
            "package_version": __version__,
        },
    }


def spec_from_config(cfg: DictConfig) -> CompareSpec:
    """A :class:`CompareSpec` from a composed ``eval_compare`` config; RcbError naming a bad key."""
    raw = cfg.scores
    files = list(raw) if not isinstance(raw, str) and hasattr(raw, "__len__") else [raw]
    if len(files) != 2:
        raise RcbError(
            f"scores= has {len(files)} file(s); give exactly two to compare: scores=[a.tsv,b.tsv] "
            "(rcb eval scores=FILE evaluates one; rcb leaderboard build ranks many)"
        )
    n = int_option(cfg.n_boot, "n_boot", 1, hint="replicates of the paired bootstrap, e.g. n_boot=1000")
    return CompareSpec(
        protocol=path_option(cfg.protocol, "protocol"),
        scores=(path_option(files[0], "scores[0]"), path_option(files[1], "scores[1]")),
        split=str(cfg.split),
        track=None if cfg.track in (None, "") else str(cfg.track),
        bootstrap=BootstrapConfig(
            n,
            seed_option(cfg.seed, "seed"),
            float_option(cfg.alpha, "alpha", 0.0, 1.0, open_interval=True),
            bool_option(cfg.within, "within"),
        ),
        cost=CostModel(
            float_option(cfg.cost.p_spoof, "cost.p_spoof", 0.0, 1.0, open_interval=True),
            float_option(cfg.cost.c_miss, "cost.c_miss", 0.0, open_interval=True),
            float_option(cfg.cost.c_fa, "cost.c_fa", 0.0, open_interval=True),
        ),
        human_cluster=str(cfg.human_cluster),
        robocall_cluster=str(cfg.robocall_cluster),
        max_score_bytes=None
        if cfg.max_score_bytes is None
        else int_option(cfg.max_score_bytes, "max_score_bytes", 1, hint="null = no limit"),
        max_bad_score_lines=int_option(cfg.max_bad_score_lines, "max_bad_score_lines", 1),
    )


def _fmt(metric: str, x: float) -> str:
    return f"{100 * x:.2f}%" if metric in PERCENT else f"{x:.4f}"


def _p(p: float | None, n: int) -> str:
    if p is None:
        return "-"
    return f"<{2 / n:.2g}" if p == 0 else f"{p:.3g}"


def table(result: dict) -> Table:
    """The console table of a :func:`compare` result: one row per metric."""
    b = result["config"]["bootstrap"]
    sel = result["selection"]
    where = f"{sel['split']}" + (f"/{sel['track']}" if sel["track"] else "")
    t = Table(
        title=f"a - b on {where} ({sel['n_robocall']} robocall, {sel['n_human']} human calls; "
        f"paired cluster bootstrap, {b['n']} replicates, seed {b['seed']})"
    )
    for h in ("metric", "a", "b", "a - b", f"{100 * (1 - b['alpha']):g}% CI", "p", "verdict"):
        t.add_column(h, justify="left" if h in ("metric", "verdict") else "right")
    for m, d in result["metrics"].items():
        ci = d["ci"]
        t.add_row(
            m,
            _fmt(m, d["a"]),
            _fmt(m, d["b"]),
            _fmt(m, d["diff"]),
            "-" if ci is None else f"[{_fmt(m, ci[0])}, {_fmt(m, ci[1])}]",
            _p(d["p_value"], b["n"]),
            d["verdict"],
        )
    return t


def main(argv: Sequence[str]) -> int:
    """Compare two score files and print the table (and write JSON with ``out=``)."""
    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "eval_compare"):
        return 0
    cfg = load_config("eval_compare", argv)
    spec = spec_from_config(cfg)
    out = None if cfg.out in (None, "") else Path(path_option(cfg.out, "out")).expanduser()
    if out is not None and out.is_dir():
        raise RcbError(f"out={out} is a folder; give a file name, e.g. out={out / 'compare.json'}")
    result = compare(spec)
    con = make_console()
    con.print(f"a = {result['a']['path']}\nb = {result['b']['path']}", highlight=False, soft_wrap=True)
    con.print(table(result))
    if out is not None:
        atomic_write_text(out, json.dumps(result, indent=1) + "\n")
        con.print(f"wrote {out}", highlight=False, soft_wrap=True)
    return 0
