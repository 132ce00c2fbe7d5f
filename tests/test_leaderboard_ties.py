"""Tied ranks: an entry shares the rank of its group's best entry when their paired-bootstrap EER
difference is within the noise; in leaderboard.json, the README (=N), the CSV and the page."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from robocall_bench.cli import main
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.evaluation.core import CostModel
from robocall_bench.evaluation.paired import paired_bootstrap
from robocall_bench.leaderboard.ranking import tied_ranks
from test_eval_fixtures import make_leaderboard

BOOT = BootstrapConfig(n=200, seed=4)  # seed 0 of the block engine puts the a-c CI end exactly on 0


def chain():
    """Systems a > b > c: b ties a, c ties b but is clearly worse than a (common per-trial noise)."""
    y = np.repeat([True, False], 200)
    clusters = np.where(y, "r" + (np.arange(400) % 10).astype(str), "h" + (np.arange(400) % 20).astype(str))
    z = np.random.default_rng(0).normal(size=400)

    def system(sep: float, seed: int) -> np.ndarray:
        return sep * y + z + 0.3 * np.random.default_rng(seed).normal(size=400)

    return {"a": system(3.0, 1), "b": system(2.8, 2), "c": system(2.55, 3)}, y, clusters


def test_ties_are_decided_against_the_group_leader() -> None:
    s, y, c = chain()
    pair = {
        k: paired_bootstrap(s[k[0]], s[k[1]], y, c, BOOT, metrics=("eer",))["eer"] for k in ("ab", "bc", "ac")
    }
    assert pair["ab"].verdict == "tie" and pair["bc"].verdict == "tie" and pair["ac"].verdict == "a better"
    r = tied_ranks(["a", "b", "c"], s, y, c, BOOT, CostModel())
    assert (r["a"].rank, r["a"].tied_with, r["a"].test) == (1, ("b",), None)
    assert (r["b"].rank, r["b"].tied_with, r["b"].vs) == (1, ("a",), "a")
    assert r["b"].test == pair["ab"]
    # c ties b, its neighbour above, but not a, the best of the group: it leads rank 2 (dense)
    assert (r["c"].rank, r["c"].tied_with, r["c"].vs) == (2, (), "a") and r["c"].test == pair["ac"]
    assert r["c"].to_json()["tie_test"]["tie"] is False
    # without replicates nothing ties
    plain = tied_ranks(["a", "b", "c"], s, y, c, BootstrapConfig(n=0), CostModel())
    assert [plain[k].rank for k in "abc"] == [1, 2, 3] and not any(plain[k].tied_with for k in "abc")


def test_identical_systems_tie() -> None:
    s, y, c = chain()
    r = tied_ranks(["a", "a2"], {"a": s["a"], "a2": s["a"].copy()}, y, c, BOOT, CostModel())
    assert r["a"].rank == r["a2"].rank == 1 and r["a2"].test.ci == (0.0, 0.0)


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    """The two example entries (close on this tiny corpus) plus one that inverts the labels."""
    _, lb = make_leaderboard(tmp_path_factory.mktemp("ties"))
    src, dst = lb / "entries" / "pitch-variance", lb / "entries" / "inverted"
    shutil.copytree(src, dst)
    d = yaml.safe_load((dst / "entry.yaml").read_text())
    d.update(entry_id="inverted", reported=None)
    (dst / "entry.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    proto = (lb / "protocols" / "robocall-bench-0.1.0" / "protocol.tsv").read_text().splitlines()[1:]
    label = {r.split("\t")[0]: r.split("\t")[2] for r in proto}
    for f in (dst / "scores").iterdir():
        head, *rows = f.read_text().splitlines()
        ids = [r.split("\t")[0] for r in rows]
        f.write_text("\n".join([head, *(f"{u}\t{-float(label[u] == 'robocall')!r}" for u in ids)]) + "\n")
    assert main(["leaderboard", "build", f"root={lb}", "bootstrap.n=200"]) == 0
    return lb


def test_build_records_ties_everywhere(board: Path) -> None:
    data = json.loads((board / "leaderboard.json").read_text())
    assert data["schema_version"] == 3 and "paired cluster-bootstrap" in data["ranking"]
    ents = {e["entry_id"]: e for e in data["entries"]}
    ev = {k: e["tracks"]["eval"] for k, e in ents.items()}
    # the two heuristics are within the noise of each other on 12 + 12 calls; the inverted one is not
    best = min(("pitch-variance", "spectral-flatness"), key=lambda k: ev[k]["eer"]["value"])
    other = ({"pitch-variance", "spectral-flatness"} - {best}).pop()
    assert (ev[best]["rank"], ev[best]["tied_with"], ev[best]["tie_test"]) == (1, [other], None)
    t = ev[other]["tie_test"]
    assert ev[other]["rank"] == 1 and t["vs"] == best and t["tie"] and t["ci"][0] <= 0 <= t["ci"][1]
    inv = ev["inverted"]
    assert inv["eer"]["value"] == 1.0 and inv["rank"] == 2 and inv["tied_with"] == []
    assert inv["tie_test"]["vs"] == best and not inv["tie_test"]["tie"] and inv["tie_test"]["ci"][1] < 0
    assert [ents[k]["rank"] for k in (best, other, "inverted")] == [1, 1, 2]
    assert ents[other]["tied_with"] == [best]

    readme = (board / "README.md").read_text()
    main_table = readme[
        readme.index("#### Track `eval` (main)") : readme.index("#### Track `unseen-systems`")
    ]
    rows = {
        ln.split(" | ")[1].strip("`"): ln.split(" | ")[0]
        for ln in main_table.splitlines()
        if ln.startswith("| ")
    }
    assert rows[best] == rows[other] == "| =1" and rows["inverted"] == "| 2"

    csv_rows = list(csv.DictReader(io.StringIO((board / "leaderboard.csv").read_text())))
    ev_rows = {r["entry_id"]: r for r in csv_rows if r["track"] == "eval"}
    assert (ev_rows[other]["track_rank"], ev_rows[other]["track_tied_with"]) == ("1", best)
    assert (ev_rows["inverted"]["track_rank"], ev_rows["inverted"]["track_tied_with"]) == ("2", "")

    html = (board / "site" / "index.html").read_text()
    assert "<td>=1</td>" in html and "<td>2</td>" in html  # the no-script table
    assert 'tied: m.tied === true' in html  # the page's table reads the build's per-track tie flag


def test_rebuild_is_identical(board: Path) -> None:
    assert main(["leaderboard", "build", f"root={board}", "bootstrap.n=200", "check=true"]) == 0
