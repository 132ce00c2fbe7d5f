"""Escaping contributor text for the generated pages: one function for Markdown, one for HTML.

Entry fields (model, description, compute, ...) are untrusted. In Markdown a CR or LF ends a table
row (CommonMark treats a lone CR as a line break), so a contributor could forge a whole row of
numbers; brackets, parentheses and ``!`` form links and images; ``<`` starts raw HTML; GitHub also
turns bare ``www.``/``http://``/``a@b.c`` text into links. Every such text goes through
:func:`md_cell` or :func:`html_text` before it reaches a page.
"""

from __future__ import annotations

import html
import re

# C0/C1 controls and Unicode line/paragraph separators: anything an editor or a renderer may take
# for a line break, and the tab that would widen a CSV/TSV consumer's view.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidirectional overrides and marks: they reorder how a cell reads without changing its bytes.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it leaves no link,
# image, emphasis, code span, raw HTML, entity, table pipe or autolink trigger (`:`, `.`, `@`).
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """``text`` as one line: control characters and line breaks become spaces, bidi controls go."""
    s = _BIDI.sub("", str(text))
    return " ".join(_BREAKS.sub(" ", s).split())


def md_cell(text: object) -> str:
    """``text`` safe inside a GitHub-flavoured Markdown table cell or list item: literal, one line."""
    return _MD_PUNCT.sub(r"\\\1", plain(text))


def html_text(text: object) -> str:
    """``text`` safe as HTML element content or a quoted attribute value: literal, one line."""
    return html.escape(plain(text), quote=True)


def csv_text(text: object) -> str:
    """``text`` for a CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    s = plain(text)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s
