"""Evaluate an expression at concrete dimensions, entry by entry, over a field.

One evaluator serves any field that offers a few operations: integers mod a prime drawn at
random for each check (`ModP`: the random points), Z3 terms (`z3field.Z3Field`: exact
confirmation) and, outside the kernel, exact rationals (witnesses a person can read). The
differential is exact: every value is a truncated Taylor series x + ε·dx + …, and `d(·)` is the
derivative in ε, so `d` of anything, nested `d` included, is the total differential (d²X = 0).

Two interpretations of the functions:
- truth: tr, det, log, d mean what they mean (SPEC §5, "True");
- free: tr, det, log, d are arbitrary functions of their argument's size and value (SPEC §5,
  `algebra`), realised as a keyed hash, so only the ring laws make two sides agree.

A value is a matrix series (`Mat`) or a scalar series c standing for c·I of whatever size the
context fixes (`Lazy`: `I`, `0`, `2`, and every 1×1 value). Wherever a size matters — under a
function, at the comparison — a `Lazy` is materialised at the size shape inference gives the
expression, so `tr(1)` is 1 and `tr(I)` is n. Read next: `truth.py`.
"""
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import reduce
from _blake2 import blake2b  # hashlib without loading OpenSSL (~7 ms of every start)
from itertools import accumulate
from operator import mul as _mul
from random import SystemRandom
from typing import Any, Callable, Iterable, Mapping, cast

from .errors import ProveError
from .expr import Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T, mul, remembered
from .shapes import Env, dim_size, shape_of, split

_OS = SystemRandom()


class Singular(ArithmeticError):
    """A division by zero at this point (a singular matrix, a zero scalar): pick another point."""


class Domain(ArithmeticError):
    """The point is outside a function's domain (log of a non-positive number), or a value has
    a size that does not fit."""


def _is_prime(n: int) -> bool:
    """Miller–Rabin with the first twelve primes as bases: exact below 3.3·10^24. The bases are
    tried as divisors first (of a number above them): that turns most candidates down at once."""
    d, s, bases = n - 1, 0, (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    while d % 2 == 0:
        d, s = d // 2, s + 1
    return n > 2 and all(n % a for a in bases if a < n) and all(pow(a, d, n) in (1, n - 1) or any(
        pow(a, d << r, n) == n - 1 for r in range(1, s)) for a in bases)


def random_prime(bits: int = 61) -> int:
    """A prime drawn from [2^(bits-1), 2^bits) with the operating system's randomness: no text
    can be written against a modulus it cannot know."""
    return next(n for n in iter(lambda: _OS.randrange(1 << (bits - 1), 1 << bits) | 1, 0) if _is_prime(n))


class ModP:
    """Integers modulo a prime drawn at random for each instance."""

    zero, one = 0, 1
    add, sub = (lambda self, a, b: (a + b) % self.p), (lambda self, a, b: (a - b) % self.p)
    mul, neg = (lambda self, a, b: a * b % self.p), (lambda self, a: -a % self.p)
    dot, is_zero = (lambda self, xs, ys: sum(map(_mul, xs, ys)) % self.p), (lambda self, a: a % self.p == 0)

    def __init__(self, p: int | None = None):
        self.p = p or random_prime()
        self.key = _OS.randbytes(16)  # keys the arbitrary functions of `free` evaluation

    def const(self, q: Fraction) -> int:
        return q.numerator * self.recip(q.denominator) % self.p  # Singular if p divides the denominator

    def recip(self, a: int) -> int:
        if a % self.p == 0:
            raise Singular("division by zero")
        return pow(a, -1, self.p)

    def fn(self, name: str, a: int) -> int:
        """An arbitrary function of the value stands in for exp, log, …: agreement for every
        function with f's derivative law implies agreement for f (the converse fails, so a
        difference is never called false)."""
        return self.hash((name, a))

    def hash(self, key: Any) -> int:
        return int.from_bytes(blake2b(repr(key).encode(), key=self.key, digest_size=16).digest(), "big") % self.p


Matrix = list[list[Any]]  # rows of field elements
Series = list[Any]  # a scalar series: coefficients c[0] + ε c[1] + … of field elements


@dataclass(slots=True)
class Mat:
    """A series of matrices c[0] + ε c[1] + … (K+1 coefficients); rows×cols each."""

    c: list[Matrix]
    rows: int
    cols: int


@dataclass(slots=True)
class Lazy:
    """c·I for a scalar series c, of whatever size the context fixes (1×1 values too)."""

    c: Series


Value = Mat | Lazy


class Evaluator:
    """Evaluates trees at one point: `point[name]` is a matrix of field elements, `dpoint[name]`
    the differential's matrix for each varying variable; `dims` the sizes of the dimension
    symbols. Values of subtrees are remembered for this point only."""

    def __init__(self, field: Any, order: int, point: Mapping[str, Matrix],
                 dpoint: Mapping[str, Matrix], env: Env, dims: Mapping[str, int], free: bool = False):
        self.F, self.K, self.point, self.dpoint, self.free = field, order, point, dpoint, free
        self.env, self.dims, self.memo = env, dims, dict[Expr, Value]()
        self._deeper: Evaluator | None = None

    def deeper(self) -> "Evaluator":
        """The evaluator one order up at the same point: `d(e)` to order K needs e to K + 1."""
        self._deeper = self._deeper or Evaluator(self.F, self.K + 1, self.point, self.dpoint,
                                                 self.env, self.dims, self.free)
        return self._deeper

    def size(self, e: Expr) -> tuple[int, int] | None:
        """e's concrete size at these dimensions (None where nothing fixes it)."""
        try:
            s = shape_of(e, self.env)
        except ProveError as exc:
            raise Domain(exc.diag.message) from None
        return None if s.rows is None or s.cols is None else (dim_size(s.rows, self.dims), dim_size(s.cols, self.dims))

    def eye(self, v: Value, r: int, c: int) -> Mat:
        """v as an r×c matrix: a matrix as it is, c·I written out (only 0 may be non-square)."""
        if isinstance(v, Mat):
            return v
        if r != c and not all(self.F.is_zero(x) for x in v.c):
            raise Domain(f"a multiple of I cannot be {r}×{c}")
        return Mat([[[x if i == j else self.F.zero for j in range(c)] for i in range(r)] for x in v.c], r, c)

    def full(self, v: Value, e: Expr, other: Expr | None = None) -> Mat:
        """v as a matrix of e's size (or, where nothing fixes it, `other`'s: the other side of
        an equation; a c·I that nothing sizes is compared as c)."""
        return self.eye(v, *(self.size(e) or (other is not None and self.size(other)) or (1, 1)))

    def _value_of(self, c: list[Matrix], rows: int, cols: int) -> Value:
        """A matrix series; a 1×1 one becomes the scalar it is."""
        return Lazy([m[0][0] for m in c]) if rows == cols == 1 else Mat(c, rows, cols)

    # scalar series ------------------------------------------------------------------------
    def s_mul(self, a: Series, b: Series) -> Series:
        return [self.F.dot(a[:k + 1], b[k::-1]) for k in range(self.K + 1)]

    def s_recip(self, a: Series) -> Series:
        F, b = self.F, [self.F.recip(a[0])]
        for k in range(1, self.K + 1):  # Σ_j a_j b_(k-j) = 0 for k > 0
            b.append(F.neg(F.mul(b[0], F.dot(a[1:k + 1], b[::-1]))))
        return b

    def s_fn(self, name: str, a: Series) -> Series:
        """f(a) for an entrywise f known by its value at a[0] only (an arbitrary function of it,
        `field.fn`) and by its derivative law f' = g(f, a): then k·y_k = Σ_j j·a_j·g_(k-j)."""
        F, y = self.F, [self.F.fn(name, a[0])] + [self.F.zero] * self.K
        for k in range(1, self.K + 1):  # g to order k - 1 needs y to order k - 1 only
            g = {"exp": lambda: y, "log": lambda: self.s_recip(a),
                 "sqrt": lambda: self.s_recip([F.add(x, x) for x in y]),
                 "sigmoid": lambda: [F.sub(p, q) for p, q in zip(y, self.s_mul(y, y))],
                 "tanh": lambda: [F.sub(F.one if i == 0 else F.zero, q) for i, q in enumerate(self.s_mul(y, y))]}[name]()
            y[k] = F.mul(F.const(Fraction(1, k)), F.dot([F.mul(F.const(Fraction(j)), a[j]) for j in range(1, k + 1)],
                                                      g[k - 1::-1]))
        return y

    # matrices ------------------------------------------------------------------------------
    def zeros(self, r: int, c: int) -> Matrix:
        return [[self.F.zero] * c for _ in range(r)]

    def mm(self, a: Matrix, b: Matrix) -> Matrix:
        return [[self.F.dot(row, col) for col in zip(*b)] for row in a]

    def madd(self, a: Matrix, b: Matrix) -> Matrix:
        return [[self.F.add(x, y) for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]

    def mscale(self, s: Any, a: Matrix) -> Matrix:
        return [[self.F.mul(s, x) for x in row] for row in a]

    def msum(self, ms: Iterable[Matrix], r: int, c: int) -> Matrix:
        """zeros(r, c) + ms[0] + ms[1] + …, added in that order."""
        return reduce(self.madd, ms, self.zeros(r, c))

    def gauss(self, a: Matrix, inverse: bool = True) -> tuple[Any, Matrix | None]:
        """Gauss–Jordan over a field with a zero test: the determinant, and the inverse (None
        when the matrix is singular; the rows below the pivots only, without `inverse`)."""
        F, n, det = self.F, len(a), self.F.one
        m = [list(row) + [F.one if i == j else F.zero for j in range(n * inverse)] for i, row in enumerate(a)]
        for col in range(n):
            piv = next((r for r in range(col, n) if not F.is_zero(m[r][col])), None)
            if piv is None:
                return F.zero, None
            if piv != col:
                m[col], m[piv], det = m[piv], m[col], F.neg(det)
            det, inv = F.mul(det, m[col][col]), F.recip(m[col][col])
            m[col] = [F.mul(inv, x) for x in m[col]]
            for r in range(0 if inverse else col + 1, n):
                if r != col and not F.is_zero(f := m[r][col]):
                    m[r] = [F.sub(x, F.mul(f, y)) for x, y in zip(m[r], m[col])]
        return det, [row[n:] for row in m]

    def minv(self, a: Matrix) -> Matrix:
        if (inverse := self.gauss(a)[1]) is None:
            raise Singular("singular matrix")
        return inverse

    def s_det(self, c: list[Matrix]) -> Series:
        """The determinant of a square matrix series, as a scalar series."""
        F, K, n = self.F, self.K, len(c[0])
        # det(A0 + εA1 + … + εᴷAK) is a polynomial in ε of degree ≤ nK: its coefficients solve
        # the Vandermonde system of its values at nK + 1 points
        xs = [F.const(Fraction(t)) for t in range(n * K + 1)]
        values = [[self.gauss(self.msum(map(self.mscale, accumulate([F.one] + [x] * K, F.mul), c), n, n), False)[0]]
                  for x in xs]
        return [row[0] for row in self.mm(self.minv([list(accumulate([F.one] + [x] * n * K, F.mul)) for x in xs]), values)][:K + 1]

    # the evaluator ---------------------------------------------------------------------------
    def value(self, e: Expr) -> Value:
        return remembered(self.memo, e, lambda: self._eval(e))

    def _eval(self, e: Expr) -> Value:
        F, K = self.F, self.K
        if isinstance(e, (Num, Ident)):
            return Lazy([F.const(e.value) if isinstance(e, Num) else F.one] + [F.zero] * K)
        if isinstance(e, Sym):
            x = self.point[e.name]
            r, c = len(x), len(x[0])
            tail = [self.dpoint.get(e.name) or self.zeros(r, c)] * (K > 0) + [self.zeros(r, c)] * (K - 1)
            return self._value_of([x] + tail, r, c)
        if isinstance(e, Neg):
            return self.scale([F.neg(F.one)] + [F.zero] * K, self.value(e.arg))
        if isinstance(e, Add):
            return reduce(self.plus, map(self.value, e.args[1:]), self.value(e.args[0]))
        if isinstance(e, Mul):  # as shapes read it: through the prefix when that reads
            k = split(e, self.env)
            return self.times(self.value(mul(*e.args[:k])), self.value(mul(*e.args[k:])))
        if isinstance(e, Div):
            if not isinstance(den := self.value(e.den), Lazy):
                raise Domain(f"{e.den} is not a scalar")
            return self.scale(self.s_recip(den.c), self.value(e.num))
        if isinstance(e, T):
            v = self.value(e.arg)
            return v if isinstance(v, Lazy) else Mat([[list(col) for col in zip(*m)] for m in v.c], v.cols, v.rows)
        if isinstance(e, (Inv, Pow)):
            return self.power(self.value(e.arg), -1 if isinstance(e, Inv) else e.k)
        if isinstance(e, Func) and e.name == "d" and not self.free:
            v = self.deeper().value(e.arg)  # coefficient k of d(e) is (k + 1)·(coefficient k + 1)
            n = [F.const(Fraction(k + 1)) for k in range(K + 1)]
            by = F.mul if isinstance(v, Lazy) else self.mscale
            return replace(v, c=[by(n[k], v.c[k + 1]) for k in range(K + 1)])
        if isinstance(e, (Had, Kron)):  # ∘ at its own size (I ∘ X), ⊗ at its factors' sizes
            a, b = (self.full(self.value(x), e if isinstance(e, Had) else x) for x in (e.left, e.right))
            if isinstance(e, Had) and (a.rows, a.cols) != (b.rows, b.cols):
                raise Domain(f"a {a.rows}×{a.cols} ∘ a {b.rows}×{b.cols} matrix")
            if isinstance(e, Had):
                return self.entries(lambda i, j: self.s_mul(_entry(a, i, j), _entry(b, i, j)), a.rows, a.cols)
            return self.entries(lambda i, j: self.s_mul(_entry(a, i // b.rows, j // b.cols),
                                                        _entry(b, i % b.rows, j % b.cols)), a.rows * b.rows, a.cols * b.cols)
        if isinstance(e, Func):
            if self.free and self.size(e.arg) is None:  # d(x I): a function of a matrix whose size
                raise Domain("an argument sized only from outside")  # only its neighbours fix
            v = self.full(self.value(e.arg), e.arg)
            if self.free:  # tr, d, det, vec, diag, sum and f(·) arbitrary; ∘ and ⊗ are arithmetic
                return self.free_func(e.name, v, *(self.size(e) or (v.rows, v.cols)))
            if e.name in ("tr", "det", "sum"):
                return Lazy(self.s_det(v.c) if e.name == "det" else [reduce(F.add, [
                    x for i, row in enumerate(m) for j, x in enumerate(row) if e.name == "sum" or i == j], F.zero) for m in v.c])
            if e.name in ("vec", "diag"):  # columns stacked; a column on the diagonal
                return self.entries(lambda i, j: _entry(v, i % v.rows, i // v.rows), v.rows * v.cols, 1) if (
                    e.name == "vec") else self.entries(lambda i, j: _entry(v, i, 0) if i == j else [F.zero] * (K + 1),
                                                        v.rows, v.rows)
            return self.entries(lambda i, j: self.s_fn(e.name, _entry(v, i, j)), v.rows, v.cols)
        raise TypeError(type(e).__name__)

    def entries(self, f: Callable[[int, int], Series], rows: int, cols: int) -> Value:
        """The rows×cols value whose entry (i, j) is the scalar series f(i, j)."""
        grid = [[f(i, j) for j in range(cols)] for i in range(rows)]
        return self._value_of([[[x[k] for x in row] for row in grid] for k in range(self.K + 1)], rows, cols)

    def free_func(self, name: str, v: Mat, rows: int, cols: int) -> Value:
        """An arbitrary function of the argument's size and entries, of the given size (no
        series in this mode: `Context.evaluator` makes free evaluators at order 0 only)."""
        key = (name, v.rows, v.cols, tuple(x for row in v.c[0] for x in row))
        return self._value_of([[[self.F.hash((key, i, j)) for j in range(cols)] for i in range(rows)]], rows, cols)

    def scale(self, s: Series, v: Value) -> Value:
        if isinstance(v, Lazy):
            return Lazy(self.s_mul(s, v.c))
        return Mat([self.msum((self.mscale(s[i], v.c[k - i]) for i in range(k + 1)), v.rows, v.cols)
                    for k in range(self.K + 1)], v.rows, v.cols)

    def plus(self, a: Value, b: Value) -> Value:
        if isinstance(a, Lazy) and isinstance(b, Lazy):
            return Lazy([self.F.add(x, y) for x, y in zip(a.c, b.c)])
        a, b = (self.eye(x, y.rows, y.cols) if isinstance(x, Lazy) else x for x, y in ((a, b), (b, a)))  # type: ignore[union-attr]
        if (a.rows, a.cols) != (b.rows, b.cols):
            raise Domain(f"a {a.rows}×{a.cols} plus a {b.rows}×{b.cols} matrix")
        return Mat([self.madd(x, y) for x, y in zip(a.c, b.c)], a.rows, a.cols)

    def times(self, a: Value, b: Value) -> Value:
        for x in (a, b):  # 0 times anything: a zero whose size the context fixes (`X^T 0`)
            if isinstance(x, Lazy) and all(self.F.is_zero(y) for y in x.c):
                return x
        if isinstance(a, Lazy) or isinstance(b, Lazy):
            return self.scale(a.c, b) if isinstance(a, Lazy) else self.scale(b.c, a)
        if a.cols != b.rows:
            raise Domain(f"a {a.rows}×{a.cols} times a {b.rows}×{b.cols} matrix")
        # coefficient k of the product is Σ_i a_i b_(k-i): [a_0 … a_k] times b_k, …, b_0 stacked
        return self._value_of([self.mm([[x for i in range(k + 1) for x in a.c[i][r]] for r in range(a.rows)],
                                       [row for i in range(k + 1) for row in b.c[k - i]])
                               for k in range(self.K + 1)], a.rows, b.cols)

    def power(self, v: Value, k: int) -> Value:
        F = self.F
        if k < 0 and isinstance(v, Lazy):
            v = Lazy(self.s_recip(v.c))
        elif k < 0 and isinstance(v, Mat):
            if (n := v.rows) != v.cols:
                raise Domain("the inverse of a non-square matrix")
            b = [self.minv(v.c[0])]
            for j in range(1, self.K + 1):  # Σ_i A_i B_(j-i) = 0 for j > 0
                acc = self.msum((self.mm(v.c[i], b[j - i]) for i in range(1, j + 1)), n, n)
                b.append(self.mscale(F.neg(F.one), self.mm(b[0], acc)))
            v = Mat(b, v.rows, v.cols)
        return reduce(self.times, [v] * abs(k), cast(Value, Lazy([F.one] + [F.zero] * self.K)))


def _entry(v: Mat, i: int, j: int) -> Series:
    """Entry (i, j) of a matrix series, as a scalar series."""
    return [m[i][j] for m in v.c]


def equal_values(a: Mat, b: Mat, F: Any) -> bool:
    """Every entry compared: two materialised values of one size."""
    return (a.rows, a.cols) == (b.rows, b.cols) and all(
        F.is_zero(F.sub(x, y)) for ra, rb in zip(a.c[0], b.c[0]) for x, y in zip(ra, rb))
