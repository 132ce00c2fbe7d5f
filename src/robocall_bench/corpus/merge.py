"""``rcb corpus merge``: join shard outputs (same folder, or copied in from shard folders)."""

from __future__ import annotations

import shutil
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ..console import make_console
from ..errors import RcbError
from .assemble import assemble
from .card import write_card
from .prepare import prepare
from .render import is_done, meta_path, remove_stale_temp_files
from .stats import print_stats


def _load_config(path: Path) -> DictConfig:
    """A shard's ``config.yaml``; RcbError naming the file when it is not a YAML mapping."""
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:  # yaml and OmegaConf raise several types for a damaged file
        raise RcbError(
            f"{path}: not a readable config ({type(e).__name__}); rerun the shard that wrote it"
        ) from None
    if not isinstance(cfg, DictConfig):
        raise RcbError(f"{path}: not a config mapping; rerun the shard that wrote it")
    return cfg


def merge(corpus: str | Path, inputs: list[str] | None = None, console: Console | None = None) -> dict:
    """Copy finished utterances from ``inputs`` shard folders (if any) into ``corpus``, then assemble.

    The plan is recomputed from ``corpus/config.yaml`` (written by every shard), so a merge
    checks that all shards used the same config and seed.
    """
    console = console or make_console()
    out = Path(corpus).resolve()
    cfg_path = out / "config.yaml"
    srcs = [Path(p).resolve() for p in inputs or []]
    for s in srcs:
        if not (s / "config.yaml").is_file():
            raise RcbError(
                f"inputs: {s}/config.yaml not found; each input must be a folder a shard run wrote"
            )
    if out.exists() and not out.is_dir():
        raise RcbError(f"corpus={out}: is a file; pass the folder the shards wrote")
    if not cfg_path.is_file() and srcs:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(srcs[0] / "config.yaml", cfg_path)
    if not cfg_path.is_file():
        raise RcbError(f"{cfg_path} not found: merge needs the folder the shards wrote (or inputs=[...]).")
    cfg = _load_config(cfg_path)
    for s in srcs:
        other = _load_config(s / "config.yaml")
        other.out, other.shard = cfg.out, cfg.shard
        if OmegaConf.to_yaml(other) != OmegaConf.to_yaml(cfg):
            raise RcbError(f"{s}/config.yaml differs from {cfg_path}: shards of one corpus need one config")
    prep = prepare(cfg)
    remove_stale_temp_files(out)  # every shard is finished when one merges
    copied = 0
    for u in prep.plan:
        for s in srcs:
            if not is_done(out, u) and is_done(s, u):
                for rel in (Path(u.path), meta_path(s, u).relative_to(s)):
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(s / rel, out / rel)
                copied += 1
    manifest = assemble(prep, out, str(cfg.channel_name))
    write_card(out, manifest, prep)
    print_stats(manifest, console)
    console.print(f"merged {len(srcs)} shard folder(s), copied {copied} utterances -> {out}")
    return manifest
