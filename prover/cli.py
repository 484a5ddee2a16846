"""The `prove` command line (SPEC §6). Untrusted glue: it collects files, asks `proofs.check_file`
(which asks the kernel), and prints through `render.py`. Exit codes: 0 all valid, 1 some proof
invalid, 2 a file could not be read or the command was misused.

Start-up matters (a pre-commit hook runs `prove check` on every commit): this module imports only
the standard library (argparse; click cost more than the start-up target allowed), and each
command imports what it uses inside its function, so `prove --version` loads no checker and
`prove check` no deriver, grader or renderer. Each command is a plain function; `_add_check` and
its siblings declare its options, and `main` parses the words and calls it. The parser's reading
of the words (options anywhere, `-X` as an expression) is `cli_parser.Parser`."""
from __future__ import annotations

import argparse
import os
import re
import sys

from .cli_common import STDIN, STDIN_NAME, YAML_SUFFIXES, UsageError, echo, read_stdin, use_color
from .cli_parser import Parser, add_color_option, int_range, path

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


class _Version(argparse.Action):
    """`--version`: looked up only when asked for (importlib.metadata is not free)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version(DIST_NAME)
        except PackageNotFoundError:
            v = "unknown (not installed)"
        echo(f"prove, version {v}")
        parser.exit()


_DESCRIPTION = """Check matrix-calculus derivations step by step (the trace/differential method).

Where another `prove` comes first on the PATH (Perl's), run `python -m prover`."""


def check(paths: tuple[str, ...], fmt: str, strict: bool, lib: tuple[str, ...], jobs: int,
          color: str) -> None:
    """Check proof files, or every *.yaml and *.yml under the folders given; `-` reads one proof
    from standard input (named <stdin> in messages)."""
    from .proofs import FileResult, collect
    from .render import summary

    items: list = []  # in the order given: a result already known, or a file to check
    for p in dict.fromkeys(paths):
        if p == STDIN:
            items.extend(_check_stdin(list(lib)))
            continue
        files, missing = collect([p])
        items.extend(missing)
        items.extend(str(f) for f in files)
    if not items:  # folders with nothing in them: an error in every format (exit 2)
        items = [FileResult(p, "error", message="no proof files (*.yaml, *.yml) under it")
                 for p in dict.fromkeys(paths)]
    work = [(x, list(lib)) for x in items if isinstance(x, str)]
    if jobs > 1 and len(work) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = iter(list(pool.map(_check_one, work)))
    else:
        done = iter([_check_one(w) for w in work])
    results = [next(done) if isinstance(x, str) else x for x in items]
    if fmt == "json":
        from .render import json_report

        echo(json_report(results, strict))
    elif fmt in ("junit", "github"):
        from .ci_formats import github_report, junit_report

        echo((junit_report if fmt == "junit" else github_report)(results, strict))
    else:
        from .render import text_report

        on = use_color(color)
        echo(text_report(results, strict, color=on), color=on)
    counts = summary(results, strict)
    if counts["error"]:
        sys.exit(2)
    sys.exit(1 if counts["invalid"] else 0)


def _add_check(commands) -> Parser:
    p = commands.add_parser("check", help="Check proof files, or every *.yaml and *.yml under "
                            "the folders given.", description=check.__doc__)
    p.add_argument("paths", nargs="+", metavar="PATHS", help="Proof files and folders; - is "
                   "standard input.")
    p.add_argument("--format", dest="fmt", choices=["text", "json", "junit", "github"],
                   default="text", help="How to print the results: junit is JUnit XML for CI "
                   "test reports, github is GitHub Actions annotations. [default: text]")
    p.add_argument("--strict", action="store_true", help="Warnings fail too: a step that "
                   "changes nothing, a variable declared but never used, a deprecated rule name, "
                   "a rule cited where algebra alone suffices.")
    p.add_argument("--lib", action="append", default=[], metavar="PATH", type=path(exists=True),
                   help="Where to look for lemma files besides each proof's own folder "
                   "(repeatable).")
    p.add_argument("-j", "--jobs", default=1, type=int_range(1, 64), metavar="N",
                   help="Check this many files in parallel (1 to 64). [default: 1]")
    add_color_option(p)
    p.set_defaults(run=check)
    return p


def rules(verify: bool, fmt: str) -> None:
    """List the rule base (rules/*.yaml)."""
    from .rulebase import load_rulebook, rule_reference, verify_rule
    from .source import SourceError

    try:
        entries, _ = load_rulebook()
    except SourceError as exc:
        echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if fmt == "markdown":
        echo(rule_reference(entries), nl=False)
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

        echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            alias = f" ({', '.join(r['aliases'])})" if r["aliases"] else ""
            echo(f"{r['id']}{alias}")
            echo(f"    {r['statement']}")
            echo(f"    {r['summary']}")
            if verify:
                echo(f"    verified: {r['verified']}" + (f" — {r['detail']}" if r["detail"] else ""))
        if verify:
            echo(f"{len(rows)} rules, {bad} not confirmed")
    sys.exit(1 if bad else 0)


def _add_rules(commands) -> Parser:
    p = commands.add_parser("rules", help=rules.__doc__, description=rules.__doc__)
    p.add_argument("--verify", action="store_true",
                   help="Confirm every rule with Z3 at small sizes.")
    p.add_argument("--format", dest="fmt", choices=["text", "json", "markdown"], default="text",
                   help="markdown prints the rule reference (docs/rules.md).")
    p.set_defaults(run=rules)
    return p


def _vars(specs: tuple[str, ...]):
    from .derive import DeriveError, parse_var

    env = {}
    for spec in specs:
        try:
            name, info = parse_var(spec)
        except DeriveError as exc:
            raise UsageError(str(exc)) from None
        if name in env:
            raise UsageError(f"--var {spec!r}: {name} is declared twice")
        env[name] = info
    return env


def _read_expr(command: str, which: str, text: str, env, as_json: bool = False) -> None:
    """An expression given on the command line, read and shape-checked before the command runs:
    one that cannot be read is a usage error (exit 2) that shows the text with a caret under the
    offending part, as errors in files do."""
    from .kernel.errors import ProveError
    from .kernel.parser import parse
    from .kernel.shapes import shape_of

    try:
        shape_of(parse(text, set(env)), env)
    except ProveError as exc:
        span = exc.diag.span
        start = span.start if span is not None else 0
        end = max(span.end if span is not None else 0, start + 1)
        at = f" (column {start + 1})" if span is not None and span.end else ""
        echo(f"prove {command}: error: cannot read the {which}{at}: {exc.diag.message}", err=True)
        if as_json:  # standard output is still one object a script can read
            import json

            echo(json.dumps({"derivative": None, "error": f"cannot read the {which}{at}: "
                             f"{exc.diag.message}"}, ensure_ascii=False, indent=2))
        echo(f"  | {text}", err=True)
        echo(f"  | {' ' * start}{'^' * max(1, min(end, len(text) + 1) - start)}", err=True)
        if exc.diag.help:
            help_text = re.sub(r"declare it under `variables:`, e\.g\. (\w+): \{shape: \[(\w+), (\w+)\]\}",
                               r"declare it: --var '\1: \2 x \3'", exc.diag.help)
            echo(f"  = help: {help_text}", err=True)
        sys.exit(2)


_LEADING_MINUS = ("An expression that starts with '-' is read as an expression, not an option; "
                  "or put the expressions after `--`: prove equiv --var 'x: n x 1' -- -x 'x'.")


def derive(target: str, wrt: str | None, var: tuple[str, ...], layout: str | None,
           output: str | None, show: bool, fmt: str, hessian: bool = False) -> None:
    """Derive ∂f/∂X with a proof that `prove check` accepts.

    TARGET is a proof file whose claim has `derivative` and `wrt` (and no `equals`), or an
    expression together with --wrt and --var. `prove derive EXPR ... -o - | prove check -`
    derives and checks again. With --hessian (or a file whose claim is `hessian:`), the Hessian
    H: d(d(f)) brought to dx^T G dx (vec(dX)^T G vec(dX) for a matrix X), H = (G + G^T)/2."""
    from pathlib import Path

    from .derive import DeriveError, derive_checked
    from .proofs import parse_proof
    from .source import SourceError, load_yaml, read_text

    to_stdout = show or output == STDIN
    if to_stdout and fmt == "json":
        raise UsageError("--format json already holds the proof; drop --show / -o -")
    theorem = "derived"
    if Path(target).suffix in YAML_SUFFIXES and Path(target).exists():
        try:
            src = load_yaml(read_text(Path(target)))
            pf = parse_proof(src.data, src)
        except SourceError as exc:
            echo(f"{target}:{exc.line}:{exc.col}: error: {exc.message}", err=True)
            sys.exit(2)
        from .proofs import DerivativeClaim, claim_kind

        if claim_kind(pf.claim) == "hessian":
            hessian = True
            f_text, wrt_name = pf.claim.hessian, pf.claim.wrt
        elif not isinstance(pf.claim, DerivativeClaim):
            echo(f"{target}: error: the claim must have `derivative` (or `hessian`) and `wrt`",
                 err=True)
            sys.exit(2)
        else:
            f_text, wrt_name = pf.claim.derivative, pf.claim.wrt
        env = {n: v.info() for n, v in pf.variables.items()}
        layout = layout or pf.layout
        theorem = pf.theorem
    else:
        if Path(target).suffix in YAML_SUFFIXES:  # a file name, not an expression
            echo(f"prove derive: error: {target}: no such file", err=True)
            sys.exit(2)
        if not wrt:
            raise UsageError("with an expression, give --wrt (and --var for each variable)")
        f_text, wrt_name, env = target, wrt, _vars(var)
        _read_expr("derive", "expression", f_text, env, as_json=fmt == "json")
    if hessian and layout == "denominator":
        raise UsageError("a Hessian is the same in either layout: drop --layout")
    layout = layout or "numerator"
    try:
        dv, answer = derive_checked(f_text, wrt_name, env, layout, theorem, hessian)
    except DeriveError as exc:
        if fmt == "json":  # standard output is still one object a script can read
            import json

            echo(json.dumps({"derivative": None, "wrt": wrt_name, "error": f"cannot derive: {exc}"},
                            ensure_ascii=False, indent=2))
        echo(f"cannot derive: {exc}", err=True)
        sys.exit(1)
    text = dv.proof_yaml()
    written = output if output and output != STDIN else None
    if written:
        Path(written).write_text(text, encoding="utf-8")
    if fmt == "json":
        import json

        out = ({"hessian": answer, "wrt": wrt_name, "proof": text} if hessian else
               {"derivative": answer, "layout": layout, "wrt": wrt_name,
                "proof": text, "assume": {"invertible": dv.assume_invertible}})
        echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if to_stdout:  # standard output is exactly the proof file; the answer goes to stderr
        echo(text, nl=not text.endswith("\n"))
    if hessian:
        echo(f"∇²({dv.steps[0][0][4:-2]}) in {wrt_name} = {answer}", err=to_stdout)
        echo(f"(a proof of {len(dv.steps)} steps, checked"
             + (f", written to {written})" if written else ")"), err=to_stdout)
        return
    from .kernel.printer import show as show_expr

    echo(f"∂({show_expr(dv.f, set(env))})/∂{wrt_name} = {answer}", err=to_stdout)
    assuming = (", assuming " + " and ".join(f"{t} invertible" for t in dv.assume_invertible)
                if dv.assume_invertible else "")
    echo(f"({layout} layout; a proof of {len(dv.steps)} steps, checked{assuming}"
         + (f", written to {written})" if written else ")"), err=to_stdout)


def _add_derive(commands) -> Parser:
    p = commands.add_parser("derive", loose=True, help="Derive ∂f/∂X with a proof that `prove "
                            "check` accepts.", description=derive.__doc__, epilog=_LEADING_MINUS)
    p.add_argument("target", metavar="TARGET", help="A proof file, or an expression.")
    p.add_argument("--wrt", metavar="NAME", help="The variable to differentiate with respect to (with an "
                   "expression).")
    p.add_argument("--var", action="append", default=[], metavar="DECL",
                   help="A declaration: 'a: n x 1 "
                   "constant', 'X: n x n invertible', 's: scalar' (repeatable).")
    p.add_argument("--layout", choices=["numerator", "denominator"], default=None,
                   help="Numerator layout (the default) or denominator layout.")
    p.add_argument("-o", "--output", type=path(dir_okay=False, allow_dash=True), metavar="FILE",
                   help="Write the checked proof here (`-o -`: to standard output).")
    p.add_argument("--show", action="store_true", help="Print the checked proof (YAML) on "
                   "standard output; the one-line answer then goes to standard error.")
    p.add_argument("--hessian", action="store_true", help="Derive the Hessian instead (a "
                   "proof with a `hessian:` claim, H read off d(d(f)) = dx^T G dx).")
    p.add_argument("--format", dest="fmt", choices=["text", "json"], default="text")
    p.set_defaults(run=derive)
    return p


def equiv(first: str, second: str, var: tuple[str, ...]) -> None:
    """Are two expressions the same function? Exit 0 if equal, 1 if not (with a counterexample),
    3 if it cannot be decided (with the reason)."""
    from .equiv import equivalent
    from .render import counterexample_line

    env = _vars(var)
    _read_expr("equiv", "first expression", first, env)
    _read_expr("equiv", "second expression", second, env)
    r = equivalent(first, second, env)
    if r.status == "error":  # a typo is not an answer: exit 2, like any unreadable input
        echo(f"prove equiv: error: {r.message}", err=True)
        sys.exit(2)
    echo(r.message)
    if r.counterexample is not None:
        echo(counterexample_line(r.counterexample))
    sys.exit({"equal": 0, "undecided": 3}.get(r.status, 1))


def _add_equiv(commands) -> Parser:
    p = commands.add_parser("equiv", loose=True, help="Are two expressions the same function?",
                            description=equiv.__doc__, epilog=_LEADING_MINUS)
    p.add_argument("first", metavar="FIRST", help="An expression.")
    p.add_argument("second", metavar="SECOND", help="Another expression.")
    p.add_argument("--var", action="append", default=[], metavar="DECL",
                   help="A declaration, as for derive (repeatable).")
    p.set_defaults(run=equiv)
    return p


def schema() -> None:
    """Print the JSON Schema of proof files (for editors)."""
    import json

    from .schema import proof_schema

    echo(json.dumps(proof_schema(), indent=2, ensure_ascii=False))


def _add_schema(commands) -> Parser:
    p = commands.add_parser("schema", help=schema.__doc__, description=schema.__doc__)
    p.set_defaults(run=schema)
    return p


def add_grade(commands) -> Parser:
    """`prove grade`'s options, from `cli_grade` (imported only when grade's parser is built)."""
    from .cli_grade import add_grade as add

    return add(commands)


def add_render(commands) -> Parser:
    """`prove render`'s options, from `cli_render` (imported only when its parser is built)."""
    from .cli_render import add_render as add

    return add(commands)


def add_serve(commands) -> Parser:
    """`prove serve`'s options, from `cli_serve` (imported only when its parser is built)."""
    from .cli_serve import add_serve as add

    return add(commands)


_COMMANDS = {"check": _add_check, "derive": _add_derive, "equiv": _add_equiv, "grade": add_grade,
             "render": add_render, "rules": _add_rules, "schema": _add_schema, "serve": add_serve}


def parsers(prog: str = "prove", only: str | None = None) -> tuple[Parser, dict[str, Parser]]:
    """The `prove` parser and each command's, by name; with `only`, that command's alone (a
    few milliseconds less at every start)."""
    top = Parser(prog=prog, description=_DESCRIPTION)
    top.add_argument("--version", action=_Version, help="Show the version and exit.")
    commands = top.add_subparsers(title="commands", metavar="COMMAND", dest="command",
                                  parser_class=Parser)
    return top, {name: add(commands) for name, add in _COMMANDS.items()
                 if only is None or name == only}


def _program() -> str:
    """The name usage lines give the program: `prove`, or `python -m prover` when run so."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    first = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "prove"
    if spec is not None and spec.name.startswith("prover") and first.endswith(".py"):
        return "python -m " + spec.name.removesuffix(".__main__")
    return first or "prove"


def main(argv: list[str] | None = None) -> None:
    """`prove WORDS...` (argv: the words after `prove`; by default sys.argv[1:]). Always ends by
    raising SystemExit with the exit code: 0 all valid, 1 some invalid, 2 unreadable input or a
    usage error (the command's usage line and the problem on standard error)."""
    words = sys.argv[1:] if argv is None else [str(w) for w in argv]
    prog = _program() if argv is None else "prove"
    # The command is the first word that is not an option; what comes before it is prove's own
    # (--help, --version: each exits; anything else is an error).
    at = next((i for i, w in enumerate(words) if w == STDIN or not w.startswith("-")), len(words))
    if at or at == len(words) or words[at] not in _COMMANDS:
        top, _ = parsers(prog)
        if not words:
            top.print_help(sys.stderr)
            sys.exit(2)
        if at:
            try:
                top.parse_args(words[:at])
            except BrokenPipeError:  # `prove --version | head -c0`
                _silence_stdout()
                sys.exit(1)
            except OSError as exc:  # `prove --version > /dev/full`
                echo(f"prove: error: {exc.strerror or exc}", err=True)
                sys.exit(2)
        if at == len(words):
            top.error("give a command: " + ", ".join(_COMMANDS))
        if words[at] not in _COMMANDS:
            top.error(f"no such command {words[at]!r}; the commands are " + ", ".join(_COMMANDS))
    sub = parsers(prog, only=words[at])[1][words[at]]
    options = vars(sub.parse_args(words[at + 1:]))
    run = options.pop("run")
    for many in ("lib", "var"):
        if many in options:
            options[many] = tuple(options[many])
    try:
        run(**options)
    except UsageError as exc:
        sub.error(str(exc))
    except BrokenPipeError:  # `prove rules | head`: the reader left; say nothing more
        _silence_stdout()
        sys.exit(1)
    except OSError as exc:  # a path the system refuses, an output that cannot be written
        name = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        echo(f"prove {words[at]}: error: {exc.strerror or exc}{name}", err=True)
        sys.exit(2)
    except (KeyboardInterrupt, EOFError) as exc:  # 130 for Ctrl-C (128 + SIGINT), as shells do:
        echo(err=True)                              # not 1, which says a proof does not check
        echo("Aborted!", err=True)
        sys.exit(130 if isinstance(exc, KeyboardInterrupt) else 1)
    except Exception as exc:  # a rule whose statement does not parse, found when first used
        from .source import SourceError

        if not isinstance(exc, SourceError):
            raise
        echo(f"prove {words[at]}: error: {exc.message}", err=True)
        sys.exit(2)
    sys.exit(0)


def entry() -> None:
    """The `prove` console script and `python -m prover`: `main`, then the exit code handed to the
    operating system as soon as the output is flushed. Tearing the interpreter down afterwards —
    Z3's context, every module's objects — takes about 70 ms, a fifth of a `prove check`, and
    nothing a finished command needs happens there: each command closes its files and worker
    pools itself. `prove grade` and `prove serve` keep the ordinary exit (their forkservers are
    shut down at exit)."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    if next((w for w in sys.argv[1:] if not w.startswith("-")), "") in ("grade", "serve"):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError, ValueError):
        code = code or 1
    os._exit(code)


def _silence_stdout() -> None:
    """After a broken pipe, send what is still buffered nowhere, so the exit prints no error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


if __name__ == "__main__":
    entry()
