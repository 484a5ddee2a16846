"""Issue 13's comparison: `prove derive` against SymPy's matrix derivatives on one problem set.

Not a test: it prints a Markdown table to report.

    python benchmarks/ml_bench.py            # summary table
    python benchmarks/ml_bench.py --detail   # plus one row per problem

The problems: the machine-learning problems of issue 13 (logistic regression, softmax
cross-entropy, a dense layer with an entrywise activation in W and in x, ridge, a Gaussian
likelihood in the covariance, a Rayleigh quotient), Hessians of five of them (ridge, logistic,
softmax cross-entropy, the dense layer in x, and sum(exp(X w))), and every SymPy case of
tests/test_sympy_cases.py that the notation writes. Per problem, in one process, the same
measurements as benchmarks/derive_bench.py (whose `run_prove`/`run_sympy` this reuses for the
gradients):

- prove: `derive` (or `derive_hessian`) and then `check_derivation`; answered = the kernel
  accepted the proof (the CLI prints no answer otherwise), so every answer has a checked proof.
- SymPy: f translated node by node (entrywise functions as ElementwiseApplyFunction, ∘ as
  HadamardProduct, sum(U) as 1^T U 1, diag as DiagMatrix, kron as KroneckerProduct); the gradient
  is `f.diff(X)`, the Hessian `f.diff(x).diff(x)`. Answered = no exception and no unevaluated
  derivative.
- right = agrees with central finite differences (first or second) at two random points
  (relative error < 1e-5 for gradients, < 1e-4 for Hessians).

- tensorgrad (where it imports; benchmarks/tg_column.py, which alone imports torch): f translated
  node by node to a tensor with named edges (a row edge and a column edge, each left out where
  the size is 1, so 1×1 values are scalars); the gradient is `Derivative(f, X).simplify()`, the
  Hessian the Derivative of that Derivative, simplified. Answered = no exception and no
  unevaluated Derivative; kron, vec of a matrix and d(·) have no translation (not answered,
  reason in --detail). The answer is evaluated by tensorgrad's compiler (its generated torch
  code, float64) and judged as above, in X's shape (a Hessian over X's column-major entries).

Only the engine's derivation is timed (prove: derive + kernel check; SymPy: `diff`; tensorgrad:
Derivative + simplify), not the numeric check. Without tensorgrad the table has no such rows.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import derive_bench as db  # noqa: E402
from derive_problems import (DIMS, Problem, evaluate, f_value, materialize,  # noqa: E402
                             sample_points, shape_of_var)
from prover.derive import DeriveError, check_derivation, derive_hessian  # noqa: E402
from prover.kernel import rules as kernel_rules  # noqa: E402

try:  # the tensorgrad column: optional (it needs torch)
    import tg_column  # noqa: E402
except ImportError as _exc:  # pragma: no cover - depends on the environment
    tg_column = None
    TG_MISSING = f"{type(_exc).__name__}: {_exc}"

X_mn = "X: m x n constant"
TANH = ["x: n x 1", "b: m x 1 constant", "c: m x 1 constant"]
ML = [  # (name, f, wrt, declarations, hessian?)
    ("logistic", "-sum(log(sigmoid(t .* (X w))))", "w", [X_mn, "t: m x 1 constant", "w: n x 1"]),
    ("softmax-xent", "log(sum(exp(z))) - y^T z", "z", ["z: n x 1", "y: n x 1 constant"]),
    ("dense-tanh-W", "sum(tanh(W x + b) .* c)", "W",
     ["W: m x n", "x: n x 1 constant", "b: m x 1 constant", "c: m x 1 constant"]),
    ("dense-tanh-x", "sum(tanh(W x + b) .* c)", "x", ["W: m x n constant"] + TANH),
    ("ridge", "(X w - y)^T (X w - y) + lam w^T w", "w",
     [X_mn, "w: n x 1", "y: m x 1 constant", "lam: scalar constant"]),
    ("gauss-cov", "log(det(S)) + (y - mu)^T S^-1 (y - mu)", "S",
     ["S: n x n", "y: n x 1 constant", "mu: n x 1 constant"]),
    ("rayleigh", "x^T A x / (x^T x)", "x", ["x: n x 1", "A: n x n constant"]),
]
HESSIANS = ["ridge", "logistic", "softmax-xent", "dense-tanh-x"]
EXTRA_HESSIANS = [("sum-exp", "sum(exp(X w))", "w", [X_mn, "w: n x 1"])]


def fd_hessian(f, wrt: str, vals, h: float = 1e-4) -> np.ndarray:
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


def _err(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


def prove_hessian(p: Problem):
    env = p.env()
    kernel_rules._CONFIRMED.clear()
    t = time.perf_counter()
    try:
        dv = derive_hessian(p.f, p.wrt, env)
        result = check_derivation(dv)
        status = result.status
        if status != "valid":
            bad = next(s for s in result.steps if s.status != "valid")
            status = f"{status} (step {bad.index}: {bad.message[:120]})"
    except DeriveError as exc:
        return False, False, time.perf_counter() - t, str(exc), None
    took = time.perf_counter() - t
    if status != "valid":
        return False, False, took, f"kernel: {status}", None
    f, env2, points = sample_points(p, seed=zlib.crc32(p.name.encode()))
    r, c = shape_of_var(env2[p.wrt])
    ok = all(_err(materialize(evaluate(dv.derivative, v), (r * c, r * c)),
                  fd_hessian(f, p.wrt, v)) < 1e-4 for v in points)
    return True, ok, took, "", str(dv.derivative)


def sympy_hessian(p: Problem):
    env = p.env()
    syms = db.sympy_symbols(env)
    f, env2, points = sample_points(p, seed=zlib.crc32(p.name.encode()))
    try:
        fs = db.to_sympy(f, syms)
    except db.Untranslatable as exc:
        return False, False, float("nan"), f"untranslatable: {exc}", None
    sp.core.cache.clear_cache()
    t = time.perf_counter()
    try:
        r = fs.diff(syms[p.wrt]).diff(syms[p.wrt])
    except Exception as exc:  # noqa: BLE001 - SymPy raising is no answer
        return False, False, time.perf_counter() - t, f"{type(exc).__name__}: {exc}", None
    took = time.perf_counter() - t
    if db._unevaluated(r):
        return False, False, took, "unevaluated Derivative", str(r)
    try:
        ok = True
        for v in points:
            got, want = db.sympy_value(r, syms, v), fd_hessian(f, p.wrt, v)
            got = got.reshape(want.shape) if got.size == want.size else got
            ok = ok and got.shape == want.shape and _err(got, want) < 1e-4
        note = "" if ok else "wrong"
    except Exception as exc:  # noqa: BLE001
        ok, note = False, f"cannot evaluate: {type(exc).__name__}"
    return True, ok, took, note, str(r)


def tensorgrad_run(kind: str, p: Problem):
    """tensorgrad on one problem: (answered, right, seconds, note, answer)."""
    f, env, points = sample_points(p, seed=zlib.crc32(p.name.encode()))
    if kind == "hessian":
        def judge(got, v):
            return _err(got, fd_hessian(f, p.wrt, v)) < 1e-4
        return tg_column.run(p, f, env, points, p.wrt, 2, judge)

    def judge(got, v):
        want = db.fd_gradient(f, p.wrt, v)
        return got.shape == want.shape and db.rel_error(got, want) < db.TOL
    return tg_column.run(p, f, env, points, p.wrt, 1, judge)


def problems():
    from test_sympy_cases import CASES

    out = [("gradient", Problem(n, f, w, tuple(v))) for n, f, w, v in ML]
    byname = {n: (f, w, v) for n, f, w, v in ML}
    out += [("hessian", Problem("hessian " + n, *byname[n][:2], tuple(byname[n][2])))
            for n in HESSIANS]
    out += [("hessian", Problem("hessian " + n, f, w, tuple(v))) for n, f, w, v in EXTRA_HESSIANS]
    out += [("sympy-case", c.problem()) for c in CASES if not c.missing]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--detail", action="store_true")
    args = ap.parse_args()
    probs = problems()
    rows = []
    for kind, p in probs:
        if kind == "hessian":
            pr, sy = prove_hessian(p), sympy_hessian(p)
        else:
            pr, sy = db.run_prove(p, 1), db.run_sympy(p, 1)
        tg = tensorgrad_run(kind, p) if tg_column else None
        rows.append((kind, p, pr, sy, tg))
        tgs = f"   tensorgrad {'ok' if tg[1] else '--'} {db.fmt_ms(tg[2]):>10s}" if tg else ""
        print(f"  {p.name:34s} prove {'ok' if pr[1] else '--'} {db.fmt_ms(pr[2]):>10s}   "
              f"sympy {'ok' if sy[1] else '--'} {db.fmt_ms(sy[2]):>10s}{tgs}", file=sys.stderr)

    def line(label, k, sel, proofs):
        rs = [r for r in rows if sel(r)]
        n = len(rs)
        ans = sum(r[k][0] for r in rs)
        right = sum(r[k][1] for r in rs)
        ts = [r[k][2] for r in rs if r[k][2] == r[k][2]]
        med = db.fmt_ms(statistics.median(ts)) if ts else "—"
        proved = f"{ans}/{n}" if proofs else "—"
        return f"| {label} | {ans}/{n} | {right}/{n} | {proved} | {med} |"

    groups = [("ML gradients", lambda r: r[0] == "gradient"),
              ("ML Hessians", lambda r: r[0] == "hessian"),
              ("SymPy's own cases", lambda r: r[0] == "sympy-case"),
              ("all", lambda r: True)]
    dims = ", ".join(f"{k}={v}" for k, v in DIMS.items())
    tgv = (f"tensorgrad {tg_column.VERSION} (torch {tg_column.torch.__version__})" if tg_column
           else f"tensorgrad not available ({TG_MISSING}): no tensorgrad rows")
    print(f"\n{len(rows)} problems, dimensions {dims}, one run each; Python "
          f"{sys.version.split()[0]}, SymPy {sp.__version__}, {tgv}.\n")
    print("| problems | engine | answered | right (finite differences) | with a checked proof | "
          "median time |")
    print("|---|---|---|---|---|---|")
    for label, sel in groups:
        print(line(f"{label} | prove derive", 2, sel, True))
        print(line(f"{label} | SymPy", 3, sel, False))
        if tg_column:
            print(line(f"{label} | tensorgrad", 4, sel, False))
    if args.detail:
        verdict = lambda r: "right" if r[1] else ("WRONG" if r[0] else "no answer")  # noqa: E731
        tgh = " tensorgrad |" if tg_column else ""
        print(f"\n| problem | prove | SymPy |{tgh} prove's answer / reason |"
              + (" tensorgrad: why not right |" if tg_column else ""))
        print("|---|---|---|" + ("---|---|" if tg_column else "") + "---|")
        for kind, p, pr, sy, tg in rows:
            why = (pr[4] or "") if pr[0] else pr[3]
            cells = [p.name, verdict(pr), verdict(sy)] + ([verdict(tg)] if tg else [])
            cells.append(why[:80].replace("|", "/"))
            if tg:
                cells.append("" if tg[1] else (tg[3] or "")[:80].replace("|", "/"))
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
