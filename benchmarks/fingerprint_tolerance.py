"""Campaign EER of the landmark fingerprint against the peak-coincidence tolerance of its verification.

    python benchmarks/fingerprint_tolerance.py [--corpus data/mini-seed0] [--tracks train-campaign,dev-campaign,campaign]

``verify.near_counts`` counts a query peak as matched when the other call has a peak within
+-T frames and +-F bins (default T=1, F=1). Each track is fingerprinted once and scored as one set
(``campaign.score_set``) for every (T, F); the EER (scikit-learn ROC, robocall = campaign call) is
printed per track. Choose on the train/dev pools only; the eval ``campaign`` column is for reporting.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from robocall_bench.fingerprint import campaign, verify
from robocall_bench.fingerprint.cli import read_fingerprint
from robocall_bench.fingerprint.landmarks import LandmarkConfig

GRID = [(1, 1), (1, 0), (0, 1), (0, 0), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1)]


def eer_pct(scores: np.ndarray, y: np.ndarray) -> float:
    """EER % at the ROC point where miss and false-alarm rates are closest."""
    fpr, tpr, _ = roc_curve(y, scores)
    i = int(np.nanargmin(np.abs((1 - tpr) - fpr)))
    return 100 * (fpr[i] + 1 - tpr[i]) / 2


def neighbours(t: int, f: int) -> np.ndarray:
    """Packed (frame, bin) offsets of a +-t x +-f neighbourhood, as verify._NEIGHBOURS."""
    return np.array([(dt << verify._FBITS) + df for dt in range(-t, t + 1) for df in range(-f, f + 1)], np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/mini-seed0")
    ap.add_argument("--tracks", default="train-campaign,dev-campaign,campaign")
    args = ap.parse_args()
    root = Path(args.corpus)
    proto = pd.read_csv(root / "protocol.tsv", sep="\t", dtype=str, keep_default_na=False)
    sets = {}
    for t in args.tracks.split(","):
        sel = proto[proto.track == t]
        fps = [read_fingerprint(str(root / p), LandmarkConfig(), 0.5) for p in sel.path]
        sets[t] = (fps, (sel.role != "live").to_numpy().astype(int))
    print("tolerance (frames, bins) | " + " | ".join(f"{t} EER %" for t in sets))
    default = verify._NEIGHBOURS
    try:
        for t, f in GRID:
            verify._NEIGHBOURS = neighbours(t, f)
            row = [eer_pct(campaign.score_set(fps).scores, y) for fps, y in sets.values()]
            mark = " (default)" if (t, f) == (1, 1) else ""
            print(f"+-{t}, +-{f}{mark} | " + " | ".join(f"{e:.3f}" for e in row), flush=True)
    finally:
        verify._NEIGHBOURS = default


if __name__ == "__main__":
    main()
