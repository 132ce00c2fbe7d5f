"""protocol.tsv: the one table every model, score file and metric is checked against."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from ..errors import RcbError

COLUMNS = (
    "utt_id", "path", "label", "split", "track", "system", "speaker", "language", "text_id",
    "family", "channel", "codec", "snr_db", "duration", "source",
)  # fmt: skip
LABELS = ("human", "robocall")


def to_tsv(rows: list[dict]) -> str:
    """Serialise rows (dicts with :data:`COLUMNS`) as TSV with a header; tabs/newlines in values are refused."""
    buf = io.StringIO()
    buf.write("\t".join(COLUMNS) + "\n")
    for r in rows:
        vals = ["" if r.get(c) is None else str(r[c]) for c in COLUMNS]
        if any(("\t" in v or "\n" in v) for v in vals):
            raise RcbError(f"internal: protocol value with tab/newline in row {r.get('utt_id')}")
        buf.write("\t".join(vals) + "\n")
    return buf.getvalue()


def read_protocol(path: str | Path) -> list[dict[str, str]]:
    """Read a protocol.tsv into a list of dicts (strings). Raises RcbError naming the file on bad headers."""
    path = Path(path)
    if path.is_dir():
        path = path / "protocol.tsv"
    if not path.is_file():
        raise RcbError(
            f"{path} not found; build a corpus with `rcb corpus out=DIR` or pass the right corpus="
        )
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = {"utt_id", "label", "split"} - set(reader.fieldnames or [])
            if missing:
                raise RcbError(
                    f"{path}: header lacks {sorted(missing)}; is this a robocall-bench protocol.tsv?"
                )
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as e:
        raise RcbError(f"{path}: not a UTF-8 protocol table ({e}); rebuild it with `rcb corpus`") from None
    bad = [r["utt_id"] for r in rows if r["label"] not in LABELS]
    if bad:
        raise RcbError(f"{path}: {len(bad)} rows have a label other than human/robocall, e.g. {bad[:3]}")
    return rows


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()
