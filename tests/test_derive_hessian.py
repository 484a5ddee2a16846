"""`prove derive --hessian` (issue 13, "Hessians as checked proofs"): the engine pushes d twice
(d(dx) = 0 by diff-second-variable), brings d(d(f)) to dx^T G dx (vec(dX)^T G vec(dX) for a
matrix X) and reads off H = (G + G^T)/2.

Each Hessian is checked twice: the kernel accepts the proof the engine wrote (a `hessian:`
claim), and H agrees with central second differences of f at random points.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from derive_problems import (Problem, evaluate, f_value, materialize, sample_points,
                             shape_of_var)
from helpers import run_cli

from prover.derive import DeriveError, check_derivation, derive_hessian, parse_var


def fd_hessian(f, wrt: str, vals, h: float = 1e-4) -> np.ndarray:
    """Central second differences in vec(X) order (columns stacked)."""
    x0 = vals[wrt]
    k = x0.size
    idx = [np.unravel_index(i, x0.shape, order="F") for i in range(k)]

    def at(*moves):
        x = x0.copy()
        for i, s in moves:
            x[idx[i]] += s * h
        return f_value(f, {**vals, wrt: x})
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            out[i, j] = (at((i, 1), (j, 1)) - at((i, 1), (j, -1)) - at((i, -1), (j, 1))
                         + at((i, -1), (j, -1))) / (4 * h * h)
    return out


def hessian_checked(f: str, wrt: str, *vars: str):
    p = Problem(f, f, wrt, tuple(vars))
    dv = derive_hessian(p.f, p.wrt, p.env())
    result = check_derivation(dv)
    assert result.status == "valid", (
        "; ".join(f"{s.expr}: {s.status} {s.message}" for s in result.steps
                  if s.status != "valid") + "\n" + dv.proof_yaml())
    fun, env, points = sample_points(p, seed=zlib.crc32(f.encode()))
    r, c = shape_of_var(env[wrt])
    for vals in points:
        want = fd_hessian(fun, wrt, vals)
        got = materialize(evaluate(dv.derivative, vals), (r * c, r * c))
        err = np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want))))
        assert err < 1e-4, f"{f}: prove says {dv.derivative}"
    assert dv.steps[-1][0] == str(dv.derivative)
    return dv


X_mn = "X: m x n constant"
TARGETS = [
    # (name, f, wrt, declarations, H as prove prints it)
    ("quadratic", "x^T A x", "x", ["x: n x 1", "A: n x n constant"], "A + A^T"),
    ("ridge", "(X w - y)^T (X w - y) + lam w^T w", "w",
     [X_mn, "w: n x 1", "y: m x 1 constant", "lam: scalar constant"], "2 (X^T X + lam I)"),
    ("logistic", "-sum(log(sigmoid(t .* (X w))))", "w", [X_mn, "t: m x 1 constant", "w: n x 1"],
     "X^T diag(t .* t .* (sigmoid(t .* (X w)) - sigmoid(t .* (X w)) .* sigmoid(t .* (X w)))) X"),
    ("sum-exp", "sum(exp(X w))", "w", [X_mn, "w: n x 1"], "X^T diag(exp(X w)) X"),
    ("hadamard-weight", "sum(a .* x .* x)", "x", ["a: n x 1 constant", "x: n x 1"], "2 diag(a)"),
    ("matrix-kron", "tr(X^T A X B)", "X", ["X: m x n", "A: m x m constant", "B: n x n constant"],
     "kron(B, A^T) + kron(B^T, A)"),
    ("softmax-xent", "log(sum(exp(z))) - y^T z", "z", ["z: n x 1", "y: n x 1 constant"], None),
    ("scalar-cube", "s^3", "s", ["s: scalar"], "6 s"),
]


@pytest.mark.parametrize("name, f, wrt, vars, answer", TARGETS, ids=[t[0] for t in TARGETS])
def test_hessian_derives_with_a_checked_proof(name, f, wrt, vars, answer):
    dv = hessian_checked(f, wrt, *vars)
    if answer:
        assert dv.steps[-1][0] == answer
    text = dv.proof_yaml()
    assert "  hessian: " in text and "by: hessian-from-second-differential" in text
    assert "layout:" not in text and "derivative:" not in text


@pytest.mark.parametrize("f, wrt, vars, reason", [
    ("tr(X^T A X)", "X", ["X: m x n", "A: m x m constant"], "size of that I"),
    ("tr(X X)", "X", ["X: n x n"], "commutation matrix"),
    ("a^T x", "x", ["a: n x 1 constant", "x: n x 1"], "linear"),
])
def test_what_the_notation_cannot_write_is_refused_with_the_reason(f, wrt, vars, reason):
    with pytest.raises(DeriveError, match=reason):
        derive_hessian(f, wrt, dict(parse_var(v) for v in vars))


def test_cli_hessian_writes_a_proof_that_prove_check_accepts(tmp_path):
    out = tmp_path / "h.yaml"
    r = run_cli(["derive", "sum(a .* x .* x)", "--wrt", "x", "--var", "a: n x 1 constant",
                 "--var", "x: n x 1", "--hessian", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "∇²(sum(a .* x .* x)) in x = 2 diag(a)" in r.output
    assert run_cli(["check", str(out)]).exit_code == 0


def test_cli_derives_the_hessian_a_claim_without_equals_asks_for(tmp_path):
    src = tmp_path / "q.yaml"
    src.write_text("theorem: q\nvariables:\n  A: {shape: [n, n], constant: true}\n"
                   "  x: {shape: [n, 1]}\nclaim:\n  hessian: x^T A x\n  wrt: x\nproof: []\n")
    r = run_cli(["derive", str(src), "--format", "json"])
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(r.output)
    assert data["hessian"] == "A + A^T" and "hessian-from-second-differential" in data["proof"]
