"""The justification search (untrusted): which applications of the cited rules lead from one
line to the next? It hands the kernel a certificate (`kernel.rules.Move`s: rule, direction,
position, substitution, and the trees on the way) that `kernel.rules.replay` checks link by
link; nothing it finds is believed without that replay.

`rewrites(e, rule)` yields every single application of a rule (any position, either direction,
each contiguous block of a product and each group of terms of a sum); `justify(e, e2, rules)`
tries cheap shapes first (one move near the difference, one move per differing operand, both
lines rewritten until they meet) and then a bounded bidirectional search, all compared up to
`algebra` by fingerprints at a random point.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

from ..kernel.errors import ProveError
from ..kernel.evaluate import Domain, Singular
from ..kernel.expr import (
    Add,
    Expr,
    Func,
    Ident,
    Mul,
    Neg,
    Num,
    Path,
    Pow,
    Sym,
    add,
    mul,
    replace_at,
    size,
    symbols,
)
from ..trees import subterms
from ..kernel.rules import Application, Move, Rule, apply, instantiate
from ..kernel.rules import Facts as KernelFacts
from ..kernel.shapes import Shape
from ..kernel.truth import Context, algebra_equal
from .deep import WORK, deep, expand_powers, per_check


class Facts(KernelFacts):
    """The kernel's side conditions, with shapes remembered (the search asks about the same
    subterms again and again)."""

    def __init__(self, env, varying, assumed=()):
        super().__init__(env, varying, assumed)
        self._shapes: dict[Expr, Shape | None] = {}

    def shape(self, e: Expr) -> Shape | None:
        if e not in self._shapes:
            self._shapes[e] = super().shape(e)
        return self._shapes[e]


Binding = dict[str, Expr]


# -- matching -----------------------------------------------------------------------------------
Binding = dict[str, Expr]


def _bind_dim(dims: dict, pat, val) -> bool:
    if isinstance(pat, int) or val is None:
        return pat == val or val is None
    if pat in dims:
        return dims[pat] == val or dims[pat] is None
    dims[pat] = val
    return True


def _var_ok(rule: Rule, name: str, subj: Expr, facts: Facts, dims: dict) -> bool:
    info = rule.vars[name]
    s = facts.shape(subj)
    if s is None:
        return False
    if name in rule.scalar and not s.scalar:
        return False
    want = info.shape
    # A 1×1 subterm scales anything, so it may stand for a matrix pattern variable (the kernel
    # confirms that scalar instance of the rule before it accepts the application).
    if want.rows is not None and not s.scalar and not (_bind_dim(dims, want.rows, s.rows)
                                      and _bind_dim(dims, want.cols, s.cols)):
        return False
    if (name in rule.constant or info.constant) and not facts.constant(subj):
        return False
    if (name in rule.invertible or info.invertible) and not facts.invertible(subj):
        return False
    return not (info.symmetric and not facts.symmetric(subj))


def match(pat: Expr, subj: Expr, rule: Rule, facts: Facts, b: Binding, dims: dict) -> Iterator[tuple[Binding, dict]]:
    if isinstance(pat, Sym) and pat.name in rule.vars:
        if pat.name in b:
            if b[pat.name] == subj:
                yield b, dims
            return
        dims2 = dict(dims)
        if _var_ok(rule, pat.name, subj, facts, dims2):
            yield {**b, pat.name: subj}, dims2
        return
    if isinstance(pat, Mul):
        if isinstance(subj, Neg) and len(pat.args) == 2 and isinstance(pat.args[0], Sym) \
                and pat.args[0].name in rule.scalar:
            yield from _match_seq(pat.args, [Neg(Num(Fraction(1))), subj.arg], rule, facts, b, dims)
            return
        if isinstance(subj, Neg) and isinstance(subj.arg, Mul):
            # -(f1 f2 …) is (-f1) f2 …: the sign rides on the first factor
            inner = subj.arg.args
            subj = Mul((Neg(inner[0]),) + tuple(inner[1:]))
        if not isinstance(subj, Mul):
            return
        for order in _orders(subj.args, facts):
            yield from _match_split(pat.args, order, rule, facts, b, dims)
        return
    if isinstance(pat, Add):
        if not isinstance(subj, Add) or len(subj.args) < len(pat.args):
            return
        yield from _match_partition(pat.args, list(subj.args), rule, facts, b, dims)
        return
    if type(pat) is not type(subj):
        return
    if isinstance(pat, (Num, Ident, Sym)):
        if pat == subj:
            yield b, dims
        return
    if isinstance(pat, Func) and pat.name != subj.name or isinstance(pat, Pow) and pat.k != subj.k:
        return
    yield from _match_seq(pat.children(), subj.children(), rule, facts, b, dims)


def _could_match(pat: Expr, subj: Expr, rule: Rule) -> bool:
    """A cheap necessary condition for `match(pat, subj, …)` to give anything: the tests it makes
    first on the two heads (the search asks it of every rule at every node)."""
    if isinstance(pat, Sym) and pat.name in rule.vars:
        return True
    if isinstance(pat, Mul):
        return isinstance(subj, (Mul, Neg))
    if isinstance(pat, Add):
        return isinstance(subj, Add) and len(subj.args) >= len(pat.args)
    return type(pat) is type(subj) and not (isinstance(pat, Func) and pat.name != subj.name  # type: ignore[attr-defined]
                                            or isinstance(pat, Pow) and pat.k != subj.k)  # type: ignore[attr-defined]


def _match_seq(pats, subjs, rule, facts, b, dims):
    if len(pats) != len(subjs):
        return
    if not pats:
        yield b, dims
        return
    for b2, d2 in match(pats[0], subjs[0], rule, facts, b, dims):
        yield from _match_seq(pats[1:], subjs[1:], rule, facts, b2, d2)


def _orders(factors: tuple[Expr, ...], facts: Facts) -> list[tuple[Expr, ...]]:
    """The product as written, and with its 1×1 factors moved to the front or the back
    (scalars commute, so `tr(A) c` offers `c tr(A)` to a pattern)."""
    out = [factors]
    scal = [f for f in factors if (s := facts.shape(f)) is not None and s.scalar]
    if scal and len(scal) < len(factors):
        rest = [f for f in factors if not ((s := facts.shape(f)) is not None and s.scalar)]
        for o in (tuple(scal + rest), tuple(rest + scal)):
            if o not in out:
                out.append(o)
    return out


def _match_split(pats, factors, rule, facts, b, dims):
    """Give each pattern factor a contiguous, non-empty block of the subject's factors."""
    k = len(pats)
    if k == 1:
        yield from match(pats[0], mul(*factors), rule, facts, b, dims)
        return
    for cut in range(1, len(factors) - k + 2):
        for b2, d2 in match(pats[0], mul(*factors[:cut]), rule, facts, b, dims):
            yield from _match_split(pats[1:], factors[cut:], rule, facts, b2, d2)


def _match_partition(pats, terms, rule, facts, b, dims):
    """Give each pattern term a non-empty group of the subject's terms (sums commute)."""
    if len(pats) == 1:
        yield from match(pats[0], add(*terms), rule, facts, b, dims)
        return
    n = len(terms)
    if n > 8:
        groups = [terms[:i] for i in range(1, n)]
    else:
        groups = [[terms[i] for i in idx] for r in range(1, n - len(pats) + 2)
                  for idx in combinations(range(n), r)]
    for g in groups:
        rest = [t for t in terms if not any(t is x for x in g)]
        for b2, d2 in match(pats[0], add(*g), rule, facts, b, dims):
            yield from _match_partition(pats[1:], rest, rule, facts, b2, d2)


# -- rewriting ----------------------------------------------------------------------------------
def _directions(rule: Rule) -> list[tuple[str, Expr, Expr]]:
    """The directions a rule can be applied in without inventing a subterm (kept on the rule,
    which is immutable: the search asks for them at every line)."""
    out = rule.__dict__.get("_search_directions")
    if out is None:
        out = []
        lv, rv = symbols(rule.lhs) & set(rule.vars), symbols(rule.rhs) & set(rule.vars)
        if rv <= lv:
            out.append(("->", rule.lhs, rule.rhs))
        if lv <= rv and rule.lhs != rule.rhs:
            out.append(("<-", rule.rhs, rule.lhs))
        rule.__dict__["_search_directions"] = out
    return out


def _subterms(e: Expr) -> list[tuple[tuple, Expr]]:
    """`subterms(e)` as a list kept on the tree (immutable): the search walks a line once for
    every rule and direction."""
    found = e.__dict__.get("_search_subterms")
    if found is None:
        found = e.__dict__["_search_subterms"] = list(subterms(e))
    return found


_ANY, _MUL_OR_NEG = "any node", "a product or a negation"  # two counts of `_heads`


def _heads(e: Expr) -> dict:
    """How many subterms of `e` `_could_match` lets each kind of pattern head try (kept on the
    tree, which is immutable): every node; products and negations (a product pattern also
    matches under a sign); each node type; sums by every length up to theirs (a pattern of k
    terms matches a sum of at least k); functions by name; powers by exponent."""
    found = e.__dict__.get("_search_heads")
    if found is None:
        found = {}
        for _, x in _kept_or_walked(e):
            if isinstance(x, Add):
                keys: tuple = tuple((Add, j) for j in range(1, len(x.args) + 1))
            elif isinstance(x, Func):
                keys = ((Func, x.name),)
            elif isinstance(x, Pow):
                keys = ((Pow, x.k),)
            else:
                keys = (type(x),)
            if isinstance(x, (Mul, Neg)):
                keys += (_MUL_OR_NEG,)
            for h in keys + (_ANY,):
                found[h] = found.get(h, 0) + 1
        e.__dict__["_search_heads"] = found
    return found


def _pattern_head(pat: Expr, rule: Rule):
    """The count of `_heads` that bounds the nodes `_could_match(pat, ·, rule)` accepts."""
    if isinstance(pat, Sym) and pat.name in rule.vars:
        return _ANY
    if isinstance(pat, Mul):
        return _MUL_OR_NEG
    if isinstance(pat, Add):
        return (Add, len(pat.args))
    if isinstance(pat, Func):
        return (Func, pat.name)
    if isinstance(pat, Pow):
        return (Pow, pat.k)
    return type(pat)


def _candidates(pat: Expr, rule: Rule, e: Expr) -> int:
    """At least the number of subterms of `e` where `_could_match(pat, ·, rule)` holds (so a
    rule is skipped only where it cannot apply anywhere)."""
    return _heads(e).get(_pattern_head(pat, rule), 0)


def _kept_or_walked(e: Expr):
    """`e`'s subterms: the list kept on it if `rewrites` made one, else a walk (a tree that is
    only rewritten everywhere does not keep a list)."""
    return e.__dict__.get("_search_subterms") or subterms(e)


def _sites(sub: Expr, lhs: Expr):
    """The parts of a node a pattern may cover: the node, a contiguous block of a product's
    factors, a group of a sum's terms."""
    yield sub, (), lambda new: new
    if isinstance(lhs, Mul) and isinstance(sub, Mul):
        n, k = len(sub.args), len(lhs.args)
        for i in range(n):
            for j in range(i + k, n + 1):
                if j - i == n:
                    continue
                yield (mul(*sub.args[i:j]), ("mul", i, j),
                       lambda new, i=i, j=j: mul(*sub.args[:i], new, *sub.args[j:]))
    if isinstance(lhs, Add) and isinstance(sub, Add) and len(sub.args) > len(lhs.args):
        n, k = len(sub.args), len(lhs.args)
        if n <= 8:
            for idx in combinations(range(n), k):
                rest = [t for i, t in enumerate(sub.args) if i not in idx]
                yield (add(*[sub.args[i] for i in idx]), ("add",) + idx,
                       lambda new, rest=rest: add(new, *rest))


def rewrites(e: Expr, rule: Rule, facts: Facts, limit: int = 400) -> Iterator[tuple[Expr, Application]]:
    """Every single application of rule to e: each position, direction and substitution."""
    count = 0
    for direction, lhs, rhs in _directions(rule):
        if not _candidates(lhs, rule, e):
            continue  # no node of e has a head the pattern can match
        for path, sub in _subterms(e):
            if not _could_match(lhs, sub, rule):
                continue
            for target, site, rebuild in _sites(sub, lhs):
                seen: set[Expr] = set()
                for b, _ in match(lhs, target, rule, facts, {}, {}):
                    new = instantiate(rhs, b)
                    if new in seen:
                        continue
                    seen.add(new)
                    yield replace_at(e, path, rebuild(new)), Application(rule.id, direction, path,
                                                                         dict(b), site)
                    count += 1
                    if count >= limit:
                        return


def rewrite_everywhere(e: Expr, rule: Rule, facts: Facts,
                       only: str | None = None) -> Iterator[tuple[Expr, list[Move]]]:
    """The rule applied at every outermost position where it matches (one binding each): `d(A)
    = 0` over a whole sum in one move. The moves are given one at a time, right to left, with
    the tree each starts from, so the kernel can replay them in turn. `only`: one direction."""
    for direction, lhs, rhs in _directions(rule):
        if only is not None and (direction != only or isinstance(lhs, Sym)):
            continue  # and never a direction that rewrites anything (`f → tr(f)`)
        if _candidates(lhs, rule, e) < (1 if only is not None else 2):
            continue  # fewer nodes where it could match than a move needs: nothing to scan
        found: list[tuple[Path, Binding]] = []
        # the outermost matches, root first: the subterms in preorder (a node, then each child's
        # subtree in turn), skipping the subtree of a node that matched (it comes right after it)
        inside: tuple | None = None
        for path, x in _kept_or_walked(e):
            if inside is not None and path[:len(inside)] == inside:
                continue
            if _could_match(lhs, x, rule):
                for b, _ in match(lhs, x, rule, facts, {}, {}):
                    found.append((path, b))
                    inside = path
                    break
        if not (len(found) > 1 or (only is not None and found)):
            continue
        moves, tree = [], e
        for path, b in sorted(found, key=lambda pb: pb[0], reverse=True):
            moves.append(Move(Application(rule.id, direction, path, dict(b)), tree))
            tree = replace_at(tree, path, instantiate(rhs, b))
        yield tree, moves


def normal_forms(e: Expr, rules: list[Rule], facts: Facts, direction: str, rounds: int,
                 limit: int, key, coarse: bool = True) -> Iterator[tuple[Expr, tuple, list[Move]]]:
    """e, then e with each rule applied everywhere in one direction, rule after rule, round
    after round, until nothing changes up to algebra (or `rounds` run out, or the tree outgrows
    `limit`): the tree at the end of each round (with `coarse`; else after every rule), its
    key, and the moves that lead to it."""
    trail: list[Move] = []
    k = key(e)
    if k is None:
        return
    seen = {k}
    yield e, k, trail
    for _ in range(rounds):
        start = e
        for rule in rules:
            for out, moves in rewrite_everywhere(e, rule, facts, only=direction):
                if out == e or size(out) > limit:
                    continue
                e, trail = out, trail + moves
                if not coarse:
                    k = key(e)
                    if k is None or k in seen:
                        return
                    seen.add(k)
                    yield e, k, trail
        if e == start:
            return
        if coarse:
            k = key(e)
            if k is None or k in seen:
                return
            seen.add(k)
            yield e, k, trail


# -- algebra keys -----------------------------------------------------------------------------
class AlgebraKey:
    """Fingerprints under `algebra`: values at the smallest sizes with tr, d, det and log read as
    arbitrary functions (the kernel's own free evaluation). Equal keys are only a hint: every
    meeting is confirmed by the kernel's `algebra_equal`, and then again when it replays."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.ev = ctx.evaluator(plan_sizes(ctx), free=True)
        self.cache: dict[Expr, tuple | None] = {}

    def __call__(self, e: Expr) -> tuple | None:
        k = self.cache.get(e, 0)
        if k == 0:
            try:
                v = self.ev.full(self.ev.value(e), e)
                k = (v.rows, v.cols, tuple(x for row in v.c[0] for x in row))
            except (Singular, Domain, IndexError, KeyError, ValueError, ZeroDivisionError):
                k = None
            self.cache[e] = k
        return k


def plan_sizes(ctx: Context) -> dict[str, int]:
    """The smallest sizes where the claim is defined (the kernel's `Context.defined`)."""
    from itertools import islice, permutations
    syms = ctx.dim_syms
    tries = ({x: s + i for i, x in enumerate(order)} for s in range(2, 25)
             for order in islice(permutations(syms), 24))
    return next((t for t in tries if ctx.defined(t)), {s: 2 + i for i, s in enumerate(syms)})


def _key(ctx: Context) -> AlgebraKey:
    return per_check(ctx, "_search_key", lambda: AlgebraKey(ctx))


def _facts(ctx: Context) -> Facts:
    return per_check(ctx, "_search_facts", lambda: Facts(ctx.env, ctx.varying, ctx.assumed))


# -- the search -------------------------------------------------------------------------------
@dataclass
class Justification:
    moves: list[Move] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(m.app.rule for m in self.moves))

    @property
    def applications(self) -> list[Application]:
        return [m.app for m in self.moves]


def _backward(trail: list[Move]) -> list[Move]:
    """Moves found from the far end, replayed from the meeting point back to it."""
    return [Move(m.app, m.tree, backward=True) for m in reversed(trail)]


def _join(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: AlgebraKey, ctx: Context,
          limit: int, coarse: bool = True) -> Justification | None:
    """Rewrite both sides with the rules in one direction until they settle; if some tree on one
    side meets some tree on the other up to algebra, the step is e →* x = y *← e2."""
    for direction in ("->", "<-"):
        found = _join_one_way(e, e2, rules, facts, key, ctx, limit, direction, coarse)
        if found is not None:
            return found
    return None


def _join_one_way(e, e2, rules, facts, key, ctx, limit, direction, coarse):
    runs = [(side, normal_forms(start, rules, facts, direction, 32, limit, key, coarse))
            for side, start in ((0, e), (1, e2))]
    met: list[dict] = [{}, {}]
    while runs:
        alive = []
        for side, gen in runs:
            step = next(gen, None)
            if step is None:
                continue
            alive.append((side, gen))
            x, k, trail = step
            met[side].setdefault(k, (x, trail))
            hit = met[1 - side].get(k)
            if hit is not None and algebra_equal(x, hit[0], ctx):
                fwd, bwd = (trail, hit[1]) if side == 0 else (hit[1], trail)
                return Justification(fwd + _backward(bwd))
        runs = alive
    return None


def _single(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: AlgebraKey, ctx: Context,
            target: tuple, limit: int) -> tuple[Application, Expr] | None:
    """One application of one rule that gives e2 up to algebra: the subtree just above every
    difference first, then the whole line."""
    focus = _focus(e, e2)[:-1]
    for path in ((focus, ()) if focus else ((),)):
        sub = e
        for i in path:
            sub = sub.children()[i]
        candidates = []
        for rule in rules:
            for out, app in rewrites(sub, rule, facts, limit=100):
                whole = replace_at(e, path, out)
                found = (Application(app.rule, app.direction, path + app.path, app.binding,
                                     app.site), whole)
                if whole == e2:
                    return found
                candidates.append(found)
        for found in candidates:
            whole = found[1]
            if size(whole) <= limit and key(whole) == target and algebra_equal(whole, e2, ctx):
                return found
    return None


def _one_move(e, e2, rules, facts, key, ctx, target, limit) -> Justification | None:
    found = _single(e, e2, rules, facts, key, ctx, target, limit)
    return Justification([Move(found[0], e)]) if found is not None else None


def _by_parts(e, e2, rules, facts, key, ctx, target, limit) -> Justification | None:
    """Where the lines differ in several operands of one operator, one application in each."""
    path = _focus(e, e2)
    a, b = e, e2
    for i in path:
        a, b = a.children()[i], b.children()[i]
    ka, kb = a.children(), b.children()
    if type(a) is not type(b) or not ka or len(ka) != len(kb) or a.with_children(kb) != b:
        return None
    differ = [i for i, (x, y) in enumerate(zip(ka, kb)) if x != y]
    if len(differ) < 2:
        return None
    kids, moves = list(ka), []
    for i in differ:
        want = key(kb[i])
        if want is None:
            return None
        if key(ka[i]) == want:
            continue
        found = _single(ka[i], kb[i], rules, facts, key, ctx, want, limit)
        if found is None:
            return None
        app, new = found
        tree = replace_at(e, path, a.with_children(tuple(kids)))
        moves.append(Move(Application(app.rule, app.direction, path + (i,) + app.path,
                                      app.binding, app.site), tree))
        kids[i] = new
    whole = replace_at(e, path, a.with_children(tuple(kids)))
    if whole == e2 or (key(whole) == target and algebra_equal(whole, e2, ctx)):
        return Justification(moves)
    return None


def _by_parts_deep(e, e2, rules, facts, key, ctx, target, limit) -> Justification | None:
    """Where the lines differ in several operands of one operator (under any common context,
    such as the outer d of a second differential), each operand justified by a search of its
    own, and its moves lifted to the whole line: a grouped step that rewrites two parts the same
    way (`d(d(u)^T u + u^T d(u))` with both d(u) pushed in). The kernel replays the moves as it
    replays any certificate."""
    path = _focus(e, e2)
    a, b = e, e2
    for i in path:
        a, b = a.children()[i], b.children()[i]
    ka, kb = a.children(), b.children()
    differ = [i for i, (x, y) in enumerate(zip(ka, kb)) if x != y] if (
        type(a) is type(b) and ka and len(ka) == len(kb) and a.with_children(kb) == b) else []
    # several operands apart: each its own search; one subtree apart under a common context
    # (d(d(u^T u)) → d(2 u^T A dx)): that subtree's search, without the context to distract it
    parts = [(path + (i,), ka[i], kb[i]) for i in differ] if len(differ) >= 2 else [(path, a, b)] if path else []
    if not parts:
        return None
    by_id = {r.id: r for r in rules}
    whole, moves = e, []
    for at, sub, sub2 in parts:
        found = justify(sub, sub2, rules, ctx, max_apps=3, budget=1500, deep_work=0, inside=False)  # one level
        if found is None:
            return None
        cur = sub
        for m in found.moves:
            app = Application(m.app.rule, m.app.direction, at + m.app.path, m.app.binding, m.app.site)
            try:
                if m.backward:
                    moves.append(Move(app, replace_at(whole, at, m.tree), backward=True))
                    cur = m.tree
                else:
                    start = cur if m.tree is None else m.tree
                    moves.append(Move(app, replace_at(whole, at, start)))
                    cur = apply(start, m.app, by_id[m.app.rule], facts, ctx)
            except (ProveError, KeyError):
                return None
            whole = replace_at(whole, at, cur)
    if whole == e2 or (key(whole) == target and algebra_equal(whole, e2, ctx)):
        return Justification(moves)
    return None


def _terms(e: Expr) -> int:
    return len(e.args) if isinstance(e, Add) else 1


def _spread(a: Expr, b: Expr) -> bool:
    for i in _focus(a, b):
        a, b = a.children()[i], b.children()[i]
    ka, kb = a.children(), b.children()
    return len(ka) == len(kb) and sum(1 for x, y in zip(ka, kb) if x != y) > 1


def _focus(a: Expr, b: Expr) -> Path:
    """The position of the smallest subtree of a outside which a and b agree exactly."""
    path: list[int] = []
    while type(a) is type(b) and a != b:
        ka, kb = a.children(), b.children()
        if not ka or len(ka) != len(kb) or a.with_children(kb) != b:
            break
        differ = [i for i, (x, y) in enumerate(zip(ka, kb)) if x != y]
        if len(differ) != 1:
            break
        path.append(differ[0])
        a, b = ka[differ[0]], kb[differ[0]]
    return tuple(path)


class RelaxedFacts(Facts):
    """Facts that grant every side condition: only to explain a refusal ("diff-inverse would
    give this line if X were invertible"), never to accept a step."""

    def constant(self, e: Expr) -> bool:
        return True

    def invertible(self, e: Expr) -> bool:
        return True

    def symmetric(self, e: Expr) -> bool:
        return True


def justify(e: Expr, e2: Expr, rules: list[Rule], ctx: Context, max_apps: int = 5,
            budget: int = 4000, relaxed: bool = False,
            stats: dict | None = None, fewest: bool = False,
            deep_work: int | None = None, inside: bool = True) -> Justification | None:
    """Search for e ->* x and e2 ->* y with x = y up to algebra, using only `rules`. Bounded in
    work (applications tried), never in time. `fewest`: look at every intermediate tree of the
    quick rewriting, so a suggestion names as few rules as possible. `deep_work`: the work bound
    of the deep search (`deep.py`) run when all else fails (default `deep.WORK`; 0: none).
    `inside`: also search inside the lines' common context (`_by_parts_deep`; not again within
    that search, so a failing search costs at most one sub-search per differing operand)."""
    if deep_work is None:
        deep_work = WORK
    facts = RelaxedFacts(ctx.env, ctx.varying) if relaxed else _facts(ctx)
    key = _key(ctx)
    ke, ke2 = key(e), key(e2)
    if ke is None or ke2 is None:
        return None
    if ke == ke2 and algebra_equal(e, e2, ctx):
        return Justification([])
    rewriting = [r for r in rules if r.kind == "rewrite"]
    if not rewriting:
        return None
    limit = 2 * max(size(e), size(e2)) + 12
    quick = [_one_move, _by_parts]
    if _spread(e, e2):
        quick.reverse()
    join = lambda *a: _join(e, e2, rewriting, facts, key, ctx, 4 * max(size(e), size(e2)) + 40,
                            coarse=not fewest)
    ways = [join] + quick if abs(_terms(e2) - _terms(e)) >= 2 else quick + [join]
    for way in ways:
        found = way(e, e2, rewriting, facts, key, ctx, ke2, limit)
        if found is not None:
            return found
    ex, ex2 = expand_powers(e), expand_powers(e2)
    if ex != e or ex2 != e2:  # powers read as products: the same shapes on the expanded view
        found = justify(ex, ex2, rules, ctx, max_apps=0, budget=0, relaxed=relaxed, fewest=fewest, inside=False,
                        deep_work=0)
        if found is not None and found.moves:
            if found.moves[0].tree is None and not found.moves[0].backward:
                found.moves[0] = Move(found.moves[0].app, ex)
            return found
    found = _breadth(e, e2, rewriting, facts, key, ctx, ke, ke2, limit, max_apps, budget, stats)
    if found is not None:
        return found
    if inside and not relaxed and (found := _by_parts_deep(e, e2, rewriting, facts, key, ctx, ke2, limit)) is not None:
        return found
    if deep_work:
        moves = deep(e, e2, rewriting, facts, key, ctx, deep_work, stats)
        if moves is not None:
            return Justification(moves)
    return None


def _breadth(e, e2, rewriting, facts, key, ctx, ke, ke2, limit, max_apps, budget,
             stats) -> Justification | None:
    """A bidirectional breadth-first search of up to `max_apps` levels, `budget` applications."""
    sides = [{ke: (e, [])}, {ke2: (e2, [])}]
    frontiers = [[(e, [])], [(e2, [])]]
    spent, depth = 0, [0, 0]
    for _ in range(max_apps):
        live = [i for i in (0, 1) if frontiers[i]]
        if not live:
            return None
        s = min(live, key=lambda i: (depth[i], len(frontiers[i])))
        depth[s] += 1
        new_frontier = []
        for expr, trail in frontiers[s]:
            for rule in rewriting:
                moves = [(out, [Move(app, expr)]) for out, app in rewrites(expr, rule, facts)]
                moves += list(rewrite_everywhere(expr, rule, facts))
                for out, mv in moves:
                    spent += 1
                    if spent > budget:
                        if stats is not None:
                            stats["exhausted"] = True
                        return None
                    if size(out) > limit:
                        continue
                    k = key(out)
                    if k is None or k in sides[s]:
                        continue
                    t2 = trail + mv
                    sides[s][k] = (out, t2)
                    other = sides[1 - s].get(k)
                    if other is not None and algebra_equal(out, other[0], ctx):
                        fwd, bwd = (t2, other[1]) if s == 0 else (other[1], t2)
                        return Justification(fwd + _backward(bwd))
                    new_frontier.append((out, t2))
        frontiers[s] = new_frontier
    if stats is not None and any(frontiers):
        stats["exhausted"] = True
    return None


_CERTIFICATES: dict[tuple, list[Move] | None] = {}  # by the step, the rules and the context
CERTIFICATES_KEPT = 4096


def certificate(e: Expr, e2: Expr, rules: list[Rule], ctx: Context) -> list[Move] | None:
    """The justifier the kernel's replay asks: a certificate, or None. A class repeats its steps,
    so what was found is remembered under everything the search reads (the kernel replays every
    certificate it is handed, remembered or not)."""
    key = (e, e2, tuple((r.id, r.content()) for r in rules), ctx.key, ctx.assumed)
    if key not in _CERTIFICATES:
        if len(_CERTIFICATES) >= CERTIFICATES_KEPT:
            _CERTIFICATES.clear()
        found = justify(e, e2, rules, ctx)
        _CERTIFICATES[key] = found.moves if found is not None else None
    moves = _CERTIFICATES[key]
    return list(moves) if moves is not None else None


def unmet_conditions(found: Justification, rules: list[Rule], ctx: Context) -> list[str]:
    """The side conditions a relaxed justification relied on that the proof does not give."""
    from ..kernel.rules import unmet

    facts = KernelFacts(ctx.env, ctx.varying)
    by_id = {r.id: r for r in rules}
    out: list[str] = []
    for m in found.moves:
        rule = by_id.get(m.app.rule)
        for text in (unmet(rule, m.app.binding, facts) if rule else []):
            if "needs" in text and text not in out:
                sub = text.split(" needs ", 1)[1].split(" to be ")[0]
                flag = text.rsplit(" ", 1)[-1]
                if sub.isidentifier():
                    text += f" (declare `{flag}: true` if it is)"
                out.append(text)
    return out
