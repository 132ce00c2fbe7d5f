"""Output paths of the scoring verbs (``rcb score``, ``rcb campaign``): checked before any work.

No heavy imports: ``rcb campaign`` uses these without loading torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import RcbError


def errors_path(out: Path) -> Path:
    """``<out>.errors.tsv`` beside the score file."""
    return out.with_name(out.name + ".errors.tsv")


def check_output_file(p: Path, key: str = "out", example: str = "scores.tsv") -> None:
    """RcbError when ``key``=``p`` cannot be written: a directory, below a file, or in an unwritable folder."""
    if p.is_dir():
        raise RcbError(f"{key}={p} is a directory; pass {key}= a file path, e.g. {key}={p / example}")
    parent = next((d for d in p.parents if d.exists()), None)  # the folder the file will be made in
    if parent is not None and not parent.is_dir():
        raise RcbError(f"{key}={p}: {parent} is a file, not a folder; pass {key}= a path in a folder")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise RcbError(
            f"{key}={p}: folder {parent} is not writable; pass {key}= a path in a folder you can write"
        )


def check_outputs(out: Path) -> None:
    """RcbError, before any work, when the score file or its ``.errors.tsv`` cannot be written."""
    check_output_file(out)
    if errors_path(out).is_dir():
        raise RcbError(
            f"out={out}: its errors file {errors_path(out)} would replace a directory; remove that directory "
            "or pass another out="
        )
