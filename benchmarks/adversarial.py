"""Adversarial false claims, aimed at the shortcuts a checker may take (not a test).

Each generator yields complete proof files (SPEC §3: variables, claim, proof) whose claim is
FALSE, written to slip past a checker that

1. `small-sizes`: tries too few sizes — identities that hold up to size k only (k = 2..5):
   products of size-counting factors, Cayley–Hamilton for 2×2 … 5×5 in every form (plain,
   multiplied by other matrices, inside traces, with inverses and adjugates, as a derivative),
   Newton's identities, `det(c X) = c^k det(X)`, `det(-X) = ±det(X)`; under several dimension
   symbol names and with rectangular variables;
2. `size-scalars`: reads `tr(I)`-like scalars at one fixed size: `tr(X X^-1)`, `tr(X^0)`,
   `det(c X X^-1)` compared with fixed numbers, at symbolic and declared integer sizes;
3. `huge-literals`: computes modulo a word-sized prime or in floating point: literals ≡ 1
   modulo 2^61 − 1, 2^64 − 59, 2^63 − 25, 2^31 − 1, 2^127 − 1, products of literals reaching
   2^61, a literal ≡ 0, decimals that round alike in float64; with inverses and det, at sizes
   2..6 (declared as integers too);
4. `start-end`: checks the start line or the last line less carefully than a rewrite: a
   derivative proof starting from a "fingerprint-equal" but different `d(...)`, identity proofs
   of one line, a last line off by a 1×1-versus-c·I confusion;
5. `batch`: decides several steps at once: one false step hidden among many true ones (with
   matrix, vector and rectangular results), and false derivative claims reached through
   ordinary rules.

Every claim is confirmed FALSE by the independent oracle (`oracle.py`, which shares no code with
the kernel) before it is counted; claims the oracle cannot confirm are dropped. A claim counts
as confirmed only if the difference shows at a generic size assignment (distinct dimension
symbols, sizes at least 2), so no reading of dimension symbols can excuse accepting it.

    python benchmarks/adversarial.py --list          # print every generated claim
    python benchmarks/mutation.py --adversarial      # run them through the kernel
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import yaml

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import oracle as O  # noqa: E402


@dataclass
class Claim:
    generator: str
    name: str
    text: str  # the proof file
    aim: str = ""  # the shortcut it is aimed at
    false_links: list[int] = field(default_factory=list)  # filled in by confirm()
    verdict: O.Verdict | None = None


# =============================================================================================
# Writing proof files
# =============================================================================================


def q(s: str) -> str:
    """A YAML scalar for an expression (double-quoted; JSON strings are YAML)."""
    return json.dumps(s, ensure_ascii=False)


def proof_file(theorem: str, variables: dict[str, dict], claim: dict[str, str],
               steps: list[tuple[str, object]], layout: str | None = None,
               title: str = "") -> str:
    """A proof file. `steps` holds (expr, by) pairs; an expr starting with 'derivative:' is a
    final derivative step; `by` is None, a rule id, or a list of rule ids."""
    out = [f"theorem: {theorem}"]
    if title:
        out.append(f"title: {q(title)}")
    if layout:
        out.append(f"layout: {layout}")
    out.append("variables:")
    for name, decl in variables.items():
        parts = []
        shape = decl.get("shape", "scalar")
        parts.append("shape: scalar" if shape == "scalar"
                     else f"shape: [{shape[0]}, {shape[1]}]")
        for flag in ("constant", "symmetric", "invertible"):
            if decl.get(flag):
                parts.append(f"{flag}: true")
        out.append(f"  {name}: {{{', '.join(parts)}}}")
    out.append("claim:")
    for key, val in claim.items():
        out.append(f"  {key}: {q(val) if key != 'wrt' else val}")
    out.append("proof:")
    for expr, by in steps:
        if expr.startswith("derivative:"):
            out.append(f"  - derivative: {q(expr[len('derivative:'):].strip())}")
        else:
            out.append(f"  - expr: {q(expr)}")
        if by is not None:
            if isinstance(by, (list, tuple)):
                out.append(f"    by: [{', '.join(by)}]")
            else:
                out.append(f"    by: {by}")
    return "\n".join(out) + "\n"


def identity(theorem: str, variables: dict, lhs: str, rhs: str,
             middle: list[tuple[str, object]] | None = None, by: object = "algebra") -> str:
    """lhs = rhs, proved in one step (or through `middle`)."""
    steps = [(lhs, None)] + (middle or []) + [(rhs, by)]
    return proof_file(theorem, variables, {"lhs": lhs, "rhs": rhs}, steps)


def sq(dim) -> dict:
    return {"shape": [dim, dim]}


def const(decl: dict) -> dict:
    return dict(decl, constant=True)


def inv(decl: dict) -> dict:
    return dict(decl, invertible=True)


# =============================================================================================
# Building blocks: Newton's identities, Cayley–Hamilton, adjugates
# =============================================================================================


def p(X: str, j: int) -> str:
    """The power sum p_j = tr(X^j)."""
    return f"tr({X})" if j == 1 else f"tr({X}^{j})"


def elementary(X: str, k: int) -> str:
    """e_k(X) written with traces of powers (Newton's identities), as a polynomial in the p_j
    with rational coefficients: exact for every n (e_k = 0 when k > n)."""
    # expand e_k = (1/k) Σ_{i=1..k} (-1)^{i-1} e_{k-i} p_i as a dict {tuple of p indices: coef}
    polys: list[dict[tuple, Fraction]] = [{(): Fraction(1)}]
    for m in range(1, k + 1):
        acc: dict[tuple, Fraction] = {}
        for i in range(1, m + 1):
            sign = Fraction((-1) ** (i - 1), m)
            for mono, c in polys[m - i].items():
                key = tuple(sorted(mono + (i,)))
                acc[key] = acc.get(key, Fraction(0)) + sign * c
        polys.append({mono: c for mono, c in acc.items() if c})
    terms = []
    for mono, c in sorted(polys[k].items(), key=lambda mc: (len(mc[0]), mc[0])):
        factor = " ".join(p(X, j) for j in mono)
        terms.append((c, factor))
    return _sum_text(terms)


def _sum_text(terms: list[tuple[Fraction, str]]) -> str:
    """c1 f1 + c2 f2 - … with integer coefficients, or `a f / b` for a rational a/b."""
    out = ""
    for c, f in terms:
        a = abs(c)
        if a.denominator == 1:
            body = f if a == 1 else f"{a.numerator} {f}"
        else:
            body = f"{f} / {a.denominator}" if a.numerator == 1 else \
                f"{a.numerator} {f} / {a.denominator}"
        if not out:
            out = ("-" if c < 0 else "") + body
        else:
            out += f" {'-' if c < 0 else '+'} {body}"
    return out or "0"


def cayley_hamilton(X: str, k: int, use_det: bool = False) -> str:
    """Σ_j (-1)^j e_j X^(k-j): the zero matrix for k×k X (and smaller), not for larger.
    With use_det the last coefficient is det(X) instead of e_k (then true at n = k only)."""
    terms = [f"{X}^{k}" if k > 1 else X]
    for j in range(1, k + 1):
        power = "" if j == k else (f" {X}" if k - j == 1 else f" {X}^{k - j}")
        e = "det(" + X + ")" if (use_det and j == k) else elementary(X, j)
        coef = f"({e})" if (" + " in e or " - " in e or e.startswith("-")) else e
        if j == k:
            body = f"{coef} I"
        else:
            body = f"{coef}{power}"
        terms.append(("-" if j % 2 else "+") + " " + body)
    return " ".join(terms)


def adjugate(X: str, k: int) -> str:
    """adj(X) for k×k X by Cayley–Hamilton: Σ_{j<k} (-1)^(k-1-j) e_j X^(k-1-j)."""
    terms = []
    for j in range(0, k):
        power = k - 1 - j
        mat = "I" if power == 0 else (X if power == 1 else f"{X}^{power}")
        sign = "-" if (k - 1 - j) % 2 else "+"
        if j == 0:
            body = mat
        else:
            e = elementary(X, j)
            coef = f"({e})" if (" + " in e or " - " in e or e.startswith("-")) else e
            body = f"{coef} {mat}"
        terms.append((sign, body))
    out = ""
    for sign, body in terms:
        if not out:
            out = ("-" if sign == "-" else "") + body
        else:
            out += f" {sign} {body}"
    return out


# =============================================================================================
# 1. Identities true only up to (or only at) some size
# =============================================================================================

DIMS = ["n", "m", "p", "k"]


def gen_small_sizes() -> Iterator[Claim]:
    g = "small-sizes"
    for dim in DIMS:
        other = "q" if dim != "q" else "r"
        V = {"X": sq(dim), "A": const(sq(dim)), "B": const(sq(dim)), "a": const({"shape": [dim, 1]}),
             "Y": const({"shape": [dim, other]})}
        # products of (det(2X) - 2^j det(X)): zero for n = 2..k only
        for k in (2, 3, 4, 5):
            f = " ".join(f"(det(2 X) - {2 ** j} det(X))" for j in range(2, k + 1))
            yield Claim(g, f"det-scaling-{k}-{dim}", identity("t", V, f, "0"),
                        f"zero for sizes 2..{k} only")
            yield Claim(g, f"det-scaling-{k}-vec-{dim}", identity("t", V, f"{f} a", "0"),
                        f"n×1 result, zero for sizes 2..{k} only")
            yield Claim(g, f"det-scaling-{k}-rect-{dim}", identity("t", V, f"{f} Y", "0 Y"),
                        f"rectangular result, zero for sizes 2..{k} only")
        # (tr(I + X) - tr(X) - j) products: zero at the chosen sizes only
        for sizes in ((2, 4), (2, 3), (3, 5), (2, 3, 4), (2, 3, 4, 5)):
            f = " ".join(f"(tr(I + X) - tr(X) - {s})" for s in sizes)
            yield Claim(g, f"trace-count-{'-'.join(map(str, sizes))}-{dim}",
                        identity("t", V, f"{f} a", "0"), f"zero at n in {sizes} only")
            yield Claim(g, f"trace-count-matrix-{'-'.join(map(str, sizes))}-{dim}",
                        identity("t", V, f"{f} A", "0"), f"zero at n in {sizes} only")
        # Cayley–Hamilton for k×k, with traces (true for n <= k), in many forms
        for k in (2, 3, 4, 5):
            ch = cayley_hamilton("X", k)
            yield Claim(g, f"ch{k}-{dim}", identity("t", V, ch, "0"), f"CH{k}: true for n <= {k}")
            yield Claim(g, f"ch{k}-times-{dim}", identity("t", V, f"({ch}) A", "0"),
                        f"CH{k} times a matrix")
            yield Claim(g, f"ch{k}-sandwich-{dim}", identity("t", V, f"A ({ch}) B", "0"),
                        f"CH{k} between matrices")
            yield Claim(g, f"ch{k}-trace-{dim}", identity("t", V, f"tr(({ch}) A)", "0"),
                        f"CH{k} inside a trace (scalar)")
            yield Claim(g, f"ch{k}-vec-{dim}", identity("t", V, f"a^T ({ch}) a", "0"),
                        f"CH{k} as a quadratic form")
            yield Claim(g, f"ch{k}-rect-{dim}", identity("t", V, f"({ch}) Y", "0 Y"),
                        f"CH{k} times a rectangular matrix")
            yield Claim(g, f"newton-e{k + 1}-{dim}",
                        identity("t", V, elementary("X", k + 1), "0"),
                        f"e_{k + 1} = 0: true for n <= {k}")
            if k <= 4:
                yield Claim(g, f"ch{k}-det-{dim}", identity("t", V, cayley_hamilton("X", k, True),
                                                             "0"),
                            f"CH{k} with det: true at n = {k} only")
                yield Claim(g, f"det-newton-{k}-{dim}",
                            identity("t", V, "det(X)", elementary("X", k)),
                            f"det as e_{k}: true at n = {k} only")
        # 2×2 forms of Cayley–Hamilton and the adjugate
        Vi = dict(V, X=inv(sq(dim)))
        forms = [
            ("ch2-square", "X^2", "tr(X) X - det(X) I"),
            ("ch2-trace-square", "tr(X^2)", "tr(X)^2 - 2 det(X)"),
            ("ch2-det", "det(X)", "(tr(X)^2 - tr(X^2)) / 2"),
            ("ch2-inverse", "X^-1", "(tr(X) I - X) / det(X)"),
            ("ch2-inverse-2", "det(X) X^-1", "tr(X) I - X"),
            ("ch2-inverse-times", "X^-1 A", "(tr(X) A - X A) / det(X)"),
            ("ch2-inverse-trace", "tr(X^-1)", "tr(X) / det(X)"),
            ("ch2-product", "(X X - tr(X) X) A", "-det(X) A"),
            ("adj3", "det(X) X^-1", adjugate("X", 3)),
            ("adj3-trace", "det(X) tr(X^-1)", f"tr({adjugate('X', 3)})"),
            ("adj4", "det(X) X^-1", adjugate("X", 4)),
            ("det-2", "det(2 X)", "4 det(X)"),
            ("det-3", "det(3 X)", "27 det(X)"),
            ("det-neg", "det(-X)", "det(X)"),
            ("det-neg-odd", "det(-X)", "-det(X)"),
            ("det-neg-trace", "det(-X) tr(A)", "det(X) tr(A)"),
            ("det-scalar-I", "det(2 X X^-1)", "4"),
            ("det-sum", "det(X + X)", "4 det(X)"),
        ]
        for name, lhs, rhs in forms:
            yield Claim(g, f"{name}-{dim}", identity("t", Vi, lhs, rhs), name)
        # derivative forms: the adjugate of a 2×2 / 3×3 as ∂det(X)/∂X
        for k in (2, 3):
            G = adjugate("X", k)
            steps = [("d(det(X))", None), ("derivative: " + G, "theorem-4")]
            yield Claim(g, f"det-derivative-adj{k}-{dim}",
                        proof_file("t", {"X": sq(dim)},
                                   {"derivative": "det(X)", "wrt": "X", "equals": G}, steps),
                        f"∂det/∂X = adj by CH{k}: true at n = {k} only")
    # rectangular variables: the matrix is a product Y Z (n×m times m×n)
    for n, m in (("n", "m"), ("p", "k"), ("m", "n")):
        V = {"Y": {"shape": [n, m]}, "Z": {"shape": [m, n]}, "A": const(sq(n)),
             "a": const({"shape": [n, 1]})}
        P = "(Y Z)"
        yield Claim(g, f"ch2-rect-{n}{m}", identity("t", V, cayley_hamilton(P, 2), "0"),
                    "CH2 of a product of rectangular matrices")
        yield Claim(g, f"ch3-rect-{n}{m}", identity("t", V, f"({cayley_hamilton(P, 3)}) a", "0"),
                    "CH3 of a product of rectangular matrices")
        yield Claim(g, f"det-scaling-rect-{n}{m}",
                    identity("t", V, "(det(2 Z Y) - 4 det(Z Y)) (det(2 Z Y) - 8 det(Z Y)) Y", "0 Y"),
                    "det scaling of Z Y (m×m)")
        yield Claim(g, f"det-rect-{n}{m}", identity("t", V, "det(Y Z)", "det(Z Y)"),
                    "det(Y Z) = det(Z Y) only when n = m")
    # several dimension symbols in one claim
    V = {"X": sq("n"), "W": sq("m"), "a": const({"shape": ["n", 1]}),
         "b": const({"shape": ["m", 1]})}
    yield Claim(g, "two-symbols-ch", identity("t", V, f"({cayley_hamilton('X', 2)}) a b^T "
                                                   f"({cayley_hamilton('W', 3)})", "0"),
                "CH2 of n×n times CH3 of m×m")
    yield Claim(g, "two-symbols-det", identity("t", V, "det(2 X) det(2 W)", "16 det(X) det(W)"),
                "true at n = m = 2 only")
    yield Claim(g, "two-symbols-det-neg", identity("t", V, "det(-X) det(-W)", "det(X) det(W)"),
                "true when n + m is even")


# =============================================================================================
# 2. Size-dependent scalars compared with fixed numbers
# =============================================================================================


def gen_size_scalars() -> Iterator[Claim]:
    g = "size-scalars"
    for dim in ["n", "m", "p", 2, 3, 4, 5, 6]:
        V = {"X": inv(sq(dim)), "A": const(sq(dim)), "Y": const({"shape": [dim, "q"]})}
        k = dim if isinstance(dim, int) else 2
        wrong = k + 1 if isinstance(dim, int) else 2
        for name, lhs, rhs in [
            ("trace-XXinv", "tr(X X^-1)", f"{wrong}"),
            ("trace-XinvX", "tr(X^-1 X)", "1"),
            ("trace-power0", "tr(X^0)", f"{wrong}"),
            ("trace-I-plus", "tr(I + 0 X)", "1"),
            ("trace-2I", "tr(2 X X^-1)", "2"),
            ("det-cI", "det(2 X X^-1)", "2"),
            ("det-cI-2", "det(3 X^-1 X)", f"{3 ** wrong}"),
            ("scaled-matrix", "tr(X X^-1) A", f"{wrong} A"),
            ("scaled-rect", "tr(X^-1 X) Y", "Y"),
            ("ratio", "det(2 X) / det(X)", f"{2 ** wrong}"),
        ]:
            yield Claim(g, f"{name}-{dim}", identity("t", V, lhs, rhs), "size-dependent scalar")


# =============================================================================================
# 3. Huge literals: modular and floating-point coincidences
# =============================================================================================

P61 = 2**61 - 1
PRIMES = {"p61": 2**61 - 1, "p64": 2**64 - 59, "p63": 2**63 - 25, "p31": 2**31 - 1,
          "p127": 2**127 - 1}


def gen_huge_literals() -> Iterator[Claim]:
    g = "huge-literals"
    for dim in ["n", 2, 3, 4, 5, 6]:
        V = {"X": inv(sq(dim)), "A": const(sq(dim)), "s": {"shape": "scalar"}}
        for pname, pr in PRIMES.items():
            one = pr + 1  # ≡ 1 modulo the prime
            forms = [
                ("inverse", "X^-1", f"{one} X^-1"),
                ("det", "det(X)", f"{one} det(X)"),
                ("trace-inverse", "tr(X^-1)", f"{one} tr(X^-1)"),
                ("diff-inverse", "d(X^-1)", f"-{one} X^-1 dX X^-1"),
                ("zero", f"{pr} X^-1", "0"),
                ("divide", f"X^-1 / {one}", "X^-1"),
                ("det-inverse", f"det({one} X^-1)", "det(X^-1)"),
            ]
            for name, lhs, rhs in forms:
                yield Claim(g, f"{name}-{pname}-{dim}", identity("t", V, lhs, rhs),
                            f"≡ modulo {pname}")
        forms = [
            ("product-2^61", "2147483648 * 1073741824 X", "X"),
            ("product-2^61-inv", "2147483648 1073741824 X^-1", "X^-1"),
            ("product-2^64", "4294967296 4294967296 X", "59 X"),
            ("square-2^61", "(1073741824 * 2147483648) det(X)", "det(X)"),
            ("fraction", "X / 2305843009213693951", "0"),
            ("float-sum", "(0.1 + 0.2) X^-1", "0.30000000000000004 X^-1"),
            ("float-eps", "1.00000000000000000001 X", "X"),
            ("float-det", "det(1.0000000000000001 X)", "det(X)"),
            ("power-wrap", "(2305843009213693952 s)^2", "s^2 2305843009213693952"),
            ("two-64", "(18446744073709551616 + 1) tr(X)", "tr(X)"),
        ]
        for name, lhs, rhs in forms:
            yield Claim(g, f"{name}-{dim}", identity("t", V, lhs, rhs), "literal arithmetic")


# =============================================================================================
# 4. The start line and the last line
# =============================================================================================


def _derivative_chain(c: str, inner: str = "A X", G: str = "A") -> list[tuple[str, object]]:
    """From d(c tr(A X)) to the derivative c A, every step true and justified."""
    return [
        (f"d({c} tr({inner}))", None),
        (f"{c} d(tr({inner}))", "diff-scale"),
        (f"{c} tr(d({inner}))", "diff-trace"),
        (f"{c} tr(d(A) X + A dX)", "diff-product"),
        (f"{c} tr(0 X + A dX)", "diff-constant"),
        (f"{c} tr(A dX)", "algebra"),
        (f"tr({c} {G} dX)", "trace-scale"),
        (f"derivative: {c} {G}", "theorem-4"),
    ]


def gen_start_end() -> Iterator[Claim]:
    g = "start-end"
    for dim in ["n", "m", 3]:
        V = {"X": inv(sq(dim)), "A": const(sq(dim))}
        # a derivative proof that starts at a different, "fingerprint-equal" d(...)
        for f, c, note in [("tr(X X^-1) tr(A X)", "tr(1)", "tr(X X^-1) read as tr(1)"),
                           ("tr(X^-1 X) tr(A X)", "1", "tr(X^-1 X) read as 1"),
                           ("det(2 X X^-1) tr(A X)", "2", "det(2 I) read as 2"),
                           ("det(2 X) / det(X) tr(A X)", "4", "det(2X)/det(X) read as 4"),
                           ("tr(X^0) tr(A X)", "1", "tr(X^0) read as 1")]:
            for equals in ("A", f"{c} A"):
                steps = _derivative_chain(c)
                yield Claim(g, f"start-{note.split()[0]}-{equals.replace(' ', '')}-{dim}",
                            proof_file("t", V, {"derivative": f, "wrt": "X", "equals": equals},
                                       steps), note)
        # identity claims with one-line proofs
        for lhs, rhs in [("tr(X X^-1)", "tr(1)"), ("tr(X X^-1)", "1"), ("tr(X^-1 X) A", "A"),
                         ("det(2 X X^-1)", "2"), ("tr(X X^-1) X X^-1", "I")]:
            for start in (lhs, rhs):
                yield Claim(g, f"one-line-{'lhs' if start == lhs else 'rhs'}-{lhs}-{dim}",
                            proof_file("t", V, {"lhs": lhs, "rhs": rhs}, [(start, None)]),
                            "a one-line proof: the start must equal lhs, the end rhs")
        # a last line that differs from rhs by a 1×1-versus-c·I confusion
        for lhs, last, rhs in [("tr(X X^-1) A", "tr(X X^-1) A", "A"),
                               ("tr(2 X X^-1)", "tr(2 X X^-1)", "2"),
                               ("A tr(X X^-1)", "tr(A) ^ 0 A tr(X X^-1)", "A"),
                               ("X X^-1 tr(X^-1 X)", "tr(X^-1 X) X X^-1", "X X^-1"),
                               ("tr(X X^-1) I", "tr(X X^-1) X X^-1", "X X^-1")]:
            steps = [(lhs, None)] + ([(last, "algebra")] if last != lhs else [])
            yield Claim(g, f"last-line-{lhs}-{dim}",
                        proof_file("t", V, {"lhs": lhs, "rhs": rhs}, steps),
                        "the last line is not rhs: n·I versus I")


# =============================================================================================
# 5. Batches: one false step among many true ones
# =============================================================================================

ZERO_AT = {"2-4": "(tr(I + X) - tr(X) - 2) (tr(I + X) - tr(X) - 4)",
           "2-3": "(det(2 X) - 4 det(X)) (det(2 X) - 8 det(X))",
           "2": "(tr(X X^-1) - 2)",
           "ch2": None}


def gen_batch() -> Iterator[Claim]:
    g = "batch"
    for dim in ["n", "m"]:
        V = {"X": inv(sq(dim)), "A": const(sq(dim)), "B": const(sq(dim)), "C": const(sq(dim)),
             "a": const({"shape": [dim, 1]}), "b": const({"shape": [dim, 1]}),
             "Y": const({"shape": [dim, "q"]})}
        for zname, z in ZERO_AT.items():
            if z is None:
                continue
            # chains with a vector, a square and a rectangular result; the false step drops
            # the size-dependent term, at each position of the chain in turn
            for kind, tail, true_chain in [
                ("vector", "a", ["(A B)^T a", "B^T A^T a", "B^T (A^T a)", "B^T A^T a + 0 a",
                                 "B^T A^T a"]),
                ("square", "C", ["(A B)^T C", "B^T A^T C", "(B^T A^T) C", "B^T (A^T C)",
                                 "B^T A^T C"]),
                ("rect", "Y", ["(A B)^T Y", "B^T A^T Y", "(B^T A^T) Y", "B^T (A^T Y)",
                               "B^T A^T Y"]),
            ]:
                rules = ["transpose-product", "algebra", "algebra", "algebra"]
                for pos in range(len(true_chain)):
                    lines = []
                    for i, t in enumerate(true_chain):
                        extra = f" + {z} {tail}" if i < pos + 1 else ""
                        lines.append(t + extra)
                    # line pos still carries the term; the line after it drops it
                    steps: list[tuple[str, object]] = [(lines[0], None)]
                    for i in range(1, len(lines)):
                        by = rules[i - 1]
                        if i == pos + 1:
                            by = "algebra"
                        steps.append((lines[i], by))
                    if pos == len(true_chain) - 1:
                        steps.append((true_chain[-1], "algebra"))
                    lhs, rhs = lines[0], true_chain[-1]
                    yield Claim(g, f"hidden-{zname}-{kind}-at-{pos}-{dim}",
                                proof_file("t", V, {"lhs": lhs, "rhs": rhs}, steps),
                                "one false step (a term dropped) among true ones")
            # a false derivative claim reached through ordinary rules
            f = f"tr(A X) + {z} tr(B X)"
            steps = [
                (f"d({f})", None),
                (f"d(tr(A X)) + d({z} tr(B X))", "diff-add"),
                ("d(tr(A X))", "algebra"),
                ("tr(d(A X))", "diff-trace"),
                ("tr(d(A) X + A dX)", "diff-product"),
                ("tr(0 X + A dX)", "diff-constant"),
                ("tr(A dX)", "algebra"),
                ("derivative: A", "theorem-4"),
            ]
            yield Claim(g, f"derivative-drop-{zname}-{dim}",
                        proof_file("t", V, {"derivative": f, "wrt": "X", "equals": "A"}, steps),
                        "a false derivative reached through ordinary rules")
        # det(2X)/det(X) is 2^n: read as 4
        steps = [("d(det(2 X) / det(X) tr(A X))", None), ("d(4 tr(A X))", "algebra")] + \
            _derivative_chain("4")[1:]
        yield Claim(g, f"derivative-det-ratio-{dim}",
                    proof_file("t", V, {"derivative": "det(2 X) / det(X) tr(A X)", "wrt": "X",
                                        "equals": "4 A"}, steps),
                    "det(2X)/det(X) = 4 only at n = 2, then ordinary rules")
        # CH2 used inside a derivative: ∂ tr(X^2 A)/∂X claimed through X^2 = tr(X) X - det(X) I
        steps = [("d(tr(X X A))", None),
                 ("tr(d(X X A))", "diff-trace"),
                 ("tr(d(X X) A + X X d(A))", "diff-product"),
                 ("tr(d(X X) A + X X 0)", "diff-constant"),
                 ("tr(d(X X) A)", "algebra"),
                 ("tr((dX X + X dX) A)", "diff-product"),
                 ("tr(dX X A + X dX A)", "algebra"),
                 ("tr(dX X A) + tr(X dX A)", "trace-add"),
                 ("tr(X A dX) + tr(A X dX)", "trace-cyclic"),
                 ("tr((X A + A X) dX)", "algebra"),
                 ("tr((X A + A X + X X - tr(X) X + det(X) I) dX)", "algebra"),
                 ("derivative: X A + A X + X X - tr(X) X + det(X) I", "theorem-4")]
        yield Claim(g, f"derivative-ch2-added-{dim}",
                    proof_file("t", {"X": sq(dim), "A": const(sq(dim))},
                               {"derivative": "tr(X X A)", "wrt": "X",
                                "equals": "X A + A X + X X - tr(X) X + det(X) I"}, steps),
                    "a CH2 term (zero at n = 2 only) slipped into a long true chain")


GENERATORS: dict[str, Callable[[], Iterator[Claim]]] = {
    "small-sizes": gen_small_sizes,
    "size-scalars": gen_size_scalars,
    "huge-literals": gen_huge_literals,
    "start-end": gen_start_end,
    "batch": gen_batch,
}


# =============================================================================================
# Confirmation by the oracle
# =============================================================================================


def confirm(c: Claim, seed: int = 0, links: bool = True) -> bool:
    """True when the oracle finds the claim false at a generic size assignment; records the
    verdict and (with links) which links of the proof are false."""
    data = yaml.safe_load(c.text)
    v = O.judge_claim(data, seed=seed)
    c.verdict = v
    if v.status != "false" or not v.generic:
        return False
    if links:
        c.false_links = [i for i, lv in O.judge_links(data, seed=seed)
                         if lv.status == "false" and lv.generic]
    return True


def claims(generators: list[str] | None = None, limit: int | None = None, seed: int = 0,
           links: bool = True, dropped: list | None = None) -> Iterator[Claim]:
    """Every generated claim that the oracle confirms false, generator by generator (at most
    `limit` per generator, taken in a fixed spread over the generator's list)."""
    for name in generators or list(GENERATORS):
        made = list(GENERATORS[name]())
        if limit is not None and len(made) > limit:
            step = len(made) / limit
            made = [made[int(i * step)] for i in range(limit)]
        for c in made:
            if confirm(c, seed, links):
                yield c
            elif dropped is not None:
                dropped.append(c)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print every confirmed claim in full")
    ap.add_argument("--only", action="append", choices=list(GENERATORS))
    ap.add_argument("--limit", type=int, default=None, help="at most this many per generator")
    args = ap.parse_args(argv)
    dropped: list[Claim] = []
    counts: dict[str, int] = {}
    for c in claims(args.only, args.limit, dropped=dropped):
        counts[c.generator] = counts.get(c.generator, 0) + 1
        if args.list:
            print(f"# --- {c.generator}/{c.name}: {c.aim}; false links {c.false_links}")
            print(c.text)
    for name in args.only or GENERATORS:
        print(f"{name:14s} {counts.get(name, 0):5d} confirmed false, "
              f"{sum(1 for d in dropped if d.generator == name):4d} dropped")
    for d in dropped:
        print(f"  dropped {d.generator}/{d.name}: {d.verdict.status if d.verdict else '?'} "
              f"{d.verdict.reason if d.verdict else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
