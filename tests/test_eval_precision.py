"""The release-precision estimate: simulated systems hit the asked EER, and cluster correlation widens the CI."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robocall_bench.evaluation.core import compute_metrics
from robocall_bench.evaluation.precision import main, simulate_scores, track_precision
from test_eval_fixtures import make_corpus


def test_simulated_system_has_the_asked_eer() -> None:
    rng = np.random.default_rng(0)
    y = np.arange(40_000) % 2 == 0
    s = simulate_scores(y, np.arange(y.size) % 400, eer=0.10, rho=0.0, rng=rng)
    assert abs(compute_metrics(s, y)["eer"] - 0.10) < 0.006


def test_cluster_share_widens_the_interval(tmp_path: Path, capsys) -> None:
    proto = make_corpus(tmp_path / "c", n_per_split={"train": 4, "dev": 4, "eval": 400}) / "protocol.tsv"
    flat = track_precision(str(proto), "eval", rho=0.0, sims=4, n_boot=200)
    clustered = track_precision(str(proto), "eval", rho=0.6, sims=4, n_boot=200)
    assert flat.n_human + flat.n_robocall > 100 and flat.robocall_clusters == 2
    assert 0 < flat.half_width < clustered.half_width
    assert track_precision(str(proto), "eval", rho=0.6, sims=4, n_boot=200) == clustered  # seeded
    assert main([str(proto), "track=eval", "rho=0", "sims=1"]) == 0
    assert "| eval |" in capsys.readouterr().out
