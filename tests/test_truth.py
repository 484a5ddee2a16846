"""The semantic check (SPEC §5, "True"): typed evidence, sizes that cover the degree, witnesses
that really are ones."""
from fractions import Fraction

import pytest

from prover.explain import QQ
from prover.kernel.evaluate import Evaluator, equal_values
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context, decide, plan

ENV = {"a": VarInfo(Shape("n", 1), constant=True), "b": VarInfo(Shape("n", 1), constant=True),
       "X": VarInfo(Shape("n", "n")), "A": VarInfo(Shape("n", "n")), "B": VarInfo(Shape("n", "n")),
       "C": VarInfo(Shape("n", "n")), "Y": VarInfo(Shape("n", "m")), "s": VarInfo(Shape(1, 1))}


def truth(lhs, rhs, varying=("X",)):
    return decide(parse(lhs, set(ENV)), parse(rhs, set(ENV)), Context(ENV, set(varying)))


@pytest.mark.parametrize("lhs, rhs", [
    ("tr(A B)", "tr(B A)"), ("tr(A B C)", "tr(C A B)"), ("(A B)^T", "B^T A^T"),
    ("d(a^T X a)", "tr(a a^T dX)"), ("d(X X)", "dX X + X dX"), ("d(d(X X))", "2 dX dX"),
    ("tr(Y^T A Y)", "tr(A Y Y^T)"),
])
def test_polynomial_identities_are_confirmed_exactly(lhs, rhs):
    t = truth(lhs, rhs)
    assert t.kind == "exact", t.note
    assert "z3" in t.checked_by


@pytest.mark.parametrize("lhs, rhs", [
    ("d(X^-1)", "-X^-1 dX X^-1"), ("d(det(X))", "det(X) tr(X^-1 dX)"),
    ("d(log(det(X)))", "tr(X^-1 dX)"), ("X^0", "I"), ("X^-2", "X^-1 X^-1"),
])
def test_identities_with_inverses_and_det_hold_at_every_size_up_to_their_bound(lhs, rhs):
    t = truth(lhs, rhs)
    assert t.kind in ("exact", "probabilistic"), t.note
    if t.kind == "probabilistic":
        assert 0 < t.bound < 1e-12
        assert max(d["n"] for d in t.sizes) >= 4


@pytest.mark.parametrize("lhs, rhs", [
    ("A B", "B A"), ("tr(A B)", "tr(A) tr(B)"), ("(A B)^T", "A^T B^T"),
    ("tr(A B C)", "tr(A C B)"), ("d(X X)", "2 X dX"), ("d(X^-1)", "-X^-2 dX"),
    ("d(a^T X a)", "tr(a^T a dX)"),
])
def test_false_identities_get_a_witness_that_is_one(lhs, rhs):
    t = truth(lhs, rhs)
    assert t.kind == "false"
    w = t.witness
    assert w is not None and all(v >= 2 for v in w.dims.values())
    # the witness is an integer point: re-evaluate it exactly over the rationals
    point = {k: [[Fraction(x) for x in row] for row in v] for k, v in w.values.items() if k in ENV}
    dpoint = {k[1:]: [[Fraction(x) for x in row] for row in v] for k, v in w.values.items()
              if k.startswith("d") and k[1:] in ENV}
    L, R = parse(lhs, set(ENV)), parse(rhs, set(ENV))
    ev = Evaluator(QQ, 2, point, dpoint, ENV, w.dims)
    lv, rv = ev.full(ev.value(L), L, R), ev.full(ev.value(R), R, L)
    assert not equal_values(lv, rv, QQ)


def test_constants_have_no_differential():
    assert truth("d(A X)", "A dX").kind == "exact"
    assert truth("d(A X)", "A dX", varying=("A", "X")).kind == "false"


def test_sizes_never_use_one_and_keep_symbols_distinct():
    ctx = Context(ENV, {"X"})
    sizes, _, _ = plan(parse("tr(Y^T A Y)", set(ENV)), parse("tr(A Y Y^T)", set(ENV)), ctx)
    for dims in sizes:
        assert len(set(dims.values())) == len(dims) and min(dims.values()) >= 2


def test_size_dependent_steps_are_checked_at_every_size_up_to_their_degree_in_the_sizes():
    """`((tr(A^0) - tr(Y^T Y Y^-T ... )))`: a polynomial of degree D in size-dependent scalars is
    checked at D + 1 sizes or more per symbol, in every combination of the symbols."""
    ctx = Context(ENV, {"X"})
    lhs = parse("((tr(A^0) - 3)^2 - 1)^2 tr(Y^T Y)", set(ENV))
    sizes, decisive, over = plan(lhs, parse("0", set(ENV)), ctx)
    assert not over and decisive == len(sizes)
    assert {d["n"] for d in sizes} >= {2, 3, 4, 5, 6, 7}  # degree 4 in tr(A^0) = n
    assert {(d["m"], d["n"]) for d in sizes} >= {(2, 4), (4, 2), (3, 3)}  # gaps of every size
    # a symbol the step does not use (m, for A alone) keeps one size: the step's value cannot
    # depend on it, and the claim is asserted there
    only_a, _, _ = plan(parse("((tr(A^0) - 3)^2 - 1)^2 A", set(ENV)), parse("0", set(ENV)), ctx)
    assert {d["n"] for d in only_a} >= {2, 3, 4, 5, 6, 7} and len({d["m"] for d in only_a}) == 1


def test_rational_arithmetic_is_exact():
    assert truth("0.5 X + 0.5 X", "X").holds
    assert truth("X / (1/3)", "3 X").holds
    assert truth("(1/3) X", "0.333 X").kind == "false"


def test_a_step_with_log_that_differs_is_never_valid():
    # log is read as an arbitrary function mod p, so a difference there is not proof of one
    assert truth("d(log(det(X)))", "tr(X dX)").kind in ("false", "unknown")


def test_a_law_of_log_is_unknown_not_false():
    t = truth("log(s s)", "2 log(s)", varying=("s",))
    assert t.kind == "unknown" and "law of log" in t.note


def test_each_check_draws_its_own_prime():
    """A context draws its prime when it first evaluates (a remembered answer needs none), and
    every point of that context is taken in that one field."""
    a, b = Context(ENV, set()), Context(ENV, set())
    assert a.field is None and b.field is None
    dims = {"n": 3, "m": 2}
    first = a.evaluator(dims)
    assert a.field is not None and first.F is a.field
    assert a.evaluator(dims, fresh=1).F is a.field  # the same prime for its other points
    assert b.evaluator(dims).F.p != a.field.p
    assert all(0 <= x < a.field.p for row in first.point["X"] for x in row)


# -- Z3 reads the step as an SMT-LIB script: its answers, not only its "unsat" ---------------
@pytest.mark.parametrize("lhs, rhs, want", [
    ("A B", "B A", "sat"),                                  # differs at every size ≥ 2
    ("X/2 + X/2", "X", "unsat"),                            # fractions written as SMT-LIB numerals
    ("-3/4 X - X/4", "-X", "unsat"),                        # negative literals
    ("-3/4 X", "-X", "sat"),
    ("tr(A B) - tr(B A)", "0", "unsat"),
    ("tr(A B) + 1/3", "tr(B A)", "sat"),
    ("(tr(A))/(tr(B)) tr(B)", "tr(A)", "unsat"),            # a reciprocal: r with tr(B)·r = 1
    ("(tr(A))/(tr(B)) tr(B)", "tr(B)", "sat"),
    ("d(A B)", "d(A) B + A d(B)", "unsat"),                 # differentials are unknowns too
    ("d(A B)", "d(A) B + d(B) A", "sat"),
])
def test_z3_script_answers(lhs, rhs, want):
    from prover.kernel.z3field import z3_decide
    env = {n: VarInfo(Shape("n", "n")) for n in "ABX"}
    ctx = Context(env, {"A", "B", "X"})
    names = set(env)
    verdict, _ = z3_decide(parse(lhs, names), parse(rhs, names), ctx, {"n": 2}, 1, 3_000_000)
    assert verdict == want


def test_a_symbol_the_step_does_not_use_cannot_hide_a_false_step():
    """The windowed check gives a symbol the step does not use one size (the least where the
    claim is defined, here m >= n): a step true at that size alone is still refused, since every
    size of the symbols it does use is checked."""
    ctx = Context(ENV, {"X"}, relations=(("m", ">=", "n"),))
    for k in (2, 3, 4):
        t = decide(parse(f"(tr(A^0) - {k}) A", set(ENV)), parse("0", set(ENV)), ctx)
        assert t.kind == "false", (k, t)
