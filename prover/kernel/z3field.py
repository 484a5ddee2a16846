"""Exact confirmation with Z3 at concrete dimensions.

Every entry of every variable (and of its differential) becomes a real unknown; both sides are
evaluated to Z3 terms by the same evaluator as the random points; Z3 is asked for a point where
some entry differs, with every denominator nonzero (a fresh r with a·r = 1) and every log
argument positive. `unsat` confirms the identity at those dimensions; `sat` gives a point that
the caller re-evaluates exactly before it is believed; anything else is `unknown`. Z3 gets a
resource limit (`rlimit`), never a timeout, so the answer does not depend on the machine.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import z3

from .evaluate import Domain, Evaluator, Singular
from .expr import Expr
from .shapes import Env

_NUMS = (int, Fraction)


class Z3Field:
    """Z3 real terms, with plain Python numbers kept as they are until they meet a term (most
    entries of a differential are 0, and folding them in Python saves Z3 most of its work)."""

    name = "z3"
    symbolic = True
    zero, one = 0, 1

    def __init__(self):
        self.conds: list = []  # side conditions: a·r = 1 for each reciprocal, log arguments > 0
        self.recips: dict[Any, Any] = {}
        self.used_log = False
        self.log_fn = z3.Function("log", z3.RealSort(), z3.RealSort())

    @staticmethod
    def const(q: Fraction):
        q = Fraction(q)
        return q.numerator if q.denominator == 1 else q

    @staticmethod
    def _num(a) -> bool:
        return isinstance(a, _NUMS)

    def add(self, a, b):
        if self._num(a) and a == 0:
            return b
        if self._num(b) and b == 0:
            return a
        return a + b

    def sub(self, a, b):
        return self.add(a, self.neg(b))

    def mul(self, a, b):
        if (self._num(a) and a == 0) or (self._num(b) and b == 0):
            return 0
        if self._num(a) and a == 1:
            return b
        if self._num(b) and b == 1:
            return a
        return a * b

    def neg(self, a):
        return -a if self._num(a) else -1 * a

    def dot(self, xs, ys):
        acc: Any = 0
        for a, b in zip(xs, ys):
            acc = self.add(acc, self.mul(a, b))
        return acc

    def recip(self, a):
        if self._num(a):
            if a == 0:
                raise Singular("division by zero")
            return Fraction(1) / a
        key = a.get_id()
        r = self.recips.get(key)
        if r is None:
            r = self.recips[key] = z3.FreshReal("r")
            self.conds.append(a * r == 1)
        return r

    @staticmethod
    def is_zero(a) -> bool:
        return isinstance(a, _NUMS) and a == 0

    def log(self, a):
        if self._num(a):
            if a <= 0:
                raise Domain("log of a non-positive number")
            a = z3.RealVal(Fraction(a))
        else:
            self.conds.append(a > 0)
        self.used_log = True
        return self.log_fn(a)

    def det(self, a):
        n = len(a)
        if n == 1:
            return a[0][0]
        acc: Any = 0
        for j in range(n):
            term = self.mul(a[0][j], self.det([r[:j] + r[j + 1:] for r in a[1:]]))
            acc = self.add(acc, term if j % 2 == 0 else self.neg(term))
        return acc

    def det_series(self, c: list, ev: Evaluator) -> list:
        """Laplace expansion over entries that are series."""
        n = len(c[0])
        entries = [[[c[k][i][j] for k in range(ev.K + 1)] for j in range(n)] for i in range(n)]

        def lap(m):
            if len(m) == 1:
                return m[0][0]
            acc = [0] * (ev.K + 1)
            for j in range(len(m)):
                term = ev.s_mul(m[0][j], lap([row[:j] + row[j + 1:] for row in m[1:]]))
                acc = [(self.sub if j % 2 else self.add)(x, y) for x, y in zip(acc, term)]
            return acc
        return lap(entries)

    def inverse(self, a, ev: Evaluator):
        n = len(a)
        r = self.recip(self.det(a))
        if n == 1:
            return [[r]]
        cof = [[self.mul((-1) ** (i + j), self.det([row[:j] + row[j + 1:]
                                                     for k, row in enumerate(a) if k != i]))
                for j in range(n)] for i in range(n)]
        return [[self.mul(cof[j][i], r) for j in range(n)] for i in range(n)]


def _term(x):
    return z3.RealVal(x) if isinstance(x, _NUMS) else x


def z3_decide(lhs: Expr, rhs: Expr, env: Env, varying: set[str], dims: Mapping[str, int],
              order: int, rlimit: int) -> tuple[str, Any]:
    """("unsat", None): equal at these dimensions; ("sat", (point, dpoint)): Z3's point where
    they differ (rationals; to be re-checked); ("unknown", reason) otherwise."""
    F = Z3Field()
    point, dpoint, unknowns = {}, {}, []
    for name in sorted(env):
        info = env[name]
        r, c = (x if isinstance(x, int) else dims[x] for x in (info.shape.rows, info.shape.cols))
        for prefix, target in (("", point), ("d", dpoint)):
            if prefix and name not in varying:
                continue
            m = [[z3.Real(f"{prefix}{name}_{i + 1}_{j + 1}") for j in range(c)] for i in range(r)]
            if info.symmetric and r == c:
                m = [[m[min(i, j)][max(i, j)] for j in range(c)] for i in range(r)]
            target[name] = m
            unknowns.append((prefix, name, m))
    ev = Evaluator(F, order, point, dpoint, env, dims)
    try:
        lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
    except (Singular, Domain) as exc:
        return "unknown", f"cannot evaluate symbolically ({exc})"
    if (lv.rows, lv.cols) != (rv.rows, rv.cols):
        return "unknown", "the two sides evaluate to different sizes"
    diffs = []
    for ra, rb in zip(lv.c[0], rv.c[0]):
        for x, y in zip(ra, rb):
            diff = F.sub(x, y)
            if not F.is_zero(diff):
                diffs.append(_term(diff) != 0)
    if not diffs:
        return "unsat", None
    s = z3.Solver()
    s.set("rlimit", rlimit)
    s.add(*F.conds, z3.Or(*diffs))
    res = s.check()
    if res == z3.unsat:
        return "unsat", None
    if res == z3.unknown:
        return "unknown", f"Z3 gave up ({s.reason_unknown()})"
    if F.used_log:
        return "unknown", "Z3's difference rests on log, which it reads as an arbitrary function"
    model = s.model()
    got: tuple[dict, dict] = ({}, {})
    for prefix, name, m in unknowns:
        vals = [[model.eval(x, model_completion=True) for x in row] for row in m]
        if not all(z3.is_rational_value(v) for row in vals for v in row):
            return "unknown", "Z3's point is irrational"
        got[1 if prefix else 0][name] = [[v.as_fraction() for v in row] for row in vals]
    return "sat", got
