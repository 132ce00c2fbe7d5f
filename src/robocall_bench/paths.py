"""The corpora root: where source corpora live (``corpora_root=`` or ``$RCB_CORPORA``)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SourceMissingError

ENV_VAR = "RCB_CORPORA"


def corpora_root(value: str | os.PathLike | None = None) -> Path:
    """Resolve the corpora root from an explicit value or ``$RCB_CORPORA``.

    Raises SourceMissingError with the fix when neither is set or the folder is missing.
    """
    raw = value if value not in (None, "", "null") else os.environ.get(ENV_VAR)
    if not raw:
        raise SourceMissingError(
            "No corpora root is set. Pass corpora_root=/path/to/corpora or export "
            f"{ENV_VAR}=/path/to/corpora (get the sources with `rcb corpus download name=...`)."
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
