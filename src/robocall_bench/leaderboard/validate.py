"""Validating one entry: layout and limits, schema, registered corpus, complete scores, recomputed metrics."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from ..contract import LEADERBOARD_TRACK_RE, MAIN_TRACK, Protocol, read_protocol, read_scores, track_selection
from ..errors import RcbError
from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.breakdown import cluster_ids
from ..evaluation.core import CostModel
from ..evaluation.run import EvalSpec, score_block
from .registry import (
    REGISTRY,
    Registry,
    Reproduction,
    load_registry,
    load_reproduced,
    valid_reproduction,
)
from .safeyaml import load_yaml_file
from .schema import ENTRY_ID_RE, Corpus, Entry

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
    copy_spearman: float = 0.999  # rank correlation above which two entries' scores count as one
    copy_min_trials: int = 50  # fewer trials: only identical scores count (small tracks tie by chance)


@dataclass
class Checked:
    """Outcome for one entry: ``errors`` empty means it passed; ``tracks`` holds packed metrics per track.

    ``flags`` do not fail the entry but keep a track unranked (perfect separation not reproduced);
    ``reproduced`` is the maintainer's still-valid record of a re-run, if any.
    """

    path: Path
    entry: Entry | None = None
    errors: list[str] = field(default_factory=list)
    tracks: dict[str, dict] = field(default_factory=dict)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # track -> (scores, labels)
    sha256: dict[str, str] = field(default_factory=dict)  # track -> sha256 of scores/<track>.tsv
    flags: dict[str, str] = field(default_factory=dict)  # track -> why it is not ranked
    reproduced: Reproduction | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


PERFECT = "perfect separation (EER 0): needs reproduction"


@dataclass
class Board:
    """The maintainer-owned state of a leaderboard root: registered protocols and reproductions."""

    protocols: dict[tuple[str, str], Protocol] = field(default_factory=dict)
    registry: Registry = field(default_factory=Registry)
    reproduced: dict[str, Reproduction] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def load_board(root: Path) -> Board:
    """Registry, reproductions and the protocols under ``root/protocols/*/`` that the registry lists.

    A protocol folder is accepted only when its corpus name + version has a registry row with the
    same sha256 and tracks (an entry cannot bring its own answer key), and its sha256 matches its own
    manifest's ``protocol_sha256``. Everything else is an error naming the fix.
    """
    b = Board()
    try:
        b.registry = load_registry(root)
    except RcbError as e:
        b.errors.append(str(e))
    try:
        b.reproduced = load_reproduced(root)
    except RcbError as e:
        b.errors.append(str(e))
    pdir = root / "protocols"
    for d in sorted(pdir.iterdir()) if pdir.is_dir() else []:
        try:
            p = read_protocol(d / "protocol.tsv")
        except RcbError as e:
            b.errors.append(str(e))
            continue
        problem = _protocol_problem(d, p, b.registry, root)
        if problem:
            b.errors.append(problem)
        elif (p.manifest["name"], p.manifest["version"]) in b.protocols:
            b.errors.append(f"{d}: a second protocol for corpus {p.manifest['name']} {p.manifest['version']}")
        else:
            b.protocols[(p.manifest["name"], p.manifest["version"])] = p
    return b


def _protocol_problem(d: Path, p: Protocol, reg: Registry, root: Path) -> str | None:
    name, version, sha = (p.manifest.get(k) for k in ("name", "version", "protocol_sha256"))
    if not (name and version):
        return f"{d}/manifest.json lacks name/version; copy the corpus's manifest.json beside protocol.tsv"
    if sha != p.sha256:
        return f"{d}/protocol.tsv sha256 {p.sha256[:12]} differs from its manifest's {str(sha)[:12]}"
    row = reg.get(name, version)
    if row is None:
        have = ", ".join(f"{c.name} {c.version}" for c in reg.corpora) or "none"
        return (
            f"{d}: corpus {name} {version} is not registered in {root / REGISTRY} (registered: {have}); "
            "entries must score a registered corpus, and only maintainers register one "
            "(`rcb leaderboard register corpus=DIR`). Remove this folder."
        )
    if row.sha256 != p.sha256:
        return (
            f"{d}/protocol.tsv sha256 {p.sha256[:12]} is not the registered {row.sha256[:12]} of {name} "
            f"{version}: restore the registered protocol (an edited answer key is refused)"
        )
    if p.eval_tracks() != row.tracks:
        return f"{d}: tracks {p.eval_tracks()} differ from the registered {row.tracks} of {name} {version}"
    if d.name != f"{name}-{version}":
        return f"{d}: name the folder {name}-{version} (the corpus it holds)"
    return None


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
            if rel.suffix != ".tsv" or not LEADERBOARD_TRACK_RE.match(rel.stem):
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
    board: Board | None = None,
    with_ci: bool = False,
) -> Checked:
    """Every check of one entry directory; collects all reasons instead of stopping at the first.

    Copies of other entries are found across entries by :func:`.integrity.mark_copies`.
    """
    entry_dir = Path(entry_dir)
    c = Checked(entry_dir)
    if not entry_dir.is_dir() or entry_dir.is_symlink():
        c.errors.append(f"{entry_dir} is not an entry directory")
        return c
    if board is None:
        board = load_board(cfg.root)
        c.errors += board.errors
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
    proto = board.protocols.get((corpus.name, corpus.version))
    row = board.registry.get(corpus.name, corpus.version)
    if row is None:
        have = ", ".join(f"{r.name} {r.version}" for r in board.registry.corpora) or "none"
        c.errors.append(
            f"corpus {corpus.name} {corpus.version} is not a registered leaderboard corpus "
            f"(registered: {have}); score the corpus version the leaderboard uses"
        )
        return c
    if proto is None:
        c.errors.append(
            f"the protocol of corpus {corpus.name} {corpus.version} is missing from {cfg.root / 'protocols'} "
            "or was refused (see the protocol errors)"
        )
        return c
    if corpus.protocol_sha256 != proto.sha256:
        c.errors.append(
            f"corpus.protocol_sha256 {corpus.protocol_sha256[:12]} does not match the leaderboard's protocol "
            f"{proto.sha256[:12]} for {corpus.name} {corpus.version}"
        )
    tracks = {p.stem: p for p in score_files}
    if row.kind == "official":  # an official release compares entries on every one of its tracks
        for t in [t for t in row.tracks if t not in tracks]:
            c.errors.append(
                f"scores/{t}.tsv is missing: an entry on the official {corpus.name} {corpus.version} scores "
                f"every registered track ({', '.join(row.tracks)})"
            )
    elif MAIN_TRACK not in tracks:
        c.errors.append(f"scores/{MAIN_TRACK}.tsv is missing: the main track is required")
    for t in [t for t in tracks if track_selection(t)[1] not in row.tracks]:
        c.errors.append(
            f"scores/{t}.tsv: track {t} is not registered for {corpus.name} {corpus.version} "
            f"(tracks: {', '.join(row.tracks)}, early-<N>s of eval)"
        )
        del tracks[t]
    _score_tracks(c, tracks, proto, cfg, with_ci)
    if c.entry is not None:
        _check_reported(c, cfg)
        c.reproduced = valid_reproduction(board.reproduced.get(c.entry.entry_id), corpus, c.sha256)
    if c.reproduced is None:
        # EER 0 is what an entry built from the public eval labels gets: it is listed, not ranked,
        # until a maintainer re-runs its recipe.
        c.flags = {t: PERFECT for t, m in c.tracks.items() if m["eer"]["value"] == 0.0}
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
            c.sha256[track] = sf.sha256
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
