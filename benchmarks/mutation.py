"""Mutation testing of the kernel (issue 6, deliverable 1). Not a test: it prints figures.

    python benchmarks/mutation.py                    # the full campaign (proofs/ + derived proofs)
    python benchmarks/mutation.py --per-step 10      # fewer mutants per step
    python benchmarks/mutation.py --jobs 4           # in parallel, one proof per task

Every step of every proof in `proofs/` (and of the proofs `prove derive` writes for a dozen goals)
is mutated in many ways — two factors swapped, a transpose dropped or added, a term dropped or
duplicated, a sign flipped, a constant changed, a variable replaced by another of the same shape,
a trace's factors permuted non-cyclically, a `d( )` moved to another factor or dropped, an inverse
dropped or turned into a transpose, an exponent changed, `tr` and `det` swapped. Mutants that are
not well-shaped, or not the original step's shape, are discarded.

Each mutant is judged twice, independently:
- by this module's own evaluator (numpy float64, `d` by truncated Taylor series in ε — dual
  numbers — with no code shared with the kernel's evaluator), at random points and dimensions:
  `true`, `false` or (tolerances not met either way) `ambiguous`, which is skipped;
- by the kernel: the step's expression is replaced by the mutant and the proof is checked.

A false mutant must be `invalid` at that step; a false mutant the kernel calls `valid` or
`unjustified` ("this step is true, but …") is a soundness failure, printed in full. A true mutant
should be `valid` or `unjustified`; one called `invalid` is reported (a completeness problem).
The figures are printed at the end; `tests/test_mutation.py` runs a short deterministic sample.
"""
from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace as dc_replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from prover.kernel.errors import ProveError  # noqa: E402
from prover.kernel.expr import (Add, Div, Expr, Func, Ident, Inv, Mul, Neg, Num, Pow,  # noqa: E402
                                Sym, T, add, d_depth, mul, replace_at, subterms)
from prover.kernel.parser import parse  # noqa: E402
from prover.kernel.printer import show  # noqa: E402
from prover.kernel.shapes import Shape, VarInfo, shape_of  # noqa: E402

# =============================================================================================
# An independent numeric evaluator: numpy float64, the differential by truncated series in ε
# =============================================================================================


class NumericError(ArithmeticError):
    """The point is unusable: a (nearly) singular matrix, a log outside its domain, a size that
    nothing fixes, or a shape mismatch. Another point is drawn."""


class LazyI:
    """c·I for a scalar series c (shape (K+1,)); its size is fixed by whatever it meets."""

    __slots__ = ("c",)

    def __init__(self, c: np.ndarray):
        self.c = c


Value = Any  # LazyI or an ndarray of shape (K+1, rows, cols)

COND_LIMIT = 1e6  # points where a matrix to invert is worse conditioned than this are redrawn


class Numeric:
    """Evaluates an Expr at one point. `point[name]` is a float matrix; `dpoint[name]` the
    differential's matrix (absent or zero for constants). Values are series v0 + ε v1 + … + ε^K vK
    of matrices; `d(v)` is the ε-derivative, so d(d(X)) = 0 and d(X X) = dX X + X dX."""

    def __init__(self, K: int, point: dict[str, np.ndarray], dpoint: dict[str, np.ndarray]):
        self.K, self.point, self.dpoint = K, point, dpoint
        self.scale = 1.0  # largest magnitude met: the yardstick for rounding error
        self.memo: dict[Expr, Value] = {}

    # -- helpers -------------------------------------------------------------------------
    def _seen(self, a: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(a)):
            raise NumericError("overflow")
        if a.size:
            self.scale = max(self.scale, float(np.max(np.abs(a))))
        return a

    def sconv(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.convolve(a, b)[: self.K + 1]

    def srecip(self, a: np.ndarray) -> np.ndarray:
        if abs(a[0]) < 1e-9 * self.scale:
            raise NumericError("division by (nearly) zero")
        b = np.zeros(self.K + 1)
        b[0] = 1.0 / a[0]
        for k in range(1, self.K + 1):
            b[k] = -b[0] * sum(a[j] * b[k - j] for j in range(1, k + 1))
        return b

    def slog(self, a: np.ndarray) -> np.ndarray:
        if a[0] <= 1e-9 * self.scale:
            raise NumericError("log of a non-positive number")
        u = a / a[0]
        u[0] = 0.0
        out = np.zeros(self.K + 1)
        power = np.zeros(self.K + 1)
        power[0] = 1.0
        for m in range(1, self.K + 1):
            power = self.sconv(power, u)
            out += ((-1) ** (m + 1) / m) * power
        out[0] = np.log(a[0])
        return out

    def mprod(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.shape[2] != b.shape[1]:
            raise NumericError("shape mismatch in a product")
        out = np.zeros((self.K + 1, a.shape[1], b.shape[2]))
        for k in range(self.K + 1):
            for i in range(k + 1):
                out[k] += a[i] @ b[k - i]
        return out

    def mscale(self, s: np.ndarray, m: np.ndarray) -> np.ndarray:
        out = np.zeros_like(m)
        for k in range(self.K + 1):
            for i in range(k + 1):
                out[k] += s[i] * m[k - i]
        return out

    def minv(self, a: np.ndarray) -> np.ndarray:
        n = a.shape[1]
        if a.shape[2] != n:
            raise NumericError("inverse of a non-square matrix")
        if np.linalg.cond(a[0]) > COND_LIMIT:
            raise NumericError("(nearly) singular matrix")
        b0 = np.linalg.inv(a[0])
        out = [b0]
        for k in range(1, self.K + 1):
            acc = np.zeros((n, n))
            for j in range(1, k + 1):
                acc += a[j] @ out[k - j]
            out.append(-b0 @ acc)
        return np.array(out)

    def sdet(self, a: np.ndarray) -> np.ndarray:
        """det of a square matrix series: Laplace expansion by rows, memoised on the set of
        columns used (exact in the series sense; n ≤ 8)."""
        n = a.shape[1]
        if a.shape[2] != n:
            raise NumericError("det of a non-square matrix")
        memo: dict[int, np.ndarray] = {}

        def minor(mask: int) -> np.ndarray:
            row = bin(mask).count("1")
            if row == n:
                one = np.zeros(self.K + 1)
                one[0] = 1.0
                return one
            hit = memo.get(mask)
            if hit is not None:
                return hit
            acc = np.zeros(self.K + 1)
            pos = 0
            for j in range(n):
                if mask >> j & 1:
                    continue
                term = self.sconv(a[:, row, j], minor(mask | 1 << j))
                acc = acc - term if pos % 2 else acc + term
                pos += 1
            memo[mask] = acc
            return acc

        return minor(0)

    # -- values --------------------------------------------------------------------------
    def value(self, e: Expr) -> Value:
        hit = self.memo.get(e)
        if hit is None:
            hit = self._eval(e)
            if not isinstance(hit, LazyI):
                self._seen(hit)
            else:
                self._seen(hit.c)
            self.memo[e] = hit
        return hit

    def _eval(self, e: Expr) -> Value:
        K = self.K
        if isinstance(e, Num):
            c = np.zeros(K + 1)
            c[0] = float(e.value)
            return LazyI(c) if e.value == 0 else c.reshape(K + 1, 1, 1)
        if isinstance(e, Ident):
            c = np.zeros(K + 1)
            c[0] = 1.0
            return LazyI(c)
        if isinstance(e, Sym):
            x = self.point[e.name]
            out = np.zeros((K + 1,) + x.shape)
            out[0] = x
            if K:
                dx = self.dpoint.get(e.name)
                if dx is not None:
                    out[1] = dx
            return out
        if isinstance(e, Neg):
            v = self.value(e.arg)
            return LazyI(-v.c) if isinstance(v, LazyI) else -v
        if isinstance(e, Add):
            acc = self.value(e.args[0])
            for t in e.args[1:]:
                acc = self.plus(acc, self.value(t))
            return acc
        if isinstance(e, Mul):
            acc = self.value(e.args[0])
            for f in e.args[1:]:
                acc = self.times(acc, self.value(f))
            return acc
        if isinstance(e, Div):
            den = self.value(e.den)
            if isinstance(den, LazyI):
                s = den.c
            elif den.shape[1:] == (1, 1):
                s = den[:, 0, 0]
            else:
                raise NumericError("division by a matrix")
            return self.times(LazyI(self.srecip(s)), self.value(e.num))
        if isinstance(e, T):
            v = self.value(e.arg)
            return v if isinstance(v, LazyI) else np.swapaxes(v, 1, 2).copy()
        if isinstance(e, (Inv, Pow)):
            k = -1 if isinstance(e, Inv) else e.k
            v = self.value(e.arg)
            if k < 0:
                v = LazyI(self.srecip(v.c)) if isinstance(v, LazyI) else self.minv(v)
                k = -k
            if k == 0:
                one = np.zeros(K + 1)
                one[0] = 1.0
                if not isinstance(v, LazyI) and v.shape[1] != v.shape[2]:
                    raise NumericError("power of a non-square matrix")
                return LazyI(one)
            acc = v
            for _ in range(k - 1):
                acc = self.times(acc, v)
            return acc
        if isinstance(e, Func):
            v = self.value(e.arg)
            if e.name == "d":
                if isinstance(v, LazyI):
                    return LazyI(self._shift(v.c))
                return self._shift(v)
            if e.name == "log":
                if isinstance(v, LazyI):
                    s = v.c
                elif v.shape[1:] == (1, 1):
                    s = v[:, 0, 0]
                else:
                    raise NumericError("log of a matrix")
                return self.slog(s.copy()).reshape(K + 1, 1, 1)
            if isinstance(v, LazyI):
                if np.all(v.c == 0):
                    return np.zeros((K + 1, 1, 1))
                raise NumericError(f"{e.name} of c·I of no fixed size")
            if v.shape[1] != v.shape[2]:
                raise NumericError(f"{e.name} of a non-square matrix")
            if e.name == "tr":
                return np.trace(v, axis1=1, axis2=2).reshape(K + 1, 1, 1)
            if e.name == "det":
                return self.sdet(v).reshape(K + 1, 1, 1)
        raise NumericError(f"cannot evaluate {type(e).__name__}")

    def _shift(self, c: np.ndarray) -> np.ndarray:
        out = np.zeros_like(c)
        for k in range(self.K):
            out[k] = (k + 1) * c[k + 1]
        return out

    def plus(self, a: Value, b: Value) -> Value:
        if isinstance(a, LazyI) and isinstance(b, LazyI):
            return LazyI(a.c + b.c)
        if isinstance(a, LazyI):
            a, b = b, a
        if isinstance(b, LazyI):
            if a.shape[1] != a.shape[2]:
                if np.all(b.c == 0):
                    return a
                raise NumericError("c·I added to a non-square matrix")
            eye = np.eye(a.shape[1])
            return a + b.c[:, None, None] * eye[None]
        if a.shape != b.shape:
            raise NumericError("shape mismatch in a sum")
        return a + b

    def times(self, a: Value, b: Value) -> Value:
        for z in (a, b):  # 0 times anything is a 0 whose size the context fixes (`X^T 0`)
            if isinstance(z, LazyI) and not np.any(z.c):
                return LazyI(np.zeros(self.K + 1))
        if isinstance(a, LazyI) and isinstance(b, LazyI):
            return LazyI(self.sconv(a.c, b.c))
        if isinstance(a, LazyI):
            if b.shape[1:] == (1, 1):
                return LazyI(self.sconv(a.c, b[:, 0, 0]))
            return self.mscale(a.c, b)
        if isinstance(b, LazyI):
            if a.shape[1:] == (1, 1):
                return LazyI(self.sconv(a[:, 0, 0], b.c))
            return self.mscale(b.c, a)
        if a.shape[1:] == (1, 1) and b.shape[1] != 1:
            return self.mscale(a[:, 0, 0], b)
        if b.shape[1:] == (1, 1) and a.shape[2] != 1:
            return self.mscale(b[:, 0, 0], a)
        return self.mprod(a, b)


def _at0(v: Value, like: Value) -> np.ndarray:
    """The value at ε = 0 as a matrix (c·I materialised at the other side's size)."""
    if not isinstance(v, LazyI):
        return v[0]
    if isinstance(like, LazyI):
        return np.array([[v.c[0]]])
    r, c = like.shape[1:]
    if r != c:
        if v.c[0] != 0:
            raise NumericError("c·I compared with a non-square matrix")
        return np.zeros((r, c))
    return v.c[0] * np.eye(r)


@dataclass
class Verdict:
    status: str  # "true", "false", "ambiguous" (tolerances not met) or "skip" (no usable point)
    rel: float = 0.0  # the largest relative difference seen
    witness: dict = field(default_factory=dict)  # dims, point and both sides where they differ most


TRUE_TOL = 1e-9  # |lhs - rhs| / scale below this at every point: true
FALSE_TOL = 1e-5  # above this at every point: false; anything else is ambiguous and skipped


def random_point(env: dict[str, VarInfo], varying: set[str], dims: dict[str, int],
                 rng: np.random.Generator):
    point, dpoint = {}, {}
    for name, info in sorted(env.items()):
        r, c = (x if isinstance(x, int) else dims[x] for x in (info.shape.rows, info.shape.cols))
        for target in ((point, dpoint) if name in varying else (point,)):
            m = rng.standard_normal((r, c))
            if info.symmetric and r == c:
                m = (m + m.T) / 2
            target[name] = m
    return point, dpoint


def dimension_sets(env: dict[str, VarInfo], rng: random.Random, count: int) -> list[dict[str, int]]:
    """Distinct sizes ≥ 2 for distinct dimension symbols (never 1: there A B = B A). The second
    set flips the parity of every size of the first (det(-X) = det(X) holds at even sizes only);
    the others are drawn at random."""
    syms = sorted({x for v in env.values() for x in (v.shape.rows, v.shape.cols)
                   if isinstance(x, str)})
    top = max(6, 2 + len(syms) + (len(syms) % 2))
    pool = list(range(2, top))  # an even number of sizes: 2↔3, 4↔5, … is a permutation of it
    first = rng.sample(pool, len(syms))
    sets = [first, [x + 1 if x % 2 == 0 else x - 1 for x in first]]
    while len(sets) < count:
        sets.append(rng.sample(pool, len(syms)))
    return [dict(zip(syms, sizes)) for sizes in sets[:count]]


def compare(lhs: Expr, rhs: Expr, env: dict[str, VarInfo], varying: set[str], seed: int = 0,
            sizes: int = 3, per_size: int = 2) -> Verdict:
    """Is lhs = rhs? Judged in float64 at `per_size` random points for each of `sizes` random
    dimension assignments. True: equal (to rounding) everywhere. False: at some assignment, every
    point differs clearly. Anything else is ambiguous and is not counted."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    K = max(d_depth(lhs), d_depth(rhs))
    per_dims: list[list[float]] = []
    worst: dict = {}
    for dims in dimension_sets(env, rng, sizes):
        rels: list[float] = []
        for _attempt in range(8 * per_size):
            if len(rels) == per_size:
                break
            point, dpoint = random_point(env, varying, dims, nrng)
            ev = Numeric(K, point, dpoint)
            try:
                lv, rv = ev.value(lhs), ev.value(rhs)
                a, b = _at0(lv, rv), _at0(rv, lv)
            except NumericError:
                continue
            if a.shape != b.shape:
                rel = float("inf")
            else:
                rel = float(np.max(np.abs(a - b), initial=0.0)) / ev.scale
            if not worst or rel > worst["rel"]:
                worst = {"rel": rel, "dims": dims, "point": point, "dpoint": dpoint,
                         "lhs": a, "rhs": b}
            rels.append(rel)
        if rels:
            per_dims.append(rels)
    usable = [r for r in per_dims if len(r) == per_size]
    if any(min(r) > FALSE_TOL for r in usable):
        return Verdict("false", worst["rel"], worst)
    if len(usable) < 2:
        return Verdict("skip", 0.0, worst)
    top = max(max(r) for r in per_dims)
    if len(usable) == len(per_dims) == sizes and top < TRUE_TOL:
        return Verdict("true", top, worst)
    return Verdict("ambiguous", top, worst)


def show_witness(w: dict) -> str:
    if not w:
        return "  (no usable point)"
    fmt = lambda m: np.array2string(np.asarray(m), precision=6, suppress_small=True,  # noqa: E731
                                    max_line_width=100).replace("\n", "\n      ")
    lines = [f"  numeric witness at {w['dims']} (relative difference {w['rel']:.3g}):"]
    for k, v in w["point"].items():
        lines.append(f"    {k} = {fmt(v)}")
    for k, v in w["dpoint"].items():
        lines.append(f"    d{k} = {fmt(v)}")
    lines.append(f"    line before = {fmt(w['lhs'])}")
    lines.append(f"    mutant      = {fmt(w['rhs'])}")
    return "\n".join(lines)


# =============================================================================================
# Mutation operators
# =============================================================================================


def _shape_key(s: Shape) -> tuple:
    return (s.rows, s.cols)


def _is_d(e: Expr) -> bool:
    return isinstance(e, Func) and e.name == "d"


def raw_mutants(e: Expr, env: dict[str, VarInfo]) -> Iterator[tuple[str, Expr]]:
    """Every single mutation of e (not yet shape-checked or deduplicated)."""
    by_shape: dict[tuple, list[str]] = {}
    for name, info in env.items():
        by_shape.setdefault(_shape_key(info.shape), []).append(name)
    for path, node in subterms(e):
        def at(new: Expr) -> Expr:
            return replace_at(e, path, new)

        # sign
        yield "flip-sign", at(node.arg if isinstance(node, Neg) else Neg(node))
        # transposes
        if isinstance(node, T):
            yield "drop-transpose", at(node.arg)
        elif not isinstance(node, (Num, Ident)):
            yield "add-transpose", at(T(node))
        if isinstance(node, Mul):
            args = list(node.args)
            for i, j in itertools.combinations(range(len(args)), 2):
                if args[i] == args[j]:
                    continue
                sw = list(args)
                sw[i], sw[j] = sw[j], sw[i]
                yield "swap-factors", at(mul(*sw))
            if len(args) > 2:
                for i in range(len(args)):
                    yield "drop-factor", at(mul(*(args[:i] + args[i + 1:])))
            for i, a in enumerate(args):  # move a d( ) to another factor
                if not _is_d(a):
                    continue
                for j, b in enumerate(args):
                    if j == i or isinstance(b, Num):
                        continue
                    mv = list(args)
                    mv[i], mv[j] = a.arg, Func("d", b)
                    yield "move-d", at(mul(*mv))
        if isinstance(node, Add):
            args = list(node.args)
            for i in range(len(args)):
                yield "drop-term", at(add(*(args[:i] + args[i + 1:])))
                yield "add-term", at(add(*(args + [args[i]])))
        if isinstance(node, Num):
            v = node.value
            others = {v + 1, v * 2, v / 2, v + Fraction(1, 2), Fraction(1) if v == 0 else Fraction(0)}
            for w in others:
                if w != v and w >= 0:
                    yield "change-constant", at(Num(w))
        if isinstance(node, Sym):
            for other in by_shape.get(_shape_key(env[node.name].shape), []):
                if other != node.name:
                    yield "replace-variable", at(Sym(other))
        if isinstance(node, Func):
            if node.name == "tr" and isinstance(node.arg, Mul) and len(node.arg.args) >= 3:
                args = node.arg.args
                n = len(args)
                rotations = {tuple(args[k:] + args[:k]) for k in range(n)}
                for perm in itertools.islice(itertools.permutations(args), 24):
                    if perm not in rotations:
                        yield "permute-trace", at(Func("tr", mul(*perm)))
            if node.name == "d":
                yield "drop-d", at(node.arg)
                if isinstance(node.arg, Mul):  # half a product rule: d on one factor only
                    args = node.arg.args
                    for i in range(len(args)):
                        yield "move-d", at(mul(*args[:i], Func("d", args[i]), *args[i + 1:]))
                if isinstance(node.arg, Func) and node.arg.name in ("tr", "det", "log"):
                    yield "move-d", at(Func(node.arg.name, Func("d", node.arg.arg)))
            elif isinstance(node.arg, Func) and node.arg.name == "d" and node.name != "tr":
                yield "move-d", at(Func("d", Func(node.name, node.arg.arg)))
            if node.name in ("tr", "det"):
                yield "swap-function", at(Func("det" if node.name == "tr" else "tr", node.arg))
        if isinstance(node, Sym):
            yield "add-d", at(Func("d", node))
        if isinstance(node, Inv):
            yield "drop-inverse", at(node.arg)
            yield "inverse-to-transpose", at(T(node.arg))
        if isinstance(node, Pow):
            for k in (node.k + 1, node.k - 1):
                if k not in (-1, 0, 1) and abs(k) <= 16:
                    yield "change-exponent", at(Pow(node.arg, k))
        if isinstance(node, Div):
            yield "drop-division", at(node.num)
            yield "invert-division", at(mul(node.num, node.den))


def mutants(e: Expr, env: dict[str, VarInfo], names: set[str]) -> list[tuple[str, Expr, str]]:
    """Well-shaped mutants with the original's shape, as (kind, tree, text), deduplicated.
    Each tree is the one the checker will see: the printed mutant read back."""
    try:
        want = shape_of(e, env)
    except ProveError:
        return []
    seen = {e}
    out = []
    for kind, m in raw_mutants(e, env):
        try:
            text = show(m, names)
            m2 = parse(text, names)
            s = shape_of(m2, env)
        except (ProveError, RecursionError, TypeError, ValueError):
            continue
        if m2 in seen or (s.rows, s.cols) != (want.rows, want.cols):
            continue
        seen.add(m2)
        out.append((kind, m2, text))
    return out


# =============================================================================================
# The campaign
# =============================================================================================

DERIVE_GOALS = [
    ("a^T X a", "X", ["a: n x 1 constant", "X: n x n"]),
    ("tr(A X B)", "X", ["A: m x n", "X: n x p", "B: p x m"]),
    ("tr(X^T X)", "X", ["X: n x m"]),
    ("log(det(X))", "X", ["X: n x n invertible"]),
    ("tr(X^-1 A)", "X", ["X: n x n invertible", "A: n x n"]),
    ("x^T A x", "x", ["x: n x 1", "A: n x n"]),
    ("tr(X A X^T B)", "X", ["X: n x m", "A: m x m", "B: n x n"]),
    ("det(X)", "X", ["X: n x n invertible"]),
    ("tr(X X)", "X", ["X: n x n"]),
    ("log(det(X)) + tr(S X^-1)", "X", ["X: n x n invertible", "S: n x n"]),
    ("tr(X^3)", "X", ["X: n x n"]),
    ("a^T X^T X b", "X", ["a: m x 1", "b: m x 1", "X: n x m"]),
    ("(a^T X b) (a^T X b)", "X", ["a: n x 1", "b: m x 1", "X: n x m"]),
    ("log(x^T A x)", "x", ["x: n x 1", "A: n x n"]),
    ("x^T x / (x^T A x)", "x", ["x: n x 1", "A: n x n"]),
]


@dataclass
class Subject:
    """One proof to mutate: its kernel input, and a lemma resolver if it came from a file."""

    name: str
    proof: Any  # ProofIn
    path: Path | None = None
    yaml: str = ""


def subjects(include_proofs: bool = True, include_derived: bool = True,
             goals: list | None = None) -> list[Subject]:
    from prover.proofs import load_proof_text, read_text

    out = []
    if include_proofs:
        for p in sorted((ROOT / "proofs").glob("*.yaml")):
            text = read_text(p)
            out.append(Subject(p.name, load_proof_text(text), p, text))
    if include_derived:
        from prover.derive import derive, parse_var

        for f, wrt, decls in (DERIVE_GOALS if goals is None else goals):
            dv = derive(f, wrt, dict(parse_var(v) for v in decls))
            text = dv.proof_yaml()
            out.append(Subject(f"derive: {f} wrt {wrt}", load_proof_text(text), None, text))
    return out


@dataclass
class Outcome:
    subject: str
    step: int
    by: list[str]
    kind: str
    original: str
    mutant: str
    numeric: Verdict
    kernel: str  # the kernel's status for that step
    message: str = ""
    checked_by: list[str] = field(default_factory=list)

    @property
    def category(self) -> str:
        """false-rejected, FALSE-ACCEPTED, false-error, true-valid, true-unjustified,
        true-invalid, true-unconfirmed, true-error, or skipped."""
        if self.numeric.status not in ("true", "false"):
            return "skipped"
        if self.numeric.status == "false":
            if self.kernel == "invalid":
                return "false-rejected"
            if self.kernel in ("valid", "unjustified"):
                return "FALSE-ACCEPTED"
            return "false-error"
        if self.kernel == "invalid":
            return "true-unconfirmed" if "could not be confirmed" in self.message or \
                "internal error" in self.message or "needs an exact" in self.message \
                else "true-invalid"
        return f"true-{self.kernel}"


def _context(proof) -> tuple[dict[str, VarInfo], set[str]]:
    env = proof.variables
    if "derivative" in proof.claim:
        return env, {proof.claim["wrt"]}
    return env, {n for n, v in env.items() if not v.constant}


def mutate_subject(sub: Subject, book, per_step: int = 40, seed: int = 0,
                   steps: list[int] | None = None, kinds: set[str] | None = None) -> list[Outcome]:
    """Mutate every step (but the start) of one proof; judge every mutant both ways."""
    from prover.kernel.check import check_proof

    resolver = None
    if sub.path is not None:
        from prover.proofs import Library

        resolver = Library(book).resolver(sub.path)
    proof = sub.proof
    env, varying = _context(proof)
    names = set(env)
    exprs: list[Expr | None] = []
    for st in proof.steps:
        try:
            exprs.append(parse(st.text, names))
        except ProveError:
            exprs.append(None)
    out: list[Outcome] = []
    for i in range(1, len(proof.steps)):
        if steps is not None and i not in steps:
            continue
        st = proof.steps[i]
        cur = exprs[i]
        if cur is None or exprs[i - 1] is None:
            continue
        cands = mutants(cur, env, names)
        if kinds is not None:
            cands = [c for c in cands if c[0] in kinds]
        rng = random.Random(zlib.crc32(f"{seed}:{sub.name}:{i}".encode()))
        rng.shuffle(cands)
        cands = _diverse(cands, per_step)
        for kind, m, text in cands:
            if st.derivative:
                reference = cur  # a G: the mutant must equal the original G to be true
            else:
                reference = exprs[i - 1]
            verdict = compare(reference, m, env, varying, seed=zlib.crc32(text.encode()) ^ seed)
            if verdict.status in ("true", "false"):
                mutated = dc_replace(proof, steps=proof.steps[:i] + [dc_replace(st, text=text)])
                res = check_proof(mutated, book, resolver)
                r = res.steps[i] if i < len(res.steps) else None
                kstatus = r.status if r else "missing"
                msg = r.message if r else res.message
                cb = list(r.checked_by) if r else []
            else:
                kstatus, msg, cb = "not-run", "", []
            out.append(Outcome(sub.name, i, list(st.by), kind, st.text, text, verdict, kstatus,
                               msg, cb))
    return out


def _diverse(cands: list, limit: int) -> list:
    """Up to `limit` mutants, round-robin over the kinds so rare kinds are not crowded out."""
    by_kind: dict[str, list] = {}
    for c in cands:
        by_kind.setdefault(c[0], []).append(c)
    out = []
    queues = list(by_kind.values())
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def describe_failure(o: Outcome) -> str:
    lines = [f"SOUNDNESS FAILURE: {o.subject}, step {o.step} (by: {', '.join(o.by)}), "
             f"mutation {o.kind}",
             f"  original: {o.original}",
             f"  mutant:   {o.mutant}",
             f"  kernel:   {o.kernel} [{', '.join(o.checked_by)}] {o.message}",
             show_witness(o.numeric.witness)]
    return "\n".join(lines)


def _work(args):
    idx, per_step, seed = args
    from prover.rulebase import load_rulebook

    _, book = load_rulebook()
    sub = subjects()[idx]
    return mutate_subject(sub, book, per_step=per_step, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-step", type=int, default=40, help="mutants per step (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--verbose", action="store_true", help="list every true mutant called invalid")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    subs = subjects()
    work = [(i, args.per_step, args.seed) for i in range(len(subs))]
    outcomes: list[Outcome] = []
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            for res in pool.map(_work, work):
                outcomes.extend(res)
    else:
        from prover.rulebase import load_rulebook

        _, book = load_rulebook()
        for sub in subs:
            outcomes.extend(mutate_subject(sub, book, per_step=args.per_step, seed=args.seed))
    elapsed = time.perf_counter() - t0

    cats = Counter(o.category for o in outcomes)
    failures = [o for o in outcomes if o.category == "FALSE-ACCEPTED"]
    for o in failures:
        print(describe_failure(o))
        print()
    n_false = sum(v for k, v in cats.items() if k.startswith("false") or k == "FALSE-ACCEPTED")
    n_true = sum(v for k, v in cats.items() if k.startswith("true"))
    print(f"mutation campaign: {len(subs)} proofs ({sum(1 for s in subs if s.path)} in proofs/, "
          f"{sum(1 for s in subs if not s.path)} written by prove derive), "
          f"{sum(len(s.proof.steps) - 1 for s in subs)} steps mutated, {len(outcomes)} mutants, "
          f"{elapsed:.0f} s")
    print(f"  command: python benchmarks/mutation.py --per-step {args.per_step} --seed {args.seed}")
    print(f"false mutants: {n_false}")
    print(f"  rejected (invalid):            {cats['false-rejected']}")
    print(f"  ACCEPTED (valid/unjustified):  {cats['FALSE-ACCEPTED']}")
    print(f"  error (not a verdict):         {cats['false-error']}")
    print(f"true mutants: {n_true}")
    print(f"  valid:                         {cats['true-valid']}")
    print(f"  unjustified:                   {cats['true-unjustified']}")
    print(f"  invalid, 'could not confirm':  {cats['true-unconfirmed']}")
    print(f"  invalid, called false:         {cats['true-invalid']}")
    print(f"  error:                         {cats['true-error']}")
    print(f"skipped (numerically ambiguous or no usable point): {cats['skipped']}")
    kinds = Counter((o.kind, o.numeric.status) for o in outcomes)
    print("by mutation kind (false / true / skipped):")
    for kind in sorted({k for k, _ in kinds}):
        print(f"  {kind:22s} {kinds[(kind, 'false')]:5d} {kinds[(kind, 'true')]:5d} "
              f"{kinds[(kind, 'ambiguous')] + kinds[(kind, 'skip')]:5d}")
    wrong = [o for o in outcomes if o.category in ("true-invalid", "true-unconfirmed", "true-error",
                                                      "false-error")]
    if wrong:
        print(f"true mutants called invalid / errors ({len(wrong)}):")
        for o in wrong[: None if args.verbose else 15]:
            print(f"  [{o.category}] {o.subject} step {o.step} ({o.kind}): {o.original}  ->  "
                  f"{o.mutant}\n      {o.kernel}: {o.message[:200]}")
        if len(wrong) > 15 and not args.verbose:
            print(f"  … {len(wrong) - 15} more (--verbose lists them all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
