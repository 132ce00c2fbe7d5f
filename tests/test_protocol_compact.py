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
