"""Building the leaderboard: recompute every entry with CIs, rank, write README.md/CSV/JSON/site."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from scipy.special import ndtri

from ..audio import atomic_write_bytes
from ..errors import RcbError
from ..evaluation.core import group, operating_points
from .schema import MAIN_TRACK, METRICS, early_seconds
from .site import render_site
from .validate import Checked, LeaderboardConfig, load_protocols, validate_entry

LB_SCHEMA = "robocall-bench/leaderboard"
LB_SCHEMA_VERSION = 1
OUTPUTS = ("README.md", "leaderboard.csv", "leaderboard.json", "site/index.html")
PERCENT = {"eer", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct"}
DET_LIMITS = (5e-4, 0.99)
DET_POINTS = 200


def _r(x: float | None) -> float | None:
    # Rounded so the committed outputs do not change with the last bits of a platform's libm.
    return None if x is None else round(float(x), 6)


def track_order(tracks: set[str]) -> list[str]:
    """Main track first, then the unseen tracks, then early-<N>s by seconds."""
    fixed = [t for t in (MAIN_TRACK, "unseen-systems", "unseen-channel") if t in tracks]
    early = sorted((t for t in tracks if early_seconds(t) is not None), key=early_seconds)
    return fixed + early


def collect(cfg: LeaderboardConfig) -> list[Checked]:
    """Validate every entry under ``root/entries`` with CIs; RcbError listing every failure."""
    protocols, errors = load_protocols(cfg.root)
    edir = cfg.root / "entries"
    dirs = (
        sorted(p for p in edir.iterdir() if p.name not in (".gitkeep", "README.md")) if edir.is_dir() else []
    )
    checks = []
    for d in dirs:
        c = validate_entry(d, cfg, protocols, with_ci=True)
        checks.append(c)
        errors += [f"{d.name}: {e}" for e in c.errors]
    seen: dict[str, str] = {}
    for c in checks:
        if c.entry is None:
            continue
        key = c.entry.entry_id.lower()
        if key in seen:
            errors.append(f"duplicate entry_id {c.entry.entry_id!r} in {seen[key]} and {c.path.name}")
        seen[key] = c.path.name
    if errors:
        raise RcbError("leaderboard build failed:\n  - " + "\n  - ".join(errors))
    return checks


def _rank_key(c: Checked) -> tuple:
    m = c.tracks[MAIN_TRACK]
    return (m["eer"]["value"], m["min_dcf"]["value"], c.entry.entry_id)


def det_curve(scores: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    """DET points in probit units [[x, y], ...] (at most DET_POINTS), rounded for a stable page."""
    fpr, fnr, _ = operating_points(group(scores, labels))
    if fpr.size > DET_POINTS:
        idx = np.unique(np.linspace(0, fpr.size - 1, DET_POINTS).astype(int))
        fpr, fnr = fpr[idx], fnr[idx]
    lo, hi = DET_LIMITS
    x, y = ndtri(np.clip(fpr, lo, hi)), ndtri(np.clip(fnr, lo, hi))
    return [[round(float(a), 3), round(float(b), 3)] for a, b in zip(x, y, strict=True)]


def leaderboard_data(checks: list[Checked], cfg: LeaderboardConfig) -> dict:
    """The JSON-able leaderboard: ranked entries with per-track metrics, plus DET curves of the top ones."""
    ranked = sorted(checks, key=_rank_key)
    tracks = track_order({t for c in ranked for t in c.tracks})
    entries = []
    for rank, c in enumerate(ranked, start=1):
        e = c.entry
        per_track = {}
        for t in tracks:
            if t not in c.tracks:
                continue
            m = c.tracks[t]
            per_track[t] = {
                k: {"value": _r(m[k]["value"]), "ci": [_r(x) for x in m[k]["ci"]] if m[k]["ci"] else None}
                for k in METRICS
            }
            per_track[t]["n_robocall"], per_track[t]["n_human"] = m["n_robocall"], m["n_human"]
        entries.append(
            {
                "rank": rank,
                "entry_id": e.entry_id,
                "model": e.model,
                "description": e.description,
                "training_data": e.training_data,
                "pretrained": e.pretrained.model_dump() if e.pretrained else None,
                "code": e.code.model_dump(),
                "experiment": e.experiment,
                "params": e.params,
                "macs": e.macs,
                "cpu_rtf": _r(e.cpu_rtf),
                "train_samples_per_s": _r(e.train_samples_per_s),
                "compute": e.compute,
                "corpus": e.corpus.model_dump(),
                "reproducible": e.reproduce is not None,
                "tracks": per_track,
            }
        )
    det = {}
    for t in tracks:
        top = sorted(
            (c for c in ranked if t in c.tracks),
            key=lambda c: (c.tracks[t]["eer"]["value"], c.entry.entry_id),
        )
        det[t] = [
            {"entry_id": c.entry.entry_id, "points": det_curve(*c.scores[t])} for c in top[: cfg.site_top]
        ]
    b = cfg.bootstrap
    return {
        "schema": LB_SCHEMA,
        "schema_version": LB_SCHEMA_VERSION,
        "main_track": MAIN_TRACK,
        "ranking": "EER on the main track, ties broken by minDCF",
        "tracks": tracks,
        "cost": {"p_spoof": cfg.cost.p_spoof, "c_miss": cfg.cost.c_miss, "c_fa": cfg.cost.c_fa},
        "bootstrap": {
            "n": b.n,
            "seed": b.seed,
            "alpha": b.alpha,
            "within": b.within,
            "human_cluster": cfg.human_cluster,
            "robocall_cluster": cfg.robocall_cluster,
        },
        "corpora": sorted(
            {(e["corpus"]["name"], e["corpus"]["version"], e["corpus"]["protocol_sha256"]) for e in entries}
        ),
        "entries": entries,
        "det": det,
    }


def _cell(key: str, m: dict | None) -> str:
    if m is None:
        return "-"
    scale, nd = (100, 2) if key in PERCENT else (1, 4)
    s = f"{scale * m['value']:.{nd}f}"
    if m["ci"]:
        s += f" [{scale * m['ci'][0]:.{nd}f}, {scale * m['ci'][1]:.{nd}f}]"
    return s


def _md(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _num(x: float | int | None) -> str:
    return "-" if x is None else f"{x:,}" if isinstance(x, int) else f"{x:g}"


def render_readme(data: dict) -> str:
    """leaderboard/README.md: one table per track."""
    lines = [
        "# robocall-bench leaderboard",
        "",
        "Generated by `rcb leaderboard build` from `leaderboard/entries/`; do not edit by hand "
        "(CI runs `rcb leaderboard build check=true`). Every number is recomputed from the entry's "
        "score files and the committed protocol. Ranked by EER on the main `eval` track, ties by minDCF. "
        f"Brackets: 95% cluster-bootstrap CIs ({data['bootstrap']['n']} replicates). "
        "See [CONTRIBUTING.md](../CONTRIBUTING.md) to submit an entry; open `site/index.html` for the "
        "sortable page with DET curves. Cost columns are reported by the entry, not recomputed: "
        "MACs/s = multiply-accumulates per second of audio, CPU RTF = compute seconds per second of audio, "
        "train/s = training samples per second (setups under *How costs were measured*).",
        "",
    ]
    head = [
        "#",
        "entry",
        "model",
        "EER %",
        "minDCF",
        "actDCF",
        "Cllr",
        "minCllr",
        "AUC",
        "params",
        "MACs/s",
        "CPU RTF",
        "train/s",
    ]
    for t in data["tracks"]:
        rows = [e for e in data["entries"] if t in e["tracks"]]
        rows.sort(
            key=lambda e: (e["tracks"][t]["eer"]["value"], e["tracks"][t]["min_dcf"]["value"], e["entry_id"])
        )
        lines += [f"## Track `{t}`" + (" (main)" if t == data["main_track"] else ""), ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for i, e in enumerate(rows, start=1):
            m = e["tracks"][t]
            cells = [str(i), f"`{e['entry_id']}`", _md(e["model"])]
            cells += [_cell(k, m[k]) for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc")]
            cells += [_num(e["params"]), _num(e["macs"]), _num(e["cpu_rtf"]), _num(e["train_samples_per_s"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if not data["entries"]:
        lines += ["No entries yet.", ""]
    measured = [e for e in data["entries"] if e.get("compute")]
    if measured:
        lines += ["## How costs were measured", ""]
        lines += [f"- `{e['entry_id']}`: {_md(e['compute'])}" for e in measured]
        lines.append("")
    return "\n".join(lines)


def render_csv(data: dict) -> str:
    """leaderboard.csv: one row per (entry, track), long format."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = [f"{k}{s}" for k in METRICS for s in ("", "_ci_low", "_ci_high")]
    w.writerow(
        [
            "rank",
            "entry_id",
            "model",
            "track",
            *cols,
            "n_robocall",
            "n_human",
            "params",
            "macs",
            "cpu_rtf",
            "train_samples_per_s",
        ]
    )
    for e in data["entries"]:
        for t in data["tracks"]:
            m = e["tracks"].get(t)
            if m is None:
                continue
            vals = []
            for k in METRICS:
                ci = m[k]["ci"] or [None, None]
                vals += [m[k]["value"], ci[0], ci[1]]
            w.writerow(
                [
                    e["rank"],
                    e["entry_id"],
                    e["model"],
                    t,
                    *vals,
                    m["n_robocall"],
                    m["n_human"],
                    e["params"],
                    e["macs"],
                    e["cpu_rtf"],
                    e["train_samples_per_s"],
                ]
            )
    return buf.getvalue()


def render_all(cfg: LeaderboardConfig) -> dict[str, bytes]:
    """Every output file (relative path -> bytes) from the current entries."""
    data = leaderboard_data(collect(cfg), cfg)
    return {
        "README.md": render_readme(data).encode("utf-8"),
        "leaderboard.csv": render_csv(data).encode("utf-8"),
        "leaderboard.json": (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"),
        "site/index.html": render_site(data).encode("utf-8"),
    }


def build(cfg: LeaderboardConfig, check: bool = False) -> list[str]:
    """Write the outputs (or, with ``check``, raise RcbError naming stale ones); returns their paths."""
    outputs = render_all(cfg)
    if check:
        stale = []
        for rel, data in outputs.items():
            p = cfg.root / rel
            if not p.is_file():
                stale.append(f"{p} (missing)")
            elif p.read_bytes() != data:
                stale.append(f"{p} (differs)")
        if stale:
            raise RcbError(
                "leaderboard outputs are stale:\n  - " + "\n  - ".join(stale) + "\n"
                "Fix: run `rcb leaderboard build` and commit the updated files."
            )
        return [str(cfg.root / r) for r in outputs]
    for rel, data in outputs.items():
        atomic_write_bytes(cfg.root / rel, data)
    return [str(cfg.root / r) for r in outputs]
