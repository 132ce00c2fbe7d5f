"""`rcb summarize` (mean ± std across seeds) and the optuna learning-rate sweep (hydra/sweeper=optuna_lr)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from robocall_bench.cli import main
from robocall_bench.config import config_dir
from robocall_bench.errors import RcbError
from robocall_bench.inference.checkpoint import read_checkpoint
from robocall_bench.summarize import find_runs, load_run, summarize
from robocall_bench.summarize import main as summarize_main
from test_train_support import tiny_corpus, trained_run


def fake_run(root: Path, name: str, seed: int, eer: dict[str, float], lr: float = 1e-3) -> Path:
    """A run directory in the layout `rcb train` writes (config.yaml + metrics.json), with given EERs."""
    d = root / name / f"sweep-x/{seed}"
    d.mkdir(parents=True)
    (d / "config.yaml").write_text(yaml.safe_dump({"name": name, "seed": seed, "optim": {"lr": lr}}))
    tracks = {t: {"eer": {"value": v, "ci": None}, "min_dcf": {"value": 2 * v, "ci": None}, "n_robocall": 5,
                  "n_human": 5} for t, v in eer.items() if not t.startswith("early")}  # fmt: skip
    early = {"2": {"eer": {"value": eer["early-2s"], "ci": None}, "min_dcf": {"value": 0.5, "ci": None}}}
    (d / "metrics.json").write_text(json.dumps({"tracks": tracks, "skipped": {}, "early": early}))
    (d / "metrics" / "eval").mkdir(parents=True)  # per-track metrics.json files are not runs
    (d / "metrics" / "eval" / "metrics.json").write_text("{}")
    return d


@pytest.fixture
def runs(tmp_path) -> Path:
    for seed, (ev, us) in enumerate([(0.10, 0.30), (0.20, 0.40), (0.30, 0.20)]):
        fake_run(tmp_path, "lcnn", seed, {"dev": 0.05, "eval": ev, "unseen-systems": us, "early-2s": 0.25})
    fake_run(tmp_path, "gmm", 0, {"dev": 0.3, "eval": 0.12, "early-2s": 0.5}, lr=0.0)
    (tmp_path / "lcnn" / "unfinished").mkdir()  # no metrics.json: skipped
    (tmp_path / "lcnn" / "unfinished" / "config.yaml").write_text("name: lcnn\n")
    return tmp_path


def test_mean_std_n_per_experiment_and_track(runs):
    data = summarize([load_run(p) for p in find_runs(runs)], ["eer", "min_dcf"])
    assert data["tracks"] == ["dev", "eval", "unseen-systems", "early-2s"]
    g = {x["experiment"]: x for x in data["groups"]}
    assert g["lcnn"]["n_runs"] == 3 and sorted(g["lcnn"]["seeds"]) == [0, 1, 2]
    ev = g["lcnn"]["tracks"]["eval"]["eer"]
    assert ev["n"] == 3 and math.isclose(ev["mean"], 0.2) and math.isclose(ev["std"], 0.1)  # sample std
    assert math.isclose(g["lcnn"]["tracks"]["unseen-systems"]["min_dcf"]["mean"], 0.6)
    assert g["gmm"]["tracks"]["eval"]["eer"] == {"mean": 0.12, "std": None, "n": 1}
    assert "unseen-systems" not in g["gmm"]["tracks"]


def test_cli_globs_groups_by_config_keys_and_writes_md_csv_json(runs, tmp_path, capsys):
    assert main(["summarize", f"runs={runs}/*/sweep-*", "out=" + str(tmp_path / "s.md")]) == 0
    out = capsys.readouterr().out
    assert "20.00 ± 10.00" in out and "12.00" in out
    md = (tmp_path / "s.md").read_text()
    assert "| lcnn | eval | 3 | 20.00 ± 10.00 |" in md and "| gmm | eval | 1 | 12.00 |" in md
    assert (
        main(["summarize", f"runs={runs}", "metric=[eer,min_dcf]", "by=[optim.lr]", f"out={tmp_path}/s.csv"])
        == 0
    )
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    r = next(
        x for x in rows if x["experiment"] == "lcnn" and x["track"] == "eval" and x["metric"] == "min_dcf"
    )
    assert r["optim.lr"] == "0.001" and float(r["mean"]) == pytest.approx(0.4) and r["n"] == "3"
    assert main(["summarize", f"runs={runs}", f"out={tmp_path}/s.json"]) == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert {g["experiment"] for g in data["groups"]} == {"lcnn", "gmm"} and all(
        g["runs"] for g in data["groups"]
    )


def test_bad_arguments_are_clear_errors(runs, tmp_path):
    with pytest.raises(RcbError, match="runs="):
        summarize_main([])
    with pytest.raises(RcbError, match="no finished run directories"):
        summarize_main([f"runs={tmp_path}/nothing-*"])
    with pytest.raises(RcbError, match="choose from .*eer"):
        summarize_main([f"runs={runs}", "metric=err"])
    with pytest.raises(RcbError, match=r"\.md, \.csv or \.json"):
        summarize_main([f"runs={runs}", f"out={tmp_path}/s.txt"])
    with pytest.raises(RcbError, match="unexpected argument"):
        summarize_main([f"runs={runs}", "metrics=eer"])
    assert main(["summarize", f"runs={runs}", "metric=err"]) == 2  # the CLI prints the message instead


def test_a_real_run_directory_loads(corpora_root, tmp_path_factory):
    run = trained_run(tiny_corpus(corpora_root, tmp_path_factory), tmp_path_factory)
    r = load_run(run)
    assert r.name == "debug" and r.seed == 0 and {"dev", "eval", "early-2s"} <= set(r.values)
    assert 0 <= r.values["eval"]["eer"] <= 1 and "auc" in r.values["eval"]


def _hydra(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides, return_hydra_config=True)


def test_optuna_lr_sweeper_composes():
    cfg = _hydra(["hydra/sweeper=optuna_lr", "experiment=lfcc_lcnn_mini", "corpus=/tmp"])
    s = cfg.hydra.sweeper
    assert s._target_.endswith("OptunaSweeper") and s.direction == "minimize"
    assert s.params["optim.lr"].startswith("tag(log, interval(") and s.sampler.seed == 0


def test_two_trial_optuna_sweep_minimises_dev_eer(corpora_root, tmp_path_factory, tmp_path):
    corpus = tiny_corpus(corpora_root, tmp_path_factory)
    sweep = tmp_path / "sweep"
    argv = ["train", "-m", "hydra/sweeper=optuna_lr", "hydra.sweeper.n_trials=2", "experiment=lfcc_lcnn_mini",
            "debug=default", "trainer.max_steps=2", "score.early_seconds=[2]", f"corpus={corpus}", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    assert main(argv) == 0
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    trials = find_runs(sweep)
    assert len(trials) == 2
    # the objective is each job's best dev EER (the one that picked its best checkpoint)
    devs = [
        read_checkpoint(t / "checkpoints" / "best.ckpt")["callbacks"]["RunCheckpoints"]["best_eer"]
        for t in trials
    ]
    assert best["best_value"] == pytest.approx(min(devs)) and 1e-5 <= best["best_params"]["optim.lr"] <= 3e-3
    lrs = {load_run(t).config["optim"]["lr"] for t in trials}
    assert best["best_params"]["optim.lr"] in lrs
