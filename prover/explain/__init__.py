"""Untrusted: what a person needs to hear about a verdict the kernel reached.

`explain(proof, result, book, lemmas)` goes over a `ProofResult` after the kernel has decided it
and adds, without changing any status:
- a counterexample with small integers (the kernel's witness is exact but lives mod a 61-bit
  prime); each one is re-evaluated exactly before it replaces the kernel's;
- for an `unjustified` step, a rule (or shortest list) that justifies it, or the side condition
  the proof does not give, or a split into two justified steps; every suggestion is replayed by
  the kernel before it is shown;
- for a false step, what the cited rules really give from the line before;
- for a wrong derivative, whether it is only transposed (a layout slip).
"""
from __future__ import annotations

import random
from fractions import Fraction
from operator import mul as _mul

from ..kernel.expr import Expr, T, symbols
from ..citations import RuleBook
from ..kernel.replay import ProofIn, ProofResult, StepResult
from ..kernel.rules import Facts, Rule, replay
from ..kernel.evaluate import Domain, Evaluator, Singular, equal_values
from ..kernel.truth import Context, Witness, algebra_equal, decide, plan
from ..kernel.printer import show
from ..kernel.parser import parse
from ..kernel.errors import ProveError
from ..search import justify, rewrites, unmet_conditions


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
    def log(a):
        if a <= 0:
            raise Domain("log of a non-positive number")
        raise NeedsReals("log")


class NeedsReals(Exception):
    """A log value entered exact rational arithmetic."""



def exact_witness(lhs: Expr, rhs: Expr, ctx: Context, dims: dict, point: dict, dpoint: dict):
    """Both sides at a rational point, exactly over the rationals; a Witness if they differ."""
    ev = Evaluator(QQ, 0, point, dpoint, ctx.env, dims)
    try:
        lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
    except (Singular, Domain, NeedsReals, ZeroDivisionError, KeyError, IndexError):
        return None
    if equal_values(lv, rv, QQ):
        return None
    used = symbols(lhs) | symbols(rhs)
    values = {k: v for k, v in point.items() if k in used}
    values.update({"d" + k: v for k, v in dpoint.items() if k in used})
    return Witness(dict(dims), values, lv.c[0], rv.c[0])


def small_counterexample(lhs: Expr, rhs: Expr, ctx: Context, tries: int = 60,
                         seed: int = 0) -> Witness | None:
    """Small integer matrices where the two sides differ, checked exactly over the rationals."""
    rng = random.Random(seed)
    sizes, _, _ = plan(lhs, rhs, ctx)
    for dims in sorted(sizes, key=lambda d: (max(d.values(), default=0), list(d.values()))):
        for attempt in range(tries):
            span = 2 if attempt < tries // 2 else 5
            point, dpoint = ctx.draw(dims, lambda: Fraction(rng.randint(-span, span)))
            w = exact_witness(lhs, rhs, ctx, dims, point, dpoint)
            if w is not None:
                return w
    return None


def sizes_text(sizes: list[dict[str, int]]) -> str:
    """`n = 2, 3, 4` or `(m, n) = (2, 3), (3, 2)`."""
    keys = list(sizes[0]) if sizes else []
    if not keys:
        return "the declared sizes"
    vals = [", ".join(str(d.get(k, "?")) for k in keys) for d in sizes]
    return (f"{keys[0]} = " if len(keys) == 1 else f"({', '.join(keys)}) = ") + ", ".join(
        v if len(keys) == 1 else f"({v})" for v in vals)


def _listing(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else "[" + ", ".join(ids) + "]"


def _works(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> bool:
    """Does the kernel accept this citation for this step? (Suggestions are shown only if so.)"""
    found = justify(prev, cur, rules, ctx, max_apps=3, budget=800)
    if found is None:
        return False
    try:
        line = replay(prev, found.moves, {r.id: r for r in rules}, Facts(ctx.env, ctx.varying), ctx)
    except ProveError:
        return False
    return algebra_equal(line, cur, ctx)


def suggest(prev: Expr, cur: Expr, ctx: Context, book: RuleBook) -> list[str]:
    """The shortest list of rules found that justifies a true step, checked by the kernel."""
    everything = [r for r in book.rules.values() if r.kind == "rewrite"]
    for r in everything:
        if _works(prev, cur, [r], ctx):
            return [r.id]
    found = justify(prev, cur, everything, ctx, max_apps=4, budget=4000, fewest=True)
    if found is None:
        return []
    chosen = [book.rules[rid] for rid in found.rules if rid in book.rules]
    if not chosen:
        return ["algebra"]
    return found.rules if _works(prev, cur, chosen, ctx) else []


def false_hint(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context) -> str:
    """What the cited rules really give from the line before."""
    relaxed = justify(prev, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
    unmet = unmet_conditions(relaxed, rules, ctx) if relaxed else []
    if unmet:
        return "the cited rule gives this line only where its side condition holds: " + "; ".join(unmet)
    facts = Facts(ctx.env, ctx.varying)
    names = set(ctx.env)
    outs: list[str] = []
    from ..search.match import Facts as SearchFacts
    sfacts = SearchFacts(ctx.env, ctx.varying)
    for rule in rules:
        if rule.kind != "rewrite":
            continue
        for out, _ in rewrites(prev, rule, sfacts, limit=40):
            text = show(out, names)
            if text not in outs:
                outs.append(text)
            if len(outs) >= 3:
                break
    del facts
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
    for r in result.steps:
        try:
            _explain_step(r, proof, ctx, names, book, lemmas)
        except (ProveError, RecursionError, ArithmeticError, KeyError, ValueError):
            continue  # an explanation is a courtesy: the verdict stands without it
    return result


def _explain_step(r: StepResult, proof, ctx: Context, names, book, lemmas) -> None:
    if r.evidence == "probabilistic" and r.sizes and "random points" in r.message:
        r.message = r.message.replace("random points", f"random points at {sizes_text(r.sizes)}", 1)
    before, cur = r.before_tree, r.expr_tree
    if before is None or cur is None:
        return
    if r.counterexample is not None and r.counterexample.modulus:
        left, right = before, cur
        if r.counterexample.labels == ("this line", "the claim"):
            left, right = cur, parse(proof.claim["equals"], names)
        small = small_counterexample(left, right, ctx)
        if small is not None:
            small.labels = r.counterexample.labels
            r.counterexample = small
    if r.status == "invalid" and r.index > 0 and not r.help and r.counterexample is not None:
        if r.counterexample.labels == ("line before", "this line"):
            r.help = false_hint(before, cur, _cited_rules(r, book, lemmas), ctx)
        elif _transposed(before if r.counterexample.labels[1] == "this line" else cur,
                         cur if r.counterexample.labels[1] == "this line" else
                         parse(proof.claim["equals"], names), ctx):
            r.message += " (they differ by a transpose: check the layout)"
    if r.status == "unjustified" and r.index > 0 and r.by and "derivative-from-differential" not in r.by:
        rules = _cited_rules(r, book, lemmas)
        relaxed = justify(before, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
        unmet = unmet_conditions(relaxed, rules, ctx) if relaxed else []
        if unmet:
            r.message = "this step is true, but " + "; ".join(unmet)
            return
        hint = suggest(before, cur, ctx, book)
        if hint:
            r.suggestion = hint
            r.message += f"; {_listing(hint)} would justify it"


def _transposed(a: Expr, b: Expr, ctx: Context) -> bool:
    try:
        return decide(T(a), b, ctx, exact=False).holds
    except (ProveError, ArithmeticError):
        return False


__all__ = ["explain", "small_counterexample", "suggest", "false_hint"]
