"""Student text in grading reports, made harmless (SPEC §7: one student never hurts the class).

Everything a student chooses — folder and file names, theorem names, citations, expressions —
reaches the instructor's terminal, CSV files opened in a spreadsheet, Markdown feedback pages and
Gradescope's web page. These helpers neutralise it:

- `decoded`: a name that is not valid UTF-8 (Python keeps its bytes as lone surrogates) gets
  U+FFFD for each bad byte, so that it can be printed and written anywhere;
- `visible`: control characters (C0, DEL, C1), line and paragraph separators and bidirectional
  overrides are written as visible escapes (`\\x1b`, `\\n`, `\\u202e`), so student text cannot
  clear a terminal, move the cursor, or forge a line of a report;
- `csv_cell`: a cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR
  first) gets a leading `'`, as OWASP recommends against CSV injection;
- `md_text` / `md_code`: text for Markdown pages whose HTML is escaped and whose Markdown
  punctuation is inert.
"""
from __future__ import annotations

import html
import re

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL, C1 controls, zero-width and direction marks, line/paragraph separators,
# bidirectional embeddings/overrides/isolates, BOM, interlinear annotation and object markers.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                     "\ufeff\ufff9-\ufffc\ud800-\udfff]")


def decoded(text: str) -> str:
    """`text` as valid Unicode: bytes that were not UTF-8 (surrogate escapes, as os.listdir
    gives them) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # lone surrogates of another origin
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _escape(m: re.Match) -> str:
    c = m.group()
    if c in _ESCAPES:
        return _ESCAPES[c]
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def visible(text: str) -> str:
    """One line of printable text: invalid UTF-8 replaced, control characters escaped."""
    if not text:
        return text
    if text.isascii() and text.isprintable():
        return text  # U+0020–U+007E only: nothing to replace or escape (the common case)
    return _UNSAFE.sub(_escape, decoded(text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell that no spreadsheet runs as a formula (numbers pass through)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


_MD_PUNCT = re.compile(r"([\\`*_\[\]|~#!])")


def md_text(text: str) -> str:
    """Text for Markdown outside code: HTML escaped, Markdown punctuation escaped."""
    return _MD_PUNCT.sub(r"\\\1", html.escape(visible(text), quote=False))


def md_code(text: str) -> str:
    """An inline code span for `text` (in a table cell too); text holding HTML characters is
    written as escaped text instead, so that the page never holds raw markup."""
    text = visible(text)
    if any(c in text for c in "<>&"):
        return md_text(text)
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def md_lines(text: str) -> str:
    """Plain multi-line text (the feedback report) as Markdown: each line escaped, lines kept
    apart by hard breaks, leading indentation kept with no-break spaces (never a code block)."""
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        out.append("\u00a0" * (len(line) - len(body)) + md_text(body))
    return "  \n".join(out)
