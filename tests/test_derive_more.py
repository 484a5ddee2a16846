"""`prove derive` beyond the problem suite (issue 13, the part that needs no new notation).

Each derivation is checked twice, as in `test_derive.py`: the kernel accepts the proof the engine
wrote, and the answer agrees with central finite differences of f at random points. Covered:
`I` printed as `I`; nested traces and scalars inside traces; derivatives with respect to a 1×1
variable (read off as tr(G ds) with G a scalar); determinants whose argument is not declared
invertible (the proof carries the `assume:` Jacobi's formula needs); the engine's work limit and
sizes that stay polynomial; answers in the form a book prints.
"""
from __future__ import annotations

import zlib

import pytest

from derive_problems import (TOL, Problem, fd_gradient, numerator_value, rel_error,
                             sample_points)
from prover.derive import DeriveError, check_derivation, derive, parse_var
from prover.kernel.errors import Limits
from prover.kernel.expr import size
from prover.kernel.parser import parse

X, A, B, C, D = ("X: n x n", "A: n x n constant", "B: n x n constant", "C: n x n constant",
                 "D: n x n constant")


def derived(f: str, wrt: str, *vars: str):
    """Derive, have the kernel check the proof, and compare with finite differences."""
    p = Problem(f, f, wrt, tuple(vars))
    dv = derive(p.f, p.wrt, p.env())
    result = check_derivation(dv)
    assert result.status == "valid", (
        "; ".join(f"{s.expr}: {s.status} {s.message}" for s in result.steps
                  if s.status != "valid") + "\n" + dv.proof_yaml())
    assert dv.combined and not result.warnings
    fun, env, points = sample_points(p, seed=zlib.crc32(f.encode()))
    for vals in points:
        want = fd_gradient(fun, wrt, vals).T
        got = numerator_value(dv.derivative, env, wrt, vals)
        assert rel_error(got, want) < TOL, f"{f}: prove says {dv.derivative}"
    assert dv.steps[-1][0] == str(dv.derivative)
    return dv


# -- I is printed as I --------------------------------------------------------------------------
@pytest.mark.parametrize("f, answer", [
    ("tr((I + X)^-1)", "-(I + X)^-2"),
    ("log(det(I + X^T X))", "2 (I + X^T X)^-1 X^T"),
    ("tr(X + 2 I)", "I"),
])
def test_identity_is_printed_as_identity(f, answer):
    dv = derived(f, "X", X)
    assert dv.steps[-1][0] == answer
    assert "1 +" not in dv.proof_yaml() and "+ 1)" not in dv.proof_yaml()


# -- nested traces, scalars inside traces --------------------------------------------------------
@pytest.mark.parametrize("f, vars, answer", [
    ("tr(tr(X) X)", [X], "2 tr(X) I"),
    ("tr(tr(tr(X) X) X)", [X], "3 tr(X)^2 I"),
    ("tr(tr(A X B) A X B)", [A, X, B], None),
    ("tr(tr(tr(A X B) A X B) A X B)", [A, X, B], None),
    ("tr(X) tr(X^T A)", [X, A], "tr(X) A^T + tr(X^T A) I"),
    ("tr(det(X) X)", ["X: n x n invertible"], None),
    ("tr((a^T X a) X)", ["a: n x 1 constant", X], None),
])
def test_nested_traces(f, vars, answer):
    dv = derived(f, "X", *vars)
    if answer:
        assert dv.steps[-1][0] == answer


# -- with respect to a scalar --------------------------------------------------------------------
@pytest.mark.parametrize("f, vars, answer", [
    ("tr(s A)", [A], "tr(A)"),
    ("tr((A + s B)^-1)", [A, B], "-tr((A + s B)^-1 B (A + s B)^-1)"),
    ("tr(s^2 A)", [A], "2 s tr(A)"),
    ("x^T (A + s B)^-1 x", [A, B, "x: n x 1 constant"], None),
    ("log(det(A + s B))", [A, B], "tr((A + s B)^-1 B)"),
    ("s^3 + 2 s", [], "2 + 3 s^2"),
    ("tr(A)", [A], "0"),
])
def test_with_respect_to_a_scalar(f, vars, answer):
    """∂f/∂s for a 1×1 s is 1×1: the proof ends at tr(G ds) with G a scalar (SPEC §3: the
    chain reaches tr(G' dX), and in either layout G has the 1×1 shape of s)."""
    dv = derived(f, "s", "s: scalar", *vars)
    assert dv.proof_yaml().count("derivative:") == 2
    last_line = dv.steps[-2][0]
    assert last_line.startswith("tr(") and last_line.endswith("ds)")
    if answer:
        assert dv.steps[-1][0] == answer


# -- determinants of arguments not declared invertible --------------------------------------------
@pytest.mark.parametrize("f, vars, answer, assumed", [
    ("det(X)", [X], "det(X) X^-1", ["X"]),
    ("det(X^T X)", ["X: n x m"], "2 det(X^T X) (X^T X)^-1 X^T", ["X^T X"]),
    ("det(A X B)", [A, X, B], None, ["A X B"]),
    # A X B is m×m, the smallest of the test sizes (m=2, n=3, p=4), so it can have full rank
    ("det(A X B)", ["A: m x n constant", "X: n x p", "B: p x m constant"],
     "det(A X B) B (A X B)^-1 A", ["A X B"]),
    ("det(I + X)", [X], "det(I + X) (I + X)^-1", ["I + X"]),
    ("det(X) tr(X)", [X], None, ["X"]),
])
def test_det_carries_the_assumption_its_inverse_needs(f, vars, answer, assumed):
    """Jacobi's formula d det(M) = det(M) tr(M^-1 dM) holds where M is invertible; elsewhere the
    derivative is the adjugate's, which the notation cannot write. So the proof states
    `assume: {invertible: [M]}` and is checked at the sizes where M can be invertible."""
    dv = derived(f, "X", *vars)
    assert dv.assume_invertible == assumed
    assert "assume:\n  invertible: [" in dv.proof_yaml()
    if answer:
        assert dv.steps[-1][0] == answer


def test_a_declared_invertible_matrix_needs_no_assumption():
    dv = derived("det(X)", "X", "X: n x n invertible")
    assert dv.assume_invertible == [] and "assume:" not in dv.proof_yaml()


# -- the work limit; sizes that stay polynomial ----------------------------------------------------
def test_the_work_limit_refuses_with_its_reason():
    with pytest.raises(DeriveError, match="limit"):
        derive("tr(X^16^16)", "X", dict([parse_var(X)]))


@pytest.mark.parametrize("k", [5, 8])
def test_powers_of_sums_stay_small(k):
    """(X + A)^k is k factors, never 2^k monomials: the product rule works on the factors and
    the sum X + A stays one factor, so no line nears the checker's node limit."""
    dv = derived(f"tr((X + A)^{k})", "X", X, A)
    assert dv.steps[-1][0] == f"{k} (X + A)^{k - 1}"
    assert max(size(parse(text, set(dv.env))) for text, _ in dv.steps) < Limits.max_nodes // 2


def test_work_grows_polynomially():
    work = {k: derive(f"tr((X + A)^{k})", "X", dict(parse_var(v) for v in (X, A))).work
            for k in (4, 8, 16)}
    # doubling k multiplies the work by about k^3's 8, not by 2^k's 16 (from 4) or 256 (from 8)
    assert work[8] < 10 * work[4] and work[16] < 10 * work[8], work
    assert work[16] < 100_000, work


# -- answers in the form a book prints --------------------------------------------------------
@pytest.mark.parametrize("f, wrt, vars, answer", [
    ("(X b + c)^T D (X b + c)", "X", [X, "b: n x 1 constant", "c: n x 1 constant", D],
     "b (X b + c)^T (D + D^T)"),
    ("log(det(X)) + (y - mu)^T X^-1 (y - mu)", "X",
     [X, "y: n x 1 constant", "mu: n x 1 constant"], "X^-1 - X^-1 (y - mu) (y - mu)^T X^-1"),
    ("tr(X) - tr(X)", "X", [X], "0"),
    ("tr((X^T C X)^-1 (X^T B X))", "X", [X, C, B], "0"),  # X square: f = tr(C^-1 B)
    ("3 tr(X)", "X", [X], "3 I"),
    ("tr((A X B + C) (A X B + C)^T)", "X", [A, X, B, C], "2 B (A X B + C)^T A"),
    ("(x - s)^T W (x - s)", "x", ["x: n x 1", "s: n x 1 constant", "W: n x n constant"],
     "(x - s)^T (W + W^T)"),
])
def test_textbook_form(f, wrt, vars, answer):
    dv = derived(f, wrt, *vars)
    assert dv.steps[-1][0] == answer


def test_gram_inverse_with_a_rectangular_variable():
    """Cookbook 125 with X tall (n×m, n > m): X^T C X is invertible only where n >= m, the sizes
    the claim covers."""
    dv = derived("tr((X^T C X)^-1 A)", "X", "X: n x m", "C: n x n constant",
                 "A: m x m constant")
    assert dv.steps[-1][0] == ("-((X^T C X)^-1 A (X^T C X)^-1 X^T C + (X^T C X)^-T A^T "
                               "(X^T C X)^-T X^T C^T)")


def test_no_answer_is_much_longer_than_the_books():
    """Every problem of the suite with a book answer: prove's answer is at most 1.5 times as
    long (in characters of the notation) as the book's form."""
    from derive_problems import PROBLEMS

    long = []
    for p in PROBLEMS:
        if p.known and not p.xfail:
            answer = str(derive(p.f, p.wrt, p.env()).derivative)
            if len(answer) > 1.5 * len(p.known):
                long.append(f"{p.name}: {answer} (book: {p.known})")
    assert not long, "\n".join(long)
