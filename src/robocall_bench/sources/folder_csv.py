"""A generic source: any folder of audio plus a CSV (path, speaker[, text, gender, language])."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import RcbError, SourceMissingError
from .base import HumanSource, Skipped, SourceItem


class FolderCsvSource(HumanSource):
    """Rows of ``csv`` (relative to the source folder) name an audio path and a speaker id."""

    def __init__(self, csv: str = "metadata.csv", **kw) -> None:
        super().__init__(**kw)
        self.csv = csv

    def scan(self, root: Path, seed: int) -> tuple[list[SourceItem], list[Skipped]]:
        folder = self.folder(root)
        table = folder / self.csv
        if not table.is_file():
            raise SourceMissingError(
                f"{table} is missing: the folder_csv source needs path,speaker[,text] rows."
            )
        items: list[SourceItem] = []
        skipped: list[Skipped] = []
        with io.StringIO(self.read_text(table), newline="") as f:
            reader = csv.DictReader(f)
            missing = {"path", "speaker"} - set(reader.fieldnames or [])
            if missing:
                raise RcbError(
                    f"{table}: missing column(s) {sorted(missing)}; the header needs path,speaker[,text]"
                )
            for i, row in enumerate(reader):
                p = (folder / row["path"]).resolve()
                if not p.is_file():
                    skipped.append(
                        Skipped(str(p), f"row {i + 2} of {table.name} names a file that does not exist")
                    )
                    continue
                it = self.single(
                    p, Path(row["path"]).with_suffix("").as_posix(), row["speaker"], (row.get("text") or "").strip() or None,
                    (row.get("gender") or "").strip()[:1].upper() or None, (row.get("language") or "").strip() or None,
                )  # fmt: skip
                (items if isinstance(it, SourceItem) else skipped).append(it)
        return items, skipped
