"""Exact confirmation with Z3 at concrete dimensions.

Every entry of every variable (and of its differential) becomes a real unknown; both sides are
evaluated to Z3 terms by the same evaluator as the random points; Z3 is asked for a point where
some entry differs, with every denominator nonzero (a fresh r with a·r = 1) and every log
argument positive. `unsat` confirms the identity at those dimensions; `sat` gives a point that
the caller re-evaluates before it is believed; anything else is `unknown`. Z3 gets a resource
limit (`rlimit`), never a clock, so the answer does not depend on the machine.
"""
from fractions import Fraction
from typing import Any, Mapping

import z3

from .evaluate import Domain, Evaluator, Singular
from .expr import Expr


def _num(a) -> bool:
    return isinstance(a, (int, Fraction))


class Z3Field:
    """Z3 real terms; plain Python numbers stay numbers until they meet a term (most entries of
    a differential are 0, and folding them here saves Z3 most of its work)."""

    symbolic = True
    zero, one = 0, 1

    def __init__(self):
        # side conditions (a·r = 1 for each reciprocal, log arguments > 0), reciprocals by term
        self.conds, self.recips, self.used_log = [], {}, False
        self.log_fn = z3.Function("log", z3.RealSort(), z3.RealSort())

    @staticmethod
    def const(q: Fraction):
        q = Fraction(q)
        return q.numerator if q.denominator == 1 else q

    @staticmethod
    def is_zero(a) -> bool:
        return _num(a) and a == 0

    def add(self, a, b):
        return b if self.is_zero(a) else a if self.is_zero(b) else a + b

    def sub(self, a, b):
        return self.add(a, self.neg(b))

    def neg(self, a):
        return -a if _num(a) else -1 * a

    def mul(self, a, b):
        if self.is_zero(a) or self.is_zero(b):
            return 0
        return b if _num(a) and a == 1 else a if _num(b) and b == 1 else a * b

    def dot(self, xs, ys):  # numbers summed in Python, terms in one Z3 sum
        terms = [t for t in map(self.mul, xs, ys) if not self.is_zero(t)]
        known, rest = sum(t for t in terms if _num(t)), [t for t in terms if not _num(t)]
        return self.add(known, rest[0] if len(rest) == 1 else z3.Sum(rest)) if rest else known

    def recip(self, a):
        if _num(a):
            if a == 0:
                raise Singular("division by zero")
            return Fraction(1) / a
        if (r := self.recips.get(a.get_id())) is None:
            r = self.recips[a.get_id()] = z3.FreshReal("r")
            self.conds.append(a * r == 1)
        return r

    def log(self, a):
        if _num(a) and a <= 0:
            raise Domain("log of a non-positive number")
        self.conds += [] if _num(a) else [a > 0]
        self.used_log = True
        return self.log_fn(z3.RealVal(a) if _num(a) else a)

    def inverse(self, a, ev: Evaluator):
        """The adjugate over the determinant (no zero test is needed)."""
        n, det = len(a), lambda m: ev.laplace([[[x] for x in row] for row in m])[0]  # noqa: E731
        r = self.recip(det(a))
        if n == 1:
            return [[r]]
        minor = lambda i, j: [w[:j] + w[j + 1:] for k, w in enumerate(a) if k != i]  # noqa: E731
        return [[self.mul((-1) ** (i + j), self.mul(det(minor(j, i)), r)) for j in range(n)]
                for i in range(n)]


def z3_decide(lhs: Expr, rhs: Expr, ctx, dims: Mapping[str, int], order: int,
              rlimit: int) -> tuple[str, Any]:
    """("unsat", None): equal at these dimensions; ("sat", (point, dpoint)): Z3's rational point
    where they differ (to be re-checked); ("unknown", reason) otherwise."""
    F = Z3Field()
    ev = Evaluator(F, order, *ctx.draw(dims, lambda: z3.FreshReal("x")), ctx.env, dims)
    try:
        lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
    except (Singular, Domain) as exc:
        return "unknown", f"cannot evaluate symbolically ({exc})"
    if (lv.rows, lv.cols) != (rv.rows, rv.cols):
        return "unknown", "the two sides evaluate to different sizes"
    diffs = [F.sub(x, y) for ra, rb in zip(lv.c[0], rv.c[0]) for x, y in zip(ra, rb)]
    diffs = [(z3.RealVal(t) if _num(t) else t) != 0 for t in diffs if not F.is_zero(t)]
    if not diffs:
        return "unsat", None
    s = z3.Solver()
    s.set("rlimit", rlimit)
    s.add(*F.conds, z3.Or(*diffs))
    if (res := s.check()) != z3.sat:
        return ("unsat", None) if res == z3.unsat else ("unknown",
                                                        f"Z3 gave up ({s.reason_unknown()})")
    if F.used_log:
        return "unknown", "Z3's difference rests on log, which it reads as an arbitrary function"
    model = s.model()
    got = tuple({k: [[model.eval(x, model_completion=True) for x in row] for row in m]
                 for k, m in part.items()} for part in (ev.point, ev.dpoint))
    if not all(z3.is_rational_value(v) for part in got for m in part.values() for row in m
               for v in row):
        return "unknown", "Z3's point is irrational"
    return "sat", tuple({k: [[v.as_fraction() for v in row] for row in m] for k, m in part.items()}
                        for part in got)
