"""Streaming throughput: concurrent live calls one CPU core scores in real time, and first-decision latency.

    python benchmarks/streaming_throughput.py [--calls 4] [--seconds 20] [--hop 0.5] [--index-calls 10000]

One thread (torch.set_num_threads(1), OMP/OpenBLAS/MKL_NUM_THREADS=1): per-core figures. Live calls
are real LibriSpeech speech through the narrowband channel (8 kHz), ``--seconds`` long, fed to
``--calls`` concurrent streams round-robin in ``--hop`` chunks; every chunk yields a decision on the
audio so far (src/robocall_bench/inference/streaming.py). CPU seconds (process time) per second of
live audio = RTF; calls per core = 1 / RTF (at 100% of the core; 0.7 / RTF leaves 30% headroom).
First decision latency = the audio it needs (one hop) + its compute time.

Per-call detectors: the trained demo runs (LFCC-GMM and LFCC-LCNN, ``--gmm-run``/``--lcnn-run``;
random-weight / freshly fitted tiny models when absent); their offline 10 s scoring time picks the
fastest. Modes: ``naive`` re-scores the whole prefix at every hop (RescoreStream); ``stream`` is
GMMStream (exact prefix score, level normalisation redone each decision) and ``stream-frozen``
GMMStream with the gain frozen after 2 s (O(new audio) per decision; not the offline prefix score
after 2 s). Fingerprint: a NumpyIndex of ``--index-calls`` synthetic 10 s calls (hashes drawn from
real calls', as benchmarks/fingerprint_speed.py) plus one other channel draw of each live call's
message (so the streams find their campaign); ``naive`` = fingerprint(prefix) + index.query at each
hop, ``stream`` = FingerprintStream (cached spectrogram, postings of known landmarks cached), top 5,
no verification (fingerprint_speed.py times it separately). Results: benchmarks/results/streaming_throughput.json.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # per-core figures

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from robocall_bench.fingerprint import simulate as sim  # noqa: E402
from robocall_bench.fingerprint.index import NumpyIndex  # noqa: E402
from robocall_bench.fingerprint.landmarks import SAMPLE_RATE as SR  # noqa: E402
from robocall_bench.fingerprint.landmarks import Fingerprint, fingerprint  # noqa: E402
from robocall_bench.inference.preprocess import Preprocess  # noqa: E402
from robocall_bench.inference.scoring import Scorer, load_scorer  # noqa: E402
from robocall_bench.inference.streaming import FingerprintStream, GMMStream, RescoreStream  # noqa: E402

HERE = Path(__file__).resolve().parent
DEMO = Path("/work/main/experiments/demo/runs")


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def live_calls(corpora: Path, n: int, seconds: float, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """n calls of ``seconds`` (8 kHz) and, for each, another channel draw of the same message."""
    rng = np.random.default_rng(seed)
    ch, files = sim.narrowband_channel(corpora), sim.librispeech_files(corpora)
    calls, twins = [], []
    for _ in range(n):
        msg = np.zeros(0, np.float32)
        while msg.size < (seconds + 1.5) * SR:
            msg = np.concatenate([msg, sim.read_8k(files[int(rng.integers(len(files)))])])
        for out in (calls, twins):
            x = sim.campaign_call(msg, ch, rng, pickup_s=(0.0, 1.0), call_s=(seconds, seconds))
            out.append(np.pad(x, (0, max(0, int(seconds * SR) - x.size)))[: int(seconds * SR)])
    return calls, twins


def scorer_of(name: str, run: Path) -> Scorer:
    """The trained run, or (absent) a random-weight / tiny-fitted model of the same architecture."""
    if (run / "checkpoints").is_dir():
        return load_scorer(run, device="cpu")
    model = _bench_module("models_speed").build(name).eval()
    kind = "torch" if name == "lfcc_lcnn" else "fitted"
    return Scorer(model, kind, Preprocess(), {"model": {"name": name}}, run)


def run_streams(make, calls: list[np.ndarray], hop: int) -> dict:
    """Feed the calls round-robin, ``hop`` samples at a time; CPU time of every decision."""
    streams = [make(i) for i in range(len(calls))]
    n_hops = max(-(-x.size // hop) for x in calls)
    cpu = np.zeros((len(calls), n_hops))
    last = [None] * len(calls)
    wall = time.perf_counter()
    for j in range(n_hops):
        for i, x in enumerate(calls):
            t0 = time.process_time()
            last[i] = streams[i].push(x[j * hop : (j + 1) * hop])
            cpu[i, j] = time.process_time() - t0
    wall = time.perf_counter() - wall
    audio_s = sum(x.size for x in calls) / SR
    rtf = cpu.sum() / audio_s
    return {
        "rtf": rtf,
        "wall_rtf": wall / audio_s,
        "calls_per_core": 1 / rtf,
        "calls_per_core_70pct": 0.7 / rtf,
        "first_decision_ms": 1000 * float(np.median(cpu[:, 0])),
        "last_decision_ms": 1000 * float(np.median(cpu[:, -1])),
        "max_decision_ms": 1000 * float(cpu.max()),
        "first_decision_latency_s": hop / SR + float(np.median(cpu[:, 0])),
        "final": last,
    }


class NaiveFingerprint:
    """fingerprint(prefix) + index.query at every push."""

    def __init__(self, index) -> None:
        self.index, self.x = index, np.zeros(0, np.float32)

    def push(self, chunk: np.ndarray):
        self.x = np.concatenate([self.x, chunk])
        return self.index.query(fingerprint(self.x, SR), top=5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=4, help="concurrent live calls per mode")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each live call")
    ap.add_argument("--hop", type=float, default=0.5, help="seconds between decisions")
    ap.add_argument("--index-calls", type=int, default=10000)
    ap.add_argument("--pool-calls", type=int, default=24, help="real 10 s calls whose hashes fill the index")
    ap.add_argument("--lcnn-calls", type=int, default=2, help="calls for the (slow) LCNN naive mode")
    ap.add_argument("--gmm-run", type=Path, default=DEMO / "lfcc_gmm-64122eb3")
    ap.add_argument("--lcnn-run", type=Path, default=DEMO / "lfcc_lcnn-56ead911")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    corpora = Path(os.environ.get("RCB_CORPORA", "corpora"))
    hop = round(args.hop * SR)
    calls, twins = live_calls(corpora, args.calls, args.seconds, args.seed)
    print(f"1 thread; {args.calls} live calls x {args.seconds:g} s (8 kHz, narrowband channel), "
          f"a decision every {args.hop:g} s; load average {os.getloadavg()[0]:.2f}")  # fmt: skip

    scorers = {
        "lfcc_gmm": scorer_of("lfcc_gmm", args.gmm_run),
        "lfcc_lcnn": scorer_of("lfcc_lcnn", args.lcnn_run),
    }
    offline = {}
    for name, sc in scorers.items():
        ts = []
        for _ in range(5):
            t0 = time.process_time()
            sc.score([sc.pre(calls[0][: 10 * SR], SR)])
            ts.append(time.process_time() - t0)
        offline[name] = float(np.median(ts)) / 10.0
    fastest = min(offline, key=offline.get)
    print("offline RTF of a 10 s call: " + ", ".join(f"{k} {v:.4f}" for k, v in offline.items())
          + f" -> fastest per-call detector: {fastest}")  # fmt: skip

    gmm = scorers["lfcc_gmm"]
    rows: dict[str, dict] = {}
    rows["lfcc_gmm naive"] = run_streams(lambda i: RescoreStream(gmm, SR), calls, hop)
    rows["lfcc_gmm stream"] = run_streams(lambda i: GMMStream(gmm.model, gmm.pre, SR), calls, hop)
    rows["lfcc_gmm stream-frozen"] = run_streams(
        lambda i: GMMStream(gmm.model, gmm.pre, SR, freeze_gain_s=2.0), calls, hop
    )
    lc = scorers["lfcc_lcnn"]
    rows["lfcc_lcnn naive"] = run_streams(lambda i: RescoreStream(lc, SR), calls[: args.lcnn_calls], hop)

    fp_speed = _bench_module("fingerprint_speed")
    extra = [fingerprint(x, SR) for x in fp_speed.real_calls(corpora, args.pool_calls, args.seed + 1)]
    fps = [fingerprint(x, SR) for x in twins]
    pool = np.concatenate([f.hashes for f in extra + fps])  # posting lengths follow real speech
    per_call = round(np.mean([len(f) for f in extra]))  # hashes of a real 10 s call
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    index = NumpyIndex()
    twin0 = args.index_calls
    for k, f in enumerate(fps):  # first: postings past max_postings of a hash are not read
        index.add(twin0 + k, f)
    n_syn = args.index_calls * per_call  # synthetic calls as fingerprint_speed.synthetic_index
    h, t = pool[rng.integers(0, pool.size, n_syn)], rng.integers(0, 10 * SR // 128, n_syn).astype(np.int32)
    for k in range(args.index_calls):
        index.add(
            k, Fingerprint(h[k * per_call : (k + 1) * per_call], t[k * per_call : (k + 1) * per_call], 10.0)
        )
    index.query(fps[0])  # merge
    build_s = time.perf_counter() - t0
    rows["fingerprint naive"] = run_streams(lambda i: NaiveFingerprint(index), calls, hop)
    rows["fingerprint stream"] = run_streams(lambda i: FingerprintStream(index, top=5), calls, hop)

    gd = max(
        abs(a - b)
        for a, b in zip(rows["lfcc_gmm naive"]["final"], rows["lfcc_gmm stream"]["final"], strict=True)
    )
    fz = max(
        abs(a - b)
        for a, b in zip(rows["lfcc_gmm naive"]["final"], rows["lfcc_gmm stream-frozen"]["final"], strict=True)
    )
    same = rows["fingerprint naive"]["final"] == rows["fingerprint stream"]["final"]
    found = sum(bool(m) and m[0].key == twin0 + i for i, m in enumerate(rows["fingerprint stream"]["final"]))
    print(f"index: {args.index_calls} synthetic + {len(twins)} twin calls, {index.n_postings} postings, "
          f"built in {build_s:.1f} s; final decisions: GMM stream vs naive max |diff| {gd:.2e} "
          f"(frozen gain: {fz:.3f}); fingerprint stream == naive: {same}; twin found {found}/{len(calls)}")  # fmt: skip

    print(f"\n{'detector / mode':<26}{'CPU s per s':>12}{'calls/core':>11}{'@70%':>7}{'1st ms':>8}"
          f"{'last ms':>8}{'1st latency s':>14}{'vs naive':>9}")  # fmt: skip
    for name, r in rows.items():
        base = rows[name.rsplit(" ", 1)[0] + " naive"]["rtf"]
        r["speedup_vs_naive"] = base / r["rtf"]
        print(f"{name:<26}{r['rtf']:>12.5f}{r['calls_per_core']:>11.0f}{r['calls_per_core_70pct']:>7.0f}"
              f"{r['first_decision_ms']:>8.2f}{r['last_decision_ms']:>8.2f}{r['first_decision_latency_s']:>14.3f}"
              f"{r['speedup_vs_naive']:>8.1f}x")  # fmt: skip
    for r in rows.values():
        del r["final"]
    out = HERE / "results" / "streaming_throughput.json"
    out.parent.mkdir(exist_ok=True)
    meta = {
        "python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
        "threads": 1, "calls": args.calls, "seconds": args.seconds, "hop_s": args.hop,
        "index_calls": args.index_calls, "pool_calls": args.pool_calls, "lcnn_calls": args.lcnn_calls, "load_average_1min": os.getloadavg()[0],
        "gmm_run": str(args.gmm_run), "lcnn_run": str(args.lcnn_run), "offline_rtf_10s": offline,
        "fastest_per_call": fastest, "gmm_stream_vs_naive_max_abs_diff": gd,
        "gmm_frozen_vs_naive_max_abs_diff": fz, "fingerprint_stream_equals_naive": same,
        "command": "python benchmarks/streaming_throughput.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
