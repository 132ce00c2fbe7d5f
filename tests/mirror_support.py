"""A synthetic upstream mirror for the development-sample downloader (offline, seconds).

``make_mirror`` turns a corpora-root layout (conftest.make_corpora_root) back into the upstream
repositories' files, laid out as raw.githubusercontent.com serves them (OWNER/REPO/COMMIT/PATH),
and writes the pinned table (repo, path, bytes, sha256) for exactly those files.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import soundfile as sf

from conftest import make_corpora_root
from robocall_bench.corpus.dev_sample import REPOS


def upstream_files(layout: Path) -> dict[tuple[str, str], bytes]:
    """{(repo key, upstream path): bytes} that the downloader turns into ``layout``."""
    out: dict[tuple[str, str], bytes] = {}
    ls = layout / "librispeech-sample"
    for sub, up in (
        ("train-clean-100", "librispeech_train-clean-100"),
        ("test-other", "librispeech_test-other"),
    ):
        for p in sorted((ls / sub).rglob("*")) if (ls / sub).is_dir() else []:
            if p.is_file():
                out["resemblyzer", f"audio_data/{up}/{p.relative_to(ls / sub).as_posix()}"] = p.read_bytes()
    ai = layout / "aishell-sample"
    with (ai / "transcripts.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            x, sr = sf.read(ai / "audio" / f"{row['utt_id']}.flac", dtype="int16")
            wav = ai / f"{row['utt_id']}.wav"
            sf.write(wav, x, sr, format="WAV", subtype="PCM_16")
            out["aishell", f"AISHELL_Sample_data/{row['utt_id']}.wav"] = wav.read_bytes()
            wav.unlink()
            out["aishell", f"AISHELL_Sample_data/{row['utt_id']}.txt"] = (row["text"] + "\n").encode()
    fs = layout / "fsdd"
    for p in sorted((fs / "recordings").glob("*.wav")):
        out["fsdd", f"recordings/{p.name}"] = p.read_bytes()
    out["fsdd", "README.md"] = b"# Free Spoken Digit Dataset (synthetic)\n"
    with (fs / "speakers.csv").open(encoding="utf-8", newline="") as f:
        meta = {r.pop("speaker"): dict(r) for r in csv.DictReader(f)}
    out["fsdd", "metadata.py"] = f'"""Speakers."""\n\nmetadata = {meta!r}\n'.encode()
    out["robocall", "metadata.csv"] = (layout / "robocall-transcripts" / "metadata.csv").read_bytes()
    noise = next((layout / "noise").glob("*.wav")).read_bytes()
    out["pyroomacoustics", "examples/input_samples/doing_the_dishes.wav"] = noise
    out["pyroomacoustics", "notebooks/exercise_bike.wav"] = noise
    out["spatialaudio", "data/rir_clap.wav"] = noise
    return out


def write_mirror(files: dict[tuple[str, str], bytes], mirror: Path, manifest: Path) -> str:
    """Write ``files`` as OWNER/REPO/COMMIT/PATH under ``mirror`` and their pinned table; the file:// URL."""
    rows = []
    for (key, path), data in sorted(files.items()):
        r = REPOS[key]
        dst = mirror / r.name / r.commit / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        rows.append(f"{key}\t{path}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n")
    with gzip.open(manifest, "wt", encoding="utf-8") as f:
        f.write("# synthetic pinned table\n" + "".join(rows))
    return mirror.as_uri()


def make_mirror(tmp: Path) -> tuple[str, Path, Path]:
    """(file:// mirror URL, pinned table path, the layout the download must reproduce) under ``tmp``."""
    layout = make_corpora_root(tmp / "layout")
    babble = next((layout / "noise").glob("*.wav"))
    for name in ("doing_the_dishes.wav", "exercise_bike.wav", "rir_clap.wav"):
        shutil.copy(babble, layout / "noise" / name)
    babble.unlink()
    url = write_mirror(upstream_files(layout), tmp / "mirror", tmp / "pinned.tsv.gz")
    return url, tmp / "pinned.tsv.gz", layout


def mirror_dir(mirror_url: str) -> Path:
    """The folder behind a file:// mirror URL."""
    return Path(url2pathname(urlparse(mirror_url).path))


def mirror_path(mirror_url: str, key: str, path: str) -> Path:
    """The mirror's copy of upstream ``path`` of repository ``key``."""
    r = REPOS[key]
    return mirror_dir(mirror_url) / r.name / r.commit / path
