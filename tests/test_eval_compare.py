"""`rcb eval compare`: two score files on the same protocol rows, table + JSON, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.cli import main
from robocall_bench.contract import read_protocol
from robocall_bench.evaluation.core import compute_metrics
from test_eval_fixtures import make_corpus, write_scores


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("cmp")
    root = make_corpus(d / "c", n_per_split={"train": 10, "dev": 10, "eval": 120})
    good = write_scores(d / "good.tsv", root, seed=1, separation=5.0)
    bad = write_scores(d / "bad.tsv", root, seed=2, separation=0.2)
    return root, good, bad


def run(args: list[str]) -> int:
    return main(["eval", "compare", *args, "n_boot=200"])


def stderr(capsys) -> str:
    """The error text with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


def test_compare_two_files_table_and_json(files, tmp_path, capsys) -> None:
    root, good, bad = files
    out = tmp_path / "cmp.json"
    assert run([f"scores=[{good},{bad}]", f"protocol={root}", f"out={out}"]) == 0
    text = capsys.readouterr().out
    assert "a better" in text and "min_dcf" in text and f"wrote {out}" in text
    r = json.loads(out.read_text())
    assert r["schema"] == "robocall-bench/compare" and r["config"]["bootstrap"]["n"] == 200
    sel = read_protocol(root).select("eval")
    assert r["selection"]["n_robocall"] + r["selection"]["n_human"] == len(sel)
    eer = r["metrics"]["eer"]
    assert eer["verdict"] == "a better" and eer["diff"] < 0 and eer["ci"][1] < 0

    # the point values are the core metrics of the aligned scores
    def aligned(p: Path) -> np.ndarray:
        sc = dict(line.split("\t") for line in p.read_text().splitlines()[1:])
        return np.array([float(sc[u]) for u in sel.cols["utt_id"]])

    assert eer["a"] == compute_metrics(aligned(good), sel.is_robocall)["eer"]
    assert eer["b"] == compute_metrics(aligned(bad), sel.is_robocall)["eer"]
    # deterministic for the seed: a rerun writes the same bytes
    again = tmp_path / "again.json"
    assert run([f"scores=[{good},{bad}]", f"protocol={root}", f"out={again}"]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_a_file_against_itself_ties(files, capsys) -> None:
    root, good, _ = files
    assert run([f"scores=[{good},{good}]", f"protocol={root}"]) == 0
    out = capsys.readouterr().out
    assert "tie" in out and "a better" not in out and "b better" not in out


def test_needs_exactly_two_files(files, capsys) -> None:
    root, good, bad = files
    assert run([f"scores=[{good},{bad},{good}]", f"protocol={root}"]) == 2
    assert "scores= has 3 file(s); give exactly two" in stderr(capsys)
    assert run([f"scores={good}", f"protocol={root}"]) == 2
    assert "scores= has 1 file(s)" in stderr(capsys)


def test_files_must_score_the_same_rows(files, tmp_path, capsys) -> None:
    root, good, bad = files
    short = tmp_path / "short.tsv"
    short.write_text("\n".join(bad.read_text().splitlines()[:-1]) + "\n")
    assert run([f"scores=[{good},{short}]", f"protocol={root}"]) == 2
    err = stderr(capsys)
    assert "short.tsv" in err and "missing" in err
    # one track's rows only: the other tracks' ids are extra rows, refused
    assert run([f"scores=[{good},{bad}]", f"protocol={root}", "track=eval"]) == 2
    assert "not in split=eval track=eval" in stderr(capsys)


def test_out_must_be_a_file(files, tmp_path, capsys) -> None:
    root, good, bad = files
    assert run([f"scores=[{good},{bad}]", f"protocol={root}", f"out={tmp_path}"]) == 2
    assert "is a folder; give a file name" in stderr(capsys)
