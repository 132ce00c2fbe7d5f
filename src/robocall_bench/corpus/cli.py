"""``rcb corpus [subverb] key=value ...``: build (default), audit, verify, merge, download, export."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..errors import RcbError
from .options import corpus_dir_option, out_dir_option, seed_option, str_list_option, workers_option

_ERR = Console(stderr=True)

HELP = """usage: rcb corpus [key=value ...]            build (Hydra overrides; -m for multirun/SLURM)
       rcb corpus audit corpus=DIR [seed=N] [num_workers=N]   shortcut audit (prints JSON with joint_auc)
       rcb corpus verify corpus=DIR            recheck protocol and audio sha256
       rcb corpus merge corpus=DIR [inputs=[SHARD_DIR,...]]   join shards into protocol + manifest
       rcb corpus download name=NAME [root=DIR] [mirror=URL]  fetch sources: dev-sample (all of
         librispeech-sample aishell-sample fsdd-recordings robocall-transcripts noise), or the official
         librispeech-dev-clean | librispeech-test-clean | fsdd archives; mirror= or $RCB_MIRROR for a copy
       rcb corpus export corpus=DIR [out=DIR]  Hugging Face DatasetDict -> parquet + dataset card

build keys: preset=tiny|mini|full out=DIR seed=N corpora_root=DIR num_workers=N shard=i/n audit=true|false
            (seed: integer in [0, 2**32); num_workers: 0 or 1 = in this process, N = N worker processes;
             out: a folder, existing or new)
            tts.systems=[...] sources=[...] channel=narrowband|wideband plan.* protocol.* (see configs/corpus.yaml)
"""


def parse_kv(argv: Sequence[str], defaults: dict[str, Any], verb: str) -> dict[str, Any]:
    """Parse ``key=value`` arguments against ``defaults`` (None = required).

    Values of keys whose default is a string or None (paths, names) stay the raw string, so
    ``corpus=2024`` names the folder ``2024``; the others are YAML-typed (``seed=3``, ``inputs=[a,b]``).
    An empty value of a required key counts as missing.
    """
    import yaml

    out = dict(defaults)
    for a in argv:
        key, eq, val = a.partition("=")
        if not eq or key not in defaults:
            raise RcbError(f"rcb corpus {verb}: unexpected argument {a!r}; valid keys: {', '.join(defaults)}")
        if defaults[key] is None or isinstance(defaults[key], str):
            out[key] = val if val or defaults[key] is not None else None
            continue
        try:
            out[key] = yaml.safe_load(val) if val else ""
        except yaml.YAMLError as e:
            raise RcbError(
                f"rcb corpus {verb}: cannot read {a!r} ({type(e).__name__}); e.g. {key}=[a,b]"
            ) from None
    missing = [k for k, v in out.items() if v is None]
    if missing:
        raise RcbError(f"rcb corpus {verb}: missing {', '.join(f'{k}=...' for k in missing)}")
    return out


def _audit(argv: Sequence[str]) -> int:
    from .audit import run_audit

    a = parse_kv(argv, {"corpus": None, "seed": 0, "num_workers": 2}, "audit")
    corpus = corpus_dir_option(a["corpus"])
    run_audit(corpus, seed=seed_option(a["seed"]), num_workers=workers_option(a["num_workers"]))
    return 0


def _verify(argv: Sequence[str]) -> int:
    from .verify import verify

    a = parse_kv(argv, {"corpus": None}, "verify")
    return 0 if verify(corpus_dir_option(a["corpus"])) else 1


def _merge(argv: Sequence[str]) -> int:
    from .merge import merge

    a = parse_kv(argv, {"corpus": None, "inputs": []}, "merge")
    inputs = [] if a["inputs"] in ("", None, []) else str_list_option(a["inputs"], "inputs")
    merge(out_dir_option(a["corpus"], "corpus"), [str(corpus_dir_option(i, "inputs")) for i in inputs])
    return 0


def _download(argv: Sequence[str]) -> int:
    from .download import download

    a = parse_kv(argv, {"name": None, "root": "", "mirror": ""}, "download")
    download(a["name"], a["root"] or None, a["mirror"] or None)
    return 0


def _export(argv: Sequence[str]) -> int:
    from .hf import export_parquet

    a = parse_kv(argv, {"corpus": None, "out": ""}, "export")
    corpus = corpus_dir_option(a["corpus"])
    export_parquet(corpus, out_dir_option(a["out"]) if a["out"] else None)
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
            _ERR.print(f"[red]error:[/] {escape(str(e))}", markup=True, highlight=False)
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
