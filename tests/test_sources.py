"""Human sources: layouts, metadata, and every kind of bad input skipped with a reason."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.errors import BadAudioError, SourceMissingError
from robocall_bench.paths import corpora_root as resolve_root
from robocall_bench.sources.aishell import AishellSource
from robocall_bench.sources.base import load_item
from robocall_bench.sources.folder_csv import FolderCsvSource
from robocall_bench.sources.fsdd import FsddSource
from robocall_bench.sources.librispeech import LibriSpeechSource


def _src(name: str):
    return instantiate(OmegaConf.load(config_dir() / "source" / f"{name}.yaml"))


def test_librispeech_any_depth_gender_and_transcripts(corpora_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(corpora_root / "librispeech-sample", root / "librispeech-sample")
    deep = root / "librispeech-sample" / "test-other" / "201" / "7"
    deep.mkdir(parents=True)
    shutil.copy(
        next((root / "librispeech-sample" / "train-clean-100").glob("101-*.flac")), deep / "201-7-0001.flac"
    )
    (deep / "201-7.trans.txt").write_text("201-7-0001 HELLO THERE GENERAL\n")
    items, skipped = _src("librispeech").scan(root, 0)
    by_id = {i.item_id: i for i in items}
    assert len(items) == 17 and not skipped
    assert by_id["librispeech/201-7-0001"].text == "Hello there general"
    assert by_id["librispeech/101-5-0000"].gender == "F" and by_id["librispeech/102-5-0000"].gender == "M"
    assert by_id["librispeech/101-5-0000"].speaker == "librispeech:101"


def test_aishell_and_fsdd_groups(corpora_root):
    items, skipped = _src("aishell").scan(corpora_root, 0)
    assert len(items) == 12 and not skipped and all(i.language == "zh" and i.text for i in items)
    fsdd = FsddSource(name="fsdd", subdir="fsdd", language="en", group_size=(4, 6))
    groups, _ = fsdd.scan(corpora_root, 0)
    assert sum(len(g.files) for g in groups) == 40
    assert all(
        len({f.split("_")[1] for f in map(lambda p: p.rsplit("/", 1)[1], g.files)}) == 1 for g in groups
    )
    g = groups[0]
    assert len(g.text.split()) == len(g.files)
    x, sr = load_item(g)
    assert sr == 8000 and x.size / sr == pytest.approx(g.duration, abs=0.01)
    assert fsdd.scan(corpora_root, 0)[0] == groups  # deterministic grouping
    assert fsdd.scan(corpora_root, 1)[0] != groups


def test_bad_audio_is_skipped_or_rejected_with_reasons(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    rng = np.random.default_rng(0)
    good = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    sf.write(d / "good.wav", good, 16000)
    sf.write(d / "stereo.wav", np.stack([good, good], 1), 44100)
    sf.write(d / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(d / "clipped.wav", np.sign(good) * 1.0, 16000)
    sf.write(d / "lowrate.wav", good[:4000], 4000)
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    (d / "empty.wav").write_bytes(b"")
    names = ["good", "stereo", "silent", "clipped", "lowrate", "corrupt", "empty", "missing"]
    (d / "metadata.csv").write_text("path,speaker,text\n" + "".join(f"{n}.wav,s1,hello\n" for n in names))
    src = FolderCsvSource(name="mine", subdir="mine", language="en")
    items, skipped = src.scan(tmp_path, 0)
    assert sorted(i.item_id for i in items) == ["mine/clipped", "mine/good", "mine/silent", "mine/stereo"]
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in skipped}
    assert set(reasons) == {"lowrate.wav", "corrupt.wav", "empty.wav", "missing.wav"}
    assert "8 kHz" in reasons["lowrate.wav"] and "does not exist" in reasons["missing.wav"]
    assert "unreadable" in reasons["corrupt.wav"] and "unreadable" in reasons["empty.wav"]
    by = {i.item_id: i for i in items}
    x, sr = load_item(by["mine/stereo"])  # stereo is downmixed, 44.1 kHz kept for the channel
    assert x.ndim == 1 and sr == 44100
    with pytest.raises(BadAudioError, match="silent.wav: digital silence"):
        load_item(by["mine/silent"])
    with pytest.raises(BadAudioError, match="clipped"):
        load_item(by["mine/clipped"])


def test_missing_sources_say_how_to_get_them(tmp_path, monkeypatch):
    with pytest.raises(SourceMissingError, match="rcb corpus download name=librispeech"):
        LibriSpeechSource(name="librispeech", subdir="nope", language="en").scan(tmp_path, 0)
    (tmp_path / "ai").mkdir()
    with pytest.raises(SourceMissingError, match="transcripts.tsv"):
        AishellSource(name="aishell", subdir="ai", language="zh").scan(tmp_path, 0)
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./corpora here
    with pytest.raises(SourceMissingError, match="RCB_CORPORA"):
        resolve_root(None)
    with pytest.raises(SourceMissingError, match="does not exist"):
        resolve_root(tmp_path / "absent")
    (tmp_path / "corpora").mkdir()  # the default place, used when nothing is configured
    assert resolve_root(None) == (tmp_path / "corpora").resolve()
    monkeypatch.setenv("RCB_CORPORA", str(tmp_path))  # the environment wins over ./corpora
    assert resolve_root(None) == tmp_path.resolve()
    assert resolve_root(tmp_path / "ai") == (tmp_path / "ai").resolve()  # and an explicit value over both


def test_real_corpora_scan(shared_corpora):
    counts = {n: len(_src(n).scan(shared_corpora, 0)[0]) for n in ("librispeech", "aishell")}
    assert counts == {"librispeech": 351, "aishell": 1000}
