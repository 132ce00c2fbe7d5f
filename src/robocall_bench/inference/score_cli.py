"""``rcb score ckpt=RUN_DIR input=FILE|FOLDER|protocol.tsv out=scores.tsv [window=SECONDS] [...]``.

``ckpt`` is a run directory of ``rcb train``, a checkpoint inside it, or a published AASIST /
AASIST-L state dict (``AASIST.pth``, ``AASIST-L.pth`` of clovaai/aasist, trained on ASVspoof 2019
LA), scored zero-shot as its authors evaluate it: first 64,600 samples at 16 kHz, tiled when
shorter, no level normalisation.

Score file: a header ``utt_id<TAB>score``, then one ``<id><TAB><score>`` line per readable input
(ids: file name, path relative to the folder, or the protocol's utt_id; inputs whose id holds a TAB
or line break are refused before scoring), score = repr of a float, higher = more likely robocall.
Calls longer than ``long.max_s`` are scored in windows (see training/longaudio.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..audio import atomic_write_text
from ..config import load_config, print_help_if_asked
from ..errors import RcbError
from ..outpaths import check_outputs, errors_path
from .inputs import find_inputs
from .longaudio import LongAudio
from .scoring import ScoreResult, check_max_batch_s, load_scorer, score_paths

_OUT = Console()
_ERR = Console(stderr=True)
SHOW = 10


@dataclass
class ScoreRun:
    """What ``rcb score`` did: output files, counts and speed."""

    out: Path
    errors_file: Path | None
    n_scored: int
    n_errors: int
    result: ScoreResult


def score(
    ckpt: str,
    input: str,
    out: str,
    window: float | None = None,
    batch_size: int = 16,
    num_workers: int = 0,
    device: str = "auto",
    which: str = "best",
    split: str | None = None,
    track: str | None = None,
    max_seconds: float | None = None,
    allow_rate_mismatch: bool = False,
    console: Console | None = None,
    long: LongAudio | Mapping[str, Any] | None = None,
    max_batch_s: float | None = None,
) -> ScoreRun:
    """Score every input with the run/checkpoint ``ckpt``; unreadable inputs go to ``<out>.errors.tsv``.

    Arguments, ``out``, inputs and the checkpoint are all checked before any audio is read.
    ``long``: windowed scoring of long calls (``LongAudio`` or its keys; None: the defaults);
    ``max_batch_s``: seconds of padded audio per batch (None: ``MAX_BATCH_SECONDS``).
    """
    console = console or _OUT
    if window is not None and float(window) <= 0:
        raise RcbError(f"window={window}: give a positive number of seconds, or leave it out for whole files")
    if int(batch_size) < 1:
        raise RcbError(f"batch_size={batch_size}: must be >= 1")
    max_batch_s = check_max_batch_s(max_batch_s)
    long = long if isinstance(long, LongAudio) else LongAudio.from_dict(long)
    out_p = Path(out).expanduser()
    check_outputs(out_p)
    inp = find_inputs(input, split, track)
    scorer = load_scorer(ckpt, device, which)
    trained = (scorer.meta.get("corpus") or {}).get("sample_rate")
    if (
        inp.kind == "protocol"
        and trained
        and inp.sample_rate
        and inp.sample_rate != trained
        and not allow_rate_mismatch
    ):
        raise RcbError(
            f"{input}: audio at {inp.sample_rate} Hz, but the model was trained on {trained} Hz audio "
            f"({(scorer.meta.get('corpus') or {}).get('path')}). A model trained on narrowband calls is out of "
            "its domain on wideband audio and vice versa: score a corpus at the training rate, or pass "
            "allow_rate_mismatch=true to score anyway (inputs are resampled to 16 kHz)."
        )
    if scorer.meta.get("published"):
        console.print(
            f"published weights ({scorer.meta['model']['name']}, sha256 "
            f"{scorer.meta['published']['sha256'][:12]}): each input scored as its first "
            f"{scorer.fixed_samples:,} samples at 16 kHz (tiled when shorter), not level-normalised",
            highlight=False,
        )
    cols = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console, transient=True) as progress:
        task = progress.add_task("score", total=len(inp.paths))
        res = score_paths(scorer, inp.paths, None if window is None else float(window), int(batch_size),
                          int(num_workers), max_seconds, lambda n: progress.advance(task, n), long,
                          max_batch_s)  # fmt: skip
    ok = [k for k in range(len(inp.ids)) if k not in res.errors]
    lines = ["utt_id\tscore", *(f"{inp.ids[k]}\t{float(res.scores[k])!r}" for k in ok)]
    atomic_write_text(out_p, "\n".join(lines) + "\n")
    err_p = errors_path(out_p)
    if res.errors:
        rows = [
            "id\tpath\terror",
            *(f"{inp.ids[k]}\t{inp.paths[k]}\t{m}" for k, m in sorted(res.errors.items())),
        ]
        atomic_write_text(err_p, "\n".join(rows) + "\n")
    else:
        err_p.unlink(missing_ok=True)  # a stale list from an earlier run would mislead
    report(console, scorer.path, inp.kind, out_p, err_p if res.errors else None, len(ok), res, window, inp.ids,
           long)  # fmt: skip
    if not ok:
        raise RcbError(f"none of the {len(inp.ids)} input(s) could be read; see {err_p}")
    return ScoreRun(out_p, err_p if res.errors else None, len(ok), len(res.errors), res)


def report(console: Console, ckpt: Path, kind: str, out: Path, err: Path | None, n_ok: int, res: ScoreResult,
           window: float | None, ids: list[str], long: LongAudio | None = None) -> None:  # fmt: skip
    """Console summary: counts, unreadable files, throughput and real-time factor."""
    wall = max(res.wall_s, 1e-9)
    w = f", first {float(window):g} s" if window is not None else ""
    console.print(f"scored {n_ok} {kind} input(s){w} with {ckpt} -> {out}", highlight=False)
    if res.n_long and long is not None:
        console.print(
            f"{res.n_long} input(s) longer than {long.max_s:g} s scored in {long.window_s:g} s windows every "
            f"{long.hop_s:g} s; file score = {long.combine} of the window scores",
            highlight=False,
        )
    console.print(
        f"throughput {n_ok / wall:.1f} files/s, {res.audio_s / wall:.1f} s of audio per s; "
        f"real-time factor {res.rtf:.4f} ({res.audio_s:.1f} s of audio in {res.wall_s:.2f} s)",
        highlight=False,
    )
    if err is not None:
        _ERR.print(f"[yellow]{len(res.errors)} unreadable input(s)[/], listed in {err}:", highlight=False)
        for k, m in list(sorted(res.errors.items()))[:SHOW]:
            _ERR.print(f"  {ids[k]}: {m}", highlight=False, markup=False)
        if len(res.errors) > SHOW:
            _ERR.print(f"  ... and {len(res.errors) - SHOW} more", highlight=False)


def main(argv: Sequence[str]) -> int:
    """Parse ``key=value`` arguments against configs/score.yaml and score."""
    argv = list(argv)
    if print_help_if_asked(argv, __doc__, "score"):
        return 0
    c = load_config("score", argv)
    opt = lambda v: None if v in (None, "", "null") else v  # noqa: E731
    score(str(c.ckpt), str(c.input), str(c.out), opt(c.window), int(c.batch_size), int(c.num_workers),
          str(c.device), str(c.which), opt(c.split), opt(c.track), opt(c.max_seconds),
          bool(c.allow_rate_mismatch), long=LongAudio.from_dict(c.get("long")),
          max_batch_s=opt(c.get("max_batch_seconds")))  # fmt: skip
    return 0
