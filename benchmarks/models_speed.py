"""Size and CPU speed of every detector: parameters, MACs per second of audio, real-time factor.

    python benchmarks/models_speed.py [--threads 2] [--seconds 4] [--repeats 7] [--models ...] [--xlsr]

Per model: parameter count; multiply-accumulates per second of audio (``FlopCounterMode`` FLOPs / 2
on a forward pass, plus analytic counts for what it does not see: FFTs of the LFCC front-end,
LSTM layers, the GMM likelihoods); CPU real-time factor (median wall time / audio duration) of a
batch-1 forward in eval mode under ``no_grad`` on ``--threads`` threads, models timed round-robin;
and each RTF relative to the LFCC-LCNN reference measured in the same rounds. Besides the configs under configs/model/, the
wav2vec2-base architecture (and with ``--xlsr`` SSL-AASIST on the XLS-R 300M architecture) are
timed with random weights (speed does not depend on them; nothing is downloaded).
Results also go to benchmarks/results/models_speed.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from robocall_bench.models import Detector, build_model, count_parameters
from robocall_bench.models.frontends import LFCC
from robocall_bench.models.lfcc_gmm import LFCCGMM

SR = 16000
REFERENCE = "lfcc_lcnn"
DEFAULT = ["lfcc_gmm", "lfcc_lcnn", "rawnet2", "aasist", "aasist_l", "wav2vec2", "wav2vec2_aasist"]
XLSR_300M = {  # facebook/wav2vec2-xls-r-300m architecture
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "conv_bias": True,
}


def build(name: str) -> Detector:
    torch.manual_seed(0)
    if name == "wav2vec2_base_arch":  # Wav2Vec2Config() defaults = the wav2vec2-base architecture
        from robocall_bench.models.wav2vec2 import Wav2Vec2Detector

        return Wav2Vec2Detector(config={})
    if name == "wav2vec2_aasist_xlsr_arch":
        from robocall_bench.models.wav2vec2_aasist import Wav2Vec2AASIST

        return Wav2Vec2AASIST(config=XLSR_300M)
    model = build_model(name)
    if isinstance(model, LFCCGMM):  # needs fitted mixtures to score: fit on 40 s of synthetic audio
        rng = np.random.default_rng(0)
        waves = [(0.1 * rng.standard_normal(2 * SR)).astype(np.float32) for _ in range(20)]
        waves = [np.cumsum(w) / 50 if i % 2 else w for i, w in enumerate(waves)]  # two "classes"
        model.fit(waves, [i % 2 for i in range(20)])
    return model


def _rnn_macs(module: nn.RNNBase, inp) -> int:
    """Analytic MACs of an LSTM/GRU forward (FlopCounterMode misses LSTMs on CPU)."""
    x = inp[0]
    steps = x.data.shape[0] if isinstance(x, nn.utils.rnn.PackedSequence) else x.shape[0] * x.shape[1]
    gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
    dirs, h = 2 if module.bidirectional else 1, module.hidden_size
    total = 0
    for layer in range(module.num_layers):
        d_in = module.input_size if layer == 0 else h * dirs
        total += dirs * steps * gates * (d_in * h + h * h)
    return total


def macs_per_second(model: Detector, seconds: float) -> float:
    """Forward MACs per second of audio (batch 1)."""
    wave, lengths = torch.randn(1, int(seconds * SR)), torch.tensor([int(seconds * SR)])
    rnn_macs: list[int] = []
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: rnn_macs.append(_rnn_macs(mod, inp))) for m in rnns
    ]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            model(wave, lengths)
    finally:
        for hk in hooks:
            hk.remove()
    counts = counter.get_flop_counts()  # keyed "<RootClass>.<module path>"
    rnn_keys = {f"{type(model).__name__}.{n}" for n, m in model.named_modules() if m in rnns}
    counted_in_rnns = sum(sum(counts.get(k, {}).values()) for k in rnn_keys)
    macs = (counter.get_total_flops() - counted_in_rnns) / 2 + sum(rnn_macs)
    for fe in (m for m in model.modules() if isinstance(m, LFCC)):  # FFTs are not counted
        frames = int(fe.frame_lengths(lengths)[0])
        macs += frames * fe.n_fft * math.log2(fe.n_fft)  # ~N log2 N MACs per real FFT frame
    if isinstance(model, LFCCGMM):
        macs += int(model.frontend.frame_lengths(lengths)[0]) * model.macs_per_frame()
    return macs / seconds


def rtfs(
    models: dict[str, Detector], seconds: float, repeats: int, budget_s: float = 120.0
) -> dict[str, tuple[float, float]]:
    """(median, min) wall time of a batch-1 forward / audio duration, per model.

    Models are timed round-robin (one forward each per round), so a load change on a shared
    machine hits every model alike and the ratios to the reference stay meaningful; the minimum
    is the best estimate of the uncontended cost.
    """
    wave, lengths = torch.randn(1, int(seconds * SR)), torch.tensor([int(seconds * SR)])
    times: dict[str, list[float]] = {name: [] for name in models}
    for r in range(repeats + 2):  # two warm-up rounds (allocator, oneDNN primitive caches)
        for name, model in models.items():
            t = time.perf_counter()
            model(wave, lengths)
            if r >= 2:
                times[name].append(time.perf_counter() - t)
        if r >= 4 and sum(map(sum, times.values())) > budget_s:  # slow sets: fewer rounds (>= 3)
            break
    return {name: (statistics.median(ts) / seconds, min(ts) / seconds) for name, ts in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--models", nargs="+", default=[*DEFAULT, "wav2vec2_base_arch"])
    ap.add_argument("--xlsr", action="store_true", help="also time SSL-AASIST on the XLS-R 300M architecture")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = list(
        dict.fromkeys([REFERENCE, *args.models] + (["wav2vec2_aasist_xlsr_arch"] if args.xlsr else []))
    )
    models = {name: build(name).eval() for name in names}
    with torch.no_grad():
        rows = {
            name: {"params": count_parameters(m), "macs_per_s": macs_per_second(m, args.seconds)}
            for name, m in models.items()
        }
        for name, (med, best) in rtfs(models, args.seconds, args.repeats).items():
            rows[name].update(rtf=med, rtf_min=best)
    ref = rows[REFERENCE]["rtf"]
    print(f"{args.threads} threads, {args.seconds:g} s input, batch 1, load average {os.getloadavg()[0]:.2f}")
    print(f"{'model':<28}{'params':>13}{'GMACs/s audio':>15}{'RTF med':>10}{'RTF min':>10}{'RTF / lcnn':>12}")
    for name in [n for n in names if n != REFERENCE] + [REFERENCE]:
        r = rows[name]
        r["rtf_ratio_to_lfcc_lcnn"] = r["rtf"] / ref
        print(
            f"{name:<28}{r['params']:>13,d}{r['macs_per_s'] / 1e9:>15.3f}"
            f"{r['rtf']:>10.4f}{r['rtf_min']:>10.4f}{r['rtf'] / ref:>12.2f}"
        )
    if "aasist" in rows:
        ok = rows["aasist"]["rtf"] <= 0.01
        print(
            f"target AASIST RTF <= 0.01 on {args.threads} cores: {'met' if ok else 'MISSED'} "
            f"(median {rows['aasist']['rtf']:.3f}, best run {rows['aasist']['rtf_min']:.3f})"
        )
    out = Path(__file__).resolve().parent / "results" / "models_speed.json"
    out.parent.mkdir(exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": args.threads,
        "seconds": args.seconds,
        "load_average_1min": os.getloadavg()[0],
    }
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
