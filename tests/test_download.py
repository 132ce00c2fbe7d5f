"""Downloaders against a local file:// mirror: checksum, resume, layout, errors."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from robocall_bench.corpus import download as dl
from robocall_bench.errors import RcbError


def _archive(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in {
            "LibriSpeech/SPEAKERS.TXT": b"1 | F | dev-clean | 1.0 | A\n",
            "LibriSpeech/dev-clean/1/2/1-2.trans.txt": b"1-2-0000 HELLO\n",
            "LibriSpeech/dev-clean/1/2/1-2-0000.flac": b"not really flac" * 1000,
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    (src / "dev-clean.tar.gz").write_bytes(data)
    return src, data


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    src, data = _archive(tmp_path)
    entry = dl.Archive("https://example.invalid/12/dev-clean.tar.gz", hashlib.sha256(data).hexdigest(),
                       "librispeech/dev-clean", "LibriSpeech")  # fmt: skip
    monkeypatch.setitem(dl.REGISTRY, "test-ls", entry)
    return src, data


def test_download_from_mirror_into_layout(tmp_path, fake_registry):
    src, _ = fake_registry
    root = tmp_path / "corpora"
    target = dl.download("test-ls", str(root), src.as_uri())
    assert target == root / "librispeech" / "dev-clean"
    assert (target / "dev-clean" / "1" / "2" / "1-2.trans.txt").is_file() and (
        target / "SPEAKERS.TXT"
    ).is_file()
    assert not list(root.rglob("*.part"))


def test_resume_from_partial_file(tmp_path, fake_registry):
    src, data = fake_registry
    dest = tmp_path / "dl" / "dev-clean.tar.gz"
    dest.parent.mkdir()
    (dest.parent / "dev-clean.tar.gz.part").write_bytes(data[: len(data) // 2])
    got = dl.fetch((src / "dev-clean.tar.gz").as_uri(), dest, hashlib.sha256(data).hexdigest())
    assert got == hashlib.sha256(data).hexdigest() and dest.read_bytes() == data


def test_checksum_mismatch_and_unknown_names(tmp_path, fake_registry):
    src, _ = fake_registry
    with pytest.raises(RcbError, match="sha256"):
        dl.fetch((src / "dev-clean.tar.gz").as_uri(), tmp_path / "x.tar.gz", "0" * 64)
    assert not (tmp_path / "x.tar.gz.part").exists() and not (tmp_path / "x.tar.gz").exists()
    with pytest.raises(RcbError, match="unknown download"):
        dl.download("nope", str(tmp_path))
    with pytest.raises(RcbError, match="mirror=URL"):
        dl.fetch((tmp_path / "absent.tar.gz").as_uri(), tmp_path / "y.tar.gz", None)


def test_registry_names_official_sources():
    assert {"librispeech-dev-clean", "librispeech-test-clean", "fsdd"} <= set(dl.REGISTRY)
    for a in dl.REGISTRY.values():
        assert a.url.startswith("https://") and (a.sha256 is None or len(a.sha256) == 64)
