"""A checkpoint's model config cannot choose code: every ``_target_`` must be an allowed detector.

Each attack is a checkpoint (or run directory) someone could hand us whose model config names a
constructor that writes or truncates a file; every path that builds from a checkpoint (``rcb score``,
``load_scorer`` as used by ``rcb leaderboard entry``, ``rcb train`` resuming) must refuse it with an
RcbError naming the checkpoint and the target, and the file must be untouched.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from omegaconf import OmegaConf
from rich.console import Console

from robocall_bench import cli
from robocall_bench.config import config_dir
from robocall_bench.errors import RcbError
from robocall_bench.inference.checkpoint import read_checkpoint
from robocall_bench.inference.score_cli import score
from robocall_bench.inference.scoring import load_scorer
from robocall_bench.models import allowed_targets, build_model, check_model_config
from robocall_bench.training.data import load_corpus
from robocall_bench.training.engine import fit
from score_support import tiny_checkpoint, voice
from test_train_support import tiny_corpus, train_cfg, trained_run

LCNN = "robocall_bench.models.lfcc_lcnn.LFCCLCNN"
ORIGINAL = "precious data\n"


def attacks(victim: Path, src: Path) -> dict[str, dict]:
    """Model configs whose construction writes ``victim`` (top-level and nested targets)."""
    path_of = {"_target_": "pathlib.Path", "_args_": [str(victim)]}
    return {
        "open-truncates": {"_target_": "builtins.open", "file": str(victim), "mode": "w"},
        "copyfile": {"_target_": "shutil.copyfile", "src": str(src), "dst": str(victim)},
        "write_text": {"_target_": "pathlib.Path.write_text", "_args_": [path_of, "pwned"]},
        "nested-open": {"_target_": LCNN, "lfcc": {"_target_": "builtins.open", "file": str(victim), "mode": "w"}},
        "nested-write_text": {"_target_": LCNN, "lfcc": {"_target_": "pathlib.Path.write_text",
                                                           "_args_": [path_of, "pwned"]}},
        "in-a-list": {"_target_": LCNN, "dropout": [{"_target_": "shutil.copyfile", "src": str(src),
                                                     "dst": str(victim)}]},
    }  # fmt: skip


def plant(tmp_path: Path, model: dict, name: str = "evil.ckpt") -> Path:
    return tiny_checkpoint(tmp_path / name, model=model)


@pytest.fixture
def victim(tmp_path) -> tuple[Path, Path]:
    v, src = tmp_path / "victim.txt", tmp_path / "src.txt"
    v.write_text(ORIGINAL)
    src.write_text("attacker's bytes\n")
    return v, src


@pytest.fixture
def wav(tmp_path) -> Path:
    p = tmp_path / "call.wav"
    sf.write(p, voice(8000, 2.0), 8000)
    return p


# ------------------------------------------------------------------------------------- the allowlist


def test_allowlist_comes_from_the_committed_model_configs_and_each_of_them_builds_through_it():
    top, _nested = allowed_targets()
    files = sorted((config_dir() / "model").glob("*.yaml"))
    targets = {yaml.safe_load(f.read_text())["_target_"] for f in files}
    assert targets <= top and LCNN in top and "builtins.open" not in top
    for f in files:
        check_model_config(OmegaConf.to_container(OmegaConf.load(f)), where=str(f))  # no RcbError
    for name in ("lfcc_gmm", "lfcc_lcnn"):  # the cheap ones build end to end (test_models builds all)
        assert type(build_model(name)).__name__ in ("LFCCGMM", "LFCCLCNN")


@pytest.mark.parametrize("name", list(attacks(Path("v"), Path("s"))))
def test_rcb_score_refuses_a_planted_checkpoint_before_building_it(name, victim, wav, tmp_path):
    v, src = victim
    ckpt = plant(tmp_path, attacks(v, src)[name])
    with pytest.raises(RcbError) as e:
        score(str(ckpt), str(wav), str(tmp_path / "s.tsv"))
    msg = str(e.value)
    assert str(ckpt) in msg and "not an allowed" in msg and "nothing was imported" in msg
    bad = {"open-truncates": "builtins.open", "copyfile": "shutil.copyfile", "write_text": "pathlib.Path.write_text",
           "nested-open": "builtins.open", "nested-write_text": "pathlib.Path.write_text",
           "in-a-list": "shutil.copyfile"}[name]  # fmt: skip
    assert repr(bad) in msg
    assert v.read_text() == ORIGINAL  # not truncated, not overwritten
    assert not (tmp_path / "s.tsv").exists()


def test_cli_prints_one_clear_error_and_writes_nothing(victim, wav, tmp_path, capsys):
    v, src = victim
    ckpt = plant(tmp_path, attacks(v, src)["nested-open"])
    assert cli.main(["score", f"ckpt={ckpt}", f"input={wav}", f"out={tmp_path / 's.tsv'}"]) == 2
    err = capsys.readouterr().err
    flat = "".join(err.split())  # the console wraps long lines
    assert "Traceback" not in err and "model.lfcc._target_" in flat and "evil.ckpt" in flat
    assert v.read_text() == ORIGINAL


def test_a_target_is_refused_before_its_module_is_imported(tmp_path, wav, monkeypatch):
    marker = tmp_path / "imported.txt"
    (tmp_path / "rcb_evil_mod.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\nclass Thing:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ckpt = plant(tmp_path, {"_target_": "rcb_evil_mod.Thing"})
    with pytest.raises(RcbError, match="rcb_evil_mod.Thing"):
        score(str(ckpt), str(wav), str(tmp_path / "s.tsv"))
    assert not marker.exists() and "rcb_evil_mod" not in sys.modules


def test_hydra_special_keys_are_refused(tmp_path, wav):
    ckpt = plant(tmp_path, {"_target_": "robocall_bench.models.lfcc_gmm.LFCCGMM", "_partial_": True})
    with pytest.raises(RcbError, match=r"model\._partial_ is not accepted"):
        score(str(ckpt), str(wav), str(tmp_path / "s.tsv"))


def test_read_checkpoint_refuses_before_the_resume_or_scoring_code_sees_it(victim, tmp_path):
    v, src = victim
    ckpt = plant(tmp_path, attacks(v, src)["copyfile"])
    with pytest.raises(RcbError, match=r"checkpoint .*evil\.ckpt: model\._target_ 'shutil\.copyfile'"):
        read_checkpoint(ckpt)
    assert v.read_text() == ORIGINAL


def test_fitted_model_suffix_cannot_name_a_path(tmp_path, wav):
    ck = torch.load(
        plant(tmp_path, {"_target_": "robocall_bench.models.lfcc_gmm.LFCCGMM"}), weights_only=True
    )
    ck["rcb"]["kind"], ck["blob"], ck["suffix"] = "sklearn", b"x", "/../../../tmp/rcb-evil"
    torch.save(ck, tmp_path / "gmm.ckpt")
    with pytest.raises(RcbError, match="damaged fitted-model checkpoint"):
        score(str(tmp_path / "gmm.ckpt"), str(wav), str(tmp_path / "s.tsv"))


# ----------------------------------------------------------- run directories: leaderboard entry, resume


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> Path:
    return trained_run(corpus, tmp_path_factory)


def evil_run(run: Path, dest: Path, model: dict) -> Path:
    """A copy of a finished run whose checkpoint and config.yaml both name ``model`` (so they agree)."""
    shutil.copytree(run, dest)
    for name in ("best.ckpt", "last.ckpt"):
        ck = torch.load(dest / "checkpoints" / name, weights_only=True)
        ck["rcb"]["model"] = model
        torch.save(ck, dest / "checkpoints" / name)
    cfg = OmegaConf.load(dest / "config.yaml")
    cfg.model = model
    (dest / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    return dest


def test_leaderboard_entry_from_a_planted_run_is_refused(run, victim, tmp_path, capsys):
    v, src = victim
    bad = evil_run(run, tmp_path / "evil-run", attacks(v, src)["open-truncates"])
    with pytest.raises(RcbError, match="not an allowed detector"):
        load_scorer(bad, "cpu", "best")  # what `rcb leaderboard entry` loads the model with
    root = tmp_path / "lb"
    assert (
        cli.main(["leaderboard", "entry", f"run={bad}", f"root={root}", "entry_id=evil", "register=true"])
        == 2
    )
    assert "best.ckpt" in "".join(capsys.readouterr().err.split()) and v.read_text() == ORIGINAL
    assert not (root / "entries" / "evil").exists()


def test_training_does_not_resume_from_a_planted_checkpoint(corpus, victim, tmp_path):
    v, src = victim
    run_dir = tmp_path / "run"
    plant(run_dir / "checkpoints", attacks(v, src)["nested-write_text"], name="last.ckpt")
    cfg = train_cfg(corpus, run_dir)
    with pytest.raises(RcbError, match=r"last\.ckpt: model\.lfcc\._target_ 'pathlib\.Path\.write_text'"):
        fit(cfg, run_dir, load_corpus(corpus), Console(quiet=True))
    assert v.read_text() == ORIGINAL


# ------------------------------------------------------------------------- pretrained paths


def _w2v_checkpoint(tmp_path: Path, with_config: bool) -> tuple[Path, Path, torch.nn.Module]:
    """A fine-tuned tiny wav2vec2 checkpoint whose model config names a local ``pretrained`` folder."""
    transformers = pytest.importorskip("transformers")
    from robocall_bench.inference.preprocess import Preprocess
    from robocall_bench.models.wav2vec2 import Wav2Vec2Detector
    from robocall_bench.training.module import DetectorModule
    from test_models import TINY_W2V

    torch.manual_seed(0)
    folder = tmp_path / "w2v"
    transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**TINY_W2V)).save_pretrained(folder)
    model = Wav2Vec2Detector(pretrained=str(folder)).eval()
    cfg = {"_target_": "robocall_bench.models.wav2vec2.Wav2Vec2Detector", "pretrained": str(folder)}
    ck: dict = {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}
    meta = {"model": cfg, "preprocess": Preprocess().to_dict(), "corpus": {}}
    DetectorModule(model, {"lr": 1e-3}, 1, meta=meta).on_save_checkpoint(ck)  # what `rcb train` stores
    if not with_config:
        del ck["rcb"]["backbone_config"]
    path = tmp_path / "w2v.ckpt"
    torch.save(ck, path)
    return path, folder, model


def test_scoring_rebuilds_a_pretrained_backbone_from_the_checkpoint_not_from_its_path(tmp_path, wav):
    path, folder, model = _w2v_checkpoint(tmp_path, with_config=True)
    shutil.rmtree(folder)  # the path the checkpoint names is gone: scoring must not need it
    scorer = load_scorer(path, "cpu")
    x = torch.from_numpy(voice(16000, 1.0))[None]
    lengths = torch.tensor([x.shape[1]])
    with torch.no_grad():
        want = model(x, lengths)
    np.testing.assert_allclose(scorer.score_padded(x, lengths), (want[:, 1] - want[:, 0]).numpy(), atol=1e-5)


def test_a_checkpoint_naming_a_pretrained_path_without_its_config_is_refused(tmp_path, wav):
    path, _folder, _ = _w2v_checkpoint(tmp_path, with_config=False)
    with pytest.raises(RcbError, match="carries no backbone_config"):
        load_scorer(path, "cpu")
