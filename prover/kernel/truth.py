"""Is `lhs = rhs` true as a function of the variables' entries? (SPEC §5, "True")

1. Random points mod a 61-bit prime at several dimension assignments (fast; a disagreement is
   almost surely real, and is then shown as a rational counterexample).
2. Exact confirmation with Z3 at the small assignments (every symbol distinct, sizes 2 and 3).
3. Where Z3 answers `unknown` or runs out of time, the verdict is `probable` with the
   Schwartz–Zippel bound of step 1; it is never silently `true`.

Read next: `match.py` (is the step justified by its rules?).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from .evaluate import (P, Domain, Evaluator, Mat, ModP, NeedsReals, QQ, Reals, Singular,
                       entries, same_value)
from .expr import Add, Div, Expr, Func, Ident, Inv, Mul, Num, Pow, Sym, d_depth, symbols
from .shapes import Env

Matrix = list[list[Any]]


@dataclass
class Counterexample:
    dims: dict[str, int]
    values: dict[str, Matrix]  # the variables (and differentials, as "dX") at the point
    lhs: Matrix
    rhs: Matrix
    labels: tuple[str, str] = ("line before", "this line")

    def to_json(self) -> dict:
        fmt = lambda m: [[_fmt(x) for x in row] for row in m]  # noqa: E731
        return {"dims": self.dims, "values": {k: fmt(v) for k, v in self.values.items()},
                "lhs": fmt(self.lhs), "rhs": fmt(self.rhs), "labels": list(self.labels)}


def _fmt(x: Any) -> str:
    if isinstance(x, Fraction):
        return str(x)
    try:
        return format(float(x), ".6g")
    except (TypeError, ValueError):
        return str(x)


@dataclass
class Truth:
    # "true" (exact), "probable" (random only, bound stated), "false", "unknown", or "disagree"
    # (the exact and random checks contradict each other: an internal error, never a pass)
    status: str
    checked_by: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    note: str = ""


MAX_RANDOM_SIZE = 12  # the largest size the random check goes to (see `degree_sizes`)
MAX_TOTAL_DEGREE = 10**6  # beyond this the chance bound (degree / 2^61) is not worth stating
MAX_Z3_DEGREE = 200  # beyond this Z3's own expansion can run away before its timeout applies


def assignments(dim_syms: set[str]) -> list[dict[str, int]]:
    """Dimension assignments to check at: distinct per symbol, never 1, and every symbol gets
    both an even and an odd size (det(-X) = det(X) holds at even sizes only). The first two
    are the small ones that Z3 checks exactly: 2, 3, … and 3, 4, …"""
    syms = sorted(dim_syms)
    if not syms:
        return [{}]
    a = {s: 2 + i for i, s in enumerate(syms)}
    b = {s: 3 + i for i, s in enumerate(syms)}
    c = {s: 2 + i for i, s in enumerate(reversed(syms))}
    out = []
    for x in (a, b, c):
        if x not in out:
            out.append(x)
    return out


def nc_degree(e: Expr, env, memo: dict | None = None) -> int:
    """How many matrix-variable factors a term can have: an identity of matrices that holds at
    a size at least this large plus one holds at every size (Amitsur–Levitzki for products;
    Procesi–Razmyslov for traces), so the random check goes that far."""
    if memo is not None:
        hit = memo.get(e)
        if hit is None:
            hit = memo[e] = _nc_degree(e, env, memo)
        return hit
    return _nc_degree(e, env, None)


def _nc_degree(e: Expr, env, memo: dict | None) -> int:
    nc = lambda k: nc_degree(k, env, memo)  # noqa: E731
    if isinstance(e, Sym):
        info = env.get(e.name)
        return 0 if info is not None and info.shape.scalar else 1
    if isinstance(e, (Add,)):
        return max(nc(k) for k in e.args)
    if isinstance(e, Mul):
        return sum(nc(k) for k in e.args)
    if isinstance(e, Div):
        return nc(e.num) + nc(e.den)
    if isinstance(e, Pow):
        return abs(e.k) * nc(e.arg)
    kids = e.children()
    return max((nc(k) for k in kids), default=0)


def total_degree(e: Expr, n: int) -> int:
    """A bound on the degree of the entries (after clearing denominators) at sizes up to n:
    the Schwartz–Zippel bound of a random point is this over 2^61. (Kept on the node, per n.)"""
    memo = e.__dict__.get("_tdeg")
    if memo is None:
        memo = {}
        object.__setattr__(e, "_tdeg", memo)
    hit = memo.get(n)
    if hit is None:
        hit = memo[n] = _total_degree(e, n)
    return hit


def _total_degree(e: Expr, n: int) -> int:
    if isinstance(e, Sym):
        return 1
    if isinstance(e, (Num, Ident)):
        return 0
    if isinstance(e, Add):
        return max(total_degree(k, n) for k in e.args)
    if isinstance(e, Mul):
        return sum(total_degree(k, n) for k in e.args)
    if isinstance(e, Div):
        return total_degree(e.num, n) + total_degree(e.den, n)
    if isinstance(e, Inv):
        return 2 * n * total_degree(e.arg, n)
    if isinstance(e, Pow):
        return abs(e.k) * (2 * n if e.k < 0 else 1) * total_degree(e.arg, n)
    if isinstance(e, Func) and e.name == "det":
        return n * total_degree(e.arg, n)
    if isinstance(e, Func) and e.name == "log":
        return 1 + total_degree(e.arg, n)
    kids = e.children()
    return max((total_degree(k, n) for k in kids), default=0)


def degree_sizes(lhs: Expr, rhs: Expr, ctx: "Context") -> dict[str, int] | None | str:
    """One more assignment whose sizes all reach what the step's degree D requires, when the
    usual ones do not; None when they already do; a reason string when it would go past
    MAX_RANDOM_SIZE. A 1×1 (trace) identity of degree D that holds at size n ≥ D holds at every
    size; a matrix-valued one needs n ≥ D + 1 (it is the trace identity tr(M Y) = 0 with one
    more factor). Every symbol must reach that size: the usual assignments take each symbol
    to 3 at least, but not always to 4 (with one symbol the sizes are 2 and 3 only)."""
    syms = sorted(ctx.dim_syms)
    if not syms:
        return None
    degree = max(nc_degree(lhs, ctx.env, ctx.nc_memo), nc_degree(rhs, ctx.env, ctx.nc_memo))
    need = degree if _is_scalar(lhs, ctx) else degree + 1
    reached = min(max(a[s] for a in assignments(ctx.dim_syms)) for s in syms)
    if need <= reached:
        return None
    top = need + len(syms) - 1
    if top > MAX_RANDOM_SIZE:
        return (f"the step has degree {degree} in its matrices; confirming it needs sizes of at "
                f"least {need}, beyond the checker's limit of {MAX_RANDOM_SIZE}")
    return {s: need + i for i, s in enumerate(syms)}


def _is_scalar(e: Expr, ctx: "Context") -> bool:
    from .errors import ProveError
    from .shapes import shape_of

    try:
        return shape_of(e, ctx.env).scalar
    except ProveError:
        return False


def _dim(x, dims: Mapping[str, int]) -> int:
    return x if isinstance(x, int) else dims[x]


class Context:
    """What a truth check needs besides the two trees: declarations and which variables vary."""

    def __init__(self, env: Env, varying: set[str]):
        self.env, self.varying = env, varying
        self.dim_syms = {x for v in env.values() for x in (v.shape.rows, v.shape.cols)
                         if isinstance(x, str)}
        self.key = (tuple(sorted(env.items())), frozenset(varying))
        self.nc_memo: dict[Expr, int] = {}  # nc_degree under these declarations

    def shapes(self, dims: Mapping[str, int], names: set[str]) -> dict[str, tuple[int, int]]:
        return {n: (_dim(self.env[n].shape.rows, dims), _dim(self.env[n].shape.cols, dims))
                for n in names if n in self.env}


def random_point(ctx: Context, names: set[str], dims: Mapping[str, int], draw, zero, with_d=True):
    point, dpoint = {}, {}
    for name, (r, c) in sorted(ctx.shapes(dims, names).items()):
        info = ctx.env[name]
        for target in ((point, dpoint) if with_d and name in ctx.varying else (point,)):
            m = [[draw() for _ in range(c)] for _ in range(r)]
            if info.symmetric and r == c:
                m = [[m[min(i, j)][max(i, j)] for j in range(c)] for i in range(r)]
            target[name] = m
    return point, dpoint


# Random points shared by every step with the same declarations: drawn once per process from the
# operating system's randomness (so no proof can be written against them), and each keeps the
# values of the subterms it has seen, so a chain of steps pays only for what each step changes.
# Sharing points between steps leaves each step's bound as it was: the points do not depend on
# the step, and a false step agrees at a uniformly random point with chance below degree / p.
_SEEDS = random.SystemRandom()
_SHARED: dict[tuple, list[Evaluator]] = {}
SHARED_POINTS = 1  # per assignment (three or four assignments: three or four points a step)
_MEMO_LIMIT = 20000


def _shared_evaluators(ctx: Context, dims: Mapping[str, int]) -> list[Evaluator]:
    key = (ctx.key, tuple(sorted(dims.items())))  # one set of points serves every order
    evs = _SHARED.get(key)
    if evs is None or any(len(ev.memo) > _MEMO_LIMIT for ev in evs):
        rng = random.Random(_SEEDS.getrandbits(64))
        evs = []
        for _ in range(SHARED_POINTS):
            point, dpoint = random_point(ctx, set(ctx.env), dims, lambda: rng.randrange(P), 0)
            evs.append(Evaluator(ModP, 0, point, dpoint))
        if len(_SHARED) > 64:
            _SHARED.clear()
        _SHARED[key] = evs
    return evs


def _agree_at(ev: Evaluator, lhs: Expr, rhs: Expr) -> bool | None:
    try:
        return same_value(ev.value(lhs), ev.value(rhs), ModP)
    except (Singular, Domain):
        return None


def _modp_agree(lhs: Expr, rhs: Expr, ctx: Context, dims, rng: random.Random, order: int) -> bool | None:
    names = symbols(lhs) | symbols(rhs)
    for _ in range(4):  # re-draw on an unlucky singular point
        point, dpoint = random_point(ctx, names, dims, lambda: rng.randrange(P), 0)
        ev = Evaluator(ModP, 0, point, dpoint)
        try:
            return same_value(ev.value(lhs), ev.value(rhs), ModP)
        except (Singular, Domain):
            continue
    return None


def find_counterexample(lhs: Expr, rhs: Expr, ctx: Context, tries: int = 60,
                        seed: int = 0) -> Counterexample | None:
    """Small integer matrices where the two sides differ, evaluated exactly (or with 50-digit
    reals where a log leaves the rationals)."""
    rng = random.Random(seed)
    order = max(d_depth(lhs), d_depth(rhs))
    names = symbols(lhs) | symbols(rhs)
    for dims in assignments(ctx.dim_syms):
        for attempt in range(tries):
            span = 2 if attempt < tries // 2 else 5
            point, dpoint = random_point(ctx, names, dims,
                                         lambda: Fraction(rng.randint(-span, span)), 0)
            try:
                lv, rv, F, equal = evaluate_pair(lhs, rhs, point, dpoint, order)
            except (Singular, Domain, NeedsReals):
                continue
            if not equal:
                return _counterexample(dims, point, dpoint if order else {}, lv, rv)
    return None


def evaluate_pair(lhs: Expr, rhs: Expr, point, dpoint, order: int):
    """Both sides at one point, exactly over the rationals, or with 50-digit reals where a log
    value survives. Returns (lhs value, rhs value, field, whether they are equal)."""
    try:
        ev = Evaluator(QQ, 0, point, dpoint)
        lv, rv = ev.value(lhs), ev.value(rhs)
        return lv, rv, QQ, same_value(lv, rv, QQ)
    except NeedsReals:
        F = Reals()
        conv = lambda d: {k: [[F.const(x) for x in r] for r in m] for k, m in d.items()}  # noqa: E731
        ev = Evaluator(F, 0, conv(point), conv(dpoint))
        lv, rv = ev.value(lhs), ev.value(rhs)
        return lv, rv, F, same_value(lv, rv, F)


def _counterexample(dims, point, dpoint, lv, rv) -> Counterexample:
    shape = lambda v, o: (v.rows, v.cols) if isinstance(v, Mat) else (  # noqa: E731
        (o.rows, o.cols) if isinstance(o, Mat) else (1, 1))
    values = dict(point)
    values.update({("d" + k if "d" + k not in point else f"d({k})"): v for k, v in dpoint.items()})
    return Counterexample(dict(dims), values, entries(lv, *shape(lv, rv), F=QQ),
                          entries(rv, *shape(rv, lv), F=QQ))


_CACHE: dict[tuple, Truth] = {}


def _key(lhs: Expr, rhs: Expr, ctx: Context, use_z3: bool) -> tuple:
    return (lhs, rhs, ctx.key, use_z3)


def heavy(lhs: Expr, rhs: Expr) -> bool:
    """Has an inverse or a determinant: Z3 works with these at the smallest sizes only."""
    return _heavy(lhs) or _heavy(rhs)


def _heavy(e: Expr) -> bool:
    out = e.__dict__.get("_heavy")
    if out is None:
        out = isinstance(e, Inv) or (isinstance(e, Func) and e.name == "det") or any(
            _heavy(k) for k in e.children())
        object.__setattr__(e, "_heavy", out)
    return out


def check_equal(lhs: Expr, rhs: Expr, ctx: Context, use_z3: bool = True) -> Truth:
    """Decide whether lhs = rhs holds for all values of the variables (see module docstring)."""
    if lhs == rhs:  # the same tree: equal wherever it is defined, nothing to evaluate
        return Truth("true", [], None, "")
    key = _key(lhs, rhs, ctx, use_z3)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    result = _check_equal(lhs, rhs, ctx, use_z3)
    if len(_CACHE) > 20000:
        _CACHE.clear()
    _CACHE[key] = result
    return result


def _has_log(*es: Expr) -> bool:
    return any(isinstance(n, Func) and n.name == "log" for e in es for n in e.walk())


def _random_phase(lhs: Expr, rhs: Expr, ctx: Context, use_z3: bool,
                  skip: int | None = None) -> tuple[Truth | None, dict]:
    """The random points. Returns a final Truth when they decide (false, unknown), else None
    and what the exact phase needs (order, assignments, degree, the stated bound). `skip`: an
    assignment left out, because Z3 is about to decide the step there exactly."""
    order = max(d_depth(lhs), d_depth(rhs))
    rng = random.Random(hash((lhs, rhs)) & 0xFFFFFFFF)
    dims_list = assignments(ctx.dim_syms)
    extra = degree_sizes(lhs, rhs, ctx)
    if isinstance(extra, str):
        return Truth("unknown", [], None, extra), {}
    if extra is not None:
        dims_list.append(extra)
    biggest = max([v for d in dims_list for v in d.values()] + [
        x for v in ctx.env.values() for x in (v.shape.rows, v.shape.cols) if isinstance(x, int)] + [1])
    degree = max(total_degree(lhs, biggest), total_degree(rhs, biggest)) + order
    if degree > MAX_TOTAL_DEGREE:
        return Truth("unknown", [], None, f"the step's degree (about {degree}) is too high for "
                     "a random check to mean anything"), {}
    points = 0
    for slot, dims in enumerate(dims_list):
        if slot == skip:
            continue
        for ev in _shared_evaluators(ctx, dims):
            agree = _agree_at(ev, lhs, rhs)
            if agree is None:  # singular at the shared point: a fresh one for this step
                agree = _modp_agree(lhs, rhs, ctx, dims, rng, order)
            if agree is None:
                continue
            points += 1
            if not agree:
                return _refute(lhs, rhs, ctx, dims, order, use_z3 and degree <= MAX_Z3_DEGREE), {}
    if points == 0:
        return Truth("unknown", [], None, "every sampled point was singular or outside the domain"), {}
    bound = f"{points} random points, chance of error below 10^-{max(1, 17 - len(str(degree)))}"
    return None, dict(order=order, dims_list=dims_list, degree=degree, bound=bound)


def _check_equal(lhs: Expr, rhs: Expr, ctx: Context, use_z3: bool) -> Truth:
    done, info = _random_phase(lhs, rhs, ctx, use_z3)
    if done is not None:
        return done
    bound = info["bound"]
    if not use_z3:
        return Truth("probable", ["random"], None, bound)
    if info["degree"] > MAX_Z3_DEGREE:
        return Truth("probable", ["random"], None, f"the degree is too high for Z3; rests on {bound}")
    from .z3check import z3_equal  # Z3 is imported lazily: it costs ~0.2 s to load

    verdict, detail = z3_equal(lhs, rhs, ctx, info["dims_list"][:2], info["order"])
    if verdict == "unsat":
        return Truth("true", ["z3", "random"], None, "")
    if verdict == "sat" or verdict == "disagree":
        # The random points all agreed, yet the exact check found a difference: one of the two
        # is wrong, and choosing would hide a bug. Never a pass, never silently a fail.
        return Truth("disagree", ["z3", "random"], detail if verdict == "sat" else None,
                     DISAGREE)
    return Truth("probable", ["random"], None, f"Z3: {detail}; rests on {bound}")


def prefetch(pairs: list[tuple[Expr, Expr]], ctx: Context, budget_s: float) -> None:
    """Confirm the steps of a proof together: the random phase one by one as usual, then one
    Z3 query for all of them per assignment (`z3_confirm_many`). What it confirms is cached
    exactly as `check_equal` would have cached it; everything else is left for `check_equal`
    to decide one step at a time, with its own diagnostics."""
    if len(_CACHE) > 20000:
        _CACHE.clear()
    todo, seen = [], set()
    for lhs, rhs in pairs:
        key = _key(lhs, rhs, ctx, True)
        if key in _CACHE or key in seen:
            continue
        seen.add(key)
        # Z3 decides a step exactly at the second assignment too (unless it has an inverse or a
        # determinant): the random point there would add nothing to a confirmation
        done, info = _random_phase(lhs, rhs, ctx, True, skip=None if heavy(lhs, rhs) else 1)
        if done is not None:
            if done.status == "false":
                _CACHE[key] = done
            continue
        if info["degree"] <= MAX_Z3_DEGREE:
            todo.append((lhs, rhs, key))
    if len(todo) < 2:
        return
    from .z3check import z3_confirm_many

    confirmed = z3_confirm_many([(l, r) for l, r, _ in todo], ctx,
                                assignments(ctx.dim_syms)[:2], budget_s)
    for i in confirmed:
        _CACHE[todo[i][2]] = Truth("true", ["z3", "random"], None, "")


DISAGREE = ("internal error: the exact check (Z3) and the random evaluation disagree about this "
            "step; please report it")


def _refute(lhs: Expr, rhs: Expr, ctx: Context, dims, order: int, ask_z3: bool) -> Truth:
    """The random points found a difference: show it with small integers, or failing that ask
    Z3, which must agree that the step is false (if it proves it true, that is an internal
    error, not a choice between the two)."""
    cex = find_counterexample(lhs, rhs, ctx)
    if cex is not None:
        return Truth("false", ["random"], cex)
    if ask_z3:
        from .z3check import z3_equal

        verdict, detail = z3_equal(lhs, rhs, ctx, assignments(ctx.dim_syms)[:2], order)
        if verdict == "sat" and detail is not None:
            return Truth("false", ["random", "z3"], detail)
        if verdict == "unsat" and not _has_log(lhs, rhs) and degree_sizes(lhs, rhs, ctx) is None \
                and dims in assignments(ctx.dim_syms)[:2]:
            return Truth("disagree", ["z3", "random"], None, DISAGREE)
    if _has_log(lhs, rhs):
        # the random check reads log as an arbitrary function, so a law of log itself
        # (log(a b) = log a + log b) looks false there: undecided, not false
        return Truth("unknown", ["random"], None, "the step relies on a property of log itself, "
                     "which the checker cannot decide; only d(log(·)) is handled (diff-log, "
                     "diff-log-det)")
    return Truth("false", ["random"], None,
                 f"the two sides differ at a random point with sizes {dims} (mod a 61-bit "
                 "prime); no small integer counterexample was found")


def reset_caches() -> None:
    """Forget every cached verdict, evaluator, parsed line and structure number (benchmarks use
    this so that each run does all of its work)."""
    from . import expr, match, parser, z3check

    _CACHE.clear()
    match._KEYS.clear()
    match._FACTS.clear()
    _SHARED.clear()
    z3check._EVALUATORS.clear()
    parser._PARSED.clear()
    expr._IDS.clear()
    expr._GEN[0] += 1
