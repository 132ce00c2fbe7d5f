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


# The Hub's parquet viewer and `datasets` stream shards best well under ~500 MB each.
MAX_SHARD_BYTES = 256 * 1024 * 1024


def shard_name(split: str, i: int, n: int) -> str:
    """``{split}-{i:05d}-of-{n:05d}.parquet``: the Hub's shard naming, matched by the card's data_files glob."""
    return f"{split}-{i:05d}-of-{n:05d}.parquet"


def export_parquet(corpus: str | Path, out: str | Path | None = None, max_shard_bytes: int = MAX_SHARD_BYTES) -> Path:
    """Write ``<out>/parquet/{split}-NNNNN-of-NNNNN.parquet`` (embedded FLAC bytes, shards of at most
    about ``max_shard_bytes`` of audio) and the dataset card ``<out>/README.md``, whose front matter
    names the shards: ``datasets.load_dataset(str(out))`` or a Hub upload of ``out`` loads them as is.

    Old shards of an earlier export are removed (a smaller corpus must not leave stale rows behind).
    """
    d = Path(corpus).resolve()
    dst = Path(out).resolve() if out else d
    dd = load_dataset_dict(d, embed_audio=True)
    pq_dir = dst / "parquet"
    pq_dir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    for s, ds in dd.items():
        audio_bytes = sum(len(a["bytes"] or b"") for a in ds["audio"])
        n = min(max(1, len(ds)), max(1, -(-audio_bytes // max(1, int(max_shard_bytes)))))
        for i in range(n):
            name = shard_name(s, i, n)
            tmp = pq_dir / f".{name}.tmp"
            ds.shard(num_shards=n, index=i, contiguous=True).to_parquet(str(tmp))
            tmp.replace(pq_dir / name)
            written.add(name)
    for old in pq_dir.glob("*.parquet"):
        if old.name not in written:
            old.unlink()
    if dst != d and (d / "README.md").is_file():
        (dst / "README.md").write_text((d / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {', '.join(f'{s}: {len(ds)}' for s, ds in dd.items())} rows in {len(written)} shard(s) to {pq_dir}")
    return dst
