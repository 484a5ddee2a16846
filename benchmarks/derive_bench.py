"""Benchmark of `prove derive` against SymPy's matrix-expression `diff` (issue 3, item 6).

Not a test: it prints a Markdown table to report.

    python benchmarks/derive_bench.py              # summary table
    python benchmarks/derive_bench.py --detail     # plus one row per problem
    python benchmarks/derive_bench.py --repeat 5
    python benchmarks/derive_bench.py --issue13    # the cases named in issue 13, timed

The problems are those of `tests/derive_problems.py`. Per problem, in one warm process:

- **prove**: `derive(f, wrt, vars)` and then `check_derivation` (the kernel re-checks the proof,
  as `prove derive` does before printing). Answered = the kernel accepted the proof (otherwise the
  CLI prints no answer and exits 1). The kernel's result cache is cleared before every run, so
  each check is real work.
- **SymPy** (`MatrixSymbol(...).diff`): f is translated from the kernel's Expr tree to a SymPy
  matrix expression node by node (no sympify of strings), with the dimension symbols at the
  concrete sizes of `DIMS`. Where the notation uses a 1×1 matrix as a scalar (a `log` argument, a
  denominator, a 1×1 factor scaling a matrix that does not conform, the base of a power) the
  translation wraps it in `Trace(·)`, the same function, which SymPy differentiates; in a sum of
  1×1 products and scalars (log det) a scalar s becomes s·Identity(1). Of the translations tried
  (these; Trace everywhere; f itself wrapped in Trace) this one gets SymPy the most correct
  answers. Only `diff` is timed. Answered = it returned something without raising and with
  no unevaluated `Derivative` left in it. SymPy's cache is cleared before every run.

Correct = the answer agrees (relative error < 1e-5) with central finite differences of f at two
random points: prove's answer in its (numerator) layout, SymPy's in its own convention (an array of
X's shape, i.e. denominator layout), evaluated by substituting concrete matrices
(`xreplace` + `doit`). A SymPy answer that matches only after transposing is counted correct (a
layout convention, not an error) and noted.
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
from sympy.matrices.expressions.matexpr import MatrixExpr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from derive_problems import (DIMS, PROBLEMS, TOL, fd_gradient, numerator_value,  # noqa: E402
                             rel_error, sample_points, shape_of_var)
from prover.derive import DeriveError, check_derivation, derive  # noqa: E402
from prover.kernel import rules as kernel_rules  # noqa: E402
from prover.kernel.expr import (Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg,  # noqa: E402
                                Num, Pow, Sym, T)


# -- Expr tree → SymPy --------------------------------------------------------------------------
class Untranslatable(Exception):
    pass


def sympy_symbols(env) -> dict:
    out = {}
    for name, info in env.items():
        r, c = shape_of_var(info)
        if (r, c) == (1, 1) and info.shape.rows == 1 and info.shape.cols == 1:
            out[name] = sp.Symbol(name)
        else:
            out[name] = sp.MatrixSymbol(name, r, c)
    return out


def _is_mat(v) -> bool:
    return isinstance(v, MatrixExpr)


def _scalar(v):
    """A 1×1 matrix expression as a scalar (its trace); scalars unchanged."""
    if _is_mat(v):
        if v.shape != (1, 1):
            raise Untranslatable(f"a {v.shape} matrix used as a scalar")
        return sp.Trace(v)
    return v


def to_sympy(e: Expr, syms: dict):
    tr = lambda x: to_sympy(x, syms)  # noqa: E731
    if isinstance(e, Num):
        return sp.Rational(e.value.numerator, e.value.denominator)
    if isinstance(e, Sym):
        return syms[e.name]
    if isinstance(e, Ident):
        raise Untranslatable("I of a size only the context fixes")
    if isinstance(e, Neg):
        return -tr(e.arg)
    if isinstance(e, Add):
        vals = [tr(a) for a in e.args]
        big = [v for v in vals if _is_mat(v) and v.shape != (1, 1)]
        if big:
            if any(not _is_mat(v) and v != 0 for v in vals):
                raise Untranslatable("a scalar added to a matrix")
            vals = [v for v in vals if _is_mat(v)]
        elif any(_is_mat(v) for v in vals):  # 1×1 products and scalars: s becomes s·I_1
            vals = [v if _is_mat(v) else v * sp.Identity(1) for v in vals]
        out = vals[0]
        for v in vals[1:]:
            out = out + v
        return out
    if isinstance(e, Mul):
        out = tr(e.args[0])
        for a in e.args[1:]:
            v = tr(a)
            if _is_mat(out) and _is_mat(v):
                if out.shape[1] == v.shape[0]:
                    out = out * v
                elif out.shape == (1, 1):
                    out = _scalar(out) * v
                elif v.shape == (1, 1):
                    out = _scalar(v) * out
                else:
                    raise Untranslatable(f"product of {out.shape} and {v.shape}")
            else:
                out = out * v
        return out
    if isinstance(e, Div):
        return tr(e.num) * (1 / _scalar(tr(e.den)))
    if isinstance(e, T):
        v = tr(e.arg)
        return v.T if _is_mat(v) else v
    if isinstance(e, Inv):
        v = tr(e.arg)
        if _is_mat(v) and v.shape != (1, 1):
            return v.I
        return 1 / _scalar(v)
    if isinstance(e, Pow):
        v = tr(e.arg)
        if _is_mat(v) and v.shape != (1, 1):
            return v ** e.k
        return _scalar(v) ** e.k
    if isinstance(e, Func):
        v = tr(e.arg)
        if e.name == "tr":
            return sp.Trace(v) if _is_mat(v) else v
        if e.name == "det":
            return sp.Determinant(v) if _is_mat(v) else v
        funcs = {"exp": sp.exp, "log": sp.log, "tanh": sp.tanh, "sqrt": sp.sqrt,
                 "sigmoid": lambda t: 1 / (1 + sp.exp(-t))}
        if e.name in funcs:  # entrywise on a matrix (ElementwiseApplyFunction), plain on a 1×1
            if _is_mat(v) and v.shape != (1, 1):
                fn = funcs[e.name]
                t = sp.Dummy("t")
                return v.applyfunc(sp.Lambda(t, fn(t)))
            return funcs[e.name](_scalar(v))
        if e.name == "sum" and _is_mat(v):  # 1^T U 1
            return sp.OneMatrix(1, v.shape[0]) * v * sp.OneMatrix(v.shape[1], 1)
        if e.name == "diag" and _is_mat(v):
            from sympy.matrices.expressions.diagonal import DiagMatrix
            return DiagMatrix(v)
    if isinstance(e, Had):
        a, b = to_sympy(e.left, syms), to_sympy(e.right, syms)
        if _is_mat(a) and _is_mat(b) and a.shape == b.shape:
            return sp.hadamard_product(a, b)
        return a * b
    if isinstance(e, Kron):
        return sp.kronecker_product(to_sympy(e.left, syms), to_sympy(e.right, syms))
    raise Untranslatable(f"no SymPy counterpart for {e}")


def sympy_value(r, syms: dict, vals: dict) -> np.ndarray:
    """SymPy's answer at concrete matrices, as a 2-D array (array answers of shape
    (rows, cols, 1, 1) and the like are squeezed)."""
    subs = {}
    for name, s in syms.items():
        v = vals[name]
        subs[s] = sp.ImmutableMatrix(v) if isinstance(s, sp.MatrixSymbol) else sp.Float(v[0, 0])
    try:
        out = r.xreplace(subs).doit()
        if _is_mat(out):
            out = out.as_explicit()
        if isinstance(out, sp.MatrixBase):
            return np.array(out.evalf(), dtype=float)
        return np.array([[float(out)]])
    except (TypeError, ValueError, AttributeError):
        pass
    # an array expression (PermuteDims, ArrayAdd, ...): expand symbolically, then put in entries
    entries = {}
    for name, s in syms.items():
        v = vals[name]
        if isinstance(s, sp.MatrixSymbol):
            entries.update({s[i, j]: sp.Float(v[i, j]) for i, j in np.ndindex(*v.shape)})
        else:
            entries[s] = sp.Float(v[0, 0])
    arr = np.array(sp.Array(r.as_explicit()).xreplace(entries).tolist(), dtype=float)
    keep = [k for k in arr.shape if k != 1]
    return arr.reshape(keep[0] if keep else 1, -1) if arr.ndim != 2 else arr


def _unevaluated(r) -> bool:
    from sympy.tensor.array.array_derivatives import ArrayDerivative

    return isinstance(r, (sp.Derivative, ArrayDerivative)) or r.has(sp.Derivative) or \
        r.has(ArrayDerivative)


# -- one problem, both engines ---------------------------------------------------------------------
ENGINE_ONLY: dict[str, float] = {}  # time of derive() alone, before the kernel check


def run_prove(p, repeat: int):
    env = p.env()
    times, engine_times, dv, status, why = [], [], None, "", ""
    for _ in range(repeat):
        kernel_rules._CONFIRMED.clear()  # the kernel's only cache: rule confirmations
        t = time.perf_counter()
        try:
            dv = derive(p.f, p.wrt, env)
            engine_times.append(time.perf_counter() - t)
            status = check_derivation(dv).status
        except DeriveError as exc:
            status, why = "refused", str(exc)
        times.append(time.perf_counter() - t)
    ENGINE_ONLY[p.name] = statistics.median(engine_times) if engine_times else float("nan")
    if status != "valid":
        return False, False, statistics.median(times), why or f"kernel: {status}", None
    f, env2, points = sample_points(p, seed=zlib.crc32(p.name.encode()))
    try:
        ok = all(rel_error(numerator_value(dv.derivative, env2, p.wrt, v),
                           fd_gradient(f, p.wrt, v).T) < TOL for v in points)
    except Exception as exc:  # an answer the evaluator cannot read is not a correct answer
        ok, why = False, f"unreadable answer: {exc}"
    return True, ok, statistics.median(times), why, str(dv.derivative)


def run_sympy(p, repeat: int):
    env = p.env()
    syms = sympy_symbols(env)
    f, env2, points = sample_points(p, seed=zlib.crc32(p.name.encode()))
    try:
        fs = to_sympy(f, syms)
    except Untranslatable as exc:
        return False, False, float("nan"), f"untranslatable: {exc}", None
    times, r, why = [], None, ""
    for _ in range(repeat):
        sp.core.cache.clear_cache()
        t = time.perf_counter()
        try:
            r = fs.diff(syms[p.wrt])
        except Exception as exc:  # SymPy raising is a "no answer", whatever the exception
            r, why = None, f"{type(exc).__name__}: {exc}"
        times.append(time.perf_counter() - t)
    tmed = statistics.median(times)
    if r is None:
        return False, False, tmed, why, None
    if _unevaluated(r):
        return False, False, tmed, "unevaluated Derivative", str(r)
    note = ""
    try:
        ok = True
        for v in points:
            got, want = sympy_value(r, syms, v), fd_gradient(f, p.wrt, v)
            if got.shape == want.shape and rel_error(got, want) < TOL:
                continue
            if got.shape == want.T.shape and rel_error(got, want.T) < TOL:
                note = "correct up to transpose"
                continue
            ok = False
            note = f"wrong (off by {rel_error(got, want) if got.shape == want.shape else 'shape'})"
    except Exception as exc:
        ok, note = False, f"cannot evaluate: {type(exc).__name__}: {exc}"
    return True, ok, tmed, note, str(r)


def fmt_ms(s: float) -> str:
    return f"{s * 1000:.1f} ms"


_F42 = ("a^T (A X (X^T B + X A) + B^T X^T (a b^T (X D X^T + X (X^T B + A X) D B - X^T C^T A) B"
        " + B (X D^T + B A X A^T - 3 X D)) B + 42 X B X^T A^T (X + X^T)) b")
_SQ = ("X: n x n", "A: n x n constant", "B: n x n constant", "C: n x n constant",
       "D: n x n constant", "a: n x 1 constant", "b: n x 1 constant", "s: scalar")
ISSUE13 = [  # (f, wrt, declarations): the cases issue 13 names
    ("tr((I + X)^-1)", "X", _SQ), ("log(det(I + X^T X))", "X", _SQ),
    ("tr(tr(X) X)", "X", _SQ), ("tr(tr(tr(X) X) X)", "X", _SQ),
    ("tr(tr(A X B) A X B)", "X", _SQ), ("tr(X) tr(X^T A)", "X", _SQ),
    ("tr(s A)", "s", _SQ), ("tr((A + s B)^-1)", "s", _SQ),
    ("det(X^T X)", "X", ("X: n x m",)), ("det(A X B)", "X", _SQ), ("det(I + X)", "X", _SQ),
    ("tr(X^16^16)", "X", _SQ), ("tr((X + A)^5)", "X", _SQ), ("tr((X + A)^8)", "X", _SQ),
    (_F42, "X", _SQ),
    ("tr((X^T C X)^-1 A)", "X", ("X: n x m", "C: n x n constant", "A: m x m constant")),
]


def issue13(repeat: int) -> None:
    """derive times (medians) and first-check times for the cases issue 13 names."""
    from prover.derive import parse_var

    print("| f | wrt | answer | derive | check |")
    print("|---|---|---|---|---|")
    for f, wrt, decls in ISSUE13:
        env = dict(parse_var(v) for v in decls)
        times_d, times_c, answer = [], [], ""
        for _ in range(repeat):
            t0 = time.perf_counter()
            try:
                dv = derive(f, wrt, env)
            except DeriveError as exc:
                times_d.append(time.perf_counter() - t0)
                answer = f"refused: {exc}"
                continue
            t1 = time.perf_counter()
            result = check_derivation(dv)
            times_c.append(time.perf_counter() - t1)
            times_d.append(t1 - t0)
            answer = str(dv.derivative) if result.status == "valid" else "proof refused"
        # the first check is the one reported: nothing it does can have been remembered yet
        check = fmt_ms(times_c[0]) if times_c else "—"
        short = f if len(f) < 40 else f[:37] + "..."
        answer = answer if len(answer) < 60 else answer[:57] + "..."
        print(f"| `{short}` | {wrt} | `{answer}` | {fmt_ms(statistics.median(times_d))} | "
              f"{check} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per problem (median)")
    ap.add_argument("--detail", action="store_true", help="one row per problem as well")
    ap.add_argument("--issue13", action="store_true", help="time the cases issue 13 names")
    args = ap.parse_args()
    if args.issue13:
        issue13(args.repeat)
        return

    # warm-up: imports, rule base, Z3 context; SymPy's matrix module
    check_derivation(derive(PROBLEMS[0].f, PROBLEMS[0].wrt, PROBLEMS[0].env()))
    sp.MatrixSymbol("W", 2, 2).diff(sp.MatrixSymbol("W", 2, 2))

    rows = []
    for p in PROBLEMS:
        pr = run_prove(p, args.repeat)
        sy = run_sympy(p, args.repeat)
        rows.append((p, pr, sy))
        print(f"  {p.name:22s} prove {'ok' if pr[1] else '--'} {fmt_ms(pr[2]):>10s}   "
              f"sympy {'ok' if sy[1] else '--'} {fmt_ms(sy[2]):>10s}", file=sys.stderr)

    n = len(rows)

    def summary(label, k):
        answered = sum(r[k][0] for r in rows)
        correct = sum(r[k][1] for r in rows)
        wrong = sum(r[k][0] and not r[k][1] for r in rows)
        ts = [r[k][2] for r in rows if r[k][2] == r[k][2]]
        return (f"| {label} | {answered}/{n} | {correct}/{n} | {wrong} | "
                f"{fmt_ms(statistics.median(ts))} | {fmt_ms(max(ts))} |")

    dims = ", ".join(f"{k}={v}" for k, v in DIMS.items())
    print(f"\n{n} problems (tests/derive_problems.py), dimensions {dims}, "
          f"median of {args.repeat} runs per problem; Python {sys.version.split()[0]}, "
          f"SymPy {sp.__version__}.\n")
    print("| engine | answered | correct (finite differences) | wrong answers | "
          "median time / problem | max time |")
    print("|---|---|---|---|---|---|")
    print(summary("prove derive (derive + kernel check)", 1))
    print(summary("SymPy `MatrixSymbol.diff`", 2))
    eng = [t for t in ENGINE_ONLY.values() if t == t]
    print(f"| (for reference: prove's engine alone, without the kernel check the CLI always runs) "
          f"| | | | {fmt_ms(statistics.median(eng))} | {fmt_ms(max(eng))} |")
    transposed = sum(1 for r in rows if r[2][3] == "correct up to transpose")
    if transposed:
        print(f"\n({transposed} SymPy answers counted correct only after transposing.)")

    if args.detail:
        print("\n| problem | f | wrt | prove | SymPy | SymPy's answer / reason |")
        print("|---|---|---|---|---|---|")
        for p, pr, sy in rows:
            pv = "correct" if pr[1] else ("WRONG" if pr[0] else f"no answer ({pr[3]})")
            sv = "correct" if sy[1] else ("WRONG" if sy[0] else "no answer")
            detail = (sy[4] or "") if sy[1] or sy[0] else sy[3]
            if sy[0] and not sy[1]:
                detail = f"{sy[4]} — {sy[3]}"
            detail = detail.replace("|", "\\|")
            print(f"| {p.name} | `{p.f}` | {p.wrt} | {pv} | {sv} | {detail[:90]} |")


if __name__ == "__main__":
    main()
