"""`rcb leaderboard entry run=DIR`: a valid leaderboard entry from a real (tiny) training run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from robocall_bench.cli import main
from robocall_bench.contract import read_protocol
from robocall_bench.errors import RcbError
from robocall_bench.leaderboard.from_run import default_entry_id, entry_from_run, pretrained_of, train_rate
from robocall_bench.leaderboard.validate import LeaderboardConfig
from robocall_bench.training.run import train
from test_train_support import TinyDetector, tiny_corpus, train_cfg, trained_run

GMM = {"_target_": "robocall_bench.models.lfcc_gmm.LFCCGMM", "n_components": 4}


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> Path:
    return trained_run(corpus, tmp_path_factory)


def test_entry_from_a_run_validates_and_carries_the_runs_record(run, corpus, tmp_path):
    root = tmp_path / "lb"
    assert (
        main(["leaderboard", "entry", f"run={run}", f"root={root}", "entry_id=tiny-cnn", "register=true"])
        == 0
    )
    edir = root / "entries" / "tiny-cnn"
    assert main(["leaderboard", "validate", f"entry={edir}", f"root={root}"]) == 0
    e = yaml.safe_load((edir / "entry.yaml").read_text())
    proto = read_protocol(corpus)
    summary = json.loads((run / "metrics.json").read_text())
    prov = json.loads((run / "metrics" / "eval" / "metrics.json").read_text())["provenance"]
    assert e["corpus"] == {"name": proto.manifest["name"], "version": proto.manifest["version"],
                           "protocol_sha256": proto.sha256}  # fmt: skip
    assert proto.sha256 in e["training_data"] and e["code"]["commit"] == prov["git_sha"]
    assert e["params"] == sum(p.numel() for p in TinyDetector().parameters())
    # cost measured on the trained model itself, with the setup; training rate from the run's record
    assert e["macs"] > 0 and 0 < e["cpu_rtf"] < 10 and "2 threads" in e["compute"]
    rate = summary["fit"]["throughput"]
    assert (
        e["train_samples_per_s"] == float(f"{rate['samples_per_s']:.3g}")
        and "samples/s of train steps" in e["compute"]
    )
    assert rate["samples"] == 4 * 4 and rate["batch_size"] == 4  # debug: 4 steps of batch 4
    assert rate["loop_seconds"] >= rate["step_seconds"] > 0 and 0 <= rate["loader_share"] < 1
    assert summary["scoring"]["audio_s"] > 0 and summary["scoring"]["rtf"] > 0
    assert e["pretrained"] is None and e["experiment"].startswith("rcb train")
    # every leaderboard track the run scored, none of the others (dev is the run's own business)
    tracks = sorted(p.stem for p in (edir / "scores").iterdir())
    assert "dev" not in tracks and "eval" in tracks and {"early-1s", "early-2s"} <= set(tracks)
    assert (edir / "scores" / "eval.tsv").read_bytes() == (run / "scores" / "eval.tsv").read_bytes()
    assert e["reported"]["eval"]["eer"] == round(summary["tracks"]["eval"]["eer"]["value"], 6)
    assert e["reported"]["early-2s"]["min_dcf"] == round(summary["early"]["2"]["min_dcf"]["value"], 6)
    assert (
        root / "protocols" / f"{proto.manifest['name']}-{proto.manifest['version']}" / "protocol.tsv"
    ).is_file()
    assert main(["leaderboard", "build", f"root={root}", "bootstrap.n=20"]) == 0
    data = json.loads((root / "leaderboard.json").read_text())
    assert [x["entry_id"] for x in data["entries"]] == ["tiny-cnn"]
    other = tmp_path / "other" / "entries"  # out=: entries there, the protocol beside them
    assert main(["leaderboard", "entry", f"run={run}", f"out={other}", "register=true"]) == 0
    assert (other / "debug-seed0" / "entry.yaml").is_file() and (other.parent / "protocols").is_dir()


def test_fitted_gmm_run_counts_mixture_parameters(corpus, tmp_path):
    run = tmp_path / "gmm"
    train(train_cfg(corpus, run, model=GMM), run)
    edir = entry_from_run(run, LeaderboardConfig(root=tmp_path / "lb"), register=True)
    e = yaml.safe_load((edir / "entry.yaml").read_text())
    assert edir.name == "debug-seed0" and e["params"] == 2 * (4 + 2 * 4 * 60)  # weights + means + variances
    assert e["macs"] > 0 and e["cpu_rtf"] > 0 and "files/s of fitting" in e["compute"]
    no_speed = entry_from_run(run, LeaderboardConfig(root=tmp_path / "lb2"), speed=False, register=True)
    e = yaml.safe_load((no_speed / "entry.yaml").read_text())
    assert e["macs"] is None and e["cpu_rtf"] is None and e["train_samples_per_s"] > 0


def test_training_rate_is_read_from_the_fit_record_or_left_out():
    fit = {"fit": {"throughput": {"samples_per_s": 123.456, "loop_seconds": 2.0, "device": "cuda", "threads": 4,
                                  "world_size": 2, "batch_size": 32, "train_crop_s": 4.0}}}  # fmt: skip
    rate, how = train_rate(fit)
    assert rate == 123.0 and how == (
        "training: 123 samples/s of train steps (cuda, 4 threads, 2 processes, rate per process, batch 32, 4 s crops)"
    )
    assert train_rate({}) == (None, None) and train_rate({"fit": {"throughput": {}}}) == (None, None)


def test_pretrained_weights_carry_their_card_license(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    model = tmp_path / "hub" / "models--org--backbone"
    (model / "refs").mkdir(parents=True)
    (model / "refs" / "main").write_text("abc123\n")
    (model / "snapshots" / "abc123").mkdir(parents=True)
    (model / "snapshots" / "abc123" / "README.md").write_text(
        "---\nlicense: apache-2.0\ntags: [audio]\n---\n# x\n"
    )
    assert pretrained_of({"pretrained": "org/backbone"}) == {
        "id": "org/backbone", "revision": "abc123", "license": "apache-2.0",
        "url": "https://huggingface.co/org/backbone",
    }  # fmt: skip
    # another revision has no card in the cache: no license claimed
    assert pretrained_of({"pretrained": "org/backbone", "revision": "def456"}) == {
        "id": "org/backbone", "revision": "def456", "url": "https://huggingface.co/org/backbone",
    }  # fmt: skip
    local = tmp_path / "my-weights"
    local.mkdir()
    (local / "README.md").write_text("---\nlicense: [mit, cc-by-4.0]\n---\n")
    assert pretrained_of({"pretrained": str(local), "revision": "v1"}) == {
        "id": str(local), "revision": "v1", "license": "mit, cc-by-4.0",
    }  # fmt: skip
    assert pretrained_of({"pretrained": None}) is None


def test_default_entry_ids_are_safe():
    assert default_entry_id("lfcc_lcnn_mini", 3) == "lfcc_lcnn_mini-seed3"
    assert default_entry_id("My Model/v2..x", None) == "my-model-v2.x"


def test_unusable_runs_and_conflicting_protocols_are_clear_errors(run, corpus, tmp_path):
    lb = LeaderboardConfig(root=tmp_path / "lb")
    with pytest.raises(RcbError, match="finished `rcb train` run directory"):
        entry_from_run(tmp_path, lb)
    with pytest.raises(RcbError, match="entry_id="):
        entry_from_run(run, lb, entry_id="Bad/Id")
    assert not lb.root.exists()  # nothing written for a refused run
    other = tmp_path / "other"
    shutil.copytree(run, other)
    with pytest.raises(RcbError, match="corpus .* is not there; pass corpus=DIR"):
        entry_from_run(other, lb, corpus=tmp_path / "nowhere")
    # a corpus the leaderboard does not rank: refused before anything is written
    with pytest.raises(RcbError, match="is not registered in .*registry.yaml .*register=true"):
        entry_from_run(run, lb, speed=False)
    assert not lb.root.exists()
    proto = read_protocol(corpus)
    pdir = lb.root / "protocols" / f"{proto.manifest['name']}-{proto.manifest['version']}"
    pdir.mkdir(parents=True)
    lines = (corpus / "protocol.tsv").read_text().splitlines(keepends=True)
    (pdir / "protocol.tsv").write_text("".join(lines[:-1]))  # another protocol under the same name+version
    with pytest.raises(RcbError, match="another protocol of corpus"):
        entry_from_run(run, lb)
    assert not (lb.root / "entries").exists()
