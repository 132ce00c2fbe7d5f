"""The corpus as a Hugging Face ``datasets.DatasetDict`` and as parquet files.

Audio stays undecoded (``Audio(decode=False)``): datasets decodes only through torchcodec +
FFmpeg, so users decode the stored FLAC bytes/paths with soundfile (see :func:`decode`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from ..contract import SPLITS, read_protocol
from ..errors import RcbError


def load_dataset_dict(corpus: str | Path, embed_audio: bool = False):
    """A DatasetDict (train/dev/eval) with protocol columns and an undecoded ``audio`` column.

    With ``embed_audio`` the FLAC bytes are stored in the table (self-contained parquet).
    """
    from datasets import Audio, Dataset, DatasetDict, Features, Value

    d = Path(corpus).resolve()
    rows = read_protocol(d, require=("path", "duration", "snr_db")).rows()
    if not rows:
        raise RcbError(f"{d}/protocol.tsv has no rows")
    cols = [c for c in rows[0] if c != "path"]
    feats = {c: Value("string") for c in cols}
    feats["duration"] = Value("float32")
    feats["snr_db"] = Value("float32")
    # Built as a plain struct and cast: encoding through the Audio feature needs torchcodec.
    feats["audio"] = {"bytes": Value("binary"), "path": Value("string")}
    out = {}
    for s in SPLITS:
        rs = [r for r in rows if r["split"] == s]
        data = {c: [r[c] for r in rs] for c in cols}
        data["duration"] = [float(r["duration"]) for r in rs]
        data["snr_db"] = [float(r["snr_db"]) if r["snr_db"] not in ("", None) else None for r in rs]
        data["audio"] = [
            {"path": str(d / r["path"]), "bytes": (d / r["path"]).read_bytes() if embed_audio else None}
            for r in rs
        ]
        out[s] = Dataset.from_dict(data, features=Features(feats)).cast_column("audio", Audio(decode=False))
    return DatasetDict(out)


def decode(audio: dict) -> tuple[np.ndarray, int]:
    """Decode one undecoded ``audio`` cell ({"path", "bytes"}) with soundfile: ((T,), rate)."""
    src = io.BytesIO(audio["bytes"]) if audio.get("bytes") else audio["path"]
    x, sr = sf.read(src, dtype="float32")
    return x, sr


def export_parquet(corpus: str | Path, out: str | Path | None = None) -> Path:
    """Write ``<out>/parquet/{train,dev,eval}.parquet`` with embedded FLAC bytes and copy the card."""
    d = Path(corpus).resolve()
    dst = Path(out).resolve() if out else d
    dd = load_dataset_dict(d, embed_audio=True)
    (dst / "parquet").mkdir(parents=True, exist_ok=True)
    for s, ds in dd.items():
        tmp = dst / "parquet" / f".{s}.parquet.tmp"
        ds.to_parquet(str(tmp))
        tmp.replace(dst / "parquet" / f"{s}.parquet")
    if dst != d and (d / "README.md").is_file():
        (dst / "README.md").write_text((d / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {', '.join(f'{s}: {len(ds)}' for s, ds in dd.items())} rows to {dst / 'parquet'}")
    return dst
