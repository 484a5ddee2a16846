"""Is `lhs = rhs` true as a function of the variables' entries? (SPEC §5, "True")

The answer is `Evidence`, a typed value:
- `exact`: Z3 confirmed the identity at every size assignment the size argument below needs;
- `probabilistic`: random points agreed at every such assignment; `bound` is the chance that a
  false identity got this far, computed from the real degree (det, inverses and powers count as
  the polynomial degree they are at that size) and from the size of the literals;
- `false`: a point where the two sides differ (`witness`), at integer values, so it is exact;
- `unknown`: anything else (a limit, an undefined point everywhere, a law of log). Never valid.

Which sizes. A matrix identity whose sides are trace polynomials of degree D (no det, no
inverse, no `I` under a function) holds at every size once it holds at one where every
dimension symbol is at least D (a 1×1 identity) or D + 1 (a matrix one): there are no trace
identities of lower degree (Razmyslov–Procesi). Steps with det, inverses or `I` under a function
may hold only up to some size; they are checked at every size from 2 up to a bound that grows
with the number of such operators, and the evidence names the sizes. Nothing here reads a clock.
Read next: `rules.py`.
"""
from __future__ import annotations

import copy, math
from contextlib import suppress
from itertools import islice, permutations, product
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Literal, Mapping, NoReturn, TypeGuard

from .evaluate import _OS, Domain, Evaluator, Matrix, ModP, Singular, equal_values
from .expr import (ELEMENTWISE, Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T, d_depth, mul,
                   remembered, symbols)
from .shapes import Dim, Env, Shape, VarInfo, dim_size, shape_of, split

MAX_SIZE = 32  # the largest size the random points go to
MAX_GRID = 16_384  # size assignments scanned for a size-dependent step (1,024 of them checked)
MAX_DEGREE = 10**6  # past this degree, or bits in the literals, a stated bound is worthless
Z3_MAX_SIZE = 5  # Z3 is asked only where every size is at most this (and no det or inverse)
Z3_RLIMIT = 3_000_000  # Z3's resource limit per assignment (deterministic, unlike a timeout)
Z3_TERMS = 20_000  # Z3 is not asked where entries could have more monomials than this
_RELATIONS = {">=": int.__ge__, ">": int.__gt__, "<=": int.__le__, "<": int.__lt__}

@dataclass
class Witness:
    """A point where the two sides differ: sizes, the variables' (and differentials') values,
    and both sides' values there, all exact."""

    dims: dict[str, int]
    values: dict[str, Matrix]  # name -> matrix (rows of entries)
    lhs: Matrix
    rhs: Matrix
    labels: tuple[str, str] = ("line before", "this line")
    modulus: int | None = None  # values are residues mod this prime (None: rationals)




@dataclass
class Evidence:
    kind: str  # exact | probabilistic | false | unknown
    sizes: list[dict[str, int]] = field(default_factory=list)
    bound: float = 0.0  # probabilistic: chance of error
    note: str = ""
    witness: Witness | None = None
    checked_by: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.kind in ("exact", "probabilistic")


class Frozen(dict[str, VarInfo]):
    """A context's declarations, which no one can change: its key is made from them (pickled,
    as `prove check --jobs` sends results back, it is made again from a copy)."""

    def __reduce__(self) -> Any: return Frozen, (dict(self),)
    def _refuse(self, *args: Any, **kw: Any) -> NoReturn: raise TypeError("a context's declarations are read-only")
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse


class Context:
    """Declarations, which variables vary, and the random points of one check (shared by its
    steps: the points are drawn after the proof is read, from the OS's randomness)."""

    def __init__(self, env: Env, varying: set[str], claim: tuple[Expr, ...] = (),
                 relations: tuple[tuple[str, str, Dim], ...] = (), invertible: tuple[Expr, ...] = ()):
        # its own read-only copies: what `key` says is what decide reads, whoever changes the
        # caller's declarations (or tries the context's) afterwards
        self.env, self.varying = Frozen(env), frozenset(varying)
        self.dim_syms = sorted({x for v in self.env.values() for x in (v.shape.rows, v.shape.cols) if isinstance(x, str)})
        self.points: dict[tuple[Any, ...], Evaluator] = {}
        self.field: ModP | None = None  # its random prime, drawn when first needed (a remembered answer needs none)
        # the sizes the claim is asserted at: where the stated relations hold (("m", ">=",
        # "n"), ("n", ">", 2)) and every matrix the claim inverts (or takes log det of), and
        # every one it assumes invertible, can be by its rank: X^T X needs m >= n
        self.relations, self.assumed = relations, tuple(invertible)
        self.needs = tuple(invertible) + tuple((x.arg if isinstance(x, Func) else x).children()[0]
                                         for e in claim for x in e.walk() if isinstance(x, Inv) or
                                         isinstance(x, Pow) and x.k < 0 or isinstance(x, Func) and
                                         x.name == "log" and isinstance(x.arg, Func) and x.arg.name == "det")
        self._defined: dict[tuple[tuple[str, int], ...], bool] = {}
        # everything `decide` reads of a context: its answers are remembered under this key
        self.key = (tuple(sorted(self.env.items())), self.varying, relations, self.needs)

    def defined(self, dims: Mapping[str, int]) -> bool:
        return remembered(self._defined, tuple(sorted(dims.items())), lambda: all(_RELATIONS[op](_at(
            dims, a), _at(dims, b)) for a, op, b in self.relations) and all(_rank(x, self.env, dims) >= _rank(
                x, self.env, dims, True) for x in self.needs))

    def sizes(self, dims: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        return {n: (_at(dims, v.shape.rows), _at(dims, v.shape.cols)) for n, v in self.env.items()}

    def draw(self, dims: Mapping[str, int], draw: Callable[[], Any]) -> tuple[dict[str, Matrix], dict[str, Matrix]]:
        point, dpoint = dict[str, Matrix](), dict[str, Matrix]()
        for name, (r, c) in sorted(self.sizes(dims).items()):
            for target in (point, dpoint) if name in self.varying else (point,):
                m = [[draw() for _ in range(c)] for _ in range(r)]
                if self.env[name].symmetric and r == c:
                    m = [[m[min(i, j)][max(i, j)] for j in range(c)] for i in range(r)]
                target[name] = m
        return point, dpoint

    def evaluator(self, dims: Mapping[str, int], fresh: int = 0, free: bool = False) -> Evaluator:
        field = self.field = self.field or ModP()
        return remembered(self.points, (tuple(sorted(dims.items())), fresh, free), lambda: Evaluator(
            field, 0, *self.draw(dims, lambda: _OS.randrange(field.p)), self.env, dims, free))


def _at(dims: Mapping[str, int], x: Dim | None) -> int:
    """The size of a dimension at these sizes (a number is its own size; nothing fixes None)."""
    return MAX_SIZE**2 if x is None else dim_size(x, dims)


def _rank(e: Expr, env: Env, dims: Mapping[str, int], full: bool = False) -> int:
    """An upper bound on the rank of e's value at these sizes: its smaller side (with `full`),
    less through a thinner factor of a product or a sum of thin terms. Scalars in it count as
    nonzero, so no size-dependent scalar can cut the claim's sizes into an odd pattern."""
    s = shape_of(e, env)
    side = min(_at(dims, x) for x in (s.rows, s.cols))
    if full or isinstance(e, Num) and e.value == 0:
        return side if full else 0
    if isinstance(e, Mul):  # as the product is read: a 1×1 part scales the other
        parts = (mul(*e.args[:split(e, env)]), mul(*e.args[split(e, env):]))
        return min([side] + [_rank(f, env, dims) for f in parts if not shape_of(f, env).scalar])
    if isinstance(e, (Add, T, Neg, Div)) or isinstance(e, Pow) and e.k > 0:  # a sum: its terms' ranks together
        return min(side, sum(_rank(t, env, dims) for t in e.args) if isinstance(e, Add) else _rank(
            e.num if isinstance(e, Div) else e.arg, env, dims))
    return side


# -- the size argument --------------------------------------------------------------------------
def _inverted(e: Expr) -> set[Expr]:
    """The inverted matrices in e, but diagonal ones: diag(u)^-1 divides by u's entries, an
    entrywise function, which the index-label argument covers (docs/soundness.md)."""
    return ({e.arg} if (isinstance(e, Inv) or isinstance(e, Pow) and e.k < 0) and not (
        isinstance(e.arg, Func) and e.arg.name == "diag") else set()).union(*[_inverted(k) for k in e.children()])


def _size_dependent(e: Expr) -> TypeGuard[Func]:
    """A scalar whose value can depend on the sizes in a way no degree bounds: det of anything,
    and a function of an argument holding I, X^0 or an inverse (tr(I) = n, tr(X X^-1) = n)."""
    return isinstance(e, Func) and (e.name == "det" or e.name != "d" and any(
        isinstance(x, (Ident, Inv)) or isinstance(x, Pow) and x.k <= 0 for x in e.arg.walk()))


def _size_degree(e: Expr) -> int:
    """The degree of e as a polynomial in its size-dependent scalars: `((tr(X^0) - 3)^2 - 1)^2`
    has degree 4 in tr(X^0) = n, so it can vanish at four sizes and not at a fifth."""
    kids = [_size_degree(k) for k in e.children()]  # tr(I p(n)) = n p(n); det(s I) = s^n: past every bound;
    # sums too: Σ c_k k^n with m terms has m - 1 roots
    return 1 + kids[0] * (MAX_SIZE if e.name == "det" else 1) if _size_dependent(e) else sum(kids) if isinstance(
        e, (Add, Mul, Div, Had, Kron)) else abs(e.k) * kids[0] if isinstance(e, Pow) else max(kids, default=0)


def _slots(s: Shape) -> int:
    """The symbolic factors of a shape's two dimensions (m·n×1 has two)."""
    return sum(isinstance(f, str) for x in (s.rows, s.cols) for f in (x if isinstance(x, tuple) else (x,)))


def _loops(e: Expr, env: Env, w: int = 1, div: bool = False) -> int:
    """A bound on the degree in the sizes of e's coefficients over patterns of equal labels: one
    per I (or X^0), whose indices can be summed with no variable on them (tr(I) = n); a product
    adds, a sum takes its largest, a power multiplies; and an entrywise function's entries may
    all be one value (exp(u - u) is all exp(0)), one more per symbolic dimension of its output;
    a quotient counts both parts, and where the step divides by loops (`div`) a sum adds its terms
    (P1/Q1 + P2/Q2 clears to (P1 Q2 + P2 Q1)/(Q1 Q2)): the step is that polynomial once cleared.
    -1 where the sizes enter other than as a polynomial: under an inverse or an entrywise
    function, an argument whose value may depend on the sizes — a product, trace, sum or det over
    something with loops (f(g(u)) is only as index-constant as g(u); f(sum(exp(u - u))) is f(n·c)).
    Nonzero literals are 1×1, and never form such an index."""
    kids = [_loops(k, env, w, div) for k in e.children()]
    if isinstance(e, Ident) or isinstance(e, Pow) and e.k == 0:
        return w
    if -1 in kids or kids and (isinstance(e, Inv) or isinstance(e, Pow) and e.k < 0 or isinstance(e, Func) and e.name
                               in ELEMENTWISE) and any((isinstance(x, (Mul, Pow)) or isinstance(x, Func) and x.name in (
                                   "tr", "sum", "det")) and _loops(x, env, w) for x in e.children()[0].walk()):
        return -1
    if (isinstance(e, Inv) or isinstance(e, Pow) and e.k < 0) and isinstance(e.arg, Func) and e.arg.name == "diag":
        return (abs(e.k) if isinstance(e, Pow) else 1) * kids[0] + _slots(shape_of(e.arg.arg, env))  # u ∘ 1/u: ones
    return _slots(shape_of(e, env)) if isinstance(e, Func) and e.name in ELEMENTWISE else max(kids) if isinstance(
        e, Add) and not div else abs(e.k) * kids[0] if isinstance(e, Pow) else sum(kids)


def _labels(e: Expr, env: Env) -> int:
    """A bound on the index labels of e written as sums over entries of its leaves (for ∘, ⊗,
    vec, diag, sum and entrywise f): one per symbolic dimension of a variable, two per I or
    literal (and two more per ⊗, for an I sized by a product); a sum has its largest term's."""
    if isinstance(e, (Sym, Num, Ident)):
        return _slots(env[e.name].shape) if isinstance(e, Sym) else 2
    kids = [_labels(k, env) for k in e.children()]
    if isinstance(e, Func) and e.name == "d":  # d(f(a)) holds f'(a) ∘ da: a term can bring one a's labels again
        return kids[0] + max([_labels(x.children()[0], env) for x in e.arg.walk() if isinstance(x, (Inv, Pow)) or isinstance(
            x, Func) and x.name in ELEMENTWISE] + [0])
    return max(kids) if isinstance(e, Add) else max(abs(e.k), 1) * kids[0] if isinstance(e, Pow) else sum(kids) + 2 * (
        isinstance(e, Kron) and any(isinstance(x, (Num, Ident)) for x in e.walk()))


def _degree(e: Expr, env: Env) -> tuple[int, int]:
    """(numerator, denominator) degree in matrix-valued variables: a bound on the degree of the
    trace polynomial identity the step becomes once denominators are cleared."""
    if isinstance(e, Sym):
        return (0, 0) if (i := env.get(e.name)) is None or i.shape.rows == i.shape.cols == 1 else (1, 0)
    if isinstance(e, Func) and e.name in ("det", *ELEMENTWISE):  # atoms; their arguments: `plan`
        return int(e.name != "det"), 0
    parts = [_degree(k, env) for k in e.children()]
    den = sum(q for _, q in parts)
    if isinstance(e, Add):
        return max(n + den - q for n, q in parts), den
    if isinstance(e, (Mul, Had, Kron)):
        return sum(n for n, _ in parts), den
    if isinstance(e, Div):  # (a / b) / (c / q) = a q / (b c)
        return parts[0][0] + parts[1][1], parts[0][1] + parts[1][0]
    if isinstance(e, (Pow, Inv)):  # an inverse counts as the matrix it inverts
        n, q = parts[0] if not isinstance(e, Pow) or e.k else (0, 0)
        return (abs(e.k) * n, abs(e.k) * q) if isinstance(e, Pow) else (n, q)
    if isinstance(e, Func) and e.name == "d":
        return parts[0][0] + parts[0][1], 2 * parts[0][1]
    return parts[0] if parts else (0, 0)


def plan(lhs: Expr, rhs: Expr, ctx: Context) -> tuple[list[dict[str, int]], int, str]:
    """The size assignments to check at, how many of them are the decisive ones (at the start of
    the list), and a reason if the step is beyond the limits."""
    syms = ctx.dim_syms
    (a, b), (c, q) = _degree(lhs, ctx.env), _degree(rhs, ctx.env)
    degree = max(a + q, c + b)
    need = max(2, degree if shape_of(lhs, ctx.env).scalar else degree + 1, *(  # and the sizes
        sum(_degree(x.arg, ctx.env)) for e in (lhs, rhs) for x in e.walk()  # where arguments
        if isinstance(x, Func) and x.name in ("det", *ELEMENTWISE)))  # of log and det can differ
    inverted = _inverted(lhs) | _inverted(rhs)
    extra = _size_degree(lhs) + _size_degree(rhs) + len(inverted) if inverted or any(
        _size_dependent(x) for e in (lhs, rhs) for x in e.walk()) else 0
    if not syms:
        return ([{}], 1, "") if ctx.defined({}) else ([], 0, _NOWHERE)
    beyond = any(isinstance(x, (Had, Kron)) or isinstance(x, Func) and (x.name in ("vec", "diag", "sum") or x.name
                 in ELEMENTWISE and not shape_of(x.arg, ctx.env).scalar) for e in (lhs, rhs) for x in e.walk())
    # an I sized by a product of dimensions (of a ⊗ or vec) is that many loops; the two sides
    # together where one divides by loops (P = c/Q is P·Q = c once cleared). -1: not polynomial
    w = max([1] + [len(x) for e in (lhs, rhs) for n in e.walk() if isinstance(n, (Kron, Func))
                   for x in (shape_of(n, ctx.env).rows, shape_of(n, ctx.env).cols) if isinstance(x, tuple)])
    div = any(isinstance(x, Div) and _loops(x.den, ctx.env, w) for e in (lhs, rhs) for x in e.walk())
    loops = -1 if -1 in (ll := _loops(lhs, ctx.env, w, div), lr := _loops(rhs, ctx.env, w, div)) else ll + lr if div else max(ll, lr)
    need = max(need, _labels(lhs, ctx.env), _labels(rhs, ctx.env)) if beyond else need
    used = {x for n in symbols(lhs) | symbols(rhs) for x in (ctx.env[n].shape.rows, ctx.env[n].shape.cols)}
    if not beyond and extra == 0 or beyond and loops >= 0 and not (inverted or any(
            isinstance(x, Func) and x.name == "det" for e in (lhs, rhs) for x in e.walk())):
        # the first assignments (every symbol at least `need`) where the claim is. Beyond the
        # trace (docs/soundness.md): the sides are sums over index labels; at sizes of at least
        # `need` (the labels) one size decides every pattern of equal labels, whose coefficients
        # are polynomials in the sizes of degree at most `loops`, so every point of the corner
        # {need + a : |a| <= loops} is checked, on which no such polynomial vanishes alone
        corner = [a for a in product(*[range(loops + 1) if beyond and x in used else (0,) for x in syms])
                  if sum(a) <= loops]
        if len(corner) > MAX_GRID // 16:
            return [], 0, f"this step needs more than {MAX_GRID // 16} size assignments (every one is checked)"
        tops = ([{x: s + i + a[syms.index(x)] for i, x in enumerate(order)} for a in corner]
                for s in range(need, MAX_SIZE + 1) for order in islice(permutations(syms), 24))
        out = next((t for t in tops if all(map(ctx.defined, t))), [])
        small = [] if beyond else [{x: s + i for i, x in enumerate(o)} for s, o in ((2, syms), (3, syms), (2, syms[::-1]))]
        out += [x for i, x in enumerate(small) if out and x not in small[:i] + out and ctx.defined(x)]
        decisive = len(corner)
    else:
        # every symbol takes at least hi - 1 sizes where the claim is (from 2, or the least
        # the assumptions allow; the window grows until it does, so a projection that is I at
        # one size only, n = 7 where the claim starts, is also seen at n = 8): a polynomial in
        # the sizes of total degree below hi - 2 that vanishes there vanishes everywhere, on
        # the triangle m >= n leaves of a grid too. Every assignment of the window is checked,
        # never a sample: a det or an inverse can be an indicator of ranks that is nonzero on
        # one thin line of sizes only (n1 = … = n5 = a - 1), which no sample is sure to meet.
        hi = max(need, 3) + extra + (abs(loops) + 1 if beyond else 0)
        # each symbol from 2 or its own lower bound (a bound on c moves c's window alone); every
        # symbol the claim's domain reads (its relations, the ranks it needs) is a coordinate of
        # the grid, never completed with another's size; a det's (-1)^n takes hi - 1 sizes of each
        # parity; the window reaches past the largest literal size of any subterm (⊗ multiplies)
        lows = {x: max([2] + [b + (op == ">") for a, op, b in ctx.relations if a == x and isinstance(b, int)]) for x in syms}
        read = {v for r in ctx.relations for v in r} | {x for e in ctx.needs for n in symbols(e) for x in (ctx.env[n].shape.rows, ctx.env[n].shape.cols)}
        free = [x for x in syms if x in used or x in read]  # (-1)^n only from a negative literal inside a det:
        par = 1 + any(isinstance(x, Func) and x.name == "det" and any(isinstance(y, Neg) or isinstance(y, Num) and y.value < 0
                                                                     for y in x.arg.walk()) for e in (lhs, rhs) for x in e.walk())
        top = max([0] + [int(math.prod(d) if isinstance(d, tuple) else d) for e in (lhs, rhs) for x in e.walk() for d in (
            shape_of(x, ctx.env).rows, shape_of(x, ctx.env).cols) if isinstance(d, int) or isinstance(d, tuple) and all(isinstance(k, int) for k in d)])
        rest, over = {x: lows[x] for x in syms if x not in free}, False  # the others: any size does
        for last in range(max([lows[x] for x in free] + [top]) + par * (hi - 1) - 1, MAX_SIZE + 1):
            grid = product(*[range(lows[x], last + 1) for x in free])
            out = [at for t in islice(grid, MAX_GRID + 1) if ctx.defined(at := {**rest, **dict(zip(free, t))})]
            if (over := math.prod(last - lows[x] + 1 for x in free) > MAX_GRID) or len(out) > MAX_GRID // 16 or len(
                    out) >= math.comb(len(free) + extra, extra) and all(len({g[x] for g in out if g[x] % par == p}) >= hi - 1
                                                                         for x in free for p in range(par)):
                break
        else:
            out = []
        if over or len(out) > MAX_GRID // 16:
            return out, 0, f"this step needs more than {MAX_GRID // 16} size assignments (every one is checked)"
        decisive = len(out)
    if not out or max(v for x in out for v in x.values()) > MAX_SIZE:
        return out, decisive, f"{_NOWHERE} (degree {degree}, {extra} more for size-dependent scalars)"
    return out, decisive, ""


_NOWHERE = (f"this step needs more sizes than the checker reaches up to size {MAX_SIZE} where the "
            "claim is defined (its inverses are singular, or its assumptions exclude them)")


def bounds(e: Expr, n: int, order: int = 0) -> tuple[int, float]:
    """Bounds, at sizes up to n, on the degree of the entries and on the bits of their
    coefficients once denominators are cleared: a random point errs with chance degree / p,
    and residues mod a random prime lose nothing unless the prime divides a coefficient."""
    kids = [bounds(k, n, order) for k in e.children()]
    deg, bits, lg = [k[0] for k in kids], [k[1] for k in kids], math.log2(n + 1)
    if isinstance(e, (Sym, Num, Ident)):
        v = e.value if isinstance(e, Num) else Fraction(1)
        return int(isinstance(e, Sym)), v.numerator.bit_length() + v.denominator.bit_length()
    if isinstance(e, (Add, Mul, Div, Had, Kron)):
        return (max if isinstance(e, Add) else sum)(deg), sum(bits) + len(bits) * lg
    k = 2 * n if isinstance(e, Inv) or isinstance(e, Pow) and e.k < 0 else 1
    k *= abs(e.k) if isinstance(e, Pow) else n if isinstance(e, Func) and e.name == "det" else 1 + (
        isinstance(e, Func) and e.name == "sum")
    if isinstance(e, Func) and e.name in ELEMENTWISE:  # y_k of f's series: deg y_k <= D + 2 deg y_(k-1)
        return (deg[0] + 2) << order + 1, bits[0] + lg + (deg[0] + 2 << order + 1)
    if isinstance(e, Func) and e.name in ("log", "d"):
        return 2 * deg[0] + 1, bits[0] + lg + 2 * deg[0] + 1
    return k * deg[0], k * (bits[0] + lg)


# -- deciding -----------------------------------------------------------------------------------
_DECIDED: dict[tuple[Any, ...], Any] = {}  # answers by (the question, the step, the context's key)


def decide(lhs: Expr, rhs: Expr, ctx: Context, exact: bool = True) -> Evidence:
    """Is lhs = rhs for every value of the variables? `exact`: also ask Z3 where it can. An
    answer is remembered under everything it depends on (a class repeats its steps), and each
    caller gets its own copy of it."""
    ev = remembered(_DECIDED, ("truth", lhs, rhs, exact, ctx.key), lambda: _decide(lhs, rhs, ctx, exact), 4096)
    return copy.deepcopy(ev) if ev.witness else replace(  # a witness is copied all through
        ev, sizes=[dict(x) for x in ev.sizes], checked_by=list(ev.checked_by))


def _decide(lhs: Expr, rhs: Expr, ctx: Context, exact: bool) -> Evidence:
    if lhs == rhs:
        return Evidence("exact", note="the same expression on both sides")
    sizes, decisive, over = plan(lhs, rhs, ctx)
    if over:
        return Evidence("unknown", sizes, note=over)
    order = max(d_depth(lhs), d_depth(rhs))
    biggest = max([v for x in sizes for v in x.values()] + [
        x for v in ctx.env.values() for x in (v.shape.rows, v.shape.cols) if isinstance(x, int)] + [1])
    (dl, bl), (dr, br) = bounds(lhs, biggest, order), bounds(rhs, biggest, order)
    degree, bits = max(dl, dr) + order, bl + br
    if max(degree, bits) > MAX_DEGREE:
        return Evidence("unknown", sizes, note=f"the step's degree (about {degree}) or its "
                        "literals are too large for a random check to mean anything")
    fnodes = [n for e in (lhs, rhs) for n in e.walk() if isinstance(n, Func) and n.name in ELEMENTWISE]
    fns: int = sum(max(_at(d, s.rows) * _at(d, s.cols) for d in sizes)  # the entries f is applied to
                   for s in (shape_of(n.arg, ctx.env) for n in fnodes))
    argdeg = max([bounds(n.arg, biggest, order)[0] for n in fnodes] + [0])  # two of them meet: a root
    checked: list[dict[str, int]] = []
    for dims in sizes:
        if (agree := _agree(lhs, rhs, ctx, dims)) is None:
            continue  # undefined at every point tried at these sizes
        if agree is not True:
            if fns:
                f = " and ".join(sorted({n.name for n in fnodes}))
                return Evidence("unknown", sizes, note=f"the two sides differ where {f} may be any function "
                                f"with the same derivative law: the step is false, or relies on a law of {f} "
                                "itself (which a rule must state)")
            return Evidence("false", [dims], witness=agree, checked_by=["random"])
        checked.append(dims)
    # every size needed must be defined: "true wherever defined" does not carry through a line
    # that is defined at fewer sizes than the claim
    if (gap := next((d for d in sizes[:decisive] if d not in checked), None)) is not None:
        at = ", ".join(f"{k} = {v}" for k, v in gap.items()) or "these sizes"
        return Evidence("unknown", sizes, note=f"the step is undefined (a singular inverse, or a "
                        f"log of a non-positive number) at {at}, where the claim is defined; if "
                        "the claim needs it, state it under assume: (sizes or invertible)")
    # one random point per assignment: a false identity agrees at a random point with chance
    # below degree/p, and its residues vanish for at most bits/60 of the ~2^55 61-bit primes
    # (and two arguments of f that differ meet at the point with chance below argdeg/p a pair)
    bound = (degree + fns**2 * argdeg) / 2**60 + (bits / 60 + 1) / 2**54
    # Z3 where its terms stay small: an entry of degree D at size s can have s^(D-1) monomials
    (a, b), (c, q) = _degree(lhs, ctx.env), _degree(rhs, ctx.env)
    small = max([v for r_c in ctx.sizes(sizes[0]).values() for v in r_c] + [1]) ** (
        max(a + q, c + b) + order) <= Z3_TERMS
    if exact and not fns and decisive == 1 and small:
        done = _exact(lhs, rhs, ctx, sizes[0], order)
        if isinstance(done, Evidence):
            return done
        if done:
            return Evidence("exact", checked, checked_by=["z3", "random"])
    if bound > 1e-9:  # many entries under deeply nested functions: one point a size is not enough
        return Evidence("unknown", checked, bound, note=f"the chance of error, {bound:.0e}, is too large to rely on")
    return Evidence("probabilistic", checked, bound, checked_by=["random"],
                    note=f"random points; chance of error below {bound:.0e}")


def _differ(ev: Evaluator, lhs: Expr, rhs: Expr, values: dict[str, Matrix]) -> Witness | None:
    """Both sides at the evaluator's point, every entry compared: a Witness if they differ."""
    lv, rv = ev.full(ev.value(lhs), lhs, rhs), ev.full(ev.value(rhs), rhs, lhs)
    return None if equal_values(lv, rv, ev.F) else Witness(dict(ev.dims), values, lv.c[0], rv.c[0], modulus=ev.F.p)


def _agree(lhs: Expr, rhs: Expr, ctx: Context, dims: dict[str, int]) -> Literal[True] | Witness | None:
    """True if the sides agree at a random point of these sizes, a Witness if they differ, None
    if every point tried is undefined."""
    for ev in (ctx.evaluator(dims, fresh) for fresh in range(4)):
        with suppress(Singular, Domain):  # undefined at this point: try another
            return _differ(ev, lhs, rhs, {**ev.point, **{f"d({k})" if "d" + k in ev.point else "d" + k: v for k, v in ev.dpoint.items()}}) or True
    return None


def _exact(lhs: Expr, rhs: Expr, ctx: Context, dims: dict[str, int], order: int) -> bool | Evidence:
    """True when Z3 confirms the decisive assignment; False when it cannot; an Evidence when Z3
    finds the sides differ where every random point agreed (no witness: never valid)."""
    from .z3field import z3_decide  # Z3 loads in ~0.2 s: only when a step needs it

    if any(r > Z3_MAX_SIZE or c > Z3_MAX_SIZE for r, c in ctx.sizes(dims).values()):
        return False
    verdict, _ = z3_decide(lhs, rhs, ctx, dims, order, Z3_RLIMIT)
    return Evidence("unknown", [dims], note="Z3 finds a point where the two sides differ") if (
        verdict == "sat") else verdict == "unsat"


def algebra_equal(a: Expr, b: Expr, ctx: Context) -> bool:
    """Equal up to `algebra` (SPEC §5): equal values when tr, d, det and log are arbitrary
    functions of their argument's size and value, at random points of the decisive size
    assignment and the largest ones the size argument picks. Remembered like `decide`'s answers."""
    return a == b or bool(remembered(_DECIDED, ("algebra", a, b, ctx.key), lambda: _algebra_equal(a, b, ctx), 4096))


def _algebra_equal(a: Expr, b: Expr, ctx: Context) -> bool:
    sizes, decisive, over = plan(a, b, ctx)
    if over:
        return False
    # the first assignment and the largest two: `algebra` only decides which rules a step
    # needs; its truth is decided at every size by `decide`
    for dims in sizes[:1] + sorted(sizes, key=lambda x: sum(x.values()))[-2:]:
        try:
            if _differ(ctx.evaluator(dims, free=True), a, b, {}):
                return False
        except (Singular, Domain):
            return False
    return True
