"""``rcb corpus``: plan, render (in parallel, resumable, optionally one shard), assemble, audit."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..audio import atomic_write_text
from ..console import make_console
from ..errors import RcbError
from .assemble import assemble
from .options import bool_option, out_dir_option, seed_option, workers_option
from .plan import UttPlan
from .prepare import Prepared, prepare
from .render import (
    RenderContext,
    _init_worker,
    _work,
    _work_message,
    make_pairs,
    remove_stale_temp_files,
    render_message,
    render_pair,
    render_state,
)

console = make_console()


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    """ "i/n" -> (i, n) with 0 <= i < n; None for no sharding."""
    if shard in (None, "", "null"):
        return None
    try:
        i, n = (int(v) for v in str(shard).split("/"))
    except ValueError:
        raise RcbError(f"shard={shard!r}: use shard=i/n, e.g. shard=0/4") from None
    if not 0 <= i < n:
        raise RcbError(f"shard={shard!r}: need 0 <= i < n")
    return i, n


def check_config(cfg: DictConfig) -> tuple[Path, tuple[int, int] | None]:
    """Check the values a user types (seed, num_workers, out, shard, audit) before any work.

    Returns (resolved output folder, shard). Raises RcbError naming the key and the fix.
    """
    seed_option(cfg.seed)
    workers_option(cfg.num_workers)
    bool_option(cfg.audit, "audit")
    shard = parse_shard(cfg.shard)
    return out_dir_option(cfg.out).resolve(), shard


def render_all(
    prep: Prepared, out: Path, todo: list[tuple[UttPlan, UttPlan]], num_workers: int
) -> dict[str, float]:
    """Render (human, robocall) pairs with a rich progress bar; returns summed stage seconds (+ audio_s, wall)."""
    ctx = RenderContext(
        out=out, engines=prep.engines, channel=prep.channel, channel_name=str(prep.cfg.channel_name)
    )
    totals: dict[str, float] = defaultdict(float)
    t0 = time.perf_counter()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), TextColumn("{task.fields[audio]:.0f} s audio"))  # fmt: skip
    with Progress(*cols, console=console, transient=False) as bar:
        if prep.messages:  # campaign messages first: every call of a campaign plays its cached message
            t1 = time.perf_counter()
            mtask = bar.add_task("rendering campaign messages", total=len(prep.messages), audio=0.0)
            if num_workers <= 1:
                for m in prep.messages:
                    render_message(m, ctx)
                    bar.update(mtask, advance=1)
            else:
                with ProcessPoolExecutor(num_workers, mp_context=mp.get_context("fork"), initializer=_init_worker,
                                         initargs=(ctx,)) as ex:  # fmt: skip
                    for _ in ex.map(_work_message, prep.messages):
                        bar.update(mtask, advance=1)
            totals["messages"] += time.perf_counter() - t1
        task = bar.add_task("rendering pairs", total=len(todo), audio=0.0)

        def take(t: dict[str, float]) -> None:
            for k, v in t.items():
                totals[k] += v
            bar.update(task, advance=1, audio=totals["audio_s"])

        if num_workers <= 1:
            for p in todo:
                take(render_pair(p, ctx)[1])
        else:
            # Group by system so each worker loads few engines; fork shares the scanned inputs.
            order = sorted(todo, key=lambda p: (p[1].system, p[0].utt_id))
            with ProcessPoolExecutor(num_workers, mp_context=mp.get_context("fork"), initializer=_init_worker,
                                     initargs=(ctx,)) as ex:  # fmt: skip
                for _, t in ex.map(_work, order, chunksize=4):
                    take(t)
    for eng in prep.engines.values():
        eng.close()
    totals["wall"] = time.perf_counter() - t0
    return dict(totals)


def build(cfg: DictConfig) -> tuple[dict | None, dict[str, float]]:
    """Build (or resume) the corpus described by ``cfg``.

    Returns (manifest, or None for a shard run; summed stage seconds incl. ``audio_s``, ``wall``).
    """
    out, shard = check_config(cfg)
    t0 = time.perf_counter()
    prep = prepare(cfg)
    t_prep = time.perf_counter() - t0
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RcbError(f"out={out}: cannot create the folder ({e.strerror}); pick another out=") from None
    if shard is None:
        remove_stale_temp_files(out)
    atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    pairs = make_pairs(prep.plan)
    todo = pairs if shard is None else [p for k, p in enumerate(pairs) if k % shard[1] == shard[0]]
    states = [(render_state(out, h), render_state(out, r)) for h, r in todo]
    pending = [p for p, st in zip(todo, states, strict=True) if st != ("done", "done")]
    damaged = sum(st.count("mismatch") for st in states)
    if damaged:
        console.print(
            f"{damaged} rendered file(s) do not match the sha256 in their sidecar (corrupt or replaced): "
            "rendering their pairs again"
        )
    console.print(
        f"[bold]{cfg.name} {cfg.version}[/] preset={cfg.preset_name} seed={cfg.seed}: {len(prep.plan)} utterances "
        f"planned, {len(todo) - len(pending)} of {len(todo)} pairs already rendered, {len(pending)} to render with {cfg.num_workers} "
        f"worker(s){'' if shard is None else f' (shard {shard[0]}/{shard[1]})'} -> {out}"
    )
    timings = render_all(prep, out, pending, int(cfg.num_workers))
    if shard is not None:
        console.print(
            f"shard {shard[0]}/{shard[1]} done; when every shard is done run `rcb corpus merge corpus={out}`"
        )
        return None, timings
    manifest = assemble(
        prep, out, str(cfg.channel_name), extra={"build_seconds": {"prepare": round(t_prep, 2)}}
    )
    from .card import write_card
    from .stats import print_stats

    write_card(out, manifest, prep)
    print_stats(manifest, console)
    if timings.get("audio_s"):
        console.print(
            f"rendered {timings['audio_s']:.0f} s of audio in {timings['wall']:.1f} s wall "
            f"({timings['audio_s'] / timings['wall']:.1f}x real time, {cfg.num_workers} worker(s))"
        )
    if cfg.audit:
        from .audit import run_audit

        run_audit(out, console=console)
    return manifest, timings
