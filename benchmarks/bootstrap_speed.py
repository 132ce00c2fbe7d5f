"""Cluster-bootstrap CIs at 1M trials: the block engine against the reference loop, from one run.

    python benchmarks/bootstrap_speed.py [--trials 1e6] [--replicates 1000] [--ref-replicates 20]

Times ``replicate_metrics`` (the engine behind ``rcb eval`` CIs, 1000 replicates by default) and
``reference_replicate_metrics`` (the old one-replicate-at-a-time loop; far too slow to run 1000
times, so it runs ``--ref-replicates`` and is extrapolated: setup + per-replicate cost x 1000, the
setup and the per-replicate cost fitted from a 1-replicate and a (1 + R)-replicate run). Prints
both, their ratio (target >= 15x, new <= 5 s), and the replicate mean / sd of the headline metrics
of both engines (the reference's from its few replicates). Data: ``metrics_speed.py``'s (Gaussian
scores, ~1000 clusters).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from robocall_bench.evaluation.bootstrap import (
    BootstrapConfig,
    reference_replicate_metrics,
    replicate_metrics,
)
from robocall_bench.evaluation.core import CostModel

KEYS = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct")


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=float, default=1e6)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--ref-replicates", type=int, default=20)
    args = ap.parse_args()
    n, reps, ref_reps = int(args.trials), args.replicates, args.ref_replicates
    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.5
    s = rng.normal(size=n) + 1.5 * y
    clusters = rng.integers(0, 500, size=n)
    cost = CostModel()

    def ref(b: int):
        return reference_replicate_metrics([s], y, clusters, BootstrapConfig(n=b, seed=0), cost)[0]

    t_new, new = timed(lambda: replicate_metrics([s], y, clusters, BootstrapConfig(n=reps, seed=0), cost)[0])
    t1, _ = timed(lambda: ref(1))
    tr, old = timed(lambda: ref(1 + ref_reps))
    per = max(tr - t1, 0.0) / ref_reps
    t_old = max(t1 - per, 0.0) + reps * per
    print(f"{n:,d} trials, {reps} replicates (two-stage cluster bootstrap, ~1000 clusters)")
    print(
        f"reference loop : {t_old:8.1f} s  (extrapolated from {ref_reps} replicates: {per * 1e3:.1f} ms/replicate "
        f"+ {max(t1 - per, 0.0):.2f} s setup)"
    )
    print(
        f"block engine   : {t_new:8.2f} s  (measured, {reps} replicates: {t_new / reps * 1e3:.2f} ms/replicate)"
    )
    ratio = t_old / t_new
    print(
        f"ratio          : {ratio:8.1f}x   target >= 15x and <= 5 s: {'met' if ratio >= 15 and t_new <= 5 else 'MISSED'}"
    )
    print("replicate mean (sd): block engine | reference")
    for k in KEYS:
        print(
            f"  {k:15s} {new[k].mean():.5f} ({new[k].std():.5f}) | {old[k].mean():.5f} ({old[k].std():.5f})"
        )


if __name__ == "__main__":
    main()
