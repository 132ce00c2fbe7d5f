"""Campaign fingerprint speed: indexing rate, query time vs index size, memory, index vs all-pairs.

    python benchmarks/fingerprint_speed.py [--quick] [--sizes 1000,10000,100000]

One thread (BLAS/OpenMP pinned to 1). Prints, from one run:
1. seconds of call audio fingerprinted + indexed per wall second, for the current landmarks and the
   reference (the first landmark code, commit 68ac64e, read with ``git show``; skipped outside a
   clone), on real LibriSpeech speech through the narrowband channel (8 kHz);
2. query time of a real 10 s call against indexes of 1k/10k/100k calls, and index memory per
   indexed call-hour. The big indexes hold *synthetic* 10 s calls: hashes drawn from the pool of
   the real calls' hashes (so posting-list lengths follow real speech), frames uniform in the call;
3. a table of how build time, query time and memory grow with the number of calls;
4. the verification of a query's 5 candidates (fingerprint/verify.py: peak constellations at the
   match offset, independent of the index size; measured on real calls) and the peaks' memory;
5. all-pairs reference at small n (every pair compared by hash intersection) against the index.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # per-core figures

import importlib.util  # noqa: E402 (after the thread settings)

import numpy as np  # noqa: E402

from robocall_bench.fingerprint import simulate as sim  # noqa: E402
from robocall_bench.fingerprint.campaign import score_set  # noqa: E402
from robocall_bench.fingerprint.index import NumpyIndex  # noqa: E402
from robocall_bench.fingerprint.landmarks import SAMPLE_RATE, Fingerprint, fingerprint  # noqa: E402
from robocall_bench.fingerprint.verify import overlap_z  # noqa: E402

REFERENCE_COMMIT = "68ac64e"
CALL_S = 10.0


def reference_module():
    """The first landmark implementation (git show), or None outside a clone."""
    root = Path(__file__).resolve().parents[1]
    try:
        src = subprocess.run(["git", "show", f"{REFERENCE_COMMIT}:src/robocall_bench/fingerprint/landmarks.py"],
                             cwd=root, capture_output=True, text=True, check=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "landmarks_ref.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("landmarks_ref", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def real_calls(corpora: Path, n: int, seed: int) -> list[np.ndarray]:
    """n channel-processed 10 s calls cut from LibriSpeech (8 kHz)."""
    rng = np.random.default_rng(seed)
    ch = sim.narrowband_channel(corpora)
    libri = sim.librispeech_files(corpora)
    out = []
    for f in rng.choice(libri, size=n, replace=False):
        x = sim.read_8k(f)
        out.append(sim.campaign_call(x, ch, rng, pickup_s=(0.0, 1.0), call_s=(CALL_S, CALL_S)))
    return out


def index_rate(fp_fn, calls: list[np.ndarray]) -> float:
    """Seconds of audio fingerprinted and indexed per wall second."""
    fp_fn(calls[0])
    t = time.perf_counter()
    idx = NumpyIndex()
    for k, x in enumerate(calls):
        f = fp_fn(x)
        idx.add(k, Fingerprint(f.hashes, f.frames, f.seconds))
    idx.query(Fingerprint(np.zeros(1, np.uint32), np.zeros(1, np.int32), 0.0))  # forces the merge
    return sum(x.size for x in calls) / SAMPLE_RATE / (time.perf_counter() - t)


def synthetic_index(
    pool: np.ndarray, per_call: int, n: int, rng: np.random.Generator
) -> tuple[NumpyIndex, float]:
    """An index of n synthetic calls (hashes drawn from ``pool``), and its build seconds."""
    h = pool[rng.integers(0, pool.size, size=n * per_call)]
    t = rng.integers(0, int(CALL_S * SAMPLE_RATE / 128), size=n * per_call).astype(np.int32)
    t0 = time.perf_counter()
    idx = NumpyIndex()
    for k in range(n):
        s = slice(k * per_call, (k + 1) * per_call)
        idx.add(k, Fingerprint(h[s], t[s], CALL_S))
    del h, t
    idx.query(Fingerprint(np.zeros(1, np.uint32), np.zeros(1, np.int32), 0.0))
    return idx, time.perf_counter() - t0


def all_pairs(fps: list[Fingerprint]) -> float:
    """Seconds to compare every pair (hash intersection + offset votes, no index)."""
    t0 = time.perf_counter()
    for i, a in enumerate(fps):
        for j, b in enumerate(fps):
            if i == j:
                continue
            common = np.intersect1d(a.hashes, b.hashes)
            if common.size:
                ia = np.isin(a.hashes, common)
                ib = np.isin(b.hashes, common)
                np.unique(np.subtract.outer(a.frames[ia][:64], b.frames[ib][:64]))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sizes 1k,10k; fewer calls")
    ap.add_argument("--sizes", default=None, help="comma-separated index sizes (default 1000,10000,100000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    corpora = Path(os.environ.get("RCB_CORPORA", "corpora"))
    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,100000")).split(",")]
    calls = real_calls(corpora, 12 if args.quick else 40, args.seed)
    audio_s = sum(x.size for x in calls) / SAMPLE_RATE
    print(f"{len(calls)} real calls, {audio_s:.0f} s of 8 kHz audio through the channel")

    new = index_rate(lambda x: fingerprint(x, SAMPLE_RATE), calls)
    ref = reference_module()
    if ref is not None:
        old = index_rate(lambda x: ref.fingerprint(x, SAMPLE_RATE), calls)
        print(f"fingerprint+index, 1 thread: reference ({REFERENCE_COMMIT}) {old:.0f}x real time, "
              f"now {new:.0f}x real time (ratio {new / old:.2f})")  # fmt: skip
    else:
        print(f"fingerprint+index, 1 thread: {new:.0f}x real time (reference needs a git clone)")

    fps = [fingerprint(x, SAMPLE_RATE) for x in calls]
    pool = np.concatenate([f.hashes for f in fps])
    per_call = round(pool.size / len(fps))
    queries = fps[: min(20, len(fps))]
    rng = np.random.default_rng(args.seed)
    print(f"\n{per_call} hashes per 10 s call; synthetic index calls drawn from {pool.size} real hashes")
    print(f"{'calls':>8s} {'postings':>12s} {'build s':>8s} {'query ms':>9s} {'p90 ms':>7s} {'MiB':>8s} "
          f"{'MiB/call-h':>11s}")  # fmt: skip
    for n in sizes:
        idx, build = synthetic_index(pool, per_call, n, rng)
        ms = []
        for q in queries:
            t = time.perf_counter()
            idx.query(q, top=5)
            ms.append(1000 * (time.perf_counter() - t))
        hours = n * CALL_S / 3600
        post = idx.nbytes - idx._off.nbytes  # the fixed offsets table is not per call
        print(f"{n:8d} {idx.n_postings:12d} {build:8.2f} {np.median(ms):9.2f} {np.quantile(ms, 0.9):7.2f} "
              f"{idx.nbytes / 2**20:8.1f} {post / 2**20 / hours:11.2f}")  # fmt: skip
        del idx

    ms = []
    for i, q in enumerate(queries):
        others = [fps[(i + k) % len(fps)] for k in range(1, 6)]
        t = time.perf_counter()
        for o in others:
            overlap_z(q, o, 0)
        ms.append(1000 * (time.perf_counter() - t))
    peak_b = sum(f.peak_t.nbytes + f.peak_f.nbytes for f in fps)  # as held in memory
    hours = sum(f.seconds for f in fps) / 3600
    print(f"\nverification of 5 candidates per query (any index size): median {np.median(ms):.2f} ms, "
          f"p90 {np.quantile(ms, 0.9):.2f} ms; peaks {peak_b / 2**20 / hours:.2f} MiB per call-hour")

    print("\nindex (score_set: index all, query each, verify) vs all-pairs, real calls:")
    base = fps * max(1, 200 // len(fps))
    for n in (25, 50, 100) if args.quick else (50, 100, 200):
        sub = base[:n]
        t = time.perf_counter()
        score_set(sub)
        ti = time.perf_counter() - t
        tp = all_pairs(sub)
        print(f"  n={n:4d}: index {ti:6.2f} s, all-pairs {tp:6.2f} s (ratio {tp / ti:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
