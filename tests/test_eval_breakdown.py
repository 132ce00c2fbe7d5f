"""`rcb eval` on a protocol with only the documented columns: default breakdowns it cannot make are
skipped with a note (printed, in metrics.json and the report); an explicitly asked one is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robocall_bench.cli import main
from robocall_bench.errors import RcbError
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.evaluation.run import EvalSpec, evaluate
from test_eval_fixtures import make_corpus, write_scores

DOCUMENTED = [
    "utt_id",
    "path",
    "label",
    "split",
    "track",
    "system",
    "speaker",
    "language",
    "text_id",
    "channel",
    "duration",
]


@pytest.fixture(scope="module")
def minimal(tmp_path_factory) -> tuple[Path, Path]:
    """A corpus whose protocol keeps only the documented columns (no family, codec, snr_db, source)."""
    d = tmp_path_factory.mktemp("minimal")
    root = make_corpus(d / "c")
    p = root / "protocol.tsv"
    rows = [ln.split("\t") for ln in p.read_text().splitlines()]
    keep = [rows[0].index(c) for c in DOCUMENTED]
    p.write_text("".join("\t".join(r[i] for i in keep) + "\n" for r in rows))
    (root / "manifest.json").unlink()  # its protocol hash no longer matches
    return root, write_scores(d / "eval.tsv", root)


def test_defaults_skip_missing_columns_with_a_note(minimal, tmp_path: Path, capsys) -> None:
    root, scores = minimal
    out = tmp_path / "out"
    argv = ["eval", f"scores={scores}", f"protocol={root}", f"out={out}", "bootstrap.n=0", "figures=false"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "note: breakdown by codec skipped: the protocol has no codec column" in err
    assert "note: breakdown by snr_bucket skipped: the protocol has no snr_db column" in err
    m = json.loads((out / "metrics.json").read_text())
    assert [s["column"] for s in m["breakdowns_skipped"]] == ["codec", "snr_bucket"]
    assert list(m["breakdowns"]) == ["track", "system", "language", "duration_bucket"]
    assert m["config"]["breakdown"] == ["track", "system", "language", "duration_bucket"]
    assert "Breakdown by codec skipped" in (out / "report.md").read_text()


def test_full_protocol_skips_nothing(tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "c")
    spec = EvalSpec(
        protocol=root, scores=write_scores(tmp_path / "s.tsv", root), bootstrap=BootstrapConfig(n=0)
    )
    res = evaluate(spec)
    assert res.metrics["breakdowns_skipped"] == []
    assert set(res.metrics["breakdowns"]) == {
        "track",
        "system",
        "language",
        "codec",
        "snr_bucket",
        "duration_bucket",
    }


def test_an_explicit_missing_column_is_an_error_listing_the_available(
    minimal, tmp_path: Path, capsys
) -> None:
    root, scores = minimal
    spec = EvalSpec(protocol=root, scores=scores, breakdown=["track", "codec"])
    with pytest.raises(
        RcbError, match=r"breakdown column\(s\) 'codec' not in .*choose from utt_id, .*duration_bucket"
    ):
        evaluate(spec)
    with pytest.raises(RcbError, match=r"'snr_bucket' not in") as e:
        evaluate(EvalSpec(protocol=root, scores=scores, breakdown=["snr_bucket"]))
    assert "snr_bucket (" not in str(e.value).split("choose from")[1]  # not offered: no snr_db column
    out = tmp_path / "out"
    argv = ["eval", f"scores={scores}", f"protocol={root}", f"out={out}", "breakdown=[track,codec]"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "'codec' not in" in err and "Traceback" not in err and not out.exists()
