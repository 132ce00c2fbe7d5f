"""rcb score on odd inputs: any rate/channels/format, corrupt and empty files, folders, protocols, windows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from robocall_bench import cli
from robocall_bench.contract import read_protocol
from robocall_bench.errors import RcbError
from robocall_bench.inference.score_cli import errors_path, score
from test_train_support import tiny_corpus, trained_run


@pytest.fixture(scope="module")
def corpus(corpora_root, tmp_path_factory) -> Path:
    return tiny_corpus(corpora_root, tmp_path_factory)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> Path:
    return trained_run(corpus, tmp_path_factory)


def _tone(sr: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


@pytest.fixture
def odd_folder(tmp_path) -> Path:
    d = tmp_path / "calls"
    (d / "sub").mkdir(parents=True)
    sf.write(d / "stereo_44k.wav", _tone(44100, 2.5, 2), 44100)
    sf.write(d / "mulaw_8k.wav", _tone(8000, 3.0), 8000, subtype="ULAW")
    sf.write(d / "sub" / "clip.ogg", _tone(22050, 2.0), 22050, format="OGG", subtype="VORBIS")
    sf.write(d / "clip.mp3", _tone(16000, 2.0), 16000, format="MP3", subtype="MPEG_LAYER_III")
    (d / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" + bytes(range(200)))
    (d / "empty.flac").write_bytes(b"")
    (d / "notes.txt").write_text("not audio: skipped")
    return d


def _read(path: Path) -> dict[str, float]:
    lines = path.read_text().splitlines()
    assert lines[0] == "utt_id\tscore"
    return {u: float(s) for u, s in (ln.split("\t") for ln in lines[1:])}


def test_folder_of_odd_files_scores_readable_ones_and_lists_the_rest(run, odd_folder, tmp_path, capsys):
    out = tmp_path / "scores.tsv"
    r = score(str(run), str(odd_folder), str(out))
    got = _read(out)
    assert set(got) == {"stereo_44k.wav", "mulaw_8k.wav", "sub/clip.ogg", "clip.mp3"}
    assert all(np.isfinite(v) for v in got.values())
    errs = errors_path(out).read_text().splitlines()
    assert errs[0] == "id\tpath\terror" and sorted(e.split("\t")[0] for e in errs[1:]) == [
        "corrupt.wav",
        "empty.flac",
    ]
    assert r.n_scored == 4 and r.n_errors == 2 and 8 < r.result.audio_s < 11
    printed = capsys.readouterr()
    assert (
        "real-time factor" in printed.out
        and "2 unreadable input(s)" in printed.err
        and "corrupt.wav" in printed.err
    )


def test_window_scores_only_the_first_seconds_and_single_file_input(run, odd_folder, tmp_path):
    f = odd_folder / "mulaw_8k.wav"
    full = score(str(run), str(f), str(tmp_path / "a.tsv"))
    one = score(str(run), str(f), str(tmp_path / "b.tsv"), window=1)
    assert full.n_scored == one.n_scored == 1 and not errors_path(tmp_path / "a.tsv").exists()
    assert one.result.audio_s == pytest.approx(1.0) and full.result.audio_s == pytest.approx(3.0)
    assert _read(tmp_path / "a.tsv")["mulaw_8k.wav"] != _read(tmp_path / "b.tsv")["mulaw_8k.wav"]
    # a window longer than the file is the whole file
    score(str(run), str(f), str(tmp_path / "c.tsv"), window=30)
    assert _read(tmp_path / "c.tsv") == _read(tmp_path / "a.tsv")


def test_protocol_input_matches_the_run_scores(run, corpus, tmp_path):
    out = tmp_path / "eval.tsv"
    score(str(run), str(corpus / "protocol.tsv"), str(out), split="eval", track="eval", batch_size=3)
    ids = [r["utt_id"] for r in read_protocol(corpus).rows() if r["split"] == "eval" and r["track"] == "eval"]
    got, ref = _read(out), _read(run / "scores" / "eval.tsv")
    assert list(got) == ids and got.keys() == ref.keys()
    assert np.allclose([got[u] for u in ids], [ref[u] for u in ids], atol=1e-5)  # batching changes nothing
    early = tmp_path / "early.tsv"
    score(str(run), str(corpus), str(early), window=2, split="eval", track="eval")
    ref2 = _read(run / "scores" / "early-2s.tsv")
    assert np.allclose([_read(early)[u] for u in ids], [ref2[u] for u in ids], atol=1e-5)


def test_protocol_with_missing_audio_lists_the_files(run, corpus, tmp_path):
    shutil.copy(corpus / "protocol.tsv", tmp_path / "protocol.tsv")
    n = len(read_protocol(corpus))
    assert n > 10
    with pytest.raises(
        RcbError, match=rf"(?s)lists {n} audio file\(s\) that are not there \(of {n}\).*audio/.*does not match"
    ):
        score(str(run), str(tmp_path / "protocol.tsv"), str(tmp_path / "s.tsv"))


def test_protocol_at_another_sample_rate_is_refused_unless_allowed(run, corpus, tmp_path):
    rows = read_protocol(corpus).rows()[:4]
    (tmp_path / "audio").mkdir()
    lines = ["\t".join(rows[0])]
    for r in rows:
        sf.write(tmp_path / r["path"].replace("audio/train/", "audio/").replace("audio/dev/", "audio/"),
                 _tone(16000, 2.0), 16000)  # fmt: skip
        r = {**r, "path": "audio/" + Path(r["path"]).name}
        lines.append("\t".join(r.values()))
    (tmp_path / "protocol.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(RcbError, match="audio at 16000 Hz, but the model was trained on 8000 Hz"):
        score(str(run), str(tmp_path), str(tmp_path / "s.tsv"))
    assert score(str(run), str(tmp_path), str(tmp_path / "s.tsv"), allow_rate_mismatch=True).n_scored == 4


def test_missing_checkpoint_and_checkpoints_of_another_model(run, odd_folder, tmp_path):
    with pytest.raises(RcbError, match="checkpoint .*nowhere.* not found"):
        score(str(tmp_path / "nowhere"), str(odd_folder), str(tmp_path / "s.tsv"))
    # a run directory whose config names another model than its checkpoint
    other_run = tmp_path / "other"
    shutil.copytree(run, other_run)
    cfg = (other_run / "config.yaml").read_text().replace("TinyDetector", "OtherDetector")
    (other_run / "config.yaml").write_text(cfg)
    with pytest.raises(
        RcbError, match="was trained with model .*TinyDetector.* but .*config.yaml configures"
    ):
        score(str(other_run), str(odd_folder), str(tmp_path / "s.tsv"))
    # a checkpoint whose weights do not fit the model it names
    ck = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    ck["rcb"]["model"] = {"_target_": "test_train_support.OtherDetector"}
    torch.save(ck, tmp_path / "bad.ckpt")
    with pytest.raises(RcbError, match="weights do not fit model"):
        score(str(tmp_path / "bad.ckpt"), str(odd_folder), str(tmp_path / "s.tsv"))
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(RcbError, match="not a readable checkpoint"):
        score(str(tmp_path / "junk.ckpt"), str(odd_folder), str(tmp_path / "s.tsv"))


def test_cli_exit_codes(run, odd_folder, tmp_path, capsys):
    out = tmp_path / "s.tsv"
    assert (
        cli.main(["score", f"ckpt={run}", f"input={odd_folder}", f"out={out}", "window=1", "batch_size=2"])
        == 0
    )
    assert len(_read(out)) == 4
    assert cli.main(["score", f"ckpt={run}", f"input={tmp_path / 'none'}", f"out={out}"]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli.main(["score", f"ckpt={run}", f"input={odd_folder}"]) == 2
    assert "missing required argument(s): out=" in capsys.readouterr().err
    assert cli.main(["score", f"ckpt={run}", f"input={odd_folder}", f"out={out}", "window=0"]) == 2
