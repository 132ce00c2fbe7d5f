"""The campaign track in `rcb eval`: per-call metrics, the role split (each robocall role against the
live calls of its track) and clustering quality (B-cubed, ARI) of a cluster file, plus bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.cli import main
from robocall_bench.contract import NO_CAMPAIGN, read_protocol, write_protocol, write_scores
from robocall_bench.contract.clusters import write_clusters
from robocall_bench.errors import RcbError
from robocall_bench.evaluation.bootstrap import BootstrapConfig
from robocall_bench.evaluation.clustering import (
    adjusted_rand,
    bcubed,
    campaign_clustering,
    truth_clusters,
)
from robocall_bench.evaluation.core import compute_metrics
from robocall_bench.evaluation.run import EvalSpec, evaluate

# (campaign, role, calls) of the campaign track; as many live calls as campaign calls.
CAMPAIGNS = [("camp-a", "recorded", 6), ("camp-b", "tts", 5), ("camp-c", "recorded", 3), ("camp-d", "tts", 2)]
N_PER_CALL = 12  # per-call eval track: 6 solo-campaign tts robocalls, 6 live calls


def _row(uid: str, split: str, track: str, role: str, campaign: str, speaker: str) -> dict[str, str]:
    live = role == "live"
    return {
        "utt_id": uid,
        "label": "human" if live else "robocall",
        "split": split,
        "track": track,
        "system": "human" if live else f"sys-{role}",
        "speaker": speaker,
        "language": "en",
        "call_id": "call_" + uid,
        "campaign": NO_CAMPAIGN if live else campaign,
        "message": NO_CAMPAIGN if live else "msg-" + campaign,
        "role": role,
    }


def campaign_rows() -> list[dict[str, str]]:
    """A dev split, a per-call eval track and a campaign track (4 campaigns + as many live calls)."""
    rows, k = [], 0
    for split, track, n in (("dev", "dev", 8), ("eval", "eval", N_PER_CALL)):
        for i in range(n):
            role = "tts" if i % 2 == 0 else "live"
            rows.append(_row(f"u{k:03d}", split, track, role, f"solo-{k}", f"spk{i % 4}"))
            k += 1
    for camp, role, n in CAMPAIGNS:
        for _ in range(n):
            rows.append(_row(f"u{k:03d}", "eval", "campaign", role, camp, "voice-" + camp))
            k += 1
            rows.append(_row(f"u{k:03d}", "eval", "campaign", "live", "", f"spk{k % 5}"))
            k += 1
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(protocol.tsv, folder with scores.tsv of every eval row and campaign.tsv of the campaign track):
    recorded campaigns are harder than TTS ones."""
    d = tmp_path_factory.mktemp("campaign")
    proto_path = d / "protocol.tsv"
    rows = campaign_rows()
    write_protocol(proto_path, rows, list(rows[0]))  # the columns the rows have
    proto = read_protocol(proto_path)
    ev = proto.select("eval")
    rng = np.random.default_rng(0)
    shift = {"live": 0.0, "tts": 2.0, "recorded": 0.7}
    s = rng.normal(size=len(ev)) + np.array([shift[r] for r in ev.cols["role"].tolist()])
    write_scores(d / "scores.tsv", ev.cols["utt_id"], s)
    camp = ev.cols["track"] == "campaign"
    write_scores(d / "campaign.tsv", ev.cols["utt_id"][camp], s[camp])
    return proto_path, d


def _scores_of(path: Path, ids: np.ndarray) -> np.ndarray:
    sc = dict(line.split("\t") for line in path.read_text().splitlines()[1:])
    return np.array([float(sc[u]) for u in ids.tolist()])


# ---- clustering metrics -------------------------------------------------------------------------


def brute_bcubed(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The O(n^2) definition: per item, the share of its predicted/true cluster it shares both with."""
    n = len(pred)
    prec = rec = 0.0
    for i in range(n):
        same_p = [j for j in range(n) if pred[j] == pred[i]]
        same_t = [j for j in range(n) if truth[j] == truth[i]]
        both = sum(1 for j in same_p if truth[j] == truth[i])
        prec += both / len(same_p)
        rec += both / len(same_t)
    return prec / n, rec / n


def test_bcubed_and_ari_on_a_hand_computed_example() -> None:
    # pred x={0,1}, y={2,3,4}, z={5,6}; truth a={0..3}, b={4,5}, c={6}
    truth = np.array(list("aaaabbc"))
    pred = np.array(list("xxyyyzz"))
    b = bcubed(pred, truth)
    # precision: 1+1 + 2/3+2/3 + 1/3 + 1/2 + 1/2 = 14/3 over 7; recall: 1/2*4 + 1/2 + 1/2 + 1 = 4 over 7
    assert b["bcubed_precision"] == pytest.approx(2 / 3)
    assert b["bcubed_recall"] == pytest.approx(4 / 7)
    assert b["bcubed_f1"] == pytest.approx(8 / 13)
    # pair counts: sum C(n_ij,2) = 2, pred 5, truth 7, C(7,2) = 21: (2 - 5/3) / (6 - 5/3) = 1/13
    assert adjusted_rand(pred, truth) == pytest.approx(1 / 13)


def test_bcubed_textbook_properties() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    singletons = bcubed(np.arange(truth.size), truth)
    assert singletons["bcubed_precision"] == 1.0
    # recall of singletons: each item recalls 1/|its true cluster|, i.e. (#clusters) / n
    assert singletons["bcubed_recall"] == pytest.approx(4 / truth.size)
    one = bcubed(np.zeros(truth.size, dtype=int), truth)
    assert one["bcubed_recall"] == 1.0
    assert one["bcubed_precision"] == pytest.approx(np.sum(np.bincount(truth) ** 2) / truth.size**2)
    perfect = bcubed(np.array(list("qqqrrstttt")), truth)  # same partition, other names
    assert perfect == {"bcubed_precision": 1.0, "bcubed_recall": 1.0, "bcubed_f1": 1.0}
    assert adjusted_rand(np.array(list("qqqrrstttt")), truth) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one"):
        bcubed(np.array([]), np.array([]))


@pytest.mark.parametrize("seed", range(6))
def test_bcubed_matches_the_quadratic_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    pred = rng.integers(0, int(rng.integers(1, 8)), size=n)
    truth = np.array([f"t{v}" for v in rng.integers(0, int(rng.integers(1, 8)), size=n)])
    p, r = brute_bcubed(pred, truth)
    b = bcubed(pred, truth)
    assert b["bcubed_precision"] == pytest.approx(p, abs=1e-12)
    assert b["bcubed_recall"] == pytest.approx(r, abs=1e-12)
    assert b["bcubed_f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-12)
    # swapping the roles of prediction and truth swaps precision and recall
    swapped = bcubed(truth, pred)
    assert swapped["bcubed_precision"] == pytest.approx(r, abs=1e-12)


def test_live_calls_are_singleton_truths() -> None:
    campaign = np.array(["c1", "-", "c1", "-", "c2"])
    t = truth_clusters(campaign)
    assert t[0] == t[2] and len(set(t.tolist())) == 4
    robo = campaign != "-"
    # a system that puts both live calls in one cluster is penalised on all calls, not on campaign calls
    pred = np.array(["k1", "k9", "k1", "k9", "k2"])
    q = campaign_clustering(pred, campaign, robo)
    assert q["all"]["bcubed_precision"] == pytest.approx((1 + 0.5 + 1 + 0.5 + 1) / 5)
    assert q["all"]["bcubed_recall"] == 1.0
    assert q["campaign_calls"]["bcubed_f1"] == 1.0 and q["campaign_calls"]["ari"] == pytest.approx(1.0)
    assert q["all"]["n_true_clusters"] == 4 and q["all"]["n_pred_clusters"] == 3
    assert campaign_clustering(pred[~robo], campaign[~robo], robo[~robo])["campaign_calls"] is None


# ---- role split ---------------------------------------------------------------------------------


def test_campaign_track_metrics_and_role_split(corpus) -> None:
    proto_path, d = corpus
    scores = d / "campaign.tsv"
    spec = EvalSpec(protocol=proto_path, scores=scores, track="campaign", bootstrap=BootstrapConfig(n=30))
    m = evaluate(spec).metrics
    sel = read_protocol(proto_path).select("eval", "campaign")
    s = _scores_of(scores, sel.cols["utt_id"])
    ref = compute_metrics(s, sel.is_robocall)
    assert m["eer"]["value"] == pytest.approx(ref["eer"], abs=1e-12)
    assert m["pooled"]["n_robocall"] == 16 and m["pooled"]["n_human"] == 16
    roles = {c["value"]: c for c in m["breakdowns"]["role"]}
    assert list(roles) == ["tts", "recorded"]
    live = sel.cols["role"] == "live"
    for role, c in roles.items():
        mask = live | (sel.cols["role"] == role)
        want = compute_metrics(s[mask], sel.is_robocall[mask])
        assert c["pairing"] == "role-vs-live"
        assert c["n_human"] == 16 and c["n_robocall"] == int((sel.cols["role"] == role).sum())
        assert c["eer"]["value"] == pytest.approx(want["eer"], abs=1e-12)
        assert c["min_dcf"]["value"] == pytest.approx(want["min_dcf"], abs=1e-12)
        lo, hi = c["eer"]["ci"]  # the breakdowns' bootstrap
        assert lo <= c["eer"]["value"] <= hi
    assert roles["recorded"]["eer"]["value"] > roles["tts"]["eer"]["value"]  # the scores make it harder
    assert m["clustering"] is None and m["provenance"]["clusters"] is None


def test_role_split_pairs_within_each_track(corpus) -> None:
    proto_path, d = corpus
    scores = d / "scores.tsv"
    m = evaluate(EvalSpec(protocol=proto_path, scores=scores, bootstrap=BootstrapConfig(n=0))).metrics
    roles = {c["value"]: c for c in m["breakdowns"]["role"]}
    assert list(roles) == ["eval:tts", "campaign:tts", "campaign:recorded"]
    assert roles["eval:tts"]["n_human"] == N_PER_CALL // 2  # live calls of the eval track only
    assert roles["campaign:recorded"]["n_human"] == 16 and roles["campaign:recorded"]["n_robocall"] == 9
    assert "campaign" in {c["value"] for c in m["breakdowns"]["track"]}  # a track like any other
    assert "role" in m["config"]["breakdown"]


# ---- clustering end to end ----------------------------------------------------------------------


def _write_cluster_file(path: Path, sel, merge_live: bool = False) -> Path:
    """Perfect campaigns except camp-c split in two; live calls singletons (or, merged, one cluster)."""
    ids, camp = sel.cols["utt_id"], sel.cols["campaign"]
    seen: dict[str, int] = {}
    out = []
    for u, c in zip(ids.tolist(), camp.tolist(), strict=True):
        if c == NO_CAMPAIGN:
            out.append("live-all" if merge_live else f"single-{u}")
        else:
            seen[c] = seen.get(c, 0) + 1
            out.append(f"k-{c}" + ("-2" if c == "camp-c" and seen[c] > 1 else ""))
    return write_clusters(path, ids, out)


def test_rcb_eval_with_clusters_writes_every_key(corpus, tmp_path: Path, capsys) -> None:
    proto_path, d = corpus
    scores = d / "campaign.tsv"
    sel = read_protocol(proto_path).select("eval", "campaign")
    clusters = _write_cluster_file(tmp_path / "clusters.tsv", sel)
    out = tmp_path / "out"
    argv = ["eval", f"scores={scores}", f"protocol={proto_path}", "track=campaign", f"out={out}"]
    assert main([*argv, f"clusters={clusters}", "bootstrap.n=20", "figures=false"]) == 0
    console = capsys.readouterr().out
    assert "role recorded vs live: eer=" in console and "clusters (campaign calls, 16 calls)" in console
    m = json.loads((out / "metrics.json").read_text())
    cl = m["clustering"]
    assert cl["rows"] == "the evaluated rows"
    keys = {
        "bcubed_precision",
        "bcubed_recall",
        "bcubed_f1",
        "ari",
        "n_calls",
        "n_true_clusters",
        "n_pred_clusters",
    }
    assert set(cl["all"]) == keys and set(cl["campaign_calls"]) == keys
    cc = cl["campaign_calls"]
    assert cc["bcubed_precision"] == 1.0  # only a split, never a merge
    # camp-c (3 calls) split 1+2: its calls recall 1/3, 2/3, 2/3; the other 13 campaign calls recall 1
    assert cc["bcubed_recall"] == pytest.approx((13 + 1 / 3 + 4 / 3) / 16)
    assert cl["all"]["n_calls"] == 32 and cl["all"]["n_true_clusters"] == 4 + 16
    assert cl["all"]["bcubed_recall"] == pytest.approx((16 + 13 + 1 / 3 + 4 / 3) / 32)
    assert m["provenance"]["clusters"]["sha256"]
    report = (out / "report.md").read_text()
    assert "## By role" in report and "## Clustering" in report and "campaign calls only" in report


def test_merged_live_calls_cost_precision_on_all_calls_only(corpus, tmp_path: Path) -> None:
    proto_path, d = corpus
    scores = d / "scores.tsv"
    proto = read_protocol(proto_path)
    sel = proto.select("eval", "campaign")
    clusters = _write_cluster_file(tmp_path / "c.tsv", sel, merge_live=True)
    # split=eval holds every eval track: the cluster file covers the campaign track's calls
    spec = EvalSpec(protocol=proto_path, scores=scores, clusters=clusters, bootstrap=BootstrapConfig(n=0))
    cl = evaluate(spec).metrics["clustering"]
    assert cl["rows"] == "track=campaign"
    assert cl["all"]["bcubed_precision"] == pytest.approx((16 + 16 / 16) / 32)
    assert cl["campaign_calls"]["bcubed_precision"] == 1.0


# ---- bad input ----------------------------------------------------------------------------------


def test_clusters_without_a_campaign_column_is_refused_before_work(tmp_path: Path, capsys) -> None:
    rows = [{k: v for k, v in r.items() if k not in ("campaign", "message", "role")} for r in campaign_rows()]
    p = tmp_path / "old.tsv"
    write_protocol(p, rows, list(rows[0]))
    ev = read_protocol(p).select("eval")
    scores = write_scores(tmp_path / "s.tsv", ev.cols["utt_id"], np.zeros(len(ev)))
    clusters = write_clusters(tmp_path / "c.tsv", ev.cols["utt_id"], ["x"] * len(ev))
    with pytest.raises(RcbError, match="this protocol has no campaign column: build a corpus") as e:
        evaluate(EvalSpec(protocol=p, scores=scores, clusters=clusters))
    assert str(p) in str(e.value) and "drop clusters=" in str(e.value)
    out = tmp_path / "out"
    argv = ["eval", f"scores={scores}", f"protocol={p}", f"out={out}", f"clusters={clusters}"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no campaign column" in err and "Traceback" not in err and not out.exists()
    # without clusters= the old protocol evaluates, with no role split and no note about it
    m = evaluate(EvalSpec(protocol=p, scores=scores, bootstrap=BootstrapConfig(n=0))).metrics
    assert "role" not in m["breakdowns"] and all(s["column"] != "role" for s in m["breakdowns_skipped"])


def test_cluster_file_not_matching_the_track_names_file_and_ids(corpus, tmp_path: Path) -> None:
    proto_path, d = corpus
    scores = d / "campaign.tsv"
    sel = read_protocol(proto_path).select("eval", "campaign")
    ids = sel.cols["utt_id"]
    bad = write_clusters(tmp_path / "bad.tsv", [*ids[1:].tolist(), "nobody"], ["k"] * len(ids))
    spec = EvalSpec(protocol=proto_path, scores=scores, track="campaign", clusters=bad)
    with pytest.raises(RcbError) as e:
        evaluate(spec)
    msg = str(e.value)
    assert f"clusters={bad}" in msg and "'nobody'" in msg and ids[0] in msg and "utt_id<TAB>cluster" in msg
    missing = EvalSpec(protocol=proto_path, scores=scores, track="campaign", clusters=tmp_path / "none.tsv")
    with pytest.raises(RcbError, match="no such file"):
        evaluate(missing)


def test_unknown_role_is_refused_with_file_line_and_the_roles(tmp_path: Path) -> None:
    rows = campaign_rows()
    rows[3]["role"] = "robot"
    p = tmp_path / "protocol.tsv"
    write_protocol(p, rows, list(rows[0]))
    with pytest.raises(RcbError) as e:
        read_protocol(p)
    msg = str(e.value)
    assert str(p) in msg and "column role" in msg and "'robot'" in msg and "line 5" in msg
    assert "live, tts, recorded" in msg


def test_role_split_order_does_not_follow_row_order(corpus, tmp_path: Path) -> None:
    _, d = corpus
    scores = d / "scores.tsv"
    rows = campaign_rows()[::-1]  # campaign track first in the file
    p = tmp_path / "reversed.tsv"
    write_protocol(p, rows, list(rows[0]))
    m = evaluate(EvalSpec(protocol=p, scores=scores, bootstrap=BootstrapConfig(n=0))).metrics
    assert [c["value"] for c in m["breakdowns"]["role"]] == ["eval:tts", "campaign:tts", "campaign:recorded"]
