"""`rcb corpus download name=dev-sample` against a synthetic file:// mirror: layout, sha256, resume, safety."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirror_support import make_mirror, mirror_dir, mirror_path
from robocall_bench.cli import main
from robocall_bench.corpus import dev_sample
from robocall_bench.corpus.dev_convert import speakers_from_metadata
from robocall_bench.corpus.download import download
from robocall_bench.errors import RcbError


@pytest.fixture(scope="module")
def mirror_template(tmp_path_factory):
    return make_mirror(tmp_path_factory.mktemp("upstream"))


@pytest.fixture
def mirror(mirror_template, tmp_path, monkeypatch):
    """A fresh copy of the synthetic mirror per test (tests corrupt or remove its files)."""
    url, pinned, layout = mirror_template
    shutil.copytree(mirror_dir(url), tmp_path / "mirror")
    monkeypatch.setattr(dev_sample, "MANIFEST_PATH", pinned)
    monkeypatch.delenv("RCB_MIRROR", raising=False)
    monkeypatch.delenv("RCB_CORPORA", raising=False)
    return (tmp_path / "mirror").as_uri(), layout


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")]


def test_pinned_table_covers_every_part_at_full_commits():
    manifest = dev_sample.load_manifest()
    files = {n: dev_sample.part_files(n, manifest) for n in dev_sample.PARTS}
    counts = {n: len(f) for n, f in files.items()}
    assert counts == {"librispeech-sample": 354, "aishell-sample": 2000, "fsdd-recordings": 3002,
                      "robocall-transcripts": 1, "noise": 3}  # fmt: skip
    assert dev_sample.plan_bytes(list(dev_sample.PARTS)) == (5360, 238_024_161)
    for f in (f for fs in files.values() for f in fs):
        assert re.fullmatch(r"[0-9a-f]{40}", f.repo.commit) and re.fullmatch(r"[0-9a-f]{64}", f.sha256)
        assert f.url(dev_sample.UPSTREAM).startswith(f"https://raw.githubusercontent.com/{f.repo.name}/")
    assert {f.dst for f in files["aishell-sample"]} >= {"BAC009S0150W0001.wav", "BAC009S0150W0001.txt"}
    assert sum(f.dst.startswith("train-clean-100/") for f in files["librispeech-sample"]) == 252


def test_dev_sample_from_a_mirror_is_the_layout(mirror, tmp_path):
    url, layout = mirror
    root = tmp_path / "corpora"
    assert main(["corpus", "download", "name=dev-sample", f"root={root}", f"mirror={url}"]) == 0
    assert sorted(p.name for p in root.iterdir()) == sorted(p.subdir for p in dev_sample.PARTS.values())
    assert not _leftovers(root)  # no cache, temp folder or .part left
    for sub in ("librispeech-sample", "fsdd/recordings", "noise"):
        assert _files(root / sub) == _files(layout / sub)
        assert all(
            (root / sub / f).read_bytes() == (layout / sub / f).read_bytes() for f in _files(root / sub)
        )
    assert (root / "fsdd" / "speakers.csv").read_text() == (layout / "fsdd" / "speakers.csv").read_text()
    assert not (root / "fsdd" / "metadata.py").exists()
    ai, ref = root / "aishell-sample", layout / "aishell-sample"
    assert _files(ai / "audio") == _files(ref / "audio")
    for f in _files(ref / "audio"):
        a, sra = sf.read(ai / "audio" / f, dtype="int16")
        b, srb = sf.read(ref / "audio" / f, dtype="int16")
        assert sra == srb and np.array_equal(a, b) and sf.info(ai / "audio" / f).format == "FLAC"
    raw = (ai / "transcripts.tsv").read_bytes()
    assert raw.startswith(b"utt_id\tspeaker\tseconds\ttext\r\n")
    got = list(csv.DictReader(raw.decode().splitlines(), delimiter="\t"))
    with (ref / "transcripts.tsv").open(encoding="utf-8") as f:
        want = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["utt_id"], r["speaker"], r["text"]) for r in got] == [
        (r["utt_id"], r["utt_id"][6:11], r["text"]) for r in sorted(want, key=lambda r: r["utt_id"])
    ]
    for r in got:
        assert r["seconds"] == f"{sf.info(ai / 'audio' / (r['utt_id'] + '.flac')).frames / 16000:.3f}"
    meta = root / "robocall-transcripts"
    assert (meta / "metadata.csv").read_bytes() == (
        layout / "robocall-transcripts" / "metadata.csv"
    ).read_bytes()
    assert dev_sample.REPOS["robocall"].commit in (meta / "SOURCE.txt").read_text()
    before = {f: (root / f).stat().st_mtime_ns for f in _files(root)}
    download("dev-sample", str(root), url)  # a second run keeps every folder as it is
    assert {f: (root / f).stat().st_mtime_ns for f in _files(root)} == before


def test_corrupted_file_is_refused_and_no_folder_is_half_made(mirror, tmp_path):
    url, _ = mirror
    bad = mirror_path(url, "aishell", "AISHELL_Sample_data/BAC009S0002W0001.wav")
    good = bad.read_bytes()
    bad.write_bytes(good[:-100] + bytes(100))
    root = tmp_path / "corpora"
    with pytest.raises(RcbError, match=r"BAC009S0002W0001\.wav: sha256 .* != expected"):
        download("aishell-sample", str(root), url)
    assert not (root / "aishell-sample").exists()
    assert not list(root.rglob("BAC009S0002W0001.wav*"))  # the corrupt bytes are deleted, not kept
    bad.write_bytes(good)
    download("aishell-sample", str(root), url)
    assert len(list((root / "aishell-sample" / "audio").glob("*.flac"))) == 12 and not _leftovers(root)


def test_interrupted_download_resumes_from_the_cache_and_part_files(mirror, tmp_path):
    url, layout = mirror
    root = tmp_path / "corpora"
    one = "recordings/3_theo_0.wav"
    src = mirror_path(url, "fsdd", one)
    data = src.read_bytes()
    src.unlink()  # the "connection" drops before this file
    with pytest.raises(RcbError, match="cannot reach"):
        download("fsdd-recordings", str(root), url)
    assert not (root / "fsdd").exists()
    r = dev_sample.REPOS["fsdd"]
    cache = root / ".downloads" / r.name / r.commit
    fetched = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())
    assert one not in fetched and len(fetched) >= 1
    for rel in fetched:  # what was verified before the stop must not be fetched again
        mirror_path(url, "fsdd", rel).unlink()
    half = len(data) // 2
    (cache / (one + ".part")).write_bytes(data[:half])  # a file cut off mid-way
    src.write_bytes(bytes(half) + data[half:])  # only the rest is right: a restart would fail sha256
    download("fsdd-recordings", str(root), url)
    assert (root / "fsdd" / one).read_bytes() == data == (layout / "fsdd" / one).read_bytes()
    assert not (root / ".downloads").exists()


def test_unreachable_mirror_and_bad_urls_stop_cleanly(mirror, tmp_path):
    root = tmp_path / "corpora"
    with pytest.raises(RcbError, match=r"cannot reach http://127\.0\.0\.1:9/.*mirror=URL"):
        download("noise", str(root), "http://127.0.0.1:9")
    assert root.is_dir() and not list(root.iterdir())
    with pytest.raises(RcbError, match="https://, http:// or file://"):
        download("noise", str(root), "ftp://example.invalid/x")
    with pytest.raises(RcbError, match="unknown download 'nope'.*dev-sample"):
        download("nope", str(root))


def test_existing_folder_is_kept_not_overwritten(mirror, tmp_path):
    url, _ = mirror
    root = tmp_path / "corpora"
    (root / "noise").mkdir(parents=True)
    (root / "noise" / "mine.wav").write_bytes(b"user data")
    assert download("noise", str(root), url) == root / "noise"
    assert _files(root / "noise") == {"mine.wav"}


def test_fsdd_metadata_is_read_as_a_literal_never_run(tmp_path):
    rows = speakers_from_metadata("metadata = {'theo': {'gender': 'male', 'accent': 'USA/neutral'}}\n")
    assert rows == [{"speaker": "theo", "gender": "male", "accent": "USA/neutral"}]
    flag = tmp_path / "ran"
    with pytest.raises(RcbError, match="literal speaker table"):
        speakers_from_metadata(f"metadata = __import__('pathlib').Path({str(flag)!r}).touch()\n")
    assert not flag.exists()


def test_manifest_rows_with_unsafe_paths_are_refused(tmp_path, monkeypatch):
    import gzip

    bad = tmp_path / "bad.tsv.gz"
    with gzip.open(bad, "wt") as f:
        f.write(f"fsdd\t../../etc/passwd\t3\t{'0' * 64}\n")
    monkeypatch.setattr(dev_sample, "MANIFEST_PATH", bad)
    with pytest.raises(RcbError, match="unsafe path"):
        dev_sample.load_manifest()
