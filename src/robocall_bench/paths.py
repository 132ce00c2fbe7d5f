"""The corpora root: where source corpora live.

Looked up in order: ``corpora_root=`` (config or command line), ``$RCB_CORPORA``, then ``corpora/``
in the working directory (the repository root; a folder or a link, ignored by git).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from .errors import SourceMissingError

ENV_VAR = "RCB_CORPORA"
DEFAULT_DIR = "corpora"  # relative to the working directory
MIRROR_ENV = "RCB_MIRROR"  # base URL replacing https://raw.githubusercontent.com for `rcb corpus download`


def configured_root(value: str | os.PathLike | None = None) -> str | None:
    """The configured corpora root (``value``, ``$RCB_CORPORA``, or ``./corpora`` if present), unchecked; None if none."""
    raw = value if value not in (None, "", "null") else os.environ.get(ENV_VAR)
    if raw:
        return str(raw)
    return DEFAULT_DIR if Path(DEFAULT_DIR).is_dir() else None


def corpora_root(value: str | os.PathLike | None = None) -> Path:
    """Resolve the corpora root (see :func:`configured_root`) to an existing folder.

    Raises SourceMissingError with the fix when neither is set or the folder is missing.
    """
    raw = configured_root(value)
    if not raw:
        raise SourceMissingError(
            "No corpora root is set. Pass corpora_root=/path/to/corpora, export "
            f"{ENV_VAR}=/path/to/corpora or link the folder as ./{DEFAULT_DIR} "
            "(get the sources with `rcb corpus download name=...`)."
        )
    root = Path(raw).expanduser().resolve()
    if not root.is_dir():
        raise SourceMissingError(
            f"Corpora root {root} does not exist. Point corpora_root= or ${ENV_VAR} at the folder "
            "that holds librispeech-sample/, aishell-sample/, fsdd/, robocall-transcripts/, noise/ "
            "(or fetch them with `rcb corpus download name=...`)."
        )
    return root


def require(path: Path, what: str, how: str) -> Path:
    """Return ``path`` if it exists, else raise a SourceMissingError naming ``what`` and ``how`` to get it."""
    if not path.exists():
        raise SourceMissingError(f"Missing {what}: {path} does not exist. {how}")
    return path


def temp_dir_beside(target: Path) -> Path:
    """A new empty hidden folder ``.<name>.tmp<random>`` next to ``target``, to fill and rename onto it.

    Made with the umask's permissions (unlike ``tempfile.mkdtemp``'s 0700), so the renamed folder
    reads like any other. Leftovers of a killed run are removed first.
    """
    for stale in target.parent.glob(f".{target.name}.tmp*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    tmp = target.parent / f".{target.name}.tmp{secrets.token_hex(4)}"
    tmp.mkdir()
    return tmp
