"""Derivative problems for `prove derive`, and the numeric tools to judge its answers.

Used by `tests/test_derive.py` (each problem: derive, the kernel accepts the proof, the answer
agrees with central finite differences of f) and by `benchmarks/derive_bench.py` (the same
problems through prove and through SymPy).

A problem is `f`, `wrt`, the declarations (in `--var` syntax) and, where a book gives one, the
known answer in *numerator* layout (for X of shape m×n, ∂f/∂X is n×m with entry [j, i] =
∂f/∂X[i, j]). Sources: Petersen & Pedersen, *The Matrix Cookbook* (2012), §2 (equation numbers
given as "MC (n)", Nov 2012 edition); Magnus & Neudecker, *Matrix Differential Calculus with
Applications in Statistics and Econometrics* (3rd ed., 2019), "MN".
A range or a section means the book gives the general form there and the problem specialises
it. The Cookbook states its results in denominator layout (∂f/∂X has X's shape); `known` is its
transpose.

The evaluator walks the kernel's Expr tree with numpy (no eval, no sympify). Dimension symbols
get distinct sizes (DIMS). Random points: invertible matrices are 0.5·U(-1, 1) + size·I, strictly
diagonally dominant with a positive diagonal, so every eigenvalue has a positive real part and
det > 0 (log(det(X)) is defined) and x^T A x > 0 for any x ≠ 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover.kernel.expr import Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T
from prover.kernel.parser import parse
from prover.kernel.shapes import VarInfo

DIMS = {"n": 3, "m": 2, "p": 4}


@dataclass(frozen=True)
class Problem:
    name: str
    f: str
    wrt: str
    vars: tuple[str, ...]
    known: str | None = None  # numerator layout
    source: str = ""
    xfail: str | None = None  # reason, when the engine is known to fail on it (see test_derive)

    def env(self) -> dict[str, VarInfo]:
        from prover.derive import parse_var

        return dict(parse_var(v) for v in self.vars)


def P(name, f, wrt, vars, known=None, source="", xfail=None):
    return Problem(name, f, wrt, tuple(vars), known, source, xfail)


# Common declarations.
a_n, b_n, c_n = "a: n x 1 constant", "b: n x 1 constant", "c: n x 1 constant"
x_n = "x: n x 1"
A_nn, B_nn, C_nn = "A: n x n constant", "B: n x n constant", "C: n x n constant"
X_nn, X_inv = "X: n x n", "X: n x n invertible"

PROBLEMS: list[Problem] = [
    # -- linear forms ------------------------------------------------------------------------
    P("lin-aTx", "a^T x", "x", [a_n, x_n], "a^T", "MC (69)"),
    P("lin-xTa", "x^T a", "x", [a_n, x_n], "a^T", "MC (69)"),
    P("lin-aTXb", "a^T X b", "X", ["a: n x 1 constant", "X: n x m", "b: m x 1 constant"],
      "b a^T", "MC (70)"),
    P("lin-aTXTb", "a^T X^T b", "X", ["a: m x 1 constant", "X: n x m", "b: n x 1 constant"],
      "a b^T", "MC (71)"),
    P("lin-aTXa", "a^T X a", "X", [a_n, X_nn], "a a^T", "MC (72)"),
    P("lin-trX", "tr(X)", "X", [X_nn], "I", "MC (99)"),
    P("lin-trXT", "tr(X^T)", "X", [X_nn], "I", "MC (99), (44)"),
    P("lin-trAX", "tr(A X)", "X", ["A: m x n constant", "X: n x m"], "A", "MC (100)"),
    P("lin-trAXB", "tr(A X B)", "X", ["A: p x n constant", "X: n x m", "B: m x p constant"],
      "B A", "MC (101)"),
    P("lin-trAXTB", "tr(A X^T B)", "X", ["A: p x m constant", "X: n x m", "B: n x p constant"],
      "A^T B^T", "MC (102)"),
    P("lin-trXTA", "tr(X^T A)", "X", ["X: n x m", "A: n x m constant"], "A^T", "MC (103)"),
    P("lin-scalar-wrt", "x^T (A + t B) x", "t", ["x: n x 1 constant", A_nn, B_nn,
                                                 "t: scalar"], "x^T B x", "MN ch. 9"),
    # -- quadratic forms -------------------------------------------------------------------------
    P("quad-xTAx", "x^T A x", "x", [x_n, A_nn], "x^T (A + A^T)", "MC (81)"),
    P("quad-xTAx-wrtA", "x^T A x", "A", ["x: n x 1 constant", "A: n x n"], "x x^T", "MC (72)"),
    P("quad-xTx", "x^T x", "x", [x_n], "2 x^T", "MC (81)"),
    P("quad-bTXTXc", "b^T X^T X c", "X", [b_n, c_n, "X: m x n"], "(b c^T + c b^T) X^T",
      "MC (77)"),
    P("quad-aTXTXa", "a^T X^T X a", "X", [a_n, "X: m x n"], "2 a a^T X^T", "MC (77)"),
    P("quad-XbcDXbc", "(X b + c)^T D (X b + c)", "X",
      ["X: m x n", "b: n x 1 constant", "c: m x 1 constant", "D: m x m constant"],
      "b (X b + c)^T (D + D^T)", "MC (80)"),
    P("quad-bTXTDXc", "b^T X^T D X c", "X",
      ["X: m x n", b_n, c_n, "D: m x m constant"], "c b^T X^T D + b c^T X^T D^T", "MC (79)"),
    P("quad-xsWxs-x", "(x - s)^T W (x - s)", "x", [x_n, "s: n x 1 constant", "W: n x n constant"],
      "(x - s)^T (W + W^T)", "MC (84)-(88)"),
    P("quad-xsWxs-s", "(x - s)^T W (x - s)", "s", ["x: n x 1 constant", "s: n x 1",
                                                  "W: n x n constant"],
      "-(x - s)^T (W + W^T)", "MC (84)-(88)"),
    P("quad-xAsW-s-sym", "(x - A s)^T W (x - A s)", "s",
      ["x: n x 1 constant", "A: n x m constant", "s: m x 1", "W: n x n constant symmetric"],
      "-2 (x - A s)^T W A", "MC (84)-(88)"),
    P("quad-xTATAx", "x^T A^T A x", "x", [x_n, "A: m x n constant"], "2 x^T A^T A", "MC (81)"),
    # -- traces of products with transposes (Frobenius norms) ---------------------------------------
    P("tr-XTX", "tr(X^T X)", "X", ["X: m x n"], "2 X^T", "MC (115)"),
    P("tr-XXT", "tr(X X^T)", "X", ["X: m x n"], "2 X^T", "MC (115)"),
    P("tr-XTAX", "tr(X^T A X)", "X", ["X: n x m", A_nn], "X^T (A + A^T)", "MC (108)"),
    P("tr-XAXT", "tr(X A X^T)", "X", ["X: m x n", A_nn], "(A + A^T) X^T", "MC (111)"),
    P("tr-AXBX", "tr(A X B X)", "X", [A_nn, X_nn, B_nn], "B X A + A X B", "MC (114)"),
    P("tr-XTBXC", "tr(X^T B X C)", "X", ["X: n x m", B_nn, "C: m x m constant"],
      "C X^T B + C^T X^T B^T", "MC (117)"),
    P("tr-AXBXTC", "tr(A X B X^T C)", "X",
      ["A: p x n constant", "X: n x m", "B: m x m constant", "C: n x p constant"],
      "B X^T C A + B^T X^T A^T C^T", "MC (118)"),
    P("tr-AXBC-sq", "tr((A X B + C) (A X B + C)^T)", "X",
      ["A: p x n constant", "X: n x m", "B: m x m constant", "C: p x m constant"],
      "2 B (A X B + C)^T A", "MC (119)"),
    P("tr-XTX-XTX", "tr(X^T X X^T X)", "X", ["X: m x n"], "4 X^T X X^T", "MN ch. 9"),
    # -- powers -------------------------------------------------------------------------
    P("pow-trX2", "tr(X^2)", "X", [X_nn], "2 X", "MC (106)"),
    P("pow-trX3", "tr(X^3)", "X", [X_nn], "3 X^2", "MC (121)"),
    P("pow-trXX", "tr(X X)", "X", [X_nn], "2 X", "MC (106)"),
    P("pow-trX-plus-trX2", "tr(X) + tr(X^2)", "X", [X_nn], "I + 2 X", "MC (99), (106)"),
    P("pow-trAX2", "tr(A X^2)", "X", [A_nn, X_nn], "A X + X A", "MC (107)"),
    P("pow-trAX3", "tr(A X^3)", "X", [A_nn, X_nn], "A X^2 + X A X + X^2 A", "MC (122)"),
    P("pow-aTX2b", "a^T X^2 b", "X", [a_n, b_n, X_nn], "X b a^T + b a^T X", "MC (90)"),
    P("pow-trXTX2", "tr(X^T X^2)", "X", [X_nn], "(X^T)^2 + X X^T + X^T X", "MN ch. 9"),
    # -- inverses -----------------------------------------------------------------------------
    P("inv-trXinv", "tr(X^-1)", "X", [X_inv], "-X^-2", "MC (63), A = B = I"),
    P("inv-trAXinvB", "tr(A X^-1 B)", "X", [A_nn, X_inv, B_nn], "-X^-1 B A X^-1", "MC (63)"),
    P("inv-aTXinvb", "a^T X^-1 b", "X", [a_n, b_n, X_inv], "-X^-1 b a^T X^-1", "MC (61)"),
    P("inv-xTAinvx", "x^T A^-1 x", "x", [x_n, "A: n x n constant invertible"],
      "x^T (A^-1 + (A^-1)^T)", "MC (81)"),
    P("inv-logdet-trSXinv", "log(det(X)) + tr(S X^-1)", "X", [X_inv, "S: n x n constant"],
      "X^-1 - X^-1 S X^-1", "MC (57), (63)"),
    P("inv-trXTXinv", "tr((X^T X)^-1)", "X", [X_inv], "-2 (X^T X)^-2 X^T", "MN ch. 9"),
    P("inv-trXinv2", "tr(X^-2)", "X", [X_inv], "-2 X^-3", "MN ch. 9"),
    # -- Gram matrices of a rectangular X (p > n: X^T X is invertible) ------------------------
    P("gram-logdet", "log(det(X^T X))", "X", ["X: p x n"], "2 (X^T X)^-1 X^T", "MC (55)"),
    P("gram-quad", "a^T (X^T X)^-1 a", "X", [a_n, "X: p x n"],
      "-2 (X^T X)^-1 a a^T (X^T X)^-1 X^T", "MC (59), (80)"),
    P("gram-trXTCXinvA", "tr((X^T C X)^-1 A)", "X", ["X: p x n", "C: p x p constant", A_nn],
      "-((X^T C X)^-1 A (X^T C X)^-1 X^T C + (X^T C^T X)^-1 A^T (X^T C^T X)^-1 X^T C^T)",
      "MC (125)"),
    # -- determinants ---------------------------------------------------------------------------
    P("det-X", "det(X)", "X", [X_inv], "det(X) X^-1", "MC (49)"),
    P("det-AXB", "det(A X B)", "X", ["A: n x n constant invertible", X_inv,
                                      "B: n x n constant invertible"],
      "det(A X B) X^-1", "MC (51)"),
    P("det-XTAX", "det(X^T A X)", "X", [X_inv, "A: n x n constant invertible"],
      "det(X^T A X) ((X^T A X)^-1 X^T A + (X^T A^T X)^-1 X^T A^T)", "MC §2.1.3"),
    P("det-X2", "det(X^2)", "X", [X_inv], "2 det(X^2) X^-1", "MC (58)"),
    P("det-Xinv", "det(X^-1)", "X", [X_inv], "-det(X^-1) X^-1", "MC (62)"),
    P("det-aTXa-times", "det(X) a^T X a", "X", [a_n, X_inv],
      "det(X) (a^T X a) X^-1 + det(X) a a^T", "MC (49), (72)"),
    # -- log-determinants ---------------------------------------------------------------------
    P("logdet-X", "log(det(X))", "X", [X_inv], "X^-1", "MC (57)"),
    P("logdet-XTX", "log(det(X^T X))", "X", [X_inv], "2 X^-1", "MC (55)"),
    P("logdet-AXB", "log(det(A X B))", "X", ["A: n x n constant invertible", X_inv,
                                              "B: n x n constant invertible"], "X^-1", "MC (51), (57)"),
    P("logdet-X2", "log(det(X^2))", "X", [X_inv], "2 X^-1", "MC (57), (58)"),
    P("logdet-XTAX", "log(det(X^T A X))", "X", [X_inv, "A: n x n constant invertible"],
      "2 X^-1", "MC §2.1.3, (57)"),
    # -- least squares ---------------------------------------------------------------------------
    P("ls-x", "(A x - b)^T (A x - b)", "x", ["A: m x n constant", x_n, "b: m x 1 constant"],
      "2 (A x - b)^T A", "MC (84)-(88), W = I"),
    P("ls-A", "(A x - b)^T (A x - b)", "A", ["A: m x n", "x: n x 1 constant",
                                             "b: m x 1 constant"], "2 x (A x - b)^T", "MC (80), D = I"),
    P("ls-b", "(A x - b)^T (A x - b)", "b", ["A: m x n constant", "x: n x 1 constant",
                                             "b: m x 1"], "-2 (A x - b)^T", "MC (84)-(88), W = I"),
    P("ls-weighted", "(A x - b)^T W (A x - b)", "x",
      ["A: m x n constant", x_n, "b: m x 1 constant", "W: m x m constant"],
      "(A x - b)^T (W + W^T) A", "MC (84)-(88)"),
    P("ls-ridge", "(A x - b)^T (A x - b) + l x^T x", "x",
      ["A: m x n constant", x_n, "b: m x 1 constant", "l: scalar constant"],
      "2 (A x - b)^T A + 2 l x^T", "MC (84)-(88), (81)"),
    P("ls-frobenius", "tr((A X - B)^T (A X - B))", "X",
      ["A: p x n constant", "X: n x m", "B: p x m constant"], "2 (A X - B)^T A", "MC (119)"),
    P("ls-half", "1/2 (A x - b)^T (A x - b)", "x",
      ["A: m x n constant", x_n, "b: m x 1 constant"], "(A x - b)^T A", "MC (84)-(88), W = I"),
    # -- scalar products and quotients ------------------------------------------------------------
    P("sc-rayleigh", "x^T A x / (x^T x)", "x", [x_n, A_nn],
      "(x^T (A + A^T) - 2 (x^T A x) / (x^T x) x^T) / (x^T x)", "MN ch. 9"),
    P("sc-aTx-bTx", "(a^T x) (b^T x)", "x", [a_n, b_n, x_n], "(b^T x) a^T + (a^T x) b^T",
      "MN ch. 9"),
    P("sc-aTx-sq", "(a^T x)^2", "x", [a_n, x_n], "2 (a^T x) a^T", "MN ch. 9"),
    P("sc-log-xTx", "log(x^T x)", "x", [x_n], "2 x^T / (x^T x)", "MN ch. 9"),
    P("sc-log-xTAx", "log(x^T A x)", "x", [x_n, "A: n x n constant invertible"],
      "x^T (A + A^T) / (x^T A x)", "MN ch. 9"),
    P("sc-trX-sq", "tr(X)^2", "X", [X_nn], "2 tr(X) I", "MN ch. 9"),
    P("sc-aTXb-sq", "(a^T X b)^2", "X", ["a: n x 1 constant", "X: n x m", "b: m x 1 constant"],
      "2 (a^T X b) b a^T", "MC (70)"),
    P("sc-quot-traces", "tr(A X) / tr(X^T X)", "X", ["A: m x n constant", "X: n x m"],
      "(A - 2 tr(A X) / tr(X^T X) X^T) / tr(X^T X)", "MN ch. 9"),
    P("sc-inv-norm", "1 / (x^T x + 1)", "x", [x_n], "-2 x^T / (x^T x + 1)^2", "MN ch. 9"),
    P("sc-trX-trXinv", "tr(X) tr(X^-1)", "X", [X_inv], "tr(X^-1) I - tr(X) X^-2", "MN ch. 9"),
    # -- Gaussian log-likelihood ------------------------------------------------------------------
    P("gauss-mu", "-log(det(S)) - (x - mu)^T S^-1 (x - mu)", "mu",
      ["S: n x n constant invertible", "x: n x 1 constant", "mu: n x 1"],
      "(x - mu)^T (S^-1 + (S^-1)^T)", "MC (84)-(88), (57)"),
    P("gauss-S", "-log(det(S)) - (x - mu)^T S^-1 (x - mu)", "S",
      ["S: n x n invertible", "x: n x 1 constant", "mu: n x 1 constant"],
      "-S^-1 + S^-1 (x - mu) (x - mu)^T S^-1", "MC (57), (61)"),
    P("gauss-x", "-log(det(S)) - (x - mu)^T S^-1 (x - mu)", "x",
      ["S: n x n constant invertible", "x: n x 1", "mu: n x 1 constant"],
      "-(x - mu)^T (S^-1 + (S^-1)^T)", "MC (84)-(88)"),
    P("gauss-S-scatter", "-log(det(S)) - tr(S^-1 C)", "S", ["S: n x n invertible", C_nn],
      "-S^-1 + S^-1 C S^-1", "MC (57), (63)"),
    P("gauss-precision", "log(det(K)) - (x - mu)^T K (x - mu)", "K",
      ["K: n x n invertible", "x: n x 1 constant", "mu: n x 1 constant"],
      "K^-1 - (x - mu) (x - mu)^T", "MC (57), (72)"),
    P("gauss-half", "-1/2 log(det(S)) - 1/2 (x - mu)^T S^-1 (x - mu)", "S",
      ["S: n x n invertible", "x: n x 1 constant", "mu: n x 1 constant"],
      "1/2 (S^-1 (x - mu) (x - mu)^T S^-1 - S^-1)", "MC (57), (61)"),
]

# Problems that must be refused with DeriveError (never a wrong answer): (f, wrt, vars, why).
UNSUPPORTED: list[tuple[str, str, tuple[str, ...], str]] = [
    ("tr(X)", "X", ("X: n x n symmetric",), "symmetric wrt"),
    ("X", "X", ("X: n x n",), "not a scalar function"),
    ("a^T X", "X", ("a: n x 1 constant", "X: n x n"), "not a scalar function"),
    ("tr(X)", "Y", ("X: n x n",), "wrt not declared"),
    ("tr(A X)", "A", ("A: n x n constant", "X: n x n"), "wrt declared constant"),
    ("sum(X)", "X", ("X: n x n",), "the all-ones matrix"),
    ("sum(kron(A, X))", "X", ("A: n x n constant", "X: n x n"), "the sum of a Kronecker product needs all-ones"),
    ("tr(a^T X)", "X", ("a: n x 1 constant", "X: n x n"), "shape error: trace of a row"),
    ("log(det(X))", "X", ("X: n x m",), "shape error: det of a non-square matrix"),
    ("tr(d(X))", "X", ("X: n x n",), "a differential inside f"),
    ("tr(X ", "X", ("X: n x n",), "parse error"),
]


# -- the numeric evaluator ------------------------------------------------------------------
class EvalError(Exception):
    pass


class _Lazy:
    """c·I (ident=True) or the number c (ident=False, which may also stand for a zero matrix),
    whose size the neighbours fix."""

    def __init__(self, c: float, ident: bool):
        self.c, self.ident = c, ident


def _dim(x, dims) -> int:
    return x if isinstance(x, int) else dims[x]


def shape_of_var(info: VarInfo, dims=DIMS) -> tuple[int, int]:
    return _dim(info.shape.rows, dims), _dim(info.shape.cols, dims)


def random_point(env: dict[str, VarInfo], rng: np.random.Generator, dims=DIMS) -> dict:
    vals = {}
    for name, info in env.items():
        r, c = shape_of_var(info, dims)
        if info.invertible:
            m = 0.5 * rng.uniform(-1, 1, (r, c))
            if info.symmetric:
                m = (m + m.T) / 2
            m = m + r * np.eye(r)
        elif info.symmetric:
            m = rng.standard_normal((r, c))
            m = (m + m.T) / 2
        else:
            m = rng.standard_normal((r, c))
        vals[name] = m
    return vals


def evaluate(e: Expr, vals: dict[str, np.ndarray]):
    """The value of e at `vals`: a 2-D float array, or a _Lazy for I / numbers."""
    ev = lambda x: evaluate(x, vals)  # noqa: E731
    if isinstance(e, Num):
        return _Lazy(float(e.value), False)
    if isinstance(e, Ident):
        return _Lazy(1.0, True)
    if isinstance(e, Sym):
        if e.name not in vals:
            raise EvalError(f"no value for {e.name}")
        return vals[e.name]
    if isinstance(e, Neg):
        v = ev(e.arg)
        return _Lazy(-v.c, v.ident) if isinstance(v, _Lazy) else -v
    if isinstance(e, Add):
        return _add([ev(a) for a in e.args])
    if isinstance(e, Mul):
        out = ev(e.args[0])
        for a in e.args[1:]:
            out = _mul(out, ev(a))
        return out
    if isinstance(e, Div):
        num, den = ev(e.num), ev(e.den)
        s = _scalar(den)
        if s == 0:
            raise EvalError("division by zero")
        return _mul(num, _Lazy(1.0 / s, False))
    if isinstance(e, T):
        v = ev(e.arg)
        return v if isinstance(v, _Lazy) else v.T
    if isinstance(e, Inv):
        v = ev(e.arg)
        if isinstance(v, _Lazy):
            return _Lazy(1.0 / v.c, v.ident)
        return np.linalg.inv(_square(v, "inverse"))
    if isinstance(e, Pow):
        v = ev(e.arg)
        if isinstance(v, _Lazy):
            return _Lazy(v.c ** e.k, v.ident) if e.k else _Lazy(1.0, True)
        if e.k < 0:
            v = np.linalg.inv(_square(v, "inverse"))
        return np.linalg.matrix_power(_square(v, "power"), abs(e.k))
    if isinstance(e, Func):
        v = ev(e.arg)
        if e.name == "tr":
            if isinstance(v, _Lazy):
                if v.ident and v.c != 0:
                    raise EvalError("tr(I) of no fixed size")
                return _Lazy(v.c, False)
            return np.array([[np.trace(_square(v, "trace"))]])
        if e.name == "det":
            if isinstance(v, _Lazy):
                if v.ident:
                    raise EvalError("det(I) of no fixed size")
                return v
            return np.array([[np.linalg.det(_square(v, "det"))]])
        if isinstance(v, _Lazy):
            if v.ident or e.name in ("vec", "diag", "sum"):
                raise EvalError(f"{e.name} of I or a number of no fixed size")
            v = np.array([[v.c]])
        if e.name == "log":
            if np.any(v <= 0):
                raise EvalError("log of a non-positive number")
            return np.log(v)
        if e.name == "sqrt":
            if np.any(v <= 0):
                raise EvalError("sqrt of a non-positive number")
            return np.sqrt(v)
        if e.name in ("exp", "tanh"):
            return getattr(np, e.name)(v)
        if e.name == "sigmoid":
            return 1 / (1 + np.exp(-v))
        if e.name == "sum":
            return np.array([[v.sum()]])
        if e.name == "vec":
            return v.reshape(-1, 1, order="F")
        if e.name == "diag":
            if v.shape[1] != 1:
                raise EvalError(f"diag of a {v.shape} matrix")
            return np.diag(v[:, 0])
        raise EvalError(f"cannot evaluate {e.name}(...)")
    if isinstance(e, (Had, Kron)):
        a, b = ev(e.left), ev(e.right)
        if isinstance(e, Kron):
            if isinstance(a, _Lazy) or isinstance(b, _Lazy):
                raise EvalError("kron of I or a number")
            return np.kron(a, b)
        if isinstance(a, _Lazy) and isinstance(b, _Lazy):
            raise EvalError("∘ of I or numbers of no fixed size")
        a, b = (np.eye(o.shape[0]) * x.c if isinstance(x, _Lazy) else x for x, o in ((a, b), (b, a)))
        if a.shape != b.shape:
            raise EvalError(f"∘ of {a.shape} and {b.shape}")
        return a * b
    raise EvalError(f"unknown node {type(e).__name__}")


def _square(v: np.ndarray, what: str) -> np.ndarray:
    if v.shape[0] != v.shape[1]:
        raise EvalError(f"{what} of a {v.shape} matrix")
    return v


def _scalar(v) -> float:
    if isinstance(v, _Lazy):
        if v.ident:
            raise EvalError("I used as a scalar")
        return v.c
    if v.shape != (1, 1):
        raise EvalError(f"a {v.shape} matrix used as a scalar")
    return float(v[0, 0])


def _mul(a, b):
    if isinstance(a, _Lazy) and isinstance(b, _Lazy):
        return _Lazy(a.c * b.c, a.ident or b.ident)
    if isinstance(b, _Lazy):
        a, b = b, a  # scalars commute with everything
    if isinstance(a, _Lazy):
        if a.ident and b.shape == (1, 1):  # s I: an identity of a size still open
            return _Lazy(a.c * float(b[0, 0]), True)
        if a.c == 0 and not a.ident:  # 0 may be a zero matrix of any size
            return _Lazy(0.0, False)
        return a.c * b
    if a.shape[1] == b.shape[0]:
        return a @ b
    if a.shape == (1, 1):
        return a[0, 0] * b
    if b.shape == (1, 1):
        return b[0, 0] * a
    raise EvalError(f"product of {a.shape} and {b.shape}")


def _add(vs):
    arrays = [v for v in vs if not isinstance(v, _Lazy)]
    lazies = [v for v in vs if isinstance(v, _Lazy)]
    if not arrays:
        idents = [v for v in lazies if v.ident and v.c != 0]
        nums = [v for v in lazies if not v.ident and v.c != 0]
        if idents and nums:
            raise EvalError("I + number of no fixed size")
        return _Lazy(sum(v.c for v in lazies), bool(idents))
    out = arrays[0].copy()
    for v in arrays[1:]:
        if v.shape != out.shape:
            raise EvalError(f"sum of {out.shape} and {v.shape}")
        out = out + v
    for v in lazies:
        if v.c == 0:
            continue
        if v.ident:
            out = out + v.c * np.eye(_square(out, "I +").shape[0])
        elif out.shape == (1, 1):
            out = out + v.c
        else:
            raise EvalError(f"a number added to a {out.shape} matrix")
    return out


def materialize(v, shape: tuple[int, int]) -> np.ndarray:
    """A value as an array of the expected shape (I and 0 take that size)."""
    if isinstance(v, _Lazy):
        if v.ident:
            if shape[0] != shape[1]:
                raise EvalError(f"I where a {shape} matrix is expected")
            return v.c * np.eye(shape[0])
        if v.c == 0 or shape == (1, 1):
            return np.full(shape, v.c)
        raise EvalError(f"the number {v.c} where a {shape} matrix is expected")
    if v.shape != shape:
        raise EvalError(f"a {v.shape} matrix where a {shape} matrix is expected")
    return v


def f_value(f: Expr, vals) -> float:
    return _scalar(evaluate(f, vals))


def fd_gradient(f: Expr, wrt: str, vals, h: float = 1e-5) -> np.ndarray:
    """Central differences: an array of X's shape (denominator layout), entry [i, j] ≈ ∂f/∂X[i, j]."""
    x0 = vals[wrt]
    g = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        plus, minus = x0.copy(), x0.copy()
        plus[idx] += h
        minus[idx] -= h
        g[idx] = (f_value(f, {**vals, wrt: plus}) - f_value(f, {**vals, wrt: minus})) / (2 * h)
    return g


def rel_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


TOL = 1e-5


def numerator_value(g: Expr, env: dict[str, VarInfo], wrt: str, vals) -> np.ndarray:
    """G (numerator layout) at `vals`, as an array of shape (cols of X, rows of X)."""
    r, c = shape_of_var(env[wrt])
    return materialize(evaluate(g, vals), (c, r))


def sample_points(prob: Problem, seed: int, count: int = 2):
    """`count` random points where f can be evaluated (log arguments positive)."""
    env = prob.env()
    f = parse(prob.f, set(env))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(50 * count):
        vals = random_point(env, rng)
        try:
            f_value(f, vals)
        except (EvalError, np.linalg.LinAlgError):
            continue
        out.append(vals)
        if len(out) == count:
            return f, env, out
    raise EvalError(f"{prob.name}: no point where f is defined")
