"""``rcb summarize runs=DIR_OR_GLOB [metric=eer] [by=[optim.lr]] [out=FILE]``: mean ± std across seeds.

Finds finished ``rcb train`` run directories (config.yaml + metrics.json) under the given folders
or glob, groups them by experiment name (and any ``by=`` config keys, e.g. the learning rate of a
sweep), and reports mean, sample standard deviation and n of each track's metrics: a rich table on
the console and, with ``out=``, a .md, .csv or .json file.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.table import Table

from .audio import atomic_write_text
from .console import make_console
from .contract import early_track, track_order
from .errors import RcbError

KEYS = {"runs": None, "metric": "eer", "by": [], "out": None}
PERCENT = {"eer", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct"}


@dataclass
class RunRecord:
    """One finished run: where, experiment name, seed, its config and ``{track: {metric: value}}``."""

    path: Path
    name: str
    seed: int | None
    config: dict[str, Any]
    values: dict[str, dict[str, float]] = field(default_factory=dict)


def find_runs(spec: str | Path) -> list[Path]:
    """Run directories (config.yaml + metrics.json) at or below a folder or glob, sorted, deduplicated."""
    s = str(Path(str(spec)).expanduser())
    roots = [Path(p) for p in sorted(glob.glob(s, recursive=True))] if glob.has_magic(s) else [Path(s)]
    found: set[Path] = set()
    for r in roots:
        if (r / "metrics.json").is_file() and (r / "config.yaml").is_file():
            found.add(r.resolve())
        elif r.is_dir():
            found |= {
                m.parent.resolve() for m in r.rglob("metrics.json") if (m.parent / "config.yaml").is_file()
            }
    return sorted(found)


def load_run(path: Path) -> RunRecord:
    """A :class:`RunRecord` from a run directory; early-detection results become ``early-<N>s`` tracks."""
    try:
        cfg = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
        summary = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as e:
        raise RcbError(f"{path}: unreadable run files ({e}); rerun or delete that run directory") from e
    values: dict[str, dict[str, float]] = {}
    for track, m in summary.get("tracks", {}).items():
        values[track] = {k: float(v["value"]) for k, v in m.items() if isinstance(v, dict) and "value" in v}
    for sec, m in (summary.get("early") or {}).items():
        values[early_track(float(sec))] = {k: float(v["value"]) for k, v in m.items()}
    seed = cfg.get("seed")
    return RunRecord(
        path, str(cfg.get("name") or path.name), None if seed is None else int(seed), cfg, values
    )


def config_value(cfg: dict[str, Any], dotted: str) -> Any:
    """``cfg['optim']['lr']`` for ``optim.lr`` (None when absent)."""
    node: Any = cfg
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def mean_std(xs: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation (ddof 1; None for n < 2) and n."""
    n = len(xs)
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n}


def summarize(records: list[RunRecord], metrics: Sequence[str], by: Sequence[str] = ()) -> dict[str, Any]:
    """Groups (experiment name + ``by`` values) with per-track ``{metric: {mean, std, n}}``."""
    groups: dict[tuple, list[RunRecord]] = {}
    for r in records:
        key = (r.name, *(json.dumps(config_value(r.config, k)) for k in by))
        groups.setdefault(key, []).append(r)
    tracks = track_order({t for r in records for t in r.values})
    rows = []
    for key, runs in sorted(groups.items()):
        stats: dict[str, dict[str, Any]] = {}
        for t in tracks:
            for m in metrics:
                xs = [r.values[t][m] for r in runs if m in r.values.get(t, {})]
                if xs:
                    stats.setdefault(t, {})[m] = mean_std(xs)
        rows.append({
            "experiment": key[0],
            "by": {k: json.loads(v) for k, v in zip(by, key[1:], strict=True)},
            "n_runs": len(runs),
            "seeds": [r.seed for r in runs],
            "runs": [str(r.path) for r in runs],
            "tracks": stats,
        })  # fmt: skip
    return {"metrics": list(metrics), "by": list(by), "tracks": tracks, "groups": rows}


def cell(metric: str, s: dict[str, Any] | None) -> str:
    """``12.34 ± 1.20`` (EER-like metrics in %; no ± for a single run); ``-`` when missing."""
    if not s:
        return "-"
    scale, nd = (100, 2) if metric in PERCENT else (1, 4)
    std = "" if s["std"] is None else f" ± {scale * s['std']:.{nd}f}"
    return f"{scale * s['mean']:.{nd}f}{std}"


def table_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per (group, track), one column per metric, n = runs with that track."""
    head = [
        "experiment",
        *data["by"],
        "track",
        "n",
        *(f"{m} %" if m in PERCENT else m for m in data["metrics"]),
    ]
    rows = []
    for g in data["groups"]:
        for t in data["tracks"]:
            ms = g["tracks"].get(t)
            if not ms:
                continue
            n = max(s["n"] for s in ms.values())
            rows.append([g["experiment"], *(str(g["by"][k]) for k in data["by"]), t, str(n),
                         *(cell(m, ms.get(m)) for m in data["metrics"])])  # fmt: skip
    return head, rows


def rich_table(data: dict[str, Any]) -> Table:
    """The summary as a rich table (mean ± sample std across the runs of each group)."""
    head, rows = table_rows(data)
    tab = Table(title="mean ± std across runs (seeds)")
    for i, col in enumerate(head):
        tab.add_column(col, justify="right" if i >= len(head) - len(data["metrics"]) - 1 else "left")
    for r in rows:
        tab.add_row(*r)
    return tab


def render_markdown(data: dict[str, Any]) -> str:
    """A markdown table (same rows and cells as the console table)."""
    head, rows = table_rows(data)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def render_csv(data: dict[str, Any]) -> str:
    """Long format: one row per (group, track, metric) with mean, std, n."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["experiment", *data["by"], "runs", "track", "metric", "mean", "std", "n"])
    for g in data["groups"]:
        for t, ms in g["tracks"].items():
            for m, s in ms.items():
                w.writerow([g["experiment"], *(g["by"][k] for k in data["by"]), g["n_runs"], t, m,
                            s["mean"], "" if s["std"] is None else s["std"], s["n"]])  # fmt: skip
    return buf.getvalue()


def write_summary(data: dict[str, Any], out: str | Path) -> Path:
    """Write ``out`` as markdown, CSV or JSON by its suffix (.md, .csv, .json)."""
    p = Path(out).expanduser()
    render = {".md": render_markdown, ".csv": render_csv,
              ".json": lambda d: json.dumps(d, indent=2) + "\n"}.get(p.suffix.lower())  # fmt: skip
    if render is None:
        raise RcbError(f"out={out}: use a .md, .csv or .json file name")
    atomic_write_text(p, render(data))
    return p


def parse_args(argv: Sequence[str]) -> dict[str, Any]:
    """``key=value`` arguments (YAML-typed) against :data:`KEYS`; RcbError for unknown or missing keys."""
    args = dict(KEYS)
    for a in argv:
        key, eq, val = a.partition("=")
        if not eq or key not in KEYS:
            raise RcbError(f"rcb summarize: unexpected argument {a!r}; valid keys: {', '.join(KEYS)}")
        args[key] = val if key in ("runs", "out") else yaml.safe_load(val)
    if not args["runs"]:
        raise RcbError("rcb summarize: give runs=DIR or runs='experiments/runs/<name>/sweep-*' (quote globs)")
    for k in ("metric", "by"):
        v = args[k]
        args[k] = [str(x) for x in v] if isinstance(v, list) else ([] if v in (None, "") else [str(v)])
    return args


def main(argv: Sequence[str]) -> int:
    """Find, group, print and optionally write the summary."""
    argv = list(argv)
    if any(a in ("-h", "--help", "help") for a in argv):
        print(__doc__)
        return 0
    args = parse_args(argv)
    paths = find_runs(args["runs"])
    if not paths:
        raise RcbError(f"no finished run directories (config.yaml + metrics.json) at {args['runs']}")
    if not args["metric"]:
        raise RcbError("metric= is empty; e.g. metric=eer or metric=[eer,min_dcf]")
    records = [load_run(p) for p in paths]
    known = {m for r in records for ms in r.values.values() for m in ms}
    unknown = [m for m in args["metric"] if m not in known]
    if unknown:
        raise RcbError(
            f"metric={unknown} not in the runs' metrics.json; choose from {', '.join(sorted(known))}"
        )
    data = summarize(records, args["metric"], args["by"])
    console = make_console()
    console.print(rich_table(data))
    if args["out"]:
        console.print(f"wrote {write_summary(data, args['out'])}", highlight=False)
    return 0
