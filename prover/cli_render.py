"""`prove render FILE --to latex|markdown` (SPEC §6): a checked proof as a derivation for notes.

The file is checked first, exactly as `prove check` would; only a valid proof is rendered.
Exit codes follow `prove check`: 1 when the proof does not check (with the reason), 2 when the
file cannot be read or is not a proof file. The printing itself is `latex.py`. `add_render` is
called by `cli.parsers`.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .cli_common import echo
from .cli_parser import Parser, path

if TYPE_CHECKING:
    from .proofs import FileResult


def _reason(fr: "FileResult") -> str:
    bad = next((s for s in fr.steps if s.status != "valid"), None)
    if bad is not None:
        line = f" (line {bad.loc[0]})" if bad.loc else ""
        return f"step {bad.index}{line} is {bad.status}: {bad.message}"
    return fr.message or f"the proof is {fr.status}"


def render(file: str, to: str, standalone: bool, lib: tuple[str, ...], output: str | None) -> None:
    """Render a proof that checks as a derivation for course notes.

    The claim becomes a theorem and the chain an aligned derivation, each line with the name of
    the rule that justifies it. A proof that does not check is refused, with the reason."""
    from pathlib import Path

    from .latex import sheet_from_file, sheet_latex, sheet_markdown
    from .proofs import check_file
    from .source import SourceError

    try:
        fr = check_file(Path(file), lib=[Path(p) for p in lib])
    except SourceError as exc:  # the rule base itself is broken
        echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if fr.status == "error":
        echo(f"{fr.path}:{fr.line}:{fr.col}: error: {fr.message}", err=True)
        sys.exit(2)
    if fr.status != "valid":
        echo(f"{fr.path}: not rendered: the proof does not check: {_reason(fr)}", err=True)
        echo(f"(run `prove check {fr.path}` for the full report)", err=True)
        sys.exit(1)
    try:
        sheet = sheet_from_file(Path(file), fr)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user
        echo(f"{fr.path}: internal error while rendering: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    text = sheet_latex(sheet, standalone) if to == "latex" else sheet_markdown(sheet)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        echo(text, nl=False)


def add_render(commands) -> Parser:
    p = commands.add_parser("render", help="Render a proof that checks as a derivation for "
                            "course notes.", description=render.__doc__)
    p.add_argument("file", metavar="FILE", type=path(dir_okay=False), help="The proof file.")
    p.add_argument("--to", choices=["latex", "markdown"], default="latex",
                   help="LaTeX (theorem + align*) or Markdown with $…$ math. [default: latex]")
    p.add_argument("--standalone", action="store_true", help="LaTeX only: a complete document "
                   "(article, amsmath, amsthm) instead of a fragment to \\input.")
    p.add_argument("--lib", action="append", default=[], type=path(exists=True), metavar="PATH",
                   help="Where to look for lemma files besides the proof's own folder "
                   "(repeatable).")
    p.add_argument("-o", "--output", type=path(dir_okay=False), metavar="FILE",
                   help="Write here instead of printing.")
    p.set_defaults(run=render)
    return p
