"""rcb campaign on a tiny folder and protocol: replayed copies found, unique calls not, bad files listed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from robocall_bench.cli import main as rcb
from robocall_bench.contract import write_protocol
from robocall_bench.errors import RcbError
from robocall_bench.fingerprint import simulate as sim
from robocall_bench.fingerprint.cli import campaign
from robocall_bench.fingerprint.landmarks import SAMPLE_RATE

CORPORA = Path(os.environ.get("RCB_CORPORA", "corpora"))
needs_corpora = pytest.mark.skipif(
    not (CORPORA / "fsdd").is_dir() or not (CORPORA / "librispeech-sample").is_dir(),
    reason="RCB_CORPORA with fsdd/ and librispeech-sample/ needed",
)
COPIES = ["copy0.wav", "copy1.flac", "sub/copy2.wav"]
UNIQUE = ["resp0.wav", "resp1.wav", "spk0.wav", "spk1.wav"]


def _write(path: Path, x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if sr != SAMPLE_RATE:  # stored at another rate: the command must resample
        from scipy.signal import resample_poly

        x = resample_poly(x, sr // 8000, 1).astype(np.float32)
    sf.write(str(path), x, sr)


@pytest.fixture(scope="module")
def call_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("calls")
    rng = np.random.default_rng(3)
    ch = sim.narrowband_channel(CORPORA)
    libri = sorted((CORPORA / "librispeech-sample" / "train-clean-100").glob("*.flac"))
    msg = np.concatenate([sim.read_8k(libri[0]), sim.read_8k(libri[1])])[: 16 * SAMPLE_RATE]
    codecs = ["gsm610", "amr-nb", "opus"]
    for name, codec in zip(COPIES, codecs, strict=True):
        y = sim.campaign_call(msg, ch, rng, codec, pickup_s=(0.0, 2.0), call_s=(11.0, 13.0))
        _write(d / name, y, 16000 if name.endswith(".flac") else SAMPLE_RATE)
    takes = sim.fsdd_takes(CORPORA / "fsdd")
    p = sim.respoken_pair(takes, "jackson", 12, ch, rng)  # same digits, same speaker, other takes
    _write(d / UNIQUE[0], p.a)
    _write(d / UNIQUE[1], p.b)
    utts = sorted((CORPORA / "librispeech-sample" / "test-other").rglob("*.flac"))
    spk = [u for u in utts if u.parts[-3] == utts[0].parts[-3]][:2]
    p = sim.speaker_pair(sim.read_8k(spk[0]), sim.read_8k(spk[1]), ch, rng)
    _write(d / UNIQUE[2], p.a)
    _write(d / UNIQUE[3], p.b)
    (d / "broken.wav").write_bytes(b"RIFF not really a wave file")
    _write(d / "short.wav", (0.1 * rng.standard_normal(int(0.2 * SAMPLE_RATE))).astype(np.float32))
    return d


def _read(p: Path) -> dict[str, str]:
    lines = p.read_text().splitlines()
    return dict(line.split("\t", 1) for line in lines[1:])


@needs_corpora
def test_folder_scores_clusters_and_errors(call_dir: Path, tmp_path: Path, capsys) -> None:
    out, cl = tmp_path / "o" / "scores.tsv", tmp_path / "clusters.tsv"
    assert rcb(["campaign", f"input={call_dir}", f"out={out}", f"clusters={cl}"]) == 0
    scores = {k: float(v) for k, v in _read(out).items()}
    assert set(scores) == set(COPIES + UNIQUE)
    assert min(scores[c] for c in COPIES) > max(scores[u] for u in UNIQUE) + 1.0  # e-fold more votes
    clusters = _read(cl)
    assert len({clusters[c] for c in COPIES}) == 1
    assert len({clusters[u] for u in UNIQUE} - {clusters[COPIES[0]]}) == len(UNIQUE)  # singletons
    errs = (tmp_path / "o" / "scores.tsv.errors.tsv").read_text().splitlines()
    assert errs[0] == "id\tpath\treason" and len(errs) == 3
    reasons = {line.split("\t")[0]: line.split("\t")[2] for line in errs[1:]}
    assert "unreadable" in reasons["broken.wav"] and "too short" in reasons["short.wav"]
    assert "2 input(s) not scored" in capsys.readouterr().err


@needs_corpora
def test_protocol_input_and_track_selection(call_dir: Path, tmp_path: Path) -> None:
    names = COPIES + UNIQUE
    rows = [{"utt_id": f"u{i}", "path": n, "label": "robocall" if n in COPIES else "human", "split": "eval",
             "track": "campaign" if i % 4 else "eval"} for i, n in enumerate(names)]  # fmt: skip
    cols = ["utt_id", "path", "label", "split", "track"]  # any valid protocol: the required columns + path
    write_protocol(call_dir / "protocol.tsv", rows, cols)
    try:
        run = campaign(str(call_dir / "protocol.tsv"), str(tmp_path / "s.tsv"), track="campaign")
    finally:
        (call_dir / "protocol.tsv").unlink()
    want = [r["utt_id"] for r in rows if r["track"] == "campaign"]
    assert run.ids == want and list(_read(tmp_path / "s.tsv")) == want
    assert run.errors_file is None and not (tmp_path / "s.tsv.errors.tsv").exists()


def test_one_call_and_unrelated_calls_get_zero_evidence(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    d = tmp_path / "in"
    _write(d / "one.wav", (0.1 * rng.standard_normal(2 * SAMPLE_RATE)).astype(np.float32))
    run = campaign(str(d), str(tmp_path / "s.tsv"), clusters=str(tmp_path / "c.tsv"))
    assert run.result.scores.tolist() == [0.0] and _read(tmp_path / "c.tsv") == {"one.wav": "c0"}
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE  # a tone has peaks but no pairs in common with noise
    _write(d / "two.wav", (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    run = campaign(str(d), str(tmp_path / "s.tsv"))
    assert run.result.votes.tolist() == [0, 0] and run.result.scores.tolist() == [0.0, 0.0]


def test_bad_arguments_and_nothing_readable(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.wav").write_bytes(b"junk")
    with pytest.raises(RcbError, match="none of the 1 input"):
        campaign(str(d), str(tmp_path / "s.tsv"))
    assert "a.wav" in (tmp_path / "s.tsv.errors.tsv").read_text()
    with pytest.raises(RcbError, match="is a directory"):
        campaign(str(d), str(tmp_path))
    with pytest.raises(RcbError, match="min_z=0"):
        campaign(str(d), str(tmp_path / "s.tsv"), min_z=0)


def test_cli_requires_out(tmp_path: Path, capsys) -> None:
    assert rcb(["campaign", f"input={tmp_path}"]) == 2
    assert "missing required argument(s): out=" in capsys.readouterr().err
