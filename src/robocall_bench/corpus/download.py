"""``rcb corpus download``: fetch official source archives into the corpora-root layout.

Resumable (``.part`` files continue where they stopped), checksum-verified before use, extracted
into a temp folder and renamed into place so a killed run never leaves a half-extracted source.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..errors import RcbError
from ..paths import DEFAULT_DIR, configured_root, corpora_root


@dataclass(frozen=True)
class Archive:
    """An official archive: where it is, its sha256, and where its content goes under the root.

    ``inner``: the folder inside the archive to keep ("" = everything); ``subdir``: the target
    folder under the corpora root (what ``configs/source/*.yaml`` points at).
    """

    url: str
    sha256: str | None
    subdir: str
    inner: str = ""
    note: str = ""


# sha256 values of the LibriSpeech archives as published with torchaudio's LIBRISPEECH dataset.
REGISTRY: dict[str, Archive] = {
    "librispeech-dev-clean": Archive(
        "https://www.openslr.org/resources/12/dev-clean.tar.gz",
        "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
        "librispeech/dev-clean", "LibriSpeech",
    ),
    "librispeech-test-clean": Archive(
        "https://www.openslr.org/resources/12/test-clean.tar.gz",
        "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
        "librispeech/test-clean", "LibriSpeech",
    ),
    "fsdd": Archive(
        "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz",
        None, "fsdd", "free-spoken-digit-dataset-1.0.10",
        note="no published sha256: the computed one is printed; pin it with sha256=... for reproducibility",
    ),
}  # fmt: skip


def _open(url: str, offset: int):
    """(stream, total size or None) starting at byte ``offset``; file:// mirrors seek, HTTP uses Range."""
    u = urlparse(url)
    if u.scheme == "file":
        f = open(urllib.request.url2pathname(u.path), "rb")  # noqa: SIM115 - returned to caller
        total = Path(f.name).stat().st_size
        f.seek(offset)
        return f, total
    req = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    r = urllib.request.urlopen(req, timeout=60)
    if offset and r.status != 206:  # server ignored Range: start again
        raise RcbError(f"{url} does not support resuming; delete the .part file and retry")
    length = r.headers.get("Content-Length")
    return r, (offset + int(length)) if length else None


def fetch(url: str, dest: Path, sha256: str | None, chunk: int = 1 << 20) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``) and return its sha256 (checked if given)."""
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    try:
        stream, total = _open(url, offset)
    except OSError as e:
        raise RcbError(
            f"cannot reach {url} ({e}); check the network or pass mirror=URL of a local copy"
        ) from e
    cols = (TextColumn(dest.name), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with stream, part.open("ab") as out, Progress(*cols) as bar:
        task = bar.add_task("get", total=total, completed=offset)
        while buf := stream.read(chunk):
            out.write(buf)
            bar.advance(task, len(buf))
    h = hashlib.sha256()
    with part.open("rb") as f:
        while b := f.read(chunk):
            h.update(b)
    got = h.hexdigest()
    if sha256 and got != sha256:
        part.unlink()
        raise RcbError(
            f"{url}: sha256 {got} != expected {sha256}; the download was corrupt and is deleted, retry"
        )
    part.replace(dest)
    return got


def extract(archive: Path, target: Path, inner: str) -> None:
    """Extract ``inner`` of ``archive`` into ``target`` via a temp folder and a final rename."""
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")  # "data" refuses absolute paths and links out of tmp
        src = tmp / inner if inner else tmp
        if not src.is_dir():
            raise RcbError(f"{archive}: expected a folder {inner!r} inside; is it the right archive?")
        if target.exists():
            shutil.rmtree(target)
        src.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download(
    name: str, root: str | None = None, mirror: str | None = None, sha256: str | None = None
) -> Path:
    """Fetch source ``name`` into ``<corpora root>/<subdir>``; ``mirror`` replaces the archive's base URL."""
    if name not in REGISTRY:
        raise RcbError(f"unknown download {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    a = REGISTRY[name]
    root = configured_root(root) or DEFAULT_DIR  # nothing configured: fill ./corpora
    Path(root).mkdir(parents=True, exist_ok=True)
    base = corpora_root(root)
    url = a.url if not mirror else mirror.rstrip("/") + "/" + Path(urlparse(a.url).path).name
    archive = base / ".downloads" / Path(urlparse(url).path).name
    got = fetch(url, archive, sha256 or a.sha256)
    target = base / a.subdir
    target.parent.mkdir(parents=True, exist_ok=True)
    extract(archive, target, a.inner)
    print(f"{name}: {url} sha256 {got} -> {target}" + (f" ({a.note})" if a.note and not a.sha256 else ""))
    return target
