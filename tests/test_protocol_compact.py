"""The compact protocol reader (issue 11 target 2): same columns, lines and errors as parse_protocol.

Every protocol test of test_contract runs again here with the compact reader forced on (it is used
for files of 1 MiB and more); files it does not accept fall back to parse_protocol for the message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import test_contract as tc
from robocall_bench.contract import (
    Columns,
    column_codes,
    column_eq,
    column_isin,
    numeric_column,
    read_protocol,
)
from robocall_bench.contract import protocol as protocol_mod


@pytest.fixture(autouse=True)
def compact(monkeypatch) -> None:
    monkeypatch.setattr(protocol_mod, "COMPACT_READ_BYTES", 0)


test_round_trip_writer_to_reader = tc.test_round_trip_writer_to_reader
test_accepts_only_the_required_columns_and_keeps_extra_ones = (
    tc.test_accepts_only_the_required_columns_and_keeps_extra_ones
)
test_refuses_a_missing_required_column = tc.test_refuses_a_missing_required_column
test_refuses_duplicate_ids_naming_the_line = tc.test_refuses_duplicate_ids_naming_the_line
test_refuses_values_outside_the_vocabulary = tc.test_refuses_values_outside_the_vocabulary
test_refuses_ragged_rows_and_non_utf8_naming_the_line = (
    tc.test_refuses_ragged_rows_and_non_utf8_naming_the_line
)
test_tolerates_crlf_bom_and_blank_lines_with_the_same_rows = (
    tc.test_tolerates_crlf_bom_and_blank_lines_with_the_same_rows
)
test_refuses_inconsistent_roles_and_campaigns = tc.test_refuses_inconsistent_roles_and_campaigns

HEADER = "utt_id\tlabel\tsplit\ttrack\tspeaker\tsnr_db\trole\tcampaign\tnote"


def tricky(tmp_path: Path, n: int = 60) -> Path:
    rows = []
    for i in range(n):
        robo = i % 3 == 0
        rows.append("\t".join([
            f"u{i:03d}", "robocall" if robo else "human", "eval" if i % 4 else "dev",
            ("unseen-systems" if i % 5 == 0 else "eval") if i % 4 else "dev",
            ["spk é", 'q"uote', " spaced ", "日本"][i % 4], ["", "-", "12.5", "3"][i % 4],
            "tts" if robo else "live", f"c{i % 7}" if robo else "-", "" if i % 2 else f"n{i}",
        ]))  # fmt: skip
        if i % 17 == 0:
            rows.append("")  # blank lines are skipped, the line numbers still count them
    p = tmp_path / "protocol.tsv"
    p.write_bytes(("\n".join([HEADER, *rows])).encode("utf-8"))  # no final newline
    return p


def test_compact_reader_matches_the_reference(tmp_path: Path, monkeypatch) -> None:
    p = tricky(tmp_path)
    fast = read_protocol(p)
    monkeypatch.setattr(protocol_mod, "COMPACT_READ_BYTES", 1 << 60)
    ref = read_protocol(p)
    assert isinstance(fast.cols, Columns) and isinstance(ref.cols, dict)
    assert list(fast.cols) == list(ref.cols) and len(fast) == len(ref)
    assert np.array_equal(fast.lines, ref.lines) and fast.sha256 == ref.sha256
    for c in ref.cols:
        assert np.array_equal(fast.cols[c], ref.cols[c]), c
    for a, b in (
        (fast.select("eval"), ref.select("eval")),
        (fast.select("eval", "eval"), ref.select("eval", "eval")),
    ):
        assert np.array_equal(a.is_robocall, b.is_robocall) and np.array_equal(a.lines, b.lines)
        for c in ref.cols:
            assert np.array_equal(a.cols[c], b.cols[c]), c
            u, codes = column_codes(a.cols, c)
            ru, rcodes = column_codes(b.cols, c)
            assert np.array_equal(u, ru) and np.array_equal(codes, rcodes), c
            assert np.array_equal(column_eq(a.cols, c, "-"), b.cols[c] == "-")
            assert np.array_equal(column_isin(a.cols, c, ["-", "u004"]), np.isin(b.cols[c], ["-", "u004"]))
        assert np.array_equal(numeric_column(a, "snr_db"), numeric_column(b, "snr_db"), equal_nan=True)


# --- score files: every score-file test again with the Arrow reader tried first ---------------------
import test_eval_scorefile as sf  # noqa: E402
from robocall_bench.contract import read_scores  # noqa: E402
from robocall_bench.contract import scores as scores_mod  # noqa: E402


@pytest.fixture(autouse=True)
def compact_scores(monkeypatch) -> None:
    monkeypatch.setattr(scores_mod, "COMPACT_READ_BYTES", 0)


corpus = sf.corpus
test_score_valid_file_aligns_scores_to_protocol_order = sf.test_valid_file_aligns_scores_to_protocol_order
test_score_each_problem_is_reported_with_counts = sf.test_each_problem_is_reported_with_counts
test_score_all_problems_in_one_message = sf.test_all_problems_in_one_message
test_score_empty_and_missing_files = sf.test_empty_and_missing_files
test_score_wrong_split_is_named = sf.test_wrong_split_is_named
test_score_size_limit = sf.test_size_limit
test_score_junk_file_stops_at_the_bad_line_limit = (
    sf.test_junk_file_stops_at_the_bad_line_limit_in_bounded_memory
)
test_score_memory_follows_valid_rows_not_file_size = sf.test_memory_follows_valid_rows_not_file_size
test_score_long_lines_bom_and_limit_from_the_cli = sf.test_long_lines_bom_and_limit_from_the_cli


def test_compact_score_reader_matches_the_stream(tmp_path: Path, monkeypatch) -> None:
    p = tricky(tmp_path)
    proto = read_protocol(p)
    sel = proto.select("eval")
    ids = sel.cols["utt_id"]
    rng = np.random.default_rng(0)
    vals = rng.normal(size=ids.size).tolist()
    order = rng.permutation(ids.size)
    lines = [f"{ids[i]}\t{vals[i]!r}" for i in order]
    variants = {
        "header": "utt_id\tscore\n" + "\n".join(lines) + "\n",
        "no header, blank lines, no final newline": "\n".join([*lines[:5], "", *lines[5:]]),
        "integers and exponents": "\n".join(
            f"{ids[i]}\t{x}" for i, x in zip(order, ["1", "-2.5e-3", "+7", ".5"] * 99, strict=False)
        ),
        "spaces around (stream strips them)": "\n".join(f"{ids[i]}\t {vals[i]!r} " for i in order),
        "a duplicate (error)": "\n".join(lines + lines[:1]),
    }
    for name, text in variants.items():
        f = tmp_path / "s.tsv"
        f.write_text(text)
        monkeypatch.setattr(scores_mod, "COMPACT_READ_BYTES", 0)
        fast = _outcome(f, sel, proto)
        monkeypatch.setattr(scores_mod, "COMPACT_READ_BYTES", 1 << 60)
        assert fast == _outcome(f, sel, proto), name
    assert scores_mod._read_compact(tmp_path / "s.tsv", sel) is None  # the duplicate: left to the stream
    (tmp_path / "s.tsv").write_text(variants["header"])
    assert scores_mod._read_compact(tmp_path / "s.tsv", sel) is not None


def _outcome(f: Path, sel, proto) -> tuple:
    from robocall_bench.errors import RcbError

    try:
        r = read_scores(f, sel, proto)
    except RcbError as e:
        return ("error", str(e))
    return ("ok", r.sha256, r.scores.tolist())
