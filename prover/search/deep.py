"""The deep search (untrusted): what `match.justify` tries when the cheap shapes fail, and the
split of a step the search cannot justify in one go.

A student's step may apply several cited rules several times, at any position, in either
direction, up to `algebra` (SPEC §5). The cheap shapes in `match.py` cover one move, one move
per operand, and both lines rewritten one way until they meet. What they miss:

- powers read as products: `d(X^3)` is `d(X X X)` to the product rule. Every line is also
  searched in its *expanded view* (`expand_powers`: `X^k` as `k` factors, `X^-k` as `k`
  factors `X^-1`); a move then starts from that tree, and the kernel checks the regrouping
  (`Move.tree`) by `algebra` before it applies the rule;
- several rules in several directions at once (`tr(dX X + X dX)` split by trace-add, one term
  rotated by trace-cyclic, then `2 tr(X dX)` by algebra).

For those, `deep` first runs both lines through a canonical pipeline (`canonical_join`: the
cited differential rules pushed in to saturation, traces of sums split, every trace turned to
the rotation/transpose that reads smallest, traces gathered; a bounded number of stages), and
if they do not meet, a bidirectional best-first search over lines: from both ends, the line
closest to the other end (by a distance between the sets of subterms of the two lines' normal
forms under the ring laws, `normal.Normalizer`) is expanded first, by every single application
of every cited rule (each position, direction and substitution), by each rule applied
everywhere at once, and by the same on the line's normal form with powers expanded (a
regrouping the kernel checks). Lines are told apart by the algebra fingerprint of
`match.AlgebraKey`; a meeting of the two searches is confirmed by the kernel's `algebra_equal`
and then replayed by the kernel like any certificate.

The search is bounded in **work**: the number of candidate lines produced (applications tried),
`WORK` by default, never wall-clock time, so a verdict never depends on the machine.

`split(e, e2, rules, ctx)` proposes an intermediate line for a step the search gives up on.
"""
from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterator

from ..kernel.errors import ProveError
from ..kernel.expr import Expr, Inv, Pow, mul, replace_at, size
from ..kernel.rules import Facts as KernelFacts
from ..kernel.rules import Move, Rule, replay
from ..kernel.truth import Context, algebra_equal

WORK = 2500  # candidate lines produced (applications tried) by one deep search
SPLIT_TRIES = 8  # intermediate lines `split` screens
SCREEN_WORK = 400  # the work of each screening search (per half) in `split`
MAX_POWER = 6  # X^k is expanded into k factors up to this k


def expand_powers(e: Expr) -> Expr:
    """e with every power `X^k` (2 <= |k| <= MAX_POWER) written as a product of k factors (X^-k
    as k factors X^-1): equal to e by algebra, and the view in which `d(X^3)` is `d(X X X)`."""
    if isinstance(e, Pow) and 2 <= abs(e.k) <= MAX_POWER:
        base = expand_powers(e.arg)
        return mul(*([base if e.k > 0 else Inv(base)] * abs(e.k)))
    kids = e.children()
    if not kids:
        return e
    new = tuple(expand_powers(k) for k in kids)
    return e if all(a is b for a, b in zip(new, kids)) else e.with_children(new)


class Features:
    """The multiset of printed subterms of a line's normal form under the ring laws (with powers
    written out): a line's distance to another is the size of the symmetric difference. Only a
    heuristic to order the search; it decides nothing."""

    def __init__(self, ctx: Context):
        from ..normal import Normalizer

        self.norm = Normalizer(ctx.env)
        self.cache: dict[Expr, tuple[Counter, Expr | None]] = {}

    def show(self, e: Expr) -> str:
        """How e reads in normal form (its printed self if it has none)."""
        n = self(e)[1]
        return self.norm.show(n if n is not None else e)

    def __call__(self, e: Expr) -> tuple[Counter, Expr | None]:
        hit = self.cache.get(e)
        if hit is None:
            try:
                n = expand_powers(self.norm.normal(e))
                hit = (Counter(self.norm.show(s) for s in n.walk()), n)
            except (ProveError, TypeError, ValueError, ZeroDivisionError, KeyError, RecursionError):
                hit = (Counter(str(s) for s in e.walk()), None)
            self.cache[e] = hit
        return hit


def per_check(ctx: Context, name: str, make: Callable[[], object]):
    """The search's helper object `name` for this check, made once and kept on its context (a
    context is one check: its points and the helpers die with it)."""
    if (hit := ctx.__dict__.get(name)) is None:
        hit = ctx.__dict__[name] = make()
    return hit


def _features(ctx: Context) -> Features:
    return per_check(ctx, "_search_features", lambda: Features(ctx))


def distance(a: Counter, b: Counter) -> int:
    return sum(((a - b) + (b - a)).values())


def saturate(x: Expr, rule: Rule, direction: str, facts, limit: int,
             rounds: int = 8) -> tuple[Expr, list[Move], int]:
    """The rule applied everywhere in one direction, again and again until nothing changes (or
    `rounds` run out, or the line outgrows `limit`): trace-add splitting `tr(A + B + C + D)`
    into four traces is one candidate, not three. Also the applications it tried."""
    from .match import rewrite_everywhere

    trail: list[Move] = []
    tried = 0
    for _ in range(rounds):
        step = next(rewrite_everywhere(x, rule, facts, only=direction), None)
        tried += 1
        if step is None or step[0] == x or size(step[0]) > limit:
            break
        x, trail = step[0], trail + step[1]
        tried += len(step[1])
    return x, trail, tried


def turn_traces(x: Expr, turn: list[Rule], facts, feats: Features) -> tuple[Expr, list[Move], int]:
    """The rules (trace-cyclic, trace-transpose) at every trace, each trace turned to the form
    among those they reach that reads smallest in normal form: the same form whichever way a
    line wrote the product, so two lines that differ by rotations and transposes inside traces
    meet. Innermost traces first; also the applications tried."""
    from ..kernel.expr import Func
    from ..trees import subterms
    from ..kernel.rules import Application
    from .match import rewrites

    trail: list[Move] = []
    tried = 0
    paths = [p for p, sub in subterms(x) if isinstance(sub, Func) and sub.name == "tr"]
    for path in sorted(paths, key=len, reverse=True):
        sub = x
        for i in path:
            sub = sub.children()[i]
        forms: dict[str, tuple[Expr, list[Move]]] = {feats.show(sub): (sub, [])}
        todo = [sub]
        while todo and len(forms) < 24:
            f = todo.pop(0)
            here = replace_at(x, path, f)
            for rule in turn:
                for out, app in rewrites(f, rule, facts, limit=24):
                    tried += 1
                    if app.path != ():
                        continue
                    n = feats(out)[1]
                    n = n if isinstance(n, Func) and n.name == "tr" else out
                    text = feats.show(n)
                    if text not in forms:
                        mv = Move(Application(app.rule, app.direction, path, app.binding, app.site), here)
                        forms[text] = (n, forms[feats.show(f)][1] + [mv])
                        todo.append(n)
        best = forms[min(forms)]
        if best[1]:
            trail += best[1]
            x = replace_at(x, path, best[0])
    return x, trail, tried


def _candidates(x: Expr, rules: list[Rule], facts, feats: Features,
                limit: int) -> Iterator[tuple[Expr, list[Move], int]]:
    """Every line one application (or one rule applied everywhere) away from x, from x as it
    stands and from its expanded normal form (the kernel checks that regrouping); with the
    applications each cost."""
    from .match import rewrite_everywhere, rewrites

    views = [x]
    ex = expand_powers(x)
    if ex != x:
        views.append(ex)
    nx = feats(x)[1]
    if nx is not None and nx not in views:
        views.append(nx)
    for v in views:
        for rule in rules:
            for out, app in rewrites(v, rule, facts, limit=200):
                yield out, [Move(app, v)], 1
            for d in ("->", "<-"):
                for out, trail in rewrite_everywhere(v, rule, facts, only=d):
                    yield out, trail, 1


DIFF_FIRST = ("diff-", )  # rules pushed to saturation first, left to right


def _stages(rules: list[Rule]) -> list[tuple[str, list[tuple[Rule, str]]]]:
    """The canonical pipeline's stages for the cited rules: differentials pushed inwards, traces
    of sums split, scalars out of traces, every trace turned to its smallest rotation (and
    transpose), then traces gathered again."""
    by = {r.id: r for r in rules}
    diff = [(r, "->") for r in rules if r.id.startswith(DIFF_FIRST)]
    out: list[tuple[str, list[tuple[Rule, str]]]] = []
    if diff:
        out.append(("saturate", diff))
    if "trace-add" in by:
        out.append(("saturate", [(by["trace-add"], "<-")]))
    if "trace-scale" in by:
        out.append(("saturate", [(by["trace-scale"], "<-")]))
    turn = [(by[i], "") for i in ("trace-cyclic", "trace-transpose") if i in by]
    if turn:
        out.append(("turn", turn))
    if "trace-add" in by:
        out.append(("saturate", [(by["trace-add"], "->")]))
    return out


def pipeline(x: Expr, rules: list[Rule], facts, feats: Features, limit: int) -> Iterator[tuple[Expr, list[Move]]]:
    """x, then x after each stage of `_stages` (each stage starts from the expanded normal form
    of the line, a regrouping the kernel checks), with the moves from x."""
    trail: list[Move] = []
    yield x, trail
    for kind, todo in _stages(rules):
        nx = feats(x)[1]
        v = nx if nx is not None else expand_powers(x)
        start = v
        moves: list[Move] = []
        if kind == "saturate":
            for _ in range(4):
                before = v
                for rule, d in todo:
                    v, more, _ = saturate(v, rule, d, facts, limit)
                    moves += more
                if v == before:
                    break
        else:
            v, more, _ = turn_traces(v, [r for r, _ in todo], facts, feats)
            moves += more
        if moves and v != start:
            x, trail = v, trail + moves
            yield x, trail


def canonical_join(e: Expr, e2: Expr, rules: list[Rule], facts, key, ctx: Context) -> list[Move] | None:
    """Both lines through the canonical pipeline; a meeting up to algebra is e →* x = y *← e2."""
    from .match import _backward

    feats = _features(ctx)
    limit = 4 * max(size(expand_powers(e)), size(expand_powers(e2))) + 40
    seen: list[dict] = [{}, {}]
    runs = [pipeline(e, rules, facts, feats, limit), pipeline(e2, rules, facts, feats, limit)]
    alive = [True, True]
    while any(alive):
        for s in (0, 1):
            if not alive[s]:
                continue
            step = next(runs[s], None)
            if step is None:
                alive[s] = False
                continue
            x, trail = step
            k = key(x)
            if k is None:
                alive[s] = False
                continue
            seen[s].setdefault(k, (x, trail))
            hit = seen[1 - s].get(k)
            if hit is not None and algebra_equal(x, hit[0], ctx):
                fwd, bwd = (trail, hit[1]) if s == 0 else (hit[1], trail)
                return fwd + _backward(bwd)
    return None


class Search:
    """One bidirectional best-first search from e and e2; `seen[0]` holds every line reached
    from e (with the moves from e), `seen[1]` every line reached from e2 (with the moves from
    e2). `run` returns a certificate from e to e2, or None when the work is spent."""

    def __init__(self, e: Expr, e2: Expr, rules: list[Rule], facts, key: Callable, ctx: Context,
                 work: int = WORK):
        self.rules, self.facts, self.key, self.ctx, self.work = rules, facts, key, ctx, work
        self.feats = _features(ctx)
        self.ends = (e, e2)
        starts = (expand_powers(e), expand_powers(e2))
        self.limit = 2 * max(size(starts[0]), size(starts[1])) + 12
        self.goal = (self.feats(e2)[0], self.feats(e)[0])
        self.seen: list[dict] = [{}, {}]
        self.heaps: list[list] = [[], []]
        self.spent = 0
        self.exhausted = False
        self._n = 0
        for s, x in enumerate(starts):
            k = key(x)
            if k is not None:
                self.seen[s][k] = (x, [], 0)
                self._push(s, x, [], 0)

    def _push(self, s: int, x: Expr, trail: list[Move], depth: int) -> None:
        h = distance(self.feats(x)[0], self.goal[s])
        self._n += 1
        heapq.heappush(self.heaps[s], (2 * h + depth, self._n, x, trail, depth))

    def run(self) -> list[Move] | None:
        from .match import _backward

        s = 1
        while self.spent < self.work:
            live = [i for i in (0, 1) if self.heaps[i]]
            if not live:
                return None
            s = 1 - s if (1 - s) in live else s
            _, _, x, trail, depth = heapq.heappop(self.heaps[s])
            for out, moves, cost in _candidates(x, self.rules, self.facts, self.feats, self.limit):
                self.spent += cost
                if self.spent > self.work:
                    self.exhausted = True
                    return None
                if size(out) > self.limit:
                    continue
                k = self.key(out)
                if k is None or k in self.seen[s]:
                    continue
                t2 = trail + moves
                self.seen[s][k] = (out, t2, depth + 1)
                other = self.seen[1 - s].get(k)
                if other is not None and algebra_equal(out, other[0], self.ctx):
                    fwd, bwd = (t2, other[1]) if s == 0 else (other[1], t2)
                    return fwd + _backward(bwd)
                self._push(s, out, t2, depth + 1)
        self.exhausted = True
        return None


def deep(e: Expr, e2: Expr, rules: list[Rule], facts, key, ctx: Context,
         work: int = WORK, stats: dict | None = None) -> list[Move] | None:
    moves = canonical_join(e, e2, rules, facts, key, ctx)
    if moves is not None:
        return moves
    found = Search(e, e2, rules, facts, key, ctx, work)
    moves = found.run()
    if moves is None and stats is not None and found.exhausted:
        stats["exhausted"] = True
    return moves


def replays(e: Expr, e2: Expr, moves: list[Move] | None, rules: list[Rule], ctx: Context) -> bool:
    """Does the kernel's replay of `moves` lead from e to e2 (up to algebra)?"""
    if moves is None:
        return False
    try:
        line = replay(e, moves, {r.id: r for r in rules}, KernelFacts(ctx.env, ctx.varying), ctx)
    except ProveError:
        return False
    return algebra_equal(line, e2, ctx)


def split(e: Expr, e2: Expr, rules: list[Rule], ctx: Context, work: int = WORK,
          tries: int = SPLIT_TRIES) -> Expr | None:
    """An intermediate line m for a step e → e2 that the cited `rules` do not justify in one
    go, such that e → m and m → e2 are each justified by `rules`: each half has a certificate
    from `match.certificate` (the checker's own justifier) that the kernel's `rules.replay`
    follows to the other end, up to `algebra`. None when the step is justified as it stands, or
    when no such line is found within the work bound.

        split(e: Expr, e2: Expr, rules: list[Rule], ctx: Context) -> Expr | None

    `e`, `e2`: the line before and the step's line (kernel trees); `rules`: the kernel `Rule`s
    the step cites (rules other than rewrites are ignored); `ctx`: the step's
    `kernel.truth.Context`. It does not decide whether the step is true: say "write m first"
    only for a step the kernel found true (and the caller's kernel check of the two halves
    remains the judge).

    Candidates for m are the lines of the canonical pipeline from either end (differentials
    pushed in, traces split, turned, gathered) and the lines the deep search reached (`work`
    candidate lines, `WORK` by default), closest to halfway first; each is tried as written
    and in normal form (`tr(dX X^2) + tr(X dX X) + tr(X^2 dX)` reads better than the nested
    product rule's output). At most `tries` (`SPLIT_TRIES`) candidates are screened, each by a
    small search on both halves (`SCREEN_WORK` each), and the ones that pass are confirmed with
    `match.certificate` and the kernel's replay. Deterministic for given random points: no
    clock is read."""
    from .match import _facts, _key, certificate, justify

    rewriting = [r for r in rules if r.kind == "rewrite"]
    if not rewriting:
        return None
    key = _key(ctx)
    ke, ke2 = key(e), key(e2)
    if ke is None or ke2 is None:
        return None
    facts = _facts(ctx)
    if canonical_join(e, e2, rewriting, facts, key, ctx) is not None:
        return None
    search = Search(e, e2, rewriting, facts, key, ctx, work)
    if search.run() is not None:  # the step is justified as it stands
        return None
    feats = search.feats
    fe, fe2 = feats(e)[0], feats(e2)[0]
    limit = 4 * max(size(expand_powers(e)), size(expand_powers(e2))) + 40
    lines: list[Expr] = [x for x, _ in pipeline(e, rewriting, facts, feats, limit)][1:]
    lines += [x for x, _ in pipeline(e2, rewriting, facts, feats, limit)][1:]
    ranked = []
    for s in (0, 1):
        for x, trail, _depth in search.seen[s].values():
            if trail:
                fx = feats(x)[0]
                da, db = distance(fe, fx), distance(fx, fe2)
                ranked.append((max(da, db), da + db, s, len(ranked), x))
    lines += [r[-1] for r in sorted(ranked, key=lambda r: r[:4])]
    seen = {ke, ke2, None}
    tried = 0
    for m in lines:
        km = key(m)
        if km in seen:
            continue
        seen.add(km)
        tried += 1
        if tried > tries:
            break
        forms = [feats.norm.normal(m)] if feats(m)[1] is not None else []
        for form in forms + [m]:
            small = {"max_apps": 3, "budget": SCREEN_WORK, "deep_work": SCREEN_WORK}
            if justify(e, form, rewriting, ctx, **small) is None or \
                    justify(form, e2, rewriting, ctx, **small) is None:
                continue
            if replays(e, form, certificate(e, form, rewriting, ctx), rewriting, ctx) and \
                    replays(form, e2, certificate(form, e2, rewriting, ctx), rewriting, ctx):
                return form
    return None
