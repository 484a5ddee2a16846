"""One expression printer, three spellings: plain notation, Unicode and LaTeX.

Untrusted, like `latex.py`: it prints trees and decides nothing. The walk (`spell`) knows the
structure once: the precedence levels, loosest first, 0 sum, 1 unary minus, 2 product/quotient,
3 postfix, 4 atom, and where parentheses are needed so that what it prints reads back to the
same tree. A `Spelling` says only how each piece is written:

- `PLAIN`: the notation of SPEC §2, `a a^T`, `tr(X^-1 dX)`, `X^-T`. It prints exactly what the
  kernel's own printer (`kernel/printer.show`) prints; the kernel keeps that minimal printer
  because it imports nothing from the package, and `tests/test_spell.py` holds the two equal on
  random trees (docs/architecture.md, "Two printers").
- `UNICODE`: the same with `Xᵀ`, `X⁻¹`, `X⁻ᵀ` (which the parser also reads): for text where `^`
  cannot go, as KaTeX's `\\text{}`.
- `LATEX`: `X^{\\top}`, `X^{-1}`, `X^{-\\top}`, `\\operatorname{tr}`, `\\mathrm{d}X`, `\\frac`,
  thin spaces around a differential, `\\cdot` between digits. LaTeX draws two things the plain
  notation cannot: a quotient (and a rational such as 5/2) is a `\\frac`, which needs no
  parentheses as a factor, and a postfix applied to a postfix is bracketed, `(X^{\\top})^{-1}`,
  never a double superscript; so is a differential under a power, `(\\mathrm{d}X)^{2}`.

A new operator is added here once: a level in `_level`, a case in the walk, a field in
`Spelling` (or a row in `FUNCS` for a function), spelled for each target.
Read next: `latex.py` (LaTeX sheets), `display.py` (notebooks).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from .kernel.expr import Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num, Pow, Sym, T
from .kernel.printer import _num

SUM, NEG, PROD, POST, ATOM = range(5)

GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split())


def name_tex(name: str) -> str:
    """A variable or dimension name as LaTeX: `X`, `x1` → `x_{1}`, `X_0` → `X_{0}`,
    `alpha` → `\\alpha`, `Sigma_k` → `\\Sigma_{k}`, longer names upright-italic as one word.

    >>> name_tex("x1"), name_tex("Sigma_k"), name_tex("rows")
    ('x_{1}', '\\\\Sigma_{k}', '\\\\mathit{rows}')
    """
    base, _, sub = name.partition("_")
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", base)
    if m and not sub:
        base, sub = m.group(1), m.group(2)
    if base in GREEK:
        head = "\\" + base
    elif len(base) == 1:
        head = base
    else:
        head = "\\mathit{" + base + "}"
    if not sub:
        return head
    if len(sub) == 1 or sub.isdigit():
        return f"{head}_{{{sub}}}"
    sub = sub.replace("_", "\\_")
    return f"{head}_{{\\mathrm{{{sub}}}}}"


def _tex_num(v: Fraction) -> str:
    s = _num(v)
    return f"\\frac{{{v.numerator}}}{{{v.denominator}}}" if s.startswith("(") else s


def _tex_paren(s: str) -> str:
    # \left( \right) only around a fraction: elsewhere it would add space after tr, det and d
    return f"\\left({s}\\right)" if "\\frac" in s else f"({s})"


@dataclass(frozen=True)
class Spelling:
    """How one target writes each piece; the walk in `spell` decides the structure."""

    name: Callable[[str], str]  # a variable
    number: Callable[[Fraction], str]  # a literal
    funcs: dict[str, str]  # the head of each function (`d` is `differential`)
    differential: str  # d(X) is this + the name; d(A X) is this + (A X)
    transpose: str
    inverse: str
    inverse_transpose: str  # (X^-1)^T
    power: Callable[[int], str]
    paren: Callable[[str], str]
    fractions: bool  # a quotient, and a rational that is not a decimal, is drawn as a fraction
    stacked: bool  # a postfix on a postfix (or on a differential) is bracketed
    shorthand_clash: bool  # d(X) is written d(X) when `dX` is itself a declared name
    thin: str = " "  # between a differential and its neighbour in a product
    digits: str = " "  # before a factor that starts with a digit (or a fraction after one)
    fraction: Callable[[str, str], str] = lambda n, d: f"{n} / {d}"
    hadamard: str = " .* "  # U ∘ V, infix at the level of a product
    kron: str | None = None  # U ⊗ V infix; None: written as the function kron(U, V)
    sqrt: Callable[[str], str] | None = None  # drawn around its argument instead of f(·)

    def func(self, name: str) -> str:
        return self.funcs.get(name, name)


PLAIN = Spelling(
    name=str, number=_num, funcs={}, differential="d", transpose="^T", inverse="^-1",
    inverse_transpose="^-T", power=lambda k: f"^{k}", paren=lambda s: f"({s})",
    fractions=False, stacked=False, shorthand_clash=True)

UNICODE = Spelling(
    name=str, number=_num, funcs={}, differential="d", transpose="ᵀ", inverse="⁻¹",
    inverse_transpose="⁻ᵀ", power=lambda k: f"^{k}", paren=lambda s: f"({s})",
    fractions=False, stacked=False, shorthand_clash=True, hadamard=" ∘ ", kron=" ⊗ ")

LATEX = Spelling(
    name=name_tex, number=_tex_num,
    funcs={"tr": "\\operatorname{tr}", "det": "\\det", "log": "\\log", "exp": "\\exp",
           "tanh": "\\tanh", "sigmoid": "\\sigma", "vec": "\\operatorname{vec}",
           "diag": "\\operatorname{diag}", "sum": "\\operatorname{sum}"},
    differential="\\mathrm{d}", transpose="^{\\top}", inverse="^{-1}",
    inverse_transpose="^{-\\top}", power=lambda k: f"^{{{k}}}", paren=_tex_paren,
    fractions=True, stacked=True, shorthand_clash=False, thin=" \\, ", digits=" \\cdot ",
    fraction=lambda n, d: f"\\frac{{{n}}}{{{d}}}", hadamard=" \\circ ", kron=" \\otimes ",
    sqrt=lambda s: f"\\sqrt{{{s}}}")


def _is_d(e: Expr) -> bool:
    return isinstance(e, Func) and e.name == "d"


def _spaced(e: Expr) -> bool:
    """A differential factor (dX or dX^T), set off by `thin` in a product."""
    return _is_d(e) or (isinstance(e, T) and _is_d(e.arg))


class _Walk:
    def __init__(self, sp: Spelling, names: frozenset[str] | set[str]):
        self.sp, self.names = sp, names

    def is_frac(self, e: Expr) -> bool:
        """Drawn as a fraction (LaTeX): a quotient, or a literal that is not a decimal."""
        return self.sp.fractions and (
            isinstance(e, Div) or (isinstance(e, Num) and _num(e.value).startswith("(")))

    def level(self, e: Expr) -> int:
        if isinstance(e, Add):
            return SUM
        if isinstance(e, Neg):
            return NEG
        if isinstance(e, (Mul, Div, Had)) or self.is_frac(e):
            return PROD
        if isinstance(e, Kron) and self.sp.kron is not None:
            return PROD
        if isinstance(e, (T, Inv, Pow)):
            return POST
        return ATOM

    def _symbol_op(self, e: Expr) -> bool:
        """A ∘ or ⊗ drawn as a symbol (not plain `.*`, which the kernel's printer leaves bare
        as the first factor of a product)."""
        return self.sp.kron is not None and isinstance(e, (Had, Kron))

    def at(self, e: Expr, level: int) -> str:
        s = self.go(e)
        return self.sp.paren(s) if self.level(e) < level else s

    def base(self, e: Expr, transposed: bool = False) -> str:
        """The operand of a postfix. Plain: bracketed below postfix. Stacked (LaTeX): anything
        but an atom, so superscripts never stack, and a differential but under a transpose:
        (dX)^2 is not d(X^2), while dX^T means the same either way."""
        if not self.sp.stacked:
            return self.at(e, POST)
        s = self.go(e)
        if self.level(e) < ATOM or (_is_d(e) and not transposed):
            return self.sp.paren(s)
        return s

    def terms(self, e: Add) -> list[str]:
        """The terms of a sum as printed: the first, then each with its sign, `+ B`, `- C`."""
        return [self.at(e.args[0], NEG)] + [
            f"- {self.at(t.arg, PROD)}" if isinstance(t, Neg) else f"+ {self.at(t, PROD)}"
            for t in e.args[1:]]

    def go(self, e: Expr) -> str:
        sp = self.sp
        if isinstance(e, Num):
            return sp.number(e.value)
        if isinstance(e, Sym):
            return sp.name(e.name)
        if isinstance(e, Ident):
            return "I"
        if isinstance(e, Add):
            return " ".join(self.terms(e))
        if isinstance(e, Neg):
            return "-" + self.at(e.arg, NEG)
        if isinstance(e, Mul):
            first = e.args[0]
            out, prev = (self.sp.paren(self.go(first)) if self._symbol_op(first)
                         else self.at(first, PROD)), first
            for f in e.args[1:]:
                s = self.go(f) if self.is_frac(f) else self.at(f, POST)
                if s[:1].isdigit() or (self.is_frac(f) and out[-1:].isdigit()):
                    out += sp.digits + s  # 2 \cdot 3, X \cdot 2: juxtaposed digits would merge
                elif _spaced(f) or _spaced(prev):
                    out += sp.thin + s
                else:
                    out += " " + s
                prev = f
            return out
        if isinstance(e, Div):
            if sp.fractions:
                return sp.fraction(self.go(e.num), self.go(e.den))
            return sp.fraction(self.at(e.num, PROD), self.at(e.den, POST))
        if isinstance(e, (Had, Kron)):
            if isinstance(e, Kron) and sp.kron is None:
                return f"kron({self.go(e.left)}, {self.go(e.right)})"
            op = sp.hadamard if isinstance(e, Had) else sp.kron
            if sp.kron is None:  # plain: as the kernel reads it, left to right like a product
                return self.at(e.left, PROD) + op + self.at(e.right, POST)
            # ∘ and ⊗ drawn as symbols: a product beside one is bracketed, (A B) ∘ X, so that
            # no reader takes A B ∘ X for A (B ∘ X); a chain of one of them is not
            left = self.go(e.left) if type(e.left) is type(e) else self.at(e.left, POST)
            return left + op + self.at(e.right, POST)
        if isinstance(e, T) and isinstance(e.arg, Inv):
            return self.base(e.arg.arg) + sp.inverse_transpose
        if isinstance(e, T):
            return self.base(e.arg, transposed=True) + sp.transpose
        if isinstance(e, Inv):
            return self.base(e.arg) + sp.inverse
        if isinstance(e, Pow):
            return self.base(e.arg) + sp.power(e.k)
        if isinstance(e, Func):
            if e.name == "d":
                if isinstance(e.arg, Sym) and not (
                        sp.shorthand_clash and "d" + e.arg.name in self.names):
                    return sp.differential + sp.name(e.arg.name)
                return sp.differential + sp.paren(self.go(e.arg))
            if e.name == "sqrt" and sp.sqrt is not None:
                return sp.sqrt(self.go(e.arg))
            return sp.func(e.name) + sp.paren(self.go(e.arg))
        raise TypeError(f"cannot print {type(e).__name__}")


def spell(e: Expr, sp: Spelling = PLAIN, names: frozenset[str] | set[str] = frozenset()) -> str:
    r"""e in the spelling `sp`. `names` are the declared variables: the plain and Unicode
    spellings write d(X) as `dX` unless `dX` is one of them.

    >>> from .kernel.parser import parse
    >>> e = parse("-(X^-1)^T dX X^-1 + tr(A^T X) / 2", {"X", "A"})
    >>> spell(e)
    '-X^-T dX X^-1 + tr(A^T X) / 2'
    >>> spell(e, UNICODE)
    '-X⁻ᵀ dX X⁻¹ + tr(Aᵀ X) / 2'
    >>> print(spell(e, LATEX))
    -X^{-\top} \, \mathrm{d}X \, X^{-1} + \frac{\operatorname{tr}(A^{\top} X)}{2}
    """
    return _Walk(sp, names).go(e)


def sum_terms(e: Expr, sp: Spelling = PLAIN,
              names: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The top-level terms of e as `spell` prints them (`["A", "+ B", "- C"]`), one item when e
    is not a sum: where a long line may break."""
    w = _Walk(sp, names)
    return w.terms(e) if isinstance(e, Add) else [w.go(e)]


def plain(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    return spell(e, PLAIN, names)


def unicode(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    return spell(e, UNICODE, names)


def latex(e: Expr, names: frozenset[str] | set[str] = frozenset()) -> str:
    r"""The expression as LaTeX math (for `$…$`, `\[…\]` or `align*`).

    >>> from .kernel.parser import parse
    >>> print(latex(parse("tr(X^-1 dX) + det(A^T)^2 / 2", {"X", "A"})))
    \operatorname{tr}(X^{-1} \, \mathrm{d}X) + \frac{\det(A^{\top})^{2}}{2}
    >>> print(latex(parse("-(X^T)^-1 (a + b) / c", {"X", "a", "b", "c"})))
    -\frac{(X^{\top})^{-1} (a + b)}{c}
    """
    return spell(e, LATEX, names)


def level(e: Expr, sp: Spelling = PLAIN) -> int:
    """The precedence level of e's outermost operator in the spelling `sp` (SUM … ATOM)."""
    return _Walk(sp, frozenset()).level(e)
