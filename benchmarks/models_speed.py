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
import os
import platform
from pathlib import Path

import numpy as np
import torch

from robocall_bench.inference.scoring import is_torch_model
from robocall_bench.models import Detector, build_model, count_parameters
from robocall_bench.models.profile import macs_per_second, time_rtf

SR = 16000
REFERENCE = "lfcc_lcnn"
DEFAULT = [
    "lfcc_gmm",
    "lfcc_lcnn",
    "rawnet2",
    "aasist",
    "aasist_l",
    "wav2vec2",
    "wav2vec2_aasist",
    "resemblyzer",
]
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
    if not is_torch_model(model):  # fitted models (GMMs, heads) need a fit to score: 40 s of synthetic audio
        rng = np.random.default_rng(0)
        waves = [(0.1 * rng.standard_normal(2 * SR)).astype(np.float32) for _ in range(20)]
        waves = [np.cumsum(w) / 50 if i % 2 else w for i, w in enumerate(waves)]  # two "classes"
        model.fit(waves, [i % 2 for i in range(20)])
    return model


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
        for name, (med, best) in time_rtf(models, args.seconds, args.repeats, budget_s=120.0).items():
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
