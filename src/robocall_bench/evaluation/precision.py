"""How precisely a corpus track can measure an EER: the 95% CI half-width of a simulated system.

A release is only useful if two detectors' EERs can be told apart on it, so the release notes
report, per track, the cluster-bootstrap CI half-width that a system with a given EER (10% by
default) would get there. The simulated system keeps the track's real structure: its rows, labels
and bootstrap clusters (human speaker, robocall system; :func:`.breakdown.cluster_ids`). Scores are
Gaussian with a per-cluster random offset holding a share ``rho`` of the score variance:

    human    s = a_c + e,          a_c ~ N(0, rho),  e ~ N(0, 1 - rho)
    robocall s = mu + b_c + e,     mu = 2 * Phi^-1(1 - eer)  (pooled EER = ``eer``)

``rho = 0`` is the trial-count limit (independent trials); ``rho > 0`` shows how much the number of
speakers and systems limits it, which is what the cluster bootstrap measures (correlated trials of
one voice carry less information than independent ones).

    python -m robocall_bench.evaluation.precision PROTOCOL [track=eval eer=0.10 rho=0,0.1,0.3 sims=20]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ..contract import read_protocol
from .bootstrap import BootstrapConfig, bootstrap_metrics
from .breakdown import cluster_ids
from .core import compute_metrics


@dataclass(frozen=True)
class Precision:
    """Per track: trial counts, cluster counts, and the mean EER / CI half-width (EER points, %) over sims."""

    track: str
    n_human: int
    n_robocall: int
    human_clusters: int
    robocall_clusters: int
    rho: float
    eer: float
    half_width: float


def simulate_scores(labels: np.ndarray, clusters: np.ndarray, eer: float, rho: float,
                    rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """(n,) scores of a system whose pooled EER is ``eer``, with a cluster share ``rho`` of the variance."""
    codes = np.unique(clusters, return_inverse=True)[1].ravel()
    offset = rng.normal(0.0, np.sqrt(rho), size=codes.max() + 1)[codes]
    mu = 2.0 * float(ndtri(1.0 - eer))
    return np.where(labels, mu, 0.0) + offset + rng.normal(0.0, np.sqrt(1.0 - rho), size=labels.size)


def track_precision(protocol: str, track: str = "eval", eer: float = 0.10, rho: float = 0.0, sims: int = 20,
                    n_boot: int = 1000, seed: int = 0) -> Precision:  # fmt: skip
    """Mean EER and mean 95% CI half-width over ``sims`` simulated systems on the eval rows of ``track``."""
    proto = read_protocol(protocol).select("eval", track)
    y = proto.is_robocall
    cl = cluster_ids(proto, "speaker", "system")
    rng = np.random.default_rng(seed)
    eers, widths = [], []
    for i in range(sims):
        s = simulate_scores(y, cl, eer, rho, rng)
        eers.append(compute_metrics(s, y)["eer"])
        lo, hi = bootstrap_metrics(s, y, cl, BootstrapConfig(n=n_boot, seed=seed + i))["eer"]
        widths.append((hi - lo) / 2)
    return Precision(track, int((~y).sum()), int(y.sum()), len(set(cl[~y])), len(set(cl[y])), rho,
                     100 * float(np.mean(eers)), 100 * float(np.mean(widths)))  # fmt: skip


def main(argv: Sequence[str]) -> int:
    """Print a markdown table of :func:`track_precision` for each track and rho."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    kv = dict(a.split("=", 1) for a in argv[1:])
    tracks = kv.get("track", "eval,unseen-systems,unseen-channel,campaign").split(",")
    rhos = [float(r) for r in kv.get("rho", "0,0.1,0.3").split(",")]
    eer, sims = float(kv.get("eer", 0.10)), int(kv.get("sims", 20))
    print("| track | human | robocall | speakers | systems | rho | mean EER % | 95% CI half-width (points) |")
    print("|---|---|---|---|---|---|---|---|")
    for t in tracks:
        for rho in rhos:
            p = track_precision(argv[0], t, eer, rho, sims)
            print(f"| {t} | {p.n_human} | {p.n_robocall} | {p.human_clusters} | {p.robocall_clusters} | "
                  f"{rho:g} | {p.eer:.2f} | {p.half_width:.2f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
