"""AASIST / AASIST-L on CPU: the authors' code against ours, same published weights, same inputs.

    python benchmarks/aasist_speed.py --reference DIR [--threads 2] [--batch 1 16]
        [--model aasist aasist_l] [--repeats 3] [--variants eager fast compile bf16] [--tol 1e-4]

``DIR`` is a checkout of clovaai/aasist (commit a04c9863f63d44471dde8a6abcb3b082b07cd1d1 was
checked); its ``models/AASIST.py`` and configs are imported from there, nothing is copied (as in
benchmarks/aasist_reference.py, whose inputs and loaders this reuses). In one process, per model
and batch size, every variant scores the same 64,600-sample inputs in eval mode under
``torch.inference_mode``; variants are timed round-robin (one forward each per round, after one
warm-up round) and reported by their median (and min) over ``--repeats`` rounds:

- ``reference``: the authors' ``Model`` with the published state dict;
- ``eager``: ours as it was before the speed work (``set_fast_inference(False)``): the baseline;
- ``fast``: ours by default (inference fast path: BN folded into conv1, in-place ops; eval +
  no autograd only);
- ``compile``: ``fast`` with its encoder under ``torch.compile`` (``AASIST.compile_encoder``, a copy
  of the model; opt-in, never required; the first call, compilation included, is reported);
- ``bf16``: ``fast`` under CPU bf16 autocast, reported separately with its own logit error (not
  held to ``--tol``); one timed round at the ``--bf16-batch`` sizes only (without AVX-512 BF16 /
  AMX it is emulated and several times slower than fp32).

Every fp32 variant must give the reference's logits to ``--tol``; the script exits 1 otherwise.
Per batch it prints time per batch, throughput relative to the reference and to our baseline, RTF
(compute seconds per second of audio), and the achieved multiply-accumulate rate against this CPU's
measured peak: the best of a few large float32 matmuls on the same threads in the same process.
MACs per item come from ``robocall_bench.models.profile.macs_per_second`` (FlopCounterMode).
Results go to ``benchmarks/results/aasist_speed.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aasist_reference import MODELS, SR, import_file, inputs

from robocall_bench.models import build_model
from robocall_bench.models.aasist_weights import PUBLISHED_SAMPLES
from robocall_bench.models.profile import macs_per_second

VARIANTS = ("eager", "fast", "compile", "bf16")


def cpu_flags() -> dict:
    """The CPU model and whether it has the instructions bf16 autocast needs to pay off."""
    flags, name = set(), platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and not name:
                name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cpu": name,
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def peak_macs(n: int = 1536, repeats: int = 5) -> float:
    """MAC/s of the best of ``repeats`` float32 (n x n) @ (n x n) matmuls on the current threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return n**3 / best


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def load_models(name: str, ref_mod, ref_dir: Path, weights: Path):
    conf, pth = MODELS[name]
    d_args = json.loads((ref_dir / "config" / conf).read_text())["model_config"]
    theirs = ref_mod.Model(d_args)
    theirs.load_state_dict(torch.load(weights / pth, map_location="cpu", weights_only=True), strict=True)
    ours = build_model(name, pretrained=str(weights / pth))
    return theirs.eval(), ours.eval()


def variant_fns(theirs, ours, variants) -> dict:
    """``{variant: f(wave, lengths) -> logits (B, 2)}``, the reference first (its classes flipped to ours)."""
    fns = {"reference": lambda x, n: theirs(x)[1].flip(1)}
    if "eager" in variants:
        fns["eager"] = lambda x, n: ours.set_fast_inference(False)(x, n)
    if "fast" in variants:
        fns["fast"] = lambda x, n: ours.set_fast_inference(True)(x, n)
    if "compile" in variants:
        ours_c = copy.deepcopy(ours).set_fast_inference(True).compile_encoder(dynamic=False)

        def compiled_fast(x, n):
            return ours_c(x, n)

        fns["compile"] = compiled_fast
    if "bf16" in variants:

        def bf16(x, n):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return ours.set_fast_inference(True)(x, n).float()

        fns["bf16"] = bf16
    return fns


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, type=Path, help="checkout of clovaai/aasist")
    ap.add_argument("--weights", type=Path, default=None, help="folder with AASIST.pth, AASIST-L.pth")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--model", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds (after one warm-up round)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument(
        "--bf16-batch", type=int, nargs="*", default=[1], help="batch sizes to run bf16 at (one timed round)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "aasist_speed.json"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref_dir = args.reference.resolve()
    weights = (args.weights or ref_dir / "models" / "weights").resolve()
    ref_mod = import_file("aasist_reference_model", ref_dir / "models" / "AASIST.py")
    data_utils = import_file("aasist_reference_data_utils", ref_dir / "data_utils.py")
    seconds = PUBLISHED_SAMPLES / SR
    with torch.inference_mode():
        peak = peak_macs()
    report: dict = {
        "reference": str(ref_dir),
        "weights": str(weights),
        "threads": args.threads,
        "repeats": args.repeats,
        "samples": PUBLISHED_SAMPLES,
        "tol": args.tol,
        "torch": torch.__version__,
        **cpu_flags(),
        "load_average_start": os.getloadavg()[0],
        "peak_gmac_s_fp32_matmul": peak / 1e9,
        "models": {},
    }
    print(
        f"# {report['cpu']}, torch {torch.__version__}, {args.threads} threads, "
        f"avx512_bf16={report['avx512_bf16']}, load avg {report['load_average_start']:.2f}; "
        f"peak (fp32 matmul) {peak / 1e9:.1f} GMAC/s"
    )
    ok = True
    for name in args.model:
        theirs, ours = load_models(name, ref_mod, ref_dir, weights)
        with torch.no_grad():  # MACs of one item, counted on the plain path (= the reference's graph)
            ours.set_fast_inference(False)
            macs_item = macs_per_second(ours, seconds) * seconds
            ours.set_fast_inference(True)
        fns = variant_fns(theirs, ours, args.variants)
        entry = {"macs_per_item": macs_item, "gmac_per_s_audio": macs_item / seconds / 1e9, "batches": {}}
        print(f"\n## {name}: {macs_item / seconds / 1e9:.2f} GMAC per second of audio")
        for batch in args.batch:
            # speech-like inputs, then white noise and near-silence (aasist_reference.inputs), cycled
            x = inputs(max(batch - 2, 1), args.seed, [], data_utils.pad)
            x = x.repeat((batch + x.shape[0] - 1) // x.shape[0], 1)[:batch].contiguous()
            n = torch.full((batch,), x.shape[1], dtype=torch.long)
            times: dict[str, list[float]] = {k: [] for k in fns}
            outs: dict[str, torch.Tensor] = {}
            first: dict[str, float] = {}
            with torch.inference_mode():
                for r in range(args.repeats + 1):
                    for k, f in fns.items():
                        if k == "bf16" and (batch not in args.bf16_batch or r > 1):
                            continue  # emulated bf16 is slow here: one timed round, --bf16-batch only
                        t = time.perf_counter()
                        out = f(x, n)
                        dt = time.perf_counter() - t
                        if r == 0:
                            outs[k], first[k] = out, dt
                        else:
                            times[k].append(dt)
            ref_t = statistics.median(times["reference"])
            base_t = statistics.median(times["eager"]) if "eager" in times else None
            rows = {}
            for k in [k for k in fns if times[k]]:
                med, best = statistics.median(times[k]), min(times[k])
                err = float((outs[k] - outs["reference"]).abs().max())
                good = k == "bf16" or err <= args.tol
                ok &= good
                rows[k] = {
                    "seconds_per_batch": med,
                    "seconds_per_batch_min": best,
                    "first_call_seconds": first[k],  # compile: includes compilation
                    "speedup_vs_reference": ref_t / med,
                    "speedup_vs_baseline": base_t / med if base_t else None,
                    "rtf": med / (batch * seconds),
                    "gmac_per_s": macs_item * batch / med / 1e9,
                    "mac_utilisation": macs_item * batch / med / peak,
                    "max_abs_logit_diff_vs_reference": err,
                    "within_tol": err <= args.tol,
                }
            entry["batches"][str(batch)] = rows
            print(f"\nbatch {batch} ({batch * seconds:.2f} s of audio per batch)")
            print(
                f"{'variant':<10} {'s/batch':>8} {'min':>7} {'x ref':>6} {'x base':>6} {'RTF':>7} "
                f"{'GMAC/s':>7} {'% peak':>6} {'max|dlogit|':>11}"
            )
            for k, r in rows.items():
                vs_base = f"{r['speedup_vs_baseline']:6.2f}" if r["speedup_vs_baseline"] else f"{'-':>6}"
                note = "" if r["within_tol"] else ("  (bf16, not held to tol)" if k == "bf16" else "  FAIL")
                if k == "compile":
                    note += f"  (first call incl. compile {r['first_call_seconds']:.1f} s)"
                print(
                    f"{k:<10} {r['seconds_per_batch']:8.3f} {r['seconds_per_batch_min']:7.3f} "
                    f"{r['speedup_vs_reference']:6.2f} {vs_base} {r['rtf']:7.4f} {r['gmac_per_s']:7.2f} "
                    f"{100 * r['mac_utilisation']:6.1f} {r['max_abs_logit_diff_vs_reference']:11.2e}{note}"
                )
        report["models"][name] = entry
    report["load_average_end"] = os.getloadavg()[0]
    report["ok"] = ok
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nload avg end {report['load_average_end']:.2f}; ok={ok}; wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
