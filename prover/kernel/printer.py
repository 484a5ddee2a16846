"""The printer: the notation with the fewest parentheses that read back to the same tree.

Levels, loosest first: 0 sum, 1 unary minus, 2 product/quotient, 3 postfix, 4 atom.
`parse(show(e)) == e` for every flat tree (a property test checks it). Read next: `shapes.py`.
"""
from __future__ import annotations

from fractions import Fraction

from .expr import Add, Div, Expr, Func, Ident, Inv, Mul, Neg, Num, Pow, Sym, T

_SUM, _NEG, _PROD, _POST, _ATOM = range(5)


def _level(e: Expr) -> int:
    if isinstance(e, Add):
        return _SUM
    if isinstance(e, Neg):
        return _NEG
    if isinstance(e, (Mul, Div)):
        return _PROD
    if isinstance(e, (T, Inv, Pow)):
        return _POST
    return _ATOM


def _num(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    den, twos, fives = v.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den == 1:
        places = max(twos, fives)
        scaled = v * 10**places
        s = str(scaled.numerator).rjust(places + 1, "0")
        return f"{s[:-places]}.{s[-places:]}"
    return f"({v.numerator}/{v.denominator})"


def show(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    """Print e. `names` are the declared variables: `dX` is used for d(X) unless `dX` is one.

    >>> from .parser import parse
    >>> show(parse("-(X^-1) (dX) (X^{-1})", {"X"}), {"X"})
    '-X^-1 dX X^-1'
    """

    def at(e: Expr, level: int) -> str:
        s = go(e)
        return f"({s})" if _level(e) < level else s

    def go(e: Expr) -> str:
        if isinstance(e, Num):
            return _num(e.value)
        if isinstance(e, Sym):
            return e.name
        if isinstance(e, Ident):
            return "I"
        if isinstance(e, Add):
            out = [at(e.args[0], _NEG)]
            for t in e.args[1:]:
                if isinstance(t, Neg):
                    out.append(f"- {at(t.arg, _PROD)}")
                else:
                    out.append(f"+ {at(t, _PROD)}")
            return " ".join(out)
        if isinstance(e, Neg):
            return "-" + at(e.arg, _NEG)
        if isinstance(e, Mul):
            first = at(e.args[0], _PROD)
            return " ".join([first] + [at(f, _POST) for f in e.args[1:]])
        if isinstance(e, Div):
            return f"{at(e.num, _PROD)} / {at(e.den, _POST)}"
        if isinstance(e, T):
            return at(e.arg, _POST) + "^T"
        if isinstance(e, Inv):
            return at(e.arg, _POST) + "^-1"
        if isinstance(e, Pow):
            return at(e.arg, _POST) + f"^{e.k}"
        if isinstance(e, Func):
            if e.name == "d" and isinstance(e.arg, Sym) and "d" + e.arg.name not in names:
                return "d" + e.arg.name
            return f"{e.name}({go(e.arg)})"
        raise TypeError(f"cannot print {type(e).__name__}")

    return go(e)
