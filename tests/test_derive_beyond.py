"""`prove derive` through the notation beyond the seed (issue 13): entrywise functions, ∘, ⊗,
vec, diag and sum — the machine-learning problems courses assign.

Each derivation is checked twice, as in `test_derive.py`: the kernel accepts the proof the
engine wrote, and the answer agrees with central finite differences of f at random points
(`derive_problems.evaluate` knows the new notation). The engine reaches tr(G dX) through
sum-hadamard (sum(U ∘ V) = tr(U^T V)), trace-hadamard, diag-times (diag(u)^-1 (u ∘ V) = V for
the log of a sigmoid) and vec-product/vec-trace.
"""
from __future__ import annotations

import zlib

import pytest

from derive_problems import (TOL, Problem, fd_gradient, numerator_value, rel_error,
                             sample_points)
from prover.derive import DeriveError, check_derivation, derive, parse_var


def derived(f: str, wrt: str, *vars: str):
    """Derive, have the kernel check the proof, and compare with finite differences."""
    p = Problem(f, f, wrt, tuple(vars))
    dv = derive(p.f, p.wrt, p.env())
    result = check_derivation(dv)
    assert result.status == "valid", (
        "; ".join(f"{s.expr}: {s.status} {s.message}" for s in result.steps
                  if s.status != "valid") + "\n" + dv.proof_yaml())
    fun, env, points = sample_points(p, seed=zlib.crc32(f.encode()))
    for vals in points:
        want = fd_gradient(fun, wrt, vals).T
        got = numerator_value(dv.derivative, env, wrt, vals)
        assert rel_error(got, want) < TOL, f"{f}: prove says {dv.derivative}"
    assert dv.steps[-1][0] == str(dv.derivative)
    return dv


X_mn, W_mn = "X: m x n constant", "W: m x n"
TARGETS = [
    # (name, f, wrt, declarations, the answer prove prints)
    ("logistic", "-sum(log(sigmoid(t .* (X w))))", "w",
     [X_mn, "t: m x 1 constant", "w: n x 1"], "-(t - t .* sigmoid(t .* (X w)))^T X"),
    ("softmax-xent", "log(sum(exp(z))) - y^T z", "z", ["z: n x 1", "y: n x 1 constant"],
     "sum(exp(z))^-1 exp(z)^T - y^T"),
    ("dense-tanh-W", "sum(tanh(W x + b) .* c)", "W",
     [W_mn, "x: n x 1 constant", "b: m x 1 constant", "c: m x 1 constant"],
     "x (c - tanh(W x + b) .* tanh(W x + b) .* c)^T"),
    ("dense-tanh-x", "sum(tanh(W x + b) .* c)", "x",
     ["W: m x n constant", "x: n x 1", "b: m x 1 constant", "c: m x 1 constant"],
     "(c - tanh(W x + b) .* tanh(W x + b) .* c)^T W"),
    ("dense-sigmoid-W", "c^T sigmoid(W x)", "W", [W_mn, "x: n x 1 constant", "c: m x 1 constant"],
     "x ((sigmoid(W x) - sigmoid(W x) .* sigmoid(W x)) .* c)^T"),
    ("dense-sigmoid-x", "c^T sigmoid(W x)", "x",
     ["W: m x n constant", "x: n x 1", "c: m x 1 constant"],
     "((sigmoid(W x) - sigmoid(W x) .* sigmoid(W x)) .* c)^T W"),
    ("ridge", "tr((X w - y)^T (X w - y)) + lam w^T w", "w",
     [X_mn, "w: n x 1", "y: m x 1 constant", "lam: scalar constant"],
     "2 ((X w - y)^T X + lam w^T)"),
    ("gauss-cov", "log(det(S)) + (y - mu)^T S^-1 (y - mu)", "S",
     ["S: n x n", "y: n x 1 constant", "mu: n x 1 constant"],
     "S^-1 - S^-1 (y - mu) (y - mu)^T S^-1"),
    ("rayleigh", "x^T A x / (x^T x)", "x", ["x: n x 1", "A: n x n constant"], None),
    ("weighted-squares", "sum(A .* X .* X)", "X", ["A: m x n constant", "X: m x n"],
     "2 (A .* X)^T"),
    ("trace-hadamard", "tr(A^T (B .* X))", "X",
     ["A: m x n constant", "B: m x n constant", "X: m x n"], None),
    ("kron-quadratic", "vec(X)^T kron(A, B) vec(X)", "X",
     ["X: m x n", "A: n x n constant", "B: m x m constant"], "A X^T B^T + A^T X^T B"),
    ("sum-exp", "sum(exp(X w))", "w", [X_mn, "w: n x 1"], "exp(X w)^T X"),
    ("exp-trace", "exp(tr(X))", "X", ["X: n x n"], "exp(tr(X)) I"),
    ("log-vector", "sum(log(X w))", "w", [X_mn, "w: n x 1"], None),
    ("sqrt-norm", "sqrt(x^T x)", "x", ["x: n x 1"], None),
    ("tanh-scalar", "tanh(a^T x)", "x", ["a: n x 1 constant", "x: n x 1"], None),
    ("sigmoid-scalar", "log(sigmoid(a^T x))", "x", ["a: n x 1 constant", "x: n x 1"], None),
    ("hadamard-quadratic", "sum(X .* X)", "X", ["X: m x n"], "2 X^T"),
    ("hadamard-sandwich", "a^T (A .* X .* B) b", "X",
     ["a: n x 1 constant", "A: n x n constant", "X: n x n", "B: n x n constant",
      "b: n x 1 constant"], None),
    ("vec-linear", "vec(A)^T vec(X)", "X", ["A: m x n constant", "X: m x n"], "A^T"),
    ("kron-vec-product", "vec(Y)^T kron(A, B) vec(X)", "X",
     ["Y: m x n constant", "X: m x n", "A: n x n constant", "B: m x m constant"], None),
]


@pytest.mark.parametrize("name, f, wrt, vars, answer", TARGETS, ids=[t[0] for t in TARGETS])
def test_derives_with_a_checked_proof(name, f, wrt, vars, answer):
    dv = derived(f, wrt, *vars)
    if answer:
        assert dv.steps[-1][0] == answer


@pytest.mark.parametrize("f, vars, reason", [
    ("sum(X)", ["X: n x n"], "all-ones"),
    ("sum(A X)", ["A: n x n constant", "X: n x n"], "all-ones"),
    ("sum(kron(A, X))", ["A: n x n constant", "X: n x n"], "all-ones"),
    ("sum(log(X))", ["X: n x n"], "log of a matrix"),
])
def test_what_no_rule_reaches_is_refused_with_the_reason(f, vars, reason):
    with pytest.raises(DeriveError, match=reason):
        derive(f, "X", dict(parse_var(v) for v in vars))


def test_a_refused_group_is_written_again_as_single_moves_alone(monkeypatch):
    """Only the grouped step the kernel refuses is split into its single moves; the other steps
    stay grouped."""
    import sys

    from prover.checking import check_proof as real

    dmod = sys.modules["prover.derive"]
    calls = []

    def refuse_the_first_grouping(proof, book, lib):
        result = real(proof, book, None)
        calls.append(len(proof.steps))
        if len(calls) == 1:
            result.status = "invalid"
            result.steps[1].status = "invalid"
        return result

    monkeypatch.setattr(dmod, "check_proof", refuse_the_first_grouping)
    dv = derive("sum(A .* X .* X)", "X", dict(parse_var(v) for v in ("A: m x n constant",
                                                                       "X: m x n")))
    grouped = list(dv.steps)
    assert check_derivation(dv).status == "valid" and not dv.combined
    assert len(calls) == 2 and len(grouped) < len(dv.steps) <= len(dv.fine_steps or [])
    assert dv.steps[-3:] == grouped[-3:]
