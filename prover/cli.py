"""The `prove` command line (SPEC §6). Untrusted glue: it collects files, asks `proofs.check_file`
(which asks the kernel), and prints through `render.py`. Exit codes: 0 all valid, 1 some proof
invalid, 2 a file could not be read or the command was misused.

Start-up matters (a pre-commit hook runs `prove check` on every commit): this module imports only
click and the standard library, and each command imports what it uses inside its function, so
`prove --version` loads no checker and `prove check` no deriver, grader or renderer."""
from __future__ import annotations

import sys

import click

from .cli_common import STDIN, STDIN_NAME, YAML_SUFFIXES, color_option, read_stdin, use_color

DIST_NAME = "prove-matrix"  # the distribution on the package index; the command is `prove`


def _check_one(args: tuple[str, list[str]]):
    """Check one file (in a worker process with --jobs); never raises."""
    from pathlib import Path

    from .proofs import FileResult, check_file
    from .source import SourceError

    path, lib = args
    try:
        return check_file(Path(path), lib=[Path(p) for p in lib])
    except SourceError as exc:  # the rule base itself is broken
        return FileResult(path, "error", message=exc.message)
    except Exception as exc:  # noqa: BLE001 - never a traceback; an internal error fails the file
        return FileResult(path, "error", message=f"internal error: {type(exc).__name__}: {exc}")


def _check_stdin(lib: list[str]) -> list:
    """`prove check -`: the proof on standard input, named `<stdin>` (`<stdin>#N` for the N-th of
    a list of proofs); its lemmas are looked up in the current folder (and --lib)."""
    from pathlib import Path

    from .kernel.errors import Limits
    from .proofs import FileResult, check_path
    from .source import SourceError

    try:
        text = read_stdin(Limits.max_file_bytes)
    except (ValueError, OSError) as exc:
        return [FileResult(STDIN_NAME, "error", message=str(exc))]
    try:
        return check_path(Path(STDIN_NAME), lib=[Path(p) for p in lib], text=text)
    except SourceError as exc:
        return [FileResult(STDIN_NAME, "error", message=exc.message)]
    except Exception as exc:  # noqa: BLE001
        return [FileResult(STDIN_NAME, "error",
                           message=f"internal error: {type(exc).__name__}: {exc}")]


def _version(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version(DIST_NAME)
    except PackageNotFoundError:
        v = "unknown (not installed)"
    click.echo(f"prove, version {v}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and exit.")
def main() -> None:
    """Check matrix-calculus derivations step by step (the trace/differential method).

    Where another `prove` comes first on the PATH (Perl's), run `python -m prover`."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "github"]),
              default="text", show_default=True, help="How to print the results: junit is JUnit "
              "XML for CI test reports, github is GitHub Actions annotations.")
@click.option("--strict", is_flag=True, help="Warnings fail too: a step that changes nothing, "
              "a variable declared but never used, a deprecated rule name, a rule cited where "
              "algebra alone suffices.")
@click.option("--lib", "lib", multiple=True, type=click.Path(), help="Where to look for lemma "
              "files besides each proof's own folder (repeatable).")
@click.option("--jobs", "-j", default=1, type=click.IntRange(1, 64), show_default=True,
              help="Check this many files in parallel.")
@color_option
def check(paths: tuple[str, ...], fmt: str, strict: bool, lib: tuple[str, ...], jobs: int,
          color: str) -> None:
    """Check proof files, or every *.yaml and *.yml under the folders given; `-` reads one proof
    from standard input (named <stdin> in messages)."""
    from .proofs import collect
    from .render import summary

    results: list = []
    files: list = []
    if STDIN in paths:
        results.extend(_check_stdin(list(lib)))
    rest = [p for p in paths if p != STDIN]
    if rest:
        files, missing = collect(rest)
        results.extend(missing)
        if not files and not missing and STDIN not in paths:
            click.echo("error: no proof files (*.yaml, *.yml) under " + ", ".join(paths), err=True)
            sys.exit(2)
    work = [(str(f), list(lib)) for f in files]
    if jobs > 1 and len(work) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results.extend(pool.map(_check_one, work))
    else:
        results.extend(_check_one(w) for w in work)
    if fmt == "json":
        from .render import json_report

        click.echo(json_report(results, strict))
    elif fmt in ("junit", "github"):
        from .ci_formats import github_report, junit_report

        click.echo((junit_report if fmt == "junit" else github_report)(results, strict))
    else:
        from .render import text_report

        on = use_color(color)
        click.echo(text_report(results, strict, color=on), color=on)
    counts = summary(results, strict)
    if counts["error"]:
        sys.exit(2)
    sys.exit(1 if counts["invalid"] else 0)


@main.command()
@click.option("--verify", is_flag=True, help="Confirm every rule with Z3 at small sizes.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="markdown prints the rule reference (docs/rules.md).")
def rules(verify: bool, fmt: str) -> None:
    """List the rule base (rules/*.yaml)."""
    from .rulebase import load_rulebook, rule_reference, verify_rule
    from .source import SourceError

    try:
        entries, _ = load_rulebook()
    except SourceError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if fmt == "markdown":
        click.echo(rule_reference(entries), nl=False)
        return
    rows = []
    bad = 0
    for e in entries:
        m = e.model
        row = {"id": m.id, "aliases": m.aliases, "kind": m.kind, "statement": m.statement,
               "summary": m.summary, "source": m.source}
        if verify:
            v = verify_rule(e)
            row["verified"] = v.status
            row["detail"] = v.detail
            bad += v.status not in ("confirmed", "probable", "skipped")
        rows.append(row)
    if fmt == "json":
        import json

        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            alias = f" ({', '.join(r['aliases'])})" if r["aliases"] else ""
            click.echo(f"{r['id']}{alias}")
            click.echo(f"    {r['statement']}")
            click.echo(f"    {r['summary']}")
            if verify:
                click.echo(f"    verified: {r['verified']}" + (f" — {r['detail']}" if r["detail"] else ""))
        if verify:
            click.echo(f"{len(rows)} rules, {bad} not confirmed")
    sys.exit(1 if bad else 0)


def _vars(specs: tuple[str, ...]):
    from .derive import DeriveError, parse_var

    env = {}
    for spec in specs:
        try:
            name, info = parse_var(spec)
        except DeriveError as exc:
            raise click.UsageError(str(exc)) from None
        env[name] = info
    return env


_LEADING_MINUS = ("An expression that starts with '-' is read as an expression, not an option; "
                  "or put the expressions after `--`: prove equiv --var 'x: n x 1' -- -x 'x'.")


@main.command(context_settings={"ignore_unknown_options": True}, epilog=_LEADING_MINUS)
@click.argument("target")
@click.option("--wrt", help="The variable to differentiate with respect to (with an expression).")
@click.option("--var", "var", multiple=True, help="A declaration: 'a: n x 1 constant', "
              "'X: n x n invertible', 's: scalar' (repeatable).")
@click.option("--layout", type=click.Choice(["numerator", "denominator"]), default=None,
              help="Numerator layout (the default) or denominator layout.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the checked proof here (`-o -`: to standard output).")
@click.option("--show", is_flag=True, help="Print the checked proof (YAML) on standard output; "
              "the one-line answer then goes to standard error.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def derive(target: str, wrt: str | None, var: tuple[str, ...], layout: str | None,
           output: str | None, show: bool, fmt: str) -> None:
    """Derive ∂f/∂X with a proof that `prove check` accepts.

    TARGET is a proof file whose claim has `derivative` and `wrt` (and no `equals`), or an
    expression together with --wrt and --var. `prove derive EXPR ... -o - | prove check -`
    derives and checks again."""
    from pathlib import Path

    from .derive import DeriveError, check_derivation, derive as run_derive
    from .proofs import parse_proof
    from .source import SourceError, load_yaml, read_text

    to_stdout = show or output == STDIN
    if to_stdout and fmt == "json":
        raise click.UsageError("--format json already holds the proof; drop --show / -o -")
    theorem = "derived"
    if Path(target).suffix in YAML_SUFFIXES and Path(target).exists():
        try:
            src = load_yaml(read_text(Path(target)))
            pf = parse_proof(src.data, src)
        except SourceError as exc:
            click.echo(f"{target}:{exc.line}:{exc.col}: error: {exc.message}", err=True)
            sys.exit(2)
        from .proofs import DerivativeClaim

        if not isinstance(pf.claim, DerivativeClaim):
            click.echo(f"{target}: error: the claim must have `derivative` and `wrt`", err=True)
            sys.exit(2)
        f_text, wrt_name = pf.claim.derivative, pf.claim.wrt
        env = {n: v.info() for n, v in pf.variables.items()}
        layout = layout or pf.layout
        theorem = pf.theorem
    else:
        if not wrt:
            raise click.UsageError("with an expression, give --wrt (and --var for each variable)")
        f_text, wrt_name, env = target, wrt, _vars(var)
    layout = layout or "numerator"
    try:
        dv = run_derive(f_text, wrt_name, env, layout, theorem)
        result = check_derivation(dv)
    except DeriveError as exc:
        click.echo(f"cannot derive: {exc}", err=True)
        sys.exit(1)
    if result.status != "valid":
        bad = next((s for s in result.steps if s.status != "valid"), None)
        why = f"step {bad.index} ({bad.expr}): {bad.message}" if bad else result.message
        click.echo(f"cannot derive: the engine's proof was not accepted by the checker: {why}",
                   err=True)
        sys.exit(1)
    text = dv.proof_yaml()
    answer = str(dv.steps[-1][0])
    written = output if output and output != STDIN else None
    if written:
        Path(written).write_text(text, encoding="utf-8")
    if fmt == "json":
        import json

        click.echo(json.dumps({"derivative": answer, "layout": layout, "wrt": wrt_name,
                               "proof": text, "assume": {"invertible": dv.assume_invertible}},
                              ensure_ascii=False, indent=2))
        return
    if to_stdout:  # standard output is exactly the proof file; the answer goes to stderr
        click.echo(text, nl=not text.endswith("\n"))
    click.echo(f"∂({dv.steps[0][0][2:-1]})/∂{wrt_name} = {answer}", err=to_stdout)
    assuming = (", assuming " + " and ".join(f"{t} invertible" for t in dv.assume_invertible)
                if dv.assume_invertible else "")
    click.echo(f"({layout} layout; a proof of {len(dv.steps)} steps, checked{assuming}"
               + (f", written to {written})" if written else ")"), err=to_stdout)


@main.command(context_settings={"ignore_unknown_options": True}, epilog=_LEADING_MINUS)
@click.argument("first")
@click.argument("second")
@click.option("--var", "var", multiple=True, help="A declaration, as for derive (repeatable).")
def equiv(first: str, second: str, var: tuple[str, ...]) -> None:
    """Are two expressions the same function? Exit 0 if equal, 1 if not (with a counterexample),
    3 if it cannot be decided (with the reason)."""
    from .equiv import equivalent
    from .render import counterexample_line

    r = equivalent(first, second, _vars(var))
    click.echo(r.message)
    if r.counterexample is not None:
        click.echo(counterexample_line(r.counterexample))
    sys.exit({"equal": 0, "undecided": 3}.get(r.status, 1))


@main.command()
def schema() -> None:
    """Print the JSON Schema of proof files (for editors)."""
    import json

    from .schema import proof_schema

    click.echo(json.dumps(proof_schema(), indent=2, ensure_ascii=False))


from .cli_grade import grade  # noqa: E402
from .cli_render import render  # noqa: E402

main.add_command(render)
main.add_command(grade)

if __name__ == "__main__":
    main()
