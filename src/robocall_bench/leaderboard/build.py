"""Building the leaderboard: recompute every entry with CIs, rank per corpus, write README.md/CSV/JSON/site.

Entries are only ever ranked against entries on the same registered corpus (name + version); a
track an entry separates perfectly without a maintainer's reproduction is listed but not ranked.
"""

from __future__ import annotations

import json

import numpy as np
from scipy.special import ndtri

from ..audio import atomic_write_bytes
from ..contract import MAIN_TRACK, track_order, track_selection
from ..errors import RcbError
from ..evaluation.breakdown import cluster_ids
from ..evaluation.core import group, operating_points
from .conditions import condition_eers, track_conditions
from .integrity import mark_copies
from .ranking import TrackRank, tied_ranks
from .registry import KINDS
from .render import render_csv, render_readme
from .schema import METRICS
from .site import render_site
from .validate import Board, Checked, LeaderboardConfig, load_board, validate_entry

LB_SCHEMA = "robocall-bench/leaderboard"
LB_SCHEMA_VERSION = 3  # 3: per-track rank / tied_with / tie_test (paired-bootstrap ties)
OUTPUTS = ("README.md", "leaderboard.csv", "leaderboard.json", "site/index.html")
DET_LIMITS = (5e-4, 0.99)
DET_POINTS = 200
SELF_REPORTED = ("params", "macs", "cpu_rtf", "train_samples_per_s", "compute")


def _r(x: float | None) -> float | None:
    # Rounded so the committed outputs do not change with the last bits of a platform's libm.
    return None if x is None else round(float(x), 6)


def collect(cfg: LeaderboardConfig) -> tuple[list[Checked], Board]:
    """Validate every entry under ``root/entries`` with CIs; RcbError listing every failure."""
    board = load_board(cfg.root)
    errors = list(board.errors)
    edir = cfg.root / "entries"
    dirs = (
        sorted(p for p in edir.iterdir() if p.name not in (".gitkeep", "README.md")) if edir.is_dir() else []
    )
    checks = [validate_entry(d, cfg, board, with_ci=True) for d in dirs]
    mark_copies(checks, cfg)
    for c in checks:
        errors += [f"{c.path.name}: {e}" for e in c.errors]
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
    return checks, board


def track_key(c: Checked, track: str) -> tuple:
    """Sort key within one track's table: ranked rows by EER, minDCF, id; flagged rows after them."""
    m = c.tracks[track]
    return (track in c.flags, m["eer"]["value"], m["min_dcf"]["value"], c.entry.entry_id)


def det_curve(scores: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    """DET points in probit units [[x, y], ...] (at most DET_POINTS), rounded for a stable page."""
    fpr, fnr, _ = operating_points(group(scores, labels))
    if fpr.size > DET_POINTS:
        idx = np.unique(np.linspace(0, fpr.size - 1, DET_POINTS).astype(int))
        fpr, fnr = fpr[idx], fnr[idx]
    lo, hi = DET_LIMITS
    x, y = ndtri(np.clip(fpr, lo, hi)), ndtri(np.clip(fnr, lo, hi))
    return [[round(float(a), 3), round(float(b), 3)] for a, b in zip(x, y, strict=True)]


def track_ranks(
    mine: list[Checked], track: str, board: Board, corpus: tuple[str, str], cfg: LeaderboardConfig
) -> dict[str, TrackRank]:
    """Ranks with ties (:mod:`.ranking`) of the unflagged entries of ``mine`` on ``track``."""
    ranked = sorted(
        (c for c in mine if track in c.tracks and track not in c.flags), key=lambda c: track_key(c, track)
    )
    if not ranked:
        return {}
    sel = board.protocols[corpus].select(*track_selection(track))
    clusters = cluster_ids(sel, cfg.human_cluster, cfg.robocall_cluster)
    scores = {c.entry.entry_id: c.scores[track][0] for c in ranked}
    labels = ranked[0].scores[track][1]
    return tied_ranks([c.entry.entry_id for c in ranked], scores, labels, clusters, cfg.bootstrap, cfg.cost)


def _r_test(t: dict | None) -> dict | None:
    if t is None:
        return None
    ci = None if t["ci"] is None else [_r(x) for x in t["ci"]]
    return {**t, "eer_diff": _r(t["eer_diff"]), "ci": ci, "p_value": _r(t["p_value"])}


def _entry_data(
    c: Checked, ranks: dict[str, dict[str, TrackRank]], tracks: list[str], kind: str, conditions: dict[str, dict]
) -> dict:
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
        per_track[t]["flag"] = c.flags.get(t)
        r = ranks[t].get(e.entry_id)
        rj = r.to_json() if r else {"rank": None, "tied_with": [], "tie_test": None}
        per_track[t].update(rank=rj["rank"], tied_with=rj["tied_with"], tie_test=_r_test(rj["tie_test"]),
                            tied=bool(rj["tied_with"]))  # the page reads `tied`
        per_track[t]["conditions"] = conditions[t]
    rep = c.reproduced
    main = per_track.get(MAIN_TRACK, {})
    return {
        "rank": main.get("rank"),
        "tied_with": main.get("tied_with", []),
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
        "corpus": {**e.corpus.model_dump(), "kind": kind},
        "reproducible": e.reproduce is not None,
        "reproduced": (
            {"date": rep.date, "code_version": rep.code_version, "network": rep.network} if rep else None
        ),
        "tracks": per_track,
    }


def leaderboard_data(checks: list[Checked], cfg: LeaderboardConfig, board: Board | None = None) -> dict:
    """The JSON-able leaderboard: per registered corpus, its ranked entries and DET curves of the top ones.

    ``entries`` lists every entry (each with its ``corpus`` and its ``rank`` within that corpus, None
    when its main track is flagged); ``corpora`` describes each corpus with its tracks and curves.
    """
    board = board or load_board(cfg.root)
    corpora, entries = [], []
    for row in sorted(board.registry.corpora, key=lambda r: (KINDS.index(r.kind), r.name, r.version)):
        mine = [c for c in checks if (c.entry.corpus.name, c.entry.corpus.version) == (row.name, row.version)]
        ranked = sorted(mine, key=lambda c: track_key(c, MAIN_TRACK))
        tracks = track_order({t for c in mine for t in c.tracks})
        ranks = {t: track_ranks(mine, t, board, (row.name, row.version), cfg) for t in tracks}
        # The page's drill-down: per-condition EERs, the conditions found once per track.
        proto = board.protocols.get((row.name, row.version))
        conds = {t: track_conditions(proto, t) for t in tracks}
        for c in ranked:
            per_cond = {t: condition_eers(conds[t], *c.scores[t]) for t in c.tracks}
            entries.append(_entry_data(c, ranks, tracks, row.kind, per_cond))
        det = {}
        for t in tracks:
            top = sorted(
                (c for c in mine if t in c.tracks and t not in c.flags), key=lambda c: track_key(c, t)
            )
            det[t] = [
                {"entry_id": c.entry.entry_id, "points": det_curve(*c.scores[t])} for c in top[: cfg.site_top]
            ]
        corpora.append(
            {
                "name": row.name,
                "version": row.version,
                "protocol_sha256": row.sha256,
                "kind": row.kind,
                "title": row.title,
                "tracks": tracks,
                "registered_tracks": list(row.tracks),
                "n_entries": len(mine),
                "det": det,
            }
        )
    b = cfg.bootstrap
    return {
        "schema": LB_SCHEMA,
        "schema_version": LB_SCHEMA_VERSION,
        "main_track": MAIN_TRACK,
        "ranking": "per corpus and track: sorted by EER, then minDCF, then entry id; dense ranks where an "
        "entry shares the rank of its group's best entry when the 95% CI of their paired cluster-bootstrap "
        "EER difference includes 0 (tied_with, tie_test); rank is the main track's; a track separated "
        "perfectly (EER 0) is not ranked until a maintainer reproduces the entry",
        "self_reported": list(SELF_REPORTED),
        "cost": {"p_spoof": cfg.cost.p_spoof, "c_miss": cfg.cost.c_miss, "c_fa": cfg.cost.c_fa},
        "bootstrap": {
            "n": b.n,
            "seed": b.seed,
            "alpha": b.alpha,
            "within": b.within,
            "human_cluster": cfg.human_cluster,
            "robocall_cluster": cfg.robocall_cluster,
        },
        "tracks": track_order({t for c in corpora for t in c["tracks"]}),  # of any corpus; each has its own
        "corpora": corpora,
        "entries": entries,
    }


def render_all(cfg: LeaderboardConfig) -> dict[str, bytes]:
    """Every output file (relative path -> bytes) from the current entries."""
    checks, board = collect(cfg)
    data = leaderboard_data(checks, cfg, board)
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
