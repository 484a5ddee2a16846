"""Exact confirmation with Z3 at concrete dimensions.

Every entry of every variable (and of its differential) becomes a real unknown; both sides are
evaluated to Z3 terms by the same evaluator as the random points; Z3 is asked for a point where
some entry differs, with every denominator nonzero (a fresh r with a·r = 1). `unsat` confirms
the identity at those dimensions; anything else leaves the step to the random points. Z3 is
only asked about steps with no det, inverse or log (`truth.decide`), so it needs no more than
this. It gets a resource limit (`rlimit`), never a clock, so the answer does not depend on the
machine.
"""
from fractions import Fraction
from typing import Any, Mapping

import z3

from .evaluate import Domain, Evaluator, Singular
from .expr import Expr
from .truth import Context

Term = Any  # a Z3 arithmetic term, or an int or Fraction that has not met one yet


def _num(a: Term) -> bool:
    return isinstance(a, (int, Fraction))


class Z3Field:
    """Z3 real terms; plain Python numbers stay numbers until they meet a term (most entries of
    a differential are 0, and folding them here saves Z3 most of its work)."""

    zero, one = 0, 1

    def __init__(self) -> None:
        self.conds, self.recips = list[Any](), dict[int, Term]()  # a·r = 1 for each reciprocal r of a term a

    @staticmethod
    def const(q: Fraction) -> Term:
        q = Fraction(q)
        return q.numerator if q.denominator == 1 else q

    is_zero = staticmethod(lambda a: _num(a) and a == 0)

    def add(self, a: Term, b: Term) -> Term:
        return b if self.is_zero(a) else a if self.is_zero(b) else a + b

    def sub(self, a: Term, b: Term) -> Term:
        return self.add(a, self.neg(b))

    def neg(self, a: Term) -> Term:
        return -a if _num(a) else -1 * a

    def mul(self, a: Term, b: Term) -> Term:
        if self.is_zero(a) or self.is_zero(b):
            return 0
        return b if _num(a) and a == 1 else a if _num(b) and b == 1 else a * b

    def dot(self, xs: list[Term], ys: list[Term]) -> Term:  # numbers summed in Python, terms in one Z3 sum
        terms = [t for t in map(self.mul, xs, ys) if not self.is_zero(t)]
        known, rest = sum(t for t in terms if _num(t)), [t for t in terms if not _num(t)]
        return self.add(known, rest[0] if len(rest) == 1 else z3.Sum(rest)) if rest else known

    def recip(self, a: Term) -> Term:
        if _num(a):
            if a == 0:
                raise Singular("division by zero")
            return Fraction(1) / a
        if (r := self.recips.get(a.get_id())) is None:
            r = self.recips[a.get_id()] = z3.FreshReal("r")
            self.conds.append(a * r == 1)
        return r


def z3_decide(lhs: Expr, rhs: Expr, ctx: Context, dims: Mapping[str, int], order: int,
              rlimit: int) -> tuple[str, Any]:
    """("unsat", None): equal at these dimensions; ("sat", None): Z3 finds a point where they
    differ; ("unknown", reason) otherwise."""
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
    res = s.check()
    return ("unsat", None) if res == z3.unsat else ("sat", None) if res == z3.sat else (
        "unknown", f"Z3 gave up ({s.reason_unknown()})")
