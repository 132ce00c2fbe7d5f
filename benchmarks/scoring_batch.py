"""Scoring speed against the padded seconds per batch (``score.max_batch_seconds``), in one process.

    python benchmarks/scoring_batch.py [--models lfcc_lcnn,wav2vec2] [--caps 320,96,48,24,12]
        [--calls 240] [--batch-size 16] [--threads 2] [--repeats 2] [--corpus DIR --split eval]

Scores the same calls with each model (random weights: the cost does not depend on them) at every
cap, the caps taking turns within a round so that load from other processes hits them alike; prints
each cap's wall time, real-time factor and speed over the first cap (the default, 320 s), and the
largest score difference against it (batch composition changes float rounding, nothing else).
Without ``--corpus`` the calls are synthetic 16 kHz noise with the mini corpus's mix of lengths:
two thirds per-call rows of 2-8 s, one third campaign calls of 8-30 s.
Results also go to benchmarks/results/scoring_batch.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.inference.preprocess import Preprocess
from robocall_bench.inference.scoring import Scorer, build_model

SR = 16000


def synthetic_calls(n: int, seed: int = 0) -> list[np.ndarray]:
    """n float32 (T_i,) arrays at 16 kHz, lengths like the mini corpus's eval + dev rows."""
    rng = np.random.default_rng(seed)
    secs = np.where(rng.random(n) < 2 / 3, rng.uniform(2, 8, n), rng.uniform(8, 30, n))
    return [(0.05 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in secs]


def corpus_calls(corpus: Path, split: str, n: int) -> list[np.ndarray]:
    """The first n rows of ``split`` of a corpus, preprocessed as the demo's models see them."""
    from robocall_bench.inference.evaldata import EvalDataset
    from robocall_bench.training.data import load_corpus

    items = load_corpus(corpus).select(split)[:n]
    ds = EvalDataset([i.path for i in items], Preprocess())
    return [w for _, w, err, _ in (ds[k] for k in range(len(ds))) if err is None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lfcc_lcnn,wav2vec2")
    ap.add_argument("--caps", default="320,96,48,24,12", help="seconds of padded audio per batch; first = reference")
    ap.add_argument("--calls", type=int, default=240)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--split", default="eval")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    caps = [float(c) for c in args.caps.split(",")]
    waves = corpus_calls(args.corpus, args.split, args.calls) if args.corpus else synthetic_calls(args.calls)
    audio_s = sum(w.size for w in waves) / SR
    print(f"{len(waves)} calls, {audio_s:,.0f} s of audio, batch_size {args.batch_size}, {args.threads} threads")
    rows = []
    for name in [m for m in args.models.split(",") if m]:
        cfg = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / f"{name}.yaml"), resolve=True)
        torch.manual_seed(0)
        model = build_model(cfg, f"configs/model/{name}.yaml", trusted=True).eval()
        scorer = Scorer(model, "torch", Preprocess(), {}, Path("."))
        best = {c: float("inf") for c in caps}
        scores: dict[float, np.ndarray] = {}
        for _ in range(args.repeats):
            for c in caps:
                t = time.perf_counter()
                scores[c] = scorer.score(waves, args.batch_size, c)
                best[c] = min(best[c], time.perf_counter() - t)
        ref = caps[0]
        for c in caps:
            r = {"model": name, "max_batch_seconds": c, "wall_s": round(best[c], 3),
                 "rtf": round(best[c] / audio_s, 5), "speedup_vs_first": round(best[ref] / best[c], 2),
                 "max_abs_score_diff": float(np.abs(scores[c] - scores[ref]).max())}  # fmt: skip
            rows.append(r)
            print(f"{name:>10} | cap {c:>5.0f} s | {r['wall_s']:7.2f} s | RTF {r['rtf']:.5f} | "
                  f"x{r['speedup_vs_first']:.2f} vs cap {ref:.0f} s | max |score diff| {r['max_abs_score_diff']:.2e}")  # fmt: skip
    out = Path(__file__).resolve().parent / "results" / "scoring_batch.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
            "calls": len(waves), "audio_s": audio_s, "threads": args.threads}  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
