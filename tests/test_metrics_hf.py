"""The Hugging Face `evaluate` module: loads offline by path and gives exactly the numbers of `rcb eval`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.cli import main
from robocall_bench.contract import read_protocol
from robocall_bench.evaluation.core import CostModel, compute_metrics
from test_eval_fixtures import make_corpus, write_scores

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "metrics" / "robocall_detection"
CORE = REPO / "src" / "robocall_bench" / "evaluation" / "core.py"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
evaluate = pytest.importorskip("evaluate")


@pytest.fixture(scope="module")
def metric():
    return evaluate.load(str(MODULE))


def test_vendored_core_is_identical() -> None:
    assert (MODULE / "rcb_core.py").read_bytes() == CORE.read_bytes(), (
        f"metrics/robocall_detection/rcb_core.py is stale: cp {CORE.relative_to(REPO)} {MODULE.relative_to(REPO)}/rcb_core.py"
    )


def test_hub_layout() -> None:
    for f in ("robocall_detection.py", "rcb_core.py", "README.md", "requirements.txt", "app.py"):
        assert (MODULE / f).is_file(), f
    assert (MODULE / "README.md").read_text(encoding="utf-8").startswith("---\ntitle: Robocall Detection")


@pytest.mark.parametrize("kind", ["random", "ties", "separable"])
def test_identical_to_core(metric, kind: str) -> None:
    rng = np.random.default_rng(4)
    y = rng.random(300) < 0.4
    s = rng.normal(size=300) + 1.2 * y
    if kind == "ties":
        s = np.round(s)
    elif kind == "separable":
        s = np.where(y, 2.0 + rng.random(300), rng.random(300))
    got = metric.compute(predictions=s.tolist(), references=y.astype(int).tolist())
    assert got == compute_metrics(s, y)
    cost = CostModel(0.2, 1.0, 3.0)
    got = metric.compute(predictions=s, references=y.astype(int), p_spoof=0.2, c_fa=3.0, threshold=0.1)
    assert got == compute_metrics(s, y, cost, 0.1)


def test_identical_to_rcb_eval(metric, tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "c")
    f = write_scores(tmp_path / "s.tsv", root, seed=9)
    out = tmp_path / "o"
    assert (
        main(["eval", f"scores={f}", f"protocol={root}", f"out={out}", "bootstrap.n=0", "figures=false"]) == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    proto = read_protocol(root).select("eval")
    sc = dict(line.split("\t") for line in f.read_text().splitlines()[1:])
    for i in range(0, len(proto), 25):  # streamed in batches, as with a data loader
        ids = proto.cols["utt_id"][i : i + 25]
        metric.add_batch(
            predictions=[float(sc[u]) for u in ids], references=proto.is_robocall[i : i + 25].astype(int)
        )
    got = metric.compute()
    for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc", "fpr_at_fnr_1pct", "fnr_at_fpr_1pct"):
        assert got[k] == m[k]["value"], k


def test_bad_input_raises(metric) -> None:
    with pytest.raises(ValueError, match="only one class"):
        metric.compute(predictions=[0.1, 0.2], references=[1, 1])
