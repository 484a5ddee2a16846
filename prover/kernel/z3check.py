"""Exact confirmation with Z3 at concrete dimensions.

Every entry of every variable (and of its differential) becomes a real unknown; both sides are
evaluated to Z3 terms by the same evaluator as the random checks; Z3 is asked for a point where
some entry differs, with every denominator nonzero and every log argument positive. `unsat`
confirms the identity at those dimensions; `sat` gives a counterexample (re-checked exactly
before it is believed); `unknown` or a timeout is reported as such, never as a pass.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import z3
from z3 import z3core

from .errors import Limits
from .evaluate import Domain, Evaluator, Lazy, Mat, NeedsReals, Singular
from .expr import Expr, Func, Inv, symbols
from .truth import heavy as _is_heavy


_CONSTS: dict[Fraction, Any] = {}


def _z(x):
    """A Python number as a Z3 real; a Z3 term as itself."""
    if isinstance(x, (int, Fraction)):
        q = Fraction(x)
        hit = _CONSTS.get(q)
        if hit is None:
            hit = z3.RealVal(q.numerator) if q.denominator == 1 else z3.Q(q.numerator, q.denominator)
            if len(_CONSTS) < 4096:
                _CONSTS[q] = hit
        return hit
    return x


def _mk(fn, args: list):
    """An n-ary Z3 application built with one call of the C API (the Python operators cost
    several times more per node, and the terms here have thousands of nodes)."""
    ctx = args[0].ctx
    arr = (z3.Ast * len(args))(*[a.ast for a in args])
    return z3.ArithRef(fn(ctx.ref(), len(args), arr), ctx)


def _sum(terms: list, const: Fraction):
    """const + Σ terms, with Python rationals folded into const."""
    if const != 0:
        terms = terms + [_z(const)]
    if not terms:
        return Fraction(0)
    return terms[0] if len(terms) == 1 else _mk(z3core.Z3_mk_add, terms)


def _times(c: Fraction, a):
    return Fraction(0) if c == 0 else (a if c == 1 else _mk(z3core.Z3_mk_mul, [_z(c), a]))


class Z3Field:
    """Z3 real terms, with plain Python rationals kept as they are until they meet a term:
    most entries of a differential are 0, and folding them in Python saves most of Z3's work."""

    name = "z3"
    symbolic = True

    def __init__(self):
        self.zero, self.one = Fraction(0), Fraction(1)
        self.log_fn = z3.Function("log", z3.RealSort(), z3.RealSort())
        self.used_log = False
        self.recips: dict[int, Any] = {}
        self.sink: list = []  # the evaluator's `collected`: definitions go with the terms that use them

    @staticmethod
    def const(q: Fraction):
        return Fraction(q)

    @staticmethod
    def add(a, b):
        if isinstance(a, Fraction):
            if isinstance(b, Fraction):
                return a + b
            return b if a == 0 else _mk(z3core.Z3_mk_add, [b, _z(a)])
        if isinstance(b, Fraction):
            return a if b == 0 else _mk(z3core.Z3_mk_add, [a, _z(b)])
        return _mk(z3core.Z3_mk_add, [a, b])

    @staticmethod
    def sub(a, b):
        return Z3Field.add(a, Z3Field.neg(b))

    @staticmethod
    def mul(a, b):
        if isinstance(a, Fraction):
            if isinstance(b, Fraction):
                return a * b
            return _times(a, b)
        if isinstance(b, Fraction):
            return _times(b, a)
        return _mk(z3core.Z3_mk_mul, [a, b])

    @staticmethod
    def dot(xs, ys):
        const, terms = Fraction(0), []
        for a, b in zip(xs, ys):
            if isinstance(a, Fraction):
                if a == 0:
                    continue
                if isinstance(b, Fraction):
                    const += a * b
                elif a == 1:
                    terms.append(b)
                else:
                    terms.append(_mk(z3core.Z3_mk_mul, [_z(a), b]))
            elif isinstance(b, Fraction):
                if b == 0:
                    continue
                terms.append(a if b == 1 else _mk(z3core.Z3_mk_mul, [_z(b), a]))
            else:
                terms.append(_mk(z3core.Z3_mk_mul, [a, b]))
        return _sum(terms, const)

    @staticmethod
    def neg(a):
        return -a if isinstance(a, Fraction) else _times(Fraction(-1), a)

    def recip(self, a):
        # A fresh unknown r with a·r = 1 keeps every term a polynomial, which Z3's nonlinear
        # arithmetic handles far better than division.
        if isinstance(a, Fraction):
            if a == 0:
                raise Singular("division by zero")
            return 1 / a
        key = a.get_id()
        r = self.recips.get(key)
        if r is None:
            r = z3.Real(f"_r{len(self.recips)}")
            self.recips[key] = r
        self.sink.append(a * r == 1)
        return r

    @staticmethod
    def is_zero(a) -> bool:
        return isinstance(a, Fraction) and a == 0

    def log(self, a):
        self.used_log = True
        return self.log_fn(_z(a))

    def inverse(self, a, ev: Evaluator):
        n = len(a)
        det = _det(a)
        if ev.hook:
            ev.hook("nonzero", det)
        cof = [[Z3Field.mul(Fraction((-1) ** (i + j)),
                            _det([r[:j] + r[j + 1:] for k, r in enumerate(a) if k != i]))
                if n > 1 else self.one for j in range(n)] for i in range(n)]
        r = self.recip(det)
        return [[Z3Field.mul(cof[j][i], r) for j in range(n)] for i in range(n)]


def _det(a):
    n = len(a)
    if n == 0:
        return Fraction(1)
    if n == 1:
        return a[0][0]
    acc = Fraction(0)
    for j in range(n):
        term = Z3Field.mul(a[0][j], _det([r[:j] + r[j + 1:] for r in a[1:]]))
        acc = Z3Field.add(acc, term if j % 2 == 0 else Z3Field.neg(term))
    return acc


def z3_equal(lhs: Expr, rhs: Expr, ctx, all_dims: list[dict[str, int]], order: int,
             timeout_s: float | None = None) -> tuple[str, Any]:
    """("unsat", None) when equal at every assignment in all_dims; ("sat", Counterexample) on a
    confirmed difference; ("unknown", reason) otherwise."""
    timeout_s = Limits.step_seconds if timeout_s is None else timeout_s
    heavy = any(isinstance(n, Inv) or (isinstance(n, Func) and n.name == "det")
                for side in (lhs, rhs) for n in side.walk())
    if heavy:
        all_dims = all_dims[:1]  # inverses and determinants: the smallest sizes only
    for dims in all_dims:
        used = symbols(lhs) | symbols(rhs)
        sizes = [x for r_c in ctx.shapes(dims, used).values() for x in r_c]
        if heavy and max(sizes, default=1) > 4:
            return "unknown", "the sizes are too large for the exact check of an inverse or determinant"
        ev, unknowns = _evaluator(ctx, dims)
        ev.collected.clear()
        try:
            lv, rv = ev.value(lhs), ev.value(rhs)
        except (Singular, Domain) as exc:
            return "unknown", f"cannot evaluate symbolically ({exc})"
        diffs = _differences(lv, rv, ev.F)
        if diffs is None:
            return "disagree", "the exact evaluation finds a constant difference"
        query = list(ev.collected) + [z3.Or(*diffs) if diffs else z3.BoolVal(False)]
        if _refuted_by_simplification(query, timeout_s):
            continue
        s = z3.Solver()
        s.set("timeout", int(timeout_s * 1000))
        s.add(*query)
        res = s.check()
        if res == z3.unsat:
            continue
        if res == z3.unknown:
            reason = s.reason_unknown()
            return "unknown", ("timed out after %.1f s" % timeout_s if "timeout" in reason
                               or "canceled" in reason else f"unknown ({reason})")
        model = s.model()
        names = symbols(lhs) | symbols(rhs)
        cex = _confirm(model, {k: v for k, v in unknowns.items() if k[1] in names}, lhs, rhs,
                       ctx, dims, order)
        if cex is None:
            if ev.F.used_log:  # log is an arbitrary function to Z3: its model may be spurious
                return "unknown", "Z3's difference rests on log, which it does not know"
            return "disagree", "Z3 found a difference that exact re-evaluation did not confirm"
        return "sat", cex
    return "unsat", None


def z3_confirm_many(pairs: list[tuple[Expr, Expr]], ctx, all_dims: list[dict[str, int]],
                    timeout_s: float) -> set[int]:
    """Exact confirmation of many steps with one Z3 query per assignment.

    Each pair is asked at exactly the assignments `z3_equal` would ask it at (the smallest only
    when it has an inverse or determinant, and none above size 4 then). The query is the
    disjunction over the pairs of (that pair's side conditions ∧ some entry differs): unsat
    means every disjunct is unsat, i.e. each pair on its own would get `unsat`. Returns the
    indices so confirmed; any other answer (sat, unknown, a timeout, an evaluation failure)
    confirms nothing here, and the caller checks those pairs one by one."""
    heavy = [_is_heavy(l, r) for l, r in pairs]
    ok = set(range(len(pairs)))
    for slot, dims in enumerate(all_dims):
        members = []
        for i in sorted(ok):
            if heavy[i]:
                if slot > 0:
                    continue
                lhs, rhs = pairs[i]
                sizes = [x for rc in ctx.shapes(dims, symbols(lhs) | symbols(rhs)).values() for x in rc]
                if max(sizes, default=1) > 4:
                    ok.discard(i)
                    continue
            members.append(i)
        ev, _ = _evaluator(ctx, dims)
        disjuncts = []
        for i in members:
            lhs, rhs = pairs[i]
            ev.collected.clear()
            try:
                lv, rv = ev.value(lhs), ev.value(rhs)
            except (Singular, Domain):
                ok.discard(i)
                continue
            diffs = _differences(lv, rv, ev.F)
            if diffs is None:
                ok.discard(i)
                continue
            if diffs:
                disjuncts.append((i, list({c.get_id(): c for c in ev.collected}.values()), diffs))
        if not disjuncts:
            continue
        # conditions every disjunct carries are stated once, outside the disjunction
        common = set.intersection(*[set(c.get_id() for c in cs) for _, cs, _ in disjuncts])
        query = [c for c in disjuncts[0][1] if c.get_id() in common]
        query.append(z3.Or(*[z3.And(*[c for c in cs if c.get_id() not in common], z3.Or(*diffs))
                             for _, cs, diffs in disjuncts]))
        if _refuted_by_simplification(query, timeout_s):
            continue
        s = z3.Solver()
        s.set("timeout", int(timeout_s * 1000))
        s.add(*query)
        if s.check() != z3.unsat:
            ok -= {i for i, _, _ in disjuncts}
    return ok


def _refuted_by_simplification(query: list, timeout_s: float) -> bool:
    """Z3's simplifier with polynomials put in sum-of-monomials form, then value propagation:
    a difference of two equal polynomials becomes 0, `0 ≠ 0` becomes false, and the goal is
    refuted without starting a solver (several times faster for the identities of a
    derivation). Tactics preserve satisfiability, so a goal reduced to false is unsat. When it
    is not reduced (inverses usually need the solver's reasoning), the caller asks a solver."""
    goal = z3.Goal()
    goal.add(*query)
    try:
        tactic = z3.TryFor(z3.Then(z3.With("simplify", som=True), "propagate-values"),
                           max(1, int(timeout_s * 1000)))
        result = tactic(goal)
    except z3.Z3Exception:
        return False
    return len(result) == 1 and result[0].inconsistent()


_EVALUATORS: dict[tuple, tuple[Evaluator, dict]] = {}


def _evaluator(ctx, dims: dict[str, int]) -> tuple[Evaluator, dict]:
    """One Z3 evaluator per declarations and dimensions, reused across the steps of a
    proof (consecutive steps share most subterms). Unknowns are named after the entries."""
    key = (ctx.key, tuple(sorted(dims.items())))  # `d` goes to deeper orders by itself
    hit = _EVALUATORS.get(key)
    if hit is not None and len(hit[0].memo) < 5000:
        return hit
    F = Z3Field()
    point, dpoint, unknowns = {}, {}, {}
    for name, (r, c) in sorted(ctx.shapes(dims, set(ctx.env)).items()):
        info = ctx.env[name]
        for prefix, target in (("", point), ("d", dpoint)):
            if prefix and name not in ctx.varying:
                continue
            m = [[z3.Real(f"{prefix}{name}_{i + 1}_{j + 1}") for j in range(c)] for i in range(r)]
            if info.symmetric and r == c:
                m = [[m[min(i, j)][max(i, j)] for j in range(c)] for i in range(r)]
            target[name] = m
            unknowns[(prefix, name)] = m
    ev = Evaluator(F, 0, point, dpoint)

    def hook(kind: str, a: Any) -> None:
        if kind not in ("nonzero", "positive"):
            return
        if isinstance(a, Fraction):
            if (a == 0) if kind == "nonzero" else (a <= 0):
                raise Domain("a constant denominator is 0" if kind == "nonzero"
                             else "a constant log argument is not positive")
            return
        ev.collected.append(a != 0 if kind == "nonzero" else a > 0)

    ev.hook = hook
    F.sink = ev.collected
    if len(_EVALUATORS) > 32:
        _EVALUATORS.clear()
    _EVALUATORS[key] = (ev, unknowns)
    return ev, unknowns


def _differences(lv, rv, F) -> list | None:
    if isinstance(lv, Lazy) and isinstance(rv, Lazy):
        diff = F.sub(lv.c[0], rv.c[0])
        return [] if F.is_zero(diff) else [_z(diff) != 0]
    if isinstance(lv, Lazy):
        lv, rv = rv, lv
    if isinstance(rv, Lazy):
        rv = Mat([[[rv.c[0] if i == j else F.zero for j in range(lv.cols)]
                   for i in range(lv.rows)]], lv.rows, lv.cols)
        if lv.rows != lv.cols:
            return [] if F.is_zero(rv.c[0][0][0]) else [_z(rv.c[0][0][0]) != 0]
    if (lv.rows, lv.cols) != (rv.rows, rv.cols):
        return None
    out = []
    for ra, rb in zip(lv.c[0], rv.c[0]):
        for x, y in zip(ra, rb):
            diff = F.sub(x, y)
            if isinstance(diff, Fraction):
                if diff == 0:
                    continue
                return None  # a constant difference: certainly not an identity
            out.append(diff != 0)
    return out


def _confirm(model, unknowns, lhs, rhs, ctx, dims, order):
    """Turn a Z3 model into a counterexample, re-checked with exact (or 50-digit) arithmetic."""
    from .truth import _counterexample, evaluate_pair

    def val(v):
        r = model.eval(v, model_completion=True)
        if z3.is_rational_value(r):
            return r.as_fraction()
        if z3.is_algebraic_value(r):
            return Fraction(r.approx(30).as_decimal(30).rstrip("?"))
        return None

    point, dpoint = {}, {}
    for (prefix, name), m in unknowns.items():
        vals = [[val(x) for x in row] for row in m]
        if any(x is None for row in vals for x in row):
            return None
        (dpoint if prefix else point)[name] = vals
    try:
        lv, rv, F, equal = evaluate_pair(lhs, rhs, point, dpoint, order)
    except (Singular, Domain, NeedsReals):
        return None
    if equal:
        return None
    return _counterexample(dims, point, dpoint if order else {}, lv, rv)
