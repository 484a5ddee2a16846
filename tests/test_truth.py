"""The semantic check: true identities are confirmed exactly, false ones get a counterexample
that really is one (SPEC §5, "True")."""
from fractions import Fraction

import pytest

from prover.kernel.evaluate import same_value
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context, assignments, check_equal, evaluate_pair

ENV = {"a": VarInfo(Shape("n", 1), constant=True), "b": VarInfo(Shape("n", 1), constant=True),
       "X": VarInfo(Shape("n", "n")), "A": VarInfo(Shape("n", "n")), "B": VarInfo(Shape("n", "n")),
       "C": VarInfo(Shape("n", "n")), "Y": VarInfo(Shape("n", "m")), "s": VarInfo(Shape(1, 1))}


def truth(lhs, rhs, varying=("X",)):
    ctx = Context(ENV, set(varying))
    return check_equal(parse(lhs, set(ENV)), parse(rhs, set(ENV)), ctx)


@pytest.mark.parametrize("lhs, rhs", [
    ("tr(A B)", "tr(B A)"),
    ("tr(A B C)", "tr(C A B)"),
    ("(A B)^T", "B^T A^T"),
    ("d(a^T X a)", "tr(a a^T dX)"),
    ("d(X X)", "dX X + X dX"),
    ("d(X^-1)", "-X^-1 dX X^-1"),
    ("d(det(X))", "det(X) tr(X^-1 dX)"),
    ("d(log(det(X)))", "tr(X^-1 dX)"),
    ("d(d(X X))", "2 dX dX"),
    ("tr(Y^T A Y)", "tr(A Y Y^T)"),
    ("X^0", "I"),
    ("X^-2", "X^-1 X^-1"),
])
def test_true_identities_are_confirmed_exactly(lhs, rhs):
    t = truth(lhs, rhs)
    assert t.status == "true", t.note
    assert "z3" in t.checked_by


@pytest.mark.parametrize("lhs, rhs", [
    ("A B", "B A"),  # true at 1×1 only: the check must never rest on n = 1
    ("tr(A B)", "tr(A) tr(B)"),
    ("(A B)^T", "A^T B^T"),
    ("tr(A B C)", "tr(A C B)"),
    ("d(X X)", "2 X dX"),
    ("d(X^-1)", "-X^-2 dX"),
    ("d(a^T X a)", "tr(a^T a dX)"),
    ("d(log(det(X)))", "tr(X dX)"),
])
def test_false_identities_get_a_real_counterexample(lhs, rhs):
    t = truth(lhs, rhs)
    assert t.status == "false"
    cex = t.counterexample
    assert cex is not None
    assert all(v >= 2 for v in cex.dims.values())
    # re-evaluate both sides at the reported point with exact rationals
    point = {k: v for k, v in cex.values.items() if k in ENV}
    dpoint = {k[1:]: v for k, v in cex.values.items() if k.startswith("d") and k[1:] in ENV}
    lv, rv, F, equal = evaluate_pair(parse(lhs, set(ENV)), parse(rhs, set(ENV)), point, dpoint, 2)
    assert not equal and not same_value(lv, rv, F)
    assert cex.lhs != cex.rhs


def test_constants_have_no_differential():
    assert truth("d(A X)", "A dX").status == "true"           # A constant here
    assert truth("d(A X)", "A dX", varying=("A", "X")).status == "false"


def test_assignments_never_use_one_and_keep_symbols_distinct():
    for dims in assignments({"m", "n"}):
        assert len(set(dims.values())) == 2 and min(dims.values()) >= 2
    sizes = {d["n"] for d in assignments({"n"})}
    assert {2, 3} <= sizes


def test_rational_arithmetic_is_exact():
    assert truth("0.5 X + 0.5 X", "X").status == "true"
    assert truth("X / (1/3)", "3 X").status == "true"
    assert truth("(1/3) X", "0.333 X").status == "false"
    assert Fraction(1, 3) != Fraction(333, 1000)


def test_disagreement_between_exact_and_random_is_an_internal_error(monkeypatch):
    from prover.kernel import truth as tmod
    from prover.kernel import z3check

    tmod.reset_caches()
    monkeypatch.setattr(z3check, "z3_equal", lambda *a, **k: ("disagree", "simulated"))
    monkeypatch.setattr(z3check, "z3_confirm_many", lambda *a, **k: set())  # no batch either
    t = truth("tr(A B)", "tr(B A)")
    assert t.status == "disagree" and "internal error" in t.note
    tmod.reset_caches()


@pytest.mark.parametrize("text", ["tr(A B C)", "tr(Y^T A Y)", "tr(A d(X X) B)", "d(tr(X A X^T))",
                                  "tr(a a^T X)", "tr(s A)", "tr(X^-1 dX)", "tr(A B + B A)",
                                  "tr(X A + 2 B - s C)", "d(tr(A X B X + X))", "tr(A X + s I)"])
def test_trace_of_a_product_from_its_diagonal_agrees_with_the_full_product(text):
    """The evaluator computes tr(P B) from the diagonal of P B only, and tr(P + Q) term by term;
    the same trace computed from the whole argument (written so neither shortcut applies) must
    agree, at every order."""
    import random

    from prover.kernel.evaluate import P, Evaluator, ModP
    from prover.kernel.expr import Func, add
    from prover.kernel.truth import random_point

    e = parse(text, set(ENV))
    ctx = Context(ENV, {"X"})
    rng = random.Random(5)
    for dims in assignments(ctx.dim_syms):
        point, dpoint = random_point(ctx, set(ENV), dims, lambda: rng.randrange(P), 0)

        def slow(x):  # every tr(product) written as tr(product + 0): no shortcut
            if isinstance(x, Func) and x.name == "tr":
                return Func("tr", add(slow(x.arg), parse("0", set())))
            kids = x.children()
            return x.with_children(tuple(slow(k) for k in kids)) if kids else x

        fast_v = Evaluator(ModP, 1, point, dpoint).value(e)
        slow_v = Evaluator(ModP, 1, point, dpoint).value(slow(e))
        assert fast_v.c == slow_v.c  # every Taylor coefficient, entry by entry
