"""Running an entry's recipe (untrusted code) with the isolation an unprivileged user can get.

What it gives: a fresh temporary working directory with its own HOME and TMPDIR; an environment
reduced to a short allowlist (none of the maintainer's tokens or settings); a wall-clock limit that
kills every process the recipe started; and, where unprivileged user namespaces work
(``unshare --user --map-root-user --net --pid``), no network (only a loopback that is down) and a
PID namespace of its own, so no process outlives the run.

What it does NOT give: filesystem isolation. The recipe runs as the maintainer's user and can read
and write everything that user can (home directory, SSH keys, the repository, the corpus). No CPU,
memory, disk or GPU limit either, and no protection from kernel bugs. Read a recipe before
confirming it, and run ones you have not read in a throw-away VM or container holding no secrets.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

UNSHARE = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child"]
NO_NET = ["--net"]
FIXED_ENV = {
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "PYTHONNOUSERSITE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
TAIL_BYTES = 4000


@cache
def namespaces_work(network: bool = False) -> bool:
    """Whether ``unshare`` can give this process a user + PID (+ network unless ``network``) namespace."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        r = subprocess.run(
            [exe, *UNSHARE, *([] if network else NO_NET), "--", "true"], capture_output=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def prefix(network: bool) -> list[str] | None:
    """The argv prefix that isolates a command (None where namespaces are unavailable)."""
    if not namespaces_work(network):
        return None
    return [str(shutil.which("unshare")), *UNSHARE, *([] if network else NO_NET), "--"]


def minimal_env(home: Path, pass_env: Sequence[str] = ()) -> dict[str, str]:
    """The recipe's whole environment: PATH (this Python's bin first), HOME/TMPDIR under ``home``,
    offline switches, and the variables named in ``pass_env`` (maintainer config) that are set."""
    env = dict(FIXED_ENV)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home / "tmp")
    for name in pass_env:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@dataclass
class Outcome:
    """How a recipe run ended: exit status (None when killed at the time limit) and its output tail."""

    returncode: int | None
    seconds: float
    tail: str


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - TAIL_BYTES))
        return f.read().decode("utf-8", "replace")


def run(
    argv: Sequence[str], work: Path, env: dict[str, str], timeout_s: float, isolate: list[str] | None
) -> Outcome:
    """Run ``argv`` in ``work`` (created, with HOME/TMPDIR inside) under ``isolate``'s prefix.

    Output goes to files in ``work`` so a chatty recipe cannot fill memory; the whole process group
    is killed at ``timeout_s`` (with the PID namespace, everything the recipe started dies with it).
    """
    work.mkdir(parents=True, exist_ok=True)
    Path(env["TMPDIR"]).mkdir(parents=True, exist_ok=True)
    log = work.parent / "recipe-output.log"
    t0 = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*(isolate or []), *argv],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            rc: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            with contextlib.suppress(OSError):  # leftovers of a finished run, or all of a timed-out one
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return Outcome(rc, time.monotonic() - t0, _tail(log))
