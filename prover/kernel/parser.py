"""A hand-written recursive-descent parser for the notation (SPEC §2), one function per
precedence layer: expr (+ -) > signed (unary -) > term (* / juxtaposition) > postfix > atom.

It never evaluates anything: user text only ever becomes an `Expr` tree. Errors are
`ProveError("parse-error", ...)` with the span of the offending token. Read next: `shapes.py`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any, NamedTuple

from .errors import Limits, ProveError
from .expr import FUNCS, RESERVED, Div, Expr, Func, Had, Ident, Inv, Kron, Neg, Num, Pow, Span, Sym, T, add, mul, remembered, size

_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>⁻¹|⁻ᵀ|\^\{T\}|\.\*|[-+*/()^'ᵀ{}∘⊗,])")
_PRODUCTS: dict[str, Callable[..., Expr]] = {"*": mul, "/": Div, "∘": Had, ".*": Had, "⊗": Kron}


class _Tok(NamedTuple):
    kind: str  # "num", "name", "op" or "end"
    text: str
    span: Span


def _error(message: str, span: Span, help: str = "") -> ProveError:
    return ProveError("parse-error", message, span, help)


def _tokenize(src: str) -> list[_Tok]:
    toks, pos = [], 0
    while (pos := _SPACE.match(src, pos).end()) < len(src):  # type: ignore[union-attr]  # \s* matches
        m = _TOKEN.match(src, pos)
        if not m:
            ch = src[pos]
            help = "numbers have no exponent part; write 0.001 as 1/1000" if ch in "eE" else (
                "allowed: names, numbers, + - * / ∘ .* ⊗ ( ) ^T ' ^-1 ^k, tr( ), exp( ), kron( , ), …")
            raise _error(f"unexpected character {ch!r}", Span(pos, pos + 1), help)
        # every alternative of _TOKEN is a named group, so `lastgroup` is never None
        toks.append(_Tok(m.lastgroup, m.group(), Span(pos, m.end())))  # type: ignore[arg-type]
        pos = m.end()
    return toks + [_Tok("end", "", Span(pos, pos))]


class Parser:
    def __init__(self, src: str, names: frozenset[str] | set[str] = frozenset()):
        if len(src) > Limits.max_expr_chars:
            raise ProveError("limit", f"expression is {len(src)} characters long; the limit is "
                             f"{Limits.max_expr_chars}", Span(0, len(src)))
        self.names, self.toks = names, _tokenize(src)
        self.i = self.depth = 0

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        self.i += 1
        return self.toks[self.i - 1]

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def accept(self, text: str) -> bool:
        """Take the next token if it is the operator `text`."""
        return self.at(text) and self.take() is not None

    def _end(self) -> int:
        """Where the last token taken ends."""
        return self.toks[self.i - 1].span.end

    def _found(self) -> str:
        return repr(self.tok.text) if self.tok.kind != "end" else "the end of the expression"

    def expect(self, text: str, help: str = "") -> _Tok:
        if not self.at(text):
            raise _error(f"expected {text!r}, found {self._found()}", self.tok.span, help)
        return self.take()

    def nested(self, start: int, part: Callable[[], Expr]) -> Expr:
        """`part()` one level deeper (bounded by `Limits.max_depth`)."""
        self.depth += 1
        if self.depth > Limits.max_depth:
            raise ProveError("limit", f"expression nests deeper than {Limits.max_depth} levels",
                             Span(start, start + 1))
        e = part()
        self.depth -= 1
        return e

    def group(self, start: int) -> Expr:
        """After an opening '(': the expression inside and its closing ')'."""
        inner = self.nested(start, self.expr)
        self.expect(")", "a parenthesis is not closed")
        return inner

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        e = self.expr()
        if self.tok.kind != "end":
            raise _error(f"unexpected {self.tok.text!r}", self.tok.span, "an operator may be missing before it")
        if (n := size(e)) > Limits.max_nodes:  # (the end token's span ends where the text does)
            raise ProveError("limit", f"expression has {n} nodes; the limit is {Limits.max_nodes}",
                             Span(0, self.tok.span.end))
        return e

    def expr(self) -> Expr:
        start = self.tok.span.start
        terms = [self.signed()]
        while self.at("+", "-"):
            minus, t = self.take().text == "-", self.term()
            terms.append(Neg(t, span=t.span) if minus else t)
        return terms[0] if len(terms) == 1 else add(*terms, span=Span(start, self._end()))

    def signed(self) -> Expr:
        if not self.at("-"):
            return self.term()
        start = self.take().span.start
        inner = self.nested(start, self.signed)
        return Neg(inner, span=Span(start, inner.span.end))

    def _starts_atom(self) -> bool:
        return self.tok.kind in ("num", "name") or self.at("(")

    def term(self) -> Expr:
        acc = self.postfix()
        start = acc.span.start
        while self.at(*_PRODUCTS) or self._starts_atom():
            op = _PRODUCTS[self.take().text if self.at(*_PRODUCTS) else "*"]
            right = self.postfix()
            acc = op(acc, right, span=Span(start, self._end()))
        return acc

    def exponent(self) -> int | None:
        """After '^': an integer, perhaps negative, perhaps in braces; None for -T."""
        braced, start = self.accept("{"), self.tok.span.start
        neg, t = self.accept("-"), self.take()
        if not (t.kind == "num" and "." not in t.text or neg and t.kind == "name" and t.text == "T"):
            raise _error("expected an integer exponent or T after '^'", t.span,
                         "write X^T, X^2, X^-1, X^{-1} or X^-T")
        if t.kind == "num" and int(t.text) > Limits.max_exponent:
            raise ProveError("limit", f"exponent {t.text} is larger than the limit "
                             f"{Limits.max_exponent}", Span(start, t.span.end))
        if braced:
            self.expect("}")
        return None if t.kind == "name" else -int(t.text) if neg else int(t.text)

    def postfix(self) -> Expr:
        e = self.atom()
        start = e.span.start
        while self.at("'", "ᵀ", "^{T}", "⁻¹", "⁻ᵀ", "^"):
            op = self.take().text
            if op == "^" and self.tok.kind == "name" and self.tok.text == "T":
                op = self.take().text
            k = self.exponent() if op == "^" else -1 if op == "⁻¹" else None  # None: transpose
            if k is None and op in ("^", "⁻ᵀ"):  # X^-T is (X^-1)^T
                e = Inv(e, span=Span(start, self._end()))
            span = Span(start, self._end())
            e = T(e, span=span) if k is None else Inv(e, span=span) if k == -1 else Pow(e, k, span=span)
        return e

    def atom(self) -> Expr:
        t = self.tok
        if not self._starts_atom():
            raise _error(f"expected a name, a number or '(', found {self._found()}", t.span)
        self.take()
        name = t.text
        if t.kind == "num":
            return Num(Fraction(name), span=t.span)
        if name == "(":
            inner = self.group(t.span.start)
            object.__setattr__(inner, "span", Span(t.span.start, self._end()))  # outside equality
            return inner
        if name in FUNCS or name == "kron":
            if not self.accept("("):
                raise _error(f"{name} needs its argument in parentheses", t.span, f"write {name}(...)")
            if name == "kron":  # kron(U, V)
                left = self.nested(t.span.start, self.expr)
                self.expect(",", "kron takes two arguments: kron(U, V)")
                return Kron(left, self.group(t.span.start), span=Span(t.span.start, self._end()))
            return Func(name, self.group(t.span.start), span=Span(t.span.start, self._end()))
        if name == "I":
            return Ident(span=t.span)
        if (name.startswith("d") and len(name) > 1 and name not in self.names
                and name[1:] in self.names and name[1:] not in RESERVED):
            return Func("d", Sym(name[1:], span=Span(t.span.start + 1, t.span.end)), span=t.span)
        return Sym(name, span=t.span)


def parse(src: str, names: frozenset[str] | set[str] = frozenset()) -> Expr:
    """Parse one expression. `names` are the declared variables (needed to read `dX` as d(X)).

    >>> str(parse("a^T X a", {"a", "X"}))
    'a^T X a'
    >>> str(parse("tr(X⁻¹ dX)", {"X"}))
    'tr(X^-1 dX)'
    """
    return remembered(_PARSED, (src, frozenset(names), Limits.max_expr_chars, Limits.max_nodes, Limits.max_depth,
                                Limits.max_exponent), lambda: Parser(src, names).parse(), 2048)


# trees by their text, the names and the limits (all a parse reads): a class repeats its lines,
# and a tree is immutable (its shape is remembered on it with the declarations it was typed in)
_PARSED: dict[tuple[Any, ...], Expr] = {}
