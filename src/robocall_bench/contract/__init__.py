"""The benchmark's contract: the vocabulary, protocol.tsv and score files, and track names.

``vocab`` names labels, splits, tracks and protocol columns; ``protocol`` is the one validated
reader and writer of protocol.tsv; ``scores`` the one reader and writer of score files;
``tracks`` makes and parses track names (``early-<N>s``) and orders them. Corpus building,
training, scoring, evaluation and the leaderboard all read and write through these, and this
package imports nothing heavier than numpy.
"""

from __future__ import annotations

from .protocol import (
    Columns,
    Protocol,
    column_codes,
    column_eq,
    column_isin,
    numeric_column,
    protocol_text,
    read_manifest,
    read_protocol,
    resolve_protocol_path,
    sha256_file,
    write_protocol,
)
from .scores import MAX_BAD_LINES, ScoreFile, bad_ids, read_scores, score_text, write_scores
from .tracks import (
    LEADERBOARD_TRACK_RE,
    early_key,
    early_track,
    is_early,
    parse_early,
    track_order,
    track_selection,
)
from .vocab import (
    BAD_CELL_CHARS,
    CAMPAIGN_TRACK,
    EVAL_TRACKS,
    LABEL_IDS,
    LABELS,
    MAIN_TRACK,
    NO_CAMPAIGN,
    OPTIONAL_COLUMNS,
    PER_CALL_TRACKS,
    PROTOCOL_COLUMNS,
    REQUIRED_COLUMNS,
    ROLE_LABEL,
    ROLES,
    SPLIT_TRACKS,
    SPLITS,
)

__all__ = [
    "BAD_CELL_CHARS",
    "CAMPAIGN_TRACK",
    "EVAL_TRACKS",
    "LABELS",
    "LABEL_IDS",
    "LEADERBOARD_TRACK_RE",
    "MAIN_TRACK",
    "MAX_BAD_LINES",
    "NO_CAMPAIGN",
    "OPTIONAL_COLUMNS",
    "PER_CALL_TRACKS",
    "PROTOCOL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ROLES",
    "ROLE_LABEL",
    "SPLITS",
    "SPLIT_TRACKS",
    "Columns",
    "Protocol",
    "ScoreFile",
    "bad_ids",
    "column_codes",
    "column_eq",
    "column_isin",
    "early_key",
    "early_track",
    "is_early",
    "numeric_column",
    "parse_early",
    "protocol_text",
    "read_manifest",
    "read_protocol",
    "read_scores",
    "resolve_protocol_path",
    "score_text",
    "sha256_file",
    "track_order",
    "track_selection",
    "write_protocol",
    "write_scores",
]  # fmt: skip
