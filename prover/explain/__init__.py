"""Untrusted: what a person needs to hear about a verdict the kernel reached.

`explain(proof, result, book, lemmas)` goes over a `ProofResult` after the kernel has decided it
and adds, without changing any status:
- a counterexample with small integers (the kernel's witness is exact but lives mod a 61-bit
  prime); each one is re-evaluated exactly before it replaces the kernel's;
- for an `unjustified` step, a rule (or shortest list) that justifies it, or the side condition
  the proof does not give, or a split into two justified steps; every suggestion is replayed by
  the kernel before it is shown;
- for a false step, what the cited rules really give from the line before (each replayed);
- for a wrong derivative, whether it is only transposed (a layout slip);
- for a false claim, that it is false, with a small counterexample and (for a derivative) the
  derivative `prove derive` finds, shown only if the kernel decides d(f) = tr(G dX); for a true
  identity that stops short, the rules of the missing last step.
Rule lists are found with every rule of the book and replayed with the checker's own justifier
(`search.certificate`) and the kernel's `replay`, so citing them works; a split line comes from
the search's `split` when it has one (`_search_split`), else from one rule move.
"""
from __future__ import annotations

import copy
import decimal
import re

import random
from dataclasses import dataclass
from fractions import Fraction
from operator import mul as _mul

from ..citations import RuleBook
from ..kernel.errors import ProveError
from ..kernel.evaluate import Domain, Evaluator, Singular, equal_values
from ..kernel.expr import Expr, Func, Num, Pow, Sym, T, d, mul, size, symbols
from ..kernel.parser import parse
from ..kernel.printer import show
from ..kernel.replay import ProofIn, ProofResult, StepResult
from ..kernel.rules import Facts, Rule, replay
from ..kernel.shapes import SCALAR, VarInfo
from ..kernel.truth import Context, Witness, algebra_equal, decide, plan
from ..search import certificate, justify, rewrites, unmet_conditions


class QQ:  # the kernel evaluates over this field too: it only asks a field for these operations
    """Exact rationals (log leaves them: it raises NeedsReals)."""

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
    def fn(name, a):  # exp, log, sqrt, sigmoid, tanh: their values are not rational
        if name in ("log", "sqrt") and a <= 0:
            raise Domain(f"{name} of a non-positive number")
        raise NeedsReals(name)


class NeedsReals(Exception):
    """The value of exp, log, sqrt, sigmoid or tanh entered exact rational arithmetic."""



def exact_witness(lhs: Expr, rhs: Expr, ctx: Context, dims: dict, point: dict, dpoint: dict):
    """Both sides at a rational point, exactly over the rationals; a Witness if they differ."""
    ev = Evaluator(QQ, 0, point, dpoint, ctx.env, dims)
    try:
        lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
    except (Singular, Domain, NeedsReals, ZeroDivisionError, KeyError, IndexError):
        return None
    if equal_values(lv, rv, QQ):
        return None
    return Witness(dict(dims), witness_values(lhs, rhs, point, dpoint), lv.c[0], rv.c[0])


def witness_values(lhs: Expr, rhs: Expr, point: dict, dpoint: dict) -> dict:
    """What a counterexample shows: the values of the variables the two sides use, and of the
    differentials they take (`d(X)` beside a declared variable named `dX`)."""
    used = symbols(lhs) | symbols(rhs)
    differentiated = set().union(*[symbols(n.arg) for e in (lhs, rhs) for n in e.walk()
                                   if isinstance(n, Func) and n.name == "d"])
    values = {k: v for k, v in point.items() if k in used}
    values.update({f"d({k})" if "d" + k in point else "d" + k: v for k, v in dpoint.items()
                   if k in differentiated})
    return values


def _real_evaluator(ctx: Context, dims: dict, point: dict, dpoint: dict) -> "Evaluator":
    """An evaluator over 60-digit reals at a rational point."""
    real = lambda m: [[RR.const(x) for x in row] for row in m]  # noqa: E731
    return Evaluator(RR, 0, {k: real(v) for k, v in point.items()},
                     {k: real(v) for k, v in dpoint.items()}, ctx.env, dims)


class Approx:
    """A real number computed to 60 significant digits (exp, log, sqrt, sigmoid and tanh are
    not rational): shown rounded, with ≈."""

    __slots__ = ("v",)

    def __init__(self, v: decimal.Decimal):
        self.v = v

    def __str__(self) -> str:
        return f"≈{float(self.v):.6g}"


class RR:  # the evaluator's field interface (as QQ), on 60-digit decimals
    """Reals to 60 significant digits: only to show a counterexample the kernel could not give
    exactly (its evidence stays `unknown`); a difference counts only far above the rounding."""

    name = "real"
    zero, one = decimal.Decimal(0), decimal.Decimal(1)
    C = decimal.Context(prec=60, Emax=10_000, Emin=-10_000)

    @staticmethod
    def const(q):
        q = Fraction(q)
        return RR.C.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))

    add = staticmethod(lambda a, b: RR.C.add(a, b))
    sub = staticmethod(lambda a, b: RR.C.subtract(a, b))
    mul = staticmethod(lambda a, b: RR.C.multiply(a, b))
    neg = staticmethod(lambda a: RR.C.minus(a))

    @staticmethod
    def dot(xs, ys):
        total = decimal.Decimal(0)
        for x, y in zip(xs, ys):
            total = RR.C.add(total, RR.C.multiply(x, y))
        return total

    @staticmethod
    def recip(a):
        if RR.is_zero(a):
            raise Singular("division by (nearly) zero")
        return RR.C.divide(1, a)

    @staticmethod
    def is_zero(a) -> bool:
        return abs(a) < decimal.Decimal("1e-40")

    @staticmethod
    def fn(name, a):
        C = RR.C
        if name in ("log", "sqrt") and a <= 0:
            raise Domain(f"{name} of a non-positive number")
        if abs(a) > 1000:
            raise Domain(f"{name} of a number too large to show")
        if name == "exp":
            return C.exp(a)
        if name == "log":
            return C.ln(a)
        if name == "sqrt":
            return C.sqrt(a)
        if name == "sigmoid":
            return C.divide(1, C.add(1, C.exp(C.minus(a))))
        e2 = C.exp(C.multiply(2, a))  # tanh
        return C.divide(C.subtract(e2, 1), C.add(e2, 1))


def approx_counterexample(lhs: Expr, rhs: Expr, ctx: Context, tries: int = 40,
                          seed: int = 0) -> Witness | None:
    """Small integer matrices where the two sides differ, evaluated to 60 digits: for a step
    with exp, log, sqrt, sigmoid or tanh, which the kernel treats as any function with the same
    derivative law and so cannot refute exactly. A difference counts only above 10^-30 of the
    values' size (the rounding is near 10^-55)."""
    rng = random.Random(seed)
    sizes, _, _ = plan(lhs, rhs, ctx)
    syms = ctx.dim_syms
    small = [d for d in ({x: 2 + i for i, x in enumerate(syms)}, {x: 2 for x in syms})
             if ctx.defined(d)]
    for dims in small + sizes[:4]:
        for attempt in range(tries):
            span = 2 if attempt < tries // 2 else 4
            point, dpoint = ctx.draw(dims, lambda s=span: Fraction(rng.randint(-s, s)))
            ev = _real_evaluator(ctx, dims, point, dpoint)
            try:
                lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
            except (Singular, Domain, ZeroDivisionError, KeyError, IndexError, ArithmeticError):
                continue
            if (lv.rows, lv.cols) != (rv.rows, rv.cols):
                continue
            scale = max([abs(x) for m in (lv.c[0], rv.c[0]) for row in m for x in row] + [RR.one])
            if not any(abs(x - y) > scale * decimal.Decimal("1e-30")
                       for ra, rb in zip(lv.c[0], rv.c[0]) for x, y in zip(ra, rb)):
                continue
            shown = lambda m: [[Approx(x) for x in row] for row in m]  # noqa: E731
            return Witness(dict(dims), witness_values(lhs, rhs, point, dpoint), shown(lv.c[0]), shown(rv.c[0]))
    return None


def small_counterexample(lhs: Expr, rhs: Expr, ctx: Context, tries: int = 60,
                         seed: int = 0) -> Witness | None:
    """Small integer matrices where the two sides differ, checked exactly over the rationals."""
    rng = random.Random(seed)
    sizes, _, _ = plan(lhs, rhs, ctx)
    # the smallest sizes first, where the claim is asserted: a witness is checked exactly, so it
    # may come from any size, and a 2×2 one is easier to read than one at the sizes truth needed
    syms = ctx.dim_syms
    cands = [{x: 2 + i for i, x in enumerate(syms)}, {x: 2 for x in syms}]
    small = [d for k, d in enumerate(cands) if ctx.defined(d) and d not in sizes and d not in cands[:k]]
    for dims in small + sorted(sizes, key=lambda d: (max(d.values(), default=0), list(d.values()))):
        for attempt in range(tries):
            span = 2 if attempt < tries // 2 else 5
            point, dpoint = ctx.draw(dims, lambda s=span: Fraction(rng.randint(-s, s)))
            w = exact_witness(lhs, rhs, ctx, dims, point, dpoint)
            if w is not None:
                return w
    return None


def sizes_text(sizes: list[dict[str, int]]) -> str:
    """`n = 2, 3, 4` or `(m, n) = (2, 3), (3, 2)`."""
    keys = list(sizes[0]) if sizes else []
    if not keys:
        return "the declared sizes"
    if len(sizes) > 6:  # a grid: the range of each symbol, and the order the claim kept
        ranges = ", ".join(f"{k} = {min(d[k] for d in sizes)}..{max(d[k] for d in sizes)}"
                           for k in keys)
        order = [f"{a} ≥ {b}" for a in keys for b in keys if a != b
                 and all(d[a] >= d[b] for d in sizes) and not all(d[a] == d[b] for d in sizes)]
        return f"{len(sizes)} size assignments, {ranges}" + (
            f" (all with {', '.join(order)}: the claim is defined or assumed only there)"
            if order else "")
    vals = [", ".join(str(d.get(k, "?")) for k in keys) for d in sizes]
    return (f"{keys[0]} = " if len(keys) == 1 else f"({', '.join(keys)}) = ") + ", ".join(
        v if len(keys) == 1 else f"({v})" for v in vals)


def _listing(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else "[" + ", ".join(ids) + "]"


_SEARCH_FAILS = (ProveError, RecursionError, ArithmeticError, KeyError, ValueError, IndexError)


def _works(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> bool:
    """Would the kernel accept this citation for this step? The same justifier the checker uses
    (`search.certificate`), then the kernel's replay: suggestions are shown only if so."""
    try:
        moves = certificate(prev, cur, rules, ctx)
        if moves is None:
            return False
        line = replay(prev, moves, {r.id: r for r in rules}, Facts(ctx.env, ctx.varying, ctx.assumed), ctx)
        return algebra_equal(line, cur, ctx)
    except _SEARCH_FAILS:
        return False


def _rewriting(book: RuleBook) -> list[Rule]:
    return [r for r in book.rules.values() if r.kind == "rewrite"]


def _minimal(prev: Expr, cur: Expr, ids: list[str], ctx: Context, book: RuleBook) -> list[str]:
    """Drop rules from a working list while the kernel still accepts it. A rule is tried out
    only when the list without it passes a cheap probe first (the search without its deep
    stage): a failed full search costs far more than a found one, and most of the rules of a
    list found with the fewest rules are needed."""
    ids = list(ids)
    for rid in list(ids):
        if len(ids) > 1:
            fewer = [x for x in ids if x != rid]
            if _joint(prev, cur, [book.rules[x] for x in fewer], ctx, deep_work=0) is not None \
                    and _works(prev, cur, [book.rules[x] for x in fewer], ctx):
                ids = fewer
    return ids


def _applies(rule: Rule, lines: list[Expr], ctx: Context) -> bool:
    """Does the rule match somewhere in one of these lines (powers read as products)?"""
    from ..search.match import Facts as SearchFacts

    sfacts = SearchFacts(ctx.env, ctx.varying, ctx.assumed)
    for line in lines:
        for view in dict.fromkeys((line, _unfold_powers(line))):
            try:
                if next(rewrites(view, rule, sfacts, limit=1), None) is not None:
                    return True
            except _SEARCH_FAILS:
                continue
    return False


def _joint(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context, **kw):
    try:
        try:
            return justify(prev, cur, rules, ctx, **kw)
        except TypeError:  # a search without the deep stage: no `deep_work`
            kw.pop("deep_work", None)
            return justify(prev, cur, rules, ctx, **kw)
    except _SEARCH_FAILS:
        return None


def suggest(prev: Expr, cur: Expr, ctx: Context, book: RuleBook, wide: bool = False) -> list[str]:
    """The shortest list of rules found that justifies a true step, checked by the kernel (with
    the checker's own justifier, so citing it works). `wide`: search harder before giving up.
    Remembered on the rule book under everything the search reads (a class repeats its steps)."""
    memo = book.__dict__.setdefault("_suggested", {})
    key = (prev, cur, ctx.key, ctx.assumed, wide)
    if key not in memo:
        if len(memo) >= 1024:
            memo.clear()
        memo[key] = _shared("suggest", (prev, cur, _ctx_parts(ctx), wide, id(book) == _BOOK),
                            lambda: _suggest(prev, cur, ctx, book, wide))
    return list(memo[key])


# Answers another process of the same run has found (`prove grade` shares them between its
# workers: grade/shared.py): None, or an object with `get(kind, text)` (a JSON value or None) and
# `put(kind, text, value)`. Only explanations are shared — text a person reads, each already
# replayed by the kernel where it was found — never a verdict. The key is the text of everything
# the answer depends on; a process whose rule book is not the installed one shares nothing.
SHARED = None
_BOOK = None  # id() of the rule book answers may be shared for (set with SHARED)


def _ctx_parts(ctx: Context) -> tuple:
    env, varying, relations, needs = ctx.key
    return (env, tuple(sorted(varying)), relations, needs, ctx.assumed)


def _shared(kind: str, parts: tuple, compute):
    if SHARED is None or not parts[-1]:
        return compute()
    text = repr(parts)
    hit = SHARED.get(kind, text)
    if hit is not None:
        return hit
    value = compute()
    SHARED.put(kind, text, value)
    return value


def _suggest(prev: Expr, cur: Expr, ctx: Context, book: RuleBook, wide: bool) -> list[str]:
    if algebra_equal(prev, cur, ctx):
        return ["algebra"]
    everything = _rewriting(book)
    tries = [{"max_apps": 4, "budget": 4000, "fewest": True}]
    if wide:
        tries.append({"max_apps": 6, "budget": 20000, "fewest": False})
    for i, kw in enumerate(tries):
        found = _joint(prev, cur, everything, ctx, **kw)
        if found is not None:
            ids = [rid for rid in found.rules if rid in book.rules]
            if ids and _works(prev, cur, [book.rules[x] for x in ids], ctx):
                return _minimal(prev, cur, ids, ctx, book)
        if i == 0:  # one rule alone, where it matches (the joint search can miss it)
            for r in everything:
                if _applies(r, [prev, cur], ctx) and _works(prev, cur, [r], ctx):
                    return [r.id]
    return []


@dataclass
class Split:
    """An intermediate line `middle`: prev → middle by `first`, middle → cur by `second`; each
    half replayed by the kernel with the checker's justifier, and the middle line decided true."""

    middle: Expr
    first: list[str]
    second: list[str]


def _search_split():
    """The search's `split(e, e2, rules, ctx) -> Expr | None` (an intermediate line that the
    given rules justify on both sides), once it has one; None before that."""
    from .. import search

    found = getattr(search, "split", None)
    if found is None:
        try:
            from ..search.deep import split as found  # type: ignore[no-redef]
        except ImportError:
            return None
    return found


def split_step(prev: Expr, cur: Expr, ctx: Context, book: RuleBook, rules: list[Rule],
               local: bool = True) -> Split | None:
    """An intermediate line that splits a true step into two justified ones (kernel-checked):
    the search's split with the cited rules first, then (`local`) one rule applied at one place
    in either line with the rest of the way by the shortest rule list found."""
    helper = _search_split()
    ids = [r.id for r in rules if r.kind == "rewrite" and r.id in book.rules]
    if helper is not None and ids:
        try:
            middle = helper(prev, cur, [book.rules[x] for x in ids], ctx)
        except _SEARCH_FAILS:
            middle = None
        if middle is not None:
            found = _checked_split(prev, middle, cur, ctx, book, ids, ids)
            if found is not None:
                return found
    return _one_move_split(prev, cur, ctx, book) if local else None


def _checked_split(prev: Expr, middle: Expr, cur: Expr, ctx: Context, book: RuleBook,
                   first: list[str] | None = None, second: list[str] | None = None) -> Split | None:
    """Both halves replayed by the kernel (rules given are tried as they are, then the shortest
    list found), and the middle line decided equal to the line before."""
    if middle is None or algebra_equal(middle, prev, ctx) or algebra_equal(middle, cur, ctx):
        return None

    def half(a: Expr, b: Expr, ids: list[str] | None) -> list[str]:
        if ids and _works(a, b, [book.rules[x] for x in ids], ctx):
            return _minimal(a, b, ids, ctx, book)
        return suggest(a, b, ctx, book)

    one = half(prev, middle, first)
    two = half(middle, cur, second) if one and one != ["algebra"] else []
    if not two or two == ["algebra"]:
        return None
    try:
        if not decide(prev, middle, ctx).holds:
            return None
    except _SEARCH_FAILS:
        return None
    return Split(middle, one, two)


def _one_move_split(prev: Expr, cur: Expr, ctx: Context, book: RuleBook,
                    limit: int = 12) -> Split | None:
    """One rule applied at one place in either line, the rest of the way by the shortest rule
    list found (until the search's `split` does better)."""
    from ..search.match import Facts as SearchFacts

    sfacts = SearchFacts(ctx.env, ctx.varying, ctx.assumed)
    grow = 2 * max(size(prev), size(cur)) + 8
    tried = 0
    for rule in _rewriting(book):
        for side, line in ((0, prev), (1, cur)):
            try:
                outs = list(rewrites(line, rule, sfacts, limit=3))
            except _SEARCH_FAILS:
                continue
            for middle, _ in outs:
                if size(middle) > grow or isinstance(rule.lhs, Sym) or isinstance(rule.rhs, Sym):
                    continue  # not `f → tr(f)` anywhere: it makes lines, not progress
                tried += 1
                if tried > limit:
                    return None
                try:
                    found = _checked_split(prev, middle, cur, ctx, book,
                                           first=[rule.id] if side == 0 else None,
                                           second=[rule.id] if side == 1 else None)
                except _SEARCH_FAILS:
                    found = None
                if found is not None:
                    return found
    return None


def _unfold_powers(e: Expr) -> Expr:
    """X^k (k = 2..4) as X X … X, so a product rule can be seen to apply (same value)."""
    kids = e.children()
    if isinstance(e, Pow) and 2 <= e.k <= 4 and not isinstance(e.arg, Num):
        base = _unfold_powers(e.arg)
        return mul(*[base] * e.k)
    if not kids:
        return e
    return e.with_children(tuple(_unfold_powers(k) for k in kids))


def false_hint(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> str:
    """What the cited rules really give from the line before (each one replayed by the kernel)."""
    return _shared("false_hint", (prev, cur, tuple((r.id, r.content()) for r in rules),
                                  _ctx_parts(ctx), True),
                   lambda: _false_hint(prev, cur, rules, ctx))


def _unmet(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> list[str]:
    """The side conditions the proof does not give that the cited rules would need for this
    step: a search that grants every side condition (`relaxed`), then what its moves relied on.
    Cited rules with no side condition at all need none (`_conditionless`): no search."""
    if _conditionless(rules, ctx):
        return []
    try:
        relaxed = justify(prev, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
    except _SEARCH_FAILS:
        relaxed = None
    return unmet_conditions(relaxed, rules, ctx) if relaxed else []


_CONDITIONS = ("a scalar", "constant", "invertible", "symmetric")


def _conditionless(rules: list[Rule], ctx: Context, kinds: tuple[str, ...] = _CONDITIONS) -> bool:
    """Is every text `unmet_conditions` can give for these rules, whatever moves a relaxed search
    finds, free of the side conditions `kinds`? Its texts are those of `kernel.rules.unmet`
    that contain "needs": "<rule> needs <subterm> to be <kind>" for a pattern variable with
    that condition (a scalar, constant, invertible, symmetric: none of `kinds` when this holds),
    and a shape text, which spells "needs" only where a name it is printed from does (a rule
    id, a pattern variable or symbol of a rule, a declared variable or size symbol: all in the
    text searched here; then no such text is kept at all)."""
    for r in rules:
        has = {"a scalar": bool(r.scalar),
               "constant": bool(r.constant) or any(v.constant for v in r.vars.values()),
               "invertible": bool(r.invertible) or any(v.invertible for v in r.vars.values()),
               "symmetric": any(v.symmetric for v in r.vars.values())}
        if any(has[k] for k in kinds):
            return False
    return "needs" not in repr((ctx.key, ctx.assumed, [(r.id, r.content()) for r in rules]))


def _false_hint(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> str:
    unmet = _unmet(prev, cur, rules, ctx)
    if unmet:
        return "the cited rule gives this line only where its side condition holds: " + "; ".join(unmet)
    names = set(ctx.env)
    outs: list[str] = []
    from ..search.match import Facts as SearchFacts

    sfacts = SearchFacts(ctx.env, ctx.varying, ctx.assumed)
    starts = [prev] + ([_unfold_powers(prev)] if _unfold_powers(prev) != prev else [])
    for rule in rules:
        if rule.kind != "rewrite":
            continue
        for start in starts:
            for out, _ in rewrites(start, rule, sfacts, limit=40):
                text = show(out, names)
                if text not in outs and _works(prev, out, [rule], ctx):
                    outs.append(text)
                if len(outs) >= 3:
                    break
            if outs:
                break
    if outs:
        return "from the line before, the cited rule gives " + " or ".join(outs)
    named = [r.id for r in rules if r.kind == "rewrite"]
    if named:
        return f"{', '.join(named)} does not apply anywhere in the line before"
    return "algebra only regroups (sums, products, transposes, inverses); it cannot change the value"


def _cited_rules(r: StepResult, book: RuleBook, lemmas) -> list[Rule]:
    out = []
    for rid in r.by:
        if rid in book.rules:
            out.append(book.rules[rid])
        elif lemmas is not None and rid != "index":
            rule, _ = lemmas(rid)
            if rule is not None:
                out.append(rule)
    return out


def explain(proof: ProofIn, result: ProofResult, book: RuleBook, lemmas=None) -> ProofResult:
    ctx = result.context
    if ctx is None:
        return result
    names = set(proof.variables)
    prev = None
    claim = tuple(sorted(proof.claim.items()))
    for r in result.steps:
        key = _step_key(r, proof, ctx, book, prev, claim)
        hit = _EXPLAINED.get(key) if key is not None else None
        if hit is not None:
            r.message, r.help, suggestion, witness = hit
            r.suggestion = list(suggestion)
            if witness is not _SAME:
                r.counterexample = copy.deepcopy(witness)
        else:
            before = r.counterexample
            try:
                _explain_step(r, proof, ctx, names, book, lemmas, prev)
            except _SEARCH_FAILS:
                pass  # an explanation is a courtesy: the verdict stands without it
            if key is not None:
                if len(_EXPLAINED) >= EXPLAINED_KEPT:
                    _EXPLAINED.clear()
                _EXPLAINED[key] = (r.message, r.help, list(r.suggestion), _SAME
                                   if r.counterexample is before else
                                   copy.deepcopy(r.counterexample))
        if r.status != "error" and r.expr_tree is not None and not (
                r.index < len(proof.steps) and proof.steps[r.index].derivative):
            prev = r.expr_tree  # the line the kernel checks the next step from
    if result.status == "invalid":
        try:
            _explain_claim(proof, result, ctx, names, book, prev)
        except _SEARCH_FAILS:
            pass
    return result


# What `_explain_step` says of a step, remembered under everything it reads (a class repeats
# its steps, right and wrong): the step's verdict and texts, its lines, the line before (for a
# derivative not read off), the claim, the context's key and the rule book. A step citing a
# lemma, or in error, is explained afresh.
_EXPLAINED: dict[tuple, tuple] = {}
EXPLAINED_KEPT = 4096
_SAME = object()  # the kernel's counterexample was kept as it was


def _step_key(r: StepResult, proof: ProofIn, ctx: Context, book: RuleBook, prev,
              claim: tuple) -> tuple | None:
    if r.status == "error" or any(b not in book.rules and b != "index" for b in r.by):
        return None
    derivative = r.index < len(proof.steps) and proof.steps[r.index].derivative
    w = r.counterexample
    try:
        sizes = tuple(tuple(sorted(x.items())) for x in r.sizes)
        key = (id(book), r.status, r.message, r.help, r.evidence, sizes, r.index > 0,
               tuple(r.by), r.before_tree, r.expr_tree, derivative,
               prev if derivative and r.before_tree is None else None,
               None if w is None else (w.labels, bool(w.modulus)), claim, ctx.key, ctx.assumed)
        hash(key)
    except TypeError:
        return None
    return key


def _readable(r: StepResult, left: Expr, right: Expr, ctx: Context) -> None:
    """Replace the kernel's witness (residues mod a 61-bit prime) by small integers, checked
    exactly over the rationals."""
    if r.counterexample is None or not r.counterexample.modulus:
        return
    small = small_counterexample(left, right, ctx)
    if small is not None:
        small.labels = r.counterexample.labels
        r.counterexample = small


def _g_form(g: Expr, wrt: str, layout: str) -> Expr:
    """tr(G dX) for a G in the claim's layout."""
    return Func("tr", mul(T(g) if layout == "denominator" else g, d(Sym(wrt))))


def _h_form(h: Expr, wrt: str, proof: ProofIn) -> Expr:
    """dx^T H dx for a Hessian H in x (vec(dX)^T H vec(dX) for a matrix X)."""
    dx = d(Sym(wrt)) if proof.variables[wrt].shape.cols == 1 else Func("vec", d(Sym(wrt)))
    return mul(T(dx), h, dx)


def _explain_step(r: StepResult, proof, ctx: Context, names, book, lemmas, prev) -> None:
    if r.evidence == "probabilistic" and r.sizes and "random points" in r.message:
        r.message = r.message.replace("random points", f"random points at {sizes_text(r.sizes)}", 1)
    derivative = r.index < len(proof.steps) and proof.steps[r.index].derivative
    before, cur = r.before_tree, r.expr_tree
    if derivative and before is None and prev is not None and cur is not None:
        _derivative_not_read_off(r, proof, ctx, names, book, prev)
        return
    if r.status == "error" and r.counterexample is not None:
        _rule_counterexample(r, book, lemmas)
        return
    if before is None or cur is None:
        return
    if r.status == "invalid" and r.counterexample is None and r.evidence == "unknown" \
            and "may be any function" in r.message:
        _numeric_refutation(r, before, cur, ctx, names)
    if r.counterexample is not None and r.counterexample.labels == ("this line", "the claim"):
        _readable(r, cur, parse(proof.claim["equals"], names), ctx)
    else:
        _readable(r, before, cur, ctx)
    if r.status == "invalid" and r.index > 0 and not r.help and r.counterexample is not None:
        if r.counterexample.labels == ("line before", "this line"):
            r.help = false_hint(before, cur, _cited_rules(r, book, lemmas), ctx)
        elif _transposed(before if r.counterexample.labels[1] == "this line" else cur,
                         cur if r.counterexample.labels[1] == "this line" else
                         parse(proof.claim["equals"], names), ctx):
            r.message += " (they differ by a transpose: check the layout)"
    if derivative and "hessian" in proof.claim and r.status == "invalid" and not r.help \
            and decide(cur, T(cur), ctx).kind == "false":
        r.help = (f"a Hessian is symmetric, and {show(cur, names)} is not: from a line "
                  f"d{proof.claim['wrt']}^T G d{proof.claim['wrt']} it is (G + G^T)/2")
    if r.status == "unjustified" and r.index > 0 and r.by and "derivative-from-differential" not in r.by \
            and not (derivative and r.suggestion):  # a read-off citing another rule: named already
        _unjustified(r, before, cur, ctx, names, book, lemmas)
    elif r.status == "unjustified" and r.index == 0:  # a true start that is not d(f) (or lhs)
        hint = suggest(before, cur, ctx, book)
        if hint and hint != ["algebra"]:  # the start cites nothing: the help says where it goes
            r.help = (f"start with `- expr: {show(before, names)}`, then this line as a step "
                      f"`by: {_listing(hint)}`")


def _numeric_refutation(r: StepResult, before: Expr, cur: Expr, ctx: Context, names) -> None:
    """A step the kernel could not refute exactly because of exp, log, sqrt, sigmoid or tanh:
    the counterexample its values to 60 digits give, if they differ. The verdict and the
    evidence (`unknown`) stay the kernel's; the message says how the point was found."""
    try:
        w = approx_counterexample(before, cur, ctx)
    except (RecursionError, ArithmeticError, ValueError, KeyError, IndexError, ProveError):
        return
    if w is None:
        undefined = _undefined_everywhere(cur, ctx)
        if undefined:
            r.message = (f"this line is not defined at any point tried ({undefined}): a step must "
                         "stay where the claim is defined")
        return
    fs = sorted({n.name for e in (before, cur) for n in e.walk()
                 if isinstance(n, Func) and n.name in ("exp", "log", "sqrt", "sigmoid", "tanh")})
    r.counterexample = w
    r.message = (f"this step is false: {show(before, names)} ≠ {show(cur, names)} (the "
                 f"counterexample's values are computed to 60 digits, not exactly: {' and '.join(fs)} "
                 "has no rational value; the exact check leaves it undecided)")


def _undefined_everywhere(e: Expr, ctx: Context, tries: int = 30) -> str:
    """Why `e` has no value at any of a few small points (a log or sqrt of a negative number),
    or "" when it has one somewhere."""
    rng, why = random.Random(1), ""
    syms = ctx.dim_syms
    dims = {x: 2 + i for i, x in enumerate(syms)}
    for k in range(tries):  # half the points with positive entries only (where a log is)
        low = -3 if k % 2 else 1
        point, dpoint = ctx.draw(dims, lambda: Fraction(rng.randint(low, 3)))
        try:
            ev = _real_evaluator(ctx, dims, point, dpoint)
            ev.full(ev.value(e), e, e)
            return ""
        except Domain as exc:
            why = str(exc)
        except (Singular, ArithmeticError, KeyError, IndexError, ValueError):
            return ""
    return why


def _unjustified(r: StepResult, before: Expr, cur: Expr, ctx: Context, names, book, lemmas) -> None:
    """Name the rules that justify a true step, or a line that splits it; only what the kernel
    accepts is named. A side condition is blamed only when no rule list does it."""
    rules = _cited_rules(r, book, lemmas)
    hint = suggest(before, cur, ctx, book)
    # with a rule list to name, what the relaxed search finds is read only for an invertibility
    # to `assume:`, which rules with no such condition cannot want (`_conditionless`)
    unmet = _unmet(before, cur, rules, ctx) if not hint or not _conditionless(
        rules, ctx, ("invertible",)) else []
    wanted = [m.group(1) for u in unmet if (m := re.search(r"needs (.+) to be invertible$", u))]
    if unmet and len(wanted) == len(unmet):  # what an `assume:` can state
        r.help = (f"{'; '.join(unmet)}: if the claim presumes it, state it in the file: "
                  f"assume: {{invertible: [{', '.join(dict.fromkeys(wanted))}]}}")
    if not hint:
        if unmet:
            r.message = "this step is true, but " + "; ".join(unmet)
            return
        found = split_step(before, cur, ctx, book, rules, local=False)
        if found is not None:
            r.help = _split_text(found, names)
            return
        hint = suggest(before, cur, ctx, book, wide=True)
    if hint and hint != ["algebra"]:
        r.suggestion = hint
        cited = set(r.by)
        extra = [h for h in hint if h not in cited]
        if cited <= set(hint) and extra:
            r.message += f"; it also needs {_listing(extra)}: {_listing(hint)} would justify it"
        else:
            r.message += f"; {_listing(hint)} would justify it"
        return
    found = _one_move_split(before, cur, ctx, book)
    if found is not None:
        r.help = _split_text(found, names)
        return
    r.help = ("no list of rules found in a bounded search justifies it in one step: "
              "write an intermediate line")


def _split_text(found: Split, names) -> str:
    return (f"split it in two: first {show(found.middle, names)} by {_listing(found.first)}, "
            f"then this line by {_listing(found.second)}")


def _derivative_not_read_off(r: StepResult, proof, ctx: Context, names, book, prev: Expr) -> None:
    """A derivative: step after a line that is not tr(G dX): a readable counterexample when it
    is false, the missing tr(G dX) line (with its rules, kernel-checked) when it is true."""
    wrt, layout = proof.claim["wrt"], proof.claim.get("layout", "numerator")
    hess = "hessian" in proof.claim
    target = _h_form(r.expr_tree, wrt, proof) if hess else _g_form(r.expr_tree, wrt, layout)
    _readable(r, prev, target, ctx)
    if r.status != "unjustified":
        return
    hint = suggest(prev, target, ctx, book, wide=True)
    if hint:
        r.help = (f"write the line {show(target, names)} before it, by {_listing(hint)}; then "
                  + ("hessian-from-second-differential reads the Hessian off it" if hess else
                     "theorem-4 reads the derivative off it"))


def _rule_counterexample(r: StepResult, book: RuleBook, lemmas) -> None:
    """A cited rule that is not confirmed: its counterexample in small integers."""
    w = r.counterexample
    if not w.modulus or "the rule " not in r.message:
        return
    rid = r.message.split("the rule ", 1)[1].split(" ", 1)[0]
    rule = book.rules.get(rid)
    if rule is None and lemmas is not None:
        try:
            rule, _ = lemmas(rid)
        except _SEARCH_FAILS:
            rule = None
    if not isinstance(rule, Rule):
        return
    env = dict(rule.vars)
    for n in rule.scalar:
        env[n] = VarInfo(SCALAR, env[n].constant, env[n].symmetric, env[n].invertible)
    varying = {n for n, v in env.items() if not (v.constant or n in rule.constant)}
    small = small_counterexample(rule.lhs, rule.rhs, Context(env, varying))
    if small is not None:
        small.labels = ("left side", "right side")
        r.counterexample = small


def _cex_text(w: Witness) -> str:
    from ..render import (
        counterexample_line,  # render imports the loader, which imports us
    )

    return counterexample_line(w)


def _explain_claim(proof: ProofIn, result: ProofResult, ctx: Context, names, book, last) -> None:
    """Say when the claim itself is false, with a small counterexample and (for a derivative)
    the derivative `derive` finds, confirmed by the kernel; when the claim is true but the
    proof stops short of it, the step that would finish it."""
    claim = proof.claim
    if "hessian" in claim:
        if not claim.get("equals"):
            return
        wrt = claim["wrt"]
        f, claimed = parse(claim["hessian"], names), parse(claim["equals"], names)
        second, form = d(d(f)), _h_form(claimed, wrt, proof)
        truth = decide(second, form, ctx)
        if truth.kind == "false":
            text = (f"the claim is false: d(d({claim['hessian']})) is not {show(form, names)} with "
                    "the claimed H")
            w = small_counterexample(second, form, ctx)
            labels = (f"d(d({claim['hessian']}))", f"d{wrt}^T H d{wrt} with the claimed H")
        elif truth.holds and decide(claimed, T(claimed), ctx).kind == "false":
            text = (f"the claim is false: {show(claimed, names)} is not symmetric, and a Hessian is; "
                    f"d(d(f)) = d{wrt}^T H d{wrt} holds for it, but that only fixes H's symmetric part "
                    "(H + H^T)/2, which is the Hessian")
            w = small_counterexample(claimed, T(claimed), ctx)
            labels = ("the claimed H", "its transpose")
        else:
            return
    elif "derivative" in claim:
        if not claim.get("equals"):
            return
        wrt, layout = claim["wrt"], claim.get("layout", "numerator")
        f, claimed = parse(claim["derivative"], names), parse(claim["equals"], names)
        if decide(d(f), _g_form(claimed, wrt, layout), ctx).kind != "false":
            return
        true_g, how = derived(claim["derivative"], wrt, proof, ctx, layout)
        fx = f"∂({claim['derivative']})/∂{wrt}"
        if true_g is not None:
            text = (f"the claim is false: {fx} = {show(true_g, names)} ({how}), not "
                    f"{show(claimed, names)}")
            w = small_counterexample(true_g, claimed, ctx)
            labels = (f"∂f/∂{wrt}", "the claim")
        else:
            text = f"the claim is false: {fx} is not {show(claimed, names)} ({how})"
            w = small_counterexample(d(f), _g_form(claimed, wrt, layout), ctx)
            labels = (f"d({claim['derivative']})", f"tr(G d{wrt}) with the claimed G")
    else:
        lhs, rhs = parse(claim["lhs"], names), parse(claim["rhs"], names)
        truth = decide(lhs, rhs, ctx)
        if truth.kind != "false":
            if truth.holds and last is not None and result.message.startswith("incomplete: the proof ends"):
                hint = suggest(last, rhs, ctx, book, wide=True)
                if hint and hint != ["algebra"]:
                    result.message += (f"; the claim is true: a last step to {show(rhs, names)} by "
                                       f"{_listing(hint)} would finish it")
            return
        text = f"the claim is false: {show(lhs, names)} ≠ {show(rhs, names)}"
        w = small_counterexample(lhs, rhs, ctx)
        labels = ("lhs", "rhs")
    if w is not None:
        w.labels = labels
        text += "; " + _cex_text(w)
    result.message = text + (f"; {result.message}" if result.message else "")


def derived(f_text: str, wrt: str, proof: ProofIn, ctx: Context, layout: str):
    """∂f/∂wrt as `prove derive` finds it, in the claim's layout, if the kernel confirms that
    d(f) = tr(G dX); else (None, why not)."""
    from ..derive import (  # derive checks its proofs through checking.py
        DeriveError,
        derive,
    )

    try:
        g = derive(f_text, wrt, proof.variables, layout).derivative
    except (DeriveError, *_SEARCH_FAILS) as exc:
        return None, f"prove derive cannot find the derivative: {exc}"
    truth = decide(d(parse(f_text, set(proof.variables))), _g_form(g, wrt, layout), ctx)
    if not truth.holds:
        return None, "prove derive's answer was not confirmed by the kernel"
    return g, f"found by prove derive and confirmed by the kernel: {truth.kind}"


def _transposed(a: Expr, b: Expr, ctx: Context) -> bool:
    try:
        return decide(T(a), b, ctx, exact=False).holds
    except (ProveError, ArithmeticError):
        return False


__all__ = ["Split", "derived", "explain", "false_hint", "small_counterexample", "split_step", "suggest"]
