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

import itertools
import weakref

import z3
from z3 import z3core

from .errors import Limits
from .evaluate import Domain, Evaluator, Lazy, Mat, NeedsReals, Singular
from .expr import Expr, symbols
from .truth import heavy as _is_heavy


_CONSTS: dict[Fraction, Any] = {}
_NUM = (int, Fraction)  # a plain number (an int where it can be: Fraction arithmetic is slow)
_NUMS = frozenset(_NUM)  # tested by class: isinstance against Fraction goes through the ABC machinery
_CTX = z3.main_ctx()
_C = _CTX.ref()


def _c_function(name: str):
    """The raw C entry point behind z3core's wrapper where this Z3 version exposes it (the
    wrapper's error check is done here instead: a null result raises)."""
    wrapper = getattr(z3core, name)
    try:
        return wrapper.__defaults__[0].f
    except (AttributeError, IndexError, TypeError):
        return wrapper


_MK_ADD, _MK_MUL = _c_function("Z3_mk_add"), _c_function("Z3_mk_mul")
_MK_OR = _c_function("Z3_mk_or")
_NOT, _EQ = _c_function("Z3_mk_not"), _c_function("Z3_mk_eq")


def _MK_NOT1(ctx, n, arr):  # the n-ary calling convention of `_app`, for a unary maker
    return _NOT(ctx, arr[0])


def _MK_EQ2(ctx, n, arr):
    return _EQ(ctx, arr[0], arr[1])
_INC, _DEC = _c_function("Z3_inc_ref"), _c_function("Z3_dec_ref")


def _z(x):
    """A Python number as a Z3 real term (an ExprRef)."""
    q = Fraction(x)
    hit = _CONSTS.get(q)
    if hit is None:
        hit = z3.RealVal(q.numerator) if q.denominator == 1 else z3.Q(q.numerator, q.denominator)
        if len(_CONSTS) < 4096:
            _CONSTS[q] = hit
    return hit


def wrap(a):
    """A value of the field as a Z3 expression: numbers as reals, raw terms wrapped."""
    if a.__class__ in _NUMS:
        return _z(a)
    return z3.ArithRef(a, _CTX)


_REALS: dict[str, Any] = {}
_LOG = z3.Function("log", z3.RealSort(), z3.RealSort())  # log as an uninterpreted function
_FRESH = itertools.count()


def _real(name: str):
    """The Z3 real constant of that name (the same term every time: Z3 shares it anyway)."""
    hit = _REALS.get(name)
    if hit is None:
        hit = z3.Real(name)
        if len(_REALS) < 20000:
            _REALS[name] = hit
    return hit


def _release(owned: list) -> None:
    for a in owned:
        _DEC(_C, a)
    owned.clear()


class Z3Field:
    """Z3 real terms, built through Z3's C API without Python wrapper objects (each node is
    created with one call and its reference held by this field until the field is dropped),
    with plain Python numbers kept as they are until they meet a term: most entries of a
    differential are 0, and folding them in Python saves most of Z3's work."""

    name = "z3"
    symbolic = True

    def __init__(self):
        self.zero, self.one = 0, 1
        self.log_fn = _LOG
        self.used_log = False
        self.recips: dict[int, Any] = {}
        self.sink: list = []  # the evaluator's `collected`: definitions go with the terms that use them
        self.keep: list = []  # Python-side Z3 objects whose terms are in use
        self.owned: list = []  # raw terms this field holds a reference to
        weakref.finalize(self, _release, self.owned).atexit = False

    def _app(self, fn, args: list):
        n = len(args)
        out = fn(_C, n, (z3.Ast * n)(*args))
        if not out:
            raise z3.Z3Exception("Z3 could not build a term")
        _INC(_C, out)
        self.owned.append(out)
        return out

    def _num(self, q):
        t = _z(q)
        self.keep.append(t)
        return t.as_ast()

    @staticmethod
    def const(q: Fraction):
        q = Fraction(q)
        return q.numerator if q.denominator == 1 else q

    def add(self, a, b):
        if a.__class__ in _NUMS:
            if b.__class__ in _NUMS:
                return a + b
            return b if a == 0 else self._app(_MK_ADD, [b, self._num(a)])
        if b.__class__ in _NUMS:
            return a if b == 0 else self._app(_MK_ADD, [a, self._num(b)])
        return self._app(_MK_ADD, [a, b])

    def sub(self, a, b):
        return self.add(a, self.neg(b))

    def _times(self, c, a):
        return 0 if c == 0 else (a if c == 1 else self._app(_MK_MUL, [self._num(c), a]))

    def mul(self, a, b):
        if a.__class__ in _NUMS:
            if b.__class__ in _NUMS:
                return a * b
            return self._times(a, b)
        if b.__class__ in _NUMS:
            return self._times(b, a)
        return self._app(_MK_MUL, [a, b])

    def dot(self, xs, ys):
        const, terms = 0, []
        for a, b in zip(xs, ys):
            if a.__class__ in _NUMS:
                if a == 0:
                    continue
                if b.__class__ in _NUMS:
                    const += a * b
                else:
                    terms.append(self._times(a, b))
            elif b.__class__ in _NUMS:
                if b != 0:
                    terms.append(self._times(b, a))
            else:
                terms.append(self._app(_MK_MUL, [a, b]))
        if const != 0:
            terms.append(self._num(const))
        if not terms:
            return 0
        return terms[0] if len(terms) == 1 else self._app(_MK_ADD, terms)

    def neg(self, a):
        return -a if a.__class__ in _NUMS else self._times(-1, a)

    def recip(self, a):
        # A fresh unknown r with a·r = 1 keeps every term a polynomial, which Z3's nonlinear
        # arithmetic handles far better than division.
        if a.__class__ in _NUMS:
            if a == 0:
                raise Singular("division by zero")
            return Fraction(1) / a
        key = z3core.Z3_get_ast_id(_C, a)
        r = self.recips.get(key)
        if r is None:
            r = z3.Real(f"_r{next(_FRESH)}")  # never the same name in two fields
            self.recips[key] = r
        self.sink.append(wrap(a) * r == 1)
        return r.as_ast()

    def any_nonzero(self, terms: list):
        """Or(t ≠ 0 for t in terms), built in C and wrapped once."""
        zero = self._num(0)
        ne = [self._app(_MK_NOT1, [self._app(_MK_EQ2, [t, zero])]) for t in terms]
        return z3.BoolRef(ne[0] if len(ne) == 1 else self._app(_MK_OR, ne), _CTX)

    @staticmethod
    def is_zero(a) -> bool:
        return a.__class__ in _NUMS and a == 0

    def log(self, a):
        self.used_log = True
        t = self.log_fn(wrap(a))
        self.keep.append(t)
        return t.as_ast()

    def inverse(self, a, ev: Evaluator):
        n = len(a)
        det = self.det(a)
        if ev.hook:
            ev.hook("nonzero", det)
        cof = [[self.mul((-1) ** (i + j), self.det([r[:j] + r[j + 1:] for k, r in enumerate(a) if k != i]))
                if n > 1 else self.one for j in range(n)] for i in range(n)]
        r = self.recip(det)
        return [[self.mul(cof[j][i], r) for j in range(n)] for i in range(n)]

    def det(self, a):
        n = len(a)
        if n == 0:
            return 1
        if n == 1:
            return a[0][0]
        acc = 0
        for j in range(n):
            term = self.mul(a[0][j], self.det([r[:j] + r[j + 1:] for r in a[1:]]))
            acc = self.add(acc, term if j % 2 == 0 else self.neg(term))
        return acc


def z3_equal(lhs: Expr, rhs: Expr, ctx, all_dims: list[dict[str, int]], order: int,
             timeout_s: float | None = None) -> tuple[str, Any]:
    """("unsat", None) when equal at every assignment in all_dims; ("sat", Counterexample) on a
    confirmed difference; ("unknown", reason) otherwise."""
    timeout_s = Limits.step_seconds if timeout_s is None else timeout_s
    heavy = _is_heavy(lhs, rhs)
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
        if _refuted_quickly(query, timeout_s, bool(ev.collected)):
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
    """Exact confirmation of many steps with one or two Z3 queries for all assignments.

    Each pair is asked at exactly the assignments `z3_equal` would ask it at (the smallest only
    when it has an inverse or determinant, and none above size 4 then). The query is the
    disjunction over the pairs of (that pair's side conditions ∧ some entry differs): unsat
    means every disjunct is unsat, i.e. each pair on its own would get `unsat`. Returns the
    indices so confirmed; any other answer (sat, unknown, a timeout, an evaluation failure)
    confirms nothing here, and the caller checks those pairs one by one."""
    heavy = [_is_heavy(l, r) for l, r in pairs]
    ok = set(range(len(pairs)))
    disjuncts = []  # over every assignment: a disjunction is unsat when each disjunct is
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
    # Steps with no side conditions (no inverse, division or log) are usually settled by the
    # simplifier alone, all in one query. The others may need real reasoning, which gets much
    # harder when several are asked at once: one query each (their terms are shared anyway).
    plain = [x for x in disjuncts if not x[1]]
    hard = [x for x in disjuncts if x[1]]
    if plain and not _unsat(plain, timeout_s):
        ok -= {i for i, _, _ in plain}
    if len(hard) > 1 and _unsat(hard, NLSAT_FIRST_S, solver=False):
        return ok  # all of them at once, when that is quick
    for x in hard:
        if not _unsat([x], timeout_s):
            ok.discard(x[0])
    return ok


def _unsat(disjuncts: list, timeout_s: float, solver: bool = True) -> bool:
    """Is the disjunction over (conditions ∧ some difference) unsatisfiable? (False also when
    that is not settled in time.)"""
    # conditions every disjunct carries are stated once, outside the disjunction
    common = set.intersection(*[set(c.get_id() for c in cs) for _, cs, _ in disjuncts])
    query = [c for c in disjuncts[0][1] if c.get_id() in common]
    query.append(z3.Or(*[z3.And(*[c for c in cs if c.get_id() not in common], z3.Or(*diffs))
                         for _, cs, diffs in disjuncts]))
    if _refuted_quickly(query, timeout_s, any(cs for _, cs, _ in disjuncts)):
        return True
    if not solver:
        return False
    s = z3.Solver()
    s.set("timeout", int(timeout_s * 1000))
    s.add(*query)
    return s.check() == z3.unsat


def _refuted_quickly(query: list, timeout_s: float, conditions: bool) -> bool:
    """The simplifier; then, for a query with side conditions (inverses, divisions, logs),
    nlsat for a few milliseconds. Not refuted: the caller asks a solver."""
    return _refuted_by_simplification(query, timeout_s) or (conditions and _refuted_by_simplification(
        query, min(timeout_s, NLSAT_FIRST_S), decide=True))


NLSAT_FIRST_S = 0.005  # nlsat alone settles most inverse steps in a millisecond or two, and
# loses to the solver by far on a few: it gets this long first, then the solver gets its budget


def _refuted_by_simplification(query: list, timeout_s: float, decide: bool = False) -> bool:
    """Z3's simplifier with polynomials put in sum-of-monomials form, then value propagation:
    a difference of two equal polynomials becomes 0, `0 ≠ 0` becomes false, and the goal is
    refuted without starting a solver (several times faster for the identities of a
    derivation). With `decide` (steps with inverses, whose `a·r = 1` the simplifier cannot use)
    Z3's nonlinear real arithmetic procedure (nlsat) follows, as a tactic: usually about twice
    as fast as the general solver on these. Tactics preserve satisfiability, so a goal reduced
    to false is unsat. Otherwise (not reduced, unknown, out of time) the caller asks a solver."""
    goal = z3.Goal()
    goal.add(*query)
    try:
        result = _tactic(max(1, int(timeout_s * 1000)), decide)(goal)
    except z3.Z3Exception:
        return False
    return len(result) == 1 and result[0].inconsistent()


_TACTICS: dict[tuple, Any] = {}


def _tactic(timeout_ms: int, decide: bool):
    """The tactic of `_refuted_by_simplification`, built once per time budget."""
    hit = _TACTICS.get((timeout_ms, decide))
    if hit is None:
        steps = [z3.With("simplify", som=True), "propagate-values"] + (["qfnra-nlsat"] if decide else [])
        hit = z3.TryFor(z3.Then(*steps), timeout_ms)
        if len(_TACTICS) < 16:
            _TACTICS[(timeout_ms, decide)] = hit
    return hit


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
            m = [[_real(f"{prefix}{name}_{i + 1}_{j + 1}") for j in range(c)] for i in range(r)]
            if info.symmetric and r == c:
                m = [[m[min(i, j)][max(i, j)] for j in range(c)] for i in range(r)]
            target[name] = [[x.as_ast() for x in row] for row in m]  # `unknowns` keeps them alive
            unknowns[(prefix, name)] = m
    ev = Evaluator(F, 0, point, dpoint)

    def hook(kind: str, a: Any) -> None:
        if kind not in ("nonzero", "positive"):
            return
        if a.__class__ in _NUMS:
            if (a == 0) if kind == "nonzero" else (a <= 0):
                raise Domain("a constant denominator is 0" if kind == "nonzero"
                             else "a constant log argument is not positive")
            return
        ev.collected.append(wrap(a) != 0 if kind == "nonzero" else wrap(a) > 0)

    ev.hook = hook
    F.sink = ev.collected
    if len(_EVALUATORS) > 32:
        _EVALUATORS.clear()
    _EVALUATORS[key] = (ev, unknowns)
    return ev, unknowns


def _differences(lv, rv, F) -> list | None:
    if isinstance(lv, Lazy) and isinstance(rv, Lazy):
        diff = F.sub(lv.c[0], rv.c[0])
        return [] if F.is_zero(diff) else [wrap(diff) != 0]
    if isinstance(lv, Lazy):
        lv, rv = rv, lv
    if isinstance(rv, Lazy):
        rv = Mat([[[rv.c[0] if i == j else F.zero for j in range(lv.cols)]
                   for i in range(lv.rows)]], lv.rows, lv.cols)
        if lv.rows != lv.cols:
            return [] if F.is_zero(rv.c[0][0][0]) else [wrap(rv.c[0][0][0]) != 0]
    if (lv.rows, lv.cols) != (rv.rows, rv.cols):
        return None
    terms = []
    for ra, rb in zip(lv.c[0], rv.c[0]):
        for x, y in zip(ra, rb):
            diff = F.sub(x, y)
            if diff.__class__ in _NUMS:
                if diff == 0:
                    continue
                return None  # a constant difference: certainly not an identity
            terms.append(diff)
    return [F.any_nonzero(terms)] if terms else []


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
