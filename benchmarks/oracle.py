"""An independent truth oracle for matrix-calculus identities (not part of `prove`).

The mutation, fuzz and adversarial campaigns need a judge that cannot share the kernel's blind
spots, so this module imports nothing from `prover`. It has:

- its own grammar (lark, LALR) for the part of SPEC §2 the kernel supports today: numbers
  (integers and decimals; `1/2` is a division), names, `+ - *`, products by juxtaposition
  (`a^T X a`, `2 X`, `2X`), `/` by a scalar, unary minus (looser than a product), the postfix
  forms `^T ' ᵀ ^{T} ^k ^-k ^{k} ^{-k} ^-T ⁻¹ ⁻ᵀ`, the functions `tr det log d`, `I` and `0`
  sized by their context, and `dX` for `d(X)` when `X` is declared and `dX` is not;
- its own trees (plain tuples, see `Node` below) and printer (`show`), which reads back to the
  same tree;
- its own shape inference with dimension symbols (`shape_of`): a 1×1 factor scales anything,
  `I` is a square matrix of no size of its own, `0` a matrix of no shape of its own;
- exact evaluation at concrete sizes with SymPy's exact rationals (`DomainMatrix` over `QQ`,
  the matrix type behind `sympy.Matrix`): random small-integer matrices for every variable,
  exact products, inverses, determinants, traces and powers;
- the differential: every varying variable X gets a random direction dX, and a value is its
  Taylor polynomial in t along X + t·dX, truncated after the order the expression needs (the
  nesting depth of `d`). `d(E)` is the t-derivative of that polynomial, so `d(X) = dX`,
  `d(dX) = 0`, and the t⁰ coefficient of `d(E)` is exactly the directional derivative of E —
  what SPEC §5 calls the total differential, evaluated at one direction;
- `log`: only of a 1×1 value whose t⁰ part is a positive rational r. Its t⁰ part is written
  exactly as a combination of symbols L_b = log(b) over a coprime base b of every log argument
  met at that point (so log 4 = 2 log 2 and log(det(X X)) = 2 log(det X) compare equal
  exactly); values then live in SymPy's field QQ(L_b, …). Two sides that differ as rational
  functions of the L_b are confirmed different by evaluating the difference with
  `sympy.log` at 60 significant digits (logs of coprime integers are linearly independent over
  the rationals; for a non-linear difference this numeric step is the evidence). A log whose
  argument is not rational at t = 0 (a log of a log) makes the claim `undefined`.

`judge(lhs, rhs, variables, varying)` answers `true`, `false` (with a witness: sizes, the values
of every variable and direction, and both sides) or `undefined`. It tries many size
assignments: every dimension symbol takes each size 2..6 (all combinations of distinct sizes
for up to three symbols, a spread beyond), then the special assignments (a symbol at 1, two
symbols equal). A `false` verdict says whether the difference shows at a *generic* assignment
(distinct symbols, sizes at least 2, the kernel's documented reading of dimension symbols) or
only at a special one. Points where an inverse is singular, a division is by zero or a log
argument is not positive are redrawn.

No `eval`, no `sympify` of user text: SymPy objects are built from this module's own trees.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Any, Iterable, Mapping

import lark
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

__all__ = ["OracleError", "Verdict", "parse", "show", "shape_of", "judge", "judge_trees",
           "claim_sides", "judge_claim", "judge_links", "dimension_symbols", "d_depth",
           "size_schedule", "read_variables"]

# =============================================================================================
# Trees
# =============================================================================================
# A node is a tuple whose first item is its kind:
#   ("num", Fraction)      a number; the value 0 is the zero matrix of its context's shape
#   ("var", name)          a declared variable
#   ("I",)                 the identity, square, sized by its context
#   ("add", a, b) ("sub", a, b) ("neg", a)
#   ("mul", a, b)          product, left to right: `a b c` is ("mul", ("mul", a, b), c)
#   ("div", a, b)          a / b, b 1×1
#   ("T", a)               transpose
#   ("pow", a, k)          a^k for an int k; k = -1 is the inverse, a^0 = I
#   ("fn", name, a)        name in tr, det, log, d, vec, diag, sum, exp, sqrt, sigmoid, tanh
#   ("had", a, b)          the Hadamard product a ∘ b (a .* b)
#   ("kron", a, b)         the Kronecker product a ⊗ b (kron(a, b))
# A dimension is a positive int, a symbol, or a product of them ("·", k, s1, s2, …) with the
# symbols sorted and k > 1 (omitted when 1): `_dprod`.
Node = tuple

ENTRYWISE = ("exp", "log", "sqrt", "sigmoid", "tanh")  # entrywise on any shape (log: 1×1 exact)
BEYOND = ("vec", "diag", "sum", "exp", "sqrt", "sigmoid", "tanh")
FUNCS = ("tr", "det", "log", "d") + BEYOND
RESERVED = frozenset(FUNCS + ("I", "kron"))
MAX_TEXT = 5000
MAX_EXPONENT = 64


class OracleError(Exception):
    """The text does not parse, names an unknown variable, or is not well-shaped."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


class _Unusable(Exception):
    """This point cannot be used (singular matrix, division by zero, log of a non-positive
    number): another point is drawn."""


class _Undecidable(Exception):
    """The value cannot be computed exactly (a log of a non-rational value)."""


class _Restart(Exception):
    """A log argument needs a finer coprime base: evaluate the point again with it."""

    def __init__(self, base: tuple[int, ...]):
        super().__init__(base)
        self.base = base


# =============================================================================================
# Grammar
# =============================================================================================

GRAMMAR = r"""
?start: expr
?expr: signed
     | expr "+" term        -> add
     | expr "-" term        -> sub
?signed: "-" signed         -> neg
       | term
?term: postfix
     | term "*" postfix     -> mul
     | term "/" postfix     -> div
     | term "∘" postfix     -> had
     | term ".*" postfix    -> had
     | term "⊗" postfix     -> kron
     | term postfix         -> mul
?postfix: atom
     | postfix "^" power            -> power
     | postfix "^" "{" power "}"    -> power
     | postfix "'"                  -> transpose
     | postfix "ᵀ"                  -> transpose
     | postfix "⁻¹"                 -> inverse
     | postfix "⁻ᵀ"                 -> inverse_transpose
power: NUMBER                       -> pow_num
     | "-" NUMBER                   -> pow_negnum
     | NAME                         -> pow_name
     | "-" NAME                     -> pow_negname
?atom: NUMBER                       -> number
     | NAME                         -> name
     | KRON "(" expr "," expr ")"   -> kronf
     | FUNC "(" expr ")"            -> func
     | "(" expr ")"
FUNC.2: /(tr|det|log|d|exp|sqrt|sigmoid|tanh|vec|diag|sum)(?![A-Za-z0-9_])/
KRON.2: /kron(?![A-Za-z0-9_])/
NAME: /[A-Za-z][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?/
%ignore /[ \t\r\n]+/
"""


def _num(tok) -> Fraction:
    return Fraction(str(tok))


def _exp(tok) -> int:
    s = str(tok)
    if "." in s:
        raise OracleError("parse", f"exponent {s} is not an integer")
    k = int(s)
    if k > MAX_EXPONENT:
        raise OracleError("limit", f"exponent {k} is above {MAX_EXPONENT}")
    return k


class _Build(lark.Transformer):
    """Parse tree to this module's tuples. Names stay unresolved ("name", text) until
    `_resolve` knows the declarations."""

    def number(self, c):
        return ("num", _num(c[0]))

    def name(self, c):
        return ("name", str(c[0]))

    def func(self, c):
        return ("fn", str(c[0]), c[1])

    def add(self, c):
        return ("add", c[0], c[1])

    def had(self, c):
        return ("had", c[0], c[1])

    def kron(self, c):
        return ("kron", c[0], c[1])

    def kronf(self, c):
        return ("kron", c[1], c[2])

    def sub(self, c):
        return ("sub", c[0], c[1])

    def neg(self, c):
        return ("neg", c[0])

    def mul(self, c):
        return ("mul", c[0], c[1])

    def div(self, c):
        return ("div", c[0], c[1])

    def transpose(self, c):
        return ("T", c[0])

    def inverse(self, c):
        return ("pow", c[0], -1)

    def inverse_transpose(self, c):
        return ("T", ("pow", c[0], -1))

    def power(self, c):
        base, (kind, k) = c
        if kind == "T":
            return ("T", base)
        if kind == "-T":
            return ("T", ("pow", base, -1))
        return ("pow", base, k)

    def pow_num(self, c):
        return ("k", _exp(c[0]))

    def pow_negnum(self, c):
        return ("k", -_exp(c[0]))

    def pow_name(self, c):
        if str(c[0]) != "T":
            raise OracleError("parse", f"unknown exponent {c[0]}")
        return ("T", None)

    def pow_negname(self, c):
        if str(c[0]) != "T":
            raise OracleError("parse", f"unknown exponent -{c[0]}")
        return ("-T", None)


_PARSER = lark.Lark(GRAMMAR, parser="lalr", transformer=_Build(), maybe_placeholders=False)


def _resolve(e: Node, names: frozenset[str]) -> Node:
    """Replace ("name", s) by a variable, I, or d(variable) (the `dX` shorthand)."""
    kind = e[0]
    if kind == "name":
        s = e[1]
        if s in names:
            return ("var", s)
        if s == "I":
            return ("I",)
        if s in RESERVED:
            raise OracleError("parse", f"{s} needs parentheses: {s}(...)")
        if s.startswith("d") and s[1:] in names:
            return ("fn", "d", ("var", s[1:]))
        raise OracleError("parse", f"unknown name {s}")
    if kind == "num":
        return e
    if kind in ("add", "sub", "mul", "div", "had", "kron"):
        return (kind, _resolve(e[1], names), _resolve(e[2], names))
    if kind in ("neg", "T"):
        return (kind, _resolve(e[1], names))
    if kind == "pow":
        return ("pow", _resolve(e[1], names), e[2])
    if kind == "fn":
        return ("fn", e[1], _resolve(e[2], names))
    raise AssertionError(kind)


_PARSE_CACHE: dict[tuple[str, frozenset[str]], Node] = {}


def parse(text: Any, names: Iterable[str]) -> Node:
    """The tree of `text`, with `names` the declared variables. Raises OracleError."""
    names = frozenset(names)
    text = str(text)
    key = (text, names)
    hit = _PARSE_CACHE.get(key)
    if hit is not None:
        return hit
    if len(text) > MAX_TEXT:
        raise OracleError("limit", f"text longer than {MAX_TEXT} characters")
    bad = sorted(names & RESERVED)
    if bad:
        raise OracleError("parse", f"{bad[0]} is reserved and cannot be a variable")
    try:
        raw = _PARSER.parse(text)
        tree = _resolve(raw, names)
    except OracleError:
        raise
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, OracleError):
            raise exc.orig_exc from None
        raise OracleError("parse", str(exc.orig_exc)) from None
    except lark.exceptions.LarkError as exc:
        raise OracleError("parse", str(exc).splitlines()[0] if str(exc) else "syntax error") \
            from None
    except RecursionError:
        raise OracleError("limit", "the expression nests too deeply") from None
    if len(_PARSE_CACHE) > 200_000:
        _PARSE_CACHE.clear()
    _PARSE_CACHE[key] = tree
    return tree


# =============================================================================================
# Printer
# =============================================================================================

_LEVEL = {"add": 1, "sub": 1, "neg": 2, "mul": 3, "div": 3, "had": 3, "T": 4, "pow": 4}


def _level(e: Node) -> int:
    if e[0] == "num" and e[1] < 0:
        return 2
    return _LEVEL.get(e[0], 5)


def _number(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    den, twos, fives = v.denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise ValueError(f"{v} has no finite decimal; build it as a division")
    places = max(twos, fives)
    scaled = v.numerator * 10 ** places // v.denominator
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def show(e: Node, names: Iterable[str] | None = None) -> str:
    """The text of a tree, with the fewest parentheses that read back to the same tree.
    With `names` (the declared variables), d(X) prints as dX where that reads back."""
    names = frozenset(names) if names is not None else None

    def wrap(x: Node, least: int) -> str:
        s = go(x)
        return f"({s})" if _level(x) < least else s

    def go(x: Node) -> str:
        k = x[0]
        if k == "num":
            if x[1] < 0:
                return "-" + _number(-x[1])
            return _number(x[1])
        if k == "var":
            return x[1]
        if k == "I":
            return "I"
        if k == "add":
            return f"{wrap(x[1], 1)} + {wrap(x[2], 3)}"
        if k == "sub":
            return f"{wrap(x[1], 1)} - {wrap(x[2], 3)}"
        if k == "neg":
            return "-" + wrap(x[1], 2)
        if k == "mul":
            return f"{wrap(x[1], 3)} {wrap(x[2], 4)}"
        if k == "div":
            return f"{wrap(x[1], 3)} / {wrap(x[2], 4)}"
        if k == "had":
            return f"{wrap(x[1], 3)} .* {wrap(x[2], 4)}"
        if k == "kron":
            return f"kron({go(x[1])}, {go(x[2])})"
        if k == "T":
            return wrap(x[1], 4) + "^T"
        if k == "pow":
            return f"{wrap(x[1], 4)}^{x[2]}"
        if k == "fn":
            a = x[2]
            if (x[1] == "d" and a[0] == "var" and names is not None
                    and "d" + a[1] not in names):
                return "d" + a[1]
            return f"{x[1]}({go(a)})"
        raise AssertionError(k)

    return go(e)


# =============================================================================================
# Shapes
# =============================================================================================
# A shape is ("m", rows, cols) with dims that are positive ints or symbol names, ("I",) for a
# square matrix of no size of its own (c·I), or ("Z", rows, cols) for a zero matrix whose rows
# or cols may be unknown (None) until the context fixes them (`0 X` has X's columns). A symbol
# stands for a size of at least 2 here, distinct from every other symbol.

SCALAR = ("m", 1, 1)


def read_variables(variables: Mapping[str, Any]) -> dict[str, dict]:
    """Normalise declarations given as in a proof file: {name: {shape: [r, c] | 'scalar',
    constant, symmetric, invertible}}."""
    out = {}
    for name, decl in variables.items():
        decl = dict(decl or {})
        shape = decl.get("shape", "scalar")
        if shape == "scalar":
            r, c = 1, 1
        else:
            r, c = shape
        dims = []
        for x in (r, c):
            if isinstance(x, bool):
                raise OracleError("shape", f"{name}: bad dimension {x!r}")
            if isinstance(x, int):
                if x < 1:
                    raise OracleError("shape", f"{name}: dimension {x} is not positive")
                dims.append(x)
            elif isinstance(x, str) and x.isdigit():
                dims.append(int(x))
            elif isinstance(x, str) and x[:1].isalpha():
                dims.append(x)
            else:
                raise OracleError("shape", f"{name}: bad dimension {x!r}")
        if name in RESERVED:
            raise OracleError("parse", f"{name} is reserved and cannot be a variable")
        out[name] = {"shape": tuple(dims), "constant": bool(decl.get("constant", False)),
                     "symmetric": bool(decl.get("symmetric", False))}
    return out


def _is_scalar(s) -> bool:
    return s == SCALAR


def _shape_str(s) -> str:
    if s[0] == "I":
        return "c·I (no size of its own)"
    if s[0] == "Z":
        return f"0 ({'?' if s[1] is None else s[1]}×{'?' if s[2] is None else s[2]})"
    return f"{s[1]}×{s[2]}"


def shape_of(e: Node, decls: Mapping[str, dict]) -> tuple:
    """The shape of a tree under normalised declarations (see read_variables)."""
    memo: dict[Node, tuple] = {}

    def fail(msg: str):
        raise OracleError("shape", msg)

    def go(x: Node) -> tuple:
        hit = memo.get(x)
        if hit is not None:
            return hit
        k = x[0]
        if k == "num":
            s = ("Z", None, None) if x[1] == 0 else SCALAR
        elif k == "var":
            r, c = decls[x[1]]["shape"]
            s = ("m", r, c)
        elif k == "I":
            s = ("I",)
        elif k in ("add", "sub"):
            s = _sum(go(x[1]), go(x[2]), fail)
        elif k == "neg":
            s = go(x[1])
        elif k == "mul":
            s = _prod(go(x[1]), go(x[2]), fail)
        elif k == "had":
            s = _sum(go(x[1]), go(x[2]), fail)
        elif k == "kron":
            a, b = _fixed(go(x[1]), fail, "kron"), _fixed(go(x[2]), fail, "kron")
            s = ("m", _dprod(a[1], b[1]), _dprod(a[2], b[2]))
        elif k == "div":
            den = go(x[2])
            if den[0] == "Z":
                fail("division by 0")
            if den[0] == "m" and not _is_scalar(den):
                fail(f"division by a {_shape_str(den)} matrix: '/' needs a 1×1 divisor")
            s = go(x[1])
        elif k == "T":
            a = go(x[1])
            s = a if a[0] == "I" else (a[0], a[2], a[1])
        elif k == "pow":
            a = go(x[1])
            if a[0] != "I" and None not in (a[1], a[2]) and a[1] != a[2]:
                fail(f"power of a {_shape_str(a)} matrix: it must be square")
            if a[0] == "Z" and x[2] < 0:
                fail("inverse of 0")
            if a[0] == "Z":
                k0 = a[1] if a[1] is not None else a[2]
                a = ("Z", k0, k0)
                if x[2] == 0:
                    a = ("I",) if k0 is None else ("m", k0, k0)
            s = ("I",) if x[2] == 0 and a[0] == "I" else a
        elif k == "fn":
            a = go(x[2])
            name = x[1]
            if name == "d":
                s = ("Z", None, None) if a[0] == "I" else a
            elif name in ("tr", "det"):
                if a[0] == "I" or (a[0] == "Z" and a[1] is None and a[2] is None):
                    fail(f"{name}() of {_shape_str(a)}: nothing fixes its size")
                if None not in (a[1], a[2]) and a[1] != a[2]:
                    fail(f"{name}() of a {_shape_str(a)} matrix: it must be square")
                s = SCALAR
            elif name in BEYOND or name == "log" and not (a[0] == "I" or a == SCALAR or a[0] == "Z"):
                a = _fixed(a, fail, name)
                if name == "diag" and a[2] != 1:
                    fail(f"diag() of a {_shape_str(a)} matrix: it needs a column vector")
                s = {"vec": ("m", _dprod(a[1], a[2]), 1), "diag": ("m", a[1], a[1]),
                     "sum": SCALAR}.get(name, a)
            elif name == "log":
                if a[0] == "I" or (a[0] == "m" and not _is_scalar(a)) or \
                        (a[0] == "Z" and (a[1] not in (1, None) or a[2] not in (1, None))):
                    fail(f"log() of {_shape_str(a)}: log needs a 1×1 argument")
                s = SCALAR
            else:
                fail(f"unknown function {name}")
        else:
            raise AssertionError(k)
        memo[x] = s
        return s

    try:
        return go(e)
    except RecursionError:
        raise OracleError("limit", "the expression nests too deeply") from None


def _dprod(a, b):
    """The product of two dimensions (ints, symbols or products), as one canonical value."""
    fs = [f for x in (a, b) for f in (x[1:] if isinstance(x, tuple) else (x,))]
    k = 1
    for f in fs:
        if isinstance(f, int):
            k *= f
    syms = sorted(f for f in fs if isinstance(f, str))
    if not syms:
        return k
    if k == 1 and len(syms) == 1:
        return syms[0]
    return ("·",) + ((k,) if k != 1 else ()) + tuple(syms)


def _fixed(a, fail, what):
    """A shape whose size is fixed: an ("m", r, c) (a zero of known shape counts)."""
    if a[0] == "m":
        return a
    if a[0] == "Z" and a[1] is not None and a[2] is not None:
        return ("m", a[1], a[2])
    fail(f"{what}() of {_shape_str(a)}: nothing fixes its size")


def _merge(x, y, fail, what):
    if x is None:
        return y
    if y is not None and x != y:
        fail(what)
    return x


def _sum(a, b, fail):
    what = f"sum of {_shape_str(a)} and {_shape_str(b)}"
    if a[0] == "Z" and b[0] == "Z":
        return ("Z", _merge(a[1], b[1], fail, what), _merge(a[2], b[2], fail, what))
    if a[0] == "Z" or b[0] == "Z":
        z, m = (a, b) if a[0] == "Z" else (b, a)
        if m[0] == "I":
            k0 = _merge(z[1], z[2], fail, what)
            return ("I",) if k0 is None else ("m", k0, k0)
        _merge(z[1], m[1], fail, what)
        _merge(z[2], m[2], fail, what)
        return m
    if a[0] == "I" and b[0] == "I":
        return a
    if a[0] == "I" or b[0] == "I":
        m = b if a[0] == "I" else a
        if m[1] != m[2]:
            fail(f"sum of c·I and a {_shape_str(m)} matrix: it must be square")
        return m
    if a != b:
        fail(f"sum of a {_shape_str(a)} and a {_shape_str(b)} matrix")
    return a


def _prod(a, b, fail):
    if a[0] == "Z" or b[0] == "Z":
        # the zero matrix of the product: rows from the left factor, cols from the right one
        # (a 1×1 or c·I factor only scales)
        if a[0] == "Z" and b[0] == "Z":
            return ("Z", a[1], b[2])
        if a[0] == "Z":
            if b[0] == "I" or _is_scalar(b):
                return a
            return ("Z", a[1], b[2])
        if a[0] == "I" or _is_scalar(a):
            return b
        return ("Z", a[1], b[2])
    if a[0] == "I" or b[0] == "I":
        other = b if a[0] == "I" else a
        return ("I",) if other[0] == "I" or _is_scalar(other) else other
    if a[2] == b[1]:
        return ("m", a[1], b[2])
    if _is_scalar(a):
        return b
    if _is_scalar(b):
        return a
    fail(f"product of a {_shape_str(a)} and a {_shape_str(b)} matrix")


def compatible(a, b) -> bool:
    """Can a value of shape a equal one of shape b?"""
    def ok(x, y):
        return x is None or y is None or x == y

    if a[0] == "Z" or b[0] == "Z":
        z, m = (a, b) if a[0] == "Z" else (b, a)
        if m[0] == "I":
            return ok(z[1], z[2])
        return ok(z[1], m[1]) and ok(z[2], m[2])
    if a[0] == "I" and b[0] == "I":
        return True
    if a[0] == "I" or b[0] == "I":
        m = b if a[0] == "I" else a
        return m[1] == m[2]
    return a == b


def d_depth(e: Node) -> int:
    """How deeply `d` nests: the order of the Taylor polynomials needed."""
    k = e[0]
    if k in ("num", "var", "I"):
        return 0
    if k == "fn":
        return d_depth(e[2]) + (1 if e[1] == "d" else 0)
    if k == "pow":
        return d_depth(e[1])
    return max(d_depth(c) for c in e[1:] if isinstance(c, tuple))


def _nested_log(e: Node, inside: bool = False) -> bool:
    if e[0] == "fn" and e[1] == "log":
        if inside:
            return True
        inside = True
    return any(_nested_log(c, inside) for c in e[1:] if isinstance(c, tuple))


def _var_names(e: Node) -> set[str]:
    out: set[str] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if x[0] == "var":
            out.add(x[1])
        else:
            stack.extend(c for c in x[1:] if isinstance(c, tuple))
    return out


def dimension_symbols(decls: Mapping[str, dict]) -> list[str]:
    return sorted({x for v in decls.values() for x in v["shape"] if isinstance(x, str)})


# =============================================================================================
# Exact evaluation at one point
# =============================================================================================
# A value is a Taylor polynomial in t, truncated after t^K: a list of K + 1 DomainMatrix
# coefficients ("M", [A0, A1, …]), or ("S", [c0, c1, …]) for c·I with no size of its own, or
# ("Z", rows, cols) for a zero matrix with a dimension not yet known (None); a zero whose
# dimensions are both known becomes an ordinary ("M", …) value.


def _coprime_base(nums: Iterable[int]) -> tuple[int, ...]:
    """A set of pairwise coprime integers > 1 of which every given number is a product."""
    base = {abs(x) for x in nums if abs(x) > 1}
    changed = True
    while changed:
        changed = False
        items = sorted(base)
        for i, j in itertools.combinations(range(len(items)), 2):
            a, b = items[i], items[j]
            g = gcd(a, b)
            if g > 1:
                base.discard(a)
                base.discard(b)
                base.update(x for x in (a // g, b // g, g) if x > 1)
                changed = True
                break
    return tuple(sorted(base))


def _exponents(n: int, base: tuple[int, ...]) -> list[int] | None:
    """n as a product of powers of the base, or None."""
    out = []
    for b in base:
        e = 0
        while n % b == 0:
            n //= b
            e += 1
        out.append(e)
    return out if n == 1 else None


def _dsize(x, dims) -> int:
    """A dimension's size at these sizes of the symbols."""
    if isinstance(x, int):
        return x
    if isinstance(x, str):
        return dims[x]
    out = 1
    for f in x[1:]:
        out *= f if isinstance(f, int) else dims[f]
    return out


class _Point:
    """The values of every variable and direction at one point, and the evaluator."""

    def __init__(self, decls, dims: dict[str, int], values: dict, directions: dict, K: int,
                 base: tuple[int, ...] = (), exact_logs: bool = False):
        self.decls, self.dims, self.K, self.base = decls, dims, K, base
        if base and exact_logs:
            self.syms = sympy.symbols(f"L0:{len(base)}")
            self.D = QQ.frac_field(*self.syms)
            self.L = list(self.D.gens)
        else:
            # log(b) for a base element b stands for itself in QQ(L_b, ...); the fast pass
            # puts a large random integer (fixed by b) in its place. Sides equal as rational
            # functions of the L_b agree there; sides that differ disagree there except with
            # probability about degree / 2^62 (Schwartz-Zippel), and a difference is then
            # re-checked with the exact symbols.
            self.D = QQ
            self.L = [QQ(random.Random(b * 7919 + 1).randint(2**61, 2**62)) for b in base]
        self.values, self.directions = values, directions
        self.memo: dict[Node, tuple] = {}

    # -- helpers ------------------------------------------------------------------------------
    def size(self, x) -> int:
        return _dsize(x, self.dims)

    def mat(self, rows: list[list[Fraction]]) -> DomainMatrix:
        D = self.D
        return DomainMatrix([[D.convert(QQ(v.numerator, v.denominator)) for v in row]
                             for row in rows], (len(rows), len(rows[0])), D)

    def zeros(self, r: int, c: int) -> DomainMatrix:
        return DomainMatrix.zeros((r, c), self.D)

    def scal(self, c) -> DomainMatrix:
        return DomainMatrix([[c]], (1, 1), self.D)

    def sconv(self, a: list, b: list) -> list:
        D, K = self.D, self.K
        out = []
        for k in range(K + 1):
            acc = D.zero
            for i in range(k + 1):
                if a[i] and b[k - i]:
                    acc = acc + a[i] * b[k - i]
            out.append(acc)
        return out

    def srecip(self, a: list) -> list:
        D = self.D
        if not a[0]:
            raise _Unusable("division by zero")
        b = [D.one / a[0]]
        for k in range(1, self.K + 1):
            acc = D.zero
            for j in range(1, k + 1):
                acc = acc + a[j] * b[k - j]
            b.append(-(b[0] * acc))
        return b

    def mprod(self, A: list, B: list) -> list:
        out = []
        for k in range(self.K + 1):
            acc = None
            for i in range(k + 1):
                term = A[i] * B[k - i]
                acc = term if acc is None else acc + term
            out.append(acc)
        return out

    def mscale(self, c: list, A: list) -> list:
        out = []
        for k in range(self.K + 1):
            acc = None
            for i in range(k + 1):
                term = A[k - i] * c[i]
                acc = term if acc is None else acc + term
            out.append(acc)
        return out

    def minv(self, A: list) -> list:
        try:
            B0 = A[0].inv()
        except DMNonInvertibleMatrixError:
            raise _Unusable("singular matrix") from None
        except ZeroDivisionError:
            raise _Unusable("singular matrix") from None
        out = [B0]
        for k in range(1, self.K + 1):
            acc = None
            for j in range(1, k + 1):
                term = A[j] * out[k - j]
                acc = term if acc is None else acc + term
            out.append(-(B0 * acc))
        return out

    def sdet(self, A: list) -> list:
        """det of a matrix polynomial, truncated: exact for the t⁰ part by SymPy, and by Laplace
        expansion along rows (memoised on the set of columns used) for the higher parts."""
        n = A[0].shape[0]
        if self.K == 0:
            return [A[0].det()]
        D = self.D
        rows = [a.to_list() for a in A]
        memo: dict[int, list] = {}
        one = [D.one] + [D.zero] * self.K

        def minor(mask: int) -> list:
            row = bin(mask).count("1")
            if row == n:
                return one
            hit = memo.get(mask)
            if hit is not None:
                return hit
            acc = [D.zero] * (self.K + 1)
            pos = 0
            for j in range(n):
                if mask >> j & 1:
                    continue
                entry = [rows[k][row][j] for k in range(self.K + 1)]
                if any(entry):
                    term = self.sconv(entry, minor(mask | 1 << j))
                    if pos % 2:
                        acc = [x - y for x, y in zip(acc, term)]
                    else:
                        acc = [x + y for x, y in zip(acc, term)]
                pos += 1
            memo[mask] = acc
            return acc

        out = minor(0)
        return out

    def slog(self, a: list) -> list:
        D = self.D
        c0 = a[0]
        r = self._rational(c0)
        if r is None:
            raise _Undecidable("log of a value that is not rational at the point")
        if r <= 0:
            raise _Unusable("log of a non-positive number")
        num, den = r.numerator, r.denominator
        en, ed = _exponents(num, self.base), _exponents(den, self.base)
        if en is None or ed is None:
            raise _Restart(_coprime_base(self.base + (num, den)))
        head = D.zero
        for i, (x, y) in enumerate(zip(en, ed)):
            if x != y:
                head = head + D.convert(QQ(x - y)) * self.L[i]
        out = [head] + [D.zero] * self.K
        if self.K:
            inv0 = D.one / c0
            u = [D.zero] + [x * inv0 for x in a[1:]]
            power = [D.one] + [D.zero] * self.K
            for m in range(1, self.K + 1):
                power = self.sconv(power, u)
                coef = D.convert(QQ((-1) ** (m + 1), m))
                out = [o + coef * p for o, p in zip(out, power)]
            out[0] = head
        return out

    def _rational(self, c) -> Fraction | None:
        if self.D is QQ:
            return Fraction(int(c.numerator), int(c.denominator))
        if c.numer.is_ground and c.denom.is_ground:
            v = self.D.to_sympy(c)
            if v.is_Rational:
                return Fraction(int(v.p), int(v.q))
        return None

    # -- evaluation ------------------------------------------------------------------------------
    def value(self, e: Node) -> tuple:
        hit = self.memo.get(e)
        if hit is None:
            hit = self._eval(e)
            self.memo[e] = hit
        return hit

    def _eval(self, e: Node) -> tuple:
        D, K = self.D, self.K
        k = e[0]
        if k == "num":
            if e[1] == 0:
                return ("Z", None, None)
            v = D.convert(QQ(e[1].numerator, e[1].denominator))
            return ("M", [self.scal(v)] + [self.scal(D.zero)] * K)
        if k == "I":
            return ("S", [D.one] + [D.zero] * K)
        if k == "var":
            name = e[1]
            X = self.mat(self.values[name])
            r, c = X.shape
            out = [X] + [self.zeros(r, c) for _ in range(K)]
            if K and name in self.directions:
                out[1] = self.mat(self.directions[name])
            return ("M", out)
        if k == "neg":
            v = self.value(e[1])
            if v[0] == "Z":
                return v
            return (v[0], [-x for x in v[1]])
        if k in ("add", "sub"):
            a, b = self.value(e[1]), self.value(e[2])
            if k == "sub":
                b = b if b[0] == "Z" else (b[0], [-x for x in b[1]])
            return self.plus(a, b)
        if k == "mul":
            return self.times(self.value(e[1]), self.value(e[2]))
        if k == "div":
            den = self.value(e[2])
            if den[0] == "Z":
                raise _Unusable("division by zero")
            s = den[1] if den[0] == "S" else [m.to_list()[0][0] for m in den[1]]
            return self.times(("S", self.srecip(s)), self.value(e[1]))
        if k == "T":
            v = self.value(e[1])
            if v[0] == "Z":
                return ("Z", v[2], v[1])
            if v[0] != "M":
                return v
            return ("M", [m.transpose() for m in v[1]])
        if k == "pow":
            v = self.value(e[1])
            p = e[2]
            if v[0] == "Z":
                k0 = v[1] if v[1] is not None else v[2]
                if p < 0:
                    raise _Unusable("inverse of 0")
                if p == 0:
                    return self.identity(k0)
                return self.zero(k0, k0)
            if p == 0:
                return self.identity(v[1][0].shape[0] if v[0] == "M" else None)
            if p < 0:
                v = ("S", self.srecip(v[1])) if v[0] == "S" else ("M", self.minv(v[1]))
                p = -p
            acc, base = None, v
            while p:
                if p & 1:
                    acc = base if acc is None else self.times(acc, base)
                p >>= 1
                if p:
                    base = self.times(base, base)
            return acc
        if k == "fn":
            name = e[1]
            v = self.value(e[2])
            if name == "d":
                if v[0] == "Z":
                    return v
                shifted = [x * (i + 1) for i, x in enumerate(v[1][1:])]
                if v[0] == "S":
                    return ("S", shifted + [D.zero])
                last = self.zeros(*v[1][0].shape)
                return ("M", shifted + [last])
            if v[0] == "Z":
                # the shape check fixed the size; only a 1×1 at this point can have hidden it
                # (`0 X` at n = 1), and tr, det of a zero matrix are 0 at every size anyway
                k0 = v[1] if v[1] is not None else v[2]
                v = self.zero(k0 or 1, k0 or 1)
            if v[0] == "S":  # likewise: c·I whose size only a 1×1 at this point hid
                v = ("M", [self.scal(c) for c in v[1]])
            A = v[1]
            if name == "tr":
                return ("M", [self.scal(self._trace(a)) for a in A])
            if name == "det":
                return ("M", [self.scal(c) for c in self.sdet(A)])
            if name == "log":
                return ("M", [self.scal(c) for c in self.slog([a.to_list()[0][0] for a in A])])
        raise AssertionError(k)

    def _trace(self, a: DomainMatrix):
        acc = self.D.zero
        for x in a.diagonal():
            acc = acc + x
        return acc

    def zero(self, r, c) -> tuple:
        if r is None or c is None:
            return ("Z", r, c)
        return ("M", [self.zeros(r, c) for _ in range(self.K + 1)])

    def identity(self, n) -> tuple:
        D = self.D
        if n is None:
            return ("S", [D.one] + [D.zero] * self.K)
        return ("M", [DomainMatrix.eye(n, D)] + [self.zeros(n, n) for _ in range(self.K)])

    def plus(self, a: tuple, b: tuple) -> tuple:
        if a[0] == "Z" and b[0] == "Z":
            return self.zero(a[1] if a[1] is not None else b[1],
                             a[2] if a[2] is not None else b[2])
        if a[0] == "Z" or b[0] == "Z":
            z, m = (a, b) if a[0] == "Z" else (b, a)
            if m[0] == "S":
                k0 = z[1] if z[1] is not None else z[2]
                if k0 is not None:
                    return self.plus(self.identity(k0), ("S", m[1]))
            return m
        if a[0] == "S" and b[0] == "S":
            return ("S", [x + y for x, y in zip(a[1], b[1])])
        if a[0] == "S" or b[0] == "S":
            s, m = (a, b) if a[0] == "S" else (b, a)
            n = m[1][0].shape[0]
            eye = DomainMatrix.eye(n, self.D)
            return ("M", [x + eye * c if c else x for x, c in zip(m[1], s[1])])
        return ("M", [x + y for x, y in zip(a[1], b[1])])

    def times(self, a: tuple, b: tuple) -> tuple:
        if a[0] == "Z" or b[0] == "Z":
            def rows_cols(v):
                if v[0] == "Z":
                    return v[1], v[2], False
                if v[0] == "S":
                    return None, None, True
                r, c = v[1][0].shape
                return r, c, (r, c) == (1, 1)
            r1, c1, s1 = rows_cols(a)
            r2, c2, s2 = rows_cols(b)
            if s1:
                return self.zero(r2, c2)
            if s2:
                return self.zero(r1, c1)
            return self.zero(r1, c2)
        if a[0] == "S" and b[0] == "S":
            return ("S", self.sconv(a[1], b[1]))
        if a[0] == "S" or b[0] == "S":
            s, m = (a, b) if a[0] == "S" else (b, a)
            if m[1][0].shape == (1, 1):
                return ("S", self.sconv(s[1], [x.to_list()[0][0] for x in m[1]]))
            return ("M", self.mscale(s[1], m[1]))
        A, B = a[1], b[1]
        (r1, c1), (r2, c2) = A[0].shape, B[0].shape
        if c1 == r2:
            return ("M", self.mprod(A, B))
        if (r1, c1) == (1, 1):
            return ("M", self.mscale([x.to_list()[0][0] for x in A], B))
        if (r2, c2) == (1, 1):
            return ("M", self.mscale([x.to_list()[0][0] for x in B], A))
        raise AssertionError("shape mismatch in a product (shape check missed it)")

    def at0(self, v: tuple, like: tuple) -> DomainMatrix:
        """The t⁰ part as a matrix; a value without a size of its own takes it from the other
        side (1×1 when neither side has one)."""
        if v[0] == "M":
            return v[1][0]
        dims = [None, None]
        for w in (v, like):
            if w[0] == "M":
                dims = list(w[1][0].shape)
                break
            if w[0] == "Z":
                dims = [w[1] if dims[0] is None else dims[0], w[2] if dims[1] is None else dims[1]]
        if v[0] == "S" or like[0] == "S":
            k0 = dims[0] if dims[0] is not None else dims[1]
            dims = [k0, k0]
        r, c = (1 if x is None else x for x in dims)
        if v[0] == "Z":
            return self.zeros(r, c)
        return DomainMatrix.eye(r, self.D) * v[1][0]

    def to_text(self, c) -> str:
        if self.D is QQ:
            return str(Fraction(int(c.numerator), int(c.denominator)))
        expr = self.D.to_sympy(c).subs({s: sympy.log(sympy.Integer(b))
                                        for s, b in zip(self.syms, self.base)})
        return str(expr)

    def numeric(self, c, digits: int = 60):
        if self.D is QQ:
            return sympy.Rational(int(c.numerator), int(c.denominator))
        expr = self.D.to_sympy(c).subs({s: sympy.log(sympy.Integer(b))
                                        for s, b in zip(self.syms, self.base)})
        return sympy.N(expr, digits)


# =============================================================================================
# Sizes and points
# =============================================================================================

GENERIC_SIZES = (2, 3, 4, 5, 6)
ALL_SIZES = (1, 2, 3, 4, 5, 6)


def size_schedule(symbols: list[str], seed: int = 0) -> list[tuple[dict[str, int], bool]]:
    """(assignment, generic) pairs in the order they are tried: generic ones (distinct sizes
    2..6) first, smallest first, then special ones (a size 1, or two symbols equal)."""
    s = len(symbols)
    if s == 0:
        return [({}, True)]
    if s <= 3:
        generic = list(itertools.permutations(GENERIC_SIZES, s))
    else:
        rng = random.Random(seed ^ 0x5EED)
        picks = set()
        for shift in range(len(GENERIC_SIZES)):  # every symbol meets every size
            picks.add(tuple(GENERIC_SIZES[(i + shift) % 5] for i in range(s)))
        while len(picks) < 40:
            picks.add(tuple(rng.choice(GENERIC_SIZES) for _ in range(s)))
        generic = [p for p in picks if len(set(p)) == s] + \
            [p for p in picks if len(set(p)) < s]
    generic.sort(key=lambda p: (max(p), sum(p), p))
    special: list[tuple] = []
    if s <= 2:
        special = [p for p in itertools.product(ALL_SIZES, repeat=s) if p not in generic]
    else:
        special = [tuple([k] * s) for k in ALL_SIZES]
        for i in range(s):
            for k in (1,):
                p = [GENERIC_SIZES[j % 5] for j in range(s)]
                p[i] = k
                special.append(tuple(p))
    special = [p for p in special if p not in generic]
    special.sort(key=lambda p: (max(p), sum(p), p))
    seen, out = set(), []
    for p, g in [(p, True) for p in generic] + [(p, False) for p in special]:
        if p in seen:
            continue
        seen.add(p)
        out.append((dict(zip(symbols, p)), g and len(set(p)) == s and min(p) >= 2))
    return out


def _draw(decls, dims: dict[str, int], varying: set[str], rng: random.Random, spread: int):
    values, directions = {}, {}
    for name in sorted(decls):
        info = decls[name]
        r, c = (x if isinstance(x, int) else dims[x] for x in info["shape"])
        targets = [values, directions] if name in varying else [values]
        for target in targets:
            m = [[Fraction(rng.randint(-spread, spread)) for _ in range(c)] for _ in range(r)]
            if info["symmetric"] and r == c:
                m = [[m[i][j] + m[j][i] for j in range(c)] for i in range(r)]
            target[name] = m
    return values, directions


def _fmt(rows: list[list[Fraction]]) -> list[list[str]]:
    return [[str(v) for v in row] for row in rows]


# =============================================================================================
# Judging
# =============================================================================================


@dataclass
class Verdict:
    status: str  # "true" | "false" | "undefined"
    reason: str = ""
    witness: dict = field(default_factory=dict)
    generic: bool = True  # for "false": the difference shows at a generic size assignment
    assignments: int = 0  # size assignments at which both sides were compared
    points: int = 0  # points evaluated

    def __bool__(self) -> bool:  # a Verdict is not a truth value; make misuse loud
        raise TypeError("use verdict.status")


def _decls_key(decls: Mapping[str, dict]) -> tuple:
    return tuple(sorted((n, v["shape"], v["constant"], v["symmetric"]) for n, v in decls.items()))


def judge(lhs_text: Any, rhs_text: Any, variables: Mapping[str, Any],
          varying: Iterable[str] | None = None, sizes: list[dict[str, int]] | None = None,
          seed: int = 0, points: int = 2, special: bool = True) -> Verdict:
    """Is lhs = rhs as functions of the variables' entries (and of the directions of the
    varying ones, for `d`)? See the module docstring. `variables` as in a proof file;
    `varying` defaults to every variable not declared constant; `sizes` replaces the size
    schedule by explicit assignments; `points` per assignment (the first draws entries in
    -3..3, the others in -99..99); `special=False` skips the non-generic assignments."""
    try:
        decls = read_variables(variables)
        names = frozenset(decls)
        lhs, rhs = parse(lhs_text, names), parse(rhs_text, names)
    except OracleError as exc:
        return Verdict("undefined", exc.message)
    return judge_trees(lhs, rhs, decls, varying, sizes=sizes, seed=seed, points=points,
                       special=special)


def judge_trees(lhs: Node, rhs: Node, decls: Mapping[str, dict],
                varying: Iterable[str] | None = None, sizes: list[dict[str, int]] | None = None,
                seed: int = 0, points: int = 2, special: bool = True) -> Verdict:
    """judge() on parsed trees with normalised declarations."""
    if varying is None:
        varying = {n for n, v in decls.items() if not v["constant"]}
    varying = set(varying) & set(decls)
    try:
        sl, sr = shape_of(lhs, decls), shape_of(rhs, decls)
    except OracleError as exc:
        return Verdict("undefined", exc.message)
    if not compatible(sl, sr):
        return Verdict("undefined", f"the sides have shapes {_shape_str(sl)} and "
                                    f"{_shape_str(sr)}")
    numeric = beyond(lhs) or beyond(rhs)
    if not numeric and (_nested_log(lhs) or _nested_log(rhs)):
        return Verdict("undefined", "a log inside a log cannot be compared exactly here")
    compare = _compare_numeric if numeric else _compare_at
    K = max(d_depth(lhs), d_depth(rhs))
    used_names = _var_names(lhs) | _var_names(rhs)
    decls = {n: v for n, v in decls.items() if n in used_names}
    varying = varying & used_names
    syms = dimension_symbols(decls)
    if sizes is not None:
        schedule = [(dict(a), all(a.get(s, 2) >= 2 for s in syms)
                     and len({a[s] for s in syms if s in a}) == len(syms)) for a in sizes]
    else:
        schedule = size_schedule(syms, seed)
        if not special:
            schedule = [x for x in schedule if x[1]]
    rng = random.Random(seed * 1_000_003 + 17)
    used, used_generic, npoints = 0, 0, 0
    reasons: list[str] = []
    for dims, generic in schedule:
        compared = False
        for p in range(points):
            spread = 3 if p == 0 else 99
            outcome = None
            for _attempt in range(12):
                values, directions = _draw(decls, dims, varying, rng, spread)
                try:
                    outcome = compare(lhs, rhs, decls, dims, values, directions, K)
                except (AssertionError, RecursionError) as exc:
                    return Verdict("undefined", f"oracle internal error: {exc!r}",
                                   assignments=used, points=npoints)
                except _Unusable as exc:
                    reasons.append(str(exc))
                    outcome = None
                    continue
                except _Undecidable as exc:
                    return Verdict("undefined", str(exc), assignments=used, points=npoints)
                break
            if outcome is None:
                continue
            npoints += 1
            compared = True
            if outcome is not True:
                witness = outcome
                return Verdict("false", "the sides differ", witness, generic=generic,
                               assignments=used + 1, points=npoints)
        if compared:
            used += 1
            used_generic += generic
    if not used_generic:
        why = max(set(reasons), key=reasons.count) if reasons else "no size assignment"
        return Verdict("undefined", f"no usable point at a generic size ({why})",
                       assignments=used, points=npoints)
    return Verdict("true", "equal at every point tried", assignments=used, points=npoints)


def _compare_at(lhs, rhs, decls, dims, values, directions, K):
    """True when both sides agree at this point; otherwise a witness dict."""
    base: tuple[int, ...] = ()
    exact = False
    for _round in range(40):
        pt = _Point(decls, dims, values, directions, K, base, exact)
        try:
            lv, rv = pt.value(lhs), pt.value(rhs)
        except _Restart as exc:
            base = exc.base
            continue
        a, b = pt.at0(lv, rv), pt.at0(rv, lv)
        if a.shape != b.shape:
            raise AssertionError("shapes differ at a point (shape check missed it)")
        diff = (a - b).to_list()
        bad = [(i, j) for i, row in enumerate(diff) for j, x in enumerate(row) if x]
        if not bad:
            return True
        if base and not exact:
            exact = True  # the fast pass saw a difference: redo the point with exact logs
            continue
        if pt.D is not QQ:
            # a formal difference in the log symbols: confirm it numerically
            if all(abs(pt.numeric(diff[i][j])) < sympy.Float(10) ** -45 for i, j in bad):
                raise _Undecidable("the sides differ only by a relation between logarithms")
        return {"dims": dict(dims),
                "values": {n: _fmt(v) for n, v in values.items()},
                "directions": {n: _fmt(v) for n, v in directions.items()} if K else {},
                "lhs": [[pt.to_text(x) for x in row] for row in a.to_list()],
                "rhs": [[pt.to_text(x) for x in row] for row in b.to_list()],
                "entry": bad[0]}
    raise _Undecidable("too many distinct log arguments")


def show_witness(w: dict) -> str:
    """A readable witness for a report."""
    if not w:
        return "  (no witness)"
    lines = [f"  at sizes {w['dims']}:"]
    for n, v in w["values"].items():
        lines.append(f"    {n} = {v}")
    for n, v in w.get("directions", {}).items():
        lines.append(f"    d{n} = {v}")
    lines.append(f"    lhs = {w['lhs']}")
    lines.append(f"    rhs = {w['rhs']}")
    return "\n".join(lines)


# =============================================================================================
# Claims and proofs (as in proof files, SPEC §3)
# =============================================================================================


def claim_sides(proof: Mapping[str, Any]) -> tuple[str, str, set[str]] | None:
    """(lhs, rhs, varying) of a proof file's claim: an identity as written; a derivative
    ∂f/∂X = G as d(f) = tr(G dX) (tr(G^T dX) in denominator layout), with X alone varying.
    None for a derivative claim without `equals`."""
    decls = proof.get("variables") or {}
    claim = proof.get("claim") or {}
    if "derivative" in claim:
        if claim.get("equals") is None:
            return None
        wrt = str(claim["wrt"])
        g = f"({claim['equals']})"
        if proof.get("layout") == "denominator":
            g = f"({g})^T"
        return f"d({claim['derivative']})", f"tr({g} d({wrt}))", {wrt}
    varying = {n for n, v in decls.items() if not (v or {}).get("constant", False)}
    return str(claim["lhs"]), str(claim["rhs"]), varying


def _g_shape_problem(proof: Mapping[str, Any], g_text: Any) -> str | None:
    """A derivative G of f w.r.t. an r×c X is c×r (numerator layout; r×c in denominator
    layout): the reason it is not, or None."""
    claim = proof.get("claim") or {}
    try:
        decls = read_variables(proof.get("variables") or {})
        wrt = str(claim["wrt"])
        r, c = decls[wrt]["shape"]
        g = shape_of(parse(g_text, frozenset(decls)), decls)
    except (OracleError, KeyError, TypeError, ValueError) as exc:
        return f"the derivative cannot be read: {exc}"
    want = ("m", r, c) if proof.get("layout") == "denominator" else ("m", c, r)
    if not compatible(g, want):
        return f"a derivative with respect to {wrt} must be {want[1]}×{want[2]}, not " \
               f"{_shape_str(g)}"
    return None


def judge_claim(proof: Mapping[str, Any], seed: int = 0, **kw) -> Verdict:
    """Is a proof file's claim true?"""
    sides = claim_sides(proof)
    if sides is None:
        return Verdict("undefined", "a derivative claim without `equals`")
    claim = proof.get("claim") or {}
    if "derivative" in claim:
        why = _g_shape_problem(proof, claim.get("equals"))
        if why:
            return Verdict("undefined", why)
    lhs, rhs, varying = sides
    return judge(lhs, rhs, proof.get("variables") or {}, varying, seed=seed, **kw)


def judge_links(proof: Mapping[str, Any], seed: int = 0, **kw) -> list[tuple[int, Verdict]]:
    """Every link of a proof file, judged: (step index, verdict) for the start against the
    claim's start (index 0), each step against the one before, a `derivative:` step's G
    against the line before (which must equal tr(G dX)), and for an identity the last line
    against `rhs` (index len(proof), one past the last step)."""
    decls = proof.get("variables") or {}
    claim = proof.get("claim") or {}
    sides = claim_sides(proof)
    steps = proof.get("proof") or []
    out: list[tuple[int, Verdict]] = []
    if sides is None:
        if "derivative" not in claim:
            return out
        start, varying = f"d({claim['derivative']})", {str(claim['wrt'])}
    else:
        start, _, varying = sides
    prev = None
    for i, st in enumerate(steps):
        if "derivative" in st:
            wrt = str(claim.get("wrt"))
            g = f"({st['derivative']})"
            if proof.get("layout") == "denominator":
                g = f"({g})^T"
            why = _g_shape_problem(proof, st["derivative"])
            if why:
                out.append((i, Verdict("undefined", why)))
            elif prev is not None:
                out.append((i, judge(prev, f"tr({g} d({wrt}))", decls, varying, seed=seed, **kw)))
            prev = None
            continue
        text = str(st.get("expr"))
        ref = start if i == 0 else prev
        if ref is not None:
            out.append((i, judge(ref, text, decls, varying, seed=seed, **kw)))
        prev = text
    if "lhs" in claim and prev is not None:
        out.append((len(steps), judge(prev, claim["rhs"], decls, varying, seed=seed, **kw)))
    return out


# =============================================================================================
# Beyond the trace: ∘, ⊗, vec, diag, sum and the real entrywise functions (numeric)
# =============================================================================================
# The exact evaluator above cannot hold exp(1) or sqrt(2). Trees with the newer notation are
# evaluated instead with mpmath at 60 significant digits, with the *real* functions (SymPy's
# exp, log, sqrt, tanh and 1/(1 + exp(-x)), differentiated by SymPy for the Taylor parts), so
# laws of one function (exp(a + b) = exp(a) exp(b)) are true here, as they are in fact. A value
# is ("S", [c0, …, cK]) for c·I with no size of its own (0 and I among them) or ("M", [A0, …,
# AK]) of mpmath matrices. Two sides agree when every entry differs by less than 10^-40 of
# their size; they differ when some entry differs by more than 10^-12 of it; in between (or at a
# log or sqrt of a non-positive number, redrawn) nothing is concluded.

import mpmath

_X = sympy.Symbol("x")
_REAL = {"exp": sympy.exp(_X), "log": sympy.log(_X), "sqrt": sympy.sqrt(_X),
         "sigmoid": 1 / (1 + sympy.exp(-_X)), "tanh": sympy.tanh(_X)}
_DERIV_CACHE: dict[tuple[str, int], Any] = {}


def _deriv(name: str, j: int):
    """The j-th derivative of the real function `name`, as an mpmath callable."""
    key = (name, j)
    if key not in _DERIV_CACHE:
        _DERIV_CACHE[key] = sympy.lambdify(_X, sympy.diff(_REAL[name], _X, j), "mpmath")
    return _DERIV_CACHE[key]


def beyond(e: Node) -> bool:
    """Does the tree use notation the exact evaluator does not have (∘, ⊗, vec, diag, sum, an
    entrywise function, a log of a matrix)?"""
    if e[0] in ("had", "kron") or e[0] == "fn" and e[1] in BEYOND:
        return True
    return any(beyond(c) for c in e[1:] if isinstance(c, tuple))


class _NumPoint:
    """One point, evaluated with mpmath: see the section comment."""

    def __init__(self, decls, dims, values, directions, K):
        self.decls, self.dims, self.K = decls, dims, K
        self.values, self.directions = values, directions
        self.memo: dict[Node, tuple] = {}
        self.shapes: dict[Node, tuple] = {}

    def shape(self, e: Node):
        """(rows, cols) of e at these sizes, or None where nothing fixes them."""
        if e not in self.shapes:
            s = shape_of(e, self.decls)
            if s[0] == "m" or s[0] == "Z" and None not in (s[1], s[2]):
                self.shapes[e] = (_dsize(s[1], self.dims), _dsize(s[2], self.dims))
            else:
                self.shapes[e] = None
        return self.shapes[e]

    def mat(self, rows):
        return mpmath.matrix([[mpmath.mpf(v.numerator) / v.denominator for v in row] for row in rows])

    def zeros(self, r, c):
        return mpmath.zeros(r, c)

    def full(self, v, size):
        """v as a matrix series of this size (c·I written out)."""
        if v[0] == "M":
            return v[1]
        if size is None:
            size = (1, 1)
        r, c = size
        out = []
        for x in v[1]:
            if r != c and x != 0:
                raise AssertionError("a multiple of I that is not square")
            m = mpmath.zeros(r, c)
            for i in range(min(r, c)):
                m[i, i] = x
            out.append(m)
        return out

    def sconv(self, a, b):
        return [sum((a[i] * b[k - i] for i in range(k + 1)), mpmath.mpf(0)) for k in range(self.K + 1)]

    def srecip(self, a):
        if a[0] == 0:
            raise _Unusable("division by zero")
        b = [1 / a[0]]
        for k in range(1, self.K + 1):
            b.append(-b[0] * sum((a[j] * b[k - j] for j in range(1, k + 1)), mpmath.mpf(0)))
        return b

    def sfn(self, name, a):
        """f(a0 + u) = Σ_j f^(j)(a0) u^j / j!, u = a - a0, truncated after t^K."""
        a0 = a[0]
        if name in ("log", "sqrt") and a0 <= 0:
            raise _Unusable(f"{name} of a non-positive number")
        out = [mpmath.mpf(0)] * (self.K + 1)
        u = [mpmath.mpf(0)] + list(a[1:])
        power = [mpmath.mpf(1)] + [mpmath.mpf(0)] * self.K
        for j in range(self.K + 1):
            c = _deriv(name, j)(a0) / mpmath.factorial(j)
            out = [o + c * p for o, p in zip(out, power)]
            power = self.sconv(power, u)
        return out

    def value(self, e: Node) -> tuple:
        if e not in self.memo:
            self.memo[e] = self._eval(e)
        return self.memo[e]

    def _entries(self, f, r, c):
        """The matrix series whose entry (i, j) is the scalar series f(i, j)."""
        out = [mpmath.zeros(r, c) for _ in range(self.K + 1)]
        for i in range(r):
            for j in range(c):
                for k, x in enumerate(f(i, j)):
                    out[k][i, j] = x
        return ("M", out)

    def _eval(self, e: Node) -> tuple:
        K, k = self.K, e[0]
        zero = [mpmath.mpf(0)] * (K + 1)
        if k == "num":
            return ("S", [mpmath.mpf(e[1].numerator) / e[1].denominator] + zero[1:])
        if k == "I":
            return ("S", [mpmath.mpf(1)] + zero[1:])
        if k == "var":
            X = self.mat(self.values[e[1]])
            out = [X] + [self.zeros(X.rows, X.cols) for _ in range(K)]
            if K and e[1] in self.directions:
                out[1] = self.mat(self.directions[e[1]])
            return ("M", out)
        if k == "neg":
            v = self.value(e[1])
            return (v[0], [-x for x in v[1]])
        if k in ("add", "sub"):
            a, b = self.value(e[1]), self.value(e[2])
            b = b if k == "add" else (b[0], [-x for x in b[1]])
            if a[0] == "S" and b[0] == "S":
                return ("S", [x + y for x, y in zip(a[1], b[1])])
            size = self.shape(e)
            return ("M", [x + y for x, y in zip(self.full(a, size), self.full(b, size))])
        if k in ("mul", "div"):
            a = self.value(e[1])
            b = self.value(e[2])
            if k == "div":
                den = b[1] if b[0] == "S" else [m[0, 0] for m in b[1]]
                b = ("S", self.srecip(den))
            return self.times(a, b)
        if k == "T":
            v = self.value(e[1])
            return v if v[0] == "S" else ("M", [m.T for m in v[1]])
        if k == "pow":
            v, p = self.value(e[1]), e[2]
            if p < 0:
                if v[0] == "S":
                    v = ("S", self.srecip(v[1]))
                else:
                    v = ("M", self.minv(v[1]))
                p = -p
            acc = ("S", [mpmath.mpf(1)] + zero[1:])
            for _ in range(p):
                acc = self.times(acc, v)
            return acc
        if k == "had":
            a, b = self.value(e[1]), self.value(e[2])
            if a[0] == "S" and b[0] == "S":
                return ("S", self.sconv(a[1], b[1]))
            size = self.shape(e)
            A, B = self.full(a, size), self.full(b, size)
            return self._entries(lambda i, j: self.sconv([m[i, j] for m in A], [m[i, j] for m in B]),
                                 A[0].rows, A[0].cols)
        if k == "kron":
            A = self.full(self.value(e[1]), self.shape(e[1]))
            B = self.full(self.value(e[2]), self.shape(e[2]))
            br, bc = B[0].rows, B[0].cols
            return self._entries(lambda i, j: self.sconv([m[i // br, j // bc] for m in A],
                                                         [m[i % br, j % bc] for m in B]),
                                 A[0].rows * br, A[0].cols * bc)
        if k == "fn":
            name, v = e[1], self.value(e[2])
            if name == "d":
                return (v[0], [x * (i + 1) for i, x in enumerate(v[1][1:])] +
                        [v[1][0] * 0])
            A = self.full(v, self.shape(e[2]))
            r, c = A[0].rows, A[0].cols
            if name == "tr":
                return ("S", [sum((m[i, i] for i in range(r)), mpmath.mpf(0)) for m in A])
            if name == "sum":
                return ("S", [sum((m[i, j] for i in range(r) for j in range(c)), mpmath.mpf(0))
                              for m in A])
            if name == "det":
                return ("S", self.sdet(A))
            if name == "vec":
                return self._entries(lambda i, j: [m[i % r, i // r] for m in A], r * c, 1)
            if name == "diag":
                return self._entries(lambda i, j: [m[i, 0] if i == j else mpmath.mpf(0) for m in A], r, r)
            if name in ENTRYWISE:
                return self._entries(lambda i, j: self.sfn(name, [m[i, j] for m in A]), r, c)
        raise AssertionError(k)

    def scale(self, c, m):
        return ("M", [sum((m[k - i] * c[i] for i in range(k + 1)), self.zeros(m[0].rows, m[0].cols))
                      for k in range(self.K + 1)])

    def times(self, a, b):
        """As the shapes read a product: matching sides multiply, else a 1×1 scales."""
        if a[0] == "S" and b[0] == "S":
            return ("S", self.sconv(a[1], b[1]))
        if a[0] == "S" or b[0] == "S":
            s, m = (a, b) if a[0] == "S" else (b, a)
            return self.scale(s[1], m[1])
        A, B = a[1], b[1]
        if A[0].cols == B[0].rows:
            return ("M", [sum((A[i] * B[k - i] for i in range(k + 1)), self.zeros(A[0].rows, B[0].cols))
                          for k in range(self.K + 1)])
        if (A[0].rows, A[0].cols) == (1, 1):
            return self.scale([x[0, 0] for x in A], B)
        if (B[0].rows, B[0].cols) == (1, 1):
            return self.scale([x[0, 0] for x in B], A)
        raise AssertionError("shape mismatch in a product (shape check missed it)")

    def minv(self, A):
        try:
            if abs(mpmath.det(A[0])) < mpmath.mpf(10) ** -40:
                raise ZeroDivisionError
            B0 = A[0] ** -1
        except ZeroDivisionError:
            raise _Unusable("singular matrix") from None
        out = [B0]
        for k in range(1, self.K + 1):
            acc = sum((A[j] * out[k - j] for j in range(1, k + 1)), self.zeros(B0.rows, B0.cols))
            out.append(-(B0 * acc))
        return out

    def sdet(self, A):
        """det(A0 + A1 t + …) truncated after t^K: det(A(t)) is a polynomial of degree <= nK,
        interpolated at nK + 1 small points (60 digits hold its first coefficients)."""
        n = A[0].rows
        if self.K == 0:
            return [mpmath.det(A[0])]
        deg = n * self.K
        ts = [mpmath.mpf(j) / (deg + 1) for j in range(deg + 1)]
        vals = []
        for t in ts:
            M = sum((A[k] * t ** k for k in range(1, self.K + 1)), A[0].copy())
            vals.append(mpmath.det(M))
        V = mpmath.matrix([[t ** p for p in range(deg + 1)] for t in ts])
        coef = mpmath.lu_solve(V, mpmath.matrix(vals))
        return [coef[k] for k in range(self.K + 1)]


def _compare_numeric(lhs, rhs, decls, dims, values, directions, K):
    """True when both sides agree at this point (numerically, see above); a witness otherwise."""
    with mpmath.workdps(60):
        pt = _NumPoint(decls, dims, values, directions, K)
        lv, rv = pt.value(lhs), pt.value(rhs)
        if lv[0] == "S" and rv[0] == "S":
            a, b = mpmath.matrix([[lv[1][0]]]), mpmath.matrix([[rv[1][0]]])
        else:
            size = pt.shape(lhs) or pt.shape(rhs)
            a, b = pt.full(lv, size)[0], pt.full(rv, size)[0]
        if (a.rows, a.cols) != (b.rows, b.cols):
            raise AssertionError("shapes differ at a point (shape check missed it)")
        bad, unsure = [], False
        for i in range(a.rows):
            for j in range(a.cols):
                x, y = a[i, j], b[i, j]
                scale = max(mpmath.mpf(1), abs(x), abs(y))
                gap = abs(x - y) / scale
                if gap > mpmath.mpf(10) ** -12:
                    bad.append((i, j))
                elif gap > mpmath.mpf(10) ** -40:
                    unsure = True
        if unsure and not bad:
            raise _Undecidable("the sides differ by a rounding-sized amount")
        if not bad:
            return True
        txt = lambda m: [[mpmath.nstr(m[i, j], 15) for j in range(m.cols)] for i in range(m.rows)]
        return {"dims": dict(dims), "values": {n: _fmt(v) for n, v in values.items()},
                "directions": {n: _fmt(v) for n, v in directions.items()} if K else {},
                "lhs": txt(a), "rhs": txt(b), "entry": bad[0]}
