"""Telephone channel throughput: seconds of audio per wall-clock second, per codec and for the full chain.

    python benchmarks/channel_speed.py [--seconds 10] [--repeats 5] [--band narrowband]

Rows: "codec only" (resample + band + loudness + codec) and "full chain" (default config, codec
forced) for every available codec, plus the full chain with the codec drawn by weight. The ratio
column is throughput relative to the pcmu-only chain measured in the same run (higher = faster).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from robocall_bench.channel import TelephoneChannel, list_codecs
from robocall_bench.seeding import rng_for

SR = 16000


def speech_like(seconds: float, sr: int = SR) -> np.ndarray:
    """Harmonic voiced signal with gliding f0, pauses and a little noise, (T,) float32."""
    t = np.arange(int(seconds * sr)) / sr
    ph = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 0.7 * t)) / sr
    x = sum(np.sin(k * ph) * 0.85**k for k in range(1, 45)) * np.clip(3 * np.sin(2 * np.pi * 1.5 * t), 0, 1)
    x = 0.3 * x / np.abs(x).max() + 0.003 * np.random.default_rng(0).standard_normal(t.size)
    return x.astype(np.float32)


def throughput(ch: TelephoneChannel, x: np.ndarray, codec: str | None, repeats: int) -> float:
    """Audio seconds per wall second, median over ``repeats`` calls (after a warm-up call that runs
    the availability probe and codec delay calibration)."""
    ch.apply(x, SR, rng_for(0, "warmup", codec), codec=codec)
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        ch.apply(x, SR, rng_for(1, i, codec), codec=codec)
        times.append(time.perf_counter() - t0)
    return x.size / SR / float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the test utterance")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--band", default="narrowband", choices=["narrowband", "wideband"])
    args = ap.parse_args()
    x = speech_like(args.seconds)
    bare = TelephoneChannel(band=args.band, rir=False, noise=False, frame_loss=False, gain=False)
    full = TelephoneChannel(band=args.band)
    ref = throughput(bare, x, "pcmu", args.repeats)
    codecs = [c for c, ok in list_codecs().items() if ok]
    missing = [c for c, ok in list_codecs().items() if not ok]
    print(
        f"{args.band}, {args.seconds:g} s utterance x {args.repeats}; reference pcmu-only chain: {ref:.1f} x realtime"
    )
    print(f"{'codec':<10} {'codec-only x RT':>16} {'ratio':>7} {'full chain x RT':>16} {'ratio':>7}")
    for c in codecs:
        a, b = throughput(bare, x, c, args.repeats), throughput(full, x, c, args.repeats)
        print(f"{c:<10} {a:>16.1f} {a / ref:>7.2f} {b:>16.1f} {b / ref:>7.2f}")
    d = throughput(full, x, None, args.repeats * 2)
    print(f"{'(drawn)':<10} {'':>16} {'':>7} {d:>16.1f} {d / ref:>7.2f}")
    if missing:
        print(f"unavailable here: {', '.join(missing)}")


if __name__ == "__main__":
    main()
