"""Printing corpus statistics from a manifest (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..console import make_console
from ..contract import EVAL_TRACKS, SPLITS


def print_stats(manifest: dict, console: Console | None = None) -> None:
    """Utterances, hours, human speakers and TTS systems per split, plus skipped inputs."""
    console = console or make_console()
    c = manifest["counts"]
    t = Table(
        title=f"{manifest['name']} {manifest['version']} ({manifest['preset']}, seed {manifest['seed']})"
    )
    for col in ("split", "human", "robocall", "hours", "en", "zh", "speakers", "systems"):
        t.add_column(col, justify="right" if col != "split" else "left")
    for s in SPLITS:
        sl = c["split/label"]
        lang = c["split/language/label"]
        t.add_row(
            s,
            str(sl.get(f"{s}/human", 0)),
            str(sl.get(f"{s}/robocall", 0)),
            f"{c['hours'].get(f'{s}/human', 0) + c['hours'].get(f'{s}/robocall', 0):.2f}",
            str(lang.get(f"{s}/en/human", 0) + lang.get(f"{s}/en/robocall", 0)),
            str(lang.get(f"{s}/zh/human", 0) + lang.get(f"{s}/zh/robocall", 0)),
            str(c["human_speakers"].get(s, 0)),
            str(len(c["systems"].get(s, []))),
        )
    t.add_row("total", "", "", f"{c['total']['hours']:.2f}", "", "", "", "", end_section=True)
    console.print(t)
    tr = Table(title="eval tracks")
    tr.add_column("track")
    tr.add_column("human", justify="right")
    tr.add_column("robocall", justify="right")
    tl = c["track/label"]
    for track in EVAL_TRACKS:
        tr.add_row(track, str(tl.get(f"{track}/human", 0)), str(tl.get(f"{track}/robocall", 0)))
    console.print(tr)
    console.print(
        f"utterances {c['total']['utterances']}, hours {c['total']['hours']:.2f}; eval-only systems "
        f"{manifest['eval_only_systems']}, eval-only codecs {manifest['eval_only_codecs']}; "
        f"skipped inputs {manifest['skipped']['count']} {manifest['skipped']['by_reason']}"
    )
    console.print(f"protocol sha256 {manifest['protocol_sha256']}")
