"""``rcb score`` edge cases that must fail fast with one clear message: ids that would break the score
file (TAB, line breaks) and outputs that cannot be written, both refused before any scoring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf

from robocall_bench import cli
from robocall_bench.errors import RcbError
from robocall_bench.inference.score_cli import errors_path, score
from score_support import tiny_checkpoint, voice

SR = 8000


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture
def calls(tmp_path) -> Path:
    d = tmp_path / "calls"
    d.mkdir()
    sf.write(d / "fine.wav", voice(SR, 2.0), SR)
    return d


@pytest.mark.parametrize("bad", ["tab\there.wav", "line\nbreak.wav", "cr\rhere.flac", "nel\x85.wav"])
def test_a_name_that_would_break_the_score_file_is_refused_before_scoring(ckpt, calls, tmp_path, bad):
    sf.write(calls / bad, voice(SR, 2.0, 1), SR)
    out = tmp_path / "s.tsv"
    with pytest.raises(RcbError) as e:
        score(str(ckpt), str(calls), str(out))
    msg = str(e.value)
    assert ascii(str(calls / bad)) in msg and "TAB or line break" in msg and "rename" in msg
    assert not out.exists() and not errors_path(out).exists()
    # before the checkpoint is even loaded, i.e. before any work
    with pytest.raises(RcbError, match="TAB or line break"):
        score(str(tmp_path / "no-such-run"), str(calls), str(out))
    with pytest.raises(RcbError, match="TAB or line break"):  # a single file input too
        score(str(ckpt), str(calls / bad), str(out))


def test_cli_names_the_file_and_the_fix(ckpt, calls, tmp_path, capsys):
    sf.write(calls / "a\tb.wav", voice(SR, 2.0, 1), SR)
    assert cli.main(["score", f"ckpt={ckpt}", f"input={calls}", f"out={tmp_path / 's.tsv'}"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "a\\tb.wav" in err and "rename" in err


def test_out_that_is_a_directory_is_refused_before_any_work(ckpt, calls, tmp_path):
    (tmp_path / "scores").mkdir()
    for ck in (ckpt, tmp_path / "no-such-run"):  # the output is checked first
        with pytest.raises(RcbError, match=r"out=.*scores is a directory; pass out= a file path"):
            score(str(ck), str(calls), str(tmp_path / "scores"))
    out = tmp_path / "s.tsv"
    errors_path(out).mkdir()
    with pytest.raises(RcbError, match=r"errors file .*s\.tsv\.errors\.tsv would replace a directory"):
        score(str(ckpt), str(calls), str(out))
    assert not out.exists()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(RcbError, match="is a file, not a folder"):
        score(str(ckpt), str(calls), str(tmp_path / "a-file" / "s.tsv"))
    # a folder that does not exist yet is made, as before
    assert score(str(ckpt), str(calls), str(tmp_path / "new" / "dir" / "s.tsv")).n_scored == 1


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_in_a_read_only_folder_is_refused(ckpt, calls, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    # root may write into a 0500 folder; /proc/<pid> refuses even root (and os.access says so)
    target = Path("/proc/self") if os.geteuid() == 0 else ro
    try:
        with pytest.raises(RcbError, match="is not writable"):
            score(str(ckpt), str(calls), str(target / "s.tsv"))
    finally:
        ro.chmod(0o700)


def test_length_batches_respect_items_and_padded_seconds():
    from robocall_bench.inference.scoring import MAX_BATCH_SECONDS, length_batches

    sr = 100
    lengths = [5 * sr, 30 * sr, 2 * sr, 6 * sr, 29 * sr, 3 * sr, 7 * sr]
    for cap, size in ((MAX_BATCH_SECONDS, 16), (24.0, 16), (12.0, 2), (1.0, 16)):
        groups = length_batches(lengths, size, sr, cap)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        for g in groups:
            longest = max(lengths[i] for i in g)
            assert len(g) <= size and (len(g) == 1 or len(g) * longest <= cap * sr), (cap, g)
    assert length_batches(lengths, 16, sr, 24.0) == [[2, 5, 0, 3], [6], [4], [1]]


def test_max_batch_seconds_changes_batching_not_scores(ckpt, tmp_path):
    d = tmp_path / "calls"
    d.mkdir()
    for k, sec in enumerate((1.5, 2.0, 3.5, 6.0, 9.0)):
        sf.write(d / f"c{k}.wav", voice(SR, sec, k), SR)
    outs = {}
    for cap in (None, 2.0):
        out = tmp_path / f"s{cap}.tsv"
        score(str(ckpt), str(d), str(out), max_batch_s=cap)
        outs[cap] = dict(line.split("\t") for line in out.read_text().splitlines()[1:])
    assert outs[None].keys() == outs[2.0].keys() and len(outs[None]) == 5
    assert all(abs(float(outs[None][k]) - float(outs[2.0][k])) < 1e-4 for k in outs[None])
    for bad in (0, -3, "abc", float("nan")):
        with pytest.raises(RcbError, match=r"max_batch_seconds=.*positive number of seconds"):
            score(str(ckpt), str(d), str(tmp_path / "z.tsv"), max_batch_s=bad)
    assert not (tmp_path / "z.tsv").exists()
