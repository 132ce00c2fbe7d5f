"""``rcb demo``: the whole benchmark on a CPU, from sources to a leaderboard table (configs/demo.yaml).

Stages: build or resume the corpus (``rcb corpus``), train and score each recipe (``rcb train``:
every eval track and the early-detection crops), turn each run into a leaderboard entry
(``rcb leaderboard entry``), build the demo leaderboard (``rcb leaderboard build``) and print
per-model EER with 95% CIs. Each stage is the library call behind its own command, so the demo
shows what the commands do and reuses their progress bars and resumability.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from .audio import atomic_write_text
from .config import compose, config_dir, load_config, print_help_if_asked
from .console import make_console
from .contract import early_track
from .errors import RcbError
from .paths import DEFAULT_DIR

TABLE_TRACKS = (("eval", "eval"), ("unseen-systems", "unseen systems"), ("unseen-channel", "unseen channel"),
                (early_track(2), "first 2 s of eval"))  # fmt: skip


@dataclass
class DemoRun:
    """One trained recipe: its run directory, leaderboard entry id and wall seconds (0 when reused)."""

    model: str
    run_dir: Path
    entry_id: str
    title: str
    seconds: float
    reused: bool


def ensure_corpus(d: DictConfig, console: Console) -> Path:
    """The corpus folder: ``demo.corpus`` as is, else ``data/<preset>-seed<seed>`` built or resumed.

    With no corpora root configured, the sources come from ``./corpora``; when it lacks a folder the
    build reads, the development sample is downloaded into it first (``demo.download``).
    """
    if d.corpus:
        return _corpus_root(d.corpus)  # RcbError names the fix when it is missing or incomplete
    out = Path(f"data/{d.preset}-seed{d.seed}").resolve()
    overrides = [f"preset={d.preset}", f"seed={d.seed}", f"out={out}",
                 f"audit={str(bool(d.audit)).lower()}", *d.corpus_overrides]  # fmt: skip
    explicit = d.corpora_root not in (None, "", "null")  # demo.corpora_root= or $RCB_CORPORA
    root = str(d.corpora_root) if explicit else None
    if not explicit:
        missing = missing_sources(compose("corpus", overrides), Path(DEFAULT_DIR))
        if missing and (out / "manifest.json").is_file():
            console.print(f"no sources in ./{DEFAULT_DIR}: using {out} as it is", highlight=False)
            return _corpus_root(out)
        if missing:
            fetch_sources(d, missing, console)
        root = DEFAULT_DIR
    from .corpus.build import build

    cfg = compose("corpus", [*overrides, f"corpora_root={Path(root).resolve()}"])
    build(cfg)  # resumes: finished audio files are kept
    return _corpus_root(out)


def _corpus_root(path: str | Path) -> Path:
    from .training.data import load_corpus  # imports torch: not before the sources are there

    return load_corpus(path).root


def missing_sources(corpus_cfg: DictConfig, root: Path) -> list[str]:
    """Folders under ``root`` that the corpus build reads (its sources, the FTC transcripts) but are absent."""
    from .corpus.prepare import _group_cfg

    needed = [str(_group_cfg("source", str(n)).subdir) for n in corpus_cfg.sources]
    if corpus_cfg.scripts.ftc.enabled:
        needed.append(str(corpus_cfg.scripts.ftc.subdir))
    return [s for s in dict.fromkeys(needed) if not (root / s).is_dir()]


def offline_help(reason: str) -> str:
    """The message when the demo has no sources and cannot download them: every way to give them."""
    return (
        f"{reason}\nGive the demo its sources in one of these ways, then rerun `rcb demo`:\n"
        "  RCB_CORPORA=/path/to/corpora rcb demo    (or rcb demo demo.corpora_root=/path/to/corpora): a folder "
        "holding librispeech-sample/, aishell-sample/, fsdd/, robocall-transcripts/, noise/\n"
        f"  ln -s /path/to/corpora {DEFAULT_DIR}    (link an existing copy into the repository root)\n"
        "  rcb corpus download name=dev-sample    (resumable; add mirror=URL, e.g. mirror=file:///path/to/mirror, "
        "or set RCB_MIRROR, for a copy of raw.githubusercontent.com laid out as OWNER/REPO/COMMIT/PATH)"
    )


def fetch_sources(d: DictConfig, missing: list[str], console: Console) -> None:
    """Download the development-sample parts absent from ./corpora, or stop with :func:`offline_help`."""
    from .corpus.dev_sample import PARTS, UPSTREAM, plan_bytes
    from .corpus.download import download_into

    root = Path(DEFAULT_DIR)
    have = {p.subdir for p in PARTS.values()}
    unknown = [m for m in missing if m not in have]
    if unknown:
        raise RcbError(offline_help(f"./{DEFAULT_DIR} lacks {', '.join(unknown)}, which the development sample "
                                    "does not provide (see `rcb corpus download --help` for the official archives)."))  # fmt: skip
    parts = [n for n, p in PARTS.items() if not (root / p.subdir).exists()]
    files, size = plan_bytes(parts)
    what = f"{len(parts)} folders, {files:,} files, {size / 1e6:.0f} MB"
    if not d.download:
        raise RcbError(offline_help(f"./{DEFAULT_DIR} lacks {', '.join(missing)} (demo.download=false: the "
                                    f"development sample, {what}, is not fetched)."))  # fmt: skip
    console.print(f"./{DEFAULT_DIR} lacks {', '.join(missing)}: downloading the development sample ({what}) "
                  f"from {d.mirror or UPSTREAM} at pinned commits into ./{DEFAULT_DIR}; every file is "
                  "sha256-checked and an interrupted download resumes (demo.download=false stops instead)",
                  highlight=False)  # fmt: skip
    created = not root.exists() and not root.is_symlink()
    try:
        download_into(parts, root, d.mirror or None)
    except RcbError as e:
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # nothing arrived: leave no empty ./corpora that would look like a corpora root
        raise RcbError(offline_help(f"Could not download the development sample: {e}")) from e


def recipe_overrides(d: DictConfig, recipes: DictConfig, name: str) -> tuple[str, list[str]]:
    """(experiment, ``rcb train`` overrides) of one recipe: its own, then ``demo.common``, then ``demo.train_overrides``."""
    if name not in recipes:
        raise RcbError(f"demo.models: unknown model {name!r}; choose from {', '.join(recipes)}")
    r = recipes[name]
    return str(r.experiment), [str(o) for o in (*r.overrides, *d.common, *d.train_overrides)]


def run_dir_for(d: DictConfig, name: str, experiment: str, overrides: list[str], corpus_sha: str) -> Path:
    """``<out>/runs/<name>-<hash>``: the hash covers everything that changes the run, so a finished
    run is reused only for the same recipe on the same corpus."""
    key = json.dumps([experiment, overrides, corpus_sha, int(d.seed)])
    return Path(str(d.out)).resolve() / "runs" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def train_recipe(d: DictConfig, recipes: DictConfig, name: str, corpus: Path, console: Console) -> DemoRun:
    """Train, score and evaluate one recipe (``rcb train``), or reuse its finished run."""
    from .training.data import load_corpus
    from .training.run import train

    experiment, overrides = recipe_overrides(d, recipes, name)
    sha = str(load_corpus(corpus, check_files=False).manifest.get("protocol_sha256"))
    run_dir = run_dir_for(d, name, experiment, overrides, sha)
    entry_id = str(recipes[name].get("entry_id") or name.replace("_", "-"))
    title = str(recipes[name].get("title") or experiment)
    if (run_dir / "metrics.json").is_file() and (run_dir / "README.md").is_file():
        if d.reuse:
            console.print(f"reusing the finished run {run_dir} (demo.reuse=false or baselines.reuse=false retrains)", highlight=False)
            timing = run_dir / "demo_seconds.txt"  # what the run took when it was trained
            secs = float(timing.read_text()) if timing.is_file() else 0.0
            return DemoRun(name, run_dir, entry_id, title, secs, True)
        shutil.rmtree(run_dir)  # the demo's own output; an unfinished run is resumed instead
    args = [f"experiment={experiment}", f"corpus={corpus}", f"seed={d.seed}", *overrides]
    cfg = compose("train", [*args, f"run_dir={run_dir}"])
    t0 = time.perf_counter()
    train(cfg, run_dir, console=console, command="rcb train " + " ".join(args))
    secs = time.perf_counter() - t0
    atomic_write_text(run_dir / "demo_seconds.txt", f"{secs:.1f}\n")
    return DemoRun(name, run_dir, entry_id, title, secs, False)


def build_leaderboard(root: Path, runs: list[DemoRun], console: Console) -> dict[str, Any]:
    """Fresh entries for ``runs`` under ``root`` (entries/ and protocols/ rewritten), built; returns leaderboard.json."""
    from .leaderboard.build import build
    from .leaderboard.cli import settings
    from .leaderboard.from_run import entry_from_run

    root = root.resolve()
    if root == (config_dir().parent / "leaderboard").resolve():
        raise RcbError(
            f"demo.leaderboard={root} is the committed leaderboard; point it at a folder of its own"
        )
    for sub in ("entries", "protocols"):  # the demo's folder: no stale entry or protocol of another corpus
        shutil.rmtree(root / sub, ignore_errors=True)
    lb = settings(compose("leaderboard", [f"root={root}"]))
    with console.status("writing and validating leaderboard entries"):
        for r in runs:
            edir = entry_from_run(r.run_dir, lb, entry_id=r.entry_id, model=r.title, register=True)
            console.print(f"entry {edir}", highlight=False)
    with console.status("building the leaderboard (bootstrap CIs for every entry and track)"):
        build(lb)
    return json.loads((root / "leaderboard.json").read_text(encoding="utf-8"))


def eer_cell(m: dict[str, Any] | None) -> str:
    """``12.95 [6.01, 27.76]`` (EER %, 95% CI) from a leaderboard.json track block; ``-`` when absent."""
    if not m:
        return "-"
    e = m["eer"]
    ci = f" [{100 * e['ci'][0]:.2f}, {100 * e['ci'][1]:.2f}]" if e.get("ci") else ""
    return f"{100 * e['value']:.2f}{ci}"


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def result_rows(data: dict[str, Any], runs: list[DemoRun]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the demo table: the demo's entries in leaderboard rank order.

    CPU RTF (batch 1, 2 threads) and train/s (training samples per second of train steps; files
    per second of fitting for the GMM) come from the entries.
    """
    from .leaderboard.render import rank_cell  # "=2" for a tied rank

    secs = {r.entry_id: r for r in runs}
    head = ["#", "entry", "params", *(t for _, t in TABLE_TRACKS), "CPU RTF", "train/s", "train+score s"]
    rows = []
    for e in (e for e in data["entries"] if e["entry_id"] in secs):
        r = secs[e["entry_id"]]
        rows.append([rank_cell(e), e["entry_id"], f"{e['params']:,}",
                     *(eer_cell(e["tracks"].get(t)) for t, _ in TABLE_TRACKS),
                     _g(e.get("cpu_rtf")), _g(e.get("train_samples_per_s")),
                     f"{r.seconds:.0f}" + (" (reused)" if r.reused else "")])  # fmt: skip
    return head, rows


def render(head: list[str], rows: list[list[str]], title: str) -> tuple[Table, str]:
    """The table for the console and as markdown."""
    tab = Table(title=title)
    for i, h in enumerate(head):
        tab.add_column(h, justify="right" if i >= 2 else "left")
    for r in rows:
        tab.add_row(*r)
    md = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    return tab, "\n".join(md) + "\n"


def run_demo(cfg: DictConfig, console: Console | None = None) -> dict[str, Any]:
    """All stages; writes ``<out>/results.md`` and returns {corpus, runs, leaderboard, table_md, seconds}."""
    console = console or make_console()
    d, recipes = cfg.demo, cfg.recipes
    models = [str(m) for m in d.models]
    if not models:
        raise RcbError("demo.models is empty; e.g. demo.models=[lfcc_gmm]")
    for m in models:
        recipe_overrides(d, recipes, m)  # unknown names fail before any work
    t0, stages = time.perf_counter(), {}
    console.rule("[bold]1. corpus")
    corpus = ensure_corpus(d, console)
    stages["corpus"] = time.perf_counter() - t0
    runs = []
    for i, m in enumerate(models, start=2):
        console.rule(f"[bold]{i}. {m} (rcb train)")
        runs.append(train_recipe(d, recipes, m, corpus, console))
    console.rule(f"[bold]{len(models) + 2}. leaderboard")
    t1 = time.perf_counter()
    lb_root = Path(str(d.leaderboard))
    data = build_leaderboard(lb_root, runs, console)
    stages["leaderboard"] = time.perf_counter() - t1
    head, rows = result_rows(data, runs)
    camp_md = ""
    if d.get("campaign", True):
        console.rule(f"[bold]{len(models) + 3}. campaign track (rcb campaign, rcb fuse)")
        from .demo_campaign import campaign_stage

        t2 = time.perf_counter()
        best = next((e["entry_id"] for e in data["entries"] if e["entry_id"] in {r.entry_id for r in runs}), None)
        chead, crows = campaign_stage(corpus, Path(str(d.out)) / "campaign", runs, best, 1000, console)
        stages["campaign"] = time.perf_counter() - t2
        ctab, camp_md = render(chead, crows, "campaign track: one message in many calls, EER % (fusion fitted on dev)")
        console.print(ctab)
    wall = time.perf_counter() - t0
    title = (
        f"rcb demo: {corpus.name}, EER % [95% CI] per track, ranked by eval EER ({wall / 60:.1f} min wall)"
    )
    tab, md = render(head, rows, title)
    console.print(tab)
    times = ", ".join([f"corpus {stages['corpus']:.0f} s", *(f"{r.model} {'reused' if r.reused else f'{r.seconds:.0f} s'}" for r in runs),
                       f"leaderboard {stages['leaderboard']:.0f} s",
                       *([f"campaign {stages['campaign']:.0f} s"] if "campaign" in stages else [])])  # fmt: skip
    text = (f"# rcb demo\n\nCorpus `{corpus}`; runs under `{Path(str(d.out)).resolve() / 'runs'}`; leaderboard "
            f"`{lb_root.resolve()}` (README.md, leaderboard.csv/json, site/index.html).\n\n{md}\n"
            + (f"Campaign track:\n\n{camp_md}\n" if camp_md else "") + "Wall time "
            f"{wall:.0f} s ({times}).\n")  # fmt: skip
    results = Path(str(d.out)) / "results.md"
    atomic_write_text(results, text)
    console.print(f"wall time {wall:.0f} s ({times}); table also in {results}, leaderboard in {lb_root}",
                  highlight=False)  # fmt: skip
    return {"corpus": corpus, "runs": runs, "leaderboard": data, "table_md": md, "campaign_md": camp_md,
            "seconds": wall, "stages": stages}  # fmt: skip


def main(argv: Sequence[str]) -> int:
    """``rcb demo [key=value ...]`` (Hydra overrides of configs/demo.yaml)."""
    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "demo"):
        return 0
    cfg = load_config("demo", argv)
    OmegaConf.resolve(cfg)  # RCB_CORPORA read once, now
    run_demo(cfg)
    return 0
