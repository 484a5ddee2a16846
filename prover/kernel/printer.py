"""The printer: the notation with the fewest parentheses that read back to the same tree.

Levels, loosest first: 0 sum, 1 unary minus, 2 product/quotient, 3 postfix, 4 atom.
`parse(show(e)) == e` for every flat tree (a property test checks it). Read next: `shapes.py`.
"""
from __future__ import annotations

from fractions import Fraction

from .expr import Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T

_SUM, _NEG, _PROD, _POST, _ATOM = range(5)
_LEVELS = {Add: _SUM, Neg: _NEG, Mul: _PROD, Div: _PROD, Had: _PROD, T: _POST, Inv: _POST, Pow: _POST}


def _num(v: Fraction) -> str:
    """A literal: an integer, a decimal where one is exact (0.25), else a parenthesised ratio."""
    k = next((k for k in range(v.denominator.bit_length() + 1) if 10**k % v.denominator == 0), None)
    if k is None:
        return f"({v.numerator}/{v.denominator})"
    s = str(v.numerator * 10**k // v.denominator).rjust(k + 1, "0")
    return f"{s[:-k]}.{s[-k:]}" if k else s


def show(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    """Print e. `names` are the declared variables: `dX` is used for d(X) unless `dX` is one.

    >>> from .parser import parse
    >>> show(parse("-(X^-1) (dX) (X^{-1})", {"X"}), {"X"})
    '-X^-1 dX X^-1'
    """

    def at(e: Expr, level: int) -> str:
        s = go(e)
        return f"({s})" if _LEVELS.get(type(e), _ATOM) < level else s

    def go(e: Expr) -> str:
        if isinstance(e, Num):
            return _num(e.value)
        if isinstance(e, (Sym, Ident)):
            return e.name if isinstance(e, Sym) else "I"
        if isinstance(e, Add):
            return " ".join([at(e.args[0], _NEG)] + [f"- {at(t.arg, _PROD)}" if isinstance(t, Neg)
                                                     else f"+ {at(t, _PROD)}" for t in e.args[1:]])
        if isinstance(e, Neg):
            return "-" + at(e.arg, _NEG)
        if isinstance(e, Mul):
            return " ".join([at(e.args[0], _PROD)] + [at(f, _POST) for f in e.args[1:]])
        if isinstance(e, (Div, Had)):
            return " / ".join((at(e.num, _PROD), at(e.den, _POST))) if isinstance(e, Div) else (
                f"{at(e.left, _PROD)} .* {at(e.right, _POST)}")
        if isinstance(e, Kron):
            return f"kron({go(e.left)}, {go(e.right)})"
        if isinstance(e, T) and isinstance(e.arg, Inv):
            return at(e.arg.arg, _POST) + "^-T"
        if isinstance(e, (T, Inv, Pow)):
            return at(e.arg, _POST) + ("^T" if isinstance(e, T) else "^-1" if isinstance(e, Inv)
                                       else f"^{e.k}")
        if isinstance(e, Func):
            if e.name == "d" and isinstance(e.arg, Sym) and "d" + e.arg.name not in names:
                return "d" + e.arg.name
            return f"{e.name}({go(e.arg)})"
        raise TypeError(f"cannot print {type(e).__name__}")

    return go(e)
