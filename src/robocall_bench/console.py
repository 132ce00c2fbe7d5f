"""One rich console for the CLI: full-width tables in a terminal, 120 columns in logs and pipes."""

from __future__ import annotations

import sys

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """A Console that does not wrap tables at 80 columns when output goes to a file or pipe."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 120)
