"""`rcb eval` end to end on a synthetic protocol: outputs, provenance, breakdowns, early detection, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.cli import main
from robocall_bench.contract import read_protocol, sha256_file
from robocall_bench.evaluation.core import compute_metrics
from test_eval_fixtures import make_corpus, write_scores

KEYS = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path, dict]:
    d = tmp_path_factory.mktemp("eval")
    root = make_corpus(d / "c")
    scores = write_scores(d / "eval.tsv", root)
    dev = write_scores(d / "dev.tsv", root, split="dev", seed=1)
    e1 = write_scores(d / "e1.tsv", root, seed=2, separation=0.3)
    e3 = write_scores(d / "e3.tsv", root, seed=3, separation=1.0)
    out = d / "out"
    rc = main(
        [
            "eval",
            f"scores={scores}",
            f"protocol={root / 'protocol.tsv'}",
            "split=eval",
            f"out={out}",
            f"dev_scores={dev}",
            f"early={{1:{e1},3:{e3}}}",
            "bootstrap.n=100",
        ]
    )
    assert rc == 0
    return root, out, json.loads((out / "metrics.json").read_text())


def test_metrics_json_has_every_headline_metric_with_ci(run) -> None:
    root, out, m = run
    assert m["schema"] == "robocall-bench/metrics" and m["schema_version"] == 1
    for k in KEYS:
        lo, hi = m[k]["ci"]
        assert lo <= m[k]["value"] <= hi, k
    # the numbers are the core metrics of the aligned scores
    proto = read_protocol(root).select("eval")
    sc = dict(line.split("\t") for line in (out.parent / "eval.tsv").read_text().splitlines()[1:])
    s = np.array([float(sc[u]) for u in proto.cols["utt_id"]])
    ref = compute_metrics(s, proto.is_robocall)
    for k in KEYS:
        assert m[k]["value"] == pytest.approx(ref[k], abs=1e-12)


def test_provenance(run) -> None:
    root, out, m = run
    p = m["provenance"]
    assert p["protocol_sha256"] == sha256_file(root / "protocol.tsv") == p["manifest_protocol_sha256"]
    assert p["scores_sha256"] == sha256_file(out.parent / "eval.tsv")
    assert p["corpus"] == {"name": "robocall-bench", "version": "0.1.0"}
    assert p["package_version"] and "git_sha" in p
    assert set(p["early_scores"]) == {"1", "3"}


def test_breakdowns_worst_and_thresholds(run) -> None:
    _, _, m = run
    b = m["breakdowns"]
    assert {r["value"] for r in b["track"]} == {"eval", "unseen-systems", "unseen-channel"}
    systems = {r["value"]: r for r in b["system"]}
    assert systems["espeak-cmn-f2"]["pairing"] == "robocall-vs-all-human"
    assert systems["espeak-cmn-f2"]["n_human"] == m["pooled"]["n_human"]
    assert "human" not in systems  # would be the pooled condition again
    assert {r["value"] for r in b["codec"]} == {"pcmu", "pcma", "opus"}
    assert {r["value"] for r in b["snr_bucket"]} <= {"clean", "<0dB", "0-10dB", "10-20dB", ">=20dB"}
    assert "clean" in {r["value"] for r in b["snr_bucket"]}
    w = m["worst_condition"]
    eligible = [
        r["eer"]["value"] for rows in b.values() for r in rows if min(r["n_robocall"], r["n_human"]) >= 5
    ]
    assert w["value"] == max(eligible)
    assert m["thresholds"]["fixed"]["source"] == "dev_eer"
    assert m["pooled"]["at_fixed_threshold"]["f1"]["ci"] is not None


def test_early_detection(run) -> None:
    _, out, m = run
    ed = m["early_detection"]
    assert [e["seconds"] for e in ed] == [1.0, 3.0]
    assert ed[0]["eer"]["value"] > m["eer"]["value"]  # less separated scores
    assert (out / "early.png").stat().st_size > 1000
    assert "Early detection" in (out / "report.md").read_text()


def test_reports(run) -> None:
    _, out, _ = run
    md = (out / "report.md").read_text()
    assert "![DET curve](det.png)" in md and "| EER |" in md
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 4 and "<?xml" not in html
    for f in ("det.png", "roc.png", "hist.png"):
        assert (out / f).read_bytes()[:4] == b"\x89PNG"


def test_errors_exit_2_with_message(tmp_path: Path, capsys) -> None:
    root = make_corpus(tmp_path / "c")
    dev = write_scores(tmp_path / "dev.tsv", root, split="dev")
    rc = main(["eval", f"scores={dev}", f"protocol={root}", f"out={tmp_path / 'o'}", "bootstrap.n=0"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "wrong split" in err and "missing" in err
    assert main(["eval", f"scores={dev}"]) == 2
    assert "missing required argument(s): out=..., protocol=..." in capsys.readouterr().err
    assert main(["eval", "scores"]) == 2
    assert main(["eval", f"scores={dev}", f"protocol={root}", f"out={tmp_path}", "nosuchkey=1"]) == 2


def test_one_class_track_and_all_equal_scores(tmp_path: Path, capsys) -> None:
    root = make_corpus(tmp_path / "c")
    p = root / "protocol.tsv"
    lines = p.read_text().splitlines()
    # make the unseen-channel track robocall-only by dropping its human rows
    keep = [ln for ln in lines if not ("\tunseen-channel\t" in ln and "\thuman\t" in ln)]
    p.write_text("\n".join(keep) + "\n")
    s = write_scores(tmp_path / "uc.tsv", root, track="unseen-channel")
    rc = main(["eval", f"scores={s}", f"protocol={p}", "track=unseen-channel", f"out={tmp_path / 'o'}"])
    assert rc == 2 and "holds only robocall rows" in capsys.readouterr().err
    # all-equal scores: documented values, not an error
    s = write_scores(tmp_path / "flat.tsv", root, separation=0.0)
    s.write_text("\n".join(ln.split("\t")[0] + "\t0.25" for ln in s.read_text().splitlines()[1:]) + "\n")
    out = tmp_path / "flat"
    assert (
        main(["eval", f"scores={s}", f"protocol={p}", f"out={out}", "bootstrap.n=20", "figures=false"]) == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert (m["eer"]["value"], m["min_dcf"]["value"], m["auc"]["value"]) == (0.5, 1.0, 0.5)
    assert m["eer"]["ci"] == [0.5, 0.5]
    assert not (out / "det.png").exists()
