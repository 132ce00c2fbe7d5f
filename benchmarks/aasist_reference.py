"""Our AASIST / AASIST-L with the published weights against the authors' own code: same logits?

    python benchmarks/aasist_reference.py --reference DIR [--weights DIR] [--batch 3] [--tol 1e-4]

``DIR`` is a checkout of clovaai/aasist (commit a04c9863f63d44471dde8a6abcb3b082b07cd1d1 was
checked); nothing of it is copied into this repository. Its ``models/AASIST.py`` is imported from
there, its ``config/AASIST*.conf`` give the reference models' arguments, and the published state
dicts (``--weights``, default ``DIR/models/weights``: AASIST.pth, AASIST-L.pth) are loaded into the
reference model (its own names, strict) and into ours (``build_model(name, pretrained=...)``: the
key map of models/aasist_weights.py). Both score the same inputs in eval mode: full-length
64,600-sample waveforms (speech-like signals, noise, silence + noise; plus real corpus audio with
``--audio FILE ...``, cut/tiled by the authors' ``data_utils.pad`` and by ours). The check passes when
every logit agrees within ``--tol`` (ours are in our class order, the reference's flipped to match),
and our ``first_samples_tiled`` equals the authors' ``pad`` for short, exact and long inputs.

Not part of the tests (it needs the reference checkout); exits 1 on a mismatch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from robocall_bench.inference.preprocess import first_samples_tiled
from robocall_bench.models import build_model, count_parameters, score_from_logits
from robocall_bench.models.aasist_weights import PUBLISHED_SAMPLES

MODELS = {"aasist": ("AASIST.conf", "AASIST.pth"), "aasist_l": ("AASIST-L.conf", "AASIST-L.pth")}
SR = 16000


def import_file(name: str, path: Path):
    """Import the module at ``path`` under ``name`` (the reference's own files, from its checkout)."""
    if not path.is_file():
        sys.exit(f"{path} not found: pass --reference a checkout of clovaai/aasist")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def inputs(batch: int, seed: int, audio: list[str], pad) -> torch.Tensor:
    """(N, 64600) float32: speech-like harmonics, white noise, near-silence, then any --audio files."""
    rng = np.random.default_rng(seed)
    t = np.arange(PUBLISHED_SAMPLES) / SR
    out = []
    for _ in range(batch):
        f0 = rng.uniform(90, 240) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
        ph = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(k * ph) / k for k in range(1, 12)) * np.clip(np.sin(2 * np.pi * 4 * t) + 0.3, 0, None)
        out.append(0.3 * x / np.abs(x).max() + 0.01 * rng.standard_normal(t.size))
    out.append(0.1 * rng.standard_normal(t.size))
    out.append(1e-4 * rng.standard_normal(t.size))
    if audio:
        import soundfile as sf

        from robocall_bench.audio import resample

        for f in audio:
            x, sr = sf.read(f, dtype="float32", always_2d=True)
            x = resample(x.mean(axis=1), sr, SR)
            out.append(pad(x.astype(np.float64), PUBLISHED_SAMPLES))
    return torch.tensor(np.stack(out), dtype=torch.float32)


def check_pad(pad, seed: int) -> list[str]:
    """Our first_samples_tiled against the authors' pad for lengths below, at and above 64,600."""
    rng = np.random.default_rng(seed)
    bad = []
    for n in (1, 7, 1000, 32_300, 64_599, 64_600, 64_601, 200_000):
        x = rng.standard_normal(n).astype(np.float32)
        if not np.array_equal(pad(x, PUBLISHED_SAMPLES), first_samples_tiled(x, PUBLISHED_SAMPLES)):
            bad.append(str(n))
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, type=Path, help="checkout of clovaai/aasist")
    ap.add_argument("--weights", type=Path, default=None, help="folder with AASIST.pth, AASIST-L.pth")
    ap.add_argument("--batch", type=int, default=3, help="speech-like inputs (plus noise and near-silence)")
    ap.add_argument(
        "--audio", nargs="*", default=[], help="audio files to add (any rate; resampled to 16 kHz)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref_dir = args.reference.resolve()
    weights = (args.weights or ref_dir / "models" / "weights").resolve()
    ref = import_file("aasist_reference_model", ref_dir / "models" / "AASIST.py")
    data_utils = import_file("aasist_reference_data_utils", ref_dir / "data_utils.py")
    x = inputs(args.batch, args.seed, args.audio, data_utils.pad)
    lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
    report: dict = {"reference": str(ref_dir), "weights": str(weights), "inputs": x.shape[0], "tol": args.tol}
    ok = True
    bad_pad = check_pad(data_utils.pad, args.seed)
    report["pad_mismatch_lengths"] = bad_pad
    ok &= not bad_pad
    for name, (conf, pth) in MODELS.items():
        d_args = json.loads((ref_dir / "config" / conf).read_text())["model_config"]
        theirs = ref.Model(d_args)
        state = torch.load(weights / pth, map_location="cpu", weights_only=True)
        theirs.load_state_dict(state, strict=True)
        theirs.eval()
        ours = build_model(name, pretrained=str(weights / pth)).eval()
        with torch.no_grad():
            t0 = time.perf_counter()
            out = theirs(x)
            t_ref = time.perf_counter() - t0
            logits_ref = (out[1] if isinstance(out, tuple) else out).flip(1)  # -> (bona fide, spoof) = ours
            t0 = time.perf_counter()
            logits = ours(x, lengths)
            t_ours = time.perf_counter() - t0
        diff = float((logits - logits_ref).abs().max())
        score_diff = float((score_from_logits(logits) - (logits_ref[:, 1] - logits_ref[:, 0])).abs().max())
        n_ref = sum(p.numel() for p in theirs.parameters())
        good = diff <= args.tol and n_ref == count_parameters(ours) and len(state) == len(ours.state_dict())
        ok &= good
        report[name] = {
            "max_abs_logit_diff": diff,
            "max_abs_score_diff": score_diff,
            "params_reference": n_ref,
            "params_ours": count_parameters(ours),
            "tensors_published": len(state),
            "tensors_ours": len(ours.state_dict()),
            "scores_ours": [round(float(s), 5) for s in score_from_logits(logits)],
            "seconds_reference": round(t_ref, 3),
            "seconds_ours": round(t_ours, 3),
            "ok": good,
        }
    report["ok"] = ok
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
