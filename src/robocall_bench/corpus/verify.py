"""``rcb corpus verify``: recheck protocol.tsv and every audio file against manifest.json."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import track

from ..console import make_console
from ..contract import read_protocol, sha256_file
from ..errors import RcbError

SHOW = 5  # problems printed per kind


def _load_manifest(mpath: Path, d: Path) -> tuple[str, dict[str, str]]:
    """(protocol sha256, {relative path: sha256}) from ``manifest.json``; RcbError for a damaged one."""
    if not mpath.is_file():
        raise RcbError(f"{mpath} not found: is {d} a corpus built by `rcb corpus`?")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RcbError(
            f"{mpath}: not valid JSON ({e}); rebuild the corpus (`rcb corpus out={d} ...`)"
        ) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    proto_sha = manifest.get("protocol_sha256") if isinstance(manifest, dict) else None
    if not isinstance(proto_sha, str) or not isinstance(files, dict):
        raise RcbError(
            f"{mpath}: lacks protocol_sha256 or files; rebuild the corpus (`rcb corpus out={d} ...`)"
        )
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise RcbError(f"{mpath}: files must map paths to sha256 strings; rebuild the corpus")
    return proto_sha, files


def _inside(rel: str) -> bool:
    """True when ``rel`` names a file inside the corpus folder (no absolute path, no ``..``)."""
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts and bool(p.parts)


def verify(corpus: str | Path, console: Console | None = None) -> bool:
    """True when the protocol hash, every listed file's sha256 and the row/file sets all match,
    and no file under ``audio/`` is left that no protocol row names.
    """
    console = console or make_console()
    d = Path(corpus)
    proto_sha, files = _load_manifest(d / "manifest.json", d)
    problems: list[str] = []
    got = sha256_file(d / "protocol.tsv") if (d / "protocol.tsv").is_file() else "(missing)"
    if got != proto_sha:
        problems.append(f"protocol.tsv sha256 {got[:12]}… != manifest {proto_sha[:12]}…")
    rows = read_protocol(d, require=("path",)).rows()
    listed = {r["path"] for r in rows}
    if listed != set(files):
        problems.append(f"{len(listed ^ set(files))} paths differ between protocol.tsv and manifest files")
    bad: list[str] = []
    for rel, sha in track(sorted(files.items()), description="hashing audio", console=console):
        p = d / rel
        if not _inside(rel):
            bad.append(f"{rel}: path outside the corpus folder")
        elif not p.is_file():
            bad.append(f"{rel}: missing")
        elif sha256_file(p) != sha:
            bad.append(f"{rel}: sha256 mismatch")
    named = listed | set(files)
    audio = d / "audio"
    extra = sorted(
        p.relative_to(d).as_posix()
        for p in (audio.rglob("*") if audio.is_dir() else [])
        if not p.is_dir() and p.relative_to(d).as_posix() not in named
    )
    problems += bad
    problems += [f"{rel}: extra file (no protocol row names it)" for rel in extra]
    if problems:
        console.print(
            f"[red]FAILED[/] {escape(str(d))}: {len(problems)} problem(s); first: "
            + escape("; ".join(problems[:SHOW])),
            highlight=False,
        )
        if bad or len(problems) > len(extra):
            console.print(
                f"Rebuild with the recorded config (`rcb corpus out={d} ...` with the same preset and seed): "
                "files whose sha256 does not match are rendered again. Or re-copy the corpus."
            )
        if extra:
            console.print(
                f"Delete the {len(extra)} extra file(s) under {audio} (e.g. {extra[0]}): they are not part of "
                "this corpus, and loaders that list the folder would pick them up."
            )
        return False
    console.print(f"[green]OK[/] {d}: protocol sha256 {got[:16]}…, {len(files)} audio files verified")
    return True
