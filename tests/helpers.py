"""Helpers shared by the test modules: running the CLI in-process, and generated expression
trees for property tests."""
import io
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from hypothesis import strategies as st

from prover.cli import main
from prover.kernel.expr import Div, Func, Ident, Inv, Neg, Num, Pow, Sym, T, add, mul


@dataclass
class CliResult:
    """What one `prove` run did: `output` is standard output and error interleaved as written;
    `exception` is None, the SystemExit of a non-zero exit, or whatever else escaped (a bug)."""
    exit_code: int
    stdout: str
    stderr: str
    output: str
    exception: Optional[BaseException] = None


class _Capture(io.TextIOBase):
    """A stream that is not a terminal, writing to its own buffer and to the shared one."""

    def __init__(self, own: io.StringIO, both: io.StringIO):
        self._own, self._both = own, both

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        self._own.write(text)
        self._both.write(text)
        return len(text)


def run_cli(args, input=None, env=None) -> CliResult:
    """`prove ARGS…` in-process, with `input` (str or bytes) as standard input and `env` added to
    the environment (None as a value unsets the variable) for the run only."""
    out, err, both = io.StringIO(), io.StringIO(), io.StringIO()
    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    saved_env = {k: os.environ.get(k) for k in (env or {})}
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    for k, v in (env or {}).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    sys.stdout, sys.stderr = _Capture(out, both), _Capture(err, both)
    code, exception = 0, None
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
        exception = exc if code else None
    except Exception as exc:  # noqa: BLE001 - reported in the result, as a bug
        code, exception = 1, exc
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return CliResult(code, out.getvalue(), err.getvalue(), both.getvalue(), exception)


def run(*args):
    """`prove ARGS…` in-process: (exit code, output). Any exception other than the exit is a bug."""
    r = run_cli(args)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


def expr_trees(names, numbers=(0, 1, 2, Fraction(5, 2), Fraction(3, 4)), powers=(0, 1, 2, 3, -2),
               max_leaves=12):
    """Random flat trees over `names` (shapes are not respected: for syntax properties)."""
    leaves = st.one_of(st.sampled_from(sorted(names)).map(Sym),
                       st.sampled_from([Fraction(x) for x in numbers]).map(Num),
                       st.just(Ident()))

    def extend(children):
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: add(*xs)),
            st.tuples(children, children).map(lambda p: add(p[0], Neg(p[1]))),
            children.map(Neg),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: mul(*xs)),
            st.tuples(children, children).map(lambda p: Div(p[0], p[1])),
            children.map(T),
            children.map(Inv),
            st.tuples(children, st.sampled_from(list(powers))).map(lambda p: Pow(*p)),
            st.tuples(st.sampled_from(["tr", "det", "log", "d"]), children).map(lambda p: Func(*p)),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)
