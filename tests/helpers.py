"""Helpers shared by the test modules: running the CLI in-process, and generated expression
trees for property tests."""
from fractions import Fraction

from click.testing import CliRunner
from hypothesis import strategies as st

from prover.cli import main
from prover.kernel.expr import Div, Func, Ident, Inv, Neg, Num, Pow, Sym, T, add, mul


def run(*args):
    """`prove ARGS…` in-process: (exit code, output). Any exception other than the exit is a bug."""
    r = CliRunner().invoke(main, [str(a) for a in args])
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
