"""Landmarks vs Chromaprint on replay / re-spoken / same-speaker pairs through the real telephone channel.

    python benchmarks/fingerprint_compare.py [--quick] [--pairs N] [--seed S]

Pairs (8 kHz, configs/channel/narrowband.yaml with the corpora's recorded noise; the two calls of a
pair always get different codecs):
- replay:   one LibriSpeech message, two calls each with its own pick-up offset (0-4 s), hang-up
            (6-14 s) and channel draw -> must match;
- respoken: one FSDD speaker saying the same 12 digits twice (other takes) -> must not;
- speaker:  two different LibriSpeech test-other utterances of one speaker -> must not.
Landmarks: the verified z of the best candidate (fingerprint/verify.py). Chromaprint (libchromaprint via pyacoustid, the raw
32-bit sub-fingerprints): 1 - the lowest bit-error rate over every alignment with >= 2 s overlap.
Prints AUC/EER of replay against each negative kind and pooled, and fingerprinting speed (s of
audio per wall second, one thread) of both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # per-core figures

import numpy as np  # noqa: E402 (after the thread settings)

from robocall_bench.fingerprint import simulate as sim  # noqa: E402 (after the thread settings)
from robocall_bench.fingerprint.index import NumpyIndex  # noqa: E402 (after the thread settings)
from robocall_bench.fingerprint.landmarks import SAMPLE_RATE, fingerprint  # noqa: E402 (after the thread settings)
from robocall_bench.fingerprint.verify import overlap_z  # noqa: E402 (after the thread settings)

MIN_OVERLAP = 16  # sub-fingerprints (~2 s)


def chroma_raw(x: np.ndarray) -> np.ndarray:
    """(T,) 8 kHz float -> (n,) uint32 raw Chromaprint sub-fingerprints (libchromaprint resamples)."""
    import chromaprint

    fp = chromaprint.Fingerprinter()
    fp.start(SAMPLE_RATE, 1)
    fp.feed((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    raw, _ = chromaprint.decode_fingerprint(fp.finish())
    return np.asarray(raw, dtype=np.uint32)


_POP = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


def chroma_score(a: np.ndarray, b: np.ndarray) -> float:
    """1 - lowest bit-error rate over alignments of raw fingerprints a (n,), b (m,) overlapping >= MIN_OVERLAP."""
    best = 1.0
    if min(a.size, b.size) < MIN_OVERLAP:  # too short to align: no evidence
        return 0.0
    for lag in range(-(b.size - MIN_OVERLAP), a.size - MIN_OVERLAP + 1):
        i0, j0 = max(0, lag), max(0, -lag)
        n = min(a.size - i0, b.size - j0)
        x = a[i0 : i0 + n] ^ b[j0 : j0 + n]
        bits = _POP[x & 0xFFFF].sum(dtype=np.int64) + _POP[x >> 16].sum(dtype=np.int64)
        best = min(best, bits / (32.0 * n))
    return 1.0 - best


def landmark_score(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = fingerprint(a, SAMPLE_RATE), fingerprint(b, SAMPLE_RATE)
    idx = NumpyIndex()
    idx.add(1, fb)
    m = idx.query(fa)
    return max(0.0, overlap_z(fa, fb, m[0].offset)) if m else 0.0


def auc_eer(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """AUC (ties count half) and EER of scores ``pos`` (n,) against ``neg`` (m,)."""
    d = pos[:, None] - neg[None, :]
    auc = float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)
    th = np.unique(np.r_[pos, neg])
    fnr = np.array([(pos < t).mean() for t in th])
    fpr = np.array([(neg >= t).mean() for t in th])
    k = int(np.argmin(np.abs(fnr - fpr)))
    return auc, float((fnr[k] + fpr[k]) / 2)


def make_pairs(corpora: Path, n: int, seed: int) -> list[sim.Pair]:
    """n replay, n re-spoken and n same-speaker pairs (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ch = sim.narrowband_channel(corpora)
    libri = sim.librispeech_files(corpora)
    pairs = []
    for f in rng.choice(libri, size=n, replace=False):
        msg = sim.read_8k(f)
        if msg.size < 8 * SAMPLE_RATE:  # messages are 8-30 s
            msg = np.concatenate([msg, sim.read_8k(libri[int(rng.integers(len(libri)))])])
        pairs.append(sim.replay_pair(msg, ch, rng))
    takes = sim.fsdd_takes(corpora / "fsdd")
    speakers = sorted({s for _, s in takes})
    for k in range(n):
        pairs.append(sim.respoken_pair(takes, speakers[k % len(speakers)], 12, ch, rng))
    spk_dirs = sorted(d for d in (corpora / "librispeech-sample" / "test-other").iterdir() if d.is_dir())
    for k in range(n):
        utts = sorted(spk_dirs[k % len(spk_dirs)].rglob("*.flac"))
        i, j = rng.choice(len(utts), size=2, replace=False)
        pairs.append(sim.speaker_pair(sim.read_8k(utts[int(i)]), sim.read_8k(utts[int(j)]), ch, rng))
    return pairs


def speed(fn, xs: list[np.ndarray]) -> float:
    fn(xs[0])  # warm-up (imports, FFT plans)
    t = time.perf_counter()
    for x in xs:
        fn(x)
    return sum(x.size for x in xs) / SAMPLE_RATE / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 pairs of each kind instead of 40")
    ap.add_argument("--pairs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    corpora = Path(os.environ.get("RCB_CORPORA", "corpora"))
    n = args.pairs or (12 if args.quick else 40)
    t0 = time.perf_counter()
    pairs = make_pairs(corpora, n, args.seed)
    print(f"{len(pairs)} pairs through the channel in {time.perf_counter() - t0:.1f} s")
    kinds = np.array([p.kind for p in pairs])
    rows = []
    for name, score in (("landmarks", landmark_score), ("chromaprint", None)):
        if score is None:
            try:
                cache = {}
                score = lambda a, b, c=cache: chroma_score(chroma_raw(a), chroma_raw(b))  # noqa: E731
                chroma_raw(pairs[0].a)
            except (ImportError, OSError) as e:
                print(
                    f"chromaprint unavailable ({e}); apt-get install libchromaprint-tools, pip install pyacoustid"
                )
                continue
        s = np.array([score(p.a, p.b) for p in pairs])
        pos = s[kinds == "replay"]
        res = {k: auc_eer(pos, s[kinds == k]) for k in ("respoken", "speaker")}
        res["pooled"] = auc_eer(pos, s[kinds != "replay"])
        xs = [p.a for p in pairs] + [p.b for p in pairs]
        fps = (
            speed(lambda x: fingerprint(x, SAMPLE_RATE), xs) if name == "landmarks" else speed(chroma_raw, xs)
        )
        rows.append((name, res, fps, np.median(pos), np.max(s[kinds != "replay"])))
    print(f"{'system':12s} {'AUC resp':>9s} {'EER resp':>9s} {'AUC spk':>8s} {'EER spk':>8s} {'AUC all':>8s} "
          f"{'EER all':>8s} {'x RT/core':>10s} {'med pos':>8s} {'max neg':>8s}")  # fmt: skip
    for name, res, fps, mp, mn in rows:
        print(f"{name:12s} {res['respoken'][0]:9.3f} {res['respoken'][1]:9.3f} {res['speaker'][0]:8.3f} "
              f"{res['speaker'][1]:8.3f} {res['pooled'][0]:8.3f} {res['pooled'][1]:8.3f} {fps:10.0f} "
              f"{mp:8.3f} {mn:8.3f}")  # fmt: skip
    if len(rows) == 2:
        print(f"speed ratio landmarks/chromaprint: {rows[0][2] / rows[1][2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
