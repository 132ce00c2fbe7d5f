"""LFCC-LCNN train step: max-feature-map through ``torch.maximum`` (autograd's formula) against ours.

    python benchmarks/lcnn_mfm.py [--batch-size 16] [--crop 3.0] [--steps 8] [--threads 2]

Two copies of the model from one seed train on the same batch, the two MFM implementations taking
turns step by step in one process (load from other jobs hits both alike); prints the median step
time of each, their ratio, and whether the two models' parameters are still bit-identical after
the last step (they must be: ``_MaxFeatureMap`` repeats maximum's gradient, ties included).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from omegaconf import OmegaConf

import robocall_bench.models.lfcc_lcnn as lcnn
from robocall_bench.config import config_dir
from robocall_bench.inference.scoring import build_model

OURS = lcnn.MFMConv2d.forward


def autograd_maximum(self: lcnn.MFMConv2d, x: torch.Tensor) -> torch.Tensor:
    """The layer as it was: chunk + torch.maximum, differentiated by autograd."""
    a, b = self.conv(x).chunk(2, dim=1)
    return torch.maximum(a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--crop", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / "lfcc_lcnn.yaml"), resolve=True)
    t = int(args.crop * 16000)
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(args.batch_size, t, generator=gen)
    lengths = torch.full((args.batch_size,), t)
    y = torch.randint(0, 2, (args.batch_size,), generator=gen)
    variants = {"torch.maximum (autograd)": autograd_maximum, "_MaxFeatureMap (ours)": OURS}
    models, opts, times = {}, {}, {k: [] for k in variants}
    for k in variants:
        torch.manual_seed(0)
        models[k] = build_model(cfg, "configs/model/lfcc_lcnn.yaml", trusted=True).train()
        opts[k] = torch.optim.AdamW(models[k].parameters(), 1e-3)
    try:
        for step in range(args.steps + 1):
            for k, fwd in variants.items():
                lcnn.MFMConv2d.forward = fwd
                torch.manual_seed(step)  # the same dropout draws for both
                t0 = time.perf_counter()
                opts[k].zero_grad()
                torch.nn.functional.cross_entropy(models[k](x, lengths), y).backward()
                opts[k].step()
                if step:  # the first step warms up allocators and oneDNN primitives
                    times[k].append(time.perf_counter() - t0)
    finally:
        lcnn.MFMConv2d.forward = OURS
    ref, new = (statistics.median(times[k]) for k in variants)
    same = all(torch.equal(a, b) for a, b in zip(*(m.parameters() for m in models.values()), strict=True))
    print(f"batch {args.batch_size} x {args.crop:g} s, {args.threads} threads, median of {args.steps} steps")
    for k in variants:
        print(f"  {k:<26} {statistics.median(times[k]):.3f} s per train step")
    print(f"  speed-up {ref / new:.2f}x; parameters bit-identical after {args.steps + 1} steps: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
