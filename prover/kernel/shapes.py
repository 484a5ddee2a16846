"""Shape inference with dimension symbols (SPEC §2).

A dimension is a positive int or a symbol such as "n"; distinct symbols stand for distinct sizes
of at least 2, so a symbol never equals 1 or another symbol. `I` and `0` have no size of their
own: their dimensions stay `None` until the context fixes them. A 1×1 factor scales a matrix of
any shape. Errors name the operator, both shapes and the span. Read next: `evaluate.py`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping, Union

from .errors import ProveError
from .expr import ELEMENTWISE, Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Span, Sym, T, mul, symbols
from .printer import show

Dim = Union[int, str, tuple[Union[int, str], ...]]  # a size, a dimension symbol, or a product of them (`dim_times`)


@dataclass(frozen=True)
class Shape:
    rows: Dim | None
    cols: Dim | None
    square: bool = False  # rows == cols is required even while both are unknown (`I`)

    @property
    def scalar(self) -> bool:
        return self.rows == 1 and self.cols == 1

    def __str__(self) -> str:
        return f"{_d(self.rows)}×{_d(self.cols)}"


def _d(x: Dim | None) -> str:
    return "?" if x is None else "·".join(map(str, x)) if isinstance(x, tuple) else str(x)


def dim_times(a: Dim, b: Dim) -> Dim:
    """a·b: a number, a symbol, or a tuple of the factors (the number first, then the symbols
    sorted), so that equal products are equal values (m·n = n·m)."""
    fs = [f for x in (a, b) for f in (x if isinstance(x, tuple) else (x,))]
    k, syms = math.prod(f for f in fs if isinstance(f, int)), sorted(f for f in fs if isinstance(f, str))
    return k if not syms else syms[0] if k == 1 and len(syms) == 1 else (k,) * (k != 1) + tuple(syms)


def dim_size(x: Dim, dims: Mapping[str, int]) -> int:
    """A dimension's size where each symbol has the size `dims` gives it."""
    return math.prod(f if isinstance(f, int) else dims[f] for f in (x if isinstance(x, tuple) else (x,)))


SCALAR = Shape(1, 1)


@dataclass(frozen=True)
class VarInfo:
    """What the kernel needs to know of a declared (or pattern) variable."""

    shape: Shape
    constant: bool = False
    symmetric: bool = False
    invertible: bool = False


Env = Mapping[str, VarInfo]


def _error(message: str, span: Span, help: str = "") -> ProveError:
    return ProveError("shape-error", message, span, help)


def _unify(a: Dim | None, b: Dim | None) -> tuple[bool, Dim | None]:
    return (True, b) if a is None else (True, a) if b is None or a == b else (False, None)


def _square(s: Shape, whole: Expr, operand: Expr, what: str) -> Shape:
    ok, n = _unify(s.rows, s.cols)
    if not ok:
        raise _error(f"{show(whole)}: {show(operand)} is {s}, {what} needs a square matrix", whole.span)
    return Shape(n, n, True)


def shape_of(e: Expr, env: Env) -> Shape:
    """The shape of e, or a shape-error naming the operator, the shapes and the span.

    >>> env = {"a": VarInfo(Shape("n", 1)), "X": VarInfo(Shape("n", "n"))}
    >>> from .parser import parse
    >>> str(shape_of(parse("a^T X a"), env))
    '1×1'
    >>> shape_of(parse("tr(a^T X)"), env)
    Traceback (most recent call last):
    prover.kernel.errors.ProveError: tr(a^T X): a^T X is 1×n, trace needs a square matrix
    """
    key = tuple(zip(names := symbols(e), map(env.get, names)))  # all of env that e's shape reads
    if (memo := e.__dict__.get("_shape")) is None or memo[0] != key:  # remembered on the node itself
        e.__dict__["_shape"] = memo = (key, _bracket(e.args, env, {}, e) if isinstance(e, Mul) else (_infer(e, env), 0))
    return memo[1][0]  # type: ignore[index]  # with `whole`, _bracket never gives None


def _infer(e: Expr, env: Env) -> Shape:
    if isinstance(e, Num):
        return Shape(None, None) if e.value == 0 else SCALAR
    if isinstance(e, Ident):
        return Shape(None, None, True)
    if isinstance(e, Sym):
        if (info := env.get(e.name)) is not None:
            return info.shape
        help = (f"numbers have no exponent part, so 1{e.name} reads as 1·{e.name}; write the "
                "number out" if re.fullmatch(r"[eE]\d+", e.name) else
                f"declare it under `variables:`, e.g. {e.name}: {{shape: [n, n]}}")
        raise ProveError("undeclared", f"{e.name} is not a declared variable", e.span, help)
    if isinstance(e, Add):  # left to right: the first mismatch is the one reported
        acc = shape_of(e.args[0], env)
        for t in e.args[1:]:
            acc = _sum(acc, shape_of(t, env), t, e)
        return acc
    if isinstance(e, (Had, Kron)):
        a, b = shape_of(e.left, env), shape_of(e.right, env)
        if isinstance(e, Had):
            return _sum(a, b, e.right, e, ("take the Hadamard product of", "both factors of ∘ share one shape"))
        a, b = _fixed(a, e, e.left), _fixed(b, e, e.right)
        return Shape(dim_times(a.rows, b.rows), dim_times(a.cols, b.cols))  # type: ignore[arg-type]
    if isinstance(e, Div):
        top, den = shape_of(e.num, env), shape_of(e.den, env)
        if not den.scalar:
            raise _error(f"{show(e)}: '/' divides by a scalar, but {show(e.den)} is {den}",
                         e.den.span, "only a 1×1 expression can stand after '/'")
        return top
    if not isinstance(e, (Neg, T, Inv, Pow, Func)):
        raise TypeError(type(e).__name__)
    s = shape_of(e.arg, env)
    if isinstance(e, Neg) or isinstance(e, Func) and e.name == "d":
        return s
    if isinstance(e, T):
        return Shape(s.cols, s.rows, s.square)
    if isinstance(e, (Inv, Pow)):
        if isinstance(e.arg, Num) and e.arg.value == 0 and (isinstance(e, Inv) or e.k < 0):
            raise _error("0 has no inverse", e.span)
        return _square(s, e, e.arg, "an inverse" if isinstance(e, Inv) else "a power")
    if e.name in ELEMENTWISE or e.name in ("vec", "diag", "sum"):
        s = _fixed(s, e, e.arg)
        if e.name == "diag" and s.cols != 1:
            raise _error(f"{show(e)}: {show(e.arg)} is {s}, diag needs a column vector", e.span)
        return {"vec": Shape(dim_times(s.rows, s.cols), 1), "sum": SCALAR,  # type: ignore[arg-type]
                "diag": Shape(s.rows, s.rows, True)}.get(e.name, s)
    _fixed(_square(s, e, e.arg, "trace" if e.name == "tr" else "determinant"), e, e.arg)
    return SCALAR


def _fixed(s: Shape, whole: Expr, part: Expr) -> Shape:
    if s.rows is None or s.cols is None:
        raise _error(f"{show(whole)}: the size of {show(part)} is not fixed by anything", whole.span,
                     "an I or 0 needs a neighbour that fixes its size")
    return s


def _sum(acc: Shape, s: Shape, term: Expr, whole: Expr,
         say: tuple[str, str] = ("add", "terms of a sum share one shape")) -> Shape:
    (ok_r, r), (ok_c, c) = _unify(acc.rows, s.rows), _unify(acc.cols, s.cols)
    if not (ok_r and ok_c):
        raise _error(f"{show(whole)}: cannot {say[0]} a {acc} matrix and {show(term)}, which is {s}",
                     term.span, say[1])
    acc = Shape(r, c, acc.square or s.square)
    return _square(acc, whole, whole, "a sum with I") if acc.square else acc


def _product(a: Shape, b: Shape) -> Shape | None:
    """The shape of a product of an a and a b (a 1×1 scales anything), or None."""
    if a.scalar or b.scalar:
        return b if a.scalar else a
    if a.rows is None and a.cols is None:
        return b if a.square else Shape(None, b.cols)
    if b.rows is None and b.cols is None:
        return a if b.square else Shape(a.rows, None)
    return Shape(a.rows, b.cols) if _unify(a.cols, b.rows)[0] else None


def _bracket(fs: tuple[Expr, ...], env: Env, memo: dict[tuple[int, int], tuple[Shape, int] | None],
             whole: Expr | None = None, i: int = 0, j: int | None = None) -> tuple[Shape, int] | None:
    """The shape of the product fs[i:j] and where it splits into two products: left to right
    when that reads, else the first grouping that does (`X (b^T a)`: a 1×1 group scales X).
    With `whole`, no grouping raises the left-to-right reading's mismatch."""
    j = len(fs) if j is None else j
    if (i, j) not in memo:
        memo[i, j] = (shape_of(fs[i], env), 1) if j - i == 1 else None
        for k in range(j - 1, i, -1):
            left, right = _bracket(fs, env, memo, None, i, k), _bracket(fs, env, memo, None, k, j)
            if left and right and (s := _product(left[0], right[0])) is not None:
                memo[i, j] = (s, k - i)
                break
    if memo[i, j] is None and whole is not None:  # report where the left-to-right reading fails
        n = next(n for n in range(2, len(fs) + 1) if not _bracket(fs, env, memo, None, 0, n))
        # fs[:n - 1] reads (so its memo entry is not None), fs[:n] does not
        acc, s = memo[0, n - 1][0], shape_of(fs[n - 1], env)  # type: ignore[index]
        before, r = show(mul(*fs[:n - 1])), show(fs[n - 1])
        raise _error(f"{before} {r}: {before} is {acc} and {r} is {s}; a product needs the columns on "
                     f"the left ({_d(acc.cols)}) to match the rows on the right ({_d(s.rows)})",
                     whole.span, "a transpose may be missing")
    return memo[i, j]


def split(e: Mul, env: Env) -> int:
    """Where the product e is read as (factors before) times (factors from) this index."""
    shape_of(e, env)
    return e.__dict__["_shape"][1][1]  # type: ignore[no-any-return]


def same_shape(a: Shape, b: Shape) -> bool:
    return _unify(a.rows, b.rows)[0] and _unify(a.cols, b.cols)[0]
