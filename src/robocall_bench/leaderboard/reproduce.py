"""Re-running an entry's recorded recipe and comparing the scores it writes with the committed ones."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import RcbError
from ..evaluation.protocol import read_protocol
from .validate import LeaderboardConfig, validate_entry


def _read_plain(path: Path) -> dict[str, float]:
    out = {}
    for ln in path.read_text(encoding="utf-8").splitlines():
        f = ln.split("\t")
        if len(f) == 2:
            try:
                out[f[0]] = float(f[1])
            except ValueError:
                continue  # header
    return out


def reproduce(entry_dir: Path, corpus: Path | None, cfg: LeaderboardConfig, atol: float = 1e-6) -> list[str]:
    """Run the entry's ``reproduce.command`` and compare every track's scores; lines of a report.

    RcbError when the entry is invalid, has no recipe, the corpus is a different one, the command
    fails, or any score differs by more than ``atol``.
    """
    c = validate_entry(entry_dir, cfg)
    if not c.ok:
        raise RcbError(f"{entry_dir} is not a valid entry:\n  - " + "\n  - ".join(c.errors))
    e = c.entry
    if e.reproduce is None:
        hint = f" It records experiment {e.experiment!r} but no command to run it." if e.experiment else ""
        raise RcbError(
            f"entry {e.entry_id} has no reproducible recipe (no reproduce.command in entry.yaml), so its scores "
            f"cannot be re-run.{hint} Ask the submitter to add reproduce: {{command: [...]}} with the {{python}}, "
            "{corpus} and {out} placeholders; the leaderboard still checks its scores and metrics."
        )
    if corpus is None:
        raise RcbError("reproduce needs corpus=DIR: the corpus (protocol.tsv + audio) the recipe scores")
    proto = read_protocol(corpus)
    if proto.sha256 != e.corpus.protocol_sha256:
        raise RcbError(
            f"{proto.path} (sha256 {proto.sha256[:12]}) is not the corpus of entry {e.entry_id} "
            f"({e.corpus.name} {e.corpus.version}, {e.corpus.protocol_sha256[:12]}); build that corpus version"
        )
    lines = []
    with tempfile.TemporaryDirectory(prefix="rcb-reproduce-") as tmp:
        subs = {"{python}": sys.executable, "{corpus}": str(Path(corpus).resolve()), "{out}": tmp}
        argv = [_sub(a, subs) for a in e.reproduce.command]
        cwd = Path(cfg.root).resolve().parent
        try:
            r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=e.reproduce.timeout_s)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise RcbError(f"entry {e.entry_id}: recipe {argv} could not run: {err}") from err
        if r.returncode != 0:
            tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
            raise RcbError(f"entry {e.entry_id}: recipe {argv} exited {r.returncode}:\n{tail}")
        bad = []
        for track in sorted(c.tracks):
            new_path = Path(tmp) / f"{track}.tsv"
            if not new_path.is_file():
                bad.append(f"{track}: the recipe wrote no {track}.tsv")
                continue
            old, new = _read_plain(entry_dir / "scores" / f"{track}.tsv"), _read_plain(new_path)
            if set(old) != set(new):
                bad.append(
                    f"{track}: the recipe scored {len(new)} ids, the entry {len(old)}; the id sets differ"
                )
                continue
            diff = max(abs(old[k] - new[k]) for k in old)
            ok = diff <= atol and np.isfinite(diff)
            lines.append(
                f"{track}: {len(old)} scores, max |difference| {diff:.3g} ({'OK' if ok else 'MISMATCH'})"
            )
            if not ok:
                bad.append(f"{track}: max |difference| {diff:.3g} > atol {atol:g}")
        if bad:
            raise RcbError(f"entry {e.entry_id} does not reproduce:\n  - " + "\n  - ".join(bad + lines))
    return lines


def _sub(arg: str, subs: dict[str, str]) -> str:
    for k, v in subs.items():
        arg = arg.replace(k, v)
    return arg
