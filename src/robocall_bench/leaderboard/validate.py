"""Validating one entry: layout and limits, schema, corpus match, complete scores, recomputed metrics."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from ..errors import RcbError
from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.breakdown import cluster_ids
from ..evaluation.core import CostModel
from ..evaluation.protocol import Protocol, read_protocol
from ..evaluation.run import EvalSpec, score_block
from ..evaluation.scorefile import read_scores
from .safeyaml import load_yaml_file
from .schema import ENTRY_ID_RE, MAIN_TRACK, TRACK_RE, Corpus, Entry, track_selection

ALLOWED_TOP = {"entry.yaml", "README.md", "scores"}


@dataclass
class LeaderboardConfig:
    """Settings shared by validate/build/reproduce (``configs/leaderboard.yaml``)."""

    root: Path = Path("leaderboard")
    tolerance: float = 1e-3
    entry_yaml_bytes: int = 64 * 1024
    score_file_bytes: int = 64 * 1024 * 1024
    entry_bytes: int = 256 * 1024 * 1024
    max_files: int = 32
    cost: CostModel = field(default_factory=CostModel)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    human_cluster: str = "speaker"
    robocall_cluster: str = "system"
    site_top: int = 5


@dataclass
class Checked:
    """Outcome for one entry: ``errors`` empty means it passed; ``tracks`` holds packed metrics per track."""

    path: Path
    entry: Entry | None = None
    errors: list[str] = field(default_factory=list)
    tracks: dict[str, dict] = field(default_factory=dict)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # track -> (scores, labels)

    @property
    def ok(self) -> bool:
        return not self.errors


def load_protocols(root: Path) -> tuple[dict[tuple[str, str], Protocol], list[str]]:
    """The committed protocols under ``root/protocols/*/`` keyed by (corpus name, version), plus problems.

    A protocol whose sha256 differs from its own manifest's ``protocol_sha256`` is refused: the
    leaderboard would otherwise score against an edited answer key.
    """
    found: dict[tuple[str, str], Protocol] = {}
    errors = []
    pdir = root / "protocols"
    for d in sorted(pdir.iterdir()) if pdir.is_dir() else []:
        try:
            p = read_protocol(d / "protocol.tsv")
        except RcbError as e:
            errors.append(str(e))
            continue
        name, version, sha = (
            p.manifest.get("name"),
            p.manifest.get("version"),
            p.manifest.get("protocol_sha256"),
        )
        if not (name and version):
            errors.append(
                f"{d}/manifest.json lacks name/version; copy the corpus's manifest.json beside protocol.tsv"
            )
        elif sha != p.sha256:
            errors.append(
                f"{d}/protocol.tsv sha256 {p.sha256[:12]} differs from its manifest's {str(sha)[:12]}"
            )
        elif (name, version) in found:
            errors.append(f"{d}: a second protocol for corpus {name} {version}")
        else:
            found[(name, version)] = p
    return found, errors


def _layout(entry_dir: Path, cfg: LeaderboardConfig, c: Checked) -> list[Path]:
    """Check names, symlinks, file count and sizes; return the score files that may be read."""
    if not ENTRY_ID_RE.match(entry_dir.name):
        c.errors.append(f"directory name {entry_dir.name!r} is not a safe entry id (a-z 0-9 . _ -, no '..')")
    files, total = [], 0
    for dirpath, dirnames, filenames in os.walk(entry_dir, followlinks=False):
        here = Path(dirpath)
        for name in dirnames + filenames:
            p = here / name
            rel = p.relative_to(entry_dir)
            if p.is_symlink():
                c.errors.append(f"{rel}: symbolic links are not allowed in an entry")
                continue
            if name in dirnames:
                if rel != Path("scores"):
                    c.errors.append(f"{rel}/: unexpected directory (only scores/ is allowed)")
                    dirnames.remove(name)
                continue
            files.append(rel)
            total += p.stat().st_size
    if len(files) > cfg.max_files:
        c.errors.append(f"{len(files)} files; at most {cfg.max_files} are allowed")
    if total > cfg.entry_bytes:
        c.errors.append(f"entry holds {total} bytes; at most {cfg.entry_bytes} are allowed")
    scores = []
    for rel in sorted(files):
        if rel.parent == Path("scores"):
            if rel.suffix != ".tsv" or not TRACK_RE.match(rel.stem):
                c.errors.append(
                    f"{rel}: unknown track file; name it scores/<track>.tsv with track in eval, "
                    "unseen-systems, unseen-channel, early-<N>s"
                )
            elif (entry_dir / rel).stat().st_size > cfg.score_file_bytes:
                c.errors.append(f"{rel}: larger than {cfg.score_file_bytes} bytes")
            else:
                scores.append(entry_dir / rel)
        elif str(rel) not in ALLOWED_TOP:
            c.errors.append(f"{rel}: unexpected file (allowed: entry.yaml, README.md, scores/<track>.tsv)")
    return scores


def _spec(cfg: LeaderboardConfig) -> EvalSpec:
    return EvalSpec(protocol="", scores="", cost=cfg.cost, bootstrap=cfg.bootstrap)


def validate_entry(
    entry_dir: str | os.PathLike,
    cfg: LeaderboardConfig,
    protocols: dict[tuple[str, str], Protocol] | None = None,
    with_ci: bool = False,
) -> Checked:
    """Every check of one entry directory; collects all reasons instead of stopping at the first."""
    entry_dir = Path(entry_dir)
    c = Checked(entry_dir)
    if not entry_dir.is_dir() or entry_dir.is_symlink():
        c.errors.append(f"{entry_dir} is not an entry directory")
        return c
    if protocols is None:
        protocols, perr = load_protocols(cfg.root)
        c.errors += perr
    score_files = _layout(entry_dir, cfg, c)
    raw: object = None
    try:
        raw = load_yaml_file(entry_dir / "entry.yaml", cfg.entry_yaml_bytes)
        c.entry = Entry.model_validate(raw)
    except RcbError as e:
        c.errors.append(str(e))
    except ValidationError as e:
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "entry.yaml"
            c.errors.append(f"entry.yaml: {loc}: {err['msg']}")
    if not isinstance(raw, dict):
        return c
    # Carry on with whatever parts are valid so that one run lists every reason.
    entry_id = raw.get("entry_id")
    if isinstance(entry_id, str) and entry_id != entry_dir.name:
        c.errors.append(f"entry_id {entry_id!r} differs from the directory name {entry_dir.name!r}")
    corpus = c.entry.corpus if c.entry else _lenient(Corpus, raw.get("corpus"))
    if corpus is None:
        return c
    proto = protocols.get((corpus.name, corpus.version))
    if proto is None:
        have = ", ".join(f"{n} {v}" for n, v in sorted(protocols)) or "none"
        c.errors.append(
            f"no committed protocol for corpus {corpus.name} {corpus.version} (have: {have}); "
            "score the corpus version the leaderboard uses"
        )
        return c
    if corpus.protocol_sha256 != proto.sha256:
        c.errors.append(
            f"corpus.protocol_sha256 {corpus.protocol_sha256[:12]} does not match the leaderboard's protocol "
            f"{proto.sha256[:12]} for {corpus.name} {corpus.version}"
        )
    tracks = {p.stem: p for p in score_files}
    if MAIN_TRACK not in tracks:
        c.errors.append(f"scores/{MAIN_TRACK}.tsv is missing: the main track is required")
    _score_tracks(c, tracks, proto, cfg, with_ci)
    if c.entry is not None:
        _check_reported(c, cfg)
    return c


def _lenient(model: type[BaseModel], value: object) -> BaseModel | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _score_tracks(
    c: Checked, tracks: dict[str, Path], proto: Protocol, cfg: LeaderboardConfig, with_ci: bool
) -> None:
    for track, path in sorted(tracks.items()):
        split, ptrack = track_selection(track)
        try:
            sel = proto.select(split, ptrack)
            sf = read_scores(path, sel, proto, f"split={split} track={ptrack}", cfg.score_file_bytes)
            labels = sel.is_robocall
            clusters = cluster_ids(sel, cfg.human_cluster, cfg.robocall_cluster)
            spec = _spec(cfg)
            c.tracks[track] = score_block(
                sf.scores, labels, clusters, spec, None, spec.bootstrap if with_ci else None
            )
            c.scores[track] = (sf.scores, labels)
        except RcbError as e:
            c.errors.append(f"scores/{track}.tsv: {e}")


def _check_reported(c: Checked, cfg: LeaderboardConfig) -> None:
    for track, metrics in (c.entry.reported or {}).items():
        if track not in c.tracks:
            c.errors.append(f"reported.{track}: no valid scores/{track}.tsv to check it against")
            continue
        for name, value in metrics.items():
            got = c.tracks[track][name]["value"]
            if abs(got - value) > cfg.tolerance:
                c.errors.append(
                    f"reported.{track}.{name} = {value:.6g} but the scores give {got:.6g} "
                    f"(tolerance {cfg.tolerance:g}); report the recomputed value"
                )
