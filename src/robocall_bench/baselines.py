"""``rcb baselines``: regenerate the official baseline entries of the leaderboard (configs/baselines.yaml).

Stages: build or resume the release corpus (as ``rcb corpus preset=release``), train and score each
recipe (``rcb train``; finished runs with the same recipe are reused), write each run's entry into
a staging folder beside ``entries/`` and validate it, then swap the staged entries in and rebuild
the leaderboard. Nothing under ``entries/`` changes until every requested entry has been written
and validated, so an interrupted or failed regeneration leaves the committed entries as they were;
entries of other ids are never touched.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from .baseline_kinds import RecipeScores, kind_of, recipe_scores
from .config import compose, load_config, print_help_if_asked
from .console import make_console
from .demo import ensure_corpus, recipe_overrides
from .errors import RcbError

STAGING = ".staging-baselines"


@dataclass
class Staged:
    """One recipe's finished scores, on their way to an entry."""

    name: str
    kind: str
    entry_id: str
    title: str
    scores: RecipeScores
    corpus: Path
    reproduce: dict[str, Any]
    recipe: DictConfig


def entry_fields(r: Staged) -> dict[str, Any]:
    """entry.yaml fields of a recipe that is not one training run (zero-shot, fingerprint, fusion)."""
    from .leaderboard.from_run import count_params, measure_speed, pretrained_of

    cmd = f"python -m robocall_bench.baseline_kinds recipe={r.name} corpus=<release corpus> out=<folder>"
    f: dict[str, Any] = {"model": r.title, "description": str(r.recipe.get("description") or r.title),
                         "experiment": f"rcb baselines baselines.models=[{r.name}] ({cmd})", "pretrained": None,
                         "reproduce": r.reproduce}  # fmt: skip
    if r.kind == "zero_shot":
        from .inference.scoring import load_scorer

        w = r.scores.meta["weights"]
        sc = load_scorer(w, "cpu")
        macs, rtf, how = measure_speed(sc.model)
        f.update(pretrained=pretrained_of({"pretrained": str(w)}), params=count_params(sc.model), macs=macs,
                 cpu_rtf=rtf, compute=how,
                 training_data="ASVspoof 2019 LA train (the published weights); nothing trained or tuned on "
                 "robocall-bench")  # fmt: skip
    elif r.kind == "fingerprint":
        f.update(params=0, macs=None, cpu_rtf=float(f"{r.scores.meta['rtf']:.3g}"),
                 compute="CPU RTF: wall seconds of fingerprinting + matching per second of call audio over "
                 "every scored track (one process)",
                 training_data="none (landmark hashing; its settings were fixed on the mini preset's "
                 "train/dev, nothing fitted on the release)")  # fmt: skip
    else:  # fusion
        from .inference.scoring import load_scorer

        params = macs = 0
        rtf, hows = float(r.scores.meta["fingerprint_rtf"]), []
        for run in r.scores.meta["per_call_runs"]:
            sc = load_scorer(run, "cpu", "best")
            m, t, how = measure_speed(sc.model)
            params, macs, rtf = params + count_params(sc.model), macs + (m or 0), rtf + (t or 0)
            hows.append(how or "")
        f.update(params=params + len(r.scores.meta["fusion"]["coef"]) + 1, macs=macs or None,
                 cpu_rtf=float(f"{rtf:.3g}") if rtf > 0 else None,
                 compute=(f"CPU RTF: sum of the per-call models' ({hows[0]}) and the fingerprint's "
                          f"{float(r.scores.meta['fingerprint_rtf']):.3g}")[:500],
                 training_data="release train split (the per-call models; dev picks their checkpoints); "
                 "fusion weights fitted on the whole release dev split")  # fmt: skip
    return f


def reproduce_of(name: str, timeout_s: int) -> dict[str, Any]:
    """The entry's re-run recipe: the same recipe, from the corpus alone (baseline_kinds.py)."""
    return {"command": ["{python}", "-m", "robocall_bench.baseline_kinds", f"recipe={name}", "corpus={corpus}",
                        "out={out}"], "timeout_s": int(timeout_s)}  # fmt: skip


def stage_entries(root: Path, runs: list[Staged], console: Console) -> Path:
    """Entries of ``runs`` written and validated under ``<root>/.staging-baselines/entries``; that folder.

    Validation runs against copies of ``root``'s registry and protocols (the corpus must be registered there).
    """
    from .leaderboard.cli import settings
    from .leaderboard.from_run import entry_from_run
    from .leaderboard.from_scores import entry_from_scores

    stage = root / STAGING
    shutil.rmtree(stage, ignore_errors=True)  # a previous interrupted regeneration
    (stage / "entries").mkdir(parents=True)
    # the staging folder is a leaderboard of its own with the maintainers' registry and protocols,
    # so each entry is validated exactly as `rcb leaderboard build` will validate it in place
    for name in ("registry.yaml", "reproduced.yaml"):
        if (root / name).is_file():
            shutil.copyfile(root / name, stage / name)
    if (root / "protocols").is_dir():
        shutil.copytree(root / "protocols", stage / "protocols")
    lb = settings(compose("leaderboard", [f"root={root}"]))
    for r in runs:
        with console.status(f"writing and validating entry {r.entry_id}"):
            if r.kind == "train":
                edir = entry_from_run(r.scores.run_dir, lb, entry_id=r.entry_id, model=r.title,
                                      out=stage / "entries", reproduce=r.reproduce)  # fmt: skip
            else:
                fields = entry_fields(r)
                edir = entry_from_scores(r.scores.scores, r.corpus, lb, r.entry_id, fields, stage / "entries")
        console.print(f"staged {edir}", highlight=False)
    return stage / "entries"


def swap_in(root: Path, staged: Path, ids: Sequence[str]) -> None:
    """Replace ``<root>/entries/<id>`` by ``staged/<id>`` for each id (renames only), then drop staging."""
    entries, old = root / "entries", root / STAGING / "old"
    old.mkdir(parents=True, exist_ok=True)
    entries.mkdir(exist_ok=True)
    for i in ids:
        if not (staged / i / "entry.yaml").is_file():
            raise RcbError(f"{staged / i} is missing: nothing was replaced; rerun `rcb baselines`")
    for i in ids:
        if (entries / i).exists():
            (entries / i).rename(old / i)
        (staged / i).rename(entries / i)
    shutil.rmtree(root / STAGING)


def run_baselines(cfg: DictConfig, console: Console | None = None) -> dict[str, float]:
    """All stages; returns wall seconds per stage (``corpus``, each recipe, ``entries``, ``build``)."""
    from .leaderboard.build import build
    from .leaderboard.cli import settings

    console = console or make_console()
    d, recipes = cfg.baselines, cfg.recipes
    models = [str(m) for m in d.models]
    if not models:
        raise RcbError("baselines.models is empty; e.g. baselines.models=[lfcc_gmm]")
    for m in models:
        if m not in recipes or kind_of(recipes, m) == "train":
            recipe_overrides(d, recipes, m)  # unknown names fail before any work
    ids = [str(recipes[m].get("entry_id") or m.replace("_", "-")) for m in models]
    if len(set(ids)) != len(ids):
        raise RcbError(f"baselines: two recipes share an entry_id ({', '.join(ids)})")
    root = Path(str(d.leaderboard)).resolve()
    if not (root / "registry.yaml").is_file():
        raise RcbError(f"baselines.leaderboard={root} has no registry.yaml: point it at a leaderboard folder")
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    console.rule("[bold]1. corpus")
    corpus = ensure_corpus(d, console)
    times["corpus"] = time.perf_counter() - t0
    runs = []
    for i, m in enumerate(models, start=2):
        kind = kind_of(recipes, m)
        console.rule(f"[bold]{i}. {m} ({kind})")
        out = Path(str(d.out)).resolve() / "scores" / m
        shutil.rmtree(out, ignore_errors=True)
        rs = recipe_scores(d, recipes, m, corpus, out, console)
        r = recipes[m]
        runs.append(Staged(m, kind, ids[i - 2], str(r.get("title") or m), rs, corpus,
                           reproduce_of(m, int(r.get("timeout_s", 7200))), r))  # fmt: skip
        times[m] = rs.seconds
    console.rule(f"[bold]{len(models) + 2}. entries")
    t1 = time.perf_counter()
    staged = stage_entries(root, runs, console)
    swap_in(root, staged, ids)
    times["entries"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    with console.status("building the leaderboard (bootstrap CIs and paired ties for every entry and track)"):
        build(settings(compose("leaderboard", [f"root={root}"])))
    times["build"] = time.perf_counter() - t2
    console.print("replaced " + ", ".join(ids) + f" in {root / 'entries'}; "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()), highlight=False)  # fmt: skip
    return times


def main(argv: Sequence[str]) -> int:
    """``rcb baselines [key=value ...]`` (Hydra overrides of configs/baselines.yaml)."""
    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "baselines"):
        return 0
    cfg = load_config("baselines", argv)
    OmegaConf.resolve(cfg)
    run_baselines(cfg)
    return 0
