"""The real FTC robocall transcripts (``robocall-transcripts/metadata.csv`` under the corpora root)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..errors import SourceMissingError
from ..sources.text import read_text
from .base import Script

SUBDIR = "robocall-transcripts"
LICENSE = "public domain data (FTC Project Point of No Entry), via wspr-ncsu/robocall-audio-dataset"
_WS = re.compile(r"\s+")


def load_ftc(
    root: Path, subdir: str = SUBDIR, min_chars: int = 20, encoding: str = "utf-8"
) -> tuple[list[Script], list[tuple[str, str]]]:
    """Read the transcripts; returns (scripts with family = own id, skipped (row, reason)).

    The CSV is decoded strictly with ``encoding`` (``scripts.ftc.encoding``); an undecodable
    byte is an RcbError naming file and line.

    Families are assigned later by :func:`robocall_bench.scripts.families.assign_families`.
    """
    path = Path(root) / subdir / "metadata.csv"
    if not path.is_file():
        raise SourceMissingError(
            f"Robocall transcripts not found at {path}. Get metadata.csv from wspr-ncsu/robocall-audio-dataset "
            f"into <corpora_root>/{subdir}/ (or set ftc.enabled=false)."
        )
    scripts: list[Script] = []
    skipped: list[tuple[str, str]] = []
    fix = "declare it with `scripts.ftc.encoding={enc}` (configs/corpus.yaml)"
    with io.StringIO(read_text(path, encoding, fix), newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            text = _WS.sub(" ", row.get("transcript") or "").strip()
            lang = (row.get("language") or "").strip()
            where = f"{path}:{i + 2}"
            if lang not in ("en", "zh"):
                skipped.append((where, f"language {lang!r} is not en/zh"))
                continue
            if len(text) < min_chars:
                skipped.append((where, f"transcript shorter than {min_chars} characters"))
                continue
            stem = Path(row.get("file_name") or f"row{i}").stem.replace("_normalized", "")
            tid = f"ftc-{stem}"
            scripts.append(
                Script(tid, text, lang, family=tid, origin="ftc", domain=row.get("case_details", ""))
            )
    return scripts, skipped
