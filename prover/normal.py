"""A normal form for expressions under the ring laws (untrusted: used to write proofs and to
present answers; the kernel re-checks every use).

An expression becomes a sum of monomials; a monomial is a rational coefficient times a product
of atoms. Transposes are pushed onto atoms, powers are multiplied out, products of sums are
expanded, 1×1 atoms are moved to the front (scalars commute), and like monomials are merged.
Atoms are variables, their transposes, d(X) and d(X)^T, inverses, and tr/det/log of normalised
arguments. `factor` then pulls common left and right factors out of a sum, so that
`A x + A^T x` reads `(A + A^T) x`. For the derivation engine (`freeze_sums`), a sum free of
differentials that stands as a factor stays one atom, written as the user wrote it
(`(X b + c)^T D`); a term with no matrix factor in a matrix sum is a multiple of `I`, never
the bare number. Read next: `derive.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .kernel.expr import (Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T, add,
                          mul)
from .kernel.printer import show
from .kernel.shapes import Env, shape_of


@dataclass(frozen=True)
class Mono:
    coef: Fraction
    atoms: tuple[Expr, ...]


Poly = list[Mono]


class WorkLimit(Exception):
    """The engine's work budget (counted in operations, never in time) is spent."""


class Normalizer:
    """`freeze_sums`: a sum free of differentials that stands as a factor of a product stays one
    atom (`(X b + c)^T D`), instead of being multiplied out; products then stay polynomial in
    size (`(X + A)^8` is 8 atoms, not 256 monomials) and answers keep the factors a book keeps.
    `budget`: how much work (atoms written, runs of factors examined) the normaliser may do
    before it gives up (`WorkLimit`)."""

    def __init__(self, env: Env, freeze_sums: bool = False, budget: int | None = None):
        self.env = env
        self.freeze_sums = freeze_sums
        self.budget = budget
        self.work = 0
        self._sums: dict = {}  # a frozen sum's terms → the order it is written in
        self._scalar: dict[Expr, bool] = {}
        self._shown: dict[Expr, str] = {}
        self._polys: dict[Expr, tuple] = {}
        self._ends_memo: dict[Expr, tuple[bool, bool, bool]] = {}
        self._seen: dict[str, int] = {}  # factors of ∘ in the order first met

    def show(self, e: Expr) -> str:
        text = self._shown.get(e)
        if text is None:
            text = self._shown[e] = show(e)
        return text

    # -- shapes ---------------------------------------------------------------------------------
    def is_scalar(self, e: Expr) -> bool:
        hit = self._scalar.get(e)
        if hit is None:
            try:
                hit = shape_of(e, self.env).scalar
            except Exception:  # noqa: BLE001 - an atom of unknown shape is simply not moved
                hit = False
            self._scalar[e] = hit
        return hit

    def _ends(self, a: Expr) -> tuple[bool, bool, bool]:
        """(one row, one column, holds a differential) for a matrix atom."""
        hit = self._ends_memo.get(a)
        if hit is None:
            try:
                s = shape_of(a, self.env)
                row, col = s.rows == 1, s.cols == 1
            except Exception:  # noqa: BLE001 - unknown shape: never part of a 1×1 block
                row = col = False
            hit = self._ends_memo[a] = (row, col, _has_d(a))
        return hit

    def is_square(self, e: Expr) -> bool:
        try:
            s = shape_of(e, self.env)
        except Exception:  # noqa: BLE001
            return False
        return s.rows is not None and s.rows == s.cols

    def symmetric(self, e: Expr) -> bool:
        return isinstance(e, Sym) and e.name in self.env and self.env[e.name].symmetric

    # -- building -------------------------------------------------------------------------------
    def poly(self, e: Expr) -> Poly:
        """e as a sum of monomials (remembered: the engine asks about the same subtrees often)."""
        hit = self._polys.get(e)
        if hit is None:
            hit = self._polys[e] = tuple(self._poly(e))
        return list(hit)

    def _poly(self, e: Expr) -> Poly:
        if isinstance(e, Num):
            return [] if e.value == 0 else [Mono(e.value, ())]
        if isinstance(e, Ident):
            return [Mono(Fraction(1), ())]
        if isinstance(e, Sym):
            return [Mono(Fraction(1), (e,))]
        if isinstance(e, Neg):
            return [Mono(-m.coef, m.atoms) for m in self.poly(e.arg)]
        if isinstance(e, Add):
            out: Poly = []
            for t in e.args:
                out.extend(self.poly(t))
            return self.merge(out)
        if isinstance(e, Mul):
            acc = self.factor_poly(e.args[0])
            for f in e.args[1:]:
                acc = self.times(acc, self.factor_poly(f))
            return acc
        if isinstance(e, Div):
            return self.times(self.poly(e.num), self.reciprocal(e.den))
        if isinstance(e, T):
            return self.transpose(self.poly(e.arg))
        if isinstance(e, Inv):
            if self.is_scalar(e.arg):
                return self.reciprocal(e.arg)
            p = self.poly(e.arg)
            if len(p) == 1 and not p[0].atoms:
                return [Mono(1 / p[0].coef, ())]
            if len(p) == 1 and all(self.is_square(a) for a in p[0].atoms):
                # (A B)^-1 = B^-1 A^-1 for square factors
                atoms = tuple(self.inv(a) for a in reversed(p[0].atoms))
                return [Mono(1 / p[0].coef, self.order(atoms))]
            return [Mono(Fraction(1), (self.inv_atom(e.arg),))]
        if isinstance(e, Pow):
            base = self.factor_poly(e.arg if e.k >= 0 else Inv(e.arg))
            acc: Poly = [Mono(Fraction(1), ())]
            for _ in range(abs(e.k)):
                acc = self.times(acc, base)
            return acc
        if isinstance(e, (Had, Kron)):
            return self._bilinear(e)
        if isinstance(e, Func):
            inner = self.sum_expr(self.poly(e.arg), matrix=self._is_matrix_expr(e.arg))
            if e.name == "d" and isinstance(inner, Num) and inner.value == 0:
                return [Mono(Fraction(1), (Func("d", inner),))]
            if self._is_matrix_expr(inner) is None and self._is_matrix_expr(e.arg) is not None:
                # the argument came to a size nothing fixes (tr(A A^-1) to tr(I)): keep it
                inner = e.arg
            return [Mono(Fraction(1), (Func(e.name, inner),))]
        raise TypeError(type(e).__name__)

    def _bilinear(self, e: Had | Kron) -> Poly:
        """U ∘ V and U ⊗ V are bilinear (the kernel's `algebra` reads both as arithmetic): the
        terms of each side multiply out (a sum free of differentials stays one factor when sums
        are frozen), scalar factors come out in front, and a chain of ∘ is one atom with its
        factors sorted, the one holding a differential last. A 1×1 Hadamard product is a
        product. A side with no matrix factor is left as written (in U ∘ V a scalar c is c I)."""
        if isinstance(e, Had) and self.is_scalar(e):
            return self.times(self.poly(e.left), self.poly(e.right))
        out: Poly = []
        sides = [self.factor_poly(e.left), self.factor_poly(e.right)]
        for lm in sides[0]:
            for rm in sides[1]:
                scal = self._scalar_part(lm) + self._scalar_part(rm)
                mats = [self._matrix_part(lm), self._matrix_part(rm)]
                if isinstance(e, Kron):
                    if not (mats[0] and mats[1]):  # kron(c, V): left as written
                        out.append(Mono(Fraction(1), (e,)))
                        continue
                    atom: Expr = Kron(mul(*_powers(mats[0])), mul(*_powers(mats[1])))
                else:  # c I in a Hadamard product, not c
                    fs = [f for m in mats for f in (had_factors(mul(*_powers(m))) if m else [Ident()])]
                    atom = make_had(sorted(fs, key=lambda f: (_has_d(f), self._met(f))))
                self.spend(2 + len(scal))
                out.append(Mono(lm.coef * rm.coef, self.order(scal + (atom,))))
        return self.merge(out)

    def _met(self, f: Expr) -> int:
        """The order in which factors of ∘ were first met (the user's: t ∘ (X w) stays so)."""
        return self._seen.setdefault(self.show(f), len(self._seen))

    def factor_poly(self, e: Expr) -> Poly:
        """A factor of a product as a polynomial: a sum free of differentials stays one atom
        when sums are frozen."""
        p = self.poly(e)
        if self.freeze_sums and len(p) > 1 and not _has_d(e):
            matrix = self._is_matrix_expr(e)
            return [self.sum_atom(p, self.is_matrix(p) if matrix is None else matrix)]
        return p

    def sum_atom(self, p: Poly, matrix: bool) -> Mono:
        """A sum as one atom: written with the fewer transposes (`(X b + c)^T`, not
        `b^T X^T + c^T`), and a sign in front when every term is negative."""
        sign = Fraction(1)
        if all(m.coef < 0 for m in p):
            sign, p = Fraction(-1), [Mono(-m.coef, m.atoms) for m in p]
        plain = self._in_order(p, matrix)
        if matrix:
            flipped = self._in_order(self.transpose(p), matrix)
            if _count_t(flipped) < _count_t(plain):
                return Mono(sign, (T(flipped),))
        return Mono(sign, (plain,))

    def sum_expr(self, p: Poly, matrix: bool | None) -> Expr:
        """The argument of a function or an inverse: in the user's order when sums are frozen."""
        return self._in_order(p, matrix) if self.freeze_sums and len(p) > 1 else self.expr(p, matrix)

    def _in_order(self, p: Poly, matrix: bool | None) -> Expr:
        """A sum written in the order its terms were first met (the user's), positive terms
        first: `X b + c`, `y - mu`, `I + X`; the same sum met again is written the same way."""
        key = frozenset((m.coef, tuple(self.show(a) for a in m.atoms)) for m in p)
        hit = self._sums.get(key)
        if hit is None:
            if matrix is None:
                matrix = self.is_matrix(p)
            ms = sorted(p, key=lambda m: m.coef < 0)
            hit = self._sums[key] = add(*[self.mono_expr(m, matrix=matrix) for m in ms])
        return hit

    def reciprocal(self, e: Expr) -> Poly:
        """1/s for a scalar s: a single monomial inverts atom by atom (scalars commute)."""
        p = self.poly(e)
        if len(p) == 1:
            m = p[0]
            scal = [a for a in m.atoms if self.is_scalar(a)]
            mats = [a for a in m.atoms if not self.is_scalar(a)]
            if mats:  # the matrix atoms multiply to a scalar: invert them as one block
                flipped = [self.t_atom(b) for b in reversed(mats)]
                scal.append(Mul(tuple(min((mats, flipped), key=lambda bl: self.show(mul(*bl))))))
            atoms = tuple(a.arg if isinstance(a, Inv) else Inv(a) for a in scal)
            return [Mono(1 / m.coef, self.order(atoms))]
        return [Mono(Fraction(1), (self.inv_atom(e),))]

    def inv(self, a: Expr) -> Expr:
        """The inverse of an atom: X^-1 of X, X of X^-1; with sums frozen, (X^T)^-1 is X^-T and
        (X^-T)^-1 is X^T, so that one matrix is written one way."""
        if isinstance(a, Inv):
            return a.arg
        if self.freeze_sums and isinstance(a, T):
            return T(a.arg.arg) if isinstance(a.arg, Inv) else T(Inv(a.arg))
        return Inv(a)

    def inv_atom(self, e: Expr) -> Expr:
        inner = self.sum_expr(self.poly(e), matrix=self._is_matrix_expr(e))
        if isinstance(inner, Inv):
            return inner.arg
        return self.inv(inner)

    def times(self, a: Poly, b: Poly) -> Poly:
        # the work is counted in atoms written, so long products cost what they cost
        self.spend(len(a) * len(b) * (1 + max((len(m.atoms) for m in a), default=0)
                                      + max((len(m.atoms) for m in b), default=0)))
        out = [Mono(x.coef * y.coef, self.order(x.atoms + y.atoms)) for x in a for y in b]
        return self.merge(out)

    def spend(self, n: int) -> None:
        self.work += n
        if self.budget is not None and self.work > self.budget:
            raise WorkLimit(f"writing the expression out takes more than {self.budget:,} "
                            "operations")

    def order(self, atoms: tuple[Expr, ...]) -> tuple[Expr, ...]:
        """Scalars first, sorted; matrices keep their order. A 1×1 run of matrix atoms inside a
        longer product (x^T A x in x^T A x x^T) is a scalar too: it becomes one atom, written
        the smaller of its two transposes (a scalar equals its transpose)."""
        atoms = self._cancel(self._blocks(tuple(atoms)))
        scal = sorted((a for a in atoms if self.is_scalar(a)), key=self.show)
        rest = [a for a in atoms if not self.is_scalar(a)]
        return tuple(scal + rest)

    @staticmethod
    def _cancel(atoms: tuple[Expr, ...]) -> tuple[Expr, ...]:
        """X X^-1 and X^-1 X next to each other cancel."""
        out: list[Expr] = []
        for a in atoms:
            if out and (_inverse_pair(out[-1], a) or _inverse_pair(a, out[-1])):
                out.pop()
            else:
                out.append(a)
        return tuple(out)

    def _blocks(self, atoms: tuple[Expr, ...]) -> tuple[Expr, ...]:
        mats = [a for a in atoms if not self.is_scalar(a)]
        if len(mats) < 3:
            return atoms
        scal = [a for a in atoms if self.is_scalar(a)]
        self.spend(len(mats) ** 2 // 2)  # the search below looks at every run of factors
        ends = [self._ends(a) for a in mats]
        for width in range(2, len(mats)):
            for i in range(0, len(mats) - width + 1):
                # a product is 1×1 when its first factor is a row and its last a column
                if not (ends[i][0] and ends[i + width - 1][1]):
                    continue
                block = mats[i:i + width]
                if any(ends[j][2] for j in range(i, i + width)):
                    continue
                flipped = [self.t_atom(b) for b in reversed(block)]
                pick = min((block, flipped), key=lambda bl: self.show(mul(*bl)))
                atom = Mul(tuple(pick))
                rest = tuple(scal) + (atom,) + tuple(mats[:i] + mats[i + width:])
                return self._blocks(rest)
        return atoms

    def merge(self, p: Poly) -> Poly:
        acc: dict[tuple[str, ...], Fraction] = {}
        atoms: dict[tuple[str, ...], tuple[Expr, ...]] = {}
        for m in p:
            key = tuple(self.show(a) for a in m.atoms)
            acc[key] = acc.get(key, Fraction(0)) + m.coef
            atoms[key] = m.atoms
        return [Mono(c, atoms[k]) for k, c in acc.items() if c != 0]

    def t_atom(self, a: Expr) -> Expr:
        if isinstance(a, T):
            return a.arg
        if self.is_scalar(a) or self.symmetric(a):
            return a
        if isinstance(a, Func) and a.name == "d" and self.symmetric(a.arg):
            return a
        if isinstance(a, Inv):
            flipped = self.sum_expr(self.transpose(self.poly(a.arg)), matrix=True)
            if self.freeze_sums and flipped != a.arg:
                # (S^-1)^T stays S^-T, as books write it: (A + X^T C X)^-T, not
                # (A^T + X^T C^T X)^-1, and a transposed line is its factors transposed
                return T(a)
            return Inv(flipped)
        if isinstance(a, Add) and self.freeze_sums:
            # a frozen sum is never all-negative (sum_atom took the sign out): no sign appears
            return self.sum_atom(self.transpose(self.poly(a)), True).atoms[0]
        return T(a)

    def transpose(self, p: Poly) -> Poly:
        return self.merge([Mono(m.coef, self.order(tuple(self.t_atom(a) for a in reversed(m.atoms))))
                           for m in p])

    # -- back to trees --------------------------------------------------------------------------
    def mono_expr(self, m: Mono, sign: bool = True, matrix: bool = False) -> Expr:
        """One monomial as a tree; in a matrix context a term with no matrix factor is a
        multiple of `I` (`I`, `2 I`, `tr(X) I`), never the number alone."""
        c = m.coef if sign else abs(m.coef)
        factors: list[Expr] = []
        ident = matrix and self.scalar_mono(m)
        if abs(c) != 1 or not (m.atoms or ident):
            factors.append(_num(abs(c)))
        factors.extend(_powers(m.atoms))
        if ident:
            factors.append(Ident())
        e = Mul(tuple(factors)) if len(factors) > 1 else factors[0]
        return Neg(e) if c < 0 else e

    def expr(self, p: Poly, matrix: bool | None = None) -> Expr:
        """The sum as a tree. `matrix`: whether it is a matrix (not 1×1); by default, whether
        one of its terms has a matrix factor."""
        if not p:
            return Num(Fraction(0))
        if matrix is None:
            matrix = self.is_matrix(p)
        ms = sorted(p, key=lambda m: (m.coef < 0, [self.show(a) for a in m.atoms]))
        return add(*[self.mono_expr(m, matrix=matrix) for m in ms])

    def is_matrix(self, p: Poly) -> bool:
        return any(not self.scalar_mono(m) for m in p)

    def scalar_mono(self, m: Mono) -> bool:
        """Whether the monomial is 1×1: its matrix factors, if any, multiply to a 1×1."""
        mats = self._matrix_part(m)
        return not mats or self.is_scalar(mul(*mats))

    def normal(self, e: Expr) -> Expr:
        return self.expr(self.poly(e), matrix=self._is_matrix_expr(e))

    def _is_matrix_expr(self, e: Expr) -> bool | None:
        """Whether e is a matrix (not 1×1); None when its shape cannot be told (a `0` whose size
        nothing fixes), so that the terms decide."""
        try:
            return not shape_of(e, self.env).scalar
        except Exception:  # noqa: BLE001
            return None

    # -- presentation -----------------------------------------------------------------------------
    def factor(self, p: Poly, matrix: bool | None = None) -> Expr:
        """Pull common factors out of a sum: a common scalar coefficient, then common matrix
        factors on the left and on the right."""
        if not p:
            return Num(Fraction(0))
        if matrix is None:
            matrix = self.is_matrix(p)
        if len(p) == 1:
            return self.mono_expr(p[0], matrix=matrix)
        coefs = [m.coef for m in p]
        g = _gcd(coefs)
        if g != 1:
            inner = self.factor([Mono(m.coef / g, m.atoms) for m in p], matrix)
            return mul(_num(abs(g)), inner) if g > 0 else Neg(mul(_num(-g), inner) if g != -1 else inner)
        common = list(self._scalar_part(p[0]))
        for m in p[1:]:
            rest = list(self._scalar_part(m))
            keep = []
            for a in common:
                if a in rest:
                    rest.remove(a)
                    keep.append(a)
            common = keep
        if common:
            stripped = []
            for m in p:
                atoms = list(m.atoms)
                for a in common:
                    atoms.remove(a)
                stripped.append(Mono(m.coef, tuple(atoms)))
            inner = self.factor(stripped, matrix)
            return mul(*_powers(tuple(common)), inner)
        left: list[Expr] = []
        right: list[Expr] = []
        body = [list(self._matrix_part(m)) for m in p]
        scal = [self._scalar_part(m) for m in p]
        while all(len(b) > 1 for b in body) and len({show(b[0]) for b in body}) == 1:
            left.append(body[0][0])
            body = [b[1:] for b in body]
        while all(len(b) > 1 for b in body) and len({show(b[-1]) for b in body}) == 1:
            right.insert(0, body[0][-1])
            body = [b[:-1] for b in body]
        if not left and not right:
            if all(len(m.atoms) == 1 and isinstance(m.atoms[0], T) for m in p):
                # a^T - b^T is (a - b)^T
                return T(self.factor([Mono(m.coef, (m.atoms[0].arg,)) for m in p]))
            return self._product_of_sums(p) or self.expr(p, matrix)
        inner = self.expr([Mono(m.coef, tuple(s) + tuple(b)) for m, s, b in zip(p, scal, body)])
        return mul(*left, inner, *right)

    def _product_of_sums(self, p: Poly) -> Expr | None:
        """Σ c_i d_j u_i v_j over every pair (i, j) written as (Σ c_i u_i)(Σ d_j v_j): the
        Gaussian's mu^T S^-1 + mu^T S^T^-1 - x^T S^-1 - x^T S^T^-1 is (mu^T - x^T)(S^-1 + S^T^-1).
        Only for terms of two matrix factors and no scalar ones; None when p is not such a
        product."""
        if any(len(m.atoms) != 2 or self._scalar_part(m) for m in p):
            return None
        us = list(dict.fromkeys(m.atoms[0] for m in p))
        vs = list(dict.fromkeys(m.atoms[1] for m in p))
        coef = {m.atoms: m.coef for m in p}
        if len(us) < 2 or len(vs) < 2 or len(coef) != len(p) or len(p) != len(us) * len(vs):
            return None
        base = coef.get((us[0], vs[0]))
        if base is None:
            return None
        cu = [coef.get((u, vs[0])) for u in us]
        cv = [coef.get((us[0], v)) / base for v in vs] if all(c is not None for c in cu) else None
        if cv is None or any(coef.get((u, v)) != a * b for u, a in zip(us, cu) for v, b in zip(vs, cv)):
            return None
        left = self.factor([Mono(a, (u,)) for u, a in zip(us, cu)])
        right = self.factor([Mono(b, (v,)) for v, b in zip(vs, cv)])
        return mul(left, right)

    def _matrix_part(self, m: Mono) -> tuple[Expr, ...]:
        return tuple(a for a in m.atoms if not self.is_scalar(a))

    def _scalar_part(self, m: Mono) -> tuple[Expr, ...]:
        return tuple(a for a in m.atoms if self.is_scalar(a))


def had_factors(e: Expr) -> list[Expr]:
    """The factors of a chain U ∘ V ∘ W (one factor when e is no Hadamard product)."""
    if isinstance(e, Had):
        return had_factors(e.left) + had_factors(e.right)
    return [e]


def make_had(factors: list[Expr]) -> Expr:
    out = factors[0]
    for f in factors[1:]:
        out = Had(out, f)
    return out


def _inverse_pair(a: Expr, b: Expr) -> bool:
    """b is a^-1: X and X^-1, or X^T and X^-T."""
    if isinstance(b, Inv) and b.arg == a:
        return True
    return (isinstance(a, T) and isinstance(b, T) and isinstance(b.arg, Inv)
            and b.arg.arg == a.arg)


def _has_d(e: Expr) -> bool:
    return any(isinstance(x, Func) and x.name == "d" for x in e.walk())


def _count_t(e: Expr) -> int:
    return sum(isinstance(x, T) for x in e.walk())


def _powers(atoms: tuple[Expr, ...]) -> list[Expr]:
    """Runs of one atom as a power: s s → s^2, s^-1 s^-1 → s^-2 (presentation only)."""
    out: list[Expr] = []
    i = 0
    while i < len(atoms):
        j = i
        while j + 1 < len(atoms) and atoms[j + 1] == atoms[i]:
            j += 1
        run, a = j - i + 1, atoms[i]
        if run == 1:
            out.append(a)
        elif isinstance(a, Inv):
            out.append(Pow(a.arg, -run))
        else:
            out.append(Pow(a, run))
        i = j + 1
    return out


def _num(q: Fraction) -> Expr:
    if q.denominator == 1 or _terminates(q):
        return Num(q)
    return Div(Num(Fraction(q.numerator)), Num(Fraction(q.denominator)))


def _terminates(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _gcd(qs: list[Fraction]) -> Fraction:
    from math import gcd

    num = 0
    den = 1
    for q in qs:
        num = gcd(num, abs(q.numerator))
        den = den * q.denominator // gcd(den, q.denominator)
    g = Fraction(num, den) if num else Fraction(1)
    if all(q < 0 for q in qs):
        g = -g
    # only pull out an integer factor, or a sign: 2 (A + B), not 2/3 (…)
    if g.denominator != 1:
        return Fraction(-1) if g < 0 else Fraction(1)
    return g
