"""Copy-synthesis speed: × real time of the vocoder systems on real speech at 8 and 16 kHz.

Inputs are the first LibriSpeech utterances under $RCB_CORPORA (about ``--seconds`` in all,
resampled to each rate). Each system resynthesises every input after one untimed warm-up call;
the process is pinned to one CPU core, as corpus workers are. References measured in the same
run: reading + resampling the same files (the floor of any human row) and flite-slt speaking
ten robocall sentences (a text TTS system the corpus already uses). The ratio column is
× real time relative to flite-slt (higher = faster).

    python benchmarks/vocoder_speed.py [--seconds 60] [--rates 8000 16000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from tts_speed import SENTENCES as TTS_SENTENCES  # benchmarks/ is on sys.path when run as a script

from robocall_bench.audio import read_audio, resample
from robocall_bench.seeding import rng_for
from robocall_bench.tts import load_engine
from robocall_bench.tts.vocoder import GriffinLimEngine, WorldEngine

SENTENCES = TTS_SENTENCES["en"]  # the same robocall lines as benchmarks/tts_speed.py


def speech_files(seconds: float) -> list[Path]:
    """LibriSpeech files under $RCB_CORPORA adding up to about ``seconds``; exits if none."""
    root = Path(os.environ.get("RCB_CORPORA", "corpora")) / "librispeech-sample"
    files = sorted(root.rglob("*.flac"))
    if not files:
        sys.exit(f"no LibriSpeech files under {root}; set RCB_CORPORA to the corpora root")
    out, total = [], 0.0
    for f in files:
        out.append(f)
        total += sf.info(str(f)).duration
        if total >= seconds:
            break
    return out


def read_all(files: list[Path], sr: int) -> tuple[list[np.ndarray], float]:
    """The files as (T,) float32 at ``sr`` and the wall seconds that took (the read reference)."""
    t0 = time.perf_counter()
    xs = []
    for f in files:
        x, r = read_audio(f)
        xs.append(resample(x, r, sr))
    return xs, time.perf_counter() - t0


def vocode(engine, xs: list[np.ndarray], sr: int) -> float:
    """× real time of ``engine.resynthesize`` over ``xs`` (after one warm-up call)."""
    engine.resynthesize(xs[0][: sr * 2], sr, rng_for(0, "warm-up"))
    t0 = time.perf_counter()
    for i, x in enumerate(xs):
        engine.resynthesize(x, sr, rng_for(1, engine.system, i))
    return sum(x.size for x in xs) / sr / (time.perf_counter() - t0)


def flite_xrt() -> float | None:
    """× real time of flite-slt on SENTENCES, or None when flite is not installed."""
    try:
        engine = load_engine("flite-slt")
        engine.check()
    except Exception as e:  # a missing reference must not hide the vocoder figures
        print(f"(flite-slt reference unavailable: {e})")
        return None
    engine.synthesize(SENTENCES[0], "en", rng_for(0, "warm-up"))
    audio_s, t0 = 0.0, time.perf_counter()
    for i, text in enumerate(SENTENCES):
        out = engine.synthesize(text, "en", rng_for(1, i))
        audio_s += out.audio.size / out.sample_rate
    return audio_s / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds of input speech per rate")
    ap.add_argument("--rates", type=int, nargs="*", default=[8000, 16000])
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):  # one core, like a corpus worker
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    files = speech_files(args.seconds)
    ref = flite_xrt()
    systems = [
        ("world-copy", load_engine("world-copy")),
        ("world-copy f0=harvest", WorldEngine("world-copy", f0_method="harvest")),
        ("griffinlim-copy", load_engine("griffinlim-copy")),
        ("griffinlim n_iter=48", GriffinLimEngine("griffinlim-copy", n_iter=48)),
        ("griffinlim linear", GriffinLimEngine("griffinlim-copy", n_mels=None)),
    ]
    print(f"{len(files)} LibriSpeech files; single core; flite-slt reference: "
          + (f"{ref:.1f}x real time" if ref else "n/a"))  # fmt: skip
    print(f"{'system':<24} {'rate':>6} {'audio s':>8} {'x real time':>12} {'vs flite':>9}")
    for sr in args.rates:
        xs, read_wall = read_all(files, sr)
        audio_s = sum(x.size for x in xs) / sr
        rows = [("read + resample", audio_s / read_wall)]
        rows += [(name, vocode(eng, xs, sr)) for name, eng in systems]
        for name, xrt in rows:
            ratio = f"{xrt / ref:>9.3f}" if ref else f"{'n/a':>9}"
            print(f"{name:<24} {sr:>6} {audio_s:>8.1f} {xrt:>12.1f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
