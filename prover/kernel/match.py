"""Rules, matching, and the search that decides whether a step is justified (SPEC §5, "Justified").

A `Rule` is an equation between two patterns whose variables carry shapes and side conditions.
`rewrites(e, rule)` yields every `Application` of a rule to e — at any position, in either
direction — each recording the rule, direction, position and substitution (STYLE §6).
`justify(e, e2, rules)` searches from both ends for a chain of applications that meets up to
`algebra` (equality with tr, d, det and log read as arbitrary functions). Read next: `check.py`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from typing import Iterator, Mapping

from .evaluate import Domain, Evaluator, ModP, P, Singular, digest
from .expr import (Add, Expr, Func, Ident, Inv, Mul, Neg, Num, Path, Pow, Sym, T, add, mul,
                   replace_at, size, subterms, symbols)
from .shapes import Env, Shape, VarInfo, shape_of
from .truth import Context, assignments, random_point


@dataclass(frozen=True)
class Rule:
    id: str
    lhs: Expr
    rhs: Expr
    vars: Mapping[str, VarInfo]  # pattern variables; flags are side conditions
    scalar: frozenset[str] = frozenset()
    constant: frozenset[str] = frozenset()
    invertible: frozenset[str] = frozenset()
    kind: str = "rewrite"  # "rewrite", "algebra" or "derivative"

    def directions(self) -> list[tuple[str, Expr, Expr]]:
        out = []
        lv, rv = symbols(self.lhs) & set(self.vars), symbols(self.rhs) & set(self.vars)
        if rv <= lv:
            out.append(("->", self.lhs, self.rhs))
        if lv <= rv and self.lhs != self.rhs:
            out.append(("<-", self.rhs, self.lhs))
        return out


@dataclass
class Application:
    rule: str
    direction: str  # "->" (left to right as stated) or "<-"
    path: Path
    binding: dict[str, str]  # pattern variable -> printed subterm (printed when first asked)
    exprs: dict[str, Expr] = field(default_factory=dict, repr=False)  # the same, as trees

    def describe(self) -> str:
        pos = "at the root" if not self.path else "at position " + ".".join(map(str, self.path))
        if not self.binding and self.exprs:
            self.binding.update({k: str(v) for k, v in self.exprs.items()})
        sub = ", ".join(f"{k} := {v}" for k, v in sorted(self.binding.items()))
        return f"{self.rule} ({'left to right' if self.direction == '->' else 'right to left'}, " \
               f"{pos}; {sub})"


# -- side conditions ----------------------------------------------------------------------------
class Facts:
    """What the matcher may assume of the proof's variables: shapes, and which ones vary."""

    def __init__(self, env: Env, varying: set[str]):
        self.env, self.varying = env, varying
        self._shapes: dict[Expr, Shape | None] = {}

    def shape(self, e: Expr) -> Shape | None:
        if e not in self._shapes:
            try:
                self._shapes[e] = shape_of(e, self.env)
            except Exception:  # noqa: BLE001 - an ill-shaped candidate simply does not match
                self._shapes[e] = None
        return self._shapes[e]

    def constant(self, e: Expr) -> bool:
        return not (symbols(e) & self.varying)

    def invertible(self, e: Expr) -> bool:
        if isinstance(e, Sym):
            info = self.env.get(e.name)
            return bool(info and info.invertible)
        if isinstance(e, Ident):
            return True
        if isinstance(e, Num):
            return e.value != 0
        if isinstance(e, (T, Inv, Pow, Neg)):
            return self.invertible(e.arg)
        if isinstance(e, Mul):
            s = self.shape(e)
            return all(self.invertible(f) for f in e.args) and all(
                (sh := self.shape(f)) is not None and (sh.scalar or sh.rows == sh.cols == s.rows)
                for f in e.args) if s is not None else False
        return False

    def symmetric(self, e: Expr) -> bool:
        if isinstance(e, T):
            return self.symmetric(e.arg)
        return isinstance(e, Sym) and bool((i := self.env.get(e.name)) and i.symmetric)


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
    # A 1×1 subterm scales anything, so it fits a matrix pattern without fixing its sizes.
    if want.rows is not None and not s.scalar and not (_bind_dim(dims, want.rows, s.rows)
                                      and _bind_dim(dims, want.cols, s.cols)):
        return False
    if (name in rule.constant or info.constant) and not facts.constant(subj):
        return False
    if (name in rule.invertible or info.invertible) and not facts.invertible(subj):
        return False
    if info.symmetric and not facts.symmetric(subj):
        return False
    return True


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


def instantiate(e: Expr, b: Binding) -> Expr:
    if isinstance(e, Sym) and e.name in b:
        return b[e.name]
    kids = e.children()
    if not kids:
        return e
    return e.with_children(tuple(instantiate(k, b) for k in kids))


# -- rewriting ----------------------------------------------------------------------------------
def rewrites(e: Expr, rule: Rule, facts: Facts, limit: int = 400) -> Iterator[tuple[Expr, Application]]:
    """Every single application of rule to e: each position, each direction, each substitution.
    A product or sum also offers its contiguous factor ranges / term subsets to the pattern."""
    count = 0
    for direction, lhs, rhs in rule.directions():
        for path, sub in subterms(e):
            for target, rebuild in _sites(sub, lhs):
                seen: set[Expr] = set()
                for b, _ in match(lhs, target, rule, facts, {}, {}):
                    new = instantiate(rhs, b)
                    if new in seen:
                        continue
                    seen.add(new)
                    out = replace_at(e, path, rebuild(new))
                    yield out, Application(rule.id, direction, path,
                                           {}, dict(b))
                    count += 1
                    if count >= limit:
                        return


def rewrite_everywhere(e: Expr, rule: Rule, facts: Facts,
                       only: str | None = None) -> Iterator[tuple[Expr, list[Application]]]:
    """The rule applied at every outermost position where it matches, all at once (one binding
    per position): `d(A) = 0` over a whole sum in a single move. `only`: one direction."""
    for direction, lhs, rhs in rule.directions():
        if only is not None and (direction != only or isinstance(lhs, Sym)):
            # one direction only; and never one that rewrites *anything* (`f → tr(f)`): applied
            # everywhere it would only wrap the whole line again and again
            continue
        apps: list[Application] = []

        def go(x: Expr, path: tuple) -> Expr:
            for b, _ in match(lhs, x, rule, facts, {}, {}):
                apps.append(Application(rule.id, direction, path,
                                        {}, dict(b)))
                return instantiate(rhs, b)
            kids = x.children()
            if not kids:
                return x
            new = tuple(go(k, path + (i,)) for i, k in enumerate(kids))
            if all(a is b for a, b in zip(new, kids)):
                return x  # nothing below changed: keep the node (and what is known of it)
            return x.with_children(new)

        out = go(e, ())
        if len(apps) > 1 or (only is not None and apps):
            yield out, apps


def normal_forms(e: Expr, rules: list[Rule], facts: Facts, direction: str, rounds: int,
                 limit: int, key, coarse: bool = True) -> Iterator[tuple[Expr, tuple, list[Application]]]:
    """e, then e with each rule applied everywhere in one direction, rule after rule, round
    after round, until nothing changes up to algebra (or `rounds` run out, or the tree outgrows
    `limit`): the tree at the end of each round (with `coarse`; else after every rule), with
    its key and the applications that lead to it.
    Pushing `d` inwards, or splitting traces of sums, reaches its end this way in a few rounds;
    a rule that only goes round in circles (`tr(A) = tr(A^T)`) stops at once."""
    trail: list[Application] = []
    k = key(e)
    if k is None:
        return
    seen = {k}
    yield e, k, trail
    for _ in range(rounds):
        start = e
        for rule in rules:  # a round: each rule everywhere once
            for out, apps in rewrite_everywhere(e, rule, facts, only=direction):
                if out == e or size(out) > limit:
                    continue
                e, trail = out, trail + apps
                if not coarse:  # every tree on the way, so the fewest rules are used
                    k = key(e)
                    if k is None or k in seen:
                        return
                    seen.add(k)
                    yield e, k, trail
        if e == start:
            return
        if coarse:  # only the tree at the end of the round
            k = key(e)
            if k is None or k in seen:
                return
            seen.add(k)
            yield e, k, trail


def _sites(sub: Expr, lhs: Expr):
    yield sub, lambda new: new
    if isinstance(lhs, Mul) and isinstance(sub, Mul):
        n, k = len(sub.args), len(lhs.args)
        for i in range(n):
            for j in range(i + k, n + 1):
                if j - i == n:
                    continue
                yield mul(*sub.args[i:j]), (lambda new, i=i, j=j: mul(*sub.args[:i], new, *sub.args[j:]))
    if isinstance(lhs, Add) and isinstance(sub, Add) and len(sub.args) > len(lhs.args):
        n, k = len(sub.args), len(lhs.args)
        if n <= 8:
            for idx in combinations(range(n), k):
                rest = [t for i, t in enumerate(sub.args) if i not in idx]
                yield add(*[sub.args[i] for i in idx]), (lambda new, rest=rest: add(new, *rest))


# -- algebra keys -----------------------------------------------------------------------------
class AlgebraKey:
    """Fingerprints of expressions under `algebra`: values at fixed random points with tr, d,
    det and log replaced by random functions. Equal keys mean equal up to algebra, except with
    probability below degree / 2^61 per point."""

    def __init__(self, ctx: Context, names: set[str], npoints: int = 2, seed: int = 7):
        rng = random.Random(seed)
        dims_list = assignments(ctx.dim_syms)
        self.evs: list[Evaluator] = []
        for i in range(npoints):  # the search's points: the smallest sizes, where it is cheapest
            point, _ = random_point(ctx, names, dims_list[0], lambda: rng.randrange(P), 0,
                                    with_d=False)
            self.evs.append(Evaluator(ModP, 0, point, {}, free=True))
        self.cache: dict[Expr, tuple | None] = {}
        # one more, independent point at the next sizes, asked only to confirm a match the
        # search found: every meeting is checked at a point (and sizes) the search never used,
        # so an identity of small matrices only (2×2 ones exist) cannot make a match
        rng2 = random.Random(seed * 1009 + 1)
        dims = dims_list[1 % len(dims_list)]
        point, _ = random_point(ctx, names, dims, lambda: rng2.randrange(P), 0, with_d=False)
        self.check_ev = Evaluator(ModP, 0, point, {}, free=True)
        self.checked: dict[Expr, tuple | None] = {}

    def __call__(self, e: Expr) -> tuple | None:
        k = self.cache.get(e, 0)
        if k == 0:
            try:
                k = tuple(digest(ev.value(e)) for ev in self.evs)
            except (Singular, Domain, IndexError, KeyError, ValueError, ZeroDivisionError):
                k = None
            self.cache[e] = k
        return k

    def confirm(self, e: Expr) -> tuple | None:
        k = self.checked.get(e, 0)
        if k == 0:
            try:
                k = digest(self.check_ev.value(e))
            except (Singular, Domain, IndexError, KeyError, ValueError, ZeroDivisionError):
                k = None
            self.checked[e] = k
        return k


_KEYS: dict[tuple, AlgebraKey] = {}
_FACTS: dict[tuple, Facts] = {}


def _facts(ctx: Context) -> Facts:
    """Facts for these declarations, shared by the steps of a proof (their shape cache too)."""
    hit = _FACTS.get(ctx.key)
    if hit is None or len(hit._shapes) > 50000:
        if len(_FACTS) > 64:
            _FACTS.clear()
        hit = _FACTS[ctx.key] = Facts(ctx.env, ctx.varying)
    return hit


def algebra_key(ctx: Context, names: set[str], npoints: int = 2, seed: int = 7) -> AlgebraKey:
    """The key for these declarations, shared by every step that uses them (the points do not
    depend on the expressions, so sharing changes no bound), with its values remembered."""
    if not names <= set(ctx.env):
        return AlgebraKey(ctx, names, npoints, seed)
    k = (ctx.key, npoints, seed)
    hit = _KEYS.get(k)
    if hit is None or len(hit.cache) > 20000 or any(len(ev.memo) > 50000 for ev in hit.evs) \
            or len(hit.checked) > 20000:
        if len(_KEYS) > 64:
            _KEYS.clear()
        hit = _KEYS[k] = AlgebraKey(ctx, set(ctx.env), npoints, seed)
    return hit


def algebra_equal(a: Expr, b: Expr, ctx: Context) -> bool:
    """Equal up to algebra: the same values at the key's two points and at its third."""
    if a == b:
        return True  # the same tree
    key = algebra_key(ctx, symbols(a) | symbols(b))
    ka = key(a)
    if ka is None or ka != key(b):
        return False
    ca = key.confirm(a)
    return ca is not None and ca == key.confirm(b)


# -- the search -------------------------------------------------------------------------------
@dataclass
class Justification:
    applications: list[Application] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        out: list[str] = []
        for a in self.applications:
            if a.rule not in out:
                out.append(a.rule)
        return out


def _join(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: "AlgebraKey", ctx: Context,
          limit: int, coarse: bool = True) -> Justification | None:
    """The quick way first: rewrite both sides with the rules in one direction until they
    settle (`normal_forms`); if some tree on one side meets some tree on the other up to
    algebra, the step is e →* x = y *← e2. A step that pushes every `d` inwards at once, or
    wraps every scalar term in a trace, is found here without the search. Left to right first
    (the two sides a tree at a time), then right to left."""
    for direction in ("->", "<-"):
        found = _join_one_way(e, e2, rules, facts, key, ctx, limit, direction, coarse)
        if found is not None:
            return found
    return None


def _join_one_way(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: "AlgebraKey",
                  ctx: Context, limit: int, direction: str, coarse: bool) -> Justification | None:
    runs = [(side, normal_forms(start, rules, facts, direction, 32, limit, key, coarse))
            for side, start in ((0, e), (1, e2))]
    met: list[dict] = [{}, {}]  # per side: key -> (tree, trail)
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
                back = [Application(a.rule, "<-" if a.direction == "->" else "->", a.path,
                                    a.binding, a.exprs) for a in reversed(bwd)]
                return Justification(fwd + back)
        runs = alive
    return None


def _one_move(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: "AlgebraKey",
              ctx: Context, target: tuple, limit: int) -> Justification | None:
    """A single application of one rule, at one place, that gives e2 up to algebra: most steps
    of a hand-written proof are this. The subtree just above every difference between the two
    lines is searched first (a rule's pattern may reach one level above the change, as in
    `tr(A B) = tr(B A)`); then the whole line."""
    found = _single(e, e2, rules, facts, key, ctx, target, limit)
    return Justification([found[0]]) if found is not None else None


def _single(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: "AlgebraKey", ctx: Context,
            target: tuple, limit: int) -> tuple[Application, Expr] | None:
    focus = _focus(e, e2)[:-1]
    for path in ((focus, ()) if focus else ((),)):
        sub = e
        for i in path:
            sub = sub.children()[i]
        # first the candidates that are e2 as written (no evaluation needed), then the rest
        # compared up to algebra
        candidates = []
        for rule in rules:
            for out, app in rewrites(sub, rule, facts, limit=100):
                whole = replace_at(e, path, out)
                found = (Application(app.rule, app.direction, path + app.path, app.binding,
                                     app.exprs), whole)
                if whole == e2:
                    return found
                candidates.append(found)
        for found in candidates:
            whole = found[1]
            if size(whole) <= limit and key(whole) == target and algebra_equal(whole, e2, ctx):
                return found
    return None


def _by_parts(e: Expr, e2: Expr, rules: list[Rule], facts: Facts, key: "AlgebraKey",
              ctx: Context, target: tuple, limit: int) -> Justification | None:
    """Where the two lines differ in several operands of one operator (several terms of a sum,
    each transposed inside its own trace), one application in each operand. The rewritten
    line as a whole must then equal e2 up to algebra, checked on the whole line."""
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
    kids, apps = list(ka), []
    for i in differ:
        want = key(kb[i])
        if want is None:
            return None
        if key(ka[i]) == want:
            continue
        found = _single(ka[i], kb[i], rules, facts, key, ctx, want, limit)
        if found is None:
            return None
        app, kids[i] = found
        apps.append(Application(app.rule, app.direction, path + (i,) + app.path, app.binding,
                                app.exprs))
    whole = replace_at(e, path, a.with_children(tuple(kids)))
    if whole == e2 or (key(whole) == target and algebra_equal(whole, e2, ctx)):
        return Justification(apps)
    return None


def _terms(e: Expr) -> int:
    return len(e.args) if isinstance(e, Add) else 1


def _spread(a: Expr, b: Expr) -> bool:
    """Do the two lines differ in several operands of the operator where they first differ?"""
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
            break  # a different operator here (or a leaf): this is the place
        differ = [i for i, (x, y) in enumerate(zip(ka, kb)) if x != y]
        if len(differ) != 1:
            break
        path.append(differ[0])
        a, b = ka[differ[0]], kb[differ[0]]
    return tuple(path)


class RelaxedFacts(Facts):
    """Facts that grant every side condition: used only to explain a failure ("diff-inverse
    would give this line if X were invertible"), never to accept a step."""

    def constant(self, e: Expr) -> bool:
        return True

    def invertible(self, e: Expr) -> bool:
        return True

    def symmetric(self, e: Expr) -> bool:
        return True


def unmet_conditions(found: "Justification", rules: list[Rule], ctx: Context) -> list[str]:
    """The side conditions that a relaxed justification relied on and the proof does not give."""
    facts = Facts(ctx.env, ctx.varying)
    by_id = {r.id: r for r in rules}
    out: list[str] = []
    for app in found.applications:
        rule = by_id.get(app.rule)
        if rule is None:
            continue
        for name, sub in app.exprs.items():
            info = rule.vars.get(name)
            checks = [("constant", name in rule.constant or (info is not None and info.constant),
                       facts.constant, "is constant", "constant: true"),
                      ("invertible", name in rule.invertible or (info is not None and info.invertible),
                       facts.invertible, "is invertible", "invertible: true"),
                      ("symmetric", info is not None and info.symmetric, facts.symmetric,
                       "is symmetric", "symmetric: true")]
            for _, needed, test, what, decl in checks:
                if needed and not test(sub):
                    text = f"{app.rule} needs {sub} to be {what.split()[-1]}"
                    if isinstance(sub, Sym):
                        text += f" (declare `{decl}` if it is)"
                    if text not in out:
                        out.append(text)
    return out


def justify(e: Expr, e2: Expr, rules: list[Rule], ctx: Context, max_apps: int = 5,
            budget: int = 4000, relaxed: bool = False,
            stats: dict | None = None, fewest: bool = False) -> Justification | None:
    """Search for e ->* x and e2 ->* y with x = y up to algebra, using only `rules` (each
    application in either direction). Returns the applications from e's side then e2's side
    (those reversed), or None within the bounds. `fewest`: look at every intermediate tree of
    the quick rewriting, so a suggestion names as few rules as possible."""
    facts = RelaxedFacts(ctx.env, ctx.varying) if relaxed else _facts(ctx)
    names = symbols(e) | symbols(e2) | set(ctx.env)
    key = algebra_key(ctx, names)
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
    if _spread(e, e2):  # several operands differ: one move cannot do it, try them one by one
        quick.reverse()
    join = lambda *a: _join(e, e2, rewriting, facts, key, ctx, 4 * max(size(e), size(e2)) + 40,  # noqa: E731
                            coarse=not fewest)
    if _terms(e2) - _terms(e) >= 2 or _terms(e) - _terms(e2) >= 2:
        ways = [join] + quick  # two or more terms gathered or split: not one move
    else:
        ways = quick + [join]
    found = None
    for way in ways:
        found = way(e, e2, rewriting, facts, key, ctx, ke2, limit)
        if found is not None:
            break
    if found is not None:
        return found
    sides = [{ke: (e, [])}, {ke2: (e2, [])}]
    frontiers = [[(e, [])], [(e2, [])]]
    spent = 0
    depth = [0, 0]
    for _ in range(max_apps):
        live = [i for i in (0, 1) if frontiers[i]]
        if not live:
            return None
        # expand the side that has gone less deep; on a tie, the smaller frontier
        s = min(live, key=lambda i: (depth[i], len(frontiers[i])))
        depth[s] += 1
        new_frontier = []
        for expr, trail in frontiers[s]:
            for rule in rewriting:
                moves = [(out, [app]) for out, app in rewrites(expr, rule, facts)]
                moves += list(rewrite_everywhere(expr, rule, facts))
                for out, apps in moves:
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
                    if s == 1:
                        apps = [Application(a.rule, "<-" if a.direction == "->" else "->",
                                            a.path, a.binding, a.exprs) for a in apps]
                    t2 = trail + apps
                    sides[s][k] = (out, t2)
                    other = sides[1 - s].get(k)
                    if other is not None:
                        fwd, bwd = (t2, other[1]) if s == 0 else (other[1], t2)
                        if algebra_equal(out, other[0], ctx):
                            return Justification(fwd + list(reversed(bwd)))
                    new_frontier.append((out, t2))
        frontiers[s] = new_frontier
    if stats is not None and any(frontiers):
        stats["exhausted"] = True
    return None
