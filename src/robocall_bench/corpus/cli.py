"""``rcb corpus [subverb] key=value ...``: build (default), audit, verify, merge, download, export."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

from ..errors import RcbError

_ERR = Console(stderr=True)

HELP = """usage: rcb corpus [key=value ...]            build (Hydra overrides; -m for multirun/SLURM)
       rcb corpus audit corpus=DIR             shortcut audit (prints JSON with joint_auc)
       rcb corpus verify corpus=DIR            recheck protocol and audio sha256
       rcb corpus merge corpus=DIR [inputs=[SHARD_DIR,...]]   join shards into protocol + manifest
       rcb corpus download name=NAME [root=DIR] [mirror=URL]  fetch an official source archive
       rcb corpus export corpus=DIR [out=DIR]  Hugging Face DatasetDict -> parquet + dataset card

build keys: preset=tiny|mini|full out=DIR seed=N corpora_root=DIR num_workers=N shard=i/n audit=true|false
            tts.systems=[...] sources=[...] channel=narrowband|wideband plan.* protocol.* (see configs/corpus.yaml)
"""


def parse_kv(argv: Sequence[str], defaults: dict[str, Any], verb: str) -> dict[str, Any]:
    """Parse ``key=value`` arguments against ``defaults`` (None = required); YAML-typed values."""
    import yaml

    out = dict(defaults)
    for a in argv:
        key, eq, val = a.partition("=")
        if not eq or key not in defaults:
            raise RcbError(f"rcb corpus {verb}: unexpected argument {a!r}; valid keys: {', '.join(defaults)}")
        out[key] = yaml.safe_load(val) if val else ""
    missing = [k for k, v in out.items() if v is None]
    if missing:
        raise RcbError(f"rcb corpus {verb}: missing {', '.join(f'{k}=...' for k in missing)}")
    return out


def _audit(argv: Sequence[str]) -> int:
    from .audit import run_audit

    a = parse_kv(argv, {"corpus": None, "seed": 0}, "audit")
    run_audit(a["corpus"], seed=int(a["seed"]))
    return 0


def _verify(argv: Sequence[str]) -> int:
    from .verify import verify

    a = parse_kv(argv, {"corpus": None}, "verify")
    return 0 if verify(a["corpus"]) else 1


def _merge(argv: Sequence[str]) -> int:
    from .merge import merge

    a = parse_kv(argv, {"corpus": None, "inputs": []}, "merge")
    merge(a["corpus"], list(a["inputs"] or []))
    return 0


def _download(argv: Sequence[str]) -> int:
    from .download import download

    a = parse_kv(argv, {"name": None, "root": "", "mirror": ""}, "download")
    download(a["name"], a["root"] or None, a["mirror"] or None)
    return 0


def _export(argv: Sequence[str]) -> int:
    from .hf import export_parquet

    a = parse_kv(argv, {"corpus": None, "out": ""}, "export")
    export_parquet(a["corpus"], a["out"] or None)
    return 0


SUBVERBS: dict[str, Callable[[Sequence[str]], int]] = {
    "audit": _audit, "verify": _verify, "merge": _merge, "download": _download, "export": _export,
}  # fmt: skip


def _build_with_hydra(argv: Sequence[str]) -> int:
    import hydra

    from ..config import config_dir

    status = {"rc": 0}

    @hydra.main(config_path=str(config_dir()), config_name="corpus", version_base="1.3")
    def _run(cfg) -> None:
        from .build import build

        try:
            build(cfg)
        except RcbError as e:
            _ERR.print(f"[red]error:[/] {e}", markup=True, highlight=False)
            status["rc"] = 2

    saved = sys.argv
    sys.argv = ["rcb corpus", *argv]
    try:
        _run()
    finally:
        sys.argv = saved
    return status["rc"]


def main(argv: Sequence[str]) -> int:
    """Dispatch ``rcb corpus`` arguments."""
    argv = list(argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(HELP)
        return 0
    if argv and argv[0] in SUBVERBS:
        return SUBVERBS[argv[0]](argv[1:])
    if argv and argv[0] == "build":
        argv = argv[1:]
    return _build_with_hydra(argv)
