"""Corpus pipeline throughput: seconds of audio produced per wall second, whole and per stage.

    python benchmarks/corpus_throughput.py [preset=mini] [num_workers=2] [any rcb corpus override]

Builds into a fresh temp folder (nothing is reused), then prints x-real-time for the whole
pipeline and for each stage (TTS per system, human-source loading, channel, writing; stage
figures are per worker-second, i.e. what one core does), the peak memory, and the ratio of the
end-to-end rate to a reference measured in the same process: plain FLAC decode + encode of the
same amount of audio (the I/O floor no pipeline can beat).
"""

from __future__ import annotations

import io
import resource
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
from rich.console import Console
from rich.table import Table

from robocall_bench.config import compose
from robocall_bench.corpus.build import build


def reference_io_rate(files: list[Path], budget_s: float = 10.0) -> float:
    """x-real-time of reading each FLAC and re-encoding it in memory (single core)."""
    audio, t0 = 0.0, time.perf_counter()
    for f in files:
        x, sr = sf.read(f, dtype="float32")
        buf = io.BytesIO()
        sf.write(buf, x, sr, format="FLAC", subtype="PCM_16")
        audio += x.size / sr
        if time.perf_counter() - t0 > budget_s:
            break
    return audio / (time.perf_counter() - t0)


def main(argv: list[str]) -> None:
    console = Console(width=130)
    overrides = [a for a in argv if "=" in a]
    with tempfile.TemporaryDirectory(prefix="rcb-bench-") as tmp:
        if not any(o.startswith("preset=") for o in overrides):
            overrides.append("preset=mini")
        cfg = compose("corpus", [f"out={tmp}/corpus", "audit=false", *overrides])
        t0 = time.perf_counter()
        manifest, t = build(cfg)
        wall = time.perf_counter() - t0
        files = sorted(Path(tmp, "corpus", "audio").rglob("*.flac"))
        ref = reference_io_rate(files)
    audio = t["audio_s"]
    peak_mb = (
        max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    )
    tab = Table(title=f"corpus throughput: preset={cfg.preset_name}, {cfg.num_workers} worker(s)")
    for c in ("stage", "seconds", "x real time", "note"):
        tab.add_column(c, justify="left" if c in ("stage", "note") else "right")
    tab.add_row(
        "end to end (incl. scan, plan, assemble)",
        f"{wall:.1f}",
        f"{audio / wall:.1f}",
        f"{audio:.0f} s of audio",
    )
    tab.add_row("rendering only", f"{t['wall']:.1f}", f"{audio / t['wall']:.1f}", "wall clock")
    # per stage: seconds of audio that stage produced (or consumed) per busy second of one worker
    for k, v in sorted(t.items()):
        if k.startswith("tts:"):
            sys_audio = t[f"tts_audio:{k[4:]}"]
            tab.add_row(k, f"{v:.1f}", f"{sys_audio / v:.1f}", f"{sys_audio:.0f} s synthesized, per core")
    tab.add_row(
        "load human audio",
        f"{t.get('load', 0):.1f}",
        f"{t.get('load_audio', 0) / max(t.get('load', 0), 1e-9):.0f}",
        "per core",
    )
    for k in ("channel", "write"):
        tab.add_row(k, f"{t[k]:.1f}", f"{audio / t[k]:.1f}", "per core")
    tab.add_row("reference: FLAC decode+encode", "", f"{ref:.0f}", "same process, one core")
    console.print(tab)
    console.print(
        f"end-to-end {audio / wall:.1f}x real time = {audio / wall / ref:.4f} of the FLAC I/O reference; "
        f"peak RSS {peak_mb:.0f} MiB (largest process); utterances {manifest['counts']['total']['utterances']}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
