"""Small pieces the commands share (colour, standard input). Kept free of heavy imports: every
`prove` command imports this module, so it may import only the standard library and click."""
from __future__ import annotations

import os
import sys

import click

STDIN = "-"  # a path of "-" means standard input
STDIN_NAME = "<stdin>"  # how messages name it
YAML_SUFFIXES = (".yaml", ".yml")

color_option = click.option(
    "--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
    show_default=True, help="Colour the text output: auto is on a terminal unless NO_COLOR is set.")


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
