"""``rcb corpus download``: fetch the development sample or official archives into the corpora root.

Resumable (``.part`` files continue where they stopped), checksum-verified before use, extracted
or converted in a temp folder and renamed into place so a killed run never leaves a half-made
source. The development sample (``name=dev-sample`` and its parts) is in :mod:`.dev_sample`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from ..errors import RcbError
from ..paths import DEFAULT_DIR, MIRROR_ENV, configured_root, corpora_root, temp_dir_beside


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
    verify: tuple[str, tuple[str, ...]] = ()  # (dev part, path prefixes): its pinned files are checked inside


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
        note="GitHub archive bytes are not stable, so every recording is checked against its pinned sha256",
        verify=("fsdd-recordings", ("recordings/", "metadata.py")),
    ),
}  # fmt: skip


ALLOWED_SCHEMES = ("https", "http", "file")


def _open(url: str, offset: int):
    """(stream, total size or None, resumed) from byte ``offset``; file:// mirrors seek, HTTP asks for a Range."""
    u = urlparse(url)
    if u.scheme not in ALLOWED_SCHEMES:
        raise RcbError(f"{url}: only https://, http:// and file:// URLs are fetched; fix mirror=")
    if u.scheme == "file":
        f = open(urllib.request.url2pathname(u.path), "rb")  # noqa: SIM115 - returned to caller
        total = Path(f.name).stat().st_size
        f.seek(offset)
        return f, total, True
    req = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    r = urllib.request.urlopen(req, timeout=60)
    length = r.headers.get("Content-Length")
    resumed = offset > 0 and r.status == 206  # a server that ignores Range sends the whole file again
    return r, ((offset if resumed else 0) + int(length)) if length else None, resumed


RETRY_STATUS = (429, 500, 502, 503, 504)  # busy or briefly failing servers: wait and retry
RETRIES = 4


class _Transient(Exception):
    """A failure worth retrying: a busy server, a timeout, a dropped connection (what arrived is kept)."""


def fetch(
    url: str,
    dest: Path,
    sha256: str | None,
    chunk: int = 1 << 20,
    size: int | None = None,
    progress: tuple[Progress, TaskID] | None = None,
) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``) and return its sha256 (checked if given).

    ``size``: the expected byte count (a complete ``.part`` is then hashed without a request);
    ``progress``: a shared (Progress, task) to advance instead of a bar of its own. A finished
    ``dest`` is re-hashed and kept when it matches; a mismatching file is deleted before the error.
    Busy servers (HTTP 429/5xx), timeouts and dropped connections are retried with backoff, resuming.
    """
    part = dest.with_name(dest.name + ".part")
    credited = [0]  # bytes of this file shown on the shared bar

    def show(pos: int) -> None:
        if progress:
            progress[0].advance(progress[1], pos - credited[0])
            credited[0] = pos

    if dest.is_file() and sha256 and _sha256(dest, chunk) == sha256:
        show(dest.stat().st_size)
        return sha256
    for attempt in range(RETRIES + 1):
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:  # not a prefix of the pinned file: start again
            part.unlink()
            offset = 0
        if size is not None and offset == size:
            show(offset)
            break
        try:
            _stream(url, part, offset, chunk, show if progress else None)
            break
        except _Transient as e:
            if attempt == RETRIES:
                raise RcbError(f"download of {url} failed {RETRIES + 1} times ({e}); rerun the same "
                               "command to resume") from e  # fmt: skip
            time.sleep(min(30.0, 2.0**attempt))
    got = _sha256(part, chunk)
    if sha256 and got != sha256:
        part.unlink()
        raise RcbError(
            f"{url}: sha256 {got} != expected {sha256}; the download was corrupt and is deleted, retry"
        )
    part.replace(dest)
    return got


def _sha256(path: Path, chunk: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def _stream(url: str, part: Path, offset: int, chunk: int, show: Callable[[int], None] | None) -> None:
    """Append ``url`` from ``offset`` to ``part`` (or rewrite it when the server ignores Range).

    ``show(position)`` reports progress; without it the file gets a bar of its own.
    """
    try:
        stream, total, resumed = _open(url, offset)
    except urllib.error.HTTPError as e:
        if e.code in RETRY_STATUS:
            raise _Transient(f"HTTP {e.code}") from e
        raise RcbError(f"cannot get {url} ({e}); check the URL or pass mirror=URL of a local copy") from e
    except (TimeoutError, ConnectionResetError) as e:
        raise _Transient(str(e) or type(e).__name__) from e
    except OSError as e:
        raise RcbError(
            f"cannot reach {url} ({e}); check the network or pass mirror=URL of a local copy"
        ) from e
    pos = offset if resumed else 0
    part.parent.mkdir(parents=True, exist_ok=True)  # only once the source answered
    own = None
    if show is None:
        cols = (TextColumn(part.name[: -len(".part")]), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        own = Progress(*cols)
        task = own.add_task("get", total=total, completed=pos)
        own.start()
    elif show:
        show(pos)
    try:
        with stream, part.open("ab" if resumed else "wb") as out:
            while buf := stream.read(chunk):
                out.write(buf)
                pos += len(buf)
                if own:
                    own.update(task, completed=pos)
                elif show:
                    show(pos)
        if total is not None and pos < total:  # http.client reads a closed connection as a quiet EOF
            raise _Transient(f"connection closed after {pos} of {total} bytes")
    except OSError as e:  # timeouts and resets mid-file: the bytes so far stay in .part
        raise _Transient(str(e) or type(e).__name__) from e
    finally:
        if own:
            own.stop()


def extract(archive: Path, target: Path, inner: str, verify: tuple[str, tuple[str, ...]] = ()) -> None:
    """Extract ``inner`` of ``archive`` into ``target`` via a temp folder and a final rename.

    ``verify``: (dev part, prefixes) whose pinned files must be inside with their sha256 (FSDD: then
    ``speakers.csv`` is written from ``metadata.py``), checked before the rename.
    """
    tmp = temp_dir_beside(target)
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
        if verify:
            _verify_inside(archive, src, *verify)
        src.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _verify_inside(archive: Path, folder: Path, part: str, prefixes: tuple[str, ...]) -> None:
    from . import dev_convert
    from .dev_sample import part_files

    bad = [f.dst for f in part_files(part) if f.dst.startswith(prefixes)
           and not ((folder / f.dst).is_file() and _sha256(folder / f.dst, 1 << 20) == f.sha256)]  # fmt: skip
    if bad:
        archive.unlink(missing_ok=True)
        raise RcbError(f"{archive}: {len(bad)} files missing or not the pinned ones (first: {bad[0]}); "
                       "the archive is deleted, retry, or use name=dev-sample")  # fmt: skip
    if (folder / "metadata.py").is_file():
        dev_convert.write_speakers(folder / "metadata.py", folder / "speakers.csv")


def _mirror(mirror: str | None) -> str | None:
    """``mirror`` or ``$RCB_MIRROR`` (None = upstream), refused unless https://, http:// or file://."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if mirror and urlparse(mirror).scheme not in ALLOWED_SCHEMES:
        raise RcbError(
            f"mirror={mirror}: give an https://, http:// or file:// URL (a local folder: file:///abs/path)"
        )
    return mirror


def _prepare_root(root: str | os.PathLike | None) -> Path:
    """The corpora root to fill (``root``, ``$RCB_CORPORA``, else ``./corpora``), created if absent."""
    raw = configured_root(root) or DEFAULT_DIR  # nothing configured: fill ./corpora
    rp = Path(raw)
    if rp.is_symlink() and not rp.exists():
        raise RcbError(f"{raw} is a link to {os.readlink(rp)}, which does not exist; fix or remove the link")
    try:
        rp.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RcbError(f"cannot create the corpora root {raw} ({e}); pass root=DIR") from e
    return corpora_root(raw)


def download_into(
    parts: list[str], root: str | os.PathLike | None = None, mirror: str | None = None
) -> list[Path]:
    """Fetch development-sample ``parts`` (names in dev_sample.PARTS) into the corpora root; their folders."""
    from .dev_sample import download_parts

    mirror = _mirror(mirror)
    return download_parts(parts, _prepare_root(root), mirror)


def download(
    name: str, root: str | None = None, mirror: str | None = None, sha256: str | None = None
) -> Path:
    """Fetch source ``name`` into the corpora root; returns the folder filled (the root for ``dev-sample``).

    ``mirror`` (else ``$RCB_MIRROR``): for the development sample a base URL that replaces
    https://raw.githubusercontent.com (a tree OWNER/REPO/COMMIT/PATH); for an archive, the folder
    that holds it. A folder that already exists under the root is kept, never overwritten.
    """
    from .dev_sample import ALL, PARTS, plan_bytes, prune_empty, resolve_names

    if name not in REGISTRY and name not in PARTS and name != ALL:
        names = sorted([ALL, *PARTS, *REGISTRY])
        raise RcbError(f"unknown download {name!r}; choose from {', '.join(names)}")
    mirror = _mirror(mirror)
    base = _prepare_root(root)
    if name not in REGISTRY:
        parts = resolve_names(name)
        n, size = plan_bytes(parts)
        print(f"{name}: up to {n:,} files, {size / 1e6:.0f} MB, sha256-checked, into {base}")
        targets = download_into(parts, base, mirror)
        return base if name == ALL else targets[0]
    a = REGISTRY[name]
    target = base / a.subdir
    if target.exists():
        print(f"{name}: {target} exists, kept (move it away to download it again)")
        return target
    url = a.url if not mirror else mirror.rstrip("/") + "/" + Path(urlparse(a.url).path).name
    archive = base / ".downloads" / Path(urlparse(url).path).name
    got = fetch(url, archive, sha256 or a.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    extract(archive, target, a.inner, a.verify)
    archive.unlink()  # extracted and checked: the archive is not needed again
    prune_empty(base / ".downloads")
    print(f"{name}: {url} sha256 {got} -> {target}" + (f" ({a.note})" if a.note and not a.sha256 else ""))
    return target
