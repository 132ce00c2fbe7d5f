"""The benchmark's vocabulary: labels, splits, tracks and protocol columns, defined once.

Adding a column, a track or a label is a one-line change here: the protocol reader and writer,
the leaderboard's track names and the corpus builder all read these tuples.
"""

from __future__ import annotations

# Class labels in logit order: index 0 = human, 1 = robocall (models and training use the index).
LABELS: tuple[str, ...] = ("human", "robocall")
LABEL_IDS: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

SPLITS: tuple[str, ...] = ("train", "dev", "eval")
# Eval-split tracks, in report order; the first is the main one the leaderboard ranks by.
# Tracks scored one call at a time, then the set-level campaign track (see CAMPAIGN_TRACK).
PER_CALL_TRACKS: tuple[str, ...] = ("eval", "unseen-systems", "unseen-channel")
EVAL_TRACKS: tuple[str, ...] = (*PER_CALL_TRACKS, "campaign")
MAIN_TRACK = EVAL_TRACKS[0]
# The track values a row of each split may carry.
# train/dev rows carry their split's name, or ``<split>-campaign`` for the campaign pool of that split
# (campaign calls and the live calls paired with them: both classes, so the track is label-blind),
# which systems that learn from campaigns (and fusions) fit on.
SPLIT_TRACKS: dict[str, tuple[str, ...]] = {
    "train": ("train", "train-campaign"), "dev": ("dev", "dev-campaign"), "eval": EVAL_TRACKS,
}  # fmt: skip

# protocol.tsv columns in the order ``rcb corpus`` writes them; add a column here.
PROTOCOL_COLUMNS: tuple[str, ...] = (
    "utt_id", "path", "label", "split", "track", "system", "speaker", "language", "text_id", "family",
    "channel", "codec", "snr_db", "duration", "source", "call_id", "campaign", "message", "role",
)  # fmt: skip
# The set-level track: calls of campaigns (one message played in many calls) and live calls.
CAMPAIGN_TRACK = "campaign"
# How a call's speech was made: a live person, text-to-speech (incl. vocoded copy-synthesis), or a
# recording of a human voice played by a dialer (label robocall, but human speech acoustically).
ROLES: tuple[str, ...] = ("live", "tts", "recorded")
ROLE_LABEL: dict[str, str] = {"live": "human", "tts": "robocall", "recorded": "robocall"}
# campaign/message cell of a live call (each live call is unique: it belongs to no campaign).
NO_CAMPAIGN = "-"
# Every protocol has these; readers refuse a header without them.
REQUIRED_COLUMNS: tuple[str, ...] = ("utt_id", "label", "split", "track")
# The documented rest: a reader accepts any subset of them (and extra columns), so a protocol
# written before a column existed still reads unchanged.
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(c for c in PROTOCOL_COLUMNS if c not in REQUIRED_COLUMNS)
# Columns whose every cell must be one of a fixed set (checked when the column is present;
# ``track`` is checked per split against SPLIT_TRACKS).
COLUMN_VALUES: dict[str, tuple[str, ...]] = {"label": LABELS, "split": SPLITS, "role": ROLES}
# Cells that mean "no value" in numeric columns.
MISSING_VALUES: tuple[str, ...] = ("", "-")
# TAB and every character str.splitlines() breaks a line at: none may appear in a table cell or a
# score-file id, or some reader would see a different number of fields or lines.
BAD_CELL_CHARS = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
