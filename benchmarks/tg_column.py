"""The tensorgrad column of benchmarks/ml_bench.py (issue 13): the notation → tensorgrad.

Imported only when tensorgrad (and so torch) is installed; `ml_bench.py` runs without this
column otherwise.

Translation. A value of the notation is kept as a tensorgrad tensor with at most two named
edges: `r` for its rows and `c` for its columns, each left out where that dimension is 1. So a
1×1 matrix is an order-0 tensor (a scalar, as tensorgrad wants for log, /, ...), a column
vector has one edge, a row vector another. Each occurrence of a variable is the variable with
fresh edge names; a product `A B` renames A's column edge and B's row edge to one fresh name
(tensorgrad contracts edges of the same name); a sum renames its terms onto the first term's
edges; the transpose swaps the two labels (no tensor operation at all); `∘` is tensorgrad's
elementwise product (`*`) after renaming onto one set of edges; tr contracts both edges with a
Delta; X^-1 is `functions.inverse` (whose output edge carrying A's column name is the row of
A^-1, i.e. the labels swap, as the inverse's evaluation in tensorgrad fixes); det is
`functions.det`; exp/log/tanh/sqrt/sigmoid are tensorgrad's elementwise functions; sum(U)
sums every edge; diag(v) is v times a three-edged Delta. The Kronecker product (it fuses two
edges into one) and vec of a matrix have no counterpart without a reshape, and `d(·)` none:
those problems are "not answered", with the reason.

Derivative: `Derivative(f, X, {X's edges: new names}).simplify()`, for a Hessian that of the
gradient again (the README's `ce.grad(logits).grad(logits)`); only this is timed. Answered = it
returns, and no unevaluated `Derivative` is left. The answer is evaluated at the benchmark's
points by tensorgrad's compiler (CompiledProgram's generated torch code, float64; `_evaluate`
says why not its named-tensor evaluator) and compared with finite differences by the caller.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch

import tensorgrad
from derive_problems import DIMS, shape_of_var
import tensorgrad.functions as F
from tensorgrad import Delta, Derivative, Product, Sum, Variable

from prover.kernel.expr import (Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num,
                                Pow, Sym, T)

try:
    from importlib.metadata import version as _version
    VERSION = _version("tensorgrad")
except Exception:  # noqa: BLE001
    VERSION = "?"


class Untranslatable(Exception):
    pass


@dataclass
class M:
    """A matrix of the notation as a tensor: `r`/`c` name its row/column edge (None: size 1)."""

    t: Any
    r: str | None
    c: str | None

    def size(self, edge: str):
        return self.t.shape[edge]


@dataclass
class Lazy:
    """A number c (ident=False) or c·I (ident=True), whose size the context fixes."""

    c: float
    ident: bool


_fresh = itertools.count()


def fresh() -> str:
    return f"e{next(_fresh)}"


def _dim_symbol(d):
    if isinstance(d, str):
        return sp.Symbol(d)
    if d == 1:
        return None
    return sp.Symbol(f"d{d}")


class Translator:
    def __init__(self, env):
        self.vars: dict[str, Variable] = {}
        self.edges: dict[str, tuple[str | None, str | None]] = {}
        for name, info in env.items():
            rs, cs = _dim_symbol(info.shape.rows), _dim_symbol(info.shape.cols)
            shape, r, c = {}, None, None
            if rs is not None:
                r = f"{name}_r"
                shape[r] = rs
            if cs is not None:
                c = f"{name}_c"
                shape[c] = cs
            self.vars[name] = Variable(name, **shape)
            self.edges[name] = (r, c)

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def scalar_of(v) -> Any:
        """A value as an order-0 tensor (a 1×1 matrix or a number)."""
        if isinstance(v, Lazy):
            if v.ident:
                raise Untranslatable("I used as a scalar")
            return Sum([Product([])], [v.c])
        if v.r is not None or v.c is not None:
            raise Untranslatable("a non-1×1 matrix used as a scalar")
        return v.t

    @staticmethod
    def relabel(v: M, r: str | None, c: str | None) -> M:
        ren = {}
        if v.r is not None and r is not None and v.r != r:
            ren[v.r] = r
        if v.c is not None and c is not None and v.c != c:
            ren[v.c] = c
        if not ren:
            return M(v.t, r if v.r else None, c if v.c else None)
        # rename through temporary names: r and c may be each other's old names
        tmp = {k: fresh() for k in ren}
        t = v.t.rename(**tmp).rename(**{tmp[k]: ren[k] for k in ren})
        return M(t, r if v.r else None, c if v.c else None)

    def mul(self, a, b):
        if isinstance(a, Lazy) and isinstance(b, Lazy):
            return Lazy(a.c * b.c, a.ident or b.ident)
        if isinstance(b, Lazy):
            a, b = b, a
        if isinstance(a, Lazy):  # c·I B = c B, and c B
            return b if a.c == 1 else M(b.t * a.c, b.r, b.c)
        if a.c is not None and b.r is not None:
            if a.size(a.c) != b.size(b.r):
                raise Untranslatable("product of non-conforming matrices")
            k = fresh()
            return M(Product([a.t.rename(**{a.c: k}), b.t.rename(**{b.r: k})]), a.r, b.c)
        if a.c is None and b.r is None:  # (p×1)(1×q), including scalars
            return M(Product([a.t, b.t]), a.r, b.c)
        if a.r is None and a.c is None:
            return M(Product([a.t, b.t]), b.r, b.c)
        if b.r is None and b.c is None:
            return M(Product([a.t, b.t]), a.r, a.c)
        raise Untranslatable("product of non-conforming matrices")

    def add(self, vals):
        mats = [v for v in vals if isinstance(v, M)]
        lazies = [v for v in vals if isinstance(v, Lazy)]
        if not mats:
            if any(v.ident for v in lazies):
                raise Untranslatable("I + numbers of no fixed size")
            return Lazy(sum(v.c for v in lazies), False)
        first = mats[0]
        terms = [first.t] + [self.relabel(v, first.r, first.c).t for v in mats[1:]]
        for v in mats[1:]:
            if (v.r is None) != (first.r is None) or (v.c is None) != (first.c is None):
                raise Untranslatable("sum of matrices of different shapes")
        weights = [1.0] * len(terms)
        for v in lazies:
            if v.c == 0:
                continue
            if v.ident:
                if first.r is None or first.c is None:
                    if first.r is None and first.c is None:
                        terms.append(Product([]))
                        weights.append(v.c)
                        continue
                    raise Untranslatable("I added to a vector")
                terms.append(Delta(first.size(first.r), first.r, first.c))
            elif first.r is None and first.c is None:
                terms.append(Product([]))
            else:
                raise Untranslatable("a number added to a matrix")
            weights.append(v.c)
        return M(Sum(terms, weights), first.r, first.c)

    def inverse(self, v):
        if isinstance(v, Lazy):
            if v.c == 0:
                raise Untranslatable("inverse of 0")
            return Lazy(1.0 / v.c, v.ident)
        if v.r is None and v.c is None:
            return M(F.pow(v.t, -1), None, None)
        if v.r is None or v.c is None:
            raise Untranslatable("inverse of a vector")
        # tensorgrad's inv over edges {r, c}: the output edge named c is the row of A^-1
        return M(F.inverse(v.t, {v.r, v.c}), v.c, v.r)

    # -- the tree ------------------------------------------------------------------------------
    def tr(self, e: Expr):
        go = self.tr
        if isinstance(e, Num):
            return Lazy(float(e.value), False)
        if isinstance(e, Ident):
            return Lazy(1.0, True)
        if isinstance(e, Sym):
            var = self.vars[e.name]
            r, c = self.edges[e.name]
            ren, nr, nc = {}, None, None
            if r is not None:
                nr = ren[r] = fresh()
            if c is not None:
                nc = ren[c] = fresh()
            return M(var.rename(**ren) if ren else var, nr, nc)
        if isinstance(e, Neg):
            v = go(e.arg)
            return Lazy(-v.c, v.ident) if isinstance(v, Lazy) else M(-v.t, v.r, v.c)
        if isinstance(e, Add):
            return self.add([go(a) for a in e.args])
        if isinstance(e, Mul):
            out = go(e.args[0])
            for a in e.args[1:]:
                out = self.mul(out, go(a))
            return out
        if isinstance(e, Div):
            num, den = go(e.num), go(e.den)
            if isinstance(den, Lazy):
                return self.mul(num, Lazy(1.0 / den.c, False)) if not den.ident else \
                    self._raise("division by I")
            return self.mul(num, M(F.pow(self.scalar_of(den), -1), None, None))
        if isinstance(e, T):
            v = go(e.arg)
            return v if isinstance(v, Lazy) else M(v.t, v.c, v.r)
        if isinstance(e, Inv):
            return self.inverse(go(e.arg))
        if isinstance(e, Pow):
            v = go(e.arg)
            if isinstance(v, M) and v.r is None and v.c is None:
                return M(F.pow(v.t, e.k), None, None)
            if isinstance(v, Lazy):
                return Lazy(v.c ** e.k, v.ident) if e.k else Lazy(1.0, True)
            if e.k == 0:
                raise Untranslatable("X^0")
            base = self.inverse(v) if e.k < 0 else v
            out = base
            for _ in range(abs(e.k) - 1):
                out = self.mul(out, self.relabel_fresh(base))
            return out
        if isinstance(e, Func):
            return self.func(e)
        if isinstance(e, Had):
            a, b = go(e.left), go(e.right)
            if isinstance(a, Lazy) or isinstance(b, Lazy) or (a.r is None and a.c is None) \
                    or (b.r is None and b.c is None):
                return self.mul(a, b)  # a scalar factor: ∘ is scaling
            if (a.r is None) != (b.r is None) or (a.c is None) != (b.c is None):
                raise Untranslatable("∘ of matrices of different shapes")
            b = self.relabel(b, a.r, a.c)
            return M(a.t * b.t, a.r, a.c)
        if isinstance(e, Kron):
            raise Untranslatable("kron (⊗ fuses two edges into one: needs a reshape)")
        raise Untranslatable(f"no tensorgrad counterpart for {type(e).__name__}")

    @staticmethod
    def _raise(msg):
        raise Untranslatable(msg)

    def relabel_fresh(self, v: M) -> M:
        """The same tensor with fresh edge names (a second copy in a product)."""
        return self.relabel(v, fresh() if v.r else None, fresh() if v.c else None)

    def func(self, e: Func):
        if e.name == "d":
            raise Untranslatable("a differential d(·) inside f")
        v = self.tr(e.arg)
        if isinstance(v, Lazy):
            if v.ident:
                raise Untranslatable(f"{e.name}(I) of no fixed size")
            v = M(self.scalar_of(v), None, None)
        scalar = v.r is None and v.c is None
        if e.name == "tr":
            if scalar:
                return v
            if v.r is None or v.c is None:
                raise Untranslatable("trace of a vector")
            return M(Product([v.t, Delta(v.size(v.r), v.r, v.c)]), None, None)
        if e.name == "det":
            if scalar:
                return v
            if v.r is None or v.c is None:
                raise Untranslatable("det of a vector")
            return M(F.det(v.t, {v.r, v.c}), None, None)
        elementwise = {"exp": F.exp, "log": F.log, "tanh": F.tanh, "sqrt": F.sqrt,
                       "sigmoid": F.sigmoid}
        if e.name in elementwise:
            return M(elementwise[e.name](v.t), v.r, v.c)
        if e.name == "sum":
            return M(F.sum(v.t) if not scalar else v.t, None, None)
        if e.name == "diag":
            if scalar:
                return v
            if v.c is not None:
                raise Untranslatable("diag of a non-column")
            r2, c2 = fresh(), fresh()
            return M(Product([v.t, Delta(v.size(v.r), v.r, r2, c2)]), r2, c2)
        if e.name == "vec":
            if v.c is None:
                return v
            if v.r is None:
                return M(v.t, v.c, None)
            raise Untranslatable("vec of a matrix (fuses two edges into one: needs a reshape)")
        raise Untranslatable(f"no tensorgrad counterpart for {e.name}")


def _has_derivative(t) -> bool:
    seen, stack = set(), [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Derivative):
            return True
        for attr in ("factors", "terms", "inputs"):
            stack.extend(getattr(x, attr, ()) or ())
        inner = getattr(x, "tensor", None)
        if isinstance(inner, tensorgrad.Tensor):
            stack.append(inner)
    return False


def _evaluate(ans, trn: Translator, vals: dict, dims: dict, layout) -> np.ndarray:
    """tensorgrad's answer at `vals`, as an array with one axis per (edge, size) of `layout`.

    The torch installed here (2.14) has no named tensors, which both tensorgrad.extras.evaluate
    and CompiledProgram.__call__ use; so the answer goes through tensorgrad's own compiler
    (CompiledProgram: lowering and torch code generation) and the generated function is called
    with plain tensors in each variable's edge order, as `__call__` would pass them."""
    from tensorgrad.compiler.runtime import CompiledProgram

    prog = CompiledProgram((ans,))
    args = []
    for var in prog.vars:
        a = np.asarray(vals[var.name], dtype=np.float64)
        r, c = trn.edges[var.name]
        axes = [x for x in (r, c)]
        a = a.reshape([a.shape[i] for i, x in enumerate(axes) if x is not None])
        present = [x for x in axes if x is not None]
        order = [present.index(e) for e in var.edges]
        args.append(torch.tensor(np.transpose(a, order) if order else a, dtype=torch.float64))
    fn = prog.codegen.specialize(dims, dtype=torch.float64)
    out = fn(*args)[0]
    _node, edge_order = prog.outputs[0]
    want = [e for e, _ in layout if e is not None]
    if set(edge_order) != set(want):
        raise ValueError(f"answer has edges {edge_order}, expected {want}")
    out = out.permute(*[list(edge_order).index(e) for e in want]) if want else out
    return out.detach().cpu().numpy().reshape([k for _, k in layout])


def run(p, parsed_f, env, points, wrt: str, order: int, judge):
    """(answered, right, seconds, note, answer-as-text) for one problem; `judge(got, vals)` is
    True where the array `got` (denominator layout; for a Hessian the (k, k) matrix over
    X's column-major entries) agrees with finite differences at `vals`."""
    torch.set_default_dtype(torch.float64)
    try:
        trn = Translator(env)
        fv = trn.tr(parsed_f)
        if isinstance(fv, Lazy):
            fv = M(trn.scalar_of(fv), None, None)
        if fv.r is not None or fv.c is not None:
            raise Untranslatable("f is not a scalar")
    except Untranslatable as exc:
        return False, False, float("nan"), f"untranslatable: {exc}", None
    X = trn.vars[wrt]
    xr, xc = trn.edges[wrt]
    rows, cols = shape_of_var(env[wrt])
    t0 = time.perf_counter()
    try:
        g = Derivative(fv.t, X, {e: f"g_{e}" for e in X.edges})
        if order == 2:
            g = Derivative(g, X, {e: f"h_{e}" for e in X.edges})
        ans = g.simplify()
    except Exception as exc:  # noqa: BLE001 - tensorgrad raising is no answer
        return False, False, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"[:200], None
    took = time.perf_counter() - t0
    if _has_derivative(ans):
        return False, False, took, "unevaluated Derivative", repr(ans)[:200]
    dims = {sp.Symbol(k): v for k, v in DIMS.items()}
    for name, info in env.items():
        for d in (info.shape.rows, info.shape.cols):
            if isinstance(d, int) and d != 1:
                dims[sp.Symbol(f"d{d}")] = d
    lay = [(f"g_{xr}" if xr else None, rows), (f"g_{xc}" if xc else None, cols)]
    if order == 2:
        lay += [(f"h_{xr}" if xr else None, rows), (f"h_{xc}" if xc else None, cols)]
    try:
        ok = True
        for v in points:
            got = _evaluate(ans, trn, v, dims, lay)
            if order == 2:
                got = got.reshape((rows * cols, rows * cols), order="F")
            ok = ok and judge(got, v)
        note = "" if ok else "wrong"
    except Exception as exc:  # noqa: BLE001 - an answer tensorgrad cannot evaluate
        ok, note = False, f"cannot evaluate: {type(exc).__name__}: {exc}"[:200]
    return True, ok, took, note, repr(ans)[:200]
