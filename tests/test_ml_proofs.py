"""The worked machine-learning derivations in proofs/ml/ (issue 13): each one checks, and each
answer agrees with central finite differences of its function at a random point.

The finite differences use a small NumPy evaluator of the parsed tree written here, so the
numbers come from floating-point linear algebra, not from the kernel's evaluator."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from prover.kernel.expr import Add, Div, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T
from prover.kernel.parser import parse
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
ML = sorted((ROOT / "proofs" / "ml").glob("*.yaml"))
DERIVATIVES = [p for p in ML if "derivative" in (yaml.safe_load(p.read_text())["claim"])]


def test_the_folder_has_the_derivations_the_issue_asks_for():
    names = {p.stem for p in ML}
    assert len(ML) >= 12
    assert {"logistic_regression", "softmax_cross_entropy", "dense_layer_weights", "ridge_regression",
            "gaussian_covariance", "rayleigh_quotient"} <= names


@pytest.mark.parametrize("path", ML, ids=lambda p: p.stem)
def test_every_worked_proof_checks(path):
    r = run_cli(["check", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert '"status": "valid"' in r.output


# -- a NumPy evaluator, independent of the kernel's ------------------------------------------------
class Eye:
    """c·I of whatever size the context fixes."""

    def __init__(self, c: float):
        self.c = c


def _mat(v, like=None):
    if isinstance(v, Eye):
        n = like.shape[0] if like is not None else 1
        return v.c * np.eye(n)
    return v


FUNCS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh,
         "sigmoid": lambda a: 1 / (1 + np.exp(-a))}


def value(e, env):
    if isinstance(e, Num):
        return Eye(float(e.value))
    if isinstance(e, Ident):
        return Eye(1.0)
    if isinstance(e, Sym):
        return env[e.name]
    if isinstance(e, Neg):
        v = value(e.arg, env)
        return Eye(-v.c) if isinstance(v, Eye) else -v
    if isinstance(e, Add):
        vals = [value(t, env) for t in e.args]
        like = next((v for v in vals if not isinstance(v, Eye)), None)
        if like is None:
            return Eye(sum(v.c for v in vals))
        return sum(_mat(v, like) for v in vals)
    if isinstance(e, Mul):
        acc = value(e.args[0], env)
        for f in e.args[1:]:
            acc = _times(acc, value(f, env))
        return acc
    if isinstance(e, Div):
        den = _mat(value(e.den, env))
        s = float(den.reshape(-1)[0]) if not isinstance(den, Eye) else den.c
        num = value(e.num, env)
        return Eye(num.c / s) if isinstance(num, Eye) else num / s
    if isinstance(e, T):
        v = value(e.arg, env)
        return v if isinstance(v, Eye) else v.T
    if isinstance(e, (Inv, Pow)):
        v = _mat(value(e.arg, env))
        k = -1 if isinstance(e, Inv) else e.k
        if isinstance(v, Eye):
            return Eye(v.c ** k)
        return np.linalg.matrix_power(np.linalg.inv(v) if k < 0 else v, abs(k))
    if isinstance(e, Had):
        a, b = value(e.left, env), value(e.right, env)
        return _mat(a, b if not isinstance(b, Eye) else None) * _mat(b, a if not isinstance(a, Eye) else None)
    if isinstance(e, Kron):
        return np.kron(_mat(value(e.left, env)), _mat(value(e.right, env)))
    if isinstance(e, Func):
        v = _mat(value(e.arg, env))
        v = v if not isinstance(v, Eye) else np.array([[v.c]])
        if e.name == "tr":
            return np.array([[np.trace(v)]])
        if e.name == "det":
            return np.array([[np.linalg.det(v)]])
        if e.name == "sum":
            return np.array([[v.sum()]])
        if e.name == "vec":
            return v.reshape(-1, 1, order="F")
        if e.name == "diag":
            return np.diag(v[:, 0])
        return FUNCS[e.name](v)
    raise TypeError(type(e).__name__)


def _times(a, b):
    if isinstance(a, Eye) and isinstance(b, Eye):
        return Eye(a.c * b.c)
    if isinstance(a, Eye):
        return a.c * b
    if isinstance(b, Eye):
        return a * b.c
    if a.shape == (1, 1) and b.shape[0] != 1:
        return a[0, 0] * b
    if b.shape == (1, 1) and a.shape[1] != 1:
        return a * b[0, 0]
    return a @ b


def scalar(e, env) -> float:
    v = value(e, env)
    return v.c if isinstance(v, Eye) else float(v.reshape(-1)[0])


@pytest.mark.parametrize("path", DERIVATIVES, ids=lambda p: p.stem)
def test_every_answer_agrees_with_finite_differences(path):
    doc = yaml.safe_load(path.read_text())
    names = set(doc["variables"])
    rng = np.random.default_rng(7)
    sizes = {"m": 5, "n": 3, "k": 4, "p": 2, "q": 6}
    env = {}
    for name, decl in doc["variables"].items():
        shape = decl["shape"]
        r, c = (1, 1) if shape == "scalar" else (sizes.get(shape[0], shape[0]), sizes.get(shape[1], shape[1]))
        v = rng.uniform(0.5, 1.5, size=(r, c))  # positive: log and sqrt stay defined
        if decl.get("invertible"):
            v = v @ v.T + r * np.eye(r)  # symmetric positive definite: log(det(S)) is defined
        env[name] = v
    claim = doc["claim"]
    f, wrt = parse(claim["derivative"], names), claim["wrt"]
    g = value(parse(claim["equals"], names), env)
    g = _mat(g, env[wrt].T)
    x0, h = env[wrt], 1e-6
    numeric = np.zeros_like(x0)
    for i in range(x0.shape[0]):
        for j in range(x0.shape[1]):
            step = np.zeros_like(x0)
            step[i, j] = h
            up, down = dict(env, **{wrt: x0 + step}), dict(env, **{wrt: x0 - step})
            numeric[i, j] = (scalar(f, up) - scalar(f, down)) / (2 * h)
    # numerator layout: df = tr(G dX), so G is dX's shape transposed and G[j, i] = ∂f/∂X[i, j]
    assert g.shape == x0.T.shape
    assert np.allclose(g.T, numeric, rtol=1e-5, atol=1e-6), (g.T, numeric)
    assert math.isfinite(float(np.abs(numeric).sum()))
