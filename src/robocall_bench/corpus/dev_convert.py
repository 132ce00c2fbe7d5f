"""Turn verified upstream files into the corpora-root layout the sources read (one function per part).

Each converter gets {path inside the part: verified cached file}, an empty temp folder to fill and
the pinned file list; the caller renames the folder into place. Upstream files are data only: the
FSDD speaker table is read from ``metadata.py`` with ``ast.literal_eval`` (never imported or run).
"""

from __future__ import annotations

import ast
import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import soundfile as sf

from ..errors import RcbError

if TYPE_CHECKING:
    from .dev_sample import PinnedFile

Converter = Callable[[dict[str, Path], Path, "list[PinnedFile]"], None]


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(src, dst)  # same file system in the usual case: a rename, no second copy on disk


def copy_files(files: dict[str, Path], out: Path, pinned: list[PinnedFile]) -> None:
    """Place every file at its part path, unchanged."""
    for rel, src in files.items():
        _place(src, out / rel)


def aishell(files: dict[str, Path], out: Path, pinned: list[PinnedFile]) -> None:
    """``ID.wav`` + ``ID.txt`` -> ``audio/ID.flac`` (16-bit, same samples) and ``transcripts.tsv``.

    transcripts.tsv: utt_id, speaker (``BAC009S0150W0001`` -> ``S0150``), seconds (3 decimals), text;
    tab-separated, CRLF rows, sorted by utt_id, as in the development copy.
    """
    (out / "audio").mkdir()
    rows = []
    for rel in sorted(r for r in files if r.endswith(".wav")):
        uid = PurePosixPath(rel).stem
        txt = files.get(rel[:-4] + ".txt")
        if txt is None:
            raise RcbError(f"aishell-sample: {rel} has no transcript {uid}.txt in the pinned files")
        x, sr = sf.read(files[rel], dtype="int16")
        sf.write(out / "audio" / f"{uid}.flac", x, sr, format="FLAC", subtype="PCM_16")
        text = txt.read_text(encoding="utf-8").strip()
        rows.append([uid, uid[6:11], f"{len(x) / sr:.3f}", text])
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t")
    w.writerow(["utt_id", "speaker", "seconds", "text"])
    w.writerows(rows)
    (out / "transcripts.tsv").write_text(buf.getvalue(), encoding="utf-8", newline="")


def speakers_from_metadata(source: str) -> list[dict[str, str]]:
    """Rows of ``speakers.csv`` from FSDD's ``metadata.py`` (a literal ``metadata = {speaker: {...}}``)."""
    try:
        tree = ast.parse(source)
        node = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "metadata" for t in n.targets))  # fmt: skip
        meta = ast.literal_eval(node)
        return [{"speaker": str(s), **{str(k): str(v) for k, v in m.items()}} for s, m in meta.items()]
    except (SyntaxError, StopIteration, ValueError, AttributeError, TypeError) as e:
        raise RcbError(f"fsdd: metadata.py is not the expected literal speaker table ({e})") from e


def write_speakers(metadata_py: Path, out_csv: Path) -> None:
    """``speakers.csv`` (speaker, gender, accent, language; LF rows) from FSDD's ``metadata.py``."""
    rows = speakers_from_metadata(metadata_py.read_text(encoding="utf-8"))
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    out_csv.write_text(buf.getvalue(), encoding="utf-8", newline="")


def fsdd(files: dict[str, Path], out: Path, pinned: list[PinnedFile]) -> None:
    """``recordings/`` and ``README.md`` unchanged; ``metadata.py`` becomes ``speakers.csv``."""
    meta = files.pop("metadata.py")
    write_speakers(meta, out / "speakers.csv")
    copy_files(files, out, pinned)


def robocall(files: dict[str, Path], out: Path, pinned: list[PinnedFile]) -> None:
    """``metadata.csv`` unchanged plus ``SOURCE.txt`` naming the repository, commit and sha256."""
    copy_files(files, out, pinned)
    f = next(p for p in pinned if p.dst == "metadata.csv")
    (out / "SOURCE.txt").write_text(
        f"repository: {f.repo.name} (https://github.com/{f.repo.name})\npath: {f.path}\ncommit: "
        f"{f.repo.commit}\nsha256: {f.sha256}\nbytes: {f.size}\nlicense: data public domain (see the "
        "repository README)\ncitation: Sathvik Prasad and Bradley Reaves, \"Robocall Audio from the FTC's "
        'Project Point of No Entry", NCSU tech report TR-2023-1, 2023.\n',
        encoding="utf-8",
    )


CONVERTERS: dict[str, Converter] = {
    "copy": copy_files,
    "aishell": aishell,
    "fsdd": fsdd,
    "robocall": robocall,
}
