"""Small pieces the commands share: printing (`echo`), colour (`style`, `--color`, NO_COLOR),
standard input. Every `prove` command imports this module, and `render.py` and the grader's
formats take `style` from it, so it imports only os, re and sys (not even argparse, which is
`cli_parser.py`'s)."""
from __future__ import annotations

import os
import re
import sys

STDIN = "-"  # a path of "-" means standard input
STDIN_NAME = "<stdin>"  # how messages name it
YAML_SUFFIXES = (".yaml", ".yml")

COLORS = ("auto", "always", "never")
_FG = {"black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36,
       "white": 37}
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what is stripped from output that is not coloured
# what is escaped in every output (a file name or a title may hold anything): control characters
# but tab and newline, and ESC too except where it starts a colour (SGR) sequence of ours
_CONTROL = re.compile("\x1b(?!\\[[0-9;]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")


class UsageError(Exception):
    """The command was misused in a way its parser cannot see (e.g. `--show` with `--format
    json`): `main` prints the command's usage line and the message, exit 2, as for any argparse
    error."""


def use_color(choice: str, stream=None) -> bool:
    """`--color`: always and never are what they say; auto is a terminal and no NO_COLOR (any
    non-empty value, https://no-color.org)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    stream = sys.stdout if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def style(text: str, fg: str) -> str:
    """`text` in the colour `fg` (red, green, yellow, blue, magenta, cyan, ...) for a terminal."""
    return f"\033[{_FG[fg]}m{text}\033[0m"


def echo(message: str = "", nl: bool = True, err: bool = False, color: bool | None = None) -> None:
    """Print to standard output (or error) and flush. Escape sequences are taken out unless
    `color` is true, or it is None and the stream is a terminal."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    text = message + "\n" if nl else message
    if text and (color is False or (color is None and not _isatty(stream))):
        text = _ANSI.sub("", text)
    if text and _CONTROL.search(text, 1 if text[0] == "\r" else 0):  # a leading \r: a progress bar
        text = text[:1] + _CONTROL.sub(_escaped, text[1:]) if text[0] == "\r" else _CONTROL.sub(_escaped, text)
    try:
        stream.write(text)
    except UnicodeEncodeError:  # a stream that is not UTF-8 (LC_ALL=C): write UTF-8 bytes
        stream.flush()
        stream.buffer.write(text.encode("utf-8", "replace"))
    stream.flush()


def _escaped(m: re.Match) -> str:
    c = m.group()
    return "\\r" if c == "\r" else f"\\u{ord(c):04x}"  # also a valid escape inside a JSON string


def one_line(path: str) -> str:
    """A path (or a title) as part of one line of a report: a newline in a name cannot start a line
    of its own (a forged report line, or a GitHub workflow command)."""
    return path.replace("\r", "\\r").replace("\n", "\\n") if ("\n" in path or "\r" in path) else path


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def read_stdin(limit: int) -> str:
    """Standard input as text, with the checks `source.read_text` applies to a file. Raises
    ValueError with the reason."""
    raw = sys.stdin.buffer.read(limit + 1) if hasattr(sys.stdin, "buffer") else \
        sys.stdin.read(limit + 1).encode("utf-8")
    if len(raw) > limit:
        raise ValueError(f"standard input is more than {limit:,} bytes; the limit is {limit:,}")
    from .source import SourceError, decode_text

    try:
        return decode_text(raw, "standard input is binary, not YAML text",
                           "standard input is not UTF-8 text")
    except SourceError as exc:
        raise ValueError(exc.message) from None
