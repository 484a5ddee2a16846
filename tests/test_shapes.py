"""Shape inference and its messages (SPEC §2)."""
import pytest

from prover.kernel.errors import ProveError
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo, shape_of

ENV = {"a": VarInfo(Shape("n", 1)), "b": VarInfo(Shape("m", 1)), "X": VarInfo(Shape("n", "n")),
       "Y": VarInfo(Shape("n", "m")), "s": VarInfo(Shape(1, 1))}


def shape(src):
    return str(shape_of(parse(src, set(ENV)), ENV))


@pytest.mark.parametrize("src, expected", [
    ("a^T X a", "1×1"), ("a a^T", "n×n"), ("Y^T X", "m×n"), ("(a^T a) X", "n×n"),
    ("s Y", "n×m"), ("tr(0 X + a a^T dX)", "1×1"), ("X + I", "n×n"), ("0 Y", "?×m"),
    ("x^T", None),
    # beyond the seed (SPEC §2): entrywise functions keep the shape, log included
    ("log(X)", "n×n"), ("exp(Y) .* Y", "n×m"), ("sigmoid(a)^T a", "1×1"), ("X ∘ I", "n×n"),
    ("kron(X, Y)", "n·n×m·n"), ("a ⊗ b^T", "n×m"), ("vec(Y)", "m·n×1"), ("diag(a)", "n×n"),
    ("sum(Y)", "1×1"), ("kron(s, Y)", "n×m"), ("vec(Y)^T vec(Y)", "1×1"),
])
def test_shapes(src, expected):
    if expected is None:
        with pytest.raises(ProveError, match="not a declared variable"):
            shape(src)
    else:
        assert shape(src) == expected


@pytest.mark.parametrize("src, message", [
    ("tr(a^T X)", "tr(a^T X): a^T X is 1×n, trace needs a square matrix"),
    ("X a^T", "X a^T: X is n×n and a^T is 1×n"),
    ("X + Y", "cannot add a n×n matrix and Y, which is n×m"),
    ("X / a", "'/' divides by a scalar, but a is n×1"),
    ("tr(I)", "the size of I is not fixed"),
    ("Y^-1", "needs a square matrix"),
    ("diag(X)", "diag(X): X is n×n, diag needs a column vector"),
    ("X .* Y", "cannot take the Hadamard product of a n×n matrix and Y, which is n×m"),
    ("s ∘ X", "Hadamard product"), ("exp(I)", "the size of I is not fixed"),
    ("kron(X, 0)", "the size of 0 is not fixed"), ("vec(X) + a", "cannot add"),
    ("X + 2", "cannot add"),
])
def test_shape_errors_name_operator_and_shapes(src, message):
    with pytest.raises(ProveError) as info:
        shape(src)
    assert message in info.value.diag.message


def test_dimension_symbols_are_distinct_and_not_one():
    with pytest.raises(ProveError):
        shape("Y + X")  # n×m vs n×n: m is not n
    with pytest.raises(ProveError):
        shape("a + s")  # n×1 vs 1×1: n is not 1
