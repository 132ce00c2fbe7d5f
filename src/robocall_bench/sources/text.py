"""Strict decoding of the text files sources come with (transcripts, speaker lists, CSV tables).

A wrong guess at an encoding does not fail loudly: it turns "Café" into "Caf�" and TTS engines
then read the replacement character to listeners. So text is decoded strictly, in UTF-8 unless
the source's config declares another ``encoding``, and the first undecodable byte is reported
with its file, line and the fix.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ..errors import RcbError

_CJK = re.compile(r"[\u4e00-\u9fff]")


def check_encoding(encoding: str, where: str) -> str:
    """The codec name ``encoding`` (``utf-8`` becomes ``utf-8-sig``: a BOM is dropped); RcbError if unknown."""
    try:
        name = codecs.lookup(str(encoding)).name
    except LookupError:
        raise RcbError(
            f"encoding={encoding!r} ({where}) is not a known text encoding; e.g. utf-8, gbk, latin-1"
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def guess_encoding(data: bytes) -> str:
    """A hint at what the bytes are, for the error message (never used to decode)."""
    try:
        if _CJK.search(data.decode("gbk")):
            return "GBK"
    except UnicodeDecodeError:
        pass
    return "LATIN1"  # Latin-1 / Windows-1252, the usual other suspect for European text


def decode_text(data: bytes, path: str | Path, encoding: str = "utf-8", fix: str = "") -> str:
    """``data`` (the bytes of ``path``) decoded strictly with ``encoding``.

    RcbError on failure naming the file, line, byte offset and byte value, how to re-encode the
    file, and ``fix`` (where to declare the encoding instead; ``{enc}`` in it becomes the guess).
    """
    enc = check_encoding(encoding, fix or str(path))
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        # only for the message: what precedes the bad byte on its line
        before = data[start : e.start].decode(enc, errors="backslashreplace")[-30:]
        bad = data[e.start : min(e.end, e.start + 4)].hex(" ")
        guess = guess_encoding(data)
        msg = (
            f"{path}:{line}: byte(s) {bad} at offset {e.start} (after {before!r}) are not valid "
            f"{'UTF-8' if enc == 'utf-8-sig' else enc}. Re-encode the file, e.g. `iconv -f {guess} -t UTF-8 {path} > {path}.utf8` and "
            "move it back"
        )
        if fix:
            msg += ", or " + fix.replace("{enc}", guess.lower())
        raise RcbError(msg + ".") from None


def read_text(path: str | Path, encoding: str = "utf-8", fix: str = "") -> str:
    """The text of the file ``path``, decoded strictly (see :func:`decode_text`)."""
    p = Path(path)
    return decode_text(p.read_bytes(), p, encoding, fix)
