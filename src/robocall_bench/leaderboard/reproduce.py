"""Re-running an entry's recorded recipe and comparing the scores it writes with the committed ones.

The recipe is code from the entry, so nothing runs without ``confirm``; then it runs through
:mod:`.sandbox` (temporary directory, minimal environment, time limit, no network where
``unshare`` works; see there for what is NOT isolated). Scores are compared with numpy after the
same strict reading as validation: every row of the track exactly once, all finite, and
max |difference| <= atol. A success is recorded in the maintainer-owned ``reproduced.yaml``.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contract import read_protocol, read_scores, track_selection
from ..errors import RcbError
from ..evaluation.run import git_sha
from . import sandbox
from .registry import Reproduction, record_reproduction, today
from .validate import LeaderboardConfig, validate_entry


@dataclass
class ReproduceOptions:
    """Maintainer settings of a re-run (``reproduce:`` in configs/leaderboard.yaml plus flags)."""

    atol: float = 1e-6
    confirm: bool = False
    allow_network: bool = False  # run even where no network namespace can be made
    max_timeout_s: int = 3600
    pass_env: tuple[str, ...] = field(default_factory=tuple)
    record: bool = True


def _plan(argv: list[str], timeout: int, isolate: list[str] | None, env: dict[str, str]) -> str:
    net = (
        "none (own network namespace)"
        if isolate and "--net" in isolate
        else "NOT isolated (allow_network=true)"
    )
    return (
        f"  command: {shlex.join(argv)}\n"
        "  working directory: a fresh temporary directory (also HOME and TMPDIR), deleted afterwards\n"
        f"  environment: only {', '.join(sorted(env))}\n"
        f"  time limit: {timeout} s (every process it started is killed then)\n"
        f"  network: {net}\n"
        "  NOT isolated: it runs as your user and can read and write all your files; no CPU, memory, "
        "disk or GPU limit"
    )


def reproduce(
    entry_dir: Path, corpus: Path | None, cfg: LeaderboardConfig, opts: ReproduceOptions | None = None
) -> list[str]:
    """Run the entry's ``reproduce.command`` and compare every track's scores; lines of a report.

    RcbError when the entry is invalid, has no recipe, the corpus is a different one, ``confirm`` is
    not set (the message shows what would run), the command fails or times out, or any track's new
    scores are missing, incomplete, non-finite or further than ``atol`` from the committed ones.
    """
    opts = opts or ReproduceOptions()
    entry_dir = Path(entry_dir)
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
    isolate = sandbox.prefix(network=False)
    if isolate is None and opts.allow_network:
        isolate = sandbox.prefix(network=True)  # still a PID namespace where only the network one fails
    if isolate is None and not opts.allow_network:
        raise RcbError(
            "cannot isolate the recipe from the network here: `unshare --user --net` fails (unprivileged "
            "user namespaces disabled?). Run it in a VM or container without network, or pass "
            "allow_network=true to run it with network access."
        )
    timeout = min(e.reproduce.timeout_s, opts.max_timeout_s)
    with tempfile.TemporaryDirectory(prefix="rcb-reproduce-") as tmp:
        work, out = Path(tmp) / "work", Path(tmp) / "out"
        out.mkdir()
        subs = {"{python}": sys.executable, "{corpus}": str(Path(corpus).resolve()), "{out}": str(out)}
        argv = [_sub(a, subs) for a in e.reproduce.command]
        env = sandbox.minimal_env(work, opts.pass_env)
        plan = _plan(argv, timeout, isolate, env)
        if not opts.confirm:
            raise RcbError(
                f"entry {e.entry_id}'s recipe was NOT run: it is code from the entry. Read it, then re-run "
                f"with confirm=true to execute it like this:\n{plan}"
            )
        res = sandbox.run(argv, work, env, timeout, isolate)
        if res.returncode is None:
            raise RcbError(f"entry {e.entry_id}: recipe {argv} did not finish within {timeout} s (killed)")
        if res.returncode != 0:
            tail = "\n".join(res.tail.strip().splitlines()[-15:])
            raise RcbError(f"entry {e.entry_id}: recipe {argv} exited {res.returncode}:\n{tail}")
        lines, bad = _compare(c, proto, out, cfg, opts.atol)
    if bad:
        raise RcbError(f"entry {e.entry_id} does not reproduce:\n  - " + "\n  - ".join(bad + lines))
    if opts.record:
        rec = Reproduction(
            entry_id=e.entry_id,
            corpus=e.corpus,
            scores=dict(sorted(c.sha256.items())),
            date=today(),
            code_version=git_sha(),
            atol=opts.atol,
            network="isolated" if isolate and "--net" in isolate else "not isolated",
        )
        path = record_reproduction(cfg.root, rec)
        lines.append(f"recorded in {path} (valid while the entry's score files keep their sha256)")
    return lines


def _compare(c, proto, out: Path, cfg: LeaderboardConfig, atol: float) -> tuple[list[str], list[str]]:
    """(report lines, problems): every committed track against the recipe's ``out/<track>.tsv``."""
    lines, bad = [], []
    for track in sorted(c.tracks):
        split, ptrack = track_selection(track)
        sel = proto.select(split, ptrack)
        try:
            new = read_scores(out / f"{track}.tsv", sel, proto, f"split={split} track={ptrack}",
                              cfg.score_file_bytes).scores  # fmt: skip
        except RcbError as err:
            bad.append(f"{track}: the recipe's scores are unusable: {err}")
            continue
        old = c.scores[track][0]
        diff = np.abs(new - old)
        # read_scores refuses NaN/inf already; checked again because a NaN makes every comparison False
        worst = float(np.max(diff)) if np.all(np.isfinite(diff)) else float("nan")
        ok = bool(np.isfinite(worst) and worst <= atol)
        lines.append(
            f"{track}: {old.size} scores, max |difference| {worst:.3g} ({'OK' if ok else 'MISMATCH'})"
        )
        if not ok:
            bad.append(f"{track}: max |difference| {worst:.3g} > atol {atol:g}")
    return lines, bad


def _sub(arg: str, subs: dict[str, str]) -> str:
    for k, v in subs.items():
        arg = arg.replace(k, v)
    return arg
