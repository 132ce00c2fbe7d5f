"""The development sample: public GitHub files at pinned commits, checked against pinned sha256 values.

``rcb corpus download name=dev-sample`` fills the corpora root with exactly the folders the presets
read (``librispeech-sample/``, ``aishell-sample/``, ``fsdd/``, ``robocall-transcripts/``, ``noise/``),
one part per folder. Every file is fetched on its own from
``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH`` (or ``<mirror>/OWNER/REPO/COMMIT/PATH``),
resumed from its ``.part`` file and refused unless its sha256 equals the pinned one in
``dev_sample_files.tsv.gz`` (columns repo, path, bytes, sha256; each line is
``git show COMMIT:PATH | sha256sum`` of the repository below). Only verified bytes reach the
converters, and each part is assembled in a hidden temp folder and renamed into place, so a killed
run leaves no half-made folder; the next run resumes from the cache in ``.downloads/``.
"""

from __future__ import annotations

import gzip
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..errors import RcbError
from ..paths import temp_dir_beside
from . import dev_convert

UPSTREAM = "https://raw.githubusercontent.com"
MANIFEST_PATH = Path(__file__).with_name("dev_sample_files.tsv.gz")
WORKERS = 8  # files in flight: raw.githubusercontent.com answers small files faster than one stream fills


@dataclass(frozen=True)
class Repo:
    """A public repository at the commit whose files match the development copies."""

    name: str  # OWNER/REPO
    commit: str


@dataclass(frozen=True)
class Piece:
    """Files of one repository: ``src`` (a folder ending in "/" or one file) placed at ``dst`` in the part."""

    repo: str  # key of REPOS
    src: str
    dst: str


@dataclass(frozen=True)
class Part:
    """One folder under the corpora root, made from pieces by ``convert`` (a name in dev_convert.CONVERTERS)."""

    subdir: str
    pieces: tuple[Piece, ...]
    convert: str = "copy"
    about: str = ""


# Commits checked against the development copies file by file (git blob of each file; AISHELL after
# the FLAC conversion, which soundfile 0.14 / libsndfile 1.2.2 reproduces byte for byte).
REPOS: dict[str, Repo] = {
    "resemblyzer": Repo("resemble-ai/Resemblyzer", "15d828edebe06bc72b9cabc8ef8ca5ab2cb457ce"),
    "aishell": Repo("QianZ423/kaldi-asr-aishell-sample", "4e69bf1a29621515d4a21ef6c2458335e6f86e24"),
    "fsdd": Repo("Jakobovski/free-spoken-digit-dataset", "26eb9aaf76e81b692f806f9140c2d2777410d7a1"),
    "robocall": Repo("wspr-ncsu/robocall-audio-dataset", "48ee64937a0d63e4b844a8d6292f91a6476d8c05"),
    "pyroomacoustics": Repo("LCAV/pyroomacoustics", "f02b01dd6609709e2089aefa5d1e59c91d3a0601"),  # v0.10.1
    "spatialaudio": Repo("spatialaudio/selected-topics-in-audio-signal-processing-exercises",
                         "ca28a2abb13f0da39949fa2a5e770d2cb662f4b4"),
}  # fmt: skip

PARTS: dict[str, Part] = {
    "librispeech-sample": Part("librispeech-sample", (
        Piece("resemblyzer", "audio_data/librispeech_train-clean-100/", "train-clean-100/"),
        Piece("resemblyzer", "audio_data/librispeech_test-other/", "test-other/"),
    ), about="351 LibriSpeech utterances (CC BY 4.0)"),
    "aishell-sample": Part("aishell-sample", (Piece("aishell", "AISHELL_Sample_data/", ""),),
                           convert="aishell", about="1000 AISHELL-1 utterances, WAV -> FLAC (Apache 2.0)"),
    "fsdd-recordings": Part("fsdd", (
        Piece("fsdd", "recordings/", "recordings/"), Piece("fsdd", "README.md", "README.md"),
        Piece("fsdd", "metadata.py", "metadata.py"),
    ), convert="fsdd", about="Free Spoken Digit Dataset, 3000 clips (CC BY-SA 4.0)"),
    "robocall-transcripts": Part("robocall-transcripts", (Piece("robocall", "metadata.csv", "metadata.csv"),),
                                 convert="robocall", about="1101 FTC robocall transcripts (public domain)"),
    "noise": Part("noise", (
        Piece("pyroomacoustics", "examples/input_samples/doing_the_dishes.wav", "doing_the_dishes.wav"),
        Piece("pyroomacoustics", "notebooks/exercise_bike.wav", "exercise_bike.wav"),
        Piece("spatialaudio", "data/rir_clap.wav", "rir_clap.wav"),
    ), about="2 background noises (CC BY 4.0) and a room impulse response (CC0)"),
}  # fmt: skip
ALL = "dev-sample"


@dataclass(frozen=True)
class PinnedFile:
    """One upstream file: where it comes from, its size and sha256, and its path inside the part."""

    repo: Repo
    path: str
    size: int
    sha256: str
    dst: str

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.repo.name}/{self.repo.commit}/{quote(self.path)}"


def _safe(rel: str, what: str) -> str:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel:
        raise RcbError(f"{MANIFEST_PATH}: unsafe path {rel!r} in {what}; reinstall robocall-bench")
    return rel


def load_manifest() -> dict[str, list[tuple[str, int, str]]]:
    """{repo key: [(path, bytes, sha256), ...]} from the pinned table."""
    out: dict[str, list[tuple[str, int, str]]] = {}
    with gzip.open(MANIFEST_PATH, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 4 or cols[0] not in REPOS or len(cols[3]) != 64 or not cols[2].isdigit():
                raise RcbError(f"{MANIFEST_PATH}:{n}: bad row {line.strip()!r}; reinstall robocall-bench")
            out.setdefault(cols[0], []).append((_safe(cols[1], f"line {n}"), int(cols[2]), cols[3]))
    return out


def part_files(name: str, manifest: dict[str, list[tuple[str, int, str]]] | None = None) -> list[PinnedFile]:
    """The pinned files of part ``name`` with their place inside the part folder."""
    manifest = load_manifest() if manifest is None else manifest
    files = []
    for pc in PARTS[name].pieces:
        for path, size, sha in manifest.get(pc.repo, []):
            if pc.src.endswith("/") and path.startswith(pc.src):
                dst = _safe(pc.dst + path[len(pc.src) :], name)
            elif path == pc.src:
                dst = _safe(pc.dst, name)
            else:
                continue
            files.append(PinnedFile(REPOS[pc.repo], path, size, sha, dst))
    if not files:
        raise RcbError(f"{MANIFEST_PATH}: no pinned files for {name!r}; reinstall robocall-bench")
    return files


def resolve_names(name: str) -> list[str]:
    """Part names for ``name`` (``dev-sample`` = every part)."""
    return list(PARTS) if name == ALL else [name]


def plan_bytes(names: list[str]) -> tuple[int, int]:
    """(files, bytes) that downloading ``names`` fetches at most."""
    manifest = load_manifest()
    files = [f for n in names for f in part_files(n, manifest)]
    return len(files), sum(f.size for f in files)


def _fetch_all(todo: list[tuple[str, PinnedFile]], cache: Path, base: str) -> None:
    """Fetch every (part, file) into ``cache`` (verified), with one byte-progress bar per part.

    The first failure stops the rest (files not yet started are skipped); what finished stays cached.
    """
    from .download import fetch

    stop = threading.Event()

    def one(part: str, f: PinnedFile) -> None:
        if stop.is_set():
            return
        try:
            fetch(f.url(base), cache_path(cache, f), f.sha256, size=f.size, progress=(bar, tasks[part]))
        except BaseException:
            stop.set()
            raise

    cols = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*cols) as bar, ThreadPoolExecutor(WORKERS) as pool:
        tasks = {}
        for part in dict.fromkeys(p for p, _ in todo):
            tasks[part] = bar.add_task(part, total=sum(f.size for p, f in todo if p == part))
        futs = [pool.submit(one, part, f) for part, f in todo]
        try:
            for fut in as_completed(futs):
                fut.result()  # raises the first failure; the pool's exit waits for the running files
        except BaseException:  # also Ctrl+C: queued files are skipped, finished ones stay cached
            stop.set()
            raise


def cache_path(cache: Path, f: PinnedFile) -> Path:
    """Where the verified upstream file waits for its conversion: ``.downloads/OWNER/REPO/COMMIT/PATH``."""
    return cache / f.repo.name / f.repo.commit / f.path


def download_parts(names: list[str], root: Path, mirror: str | None = None) -> list[Path]:
    """Fetch and assemble parts ``names`` under ``root``; a part whose folder exists is kept as is."""
    manifest = load_manifest()
    base = mirror or UPSTREAM
    cache = root / ".downloads"
    todo, targets = [], []
    for n in names:
        target = root / PARTS[n].subdir
        targets.append(target)
        if target.exists() or target.is_symlink():
            print(f"{n}: {target} exists, kept (move it away to download it again)")
            continue
        todo += [(n, f) for f in part_files(n, manifest)]
    try:
        if todo:
            _fetch_all(todo, cache, base)
    finally:
        prune_empty(cache)  # after a failure only the resumable .part files (if any) remain
    for n in dict.fromkeys(p for p, _ in todo):
        files = part_files(n, manifest)
        _assemble(n, {f.dst: cache_path(cache, f) for f in files}, root / PARTS[n].subdir, files)
        for f in files:
            cache_path(cache, f).unlink(missing_ok=True)  # moved or converted: the cache copy is spent
        print(f"{n}: {len(files)} files from {base} at pinned commits, sha256 verified -> "
              f"{root / PARTS[n].subdir}")  # fmt: skip
    prune_empty(cache)
    return targets


def _assemble(name: str, files: dict[str, Path], target: Path, pinned: list[PinnedFile]) -> None:
    """Convert verified ``files`` (part path -> cached file) into ``target`` through a temp folder."""
    tmp = temp_dir_beside(target)  # also removes what a killed run left
    try:
        dev_convert.CONVERTERS[PARTS[name].convert](files, tmp, pinned)
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prune_empty(folder: Path) -> None:
    """Remove ``folder`` and its subfolders when they hold no file (the spent download cache)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
