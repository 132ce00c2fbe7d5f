"""``rcb corpus verify``: recheck protocol.tsv and every audio file against manifest.json."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import track

from ..console import make_console
from ..errors import RcbError
from .protocol import read_protocol, sha256_file


def verify(corpus: str | Path, console: Console | None = None) -> bool:
    """True when the protocol hash, every listed file's sha256 and the row/file sets all match."""
    console = console or make_console()
    d = Path(corpus)
    mpath = d / "manifest.json"
    if not mpath.is_file():
        raise RcbError(f"{mpath} not found: is {d} a corpus built by `rcb corpus`?")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    problems: list[str] = []
    got = sha256_file(d / "protocol.tsv")
    if got != manifest["protocol_sha256"]:
        problems.append(f"protocol.tsv sha256 {got[:12]}… != manifest {manifest['protocol_sha256'][:12]}…")
    rows = read_protocol(d / "protocol.tsv")
    files = manifest["files"]
    listed = {r["path"] for r in rows}
    if listed != set(files):
        problems.append(f"{len(listed ^ set(files))} paths differ between protocol.tsv and manifest files")
    bad = []
    for rel, sha in track(sorted(files.items()), description="hashing audio", console=console):
        p = d / rel
        if not p.is_file():
            bad.append(f"{rel}: missing")
        elif sha256_file(p) != sha:
            bad.append(f"{rel}: sha256 mismatch")
    problems += bad
    if problems:
        console.print(f"[red]FAILED[/] {d}: {len(problems)} problem(s); first: " + "; ".join(problems[:5]))
        console.print(
            "Rebuild the affected files with the recorded config (`rcb corpus out=DIR ...`) or re-copy them."
        )
        return False
    console.print(f"[green]OK[/] {d}: protocol sha256 {got[:16]}…, {len(files)} audio files verified")
    return True
