"""Evaluate an expression at concrete dimensions, entry by entry, over a field.

One evaluator serves three fields: integers mod a large prime (fast random checks), exact
rationals (counterexamples a person can read) and Z3 terms (exact confirmation). The
differential is exact: every value is a truncated Taylor series x + ε·dx + …, and `d(·)` is the
derivative in ε, so `d` of anything, nested `d` included, is the total differential with d²X = 0.

Two interpretations of the functions:
- `truth`: tr, det, log, d mean what they mean (SPEC §5, "True").
- `free`: tr, det, log, d are arbitrary functions of their argument's value (SPEC §5, `algebra`),
  realised as a keyed hash of the argument's entries, so only the ring laws make two sides agree.

`I` and `0` are lazy values c·I whose size the neighbours fix. Read next: `truth.py`.
"""
from __future__ import annotations

from fractions import Fraction
from operator import mul as _mul
from typing import Any, Callable, Mapping

from .expr import Add, Div, Expr, Func, Ident, Inv, Mul, Neg, Num, Pow, Sym, T, mul

P = (1 << 61) - 1  # a Mersenne prime: Schwartz–Zippel error ≤ degree / P per point


class Singular(ArithmeticError):
    """A division by zero at this point (a singular matrix, a zero scalar): pick another point."""


class Domain(ArithmeticError):
    """The point is outside the function's domain (log of a non-positive number)."""


# -- fields ---------------------------------------------------------------------------------
class ModP:
    name = "modp"
    zero, one = 0, 1

    @staticmethod
    def const(q: Fraction) -> int:
        return q.numerator % P * pow(q.denominator, -1, P) % P

    @staticmethod
    def add(a, b):
        return (a + b) % P

    @staticmethod
    def sub(a, b):
        return (a - b) % P

    @staticmethod
    def mul(a, b):
        return a * b % P

    @staticmethod
    def neg(a):
        return -a % P

    @staticmethod
    def dot(xs, ys):
        return sum(map(_mul, xs, ys)) % P

    @staticmethod
    def recip(a):
        if a % P == 0:
            raise Singular("division by zero")
        return pow(a, -1, P)

    @staticmethod
    def is_zero(a) -> bool:
        return a % P == 0

    @staticmethod
    def log(a):
        # A generic function stands in for log: agreement for every function implies agreement
        # for log. (The converse fails, so a disagreement here is re-checked over the reals.)
        if a % P == 0:
            raise Domain("log of 0")
        return hash_to_field(("log", a))

    @staticmethod
    def eq(a, b) -> bool:
        return (a - b) % P == 0


class QQ:
    name = "rational"
    zero, one = Fraction(0), Fraction(1)
    const = staticmethod(Fraction)
    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    mul = staticmethod(lambda a, b: a * b)
    neg = staticmethod(lambda a: -a)

    @staticmethod
    def dot(xs, ys):
        return sum(map(_mul, xs, ys), Fraction(0))

    @staticmethod
    def recip(a):
        if a == 0:
            raise Singular("division by zero")
        return 1 / a

    @staticmethod
    def is_zero(a) -> bool:
        return a == 0

    @staticmethod
    def log(a):
        if a <= 0:
            raise Domain("log of a non-positive number")
        return Irrational()

    @staticmethod
    def eq(a, b) -> bool:
        return a == b


class NeedsReals(Exception):
    """Raised where an irrational value (a log) enters rational arithmetic."""


class Irrational:
    """log of a rational, as the rational field's stand-in: harmless while a `d` discards it,
    and any arithmetic on it asks for the real field instead."""

    def _no(self, *args):
        raise NeedsReals("log")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _no
    __rtruediv__ = __neg__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _no
    __hash__ = None


class Reals:
    """High-precision floats (mpmath), used only to show and confirm counterexamples with log."""

    name = "real"

    def __init__(self):
        import mpmath

        self.mp = mpmath.mp.clone() if hasattr(mpmath.mp, "clone") else mpmath.mp
        self.mp.dps = 50
        self.zero, self.one = self.mp.mpf(0), self.mp.mpf(1)

    def const(self, q: Fraction):
        return self.mp.mpf(q.numerator) / q.denominator

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    mul = staticmethod(lambda a, b: a * b)
    neg = staticmethod(lambda a: -a)

    def dot(self, xs, ys):
        return sum(map(_mul, xs, ys), self.zero)

    def recip(self, a):
        if abs(a) < self.mp.mpf(10) ** -40:
            raise Singular("division by zero")
        return 1 / a

    def is_zero(self, a) -> bool:
        return abs(a) < self.mp.mpf(10) ** -40

    def log(self, a):
        if a <= 0:
            raise Domain("log of a non-positive number")
        return self.mp.log(a)

    def eq(self, a, b) -> bool:
        return abs(a - b) <= self.mp.mpf(10) ** -30 * (1 + abs(a) + abs(b))


def hash_to_field(key: Any) -> int:
    """A deterministic pseudo-random element of F_P for a hashable key of ints and strings."""
    h = hash(repr(key)) & ((1 << 64) - 1)
    h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15 & ((1 << 64) - 1)
    h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9 & ((1 << 64) - 1)
    return (h ^ (h >> 32)) % P


# -- values: truncated series of matrices, or a lazy c·I --------------------------------------
class Mat:
    """A series of matrices c[0] + ε c[1] + … (K+1 coefficients); rows×cols each."""

    __slots__ = ("c", "rows", "cols")

    def __init__(self, c: list[list[list[Any]]], rows: int, cols: int):
        self.c, self.rows, self.cols = c, rows, cols


class Lazy:
    """c·I for a scalar series c, with no size of its own (`I`, `0`, `2 I`)."""

    __slots__ = ("c",)

    def __init__(self, c: list[Any]):
        self.c = c


Value = Mat | Lazy


class Evaluator:
    """Evaluates trees at one point. `point[name]` is a matrix of field elements; `dpoint[name]`
    the differential's matrix for each varying variable (absent for constants)."""

    def __init__(self, field: Any, order: int, point: Mapping[str, list[list[Any]]],
                 dpoint: Mapping[str, list[list[Any]]], free: bool = False,
                 hook: Callable[[str, Any], None] | None = None):
        self.F, self.K, self.point, self.dpoint, self.free = field, order, point, dpoint, free
        self.hook = hook  # told of every denominator and log argument (Z3 adds side conditions)
        self.memo: dict[Expr, tuple[Value, tuple]] = {}
        self._deeper: Evaluator | None = None
        # Side conditions the hook produced, in order; each memo entry keeps the ones its own
        # evaluation needed, so a reused subterm brings its conditions along and no other's.
        self.collected: list = []

    def deeper(self) -> "Evaluator":
        """The evaluator one order up, at the same point: `d(e)` to order K needs e to order
        K + 1. So a tree is carried only as far as the `d`s around each subterm require (most of
        a step after the differentials are pushed in needs no series at all)."""
        if self._deeper is None:
            ev = Evaluator(self.F, self.K + 1, self.point, self.dpoint, self.free, self.hook)
            ev.collected = self.collected  # one list of side conditions for the whole tree
            self._deeper = ev
        return self._deeper

    # scalar series ------------------------------------------------------------------------
    def s_mul(self, a: list, b: list) -> list:
        F = self.F
        out = []
        for k in range(self.K + 1):
            acc = F.zero
            for i in range(k + 1):
                acc = F.add(acc, F.mul(a[i], b[k - i]))
            out.append(acc)
        return out

    def s_recip(self, a: list) -> list:
        F = self.F
        if self.hook:
            self.hook("nonzero", a[0])
        b0 = F.recip(a[0])
        b = [b0]
        for k in range(1, self.K + 1):
            acc = F.zero
            for j in range(1, k + 1):
                acc = F.add(acc, F.mul(a[j], b[k - j]))
            b.append(F.neg(F.mul(b0, acc)))
        return b

    def s_log(self, a: list) -> list:
        F = self.F
        if self.hook:
            self.hook("positive", a[0])
        head = F.log(a[0])
        u = self.s_mul(a, [F.recip(a[0])] + [F.zero] * self.K)
        u[0] = F.zero
        out = [F.zero] * (self.K + 1)
        power = [F.one] + [F.zero] * self.K
        for m in range(1, self.K + 1):
            power = self.s_mul(power, u)
            coef = F.const(Fraction((-1) ** (m + 1), m))
            out = [F.add(o, F.mul(coef, p)) for o, p in zip(out, power)]
        out[0] = head  # set last: over the rationals it is an Irrational that d may drop
        return out

    # matrix helpers ------------------------------------------------------------------------
    def zeros(self, r: int, c: int) -> list[list[Any]]:
        return [[self.F.zero] * c for _ in range(r)]

    def mm(self, a, b):
        dot = self.F.dot
        cols = list(zip(*b))
        return [[dot(row, col) for col in cols] for row in a]

    def madd(self, a, b):
        F = self.F
        return [[F.add(x, y) for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]

    def mscale(self, s, a):
        F = self.F
        return [[F.mul(s, x) for x in row] for row in a]

    def as_series(self, v: Value, rows: int, cols: int) -> list:
        if isinstance(v, Mat):
            return v.c
        F = self.F
        return [[[c if i == j else F.zero for j in range(cols)] for i in range(rows)] for c in v.c]

    def minv(self, a):
        """Gauss–Jordan inverse; Z3 (no decidable zero test) uses the adjugate instead."""
        F, n = self.F, len(a)
        if getattr(F, "symbolic", False):
            return F.inverse(a, self)
        m = [list(row) + [F.one if i == j else F.zero for j in range(n)] for i, row in enumerate(a)]
        for col in range(n):
            piv = next((r for r in range(col, n) if not F.is_zero(m[r][col])), None)
            if piv is None:
                raise Singular("singular matrix")
            m[col], m[piv] = m[piv], m[col]
            inv = F.recip(m[col][col])
            m[col] = [F.mul(inv, x) for x in m[col]]
            for r in range(n):
                if r != col and not F.is_zero(m[r][col]):
                    f = m[r][col]
                    m[r] = [F.sub(x, F.mul(f, y)) for x, y in zip(m[r], m[col])]
        return [row[n:] for row in m]

    def s_det(self, c: list) -> list:
        """Determinant of a square matrix series, as a scalar series (Leibniz / Laplace)."""
        n = len(c[0])
        if not getattr(self.F, "symbolic", False) and n > 3:
            return self._det_interpolated(c)
        entries = [[[c[k][i][j] for k in range(self.K + 1)] for j in range(n)] for i in range(n)]
        return self._det_laplace(entries)

    def _plain_det(self, m: list) -> Any:
        """Gaussian elimination over a field with a decidable zero; 0 for a singular matrix."""
        F = self.F
        m = [list(row) for row in m]
        n = len(m)
        det = F.one
        for col in range(n):
            piv = next((r for r in range(col, n) if not F.is_zero(m[r][col])), None)
            if piv is None:
                return F.zero
            if piv != col:
                m[col], m[piv] = m[piv], m[col]
                det = F.neg(det)
            det = F.mul(det, m[col][col])
            inv = F.recip(m[col][col])
            for r in range(col + 1, n):
                if not F.is_zero(m[r][col]):
                    f = F.mul(m[r][col], inv)
                    m[r] = [F.sub(x, F.mul(f, y)) for x, y in zip(m[r], m[col])]
        return det

    def _det_interpolated(self, c: list) -> list:
        """det(A0 + εA1 + … + εᴷAK) is a polynomial in ε of degree ≤ nK: evaluate it at nK + 1
        points and interpolate (Newton's divided differences), keeping the first K + 1
        coefficients. Polynomial time, and no pivoting on series."""
        F, K, n = self.F, self.K, len(c[0])
        if K == 0:
            return [self._plain_det(c[0])]
        xs = [F.const(Fraction(t)) for t in range(n * K + 1)]
        ys = []
        for x in xs:
            m = [[F.zero] * n for _ in range(n)]
            power = F.one
            for k in range(K + 1):
                for i in range(n):
                    row, src = m[i], c[k][i]
                    for j in range(n):
                        row[j] = F.add(row[j], F.mul(power, src[j]))
                power = F.mul(power, x)
            ys.append(self._plain_det(m))
        coef = list(ys)  # divided differences, in place
        for level in range(1, len(xs)):
            for i in range(len(xs) - 1, level - 1, -1):
                coef[i] = F.mul(F.sub(coef[i], coef[i - 1]), F.recip(F.sub(xs[i], xs[i - level])))
        poly = [F.zero] * len(xs)  # Newton form to monomials (Horner)
        for i in range(len(xs) - 1, -1, -1):
            shifted = [F.zero] + poly[:-1]
            scaled = [F.mul(xs[i], p) for p in poly]
            poly = [F.sub(a, b) for a, b in zip(shifted, scaled)]
            poly[0] = F.add(poly[0], coef[i])
        return poly[:K + 1]

    def _det_laplace(self, m: list) -> list:
        F = self.F
        n = len(m)
        if n == 1:
            return m[0][0]
        acc = [F.zero] * (self.K + 1)
        for j in range(n):
            minor = [row[:j] + row[j + 1:] for row in m[1:]]
            term = self.s_mul(m[0][j], self._det_laplace(minor))
            acc = [(F.sub if j % 2 else F.add)(x, y) for x, y in zip(acc, term)]
        return acc

    # the evaluator ---------------------------------------------------------------------------
    def value(self, e: Expr) -> Value:
        hit = self.memo.get(e)
        if hit is None and self._deeper is not None:
            # the evaluator one order up may have this subtree: its leading coefficients are
            # this order's value (a series truncated further is the same series)
            up = self._deeper.memo.get(e)
            if up is not None:
                v = up[0]
                v = Lazy(v.c[:self.K + 1]) if isinstance(v, Lazy) else Mat(v.c[:self.K + 1], v.rows, v.cols)
                hit = self.memo[e] = (v, up[1])
        if hit is not None:
            if hit[1]:
                self.collected.extend(hit[1])
            return hit[0]
        start = len(self.collected)
        v = self._eval(e)
        self.memo[e] = (v, tuple(self.collected[start:]))
        return v

    def _eval(self, e: Expr) -> Value:
        F, K = self.F, self.K
        if isinstance(e, Num):
            return Lazy([F.const(e.value)] + [F.zero] * K) if e.value == 0 else \
                Mat([[[F.const(e.value)]]] + [[[F.zero]]] * K, 1, 1)
        if isinstance(e, Ident):
            return Lazy([F.one] + [F.zero] * K)
        if isinstance(e, Sym):
            x = self.point[e.name]
            r, c = len(x), len(x[0])
            coeffs = [x]
            if K:
                dx = self.dpoint.get(e.name)
                coeffs.append(dx if dx is not None else self.zeros(r, c))
                coeffs.extend(self.zeros(r, c) for _ in range(K - 1))
            return Mat(coeffs, r, c)
        if isinstance(e, Neg):
            return self.scale([F.neg(F.one)] + [F.zero] * K, self.value(e.arg))
        if isinstance(e, Add):
            acc = self.value(e.args[0])
            for t in e.args[1:]:
                acc = self.plus(acc, self.value(t))
            return acc
        if isinstance(e, Mul):
            # left to right, through the prefix as a tree of its own: A B C and A B C D (and
            # tr(A B C D), which needs A B C) share the value of A B
            head = e.args[0] if len(e.args) == 2 else mul(*e.args[:-1])
            return self.times(self.value(head), self.value(e.args[-1]))
        if isinstance(e, Div):
            den = self.value(e.den)
            s = den.c if isinstance(den, Lazy) else [m[0][0] for m in den.c]
            return self.scale(self.s_recip(s), self.value(e.num))
        if isinstance(e, T):
            v = self.value(e.arg)
            if isinstance(v, Lazy):
                return v
            return Mat([[list(col) for col in zip(*m)] for m in v.c], v.cols, v.rows)
        if isinstance(e, (Inv, Pow)):
            return self.power(self.value(e.arg), -1 if isinstance(e, Inv) else e.k)
        if isinstance(e, Func):
            if e.name == "d" and not self.free:
                # coefficient k of d(e) is (k + 1) times coefficient k + 1 of e
                v = self.deeper().value(e.arg)
                if isinstance(v, Lazy):
                    return Lazy([F.mul(F.const(Fraction(k + 1)), v.c[k + 1]) for k in range(K + 1)])
                return Mat([v.c[1]] + [self.mscale(F.const(Fraction(k + 1)), v.c[k + 1])
                                       for k in range(1, K + 1)], v.rows, v.cols)
            if e.name == "tr" and not self.free and isinstance(e.arg, (Mul, Add)):
                fast = self._trace_of(e.arg)
                if fast is not None:
                    return fast
            v = self.value(e.arg)
            if self.free:
                return self.free_func(e.name, v)
            if isinstance(v, Lazy):
                if e.name == "log":
                    return Mat([[[x]] for x in self.s_log(v.c)], 1, 1)
                if self.is_zero_lazy(v):  # tr(0) = det(0) = 0 whatever the size
                    return Mat([[[F.zero]] for _ in range(K + 1)], 1, 1)
                raise Singular(f"{e.name} of I of unknown size")
            if e.name == "tr":
                return Mat([[[self._diag_sum(m)]] for m in v.c], 1, 1)
            if e.name == "det":
                return Mat([[[x]] for x in self.s_det(v.c)], 1, 1)
            if e.name == "log":
                return Mat([[[x]] for x in self.s_log([m[0][0] for m in v.c])], 1, 1)
        raise TypeError(type(e).__name__)

    def _trace_of(self, e: Expr) -> Value | None:
        """tr(e) without e's full value where that is cheaper: a product from its diagonal
        (`_trace_of_product`), a sum term by term (tr(P + Q) = tr(P) + tr(Q), each term a
        product again). None where a term has no size of its own (a lazy c·I)."""
        if isinstance(e, Mul):
            return self._trace_of_product(e)
        F, acc = self.F, None
        for t in e.args:
            v = self._trace_of_product(t) if isinstance(t, Mul) else None
            if v is None:
                v = self.value(t)
                if not isinstance(v, Mat) or v.rows != v.cols:
                    return None
                v = Mat([[[self._diag_sum(m)]] for m in v.c], 1, 1)
            acc = v if acc is None else Mat([[[F.add(x[0][0], y[0][0])]] for x, y in zip(acc.c, v.c)], 1, 1)
        return acc

    def _diag_sum(self, m: list) -> Any:
        F = self.F
        acc = F.zero
        for i in range(len(m)):
            acc = F.add(acc, m[i][i])
        return acc

    def _trace_of_product(self, m: Mul) -> Value | None:
        """tr(P B) needs only the diagonal of P B: Σ_i Σ_j P_ij B_ji, n² products where the full
        P B takes n³ (a trace around a product is what most lines of a derivation are). None
        when the last factor does not simply multiply (a lazy c·I, a 1×1 that scales)."""
        a, b = self.value(mul(*m.args[:-1])), self.value(m.args[-1])
        if not (isinstance(a, Mat) and isinstance(b, Mat) and a.cols == b.rows and a.rows == b.cols):
            return None
        F = self.F
        out = []
        for k in range(self.K + 1):
            xs = [x for t in range(k + 1) for row in a.c[t] for x in row]
            ys = [y for t in range(k + 1) for col in zip(*b.c[k - t]) for y in col]
            out.append([[F.dot(xs, ys)]])
        return Mat(out, 1, 1)

    def free_func(self, name: str, v: Value) -> Value:
        if self.K:
            raise ValueError("free functions are evaluated without series")
        key = (name, digest(v))
        if name == "d" and key[1][0] == "lazy":
            return Lazy([hash_to_field(key)])  # equal arguments, equal values, whatever the form
        if name == "d":
            return Mat([[[hash_to_field((key, i, j)) for j in range(v.cols)]
                         for i in range(v.rows)]], v.rows, v.cols)
        return Mat([[[hash_to_field(key)]]], 1, 1)

    def scale(self, s: list, v: Value) -> Value:
        if isinstance(v, Lazy):
            return Lazy(self.s_mul(s, v.c))
        F, K = self.F, self.K
        out = []
        for k in range(K + 1):
            acc = self.zeros(v.rows, v.cols)
            for i in range(k + 1):
                if not (F is ModP and s[i] == 0):
                    acc = self.madd(acc, self.mscale(s[i], v.c[k - i]))
            out.append(acc)
        return Mat(out, v.rows, v.cols)

    def plus(self, a: Value, b: Value) -> Value:
        F = self.F
        if isinstance(a, Lazy) and isinstance(b, Lazy):
            return Lazy([F.add(x, y) for x, y in zip(a.c, b.c)])
        if isinstance(a, Lazy):
            a, b = b, a
        if isinstance(b, Lazy):
            bc = self.as_series(b, a.rows, a.cols)
            return Mat([self.madd(x, y) for x, y in zip(a.c, bc)], a.rows, a.cols)
        return Mat([self.madd(x, y) for x, y in zip(a.c, b.c)], a.rows, a.cols)

    def is_zero_lazy(self, v: Value) -> bool:
        return isinstance(v, Lazy) and all(self.F.is_zero(x) for x in v.c)

    def times(self, a: Value, b: Value) -> Value:
        # 0 times anything is a zero whose size the context fixes (`X^T 0` need not be X's shape)
        if self.is_zero_lazy(a) or self.is_zero_lazy(b):
            return Lazy([self.F.zero] * (self.K + 1))
        if isinstance(a, Lazy) and isinstance(b, Mat) and b.rows == b.cols == 1:
            return Lazy(self.s_mul(a.c, [m[0][0] for m in b.c]))  # (c I) s = (c s) I
        if isinstance(b, Lazy) and isinstance(a, Mat) and a.rows == a.cols == 1:
            return Lazy(self.s_mul([m[0][0] for m in a.c], b.c))
        if isinstance(a, Lazy):
            return self.scale(a.c, b)
        if isinstance(b, Lazy):
            return self.scale(b.c, a)
        if a.rows == 1 and a.cols == 1 and not (b.rows == 1):
            return self.scale([m[0][0] for m in a.c], b)
        if b.rows == 1 and b.cols == 1 and not (a.cols == 1):
            return self.scale([m[0][0] for m in b.c], a)
        # coefficient k of the product is Σ_i a_i b_(k-i): each entry is one long dot product
        dot = self.F.dot
        if self.K == 0:
            cols = list(zip(*b.c[0]))
            return Mat([[[dot(row, col) for col in cols] for row in a.c[0]]], a.rows, b.cols)
        out = []
        for k in range(self.K + 1):
            rows = [[x for i in range(k + 1) for x in a.c[i][r]] for r in range(a.rows)]
            cols = [[y for part in col for y in part] for col in
                    zip(*[list(zip(*b.c[k - i])) for i in range(k + 1)])]
            out.append([[dot(row, col) for col in cols] for row in rows])
        return Mat(out, a.rows, b.cols)

    def power(self, v: Value, k: int) -> Value:
        F = self.F
        if k < 0:
            if isinstance(v, Lazy):
                v = Lazy(self.s_recip(v.c))
            else:
                if self.hook:
                    self.hook("invertible", v.c[0])
                b0 = self.minv(v.c[0])
                b = [b0]
                for j in range(1, self.K + 1):
                    acc = self.zeros(v.rows, v.rows)
                    for i in range(1, j + 1):
                        acc = self.madd(acc, self.mm(v.c[i], b[j - i]))
                    b.append(self.mscale(F.neg(F.one), self.mm(b0, acc)))
                v = Mat(b, v.rows, v.cols)
            k = -k
        if isinstance(v, Lazy):
            out = [F.one] + [F.zero] * self.K
            for _ in range(k):
                out = self.s_mul(out, v.c)
            return Lazy(out)
        if k == 0:
            return Lazy([F.one] + [F.zero] * self.K)
        acc: Value = v
        for _ in range(k - 1):
            acc = self.times(acc, v)
        return acc


def entries(v: Value, rows: int | None = None, cols: int | None = None, F: Any = ModP) -> list:
    """The value at ε = 0 as a list of rows (a lazy c·I materialised at rows×cols)."""
    if isinstance(v, Mat):
        return v.c[0]
    n = rows if rows is not None else 1
    m = cols if cols is not None else n
    return [[v.c[0] if i == j else F.zero for j in range(m)] for i in range(n)]


def same_value(a: Value, b: Value, F: Any) -> bool:
    if isinstance(a, Lazy) and isinstance(b, Lazy):
        return F.eq(a.c[0], b.c[0])
    if isinstance(a, Lazy):
        a, b = b, a
    if isinstance(b, Lazy):
        if a.rows != a.cols and not F.is_zero(b.c[0]):
            return False
        b = Mat([entries(b, a.rows, a.cols, F)], a.rows, a.cols)
    if (a.rows, a.cols) != (b.rows, b.cols):
        return False
    return all(F.eq(x, y) for ra, rb in zip(a.c[0], b.c[0]) for x, y in zip(ra, rb))


def digest(v: Value) -> tuple:
    """A hashable fingerprint of a ModP value (used as an algebra key in search). A zero matrix
    and c·I fingerprint like the lazy `0` and `c I`: in a well-shaped position they are equal."""
    if isinstance(v, Lazy):
        return ("lazy", v.c[0])
    if all(x == 0 for row in v.c[0] for x in row):
        return ("lazy", 0)
    if v.rows == v.cols:
        # c·I must fingerprint like the lazy c·I, so `I` and an explicit identity meet.
        m = v.c[0]
        c = m[0][0]
        if all(m[i][j] == (c if i == j else 0) for i in range(v.rows) for j in range(v.cols)):
            return ("lazy", c)
    return (v.rows, v.cols, tuple(x for row in v.c[0] for x in row))

