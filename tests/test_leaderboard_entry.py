"""`rcb leaderboard entry run=DIR`: a valid leaderboard entry from a real (tiny) training run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from robocall_bench.cli import main
from robocall_bench.config import config_dir
from robocall_bench.errors import RcbError
from robocall_bench.evaluation.protocol import read_protocol
from robocall_bench.leaderboard.from_run import default_entry_id, entry_from_run, measured_speed
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
    assert main(["leaderboard", "entry", f"run={run}", f"root={root}", "entry_id=tiny-cnn"]) == 0
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
    assert e["macs"] is None and e["cpu_rtf"] is None  # not a benchmarked architecture: not guessed
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
    assert main(["leaderboard", "entry", f"run={run}", f"out={other}"]) == 0
    assert (other / "debug-seed0" / "entry.yaml").is_file() and (other.parent / "protocols").is_dir()


def test_fitted_gmm_run_counts_mixture_parameters(corpus, tmp_path):
    run = tmp_path / "gmm"
    train(train_cfg(corpus, run, model=GMM), run)
    edir = entry_from_run(run, LeaderboardConfig(root=tmp_path / "lb"))
    e = yaml.safe_load((edir / "entry.yaml").read_text())
    assert edir.name == "debug-seed0" and e["params"] == 2 * (4 + 2 * 4 * 60)  # weights + means + variances


def test_speed_comes_from_the_benchmark_only_for_the_same_architecture(tmp_path):
    lcnn = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / "lfcc_lcnn.yaml"), resolve=True)
    speed = tmp_path / "models_speed.json"
    speed.write_text(
        json.dumps({"results": {"lfcc_lcnn": {"params": 1000, "macs_per_s": 8.4e7, "rtf": 0.0058}}})
    )
    assert measured_speed(lcnn, 1000, speed) == (84000000, 0.0058)
    assert measured_speed({**lcnn, "dropout": 0.1}, 1000, speed) == (84000000, 0.0058)  # training-only knob
    assert measured_speed({**lcnn, "lstm": False}, 1000, speed) == (None, None)  # another network
    assert measured_speed(lcnn, 999, speed) == (None, None)
    assert measured_speed(lcnn, 1000, tmp_path / "absent.json") == (None, None)


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
    proto = read_protocol(corpus)
    pdir = lb.root / "protocols" / f"{proto.manifest['name']}-{proto.manifest['version']}"
    pdir.mkdir(parents=True)
    lines = (corpus / "protocol.tsv").read_text().splitlines(keepends=True)
    (pdir / "protocol.tsv").write_text("".join(lines[:-1]))  # another protocol under the same name+version
    with pytest.raises(RcbError, match="another protocol of corpus"):
        entry_from_run(run, lb)
    assert not (lb.root / "entries").exists()
