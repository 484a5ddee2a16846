"""Exact confirmation with Z3 at concrete dimensions.

Every entry of every variable (and of its differential) becomes a real unknown; both sides are
evaluated by the same evaluator as the random points, here into an SMT-LIB script: each sum or
product is one `define-fun` (so shared subterms are written once), and Z3 reads the script in
one call (building terms one Python call at a time cost more than the solving). Z3 is asked for a
point where some entry differs, with every denominator nonzero (a fresh r with a·r = 1). `unsat`
confirms the identity at those dimensions; anything else leaves the step to the random points.
Z3 is only asked about steps with no det, inverse or log (`truth.decide`, and `z3_decide`
refuses them itself: Gauss–Jordan would pick as a pivot a term that is 0 without being folded to
0, and the assertion r·0 = 1 would make any claim "equal"), so it needs no more than this. It
gets a resource limit (`rlimit`), never a clock, so the answer does not depend on the machine.
"""
from fractions import Fraction
from typing import Any, Mapping

import z3

from .evaluate import Domain, Evaluator, Singular
from .expr import ELEMENTWISE, Expr, Func, Inv, Pow
from .truth import Context

Term = Any  # the name of a defined term (str), or an int or Fraction that has not met one yet


def _num(a: Term) -> bool: return isinstance(a, (int, Fraction))


def _lit(a: Term) -> str:
    """A term as SMT-LIB text: a name, or a numeral (negatives and fractions spelt out)."""
    q = Fraction(a) if _num(a) else None
    return str(a) if q is None else f"({'-' if q < 0 else '+'} (/ {abs(q.numerator)}.0 {q.denominator}.0))"


class Z3Field:
    """SMT-LIB terms; plain Python numbers stay numbers until they meet a term (most entries of
    a differential are 0, and folding them here saves Z3 most of its work)."""

    zero, one = 0, 1
    const = staticmethod(lambda q: q.numerator if q.denominator == 1 else q)
    is_zero = staticmethod(lambda a: _num(a) and a == 0)
    add = lambda self, a, b: self.dot([a, b], [1, 1])  # noqa: E731
    sub = lambda self, a, b: self.dot([a, b], [1, -1])  # noqa: E731
    neg = lambda self, a: self.dot([a], [-1])  # noqa: E731
    mul = lambda self, a, b: self.dot([a], [b])  # noqa: E731

    def __init__(self) -> None:
        self.lines, self.conds, self.recips = list[str](), list[str](), dict[str, str]()

    def fresh(self, kind: str, body: str = "") -> str:
        name = f"{kind}{len(self.lines)}"  # an unknown, or a name for a sum
        self.lines.append(f"(define-fun {name} () Real {body})" if body else f"(declare-const {name} Real)")
        return name

    def dot(self, xs: list[Term], ys: list[Term]) -> Term:  # numbers summed in Python, terms in one sum
        pairs = [(x, y) for x, y in zip(xs, ys) if not (self.is_zero(x) or self.is_zero(y))]
        known = sum(x * y for x, y in pairs if _num(x) and _num(y))
        rest = [_lit(y) if x == 1 else _lit(x) if y == 1 else f"(* {_lit(x)} {_lit(y)})"
                for x, y in pairs if not (_num(x) and _num(y))]
        if not rest or known == 0 and len(rest) == 1 and not rest[0].startswith("("):
            return rest[0] if rest else known
        return self.fresh("t", f"(+ {' '.join(rest)} {_lit(known)})")

    def recip(self, a: Term) -> Term:
        if _num(a) and a == 0:
            raise Singular("division by zero")
        if _num(a) or (r := self.recips.get(a)) is not None:
            return Fraction(1) / a if _num(a) else r
        r = self.recips[a] = self.fresh("r")
        self.conds.append(f"(assert (= (* {a} {r}) 1.0))")
        return r


def z3_decide(lhs: Expr, rhs: Expr, ctx: Context, dims: Mapping[str, int], order: int,
              rlimit: int) -> tuple[str, Any]:
    """("unsat", None): equal at these dimensions; ("sat", None): Z3 finds a point where they
    differ; ("unknown", reason) otherwise."""
    F = Z3Field()
    if any(isinstance(x, Inv) or isinstance(x, Pow) and x.k < 0 or isinstance(x, Func) and x.name in (
            "det", *ELEMENTWISE) for e in (lhs, rhs) for x in e.walk()):  # a pivot Z3 cannot test
        return "unknown", "Z3 is not asked about det, inverses, log or exp"  # for 0; arbitrary f
    ev = Evaluator(F, order, *ctx.draw(dims, lambda: F.fresh("x")), ctx.env, dims)
    try:
        lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
        diffs = [f"(not (= {_lit(t)} 0.0))" for ra, rb in zip(lv.c[0], rv.c[0]) for x, y in zip(ra, rb)
                 if not F.is_zero(t := F.dot([x, y], [1, -1]))]
    except (Singular, Domain, ValueError) as exc:  # ValueError: a literal too long to write out
        return "unknown", f"cannot evaluate symbolically ({exc})"
    if (lv.rows, lv.cols) != (rv.rows, rv.cols):
        return "unknown", "the two sides evaluate to different sizes"
    if not diffs:
        return "unsat", None
    (s := z3.Solver()).set("rlimit", rlimit)
    s.from_string("\n".join(F.lines + F.conds + [f"(assert (or {' '.join(diffs)}))"]))
    res = s.check()
    return ("unsat", None) if res == z3.unsat else ("sat", None) if res == z3.sat else (
        "unknown", f"Z3 gave up ({s.reason_unknown()})")
