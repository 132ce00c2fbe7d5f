"""``rcb leaderboard validate entry=DIR | build [check=true] | reproduce entry=DIR corpus=DIR [confirm=true] |
entry run=RUN_DIR [entry_id=ID] [out=DIR] [register=true] | register corpus=DIR [kind=official] [title=...]``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig
from rich.console import Console

from ..config import config_dir, load_config
from ..errors import RcbError
from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.core import CostModel
from .validate import LeaderboardConfig, load_board, validate_entry

SUBVERBS = ("validate", "build", "reproduce", "entry", "register")
_OUT = Console()


def settings(cfg: DictConfig) -> LeaderboardConfig:
    """A :class:`LeaderboardConfig` from a composed ``leaderboard`` config."""
    b, lim = cfg.bootstrap, cfg.limits
    return LeaderboardConfig(
        root=Path(str(cfg.root)).expanduser(),
        tolerance=float(cfg.tolerance),
        entry_yaml_bytes=int(lim.entry_yaml_bytes),
        score_file_bytes=int(lim.score_file_bytes),
        entry_bytes=int(lim.entry_bytes),
        max_files=int(lim.files),
        cost=CostModel(float(cfg.cost.p_spoof), float(cfg.cost.c_miss), float(cfg.cost.c_fa)),
        bootstrap=BootstrapConfig(int(b.n), int(b.seed), float(b.alpha), bool(b.within)),
        human_cluster=str(b.human_cluster),
        robocall_cluster=str(b.robocall_cluster),
        site_top=int(cfg.site_top),
        copy_spearman=float(cfg.integrity.copy_spearman),
        copy_min_trials=int(cfg.integrity.copy_min_trials),
    )


def _entry(cfg: DictConfig) -> Path:
    if not cfg.entry:
        raise RcbError("give the entry directory: entry=leaderboard/entries/<entry_id>")
    return Path(str(cfg.entry)).expanduser()


def _entry_from_run(cfg: DictConfig, lb: LeaderboardConfig) -> int:
    from .from_run import entry_from_run

    if not cfg.run:
        raise RcbError(
            "give the training run: run=experiments/runs/<name>/<time> (a finished `rcb train` run)"
        )
    edir = entry_from_run(
        str(cfg.run),
        lb,
        cfg.entry_id or None,
        cfg.out or None,
        cfg.corpus or None,
        speed=bool(cfg.get("speed", True)),
        register=bool(cfg.get("register", False)),
    )
    _OUT.print(f"PASS: wrote {edir} (entry.yaml + scores/); then `rcb leaderboard build`", highlight=False)
    return 0


def main(argv: Sequence[str]) -> int:
    """Dispatch the subverb."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in SUBVERBS:
        print(__doc__)
        print((config_dir() / "leaderboard.yaml").read_text(encoding="utf-8"))
        if argv and argv[0] not in ("-h", "--help", "help"):
            raise RcbError(f"unknown leaderboard subverb {argv[0]!r}; use one of {', '.join(SUBVERBS)}")
        return 0
    sub, rest = argv[0], argv[1:]
    cfg = load_config("leaderboard", rest)
    lb = settings(cfg)
    if sub == "validate":
        return _validate(_entry(cfg), lb)
    if sub == "build":
        from .build import build  # matplotlib-free, but keeps validate light

        paths = build(lb, check=bool(cfg.check))
        verb = "up to date" if cfg.check else "wrote"
        _OUT.print(f"{verb}: {', '.join(paths)}", highlight=False, soft_wrap=True)
        return 0
    if sub == "entry":
        return _entry_from_run(cfg, lb)
    if sub == "register":
        return _register(cfg, lb)
    from .reproduce import ReproduceOptions, reproduce

    corpus = Path(str(cfg.corpus)).expanduser() if cfg.corpus else None
    r = cfg.reproduce
    opts = ReproduceOptions(
        atol=float(r.atol),
        confirm=bool(cfg.confirm),
        allow_network=bool(cfg.allow_network),
        max_timeout_s=int(r.max_timeout_s),
        pass_env=tuple(str(x) for x in r.pass_env),
        record=bool(r.record),
    )
    for line in reproduce(_entry(cfg), corpus, lb, opts):
        _OUT.print(line, highlight=False, soft_wrap=True)
    _OUT.print("reproduced", highlight=False)
    return 0


def _validate(entry: Path, lb: LeaderboardConfig) -> int:
    """One entry's checks plus copies of the other entries under ``root/entries``; flags are printed."""
    from .integrity import mark_copies

    board = load_board(lb.root)
    c = validate_entry(entry, lb, board)
    c.errors = board.errors + c.errors
    edir = lb.root / "entries"
    others = [
        validate_entry(d, lb, board)
        for d in (sorted(edir.iterdir()) if edir.is_dir() else [])
        if d.is_dir() and not d.is_symlink() and d.resolve() != entry.resolve()
    ]
    mark_copies([c, *others], lb)
    if not c.ok:
        raise RcbError(f"FAIL {entry}: {len(c.errors)} problem(s):\n  - " + "\n  - ".join(c.errors))
    m = c.tracks["eval"]
    _OUT.print(
        f"PASS {c.entry.entry_id}: tracks {', '.join(sorted(c.tracks))}; eval EER {100 * m['eer']['value']:.2f}% "
        f"minDCF {m['min_dcf']['value']:.4f}" + (f"; reproduced {c.reproduced.date}" if c.reproduced else ""),
        highlight=False,
        soft_wrap=True,
    )
    for track, why in sorted(c.flags.items()):
        _OUT.print(
            f"FLAG {c.entry.entry_id} scores/{track}.tsv: {why}: listed without a rank until a maintainer "
            "re-runs the recipe (rcb leaderboard reproduce ... confirm=true)",
            highlight=False,
            soft_wrap=True,
        )
    return 0


def _register(cfg: DictConfig, lb: LeaderboardConfig) -> int:
    from .registry import register_protocol

    if not cfg.corpus:
        raise RcbError("give the corpus to register: corpus=DIR (its protocol.tsv + manifest.json)")
    row = register_protocol(Path(str(cfg.corpus)).expanduser(), lb.root, str(cfg.kind), cfg.title or None)
    _OUT.print(
        f"registered {row.name} {row.version} ({row.kind}, tracks {', '.join(row.tracks)}, sha256 "
        f"{row.sha256[:12]}) in {lb.root}; commit registry.yaml and protocols/",
        highlight=False,
        soft_wrap=True,
    )
    return 0
