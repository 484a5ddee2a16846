"""`prove render FILE --to latex|markdown` (SPEC §6): a checked proof as a derivation for notes.

The file is checked first, exactly as `prove check` would; only a valid proof is rendered.
Exit codes follow `prove check`: 1 when the proof does not check (with the reason), 2 when the
file cannot be read or is not a proof file. The printing itself is `latex.py`. Registered at the
end of `cli.py`.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .proofs import FileResult


def _reason(fr: "FileResult") -> str:
    bad = next((s for s in fr.steps if s.status != "valid"), None)
    if bad is not None:
        line = f" (line {bad.loc[0]})" if bad.loc else ""
        return f"step {bad.index}{line} is {bad.status}: {bad.message}"
    return fr.message or f"the proof is {fr.status}"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "to", type=click.Choice(["latex", "markdown"]), default="latex",
              show_default=True, help="LaTeX (theorem + align*) or Markdown with $…$ math.")
@click.option("--standalone", is_flag=True, help="LaTeX only: a complete document (article, "
              "amsmath, amsthm) instead of a fragment to \\input.")
@click.option("--lib", "lib", multiple=True, type=click.Path(), help="Where to look for lemma "
              "files besides the proof's own folder (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of "
              "printing.")
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
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if fr.status == "error":
        click.echo(f"{fr.path}:{fr.line}:{fr.col}: error: {fr.message}", err=True)
        sys.exit(2)
    if fr.status != "valid":
        click.echo(f"{fr.path}: not rendered: the proof does not check: {_reason(fr)}", err=True)
        click.echo(f"(run `prove check {fr.path}` for the full report)", err=True)
        sys.exit(1)
    try:
        sheet = sheet_from_file(Path(file), fr)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user
        click.echo(f"{fr.path}: internal error while rendering: {type(exc).__name__}: {exc}",
                   err=True)
        sys.exit(2)
    text = sheet_latex(sheet, standalone) if to == "latex" else sheet_markdown(sheet)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
