"""SymPy's own tests of matrix derivatives, run through `prove derive` (issue 13).

SymPy ships `sympy/matrices/expressions/tests/test_derivatives.py` (most cases are Matrix
Cookbook examples 61–127). Every case there whose function is scalar-valued is listed below,
transcribed by hand into the notation of SPEC §2, with SymPy's asserted answer transcribed the
same way. SymPy's answers are in denominator layout (∂f/∂X has X's shape), ours in numerator
layout, so they compare as transposes.

For each case that the notation can write: `prove derive` gives an answer, the kernel accepts
the proof the engine wrote, and at random points the answer agrees both with central finite
differences of f and with SymPy's answer (which is itself checked against finite differences,
so a slip in the transcription shows as such). Cases that need notation `prove` does not have
yet are skipped with the missing notation named.

SymPy's size symbol k is our n; its scalar i is a declared 1×1 variable; its vector d is our e
(`d` is the differential). Where SymPy's answer
holds only for symmetric matrices (the test file says so for Cookbook 125 and 127, and its
answer to 126 is of the same kind), those constants are declared symmetric, so that both
answers are about the same function.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import pytest

from derive_problems import (TOL, Problem, evaluate, fd_gradient, materialize, numerator_value,
                             rel_error, sample_points)
from prover.derive import check_derivation, derive
from prover.kernel.parser import parse

X, x, y = "X: n x n", "x: n x 1", "y: n x 1 constant"
A, B, C, D = ("A: n x n constant", "B: n x n constant", "C: n x n constant",
              "D: n x n constant")
a, b, c, e = ("a: n x 1 constant", "b: n x 1 constant", "c: n x 1 constant",
              "e: n x 1 constant")
SYM_B, SYM_C = "B: n x n constant symmetric", "C: n x n constant symmetric"


@dataclass(frozen=True)
class Case:
    name: str  # the SymPy test function and the Cookbook example, where it has one
    f: str
    wrt: str
    vars: tuple[str, ...]
    sympy: str | None  # SymPy's answer, denominator layout
    missing: str | None = None  # the notation this case needs that prove lacks

    def problem(self) -> Problem:
        return Problem(self.name, self.f, self.wrt, self.vars)


def K(name, f, wrt, vars, sympy=None, missing=None):
    return Case(name, f, wrt, tuple(vars), sympy, missing)


COMPLICATED = ("a^T (A X (X^T B + X A) + B^T X^T (a b^T (X D X^T + X (X^T B + A X) D B "
               "- X^T C^T A) B + B (X D^T + B A X A^T - 3 X D)) B + 42 X B X^T A^T (X + X^T)) b")
COMPLICATED_SYMPY = (
    "(B (B A X A^T - 3 X D + X D^T) + a b^T (X (A X + X^T B) D B + X D X^T - X^T C^T A) B) "
    "B b a^T B^T + B^2 b a^T B^T X^T a b^T X D + 42 A X B^T X^T a b^T "
    "+ B D B^3 b a^T B^T X^T a b^T X + B b a^T A X + a b^T (42 X + 42 X^T) A X B^T "
    "+ b a^T X B a b^T B^T B^T X D^T + b a^T X B a b^T B^T B^T B^T D^T (B^T X + X^T A^T) "
    "+ 42 b a^T X B X^T A^T + A^T (42 X + 42 X^T) b a^T X B + A^T B^T B^T X B a b^T B^T A "
    "+ A^T a b^T (A^T X^T + B^T X) + A^T X^T b a^T X B a b^T B^T B^T B^T D^T "
    "+ B^T X B a b^T B^T D - 3 B^T X B a b^T B^T D^T - C^T A B^2 b a^T B^T X^T a b^T "
    "+ X^T A^T a b^T A^T")

CASES: list[Case] = [
    # test_matrix_derivative_by_scalar (the scalar-valued ones)
    K("by_scalar-trace", "tr(i^2 X)", "i", ["i: scalar", X], "2 i tr(X)"),
    K("by_scalar-xTy", "x^T y", "i", ["i: scalar", x, y], "0"),
    # test_matrix_derivative_with_inverse
    K("inverse-61", "a^T X^-1 b", "X", [a, X, b], "-X^-T a b^T X^-T"),
    K("inverse-63", "tr(A X^-1 B)", "X", [A, X, B], "-(X^-1 B A X^-1)^T"),
    K("inverse-64", "tr((X + A)^-1)", "X", [X, A], "-(X + A)^-T (X + A)^-T"),
    # test_matrix_derivative_vectors_and_scalars
    K("vectors-69", "x^T a", "x", [x, a], "a"),
    K("vectors-69b", "a^T x", "x", [x, a], "a"),
    K("vectors-70", "a^T X b", "X", [a, X, b], "a b^T"),
    K("vectors-71", "a^T X^T b", "X", [a, X, b], "b a^T"),
    K("vectors-72", "a^T X a", "X", [a, X], "a a^T"),
    K("vectors-72b", "a^T X^T a", "X", [a, X], "a a^T"),
    K("vectors-77", "b^T X^T X c", "X", [b, X, c], "X b c^T + X c b^T"),
    K("vectors-78", "(B x + b)^T C (D x + e)", "x", [B, x, b, C, D, e],
      "B^T C (D x + e) + D^T C^T (B x + b)"),
    K("vectors-81", "x^T B x", "x", [x, B], "B x + B^T x"),
    K("vectors-82", "b^T X^T D X c", "X", [b, X, D, c], "D^T X b c^T + D X c b^T"),
    K("vectors-83", "(X b + c)^T D (X b + c)", "X", [X, b, c, D],
      "D (X b + c) b^T + D^T (X b + c) b^T"),
    # test_matrix_derivatives_of_traces, first order
    K("traces-99", "tr(X)", "X", [X], "I"),
    K("traces-100", "tr(X A)", "X", [X, A], "A^T"),
    K("traces-101", "tr(A X B)", "X", [A, X, B], "A^T B^T"),
    K("traces-102", "tr(A X^T B)", "X", [A, X, B], "B A"),
    K("traces-103", "tr(X^T A)", "X", [X, A], "A"),
    K("traces-104", "tr(A X^T)", "X", [X, A], "A"),
    K("traces-105", "tr(kron(A, X))", "X", [A, X], "tr(A) I"),
    # second order
    K("traces-106", "tr(X^2)", "X", [X], "2 X^T"),
    K("traces-107", "tr(X^2 B)", "X", [X, B], "(X B + B X)^T"),
    K("traces-107b", "tr(X X B)", "X", [X, B], "(X B + B X)^T"),
    K("traces-108", "tr(X^T B X)", "X", [X, B], "B X + B^T X"),
    K("traces-109", "tr(B X X^T)", "X", [X, B], "B X + B^T X"),
    K("traces-110", "tr(X X^T B)", "X", [X, B], "B X + B^T X"),
    K("traces-111", "tr(X B X^T)", "X", [X, B], "X B^T + X B"),
    K("traces-112", "tr(B X^T X)", "X", [X, B], "X B^T + X B"),
    K("traces-113", "tr(X^T X B)", "X", [X, B], "X B^T + X B"),
    K("traces-114", "tr(A X B X)", "X", [A, X, B], "A^T X^T B^T + B^T X^T A^T"),
    K("traces-115", "tr(X^T X)", "X", [X], "2 X"),
    K("traces-115b", "tr(X X^T)", "X", [X], "2 X"),
    K("traces-116", "tr(B^T X^T C X B)", "X", [B, X, C], "C^T X B B^T + C X B B^T"),
    K("traces-117", "tr(X^T B X C)", "X", [X, B, C], "B X C + B^T X C^T"),
    K("traces-118", "tr(A X B X^T C)", "X", [A, X, B, C], "A^T C^T X B^T + C A X B"),
    K("traces-119", "tr((A X B + C) (A X B + C)^T)", "X", [A, X, B, C],
      "2 A^T (A X B + C) B^T"),
    # higher order, and other
    K("traces-123", "tr(B^T X^T C X X^T C X B)", "X", [B, X, C],
      "C X X^T C X B B^T + C^T X B B^T X^T C^T X + C X B B^T X^T C X "
      "+ C^T X X^T C^T X B B^T"),
    K("traces-124", "tr(A X^-1 B)", "X", [A, X, B], "-X^-T A^T B^T X^-T"),
    K("traces-125", "tr((X^T C X)^-1 A)", "X", [X, SYM_C, A],
      "-X^-T A^T X^-1 C^-T X^-T - X^-T A X^-1 C^-1 X^-T"),
    K("traces-126", "tr((X^T C X)^-1 (X^T B X))", "X", [X, SYM_C, SYM_B],
      "-2 C X (X^T C X)^-1 X^T B X (X^T C X)^-1 + 2 B X (X^T C X)^-1"),
    K("traces-127", "tr((A + X^T C X)^-1 (X^T B X))", "X", [A, X, SYM_C, SYM_B],
      "B X (A + X^T C X)^-1 - C X (A + X^T C X)^-1 X^T B X (A + X^T C X)^-1 "
      "- C^T X (A^T + (C X)^T X)^-1 X^T B^T X (A^T + (C X)^T X)^-1 "
      "+ B^T X (A^T + (C X)^T X)^-1"),
    # test_derivatives_of_complicated_matrix_expr
    K("complicated", COMPLICATED, "X", [a, A, X, B, D, b, C], COMPLICATED_SYMPY),
    # test_mixed_deriv_mixed_expressions (A is the variable there)
    K("mixed-3trA", "3 tr(A)", "A", ["A: n x n"], "3 I"),
    K("mixed-k", "k", "A", ["A: n x n", "k: scalar constant"], "0"),
    K("mixed-trA2", "tr(A)^2", "A", ["A: n x n"], "2 tr(A) I"),
    K("mixed-tr-trA-A", "tr(tr(A) A)", "A", ["A: n x n"], "2 tr(A) I"),
    K("mixed-tr-tr-trA-A-A", "tr(tr(tr(A) A) A)", "A", ["A: n x n"], "3 tr(A)^2 I"),
    # test_derivatives_matrix_norms
    K("norms-xTy", "x^T y", "x", [x, y], "y"),
    K("norms-sqrt-xTy", "sqrt(x^T y)", "x", [x, y], "y / (2 sqrt(x^T y))"),
    K("norms-sqrt-xTx", "sqrt(x^T x)", "x", [x], "x / sqrt(x^T x)"),
    K("norms-sqrt-cTaxTb", "sqrt(c^T a x^T b)", "x", [c, a, x, b],
      "(c^T a) b / (2 sqrt(c^T a x^T b))"),
    K("norms-cuberoot", "(c^T a x^T b)^(1/3)", "x", [c, a, x, b], None,
      missing="rational powers of a scalar (a cube root; sqrt is the only root)"),
    K("norms-sqrt-aTXb", "sqrt(a^T X b)", "X", [a, X, b], "a b^T / (2 sqrt(a^T X b))"),
    K("norms-dTx-sqrt", "e^T x sqrt(a^T X b) y^T c", "X", [e, x, a, X, b, y, c],
      "(e^T x) (y^T c) a b^T / (2 sqrt(a^T X b))"),
    # test_derivatives_elementwise_applyfunc (the scalar-valued ones)
    K("elementwise-sin-y", "x^T A x + k sin(y)^T x", "x", [x, A, "k: scalar constant", y],
      None, missing="sin (element-wise functions other than exp, log, sqrt, sigmoid, tanh)"),
    K("elementwise-sin-aTXb", "sin(a^T X b)", "X", [a, X, b], None, missing="sin"),
    K("elementwise-aT-sinX-b", "a^T sin(X) b", "X", [a, X, b], None, missing="sin"),
    K("elementwise-aT-sinAXB-b", "a^T sin(A X B) b", "X", [a, A, X, B, b], None,
      missing="sin"),
    K("elementwise-aTA-sinX-Bb", "a^T A sin(X) B b", "X", [a, A, X, B, b], None,
      missing="sin"),
    # test_derivatives_of_hadamard_expressions (the scalar-valued ones)
    K("hadamard-product", "a^T (A .* X .* B) b", "X", [a, A, X, B, b], "A .* B .* (a b^T)"),
    K("hadamard-square", "(a^T X b)^2", "X", [a, X, b], "2 a a^T X b b^T"),
    K("hadamard-sqrt", "sqrt(a^T X b)", "X", [a, X, b], "a b^T / (2 sqrt(a^T X b))"),
    # test_one_matrix
    K("one-matrix", "x^T 1", "x", [x], None,
      missing="the all-ones vector (sum(x) is in the notation, but its derivative is 1^T)"),
]

EXPRESSIBLE = [k for k in CASES if k.missing is None]


def test_the_transcription_is_complete():
    """Every scalar-valued case of SymPy's file is here once; the count in the final note."""
    assert len({k.name for k in CASES}) == len(CASES) == 66
    assert len(EXPRESSIBLE) == 59  # Cookbook 105, tr(kron(A, X)), derives since trace-kron


def _param(k: Case):
    marks = [pytest.mark.skip(reason=f"needs notation prove lacks: {k.missing}")] \
        if k.missing else []
    return pytest.param(k, id=k.name, marks=marks)


@pytest.mark.parametrize("case", [_param(k) for k in CASES])
def test_sympy_case_derives_with_a_checked_proof(case: Case):
    p = case.problem()
    env = p.env()
    dv = derive(p.f, p.wrt, env)
    result = check_derivation(dv)
    assert result.status == "valid", (
        "; ".join(f"{s.expr}: {s.status} {s.message}" for s in result.steps
                  if s.status != "valid") + "\n" + dv.proof_yaml())
    f, env, points = sample_points(p, seed=zlib.crc32(case.name.encode()))
    theirs = parse(case.sympy, set(env))
    for vals in points:
        fd = fd_gradient(f, p.wrt, vals)  # denominator layout, like SymPy's
        ours = numerator_value(dv.derivative, env, p.wrt, vals).T
        expected = materialize(evaluate(theirs, vals), fd.shape)
        assert rel_error(expected, fd) < TOL, f"the transcription of SymPy's answer is off: {case.sympy}"
        assert rel_error(ours, fd) < TOL, f"{case.f}: prove says {dv.derivative}"
        assert rel_error(ours, expected) < TOL
