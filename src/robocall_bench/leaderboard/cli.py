"""``rcb leaderboard validate entry=DIR | build [check=true] | reproduce entry=DIR corpus=DIR |
entry run=RUN_DIR [entry_id=ID] [out=DIR]``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig
from rich.console import Console

from ..config import config_dir, load_config
from ..errors import RcbError
from ..evaluation.bootstrap import BootstrapConfig
from ..evaluation.core import CostModel
from .validate import LeaderboardConfig, validate_entry

SUBVERBS = ("validate", "build", "reproduce", "entry")
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
        entry = _entry(cfg)
        c = validate_entry(entry, lb)
        if not c.ok:
            raise RcbError(f"FAIL {entry}: {len(c.errors)} problem(s):\n  - " + "\n  - ".join(c.errors))
        m = c.tracks["eval"]
        _OUT.print(
            f"PASS {c.entry.entry_id}: tracks {', '.join(sorted(c.tracks))}; eval EER {100 * m['eer']['value']:.2f}% "
            f"minDCF {m['min_dcf']['value']:.4f}",
            highlight=False,
            soft_wrap=True,
        )
        return 0
    if sub == "build":
        from .build import build  # matplotlib-free, but keeps validate light

        paths = build(lb, check=bool(cfg.check))
        verb = "up to date" if cfg.check else "wrote"
        _OUT.print(f"{verb}: {', '.join(paths)}", highlight=False, soft_wrap=True)
        return 0
    if sub == "entry":
        return _entry_from_run(cfg, lb)
    from .reproduce import reproduce

    corpus = Path(str(cfg.corpus)).expanduser() if cfg.corpus else None
    for line in reproduce(_entry(cfg), corpus, lb, float(cfg.reproduce.atol)):
        _OUT.print(line, highlight=False, soft_wrap=True)
    _OUT.print("reproduced", highlight=False)
    return 0
