"""Expression trees of the notation (SPEC §2), with source spans.

Nodes are frozen dataclasses compared by structure; the span is carried along but ignored by
equality and hashing, so `parse("A B") == parse("A  B")`. Sums and products are n-ary and kept
flat by the smart constructors `add` and `mul`: associativity is invisible in the notation, and
the printer (`printer.py`) relies on flat trees to round-trip. Read next: `parser.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, TypeVar

if TYPE_CHECKING:  # tells a type checker what `Expr.__init_subclass__` does: frozen dataclasses
    from typing_extensions import dataclass_transform  # (no import at run time)
else:
    dataclass_transform = lambda **kw: lambda cls: cls
R = TypeVar("R")

ELEMENTWISE = ("exp", "log", "sqrt", "sigmoid", "tanh")  # entrywise on any shape
FUNCS = ("tr", "det", "d", "vec", "diag", "sum") + ELEMENTWISE
RESERVED = frozenset(FUNCS + ("I", "kron"))


@dataclass(frozen=True)
class Span:
    """Half-open character range [start, end) in the source text of one expression."""

    start: int
    end: int


NOSPAN = Span(0, 0)


def _cached(fn: Callable[[Expr], R]) -> Callable[[Expr], R]:
    """Cache a function of a node on the node itself, under "_" + its name: trees are immutable."""
    key = "_" + fn.__name__  # set in the node's __dict__ directly: frozen nodes allow that
    return wraps(fn)(lambda e: e.__dict__[key] if key in e.__dict__ else e.__dict__.setdefault(key, fn(e)))


def remembered(memo: dict[Any, Any], key: Any, answer: Callable[[], R], bound: int = 1 << 62) -> R:
    """memo[key], computed by `answer` the first time (an answer is never None); a memo past
    `bound` entries starts afresh. Callers key it by everything the answer reads."""
    if len(memo) > bound:
        memo.clear()
    return v if (v := memo.get(key)) is not None else memo.setdefault(key, answer())  # type: ignore[no-any-return]


@_cached
def _hash(self: Expr) -> int:
    # Trees are dict keys everywhere; the hash is computed once per node. Equality stays the
    # dataclass's own structural comparison, so a hash collision can never make two trees equal.
    return hash((type(self).__name__,) + tuple(getattr(self, f) for f in self._fields))


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
@dataclass(frozen=True)
class Expr:
    span: Span = field(default=NOSPAN, compare=False, repr=False, kw_only=True)
    _fields: ClassVar[tuple[str, ...]] = ()  # the fields but the span (set for each node type)
    _kids: ClassVar[tuple[str, ...]] = ()  # those holding the children

    def __init_subclass__(cls, **kw: object):
        # Every node type is a frozen dataclass, hashed by `_hash` (set first, so the dataclass
        # keeps it and writes no hash of its own); `_fields` are its fields but the span, `_kids`
        # those of them holding the children.
        super().__init_subclass__(**kw)
        cls.__hash__ = _hash  # type: ignore[assignment,method-assign]  # the cached hash
        dataclass(frozen=True)(cls)
        cls._fields = tuple(f.name for f in fields(cls) if f.name != "span")
        cls._kids = tuple(f for f in cls._fields if f in ("arg", "args", "num", "den", "left", "right"))

    def children(self) -> tuple["Expr", ...]:
        return self.args if isinstance(self, (Add, Mul)) else tuple(map(self.__dict__.__getitem__, self._kids))

    def with_children(self, kids: tuple["Expr", ...]) -> "Expr":
        if isinstance(self, (Add, Mul, Div, Had, Kron)):  # rebuilt without the span; flat sums/products
            return (add if isinstance(self, Add) else mul if isinstance(self, Mul) else type(self))(*kids)
        # a node with one child holds it in `arg` (which `Expr` itself does not have)
        return replace(self, arg=kids[0]) if self._kids else self  # type: ignore[call-arg]

    def walk(self) -> Iterator["Expr"]:
        yield self
        for k in self.children():
            yield from k.walk()

    def __str__(self) -> str:
        from .printer import show

        return show(self)


class Num(Expr):
    """A non-negative rational literal. `0` is the zero matrix of whatever size the context fixes."""

    value: Fraction


class Sym(Expr):
    """A declared variable (in a proof) or a pattern variable (in a rule)."""

    name: str


class Ident(Expr):
    """`I`, the identity of whatever (square) size the context fixes."""


class Add(Expr):
    args: tuple[Expr, ...]


class Neg(Expr):
    arg: Expr


class Mul(Expr):
    args: tuple[Expr, ...]


class Div(Expr):
    """`num / den`; the denominator must be 1×1."""

    num: Expr
    den: Expr


class T(Expr):
    """Transpose."""

    arg: Expr


class Inv(Expr):
    arg: Expr


class Pow(Expr):
    """`X^k` for an integer k other than -1 (that one is `Inv`); X^-k means (X^-1)^k."""

    arg: Expr
    k: int


class Had(Expr):
    """The Hadamard (entrywise) product `left ∘ right` of two matrices of one shape."""

    left: Expr
    right: Expr


class Kron(Expr):
    """The Kronecker product `left ⊗ right`, written `kron(left, right)` too."""

    left: Expr
    right: Expr


class Func(Expr):
    """A function of one argument, named in FUNCS: `tr(·)`, `d(·)`, `exp(·)`, …"""

    name: str
    arg: Expr


def _flat(cls: type[Add] | type[Mul], items: tuple[Expr, ...], span: Span) -> Expr:
    flat = [x for t in items for x in (t.args if isinstance(t, cls) else (t,))]
    return flat[0] if len(flat) == 1 else cls(tuple(flat), span=span)


def add(*terms: Expr, span: Span = NOSPAN) -> Expr:
    return _flat(Add, terms, span)


def mul(*factors: Expr, span: Span = NOSPAN) -> Expr:
    return _flat(Mul, factors, span)


def d(e: Expr) -> Expr:
    return Func("d", e)


@_cached
def size(e: Expr) -> int:
    return 1 + sum(size(k) for k in e.children())


@_cached
def symbols(e: Expr) -> frozenset[str]:
    """The variable names in e (cached on the node, like its size)."""
    if isinstance(e, Sym):
        return frozenset((e.name,))
    return frozenset().union(*[symbols(k) for k in e.children()])


@_cached
def d_depth(e: Expr) -> int:
    """How deeply `d` nests in e: the order of the Taylor series the evaluator must carry."""
    inner = max((d_depth(k) for k in e.children()), default=0)
    return inner + 1 if isinstance(e, Func) and e.name == "d" else inner


Path = tuple[int, ...]


def replace_at(e: Expr, path: Path, new: Expr) -> Expr:
    if not path:
        return new
    i, kids = path[0], e.children()
    return e.with_children(kids[:i] + (replace_at(kids[i], path[1:], new),) + kids[i + 1:])
