"""The contract: one validated protocol reader/writer, one score-file writer/reader, track names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.contract import (
    EVAL_TRACKS,
    LABELS,
    PROTOCOL_COLUMNS,
    REQUIRED_COLUMNS,
    early_track,
    parse_early,
    protocol_text,
    read_protocol,
    read_scores,
    sha256_file,
    track_order,
    track_selection,
    write_protocol,
    write_scores,
)
from robocall_bench.errors import RcbError


def _row(i: int, split: str = "eval", track: str = "eval", label: str = "human") -> dict[str, str]:
    return {"utt_id": f"u{i:03d}", "path": f"audio/u{i:03d}.flac", "label": label, "split": split,
            "track": track, "system": "human" if label == "human" else "espeak", "speaker": f"s{i % 3}",
            "language": "en", "text_id": "-", "family": "-", "channel": "narrowband", "codec": "pcmu",
            "snr_db": "12.5", "duration": "3.2", "source": "synthetic", "call_id": f"c{i:03d}",
            "campaign": "-" if label == "human" else f"cmp{i % 2}", "message": "-" if label == "human" else f"m{i % 2}",
            "role": "live" if label == "human" else "tts"}  # fmt: skip


def _rows() -> list[dict[str, str]]:
    rows = [_row(0, "train", "train"), _row(1, "train", "train", "robocall"), _row(2, "dev", "dev")]
    rows += [_row(3 + k, "eval", t, lab) for k, (t, lab) in enumerate(
        (t, lab) for t in EVAL_TRACKS for lab in LABELS)]  # fmt: skip
    return rows


def _write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "protocol.tsv"
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


def _lines(rows: list[dict[str, str]]) -> list[str]:
    return protocol_text(rows).splitlines()


def test_round_trip_writer_to_reader(tmp_path: Path) -> None:
    rows = _rows()
    sha = write_protocol(tmp_path / "protocol.tsv", rows)
    proto = read_protocol(tmp_path)  # a corpus folder works as well as the file
    assert proto.columns == list(PROTOCOL_COLUMNS) and proto.rows() == rows
    old = [{k: v for k, v in r.items() if k not in ("call_id", "campaign", "message", "role")} for r in rows]
    assert protocol_text(old).splitlines()[0].split("\t") == list(PROTOCOL_COLUMNS[:-4])  # a v1 header
    assert proto.sha256 == sha == sha256_file(tmp_path / "protocol.tsv")
    assert (tmp_path / "protocol.tsv").read_text() == protocol_text(rows)
    assert list(proto.lines[:3]) == [2, 3, 4]  # file lines of the first rows, for messages
    assert proto.eval_tracks() == list(EVAL_TRACKS)
    assert [p.name for p in tmp_path.iterdir()] == ["protocol.tsv"]  # no temp file left behind


def test_accepts_only_the_required_columns_and_keeps_extra_ones(tmp_path: Path) -> None:
    cols = [*REQUIRED_COLUMNS, "my_note"]
    rows = [{**r, "my_note": "x"} for r in _rows()]
    write_protocol(tmp_path / "protocol.tsv", rows, cols)
    proto = read_protocol(tmp_path)
    assert proto.columns == cols and len(proto) == len(rows)
    assert set(proto.select("eval", "unseen-channel").cols["label"]) == set(LABELS)
    with pytest.raises(RcbError, match=r"protocol.tsv: header lacks column\(s\) path, needed here"):
        read_protocol(tmp_path, require=("path",))


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_refuses_a_missing_required_column(tmp_path: Path, column: str) -> None:
    cols = [c for c in PROTOCOL_COLUMNS if c != column]
    p = tmp_path / "protocol.tsv"
    p.write_text(protocol_text(_rows(), cols))
    with pytest.raises(RcbError, match=rf"{p}: header lacks column\(s\) {column} "):
        read_protocol(p)


def test_refuses_duplicate_ids_naming_the_line(tmp_path: Path) -> None:
    lines = _lines(_rows())
    p = _write(tmp_path, "\n".join([*lines, lines[4]]) + "\n")
    with pytest.raises(
        RcbError, match=rf"{p}: 1 duplicate utt_id\(s\), e.g. \['u003'\], repeated at line {len(lines) + 1}"
    ):
        read_protocol(p)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": "test"}, r"column split has value\(s\) \['test'\] at line 6; expected train, dev, eval"),
        ({"label": "bot"}, r"column label has value\(s\) \['bot'\] at line 6; expected human, robocall"),
        ({"track": "bogus"}, r"eval rows with track value\(s\) \['bogus'\] at line 6; tracks of split eval"),
        (
            {"split": "train"},
            r"train rows with track value\(s\) \['eval'\] at line 6; tracks of split train: train",
        ),
        ({"utt_id": ""}, r"empty utt_id at line 6"),
    ],
)
def test_refuses_values_outside_the_vocabulary(tmp_path: Path, change: dict, message: str) -> None:
    rows = _rows()
    rows[4] = {**rows[4], **change}  # file line 6: header, then rows 0-3
    p = _write(tmp_path, protocol_text(rows))
    with pytest.raises(RcbError, match=rf"{p}: {message}"):
        read_protocol(p)


def test_refuses_ragged_rows_and_non_utf8_naming_the_line(tmp_path: Path) -> None:
    lines = _lines(_rows())
    p = _write(tmp_path, "\n".join([*lines[:3], lines[3] + "\textra", *lines[4:]]) + "\n")
    with pytest.raises(RcbError, match=rf"{p}: 1 row\(s\) do not have 19 fields .*first at line\(s\) \[4\]"):
        read_protocol(p)
    data = "\n".join(lines).encode("utf-8").replace(b"u005", b"u\xe9005", 1)
    p = _write(tmp_path, data)
    with pytest.raises(RcbError, match=rf"{p}:7: not UTF-8 \(byte\(s\) e9 at offset \d+\)"):
        read_protocol(p)
    with pytest.raises(RcbError, match="empty protocol"):
        read_protocol(_write(tmp_path, ""))


def test_tolerates_crlf_bom_and_blank_lines_with_the_same_rows(tmp_path: Path) -> None:
    rows = _rows()
    text = "\ufeff" + protocol_text(rows).replace("\n", "\r\n") + "\r\n"
    assert read_protocol(_write(tmp_path, text.encode("utf-8"))).rows() == rows


@pytest.mark.parametrize("bad", ["a\tb", "a\nb", "a\rb", "a\u2028b"])
def test_protocol_writer_refuses_breaking_cells(tmp_path: Path, bad: str) -> None:
    rows = _rows()
    rows[2] = {**rows[2], "speaker": bad}
    with pytest.raises(RcbError, match="TAB or line break in row 'u002'"):
        write_protocol(tmp_path / "protocol.tsv", rows)
    assert not any(tmp_path.iterdir())


def test_score_writer_format_round_trip_and_atomic_refusal(tmp_path: Path) -> None:
    write_protocol(tmp_path / "protocol.tsv", _rows())
    proto = read_protocol(tmp_path)
    sel = proto.select("eval", "eval")
    ids = sel.cols["utt_id"]
    scores = np.array([0.1, -2.5e-7])
    out = tmp_path / "s" / "eval.tsv"
    write_scores(out, ids, scores)
    assert out.read_text() == "utt_id\tscore\nu003\t0.1\nu004\t-2.5e-07\n"  # repr floats: exact, stable bytes
    assert read_scores(out, sel, proto).scores.tolist() == scores.tolist()
    before = out.read_bytes()
    for bad in ("u\t1", "u\n1", "u\r1", ""):
        with pytest.raises(RcbError, match="empty or hold a TAB or line break"):
            write_scores(out, [ids[0], bad], scores)
        assert out.read_bytes() == before  # refused before writing: the old file stands
    assert [p.name for p in out.parent.iterdir()] == ["eval.tsv"]  # and no temp file is left
    with pytest.raises(RcbError, match="2 ids but 1 scores"):
        write_scores(out, ids, scores[:1])


def test_track_helpers() -> None:
    for t, sec in (("early-2s", 2.0), ("early-1.5s", 1.5), ("early-10s", 10.0)):
        assert parse_early(t) == sec and early_track(sec) == t and early_track(parse_early(t)) == t
    assert early_track(2) == "early-2s"
    for t in ("eval", "early-", "early-xs", "early-2", "xearly-2s", "early--1s"):
        assert parse_early(t) is None
    assert track_selection("early-2s") == ("eval", "eval")
    assert track_selection("unseen-systems") == ("eval", "unseen-systems")
    assert track_selection("dev") == ("dev", None)
    tracks = {
        "early-10s",
        "zeta",
        "early-2s",
        "unseen-channel",
        "dev",
        "eval",
        "early-1.5s",
        "unseen-systems",
    }
    assert track_order(tracks) == [
        "dev", "eval", "unseen-systems", "unseen-channel", "early-1.5s", "early-2s", "early-10s", "zeta"
    ]  # fmt: skip


def test_contract_imports_no_torch_and_no_audio_stack() -> None:
    code = (
        "import sys, robocall_bench.contract\n"
        "heavy = sorted(m for m in ('torch', 'soundfile', 'scipy', 'lightning') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role": "recorded"}, r"role and label disagree at line 2 \('recorded'\)"),
        ({"role": "vocoded"}, r"column role has value\(s\) \['vocoded'\] at line 2"),
        ({"campaign": "cmp9"}, r"column campaign must be '-' exactly for live calls; not so at line 2"),
    ],
)
def test_refuses_inconsistent_roles_and_campaigns(tmp_path: Path, change: dict, message: str) -> None:
    rows = _rows()
    rows[0] = {**rows[0], **change}  # a live train row
    p = _write(tmp_path, protocol_text(rows))
    with pytest.raises(RcbError, match=message):
        read_protocol(p)
