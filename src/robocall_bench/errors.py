"""Errors raised at the edges of the suite: each message names the file or value and the fix."""

from __future__ import annotations


class RcbError(Exception):
    """A user-facing error. The CLI prints its message (no traceback) and exits with status 2."""


class SourceMissingError(RcbError):
    """A source corpus or file is not where the configuration says it is."""


class EngineUnavailableError(RcbError):
    """A TTS engine (or one of its voices) is not installed on this machine."""


class BadAudioError(RcbError):
    """A source audio file cannot be used (corrupt, empty, silent, ...)."""

    def __init__(self, path: object, reason: str, fix: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        msg = f"{path}: {reason}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)
