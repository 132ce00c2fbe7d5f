"""`rcb leaderboard build` (ranking, outputs, staleness check) and `rcb leaderboard reproduce`."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from robocall_bench.cli import main
from robocall_bench.contract import track_selection
from robocall_bench.errors import RcbError
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.evaluation.run import EvalSpec, evaluate
from robocall_bench.leaderboard.build import build, render_all
from robocall_bench.leaderboard.reproduce import ReproduceOptions, reproduce
from robocall_bench.leaderboard.validate import LeaderboardConfig
from test_eval_fixtures import make_leaderboard

BOOT = ["bootstrap.n=50"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    corpus, lb = make_leaderboard(tmp_path_factory.mktemp("lbb"))
    assert main(["leaderboard", "build", f"root={lb}", *BOOT]) == 0
    return corpus, lb


@pytest.fixture
def lb(built, tmp_path) -> Path:
    root = tmp_path / "lb"
    shutil.copytree(built[1], root)
    return root


def cfg(root: Path) -> LeaderboardConfig:
    return LeaderboardConfig(root=root, bootstrap=BootstrapConfig(n=50))


def test_outputs_rank_and_content(built) -> None:
    _, lb = built
    data = json.loads((lb / "leaderboard.json").read_text())
    assert data["schema"] == "robocall-bench/leaderboard" and data["schema_version"] == 3
    [corpus] = data["corpora"]
    assert (corpus["name"], corpus["version"], corpus["kind"]) == ("robocall-bench", "0.1.0", "example")
    assert corpus["tracks"] == ["eval", "unseen-systems", "unseen-channel", "early-2s"]
    ents = data["entries"]
    assert [e["entry_id"] for e in ents] != [] and len(ents) == 2
    key = [(e["tracks"]["eval"]["eer"]["value"], e["tracks"]["eval"]["min_dcf"]["value"]) for e in ents]
    assert key == sorted(key) and ents[0]["rank"] == 1
    assert ents[1]["rank"] == (1 if ents[1]["tied_with"] == [ents[0]["entry_id"]] else 2)  # see test_leaderboard_ties
    for e in ents:
        for t in corpus["tracks"]:
            m = e["tracks"][t]
            for k in ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "auc"):
                lo, hi = m[k]["ci"]
                assert lo <= m[k]["value"] <= hi
    assert {d["entry_id"] for d in corpus["det"]["eval"]} == {"pitch-variance", "spectral-flatness"}
    rows = list(csv.DictReader(io.StringIO((lb / "leaderboard.csv").read_text())))
    assert len(rows) == 8 and {r["track"] for r in rows} == set(corpus["tracks"])
    assert {r["corpus"] for r in rows} == {"robocall-bench"}
    readme = (lb / "README.md").read_text()
    assert (
        "#### Track `eval` (main)" in readme
        and "`pitch-variance`" in readme
        and "`spectral-flatness`" in readme
    )
    html = (lb / "site" / "index.html").read_text()
    assert 'id="lb-data"' in html
    # nothing the page would fetch: no src/href attribute but the empty data: icon, no CSS url(),
    # no script loading
    assert re.findall(r"\b(?:src|href)\s*=\s*[\"']([^\"']*)", html) == ["data:,"]
    for loader in ("url(", "@import", "fetch(", "XMLHttpRequest", "import(", '<link rel="stylesheet'):
        assert loader not in html, loader


def test_check_passes_then_detects_stale_outputs(lb: Path, capsys) -> None:
    assert main(["leaderboard", "build", f"root={lb}", "check=true", *BOOT]) == 0
    f = lb / "entries" / "spectral-flatness" / "scores" / "eval.tsv"
    lines = f.read_text().splitlines()
    uid, v = lines[1].split("\t")
    lines[1] = f"{uid}\t{float(v) + 100.0!r}"
    f.write_text("\n".join(lines) + "\n")
    edit = yaml.safe_load((f.parents[1] / "entry.yaml").read_text())
    edit["reported"] = None
    (f.parents[1] / "entry.yaml").write_text(yaml.safe_dump(edit))
    assert main(["leaderboard", "build", f"root={lb}", "check=true", *BOOT]) == 2
    assert "leaderboard outputs are stale" in capsys.readouterr().err
    with pytest.raises(RcbError, match=r"leaderboard.json \(differs\)"):
        build(cfg(lb), check=True)
    (lb / "README.md").unlink()
    with pytest.raises(RcbError, match=r"README.md \(missing\)"):
        build(cfg(lb), check=True)


def test_condition_eers_match_rcb_eval(built) -> None:
    """The drill-down's per-condition EERs are rcb eval's breakdowns (same conditions, pairings, EERs)."""
    _, lb = built
    data = json.loads((lb / "leaderboard.json").read_text())
    proto = lb / "protocols" / "robocall-bench-0.1.0" / "protocol.tsv"
    for e in data["entries"]:
        for track in ("eval", "unseen-systems", "unseen-channel", "early-2s"):
            spec = EvalSpec(
                protocol=proto,
                scores=lb / "entries" / e["entry_id"] / "scores" / f"{track}.tsv",
                track=track_selection(track)[1],
                bootstrap=BootstrapConfig(n=0),
            )
            want = {
                col: {(b["value"], b["pairing"], round(b["eer"]["value"], 6), b["n_robocall"], b["n_human"])
                      for b in rows}
                for col, rows in evaluate(spec).metrics["breakdowns"].items()
                if col != "track"  # one value per leaderboard track
            }  # fmt: skip
            got = e["tracks"][track]["conditions"]
            assert {c: {tuple(r.values()) for r in rows} for c, rows in got.items()} == want, track
    conds = data["entries"][0]["tracks"]["eval"]["conditions"]
    assert set(conds) == {"system", "codec", "snr_bucket", "language", "duration_bucket"}  # no role column
    snr = [r["value"] for r in conds["snr_bucket"]]
    assert snr == sorted(snr, key=["<0dB", "0-10dB", "10-20dB", ">=20dB", "clean"].index)


def test_build_is_deterministic(lb: Path) -> None:
    assert render_all(cfg(lb)) == render_all(cfg(lb))


def test_build_refuses_bad_and_duplicate_entries(lb: Path) -> None:
    shutil.copytree(lb / "entries" / "pitch-variance", lb / "entries" / "pitch-variance-2")
    with pytest.raises(RcbError) as e:
        build(cfg(lb))
    msg = str(e.value)
    assert "duplicate entry_id 'pitch-variance' in pitch-variance and pitch-variance-2" in msg
    assert "pitch-variance-2: entry_id 'pitch-variance' differs" in msg


def _same_metrics_other_scores(src: Path, dst: Path, shift: int) -> None:
    """``dst``: a copy of entry ``src`` whose scores are rotated within each class (every metric the
    same, the score vectors not: not a copy)."""
    shutil.copytree(src, dst)
    d = yaml.safe_load((dst / "entry.yaml").read_text())
    d["entry_id"] = dst.name
    (dst / "entry.yaml").write_text(yaml.safe_dump(d))
    proto = {r.split("\t")[0]: r.split("\t")[2] for r in (src.parents[1] / "protocols" / "robocall-bench-0.1.0"
             / "protocol.tsv").read_text().splitlines()[1:]}  # fmt: skip
    for f in (dst / "scores").iterdir():
        head, *rows = f.read_text().splitlines()
        for label in ("human", "robocall"):
            idx = [i for i, r in enumerate(rows) if proto[r.split("\t")[0]] == label]
            vals = [rows[i].split("\t")[1] for i in idx]
            vals = vals[shift % len(vals) :] + vals[: shift % len(vals)]
            for i, v in zip(idx, vals, strict=True):
                rows[i] = rows[i].split("\t")[0] + "\t" + v
        f.write_text("\n".join([head, *rows]) + "\n")


def test_tie_on_eer_broken_by_min_dcf_then_id(lb: Path) -> None:
    src = lb / "entries" / "pitch-variance"
    for shift, name in ((1, "aaa-other"), (2, "zzz-other")):
        _same_metrics_other_scores(src, lb / "entries" / name, shift)
    data = json.loads(render_all(cfg(lb))["leaderboard.json"])
    ids = [e["entry_id"] for e in data["entries"]]
    first = ids.index("aaa-other")
    assert ids[first : first + 3] == ["aaa-other", "pitch-variance", "zzz-other"]


def test_empty_leaderboard(tmp_path: Path) -> None:
    out = render_all(cfg(tmp_path / "lb"))
    assert b"No entries yet." in out["README.md"]
    assert json.loads(out["leaderboard.json"])["entries"] == []
    assert json.loads(out["leaderboard.json"])["corpora"] == []


def test_reproduce(built, lb: Path, capsys) -> None:
    corpus, _ = built
    c = replace(cfg(lb), bootstrap=BootstrapConfig(n=0))
    lines = reproduce(lb / "entries" / "spectral-flatness", corpus, c, ReproduceOptions(confirm=True))
    assert len(lines) == 5 and all(line.endswith("(OK)") for line in lines[:4])
    assert "recorded in" in lines[4]
    # a tampered score no longer reproduces
    f = lb / "entries" / "pitch-variance" / "scores" / "early-2s.tsv"
    lines = f.read_text().splitlines()
    uid, v = lines[2].split("\t")
    lines[2] = f"{uid}\t{float(v) + 0.5!r}"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(RcbError, match=r"does not reproduce:\n  - early-2s: max \|difference\| 0.5"):
        reproduce(lb / "entries" / "pitch-variance", corpus, c, ReproduceOptions(confirm=True))
    # no recipe: a clear message
    e = lb / "entries" / "spectral-flatness"
    d = yaml.safe_load((e / "entry.yaml").read_text())
    d.pop("reproduce")
    (e / "entry.yaml").write_text(yaml.safe_dump(d))
    assert main(["leaderboard", "reproduce", f"root={lb}", f"entry={e}", f"corpus={corpus}"]) == 2
    assert "has no reproducible recipe" in capsys.readouterr().err
