"""`rcb demo` end to end on a tiny corpus built from the synthetic sources: the leaderboard table comes out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from mirror_support import make_mirror
from robocall_bench.cli import main
from robocall_bench.config import compose, config_dir
from robocall_bench.corpus import dev_sample
from robocall_bench.demo import build_leaderboard, run_demo
from robocall_bench.demo import main as demo_main
from robocall_bench.errors import RcbError
from test_train_support import FAST_TTS

TINY_STEPS = ["trainer.max_steps=3", "data.batch_size=4", "data.train_crop_s=1.0", "data.num_workers=0",
              "trainer.enable_progress_bar=false", "eval.bootstrap_n=20"]  # fmt: skip
TINY_GMM = "recipes.lfcc_gmm.overrides=['model.n_components=4']"  # a key of the GMM's model config only


def _q(items: list[str]) -> str:
    return "[" + ",".join(f"'{x}'" for x in items) + "]"


def demo_args(corpora_root: Path, out: Path, steps: list[str]) -> list[str]:
    return ["demo.preset=tiny", f"demo.corpora_root={corpora_root}", f"demo.out={out}",
            f"demo.corpus_overrides={_q(FAST_TTS)}", f"demo.train_overrides={_q(steps)}"]  # fmt: skip


@pytest.fixture(scope="module")
def demo(corpora_root, tmp_path_factory) -> Path:
    """One tiny demo run from the command line (corpus build, three trainings, entries, leaderboard)."""
    work = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)  # the corpus goes to ./data/tiny-seed0, as `rcb corpus` would put it
    try:
        assert main(["demo", *demo_args(corpora_root, work / "out", TINY_STEPS), TINY_GMM]) == 0
    finally:
        mp.undo()
    return work


def test_demo_builds_the_corpus_trains_three_models_and_prints_the_leaderboard(demo):
    assert (demo / "data" / "tiny-seed0" / "protocol.tsv").is_file()
    runs = sorted(p.name.rsplit("-", 1)[0] for p in (demo / "out" / "runs").iterdir())
    assert runs == ["lfcc_gmm", "lfcc_lcnn", "wav2vec2"]
    lb = demo / "out" / "leaderboard"
    data = json.loads((lb / "leaderboard.json").read_text())
    assert sorted(e["entry_id"] for e in data["entries"]) == ["lfcc-gmm", "lfcc-lcnn", "wav2vec2-tiny"]
    assert {"eval", "early-2s"} <= set(data["tracks"]) and (lb / "README.md").is_file()
    for e in data["entries"]:
        m = e["tracks"]["eval"]["eer"]
        assert 0 <= m["value"] <= 1 and m["ci"] is not None
        assert e["cpu_rtf"] > 0 and e["macs"] > 0 and e["train_samples_per_s"] > 0  # measured, not blank
    results = (demo / "out" / "results.md").read_text()
    assert (
        "| # | entry | params | eval | unseen systems | unseen channel | first 2 s of eval | CPU RTF | train/s | train+score s |"
        in results
    )
    for eid in ("lfcc-gmm", "lfcc-lcnn", "wav2vec2-tiny"):
        assert f"| {eid} |" in results
    assert "Wall time" in results
    # the campaign track: fingerprint, every per-call run, and the fusion with the best one
    camp = results[results.index("Campaign track:") :]
    assert "| system | campaign EER % [95% CI] | tts vs live | recorded vs live | B-cubed F1 / ARI |" in camp
    fp = next(line for line in camp.splitlines() if line.startswith("| fingerprint"))
    eer = float(fp.split("|")[2].split()[0])
    assert 0 <= eer <= 20  # tiny: a handful of campaigns, every call shares its message with another
    assert sum(line.startswith("| fusion: ") for line in camp.splitlines()) == 1
    for eid in ("lfcc-gmm", "lfcc-lcnn", "wav2vec2-tiny"):
        assert f"| {eid} |" in camp
    assert (demo / "out" / "campaign" / "clusters.tsv").is_file()


def test_rerun_reuses_finished_runs_also_without_sources(demo, corpora_root, monkeypatch):
    monkeypatch.chdir(demo)
    cfg = compose("demo", [*demo_args(corpora_root, demo / "out", TINY_STEPS), TINY_GMM])
    res = run_demo(cfg)  # corpus resumed (nothing to render), every run reused
    assert [r.reused for r in res["runs"]] == [True, True, True]
    assert len(res["leaderboard"]["entries"]) == 3 and "| lfcc-gmm |" in res["table_md"]
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    args = ["demo.preset=tiny", f"demo.out={demo / 'out'}", "demo.models=[lfcc_lcnn]",
            f"demo.train_overrides={_q(TINY_STEPS)}"]  # fmt: skip
    assert main(["demo", *args]) == 0  # no sources: the complete data/tiny-seed0 is used as is
    data = json.loads((demo / "out" / "leaderboard" / "leaderboard.json").read_text())
    assert [e["entry_id"] for e in data["entries"]] == ["lfcc-lcnn"]  # the demo's leaderboard: this run only


def test_clear_errors(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    with pytest.raises(RcbError, match="unknown model 'nope'"):
        demo_main(["demo.models=[nope]"])
    with pytest.raises(
        RcbError,
        match=r"lacks librispeech-sample, aishell-sample, fsdd, robocall-transcripts \(demo"
        r"\.download=false: the development sample, 5 folders, 5,360 files, 238 MB, is not fetched",
    ):
        demo_main(["demo.preset=tiny", "demo.download=false"])
    with pytest.raises(RcbError, match="not found; build one"):
        demo_main([f"demo.corpus={tmp_path}/missing"])
    with pytest.raises(RcbError, match="committed leaderboard"):
        build_leaderboard(config_dir().parent / "leaderboard", [], Console())


def test_demo_fetches_the_dev_sample_into_a_fresh_clone_then_runs(tmp_path, monkeypatch, capsys):
    url, pinned, _ = make_mirror(tmp_path / "upstream")
    monkeypatch.setattr(dev_sample, "MANIFEST_PATH", pinned)  # the synthetic mirror's pinned table
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    monkeypatch.delenv("RCB_MIRROR", raising=False)
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)  # a fresh clone: no ./corpora
    args = ["demo.preset=tiny", f"demo.out={work / 'out'}", "demo.models=[lfcc_gmm]", f"demo.mirror='{url}'",
            f"demo.corpus_overrides={_q(FAST_TTS)}", f"demo.train_overrides={_q(TINY_STEPS)}", TINY_GMM]  # fmt: skip
    assert main(["demo", *args]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    n, size = dev_sample.plan_bytes(list(dev_sample.PARTS))
    assert f"downloading the development sample (5 folders, {n:,} files, {size / 1e6:.0f} MB)" in out
    assert sorted(p.name for p in (work / "corpora").iterdir()) == sorted(
        p.subdir for p in dev_sample.PARTS.values()
    )
    assert (work / "data" / "tiny-seed0" / "protocol.tsv").is_file()
    data = json.loads((work / "out" / "leaderboard" / "leaderboard.json").read_text())
    assert [e["entry_id"] for e in data["entries"]] == ["lfcc-gmm"]


def test_demo_offline_fresh_clone_stops_with_every_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    with pytest.raises(RcbError) as err:
        demo_main(["demo.preset=tiny", "demo.mirror='http://127.0.0.1:9'"])
    msg = str(err.value)
    for fix in ("Could not download the development sample: cannot reach http://127.0.0.1:9/", "RCB_CORPORA=",
                "demo.corpora_root=", "ln -s /path/to/corpora corpora", "rcb corpus download name=dev-sample",
                "mirror=URL", "RCB_MIRROR"):  # fmt: skip
        assert fix in msg
    assert not (tmp_path / "corpora").exists() and not (tmp_path / "data").exists()


def test_baselines_swap_entries_in_only_when_all_are_valid(demo, tmp_path, monkeypatch):
    """`rcb baselines`: a failed or interrupted regeneration leaves the committed entries untouched;
    a finished one replaces exactly its entry ids and rebuilds the leaderboard."""
    from robocall_bench import baselines
    from robocall_bench.leaderboard.registry import register_protocol

    corpus = demo / "data" / "tiny-seed0"
    lb = tmp_path / "lb"
    register_protocol(corpus, lb, kind="official", title="tiny release")
    old = lb / "entries" / "lfcc-gmm"
    old.mkdir(parents=True)
    (old / "entry.yaml").write_text("the committed entry\n")
    args = ["baselines", f"baselines.corpus={corpus}", f"baselines.leaderboard={lb}", f"baselines.out={tmp_path / 'out'}",
            "baselines.models=[lfcc_gmm]", f"baselines.train_overrides={_q(TINY_STEPS)}"]  # fmt: skip
    try:  # a recipe that cannot train (0 mixture components): refused with an error, nothing replaced
        rc = main([*args, "recipes.lfcc_gmm.overrides=['model.n_components=0']"])
    except ValueError:
        rc = 1
    assert rc != 0
    assert (old / "entry.yaml").read_text() == "the committed entry\n"

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("robocall_bench.leaderboard.from_run.entry_from_run", interrupted)
    # killed while staging (Ctrl-C: rcb exits 130): the run is kept, the entry is not touched
    assert main([*args, "recipes.lfcc_gmm.overrides=['model.n_components=4']"]) == 130
    assert (old / "entry.yaml").read_text() == "the committed entry\n"
    monkeypatch.undo()
    assert main([*args, "recipes.lfcc_gmm.overrides=['model.n_components=4']"]) == 0
    assert "lfcc_gmm_release" in (old / "entry.yaml").read_text()
    recipe = yaml.safe_load((old / "entry.yaml").read_text())["reproduce"]["command"]
    assert recipe == ["{python}", "-m", "robocall_bench.baseline_kinds", "recipe=lfcc_gmm", "corpus={corpus}", "out={out}"]
    assert not (lb / baselines.STAGING).exists() and sorted(p.name for p in (lb / "entries").iterdir()) == ["lfcc-gmm"]
    data = json.loads((lb / "leaderboard.json").read_text())
    assert [e["entry_id"] for e in data["entries"]] == ["lfcc-gmm"]
    registered = set(data["corpora"][0]["registered_tracks"])
    assert "eval" in registered and set(data["entries"][0]["tracks"]) >= registered  # every track, as official needs


def test_baselines_fingerprint_and_fusion_entries_reproduce(demo, tmp_path, monkeypatch):
    """Score-only recipes (fingerprint, fusion) become valid entries with a reproduce command, and
    that command (run here as the sandbox would) writes the committed scores again, to 1e-6."""
    from robocall_bench.baseline_kinds import main as rerun
    from robocall_bench.contract import read_protocol, read_scores, track_selection
    from robocall_bench.leaderboard.registry import register_protocol

    corpus = demo / "data" / "tiny-seed0"
    lb = tmp_path / "lb"
    register_protocol(corpus, lb, kind="official", title="tiny release")
    fusion = ["recipes.fusion_lcnn_fingerprint.per_call=lfcc_gmm", TINY_GMM]
    args = ["baselines", f"baselines.corpus={corpus}", f"baselines.leaderboard={lb}",
            f"baselines.out={tmp_path / 'out'}", "baselines.models=[fingerprint,fusion_lcnn_fingerprint]",
            f"baselines.train_overrides={_q(TINY_STEPS)}", *fusion]  # fmt: skip
    assert main(args) == 0
    proto = read_protocol(corpus)
    for eid, recipe in (("fingerprint", "fingerprint"), ("fusion-lcnn-fingerprint", "fusion_lcnn_fingerprint")):
        entry = yaml.safe_load((lb / "entries" / eid / "entry.yaml").read_text())
        cmd = entry["reproduce"]["command"]
        assert cmd[:3] == ["{python}", "-m", "robocall_bench.baseline_kinds"] and f"recipe={recipe}" in cmd
        assert entry["training_data"] and entry["params"] >= 0 and set(entry["reported"]) >= {"eval"}
        work = tmp_path / f"rerun-{eid}"
        work.mkdir()
        monkeypatch.chdir(work)
        extra = [f"baselines.train_overrides={_q(TINY_STEPS)}", *fusion]
        assert rerun([f"recipe={recipe}", f"corpus={corpus}", f"out={work / 'out'}", *extra]) == 0
        for f in sorted((lb / "entries" / eid / "scores").glob("*.tsv")):
            split, ptrack = track_selection(f.stem)
            sel = proto.select(split, ptrack)
            old = read_scores(f, sel, proto, f.stem).scores
            new = read_scores(work / "out" / f.name, sel, proto, f.stem).scores
            assert np.max(np.abs(old - new)) <= 1e-6, (eid, f.stem)
    fused = json.loads((lb / "leaderboard.json").read_text())
    assert {e["entry_id"] for e in fused["entries"]} == {"fingerprint", "fusion-lcnn-fingerprint"}
