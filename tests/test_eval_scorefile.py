"""Score-file validation against the protocol: one clear error with counts and first offenders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robocall_bench.contract import read_protocol, read_scores
from robocall_bench.errors import RcbError
from test_eval_fixtures import make_corpus, write_scores


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "c")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _read(path: Path, corpus: Path, split: str = "eval", track: str | None = None):
    proto = read_protocol(corpus)
    return read_scores(path, proto.select(split, track), proto, f"split={split}")


def test_valid_file_aligns_scores_to_protocol_order(tmp_path: Path, corpus: Path) -> None:
    f = write_scores(tmp_path / "s.tsv", corpus)
    lines = _lines(f)
    shuffled = [lines[0], *reversed(lines[1:])]
    g = tmp_path / "shuffled.tsv"
    g.write_text("\n".join(shuffled) + "\n")
    a, b = _read(f, corpus), _read(g, corpus)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.sha256 != b.sha256
    # no header, spaces instead of a tab, CRLF endings: still fine
    h = tmp_path / "plain.tsv"
    h.write_text("\r\n".join(ln.replace("\t", " ") for ln in lines[1:]) + "\r\n")
    np.testing.assert_array_equal(_read(h, corpus).scores, a.scores)


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (lambda L: L[:1] + L[4:], r"3 of 60 id\(s\) of split=eval missing: u000"),
        (lambda L: [*L, L[1], L[2]], r"2 duplicate id\(s\)"),
        (
            lambda L: [*L, "nope1\t0.5", "nope2\t0.1"],
            r"2 id\(s\) not in split=eval: nope1, nope2 .*another corpus version",
        ),
        (
            lambda L: [L[0]] + [ln.split("\t")[0] + "\tabc" for ln in L[1:3]] + L[3:],
            r"2 non-numeric score\(s\): line 2: 'abc'",
        ),
        (
            lambda L: [L[0], L[1].split("\t")[0] + "\tnan", L[2].split("\t")[0] + "\tinf", *L[3:]],
            r"2 non-finite score\(s\)",
        ),
        (lambda L: [*L, "a\tb\tc"], r"1 malformed line\(s\)"),
    ],
    ids=["missing", "duplicate", "extra", "non-numeric", "non-finite", "malformed"],
)
def test_each_problem_is_reported_with_counts(tmp_path: Path, corpus: Path, mutate, expect) -> None:
    f = write_scores(tmp_path / "s.tsv", corpus)
    f.write_text("\n".join(mutate(_lines(f))) + "\n")
    with pytest.raises(RcbError, match=expect) as e:
        _read(f, corpus)
    assert str(f) in str(e.value) and "Fix:" in str(e.value)


def test_all_problems_in_one_message(tmp_path: Path, corpus: Path) -> None:
    f = write_scores(tmp_path / "s.tsv", corpus)
    L = _lines(f)
    f.write_text("\n".join([*L[:-2], L[1], "ghost\t1.0", L[3].split("\t")[0] + "\tNaN"]) + "\n")
    with pytest.raises(RcbError) as e:
        _read(f, corpus)
    msg = str(e.value)
    for part in ("duplicate", "not in split=eval", "missing", "non-finite"):
        assert part in msg


def test_empty_and_missing_files(tmp_path: Path, corpus: Path) -> None:
    e = tmp_path / "empty.tsv"
    e.write_text("\n\n")
    with pytest.raises(RcbError, match="empty score file; expected 60 lines"):
        _read(e, corpus)
    with pytest.raises(RcbError, match="not found"):
        _read(tmp_path / "absent.tsv", corpus)
    b = tmp_path / "binary.tsv"
    b.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RcbError, match="not UTF-8"):
        _read(b, corpus)


def test_wrong_split_is_named(tmp_path: Path, corpus: Path) -> None:
    f = write_scores(tmp_path / "dev.tsv", corpus, split="dev")
    with pytest.raises(
        RcbError, match=r"20 of them are protocol rows of split=dev track=dev: wrong split or track\?"
    ):
        _read(f, corpus)


def test_size_limit(tmp_path: Path, corpus: Path) -> None:
    f = write_scores(tmp_path / "s.tsv", corpus)
    proto = read_protocol(corpus)
    with pytest.raises(RcbError, match="exceeds the limit of 100 bytes"):
        read_scores(f, proto.select("eval"), proto, max_bytes=100)


def test_protocol_errors(tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "c")
    p = root / "protocol.tsv"
    lines = p.read_text().splitlines()
    p.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(RcbError, match="duplicate utt_id"):
        read_protocol(root)
    p.write_text(
        "\n".join([*lines, lines[1].replace("\thuman\t", "\tbot\t").replace("\trobocall\t", "\tbot\t")])
        + "\n"
    )
    with pytest.raises(RcbError, match="column label has value"):
        read_protocol(root)
    p.write_text("a\tb\n1\t2\n")
    with pytest.raises(RcbError, match="header lacks column"):
        read_protocol(root)
    with pytest.raises(RcbError, match="not found"):
        read_protocol(tmp_path / "nowhere")


def _peak_bytes(fn) -> tuple[int, BaseException | None]:
    """Peak Python heap allocation while ``fn()`` runs, and what it raised."""
    import tracemalloc

    tracemalloc.start()
    err = None
    try:
        fn()
    except RcbError as e:
        err = e
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, err


def test_junk_file_stops_at_the_bad_line_limit_in_bounded_memory(tmp_path: Path, corpus: Path) -> None:
    f = tmp_path / "junk.tsv"
    f.write_text("x\n" * 1_000_000 + "garbage line here\n")  # 2 MB of junk lines
    peak, err = _peak_bytes(lambda: _read(f, corpus))
    msg = str(err)
    assert "stopped reading at line 20 after 20 bad lines (limit max_bad_score_lines=20)" in msg
    assert f"{f}:1: malformed: need 2 fields" in msg and f"{f}:5: malformed" in msg and f"{f}:6:" not in msg
    assert peak < 4 << 20  # the old reader held every line: 102 MiB here, ~0.9 GiB RSS for 16 MB
    proto = read_protocol(corpus)
    with pytest.raises(
        RcbError, match=r"stopped reading at line 3 after 3 bad lines \(limit max_bad_score_lines=3\)"
    ):
        read_scores(f, proto.select("eval"), proto, max_bad_lines=3)


def test_memory_follows_valid_rows_not_file_size(tmp_path: Path, corpus: Path) -> None:
    f = write_scores(tmp_path / "s.tsv", corpus)
    with f.open("a") as out:  # 1.3 MB of well-formed lines for ids of another corpus: no bad lines
        out.writelines(f"other-corpus-{i:08d}\t0.{i}\n" for i in range(40_000))
    peak, err = _peak_bytes(lambda: _read(f, corpus))
    assert "40000 id(s) not in split=eval: other-corpus-00000000" in str(err)
    assert "40000 are not in the protocol at all" in str(err)
    assert peak < 4 << 20  # the old reader: the text, every line and every id (30 MiB here)


def test_long_lines_bom_and_limit_from_the_cli(tmp_path: Path, corpus: Path, capsys) -> None:
    from robocall_bench.cli import main

    f = write_scores(tmp_path / "s.tsv", corpus, header=False)
    good = f.read_bytes()
    f.write_bytes(b"\xef\xbb\xbf" + good)  # a BOM before the first id
    np.testing.assert_array_equal(
        _read(f, corpus).scores, _read(write_scores(tmp_path / "t.tsv", corpus), corpus).scores
    )
    f.write_bytes(good + b"y" * 3_000_000)  # a last line of 3 MB without a newline
    with pytest.raises(RcbError, match=r"1 line\(s\) longer than 4096 bytes, at line\(s\) 61"):
        _read(f, corpus)
    f.write_bytes(b"a b c\n" * 10)
    argv = ["eval", f"scores={f}", f"protocol={corpus}", f"out={tmp_path / 'o'}", "max_bad_score_lines=4"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "stopped reading at line 4" in err and "max_bad_score_lines=4" in err and "Traceback" not in err
