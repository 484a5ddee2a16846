"""The notation: parsing, printing, round trips, spans and limits (SPEC §2)."""
from fractions import Fraction

import pytest
from hypothesis import given, settings

from prover.kernel.errors import ProveError
from prover.kernel.expr import Add, Div, Func, Mul, Neg, Num, Sym, T
from prover.kernel.parser import parse
from prover.kernel.printer import show

from helpers import expr_trees

NAMES = {"a", "b", "x", "X", "Y", "A", "B", "S"}


@pytest.mark.parametrize("src, printed", [
    ("a^T X a", "a^T X a"),
    ("a^T*X*a", "a^T X a"),
    ("tr(X⁻¹ dX)", "tr(X^-1 dX)"),
    ("Xᵀ", "X^T"), ("X'", "X^T"), ("X^{T}", "X^T"),
    ("X^{-1}", "X^-1"), ("X^-2", "X^-2"), ("X^{3}", "X^3"),
    ("2X", "2 X"), ("2 X", "2 X"),
    ("-a^T X a", "-a^T X a"),
    ("A - B A", "A - B A"),
    ("x^T A x / (x^T x)", "x^T A x / (x^T x)"),
    ("(A B) (X Y)", "A B X Y"),
    ("-(X^-1) (dX) (X^{-1})", "-X^-1 dX X^-1"),
    ("tr(0 X + a a^T dX)", "tr(0 X + a a^T dX)"),
    ("1/2 X", "1 / 2 X"),
    ("0.25 A", "0.25 A"),
    ("d(X)^T", "dX^T"),
    ("log(det(X))", "log(det(X))"),
])
def test_parse_and_print(src, printed):
    e = parse(src, NAMES)
    assert show(e, NAMES) == printed
    assert parse(printed, NAMES) == e


def test_precedence():
    # unary minus binds looser than a product, tighter than a sum
    assert parse("-a^T X a", NAMES) == Neg(Mul((T(Sym("a")), Sym("X"), Sym("a"))))
    assert parse("A - B A", NAMES) == Add((Sym("A"), Neg(Mul((Sym("B"), Sym("A"))))))
    # '/' takes one factor, left to right
    assert parse("a / b X", NAMES) == Mul((Div(Sym("a"), Sym("b")), Sym("X")))


def test_numbers_have_no_exponent_part():
    # `2X` is 2·X, so `2e5` is 2·e5 (a name), never 200000
    assert parse("2e5", {"e5"}) == Mul((Num(Fraction(2)), Sym("e5")))


def test_names_are_whole_words():
    assert parse("ab", {"ab"}) == Sym("ab")
    assert parse("dX", {"X"}) == Func("d", Sym("X"))
    assert parse("dX", {"X", "dX"}) == Sym("dX")  # a declared dX is a variable of its own


@pytest.mark.parametrize("src, fragment, start", [
    ("tr(X", "expected ')'", 4),
    ("X +", "expected a name", 3),
    ("X ^ Y", "integer exponent", 4),
    ("X . Y", "unexpected character '.'", 2),
    ("tr X", "tr needs its argument in parentheses", 0),
    ("X $ Y", "unexpected character '$'", 2),
    ("X^999999999", "larger than the limit", 2),
    ("(" * 100 + "X" + ")" * 100, "nests deeper", None),
])
def test_parse_errors_have_spans(src, fragment, start):
    with pytest.raises(ProveError) as info:
        parse(src, NAMES)
    assert fragment in info.value.diag.message
    if start is not None:
        assert info.value.diag.span.start == start


def test_expression_size_limit():
    with pytest.raises(ProveError, match="characters long"):
        parse(" + ".join(["X"] * 2000), NAMES)


# -- the round-trip property over generated trees ------------------------------------------------
trees = expr_trees(NAMES)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_print_then_parse_is_identity(e):
    text = show(e, NAMES)
    assert parse(text, NAMES) == e, text
