"""`search.split`: for a true step the cited rules do not justify in one go, an intermediate line
such that both halves are justified (each half's certificate replayed by the kernel)."""
import pytest

from prover.kernel.parser import parse
from prover.kernel.rules import Facts, replay
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context, algebra_equal, decide
from prover.rulebase import load_rulebook
from prover.search import certificate, split

_, BOOK = load_rulebook()
ENV = {"X": VarInfo(Shape("n", "n")), "A": VarInfo(Shape("n", "n"), constant=True),
       "a": VarInfo(Shape("n", 1), constant=True)}


def _ctx():
    return Context(ENV, {"X"})


def _p(text):
    return parse(text, set(ENV))


def _rules(*ids):
    return [BOOK.rules[i] for i in ids]


def _justified(e, e2, rules, ctx):
    moves = certificate(e, e2, rules, ctx)
    if moves is None:
        return False
    line = replay(e, moves, {r.id: r for r in rules}, Facts(ctx.env, ctx.varying), ctx)
    return algebra_equal(line, e2, ctx)


def test_split_gives_two_justified_halves():
    ctx = _ctx()
    rules = _rules("trace-scalar", "diff-trace", "diff-product", "diff-constant", "trace-add",
                   "trace-cyclic")
    e, e2 = _p("d(a^T X^2 a)"), _p("tr((X a a^T + a a^T X) dX)")
    assert decide(e, e2, ctx).holds
    if _justified(e, e2, rules, ctx):  # too long for one step today; if that changes,
        pytest.skip("the search now justifies it in one step")  # split has nothing to do
    m = split(e, e2, rules, ctx)
    assert m is not None
    assert _justified(e, m, rules, ctx) and _justified(m, e2, rules, ctx)


def test_no_split_for_a_justified_step():
    ctx = _ctx()
    rules = _rules("diff-product")
    assert split(_p("d(X^3)"), _p("dX X^2 + X dX X + X^2 dX"), rules, ctx) is None


def test_no_split_when_a_rule_is_missing():
    ctx = _ctx()  # tr(dX X) = tr(X dX) needs trace-cyclic, which is not cited
    rules = _rules("diff-trace", "diff-product", "trace-add")
    assert split(_p("d(tr(X^2))"), _p("2 tr(X dX)"), rules, ctx) is None
