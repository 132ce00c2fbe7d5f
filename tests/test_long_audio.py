"""Long calls are scored in windows with a fixed memory bound; short files score exactly as before.

The memory bound is checked where it comes from: no read of a long file returns more than one
window of frames (a whole-file read would). ``test_rss_is_flat_in_duration`` (slow) measures the
peak RSS of ``rcb score`` on 30-minute and 2-hour files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from robocall_bench import cli
from robocall_bench.errors import RcbError
from robocall_bench.inference.longaudio import LongAudio, window_starts
from robocall_bench.inference.score_cli import score
from robocall_bench.inference.scoring import load_scorer, score_paths
from score_support import tiny_checkpoint, voice, write_long
from test_train_support import HERE

SR = 8000
SMALL = LongAudio(max_s=20.0, window_s=5.0, hop_s=5.0)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture(scope="module")
def three_minutes(tmp_path_factory) -> Path:
    return write_long(tmp_path_factory.mktemp("long") / "call.flac", SR, 180.0)


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """Frames returned by every soundfile read (``sf.read`` goes through ``SoundFile.read`` too)."""
    seen: list[int] = []
    real = sf.SoundFile.read

    def spy(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        seen.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    return seen


def _flat(text: str) -> str:
    return "".join(text.split())  # the console wraps long lines


def _scores(path: Path) -> dict[str, float]:
    return {u: float(s) for u, s in (ln.split("\t") for ln in path.read_text().splitlines()[1:])}


def test_window_starts_cover_everything_with_full_windows():
    assert window_starts(10, 4, 4) == [0, 4, 6]  # the last window ends at the end
    assert window_starts(12, 4, 4) == [0, 4, 8]
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(3, 4, 4) == [0]


def test_a_long_file_is_never_read_whole(ckpt, three_minutes, reads):
    scorer = load_scorer(ckpt, "cpu")
    res = score_paths(scorer, [str(three_minutes)], long=SMALL)
    assert res.n_long == 1 and not res.errors and np.isfinite(res.scores[0])
    assert res.audio_s == pytest.approx(180.0)
    assert max(reads) <= 5 * SR and sum(reads) == 180 * SR  # one window at a time, every frame once
    reads.clear()
    whole = score_paths(scorer, [str(three_minutes)], long=LongAudio(max_s=None))  # the old way
    assert max(reads) == 180 * SR and whole.n_long == 0


def test_file_score_is_the_mean_of_its_windows_scored_as_files(ckpt, tmp_path):
    long_file = tmp_path / "call.wav"
    x = voice(SR, 23.0, seed=3)
    sf.write(long_file, x, SR, subtype="PCM_16")
    x = sf.read(long_file, dtype="float32")[0]  # the 16-bit samples the windows will see
    win, hop = 4 * SR, 3 * SR
    starts = window_starts(x.size, win, hop)
    assert starts[-1] == x.size - win and len(starts) == 8
    parts = []
    for k, s in enumerate(starts):
        parts.append(str(tmp_path / f"w{k}.wav"))
        sf.write(parts[-1], x[s : s + win], SR, subtype="PCM_16")
    scorer = load_scorer(ckpt, "cpu")
    each = score_paths(scorer, parts).scores  # 4 s files: scored whole
    for how, ref in (("mean", each.mean()), ("max", each.max())):
        got = score_paths(scorer, [str(long_file)], long=LongAudio(10.0, 4.0, 3.0, how, batch_s=8.0))
        assert got.n_long == 1 and got.scores[0] == pytest.approx(ref, abs=1e-5)


def test_files_up_to_the_threshold_score_byte_identically(ckpt, tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    sf.write(calls / "short.wav", voice(SR, 1.5, 1), SR)
    sf.write(calls / "mid.flac", voice(SR, 7.0, 2), SR)
    sf.write(calls / "exactly_60s.flac", voice(SR, 60.0, 3), SR)
    sf.write(calls / "stereo_44k.wav", voice(44100, 10.0, 4, channels=2), 44100)
    for extra in ({}, {"window": 2.0}, {"max_seconds": 30.0}):
        a, b = tmp_path / "windowed.tsv", tmp_path / "whole.tsv"
        ra = score(str(ckpt), str(calls), str(a), **extra)
        rb = score(str(ckpt), str(calls), str(b), long={"max_s": None}, **extra)
        assert ra.result.n_long == 0 and ra.n_scored == 4
        assert a.read_bytes() == b.read_bytes(), extra
        assert rb.result.n_long == 0


def test_window_and_max_seconds_longer_than_the_threshold_are_windowed(ckpt, three_minutes, tmp_path):
    r = score(str(ckpt), str(three_minutes), str(tmp_path / "s.tsv"), window=30, long=SMALL)
    assert r.result.n_long == 1 and r.result.audio_s == pytest.approx(30.0)
    first30 = tmp_path / "first30.wav"
    sf.write(first30, sf.read(three_minutes, frames=30 * SR, dtype="float32")[0], SR, subtype="PCM_16")
    ref = score(str(ckpt), str(first30), str(tmp_path / "r.tsv"), long=SMALL)
    assert ref.result.n_long == 1
    assert _scores(tmp_path / "s.tsv")["call.flac"] == pytest.approx(
        _scores(tmp_path / "r.tsv")["first30.wav"]
    )
    r = score(str(ckpt), str(three_minutes), str(tmp_path / "m.tsv"), max_seconds=10, long=SMALL)
    assert r.result.n_long == 0 and r.result.audio_s == pytest.approx(10.0)  # below the threshold: whole


def test_cli_long_keys_and_their_errors(ckpt, three_minutes, tmp_path, capsys):
    out = tmp_path / "s.tsv"
    argv = ["score", f"ckpt={ckpt}", f"input={three_minutes}", f"out={out}"]
    assert cli.main([*argv, "long.max_s=20", "long.window_s=5", "long.hop_s=2.5"]) == 0
    assert _flat("scored in 5 s windows every 2.5 s; file score = mean") in _flat(capsys.readouterr().out)
    assert np.isfinite(_scores(out)["call.flac"])
    assert cli.main([*argv, "long.hop_s=50"]) == 2
    assert _flat("long.hop_s=50.0: must be > 0 and <= long.window_s") in _flat(capsys.readouterr().err)
    assert cli.main([*argv, "long.combine=median"]) == 2
    assert "long.combine='median'" in capsys.readouterr().err
    with pytest.raises(RcbError, match="unknown key"):
        LongAudio.from_dict({"window": 3})


# --------------------------------------------------------------------------------- peak RSS (slow)

TINY_YAML = "_target_: test_train_support.TinyDetector\n"


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> float:
    """Peak resident memory (MB) of one ``rcb`` process (measured from a fresh parent)."""
    code = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    p = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "robocall_bench.cli", *argv],
                       env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    return int(p.stdout.strip().splitlines()[-1]) / 1024


@pytest.mark.slow
def test_rss_is_flat_in_duration(tmp_path):
    # the tiny detector, allowed the ordinary way: a model config in the config directory
    configs = tmp_path / "configs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "configs", configs)
    (configs / "model" / "tiny.yaml").write_text(TINY_YAML)
    env = {**os.environ, "RCB_CONFIG_DIR": str(configs), "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    ckpt = tiny_checkpoint(tmp_path / "tiny.ckpt", model={"_target_": "test_train_support.TinyDetector"})
    peaks = {}
    for minutes in (30, 120):
        f = write_long(tmp_path / f"{minutes}min.flac", 16000, minutes * 60.0)
        peaks[minutes] = peak_rss_mb(
            ["score", f"ckpt={ckpt}", f"input={f}", f"out={tmp_path / 's.tsv'}"], env
        )
        f.unlink()
    assert peaks[120] < 1024 and peaks[120] - peaks[30] < 64, peaks
