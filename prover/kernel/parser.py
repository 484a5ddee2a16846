"""A hand-written recursive-descent parser for the notation (SPEC §2), one function per
precedence layer: expr (+ -) > signed (unary -) > term (* / juxtaposition) > postfix > atom.

It never evaluates anything: user text only ever becomes an `Expr` tree. Errors are
`ProveError("parse-error", ...)` with the span of the offending token. Read next: `shapes.py`.
"""
from __future__ import annotations

import re
from fractions import Fraction

from .errors import Limits, ProveError
from .expr import (FUNCS, RESERVED, Div, Expr, Func, Ident, Inv, Neg, Num, Pow, Span, Sym, T, size,
                   add, mul)

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>⁻¹|\^\{T\}|[-+*/()^'ᵀ{}]))"
)


class _Tok:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int):
        self.kind, self.text, self.start, self.end = kind, text, start, end

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


def _tokenize(src: str) -> list[_Tok]:
    toks, pos = [], 0
    while True:
        while pos < len(src) and src[pos].isspace():
            pos += 1
        if pos >= len(src):
            toks.append(_Tok("end", "", pos, pos))
            return toks
        m = _TOKEN.match(src, pos)
        if not m:
            ch = src[pos]
            help = "numbers have no exponent part; write 0.001 as 1/1000" if ch in "eE" else (
                "allowed: names, numbers, + - * / ( ) ^T ' ᵀ ^-1 ⁻¹ ^k, tr( ) det( ) log( ) d( )")
            raise ProveError("parse-error", f"unexpected character {ch!r}", Span(pos, pos + 1), help)
        kind = m.lastgroup or "op"
        toks.append(_Tok(kind, m.group(kind), m.start(kind), m.end()))
        pos = m.end()


class Parser:
    def __init__(self, src: str, names: frozenset[str] | set[str] = frozenset()):
        if len(src) > Limits.max_expr_chars:
            raise ProveError("limit", f"expression is {len(src)} characters long; the limit is "
                             f"{Limits.max_expr_chars}", Span(0, len(src)))
        self.src, self.names = src, names
        self.toks = _tokenize(src)
        self.i = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def expect(self, text: str, help: str = "") -> _Tok:
        if not self.at(text):
            found = repr(self.tok.text) if self.tok.kind != "end" else "the end of the expression"
            raise ProveError("parse-error", f"expected {text!r}, found {found}", self.tok.span, help)
        return self.take()

    def _enter(self, start: int) -> None:
        self.depth += 1
        if self.depth > Limits.max_depth:
            raise ProveError("limit", f"expression nests deeper than {Limits.max_depth} levels",
                             Span(start, start + 1))

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        e = self.expr()
        if self.tok.kind != "end":
            raise ProveError("parse-error", f"unexpected {self.tok.text!r}", self.tok.span,
                             "an operator may be missing before it")
        return e

    def expr(self) -> Expr:
        start = self.tok.start
        terms = [self.signed()]
        while self.at("+", "-"):
            op = self.take().text
            t = self.term()
            terms.append(Neg(t, span=t.span) if op == "-" else t)
        return terms[0] if len(terms) == 1 else add(*terms, span=Span(start, self.toks[self.i - 1].end))

    def signed(self) -> Expr:
        if self.at("-"):
            start = self.take().start
            self._enter(start)
            inner = self.signed()
            self.depth -= 1
            return Neg(inner, span=Span(start, inner.span.end))
        return self.term()

    def _starts_atom(self) -> bool:
        t = self.tok
        return t.kind in ("num", "name") or (t.kind == "op" and t.text == "(")

    def term(self) -> Expr:
        acc = self.postfix()
        start = acc.span.start
        while True:
            if self.at("*"):
                self.take()
                acc = mul(acc, self.postfix())
            elif self.at("/"):
                self.take()
                den = self.postfix()
                acc = Div(acc, den, span=Span(start, den.span.end))
                continue
            elif self._starts_atom():
                acc = mul(acc, self.postfix())
            else:
                return acc
            acc = _respan(acc, Span(start, self.toks[self.i - 1].end))

    def _int(self) -> tuple[int, Span]:
        neg = self.at("-")
        start = self.tok.start
        if neg:
            self.take()
        t = self.tok
        if t.kind != "num" or "." in t.text:
            raise ProveError("parse-error", "expected an integer exponent or T after '^'", t.span,
                             "write X^T, X^2, X^-1 or X^{-1}")
        self.take()
        k = int(t.text)
        span = Span(start, t.end)
        if k > Limits.max_exponent:
            raise ProveError("limit", f"exponent {t.text} is larger than the limit "
                             f"{Limits.max_exponent}", span)
        return (-k if neg else k), span

    def postfix(self) -> Expr:
        e = self.atom()
        start = e.span.start
        while True:
            if self.at("'", "ᵀ", "^{T}"):
                e = T(e, span=Span(start, self.take().end))
            elif self.at("⁻¹"):
                e = Inv(e, span=Span(start, self.take().end))
            elif self.at("^"):
                self.take()
                if self.tok.kind == "name" and self.tok.text == "T":
                    e = T(e, span=Span(start, self.take().end))
                    continue
                braced = self.at("{")
                if braced:
                    self.take()
                k, _ = self._int()
                end = self.expect("}").end if braced else self.toks[self.i - 1].end
                e = Inv(e, span=Span(start, end)) if k == -1 else Pow(e, k, span=Span(start, end))
            else:
                return e

    def atom(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Num(Fraction(t.text), span=t.span)
        if t.kind == "name":
            self.take()
            name = t.text
            if name in FUNCS:
                if not self.at("("):
                    raise ProveError("parse-error", f"{name} needs its argument in parentheses",
                                     t.span, f"write {name}(...)")
                self.take()
                self._enter(t.start)
                inner = self.expr()
                self.depth -= 1
                close = self.expect(")", "a parenthesis is not closed")
                return Func(name, inner, span=Span(t.start, close.end))
            if name == "I":
                return Ident(span=t.span)
            if (name.startswith("d") and len(name) > 1 and name not in self.names
                    and name[1:] in self.names and name[1:] not in RESERVED):
                return Func("d", Sym(name[1:], span=Span(t.start + 1, t.end)), span=t.span)
            return Sym(name, span=t.span)
        if self.at("("):
            open_ = self.take()
            self._enter(open_.start)
            inner = self.expr()
            self.depth -= 1
            close = self.expect(")", "a parenthesis is not closed")
            return _respan(inner, Span(open_.start, close.end))
        found = repr(t.text) if t.kind != "end" else "the end of the expression"
        raise ProveError("parse-error", f"expected a name, a number or '(', found {found}", t.span)


def _respan(e: Expr, span: Span) -> Expr:
    object.__setattr__(e, "span", span)  # spans are bookkeeping, outside equality
    return e


def parse(src: str, names: frozenset[str] | set[str] = frozenset()) -> Expr:
    """Parse one expression. `names` are the declared variables (needed to read `dX` as d(X)).

    >>> str(parse("a^T X a", {"a", "X"}))
    'a^T X a'
    >>> str(parse("tr(X⁻¹ dX)", {"X"}))
    'tr(X^-1 dX)'
    """
    p = Parser(src, names)
    e = p.parse()
    n = size(e)
    if n > Limits.max_nodes:
        raise ProveError("limit", f"expression has {n} nodes; the limit is {Limits.max_nodes}",
                         Span(0, len(src)))
    return e
