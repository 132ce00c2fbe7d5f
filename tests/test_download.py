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


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server for ``tmp_path/www`` that, like some servers, ignores Range requests."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_server_ignoring_range_restarts_the_file(tmp_path, http_dir):
    www, base = http_dir
    data = bytes(range(256)) * 400
    (www / "f.bin").write_bytes(data)
    dest = tmp_path / "dl" / "f.bin"
    dest.parent.mkdir()
    (dest.parent / "f.bin.part").write_bytes(b"x" * 5000)  # a stale partial file of another download
    got = dl.fetch(f"{base}/f.bin", dest, hashlib.sha256(data).hexdigest(), size=len(data))
    assert got == hashlib.sha256(data).hexdigest() and dest.read_bytes() == data
    assert not (dest.parent / "f.bin.part").exists()


def _fsdd_archive(tmp_path, recording: bytes):
    meta = b"metadata = {'theo': {'gender': 'male', 'accent': 'USA/neutral', 'language': 'english'}}\n"
    files = {
        "fsdd/recordings/0_theo_0.wav": recording,
        "fsdd/metadata.py": meta,
        "fsdd/README.md": b"# FSDD\n",
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    (tmp_path / "v.tar.gz").write_bytes(buf.getvalue())
    return meta


def test_fsdd_archive_is_checked_file_by_file_and_gets_speakers_csv(tmp_path, monkeypatch):
    import gzip

    from robocall_bench.corpus import dev_sample

    wav = b"RIFF fake recording" * 50
    meta = _fsdd_archive(tmp_path, wav)
    pinned = tmp_path / "pinned.tsv.gz"
    with gzip.open(pinned, "wt") as f:
        for path, data in (("recordings/0_theo_0.wav", wav), ("metadata.py", meta)):
            f.write(f"fsdd\t{path}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n")
    monkeypatch.setattr(dev_sample, "MANIFEST_PATH", pinned)
    monkeypatch.setitem(dl.REGISTRY, "test-fsdd", dl.Archive("https://example.invalid/v.tar.gz", None, "fsdd",
                                                              "fsdd", verify=dl.REGISTRY["fsdd"].verify))  # fmt: skip
    target = dl.download("test-fsdd", str(tmp_path / "corpora"), tmp_path.as_uri())
    assert (target / "recordings" / "0_theo_0.wav").read_bytes() == wav
    assert (
        target / "speakers.csv"
    ).read_text() == "speaker,gender,accent,language\ntheo,male,USA/neutral,english\n"
    assert not (tmp_path / "corpora" / ".downloads").exists()
    _fsdd_archive(tmp_path, wav[:-1] + b"!")  # one recording differs from the pinned one
    with pytest.raises(
        RcbError, match=r"1 files missing or not the pinned ones \(first: recordings/0_theo_0.wav\)"
    ):
        dl.download("test-fsdd", str(tmp_path / "other"), tmp_path.as_uri())
    assert not (tmp_path / "other" / "fsdd").exists() and not list((tmp_path / "other").rglob("*.tar.gz"))


def test_busy_server_is_retried_and_the_file_resumed(tmp_path, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    data = bytes(range(256)) * 300
    seen: list[str] = []

    class Flaky(BaseHTTPRequestHandler):
        """503 first, then half the file and a dropped connection, then the rest on a Range request."""

        def do_GET(self):
            seen.append(self.headers.get("Range") or "-")
            if len(seen) == 1:
                self.send_error(503)
                return
            start = int(self.headers["Range"][6:-1]) if self.headers.get("Range") else 0
            body = data[start:] if len(seen) > 2 else data[: len(data) // 2]
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(body)  # the second answer stops early: the client sees a short read
            self.close_connection = True

        def log_message(self, *a):
            pass

    monkeypatch.setattr(dl.time, "sleep", lambda s: None)  # no real backoff waits in the test
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "f.bin"
        url = f"http://127.0.0.1:{srv.server_address[1]}/f.bin"
        assert (
            dl.fetch(url, dest, hashlib.sha256(data).hexdigest(), size=len(data))
            == hashlib.sha256(data).hexdigest()
        )
    finally:
        srv.shutdown()
        srv.server_close()
    assert dest.read_bytes() == data and seen == ["-", "-", f"bytes={len(data) // 2}-"]
