"""Expression trees of the notation (SPEC §2), with source spans.

Nodes are frozen dataclasses compared by structure; the span is carried along but ignored by
equality and hashing, so `parse("A B") == parse("A  B")`. Sums and products are n-ary and kept
flat by the smart constructors `add` and `mul`: associativity is invisible in the notation, and
the printer (`printer.py`) relies on flat trees to round-trip. Read next: `parser.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Iterator

FUNCS = ("tr", "det", "log", "d")
RESERVED = frozenset(FUNCS + ("I",))


@dataclass(frozen=True)
class Span:
    """Half-open character range [start, end) in the source text of one expression."""

    start: int
    end: int


NOSPAN = Span(0, 0)


@dataclass(frozen=True)
class Expr:
    span: Span = field(default=NOSPAN, compare=False, repr=False, kw_only=True)
    _kids = ""  # the field holding the children: one child, or a tuple of them ("" for a leaf)

    def children(self) -> tuple["Expr", ...]:
        if not self._kids:
            return ()
        kids = getattr(self, self._kids)
        return kids if isinstance(kids, tuple) else (kids,)

    def with_children(self, kids: tuple["Expr", ...]) -> "Expr":
        if not self._kids:
            return self
        if isinstance(self, (Add, Mul)):
            return (add if isinstance(self, Add) else mul)(*kids)
        if isinstance(self, Div):
            return Div(kids[0], kids[1])
        return replace(self, **{self._kids: kids[0]})

    def walk(self) -> Iterator["Expr"]:
        yield self
        for k in self.children():
            yield from k.walk()

    def __str__(self) -> str:
        from .printer import show

        return show(self)


@dataclass(frozen=True)
class Num(Expr):
    """A non-negative rational literal. `0` is the zero matrix of whatever size the context fixes."""

    value: Fraction


@dataclass(frozen=True)
class Sym(Expr):
    """A declared variable (in a proof) or a pattern variable (in a rule)."""

    name: str


@dataclass(frozen=True)
class Ident(Expr):
    """`I`, the identity of whatever (square) size the context fixes."""


@dataclass(frozen=True)
class Add(Expr):
    args: tuple[Expr, ...]
    _kids = "args"


@dataclass(frozen=True)
class Neg(Expr):
    arg: Expr
    _kids = "arg"


@dataclass(frozen=True)
class Mul(Expr):
    args: tuple[Expr, ...]
    _kids = "args"


@dataclass(frozen=True)
class Div(Expr):
    """`num / den`; the denominator must be 1×1."""

    num: Expr
    den: Expr
    _kids = "num"  # two children: see `children`, `with_children`

    def children(self):
        return (self.num, self.den)


@dataclass(frozen=True)
class T(Expr):
    """Transpose."""

    arg: Expr
    _kids = "arg"


@dataclass(frozen=True)
class Inv(Expr):
    arg: Expr
    _kids = "arg"


@dataclass(frozen=True)
class Pow(Expr):
    """`X^k` for an integer k other than -1 (that one is `Inv`); X^-k means (X^-1)^k."""

    arg: Expr
    k: int
    _kids = "arg"


@dataclass(frozen=True)
class Func(Expr):
    """`tr(·)`, `det(·)`, `log(·)` or `d(·)`."""

    name: str
    arg: Expr
    _kids = "arg"


def add(*terms: Expr, span: Span = NOSPAN) -> Expr:
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.args if isinstance(t, Add) else (t,))
    if len(flat) == 1:
        return flat[0]
    return Add(tuple(flat), span=span)


def mul(*factors: Expr, span: Span = NOSPAN) -> Expr:
    flat: list[Expr] = []
    for f in factors:
        flat.extend(f.args if isinstance(f, Mul) else (f,))
    if len(flat) == 1:
        return flat[0]
    return Mul(tuple(flat), span=span)


def d(e: Expr) -> Expr:
    return Func("d", e)


ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))


def is_zero(e: Expr) -> bool:
    return isinstance(e, Num) and e.value == 0


def size(e: Expr) -> int:
    n = e.__dict__.get("_size")  # cached on the node, like the hash
    if n is None:
        n = 1 + sum(size(k) for k in e.children())
        object.__setattr__(e, "_size", n)
    return n


def symbols(e: Expr) -> frozenset[str]:
    """The variable names in e (cached on the node, like its size)."""
    out = e.__dict__.get("_syms")
    if out is None:
        if isinstance(e, Sym):
            out = frozenset((e.name,))
        else:
            out = frozenset().union(*[symbols(k) for k in e.children()])
        object.__setattr__(e, "_syms", out)
    return out


def d_depth(e: Expr) -> int:
    """How deeply `d` nests in e: the order of the Taylor series the evaluator must carry."""
    out = e.__dict__.get("_ddepth")
    if out is None:
        inner = max((d_depth(k) for k in e.children()), default=0)
        out = inner + 1 if isinstance(e, Func) and e.name == "d" else inner
        object.__setattr__(e, "_ddepth", out)
    return out


Path = tuple[int, ...]


def subterms(e: Expr, path: Path = ()) -> Iterator[tuple[Path, Expr]]:
    """Every subterm with its position (the child indices from the root), root first."""
    yield path, e
    for i, k in enumerate(e.children()):
        yield from subterms(k, path + (i,))


def replace_at(e: Expr, path: Path, new: Expr) -> Expr:
    if not path:
        return new
    kids = list(e.children())
    kids[path[0]] = replace_at(kids[path[0]], path[1:], new)
    return e.with_children(tuple(kids))


def _cached_hash(self: Expr) -> int:
    # Trees are dict keys everywhere; the hash is computed once per node. Equality stays the
    # dataclass's own structural comparison, so a hash collision can never make two trees equal.
    h = self.__dict__.get("_hash")
    if h is None:
        h = hash((type(self).__name__,) + tuple(getattr(self, f) for f in self._fields))
        object.__setattr__(self, "_hash", h)
    return h


for _cls in (Num, Sym, Ident, Add, Neg, Mul, Div, T, Inv, Pow, Func):
    _cls._fields = tuple(f for f in _cls.__dataclass_fields__ if f != "span")
    _cls.__hash__ = _cached_hash
