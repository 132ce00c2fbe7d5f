"""``rcb campaign input=FOLDER|protocol.tsv|FILE out=scores.tsv [clusters=clusters.tsv] [split=] [track=]``.

Set-level scoring (contract: robocall_bench/fingerprint/campaign.py and docs/campaign.md): every
readable call is fingerprinted (landmarks, any sample rate resampled to 8 kHz), indexed, and
queried against all the others; its score (``utt_id<TAB>score``, higher = more likely robocall) is
the evidence that its audio also occurs in another call. ``clusters=`` also writes
``utt_id<TAB>cluster`` (calls carrying one message share a label; unmatched calls are singletons).
Unreadable, empty, silent or too short (< ``min_seconds``) files go to ``<out>.errors.tsv``
(``id<TAB>path<TAB>reason``) and the rest are scored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..audio import atomic_write_text, read_audio
from ..config import load_config, print_help_if_asked
from ..contract import write_scores
from ..contract.clusters import write_clusters
from ..errors import BadAudioError, RcbError
from ..inference.inputs import find_inputs
from ..outpaths import check_output_file, check_outputs, errors_path
from .campaign import MIN_Z, CampaignResult, score_set
from .index import NumpyIndex
from .landmarks import Fingerprint, LandmarkConfig, fingerprint

_OUT = Console()
_ERR = Console(stderr=True)
SHOW = 10


@dataclass
class CampaignRun:
    """What ``rcb campaign`` did: output files, counts, the result and its speed."""

    out: Path
    clusters: Path | None
    errors_file: Path | None
    ids: list[str]  # ids of the scored calls, aligned with result
    errors: dict[str, str]  # id -> reason, for the calls not scored
    result: CampaignResult
    audio_s: float
    wall_s: float


def read_fingerprint(path: str, cfg: LandmarkConfig, min_seconds: float) -> Fingerprint:
    """A file's landmark fingerprint; BadAudioError for unreadable, empty, silent or short audio."""
    x, sr = read_audio(path)
    if x.size / sr < min_seconds:
        raise BadAudioError(
            path, f"too short ({x.size / sr:.3f} s < min_seconds={min_seconds:g} s)", "drop it"
        )
    return fingerprint(x, sr, cfg)


def campaign(
    input: str,
    out: str,
    clusters: str | None = None,
    split: str | None = None,
    track: str | None = None,
    min_seconds: float = 0.5,
    min_z: float = MIN_Z,
    top: int = 5,
    max_postings: int = 64,
    console: Console | None = None,
) -> CampaignRun:
    """Score the set ``input`` (see the module docstring); arguments and outputs are checked first."""
    console = console or _OUT
    if float(min_seconds) <= 0:
        raise RcbError(
            f"min_seconds={min_seconds}: must be > 0 (calls shorter than this are listed as errors)"
        )
    if not float(min_z) > 0:
        raise RcbError(f"min_z={min_z}: must be > 0 (verified z of a cluster edge; calls sharing nothing score 0)")
    for key, v in (("top", top), ("max_postings", max_postings)):
        if int(v) < 1:
            raise RcbError(f"{key}={v}: must be >= 1")
    out_p = Path(out).expanduser()
    check_outputs(out_p)
    cl_p = None if clusters is None else Path(clusters).expanduser()
    if cl_p is not None:
        check_output_file(cl_p, "clusters", "clusters.tsv")
        if cl_p.resolve() == out_p.resolve():
            raise RcbError(f"clusters={cl_p} is the score file out=; pass another path")
    inp = find_inputs(input, split, track)
    cfg = LandmarkConfig()
    fps: list[Fingerprint] = []
    ids: list[str] = []
    errors: dict[int, str] = {}
    t0 = time.perf_counter()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console, transient=True) as progress:
        task = progress.add_task("fingerprinting", total=len(inp.paths))
        for k, path in enumerate(inp.paths):
            try:
                fps.append(read_fingerprint(path, cfg, float(min_seconds)))
                ids.append(inp.ids[k])
            except BadAudioError as e:
                errors[k] = e.reason
            progress.advance(task)
        task = progress.add_task("matching", total=len(fps))
        res = score_set(fps, float(min_z), int(top), NumpyIndex(int(max_postings)),
                        lambda n: progress.advance(task, n))  # fmt: skip
    wall = time.perf_counter() - t0
    if not fps:
        write_errors(out_p, inp.ids, inp.paths, errors)
        raise RcbError(f"none of the {len(inp.ids)} input(s) could be read; see {errors_path(out_p)}")
    write_scores(out_p, ids, res.scores.tolist())
    if cl_p is not None:
        write_clusters(cl_p, ids, [f"c{int(c)}" for c in res.clusters])
    err_p = write_errors(out_p, inp.ids, inp.paths, errors)
    audio_s = float(sum(fp.seconds for fp in fps))
    run = CampaignRun(out_p, cl_p, err_p, ids, {inp.ids[k]: m for k, m in errors.items()}, res, audio_s, wall)
    report(console, run, inp.kind, float(min_z))
    return run


def write_errors(out: Path, ids: list[str], paths: list[str], errors: dict[int, str]) -> Path | None:
    """``<out>.errors.tsv`` (``id<TAB>path<TAB>reason``) when there are errors; a stale one is removed."""
    p = errors_path(out)
    if not errors:
        p.unlink(missing_ok=True)  # a list from an earlier run would mislead
        return None
    rows = [
        "id\tpath\treason",
        *(f"{ids[k]}\t{paths[k]}\t{' '.join(m.split())}" for k, m in sorted(errors.items())),
    ]
    atomic_write_text(p, "\n".join(rows) + "\n")
    return p


def report(console: Console, run: CampaignRun, kind: str, min_z: float) -> None:
    """Console summary: counts, clusters, unreadable files and speed."""
    res = run.result
    n = len(run.ids)
    _, sizes = np.unique(res.clusters, return_counts=True)
    multi = sizes[sizes > 1]
    console.print(f"scored {n} {kind} call(s) as a set -> {run.out}", highlight=False)
    console.print(
        f"{int((res.scores >= min_z).sum())} call(s) match another call with verified z >= {min_z:g}; "
        f"{multi.size} cluster(s) of 2+ calls (largest {int(multi.max()) if multi.size else 0}), "
        f"{int((sizes == 1).sum())} singleton(s)" + (f" -> {run.clusters}" if run.clusters else ""),
        highlight=False,
    )
    wall = max(run.wall_s, 1e-9)
    console.print(f"{run.audio_s:.1f} s of audio in {run.wall_s:.2f} s ({run.audio_s / wall:.0f}x real time)",
                  highlight=False)  # fmt: skip
    if run.errors:
        _ERR.print(
            f"[yellow]{len(run.errors)} input(s) not scored[/], listed in {run.errors_file}:", highlight=False
        )
        for i, m in list(run.errors.items())[:SHOW]:
            _ERR.print(f"  {i}: {m}", highlight=False, markup=False)
        if len(run.errors) > SHOW:
            _ERR.print(f"  ... and {len(run.errors) - SHOW} more", highlight=False)


def main(argv: Sequence[str]) -> int:
    """Parse ``key=value`` arguments against configs/campaign.yaml and score the set."""
    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "campaign"):
        return 0
    c = load_config("campaign", argv)
    opt = lambda v: None if v in (None, "", "null") else str(v)  # noqa: E731
    campaign(str(c.input), str(c.out), opt(c.clusters), opt(c.split), opt(c.track), float(c.min_seconds),
             float(c.min_z), int(c.top), int(c.max_postings))  # fmt: skip
    return 0
