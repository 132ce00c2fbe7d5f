"""Score files of every official baseline recipe, and the re-run each entry's ``reproduce`` names.

    python -m robocall_bench.baseline_kinds recipe=NAME corpus=DIR out=DIR

writes ``out/<track>.tsv`` for every track the recipe's entry scores, from nothing but the corpus
and the recipe in configs/baselines.yaml (``rcb leaderboard reproduce`` runs exactly this in its
sandbox and compares the files with the committed ones). Recipe kinds (``recipes.<name>.kind``):

- ``train`` (default): ``rcb train`` of a pinned ``configs/experiment/`` file; its ``scores/``.
- ``zero_shot``: published AASIST weights scored as their authors evaluate them (``rcb score
  ckpt=<weights>``: first 64,600 samples at 16 kHz, tiled); the file comes from ``weights_dir``
  (``$RCB_AASIST_WEIGHTS``), checked against the published sha256.
- ``fingerprint``: the campaign fingerprint (``rcb campaign``), each track one set of calls, as a
  network sees one pool of calls.
- ``fusion``: logistic fusion of the scores of one or more ``train`` recipes (``per_call``) and,
  unless ``fingerprint: false``, the fingerprint's, fitted on the whole dev split (its per-call and
  campaign pools, each fingerprinted as its own set) and applied unchanged to every eval track;
  nothing is fitted on eval.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from .config import load_config
from .console import make_console
from .contract import read_protocol, read_scores, track_selection, write_scores
from .errors import RcbError

KINDS = ("train", "zero_shot", "fingerprint", "fusion")
# The tracks a score-only recipe scores (those of the corpus): every official entry must have them.
SCORE_TRACKS = ("eval", "unseen-systems", "unseen-channel", "campaign")


def score_tracks(corpus: Path) -> list[str]:
    """The SCORE_TRACKS the corpus has (a corpus before 2.0.0 has no campaign track)."""
    have = set(read_protocol(corpus).select("eval").cols["track"].tolist())
    return [t for t in SCORE_TRACKS if t in have]


@dataclass
class RecipeScores:
    """Where one recipe's score files are, and what the entry says about how they were made."""

    scores: Path  # folder of <track>.tsv
    meta: dict[str, Any] = field(default_factory=dict)  # entry.yaml fields (params, macs, cpu_rtf, ...)
    run_dir: Path | None = None  # the training run, for kind train
    seconds: float = 0.0


def kind_of(recipes: DictConfig, name: str) -> str:
    """The recipe's kind; RcbError for an unknown one."""
    k = str(recipes[name].get("kind") or "train")
    if k not in KINDS:
        raise RcbError(f"recipes.{name}.kind={k!r}: choose one of {', '.join(KINDS)} (configs/baselines.yaml)")
    return k


def weights_file(d: DictConfig, recipe: DictConfig, name: str) -> Path:
    """The published weights file of a zero-shot recipe (``baselines.weights_dir/<recipe.weights>``)."""
    from .contract import sha256_file
    from .models.aasist_weights import PUBLISHED_SHA256

    wdir = d.get("weights_dir")
    if wdir in (None, "", "null"):
        raise RcbError(
            f"recipe {name} scores the published {recipe.weights}: set RCB_AASIST_WEIGHTS (or "
            "baselines.weights_dir=) to the folder holding AASIST.pth and AASIST-L.pth of clovaai/aasist"
        )
    f = Path(str(wdir)).expanduser() / str(recipe.weights)
    if not f.is_file():
        raise RcbError(f"{f} not found: point RCB_AASIST_WEIGHTS at the folder of the published AASIST weights")
    if sha256_file(f) not in PUBLISHED_SHA256:
        raise RcbError(f"{f} is not one of the published AASIST files (sha256 differs); use the original file")
    return f


def _fingerprint_tracks(corpus: Path, out: Path, tracks: Sequence[str], console: Console, dev: bool) -> float:
    """``out/<track>.tsv`` of the fingerprint for eval ``tracks`` and, with ``dev``, ``out/dev.tsv``
    (dev and dev-campaign pools, each its own set); returns the CPU real-time factor (wall / audio s)."""
    from .fingerprint.cli import campaign

    proto = read_protocol(corpus)
    wall = audio = 0.0
    for t in tracks:
        split, ptrack = track_selection(t)
        r = campaign(str(corpus), str(out / f"{t}.tsv"), None, split, ptrack, console=console)
        wall, audio = wall + r.wall_s, audio + r.audio_s
    if not dev:
        return wall / max(audio, 1e-9)
    dev_ids: list[str] = []
    dev_scores: list[float] = []
    for pool in sorted(set(proto.select("dev").cols["track"].tolist())):
        r = campaign(str(corpus), str(out / f".dev-{pool}.tsv"), None, "dev", pool, console=console)
        sel = proto.select("dev", pool)
        s = read_scores(out / f".dev-{pool}.tsv", sel, proto, f"dev track {pool}").scores
        dev_ids += sel.cols["utt_id"].tolist()
        dev_scores += s.tolist()
        (out / f".dev-{pool}.tsv").unlink()
        wall, audio = wall + r.wall_s, audio + r.audio_s
    write_scores(out / "dev.tsv", dev_ids, dev_scores)
    return wall / max(audio, 1e-9)


def _zero_shot(d: DictConfig, recipe: DictConfig, name: str, corpus: Path, out: Path,
               console: Console) -> dict[str, Any]:  # fmt: skip
    from .inference.score_cli import score

    f = weights_file(d, recipe, name)
    wall = audio = 0.0
    for t in score_tracks(corpus):
        split, ptrack = track_selection(t)
        r = score(str(f), str(corpus), str(out / f"{t}.tsv"), split=split, track=ptrack,
                  batch_size=int(recipe.get("batch_size", 16)), device="cpu", console=console)  # fmt: skip
        wall, audio = wall + r.result.wall_s, audio + r.result.audio_s
    return {"weights": f, "scoring_rtf": wall / max(audio, 1e-9)}


def recipe_scores(d: DictConfig, recipes: DictConfig, name: str, corpus: Path, out: Path,
                  console: Console) -> RecipeScores:  # fmt: skip
    """Train or score recipe ``name`` on ``corpus``; its score files end up in ``out`` (created)."""
    from .demo import train_recipe

    kind, recipe = kind_of(recipes, name), recipes[name]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if kind == "train":
        run = train_recipe(d, recipes, name, corpus, console)
        for f in (run.run_dir / "scores").glob("*.tsv"):
            shutil.copyfile(f, out / f.name)
        return RecipeScores(out, {}, run.run_dir, run.seconds)
    if kind == "zero_shot":
        z = _zero_shot(d, recipe, name, corpus, out, console)
        return RecipeScores(out, z, None, time.perf_counter() - t0)
    if kind == "fingerprint":
        rtf = _fingerprint_tracks(corpus, out, score_tracks(corpus), console, dev=False)  # only fusion fits on dev
        return RecipeScores(out, {"rtf": rtf}, None, time.perf_counter() - t0)
    return _fusion(d, recipes, name, corpus, out, console, t0)


def _fusion(d: DictConfig, recipes: DictConfig, name: str, corpus: Path, out: Path, console: Console,
            t0: float) -> RecipeScores:  # fmt: skip
    from .demo import train_recipe
    from .fusion.fuse import apply_fusion, fit_fusion, matrix

    r = recipes[name]
    bases = [str(b) for b in (r.per_call if OmegaConf.is_list(r.per_call) else [r.per_call])]
    for b in bases:
        if b not in recipes or kind_of(recipes, b) != "train":
            raise RcbError(f"recipes.{name}.per_call: {b} must name a recipe of kind train")
    runs = [train_recipe(d, recipes, b, corpus, console).run_dir for b in bases]
    cols = [run / "scores" for run in runs]
    rtf = 0.0
    if r.get("fingerprint", True):
        fp = out / ".fingerprint"
        fp.mkdir(exist_ok=True)
        rtf = _fingerprint_tracks(corpus, fp, score_tracks(corpus), console, dev=True)
        cols.append(fp)
    proto = read_protocol(corpus)
    dev = proto.select("dev")
    Xd = matrix([str(c / "dev.tsv") for c in cols], dev, proto)
    params = fit_fusion(Xd, dev.is_robocall.astype(int), int(r.get("seed", 0)))
    for t in score_tracks(corpus):
        split, ptrack = track_selection(t)
        sel = proto.select(split, ptrack)
        X = matrix([str(c / f"{t}.tsv") for c in cols], sel, proto)
        write_scores(out / f"{t}.tsv", sel.cols["utt_id"].tolist(), apply_fusion(X, params).tolist())
    shutil.rmtree(out / ".fingerprint", ignore_errors=True)
    info = {"per_call": bases, "fingerprint": bool(r.get("fingerprint", True)), "params": params, "n_dev": len(dev)}
    (out / "fusion.json").write_text(json.dumps(info, indent=1))
    meta = {"fusion": params, "per_call_runs": runs, "fingerprint_rtf": rtf}
    return RecipeScores(out, meta, runs[0], time.perf_counter() - t0)


def main(argv: Sequence[str]) -> int:
    """``python -m robocall_bench.baseline_kinds recipe=NAME corpus=DIR out=DIR [baselines overrides]``."""
    args = [a for a in argv if not a.startswith(("recipe=", "corpus=", "out="))]
    kv = dict(a.split("=", 1) for a in argv if a.startswith(("recipe=", "corpus=", "out=")))
    missing = [k for k in ("recipe", "corpus", "out") if k not in kv]
    if missing:
        raise RcbError(f"missing {', '.join(k + '=' for k in missing)}: usage recipe=NAME corpus=DIR out=DIR")
    cfg = load_config("baselines", [*args, f"baselines.corpus={kv['corpus']}", "baselines.out=rcb-rerun",
                                    "baselines.reuse=false"])  # fmt: skip
    OmegaConf.resolve(cfg)
    if kv["recipe"] not in cfg.recipes:
        raise RcbError(f"recipe={kv['recipe']!r}: choose one of {', '.join(cfg.recipes)}")
    from .demo import ensure_corpus

    console = make_console()
    corpus = ensure_corpus(cfg.baselines, console)
    tmp = Path("rcb-rerun") / "scores"
    res = recipe_scores(cfg.baselines, cfg.recipes, kv["recipe"], corpus, tmp, console)
    out = Path(kv["out"])
    out.mkdir(parents=True, exist_ok=True)
    for f in res.scores.glob("*.tsv"):
        shutil.copyfile(f, out / f.name)
    console.print(f"wrote {len(list(out.glob('*.tsv')))} score files to {out} in {res.seconds:.0f} s", highlight=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    import os
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "offline")
    try:
        sys.exit(main(sys.argv[1:]))
    except RcbError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
