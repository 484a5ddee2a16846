"""The search finds what SPEC §5 allows: a step may apply its cited rules several times, several
rules in one step, at any position and in either direction, up to algebra, with powers `X^k`
read as products where a rule needs it.

Each worked step below is a true step of a matrix-calculus derivation, written in at least three
ways students write it (one step citing several rules, or several steps; aliases; spacing and
notation such as `X'`, `Xᵀ`, `X⁻¹`, `*`, `2X`). Every way must check `valid` through the real
checker (`prover.proofs.check_file`, the kernel's replay of the search's certificate). At the
end, steps that are really wrong must stay refused.
"""
from __future__ import annotations

import pytest

from prover.proofs import check_file
from prover.rulebase import load_rulebook

_, BOOK = load_rulebook()

SQ = "X: {shape: [n, n]}"
INV = "X: {shape: [n, n], invertible: true}"
CA = "A: {shape: [n, n], constant: true}"
CB = "B: {shape: [n, n], constant: true}"


def _yaml(name: str, variables: list[str], lhs: str, rhs: str, lines: list[str]) -> str:
    out = [f"theorem: {name}", "variables:"]
    out += [f"  {v}" for v in variables]
    out += ["claim:", f"  lhs: \"{lhs}\"", f"  rhs: \"{rhs}\"", "proof:"]
    first, rest = lines[0], lines[1:]
    out.append(f"  - expr: \"{first}\"")
    for line in rest:
        expr, by = (x.strip() for x in line.split(" | "))
        cites = [c.strip() for c in by.split(",")]
        cited = cites[0] if len(cites) == 1 else "[" + ", ".join(cites) + "]"
        out += [f"  - expr: \"{expr}\"", f"    by: {cited}"]
    return "\n".join(out) + "\n"


def check(tmp_path, name, variables, lhs, rhs, lines):
    p = tmp_path / f"{name}.yaml"
    p.write_text(_yaml(name, variables, lhs, rhs, lines), encoding="utf-8")
    return check_file(p, BOOK)


def _explain(fr) -> str:
    return "\n".join(f"{s.index}: {s.expr} [{s.status}] {s.message}" for s in fr.steps) + \
        f"\n{fr.status} {getattr(fr, 'message', '')}"


# name -> (variables, lhs, rhs, ways); a way is its lines: the start, then "expr | rule, rule".
CASES: dict[str, tuple[list[str], str, str, list[list[str]]]] = {
    "product-rule-constant-left": ([CA, SQ], "d(A X)", "A dX", [
        ["d(A X)", "A dX | diff-product, diff-constant"],
        ["d(A X)", "d(A) X + A d(X) | product-rule", "0 X + A dX | diff-constant",
         "A dX | algebra"],
        ["d(A*X)", "dA*X + A*dX | differential-property-4",
         "A*dX | differential-property-1, algebra"],
    ]),
    "cube": ([SQ], "d(X^3)", "dX X^2 + X dX X + X^2 dX", [
        ["d(X^3)", "dX X^2 + X dX X + X^2 dX | diff-product"],
        ["d(X^3)", "d(X X^2) | algebra", "dX X^2 + X d(X^2) | product-rule",
         "dX X^2 + X (dX X + X dX) | product-rule", "dX X^2 + X dX X + X^2 dX | algebra"],
        ["d(X X X)", "dX X X + X dX X + X X dX | differential-property-4",
         "dX X^2 + X dX X + X^2 dX | algebra"],
        ["d(X^3)", "d(X^2) X + X^2 dX | diff-product",
         "dX X^2 + X dX X + X^2 dX | diff-product"],
    ]),
    "square": ([SQ], "d(X^2)", "dX X + X dX", [
        ["d(X^2)", "dX X + X dX | diff-product"],
        ["d(X*X)", "d(X)*X + X*d(X) | product-rule"],
        ["d(X^2)", "d(X X) | algebra", "dX X + X dX | differential-property-4"],
    ]),
    "trace-of-square": ([SQ], "d(tr(X^2))", "2 tr(X dX)", [
        ["d(tr(X^2))", "2 tr(X dX) | diff-trace, diff-product, trace-add, trace-cyclic"],
        ["d(tr(X X))", "tr(d(X X)) | diff-trace", "tr(dX X + X dX) | diff-product",
         "tr(dX X) + tr(X dX) | trace-add", "tr(X dX) + tr(X dX) | trace-cyclic",
         "2 tr(X dX) | algebra"],
        ["d(tr(X^2))", "tr(dX X + X dX) | theorem-3, product-rule",
         "2 tr(X dX) | trace-property-1, theorem-2"],
    ]),
    "trace-gather-cube": ([SQ], "tr(dX X X + X dX X + X X dX)", "tr(3 X^2 dX)", [
        ["tr(dX X X + X dX X + X X dX)", "tr(3 X^2 dX) | trace-add, trace-cyclic, algebra"],
        ["tr(dX X X + X dX X + X X dX)", "tr(dX X X) + tr(X dX X) + tr(X X dX) | trace-add",
         "tr(X X dX) + tr(X X dX) + tr(X X dX) | trace-cyclic",
         "tr(3 X^2 dX) | trace-add, algebra"],
        ["tr(dX*X^2 + X*dX*X + X^2*dX)", "tr(3*X^2*dX) | trace-property-1, theorem-2"],
    ]),
    "trace-of-cube": ([SQ], "d(tr(X^3))", "3 tr(X^2 dX)", [
        ["d(tr(X^3))", "tr(dX X^2 + X dX X + X^2 dX) | diff-trace, diff-product",
         "3 tr(X^2 dX) | trace-add, trace-cyclic"],
        ["d(tr(X^3))", "tr(d(X^3)) | theorem-3", "tr(dX X^2 + X dX X + X^2 dX) | product-rule",
         "tr(dX X^2) + tr(X dX X) + tr(X^2 dX) | trace-add",
         "3 tr(X^2 dX) | trace-cyclic, algebra"],
        ["d(tr(X X X))", "tr(d(X X X)) | diff-trace",
         "tr(dX X X + X dX X + X X dX) | diff-product",
         "3 tr(X X dX) | trace-property-1, trace-property-4"],
    ]),
    "inverse": ([INV], "d(X^-1)", "-X^-1 dX X^-1", [
        ["d(X^-1)", "-X^-1 dX X^-1 | diff-inverse"],
        ["d(X⁻¹)", "-X⁻¹ dX X⁻¹ | diff-inverse"],
        ["d(X^{-1})", "-X^{-1} d(X) X^{-1} | diff-inverse", "-(X^-1 dX X^-1) | algebra"],
    ]),
    "inverse-square": ([INV], "d(X^-2)", "-X^-1 dX X^-2 - X^-2 dX X^-1", [
        ["d(X^-2)", "-X^-1 dX X^-2 - X^-2 dX X^-1 | diff-product, diff-inverse"],
        ["d(X^-1 X^-1)", "d(X^-1) X^-1 + X^-1 d(X^-1) | product-rule",
         "-X^-1 dX X^-1 X^-1 - X^-1 X^-1 dX X^-1 | diff-inverse",
         "-X^-1 dX X^-2 - X^-2 dX X^-1 | algebra"],
        ["d(X⁻¹ X⁻¹)", "-X⁻¹ dX X⁻¹ X⁻¹ + X⁻¹ (-X⁻¹ dX X⁻¹) | diff-product, diff-inverse",
         "-X^-1 dX X^-2 - X^-2 dX X^-1 | algebra"],
    ]),
    "log-det": ([INV], "d(log(det(X)))", "tr(X^-1 dX)", [
        ["d(log(det(X)))", "tr(X^-1 dX) | diff-log-det"],
        ["d(log(det(X)))", "d(det(X)) / det(X) | diff-log",
         "det(X) tr(X^-1 dX) / det(X) | diff-det", "tr(X^-1 dX) | algebra"],
        ["d(log(det(X)))", "tr(X⁻¹ dX) | diff-log, diff-det, algebra"],
    ]),
    "det": ([INV], "d(det(X))", "det(X) tr(X^-1 dX)", [
        ["d(det(X))", "det(X) tr(X^-1 dX) | diff-det"],
        ["d(det(X))", "tr(X⁻¹ dX) det(X) | diff-det"],
        ["d(det(X))", "det(X)*tr(X^{-1}*d(X)) | diff-det"],
    ]),
    "quadratic-form": (["x: {shape: [n, 1]}", CA], "d(x^T A x)", "dx^T A x + x^T A dx", [
        ["d(x^T A x)", "dx^T A x + x^T A dx | diff-product, diff-constant, diff-transpose, algebra"],
        ["d(x^T A x)", "d(x^T A) x + x^T A dx | product-rule",
         "(d(x^T) A + x^T dA) x + x^T A dx | product-rule",
         "(dx^T A + x^T 0) x + x^T A dx | diff-transpose, diff-constant",
         "dx^T A x + x^T A dx | algebra"],
        ["d(x' A x)", "dx' A x + x' A dx | product-rule, differential-property-1, diff-transpose"],
    ]),
    "quadratic-form-gather": (["x: {shape: [n, 1]}", CA], "dx^T A x + x^T A dx",
                              "x^T (A + A^T) dx", [
        ["dx^T A x + x^T A dx", "x^T (A + A^T) dx | algebra"],
        ["dx^T A x + x^T A dx", "x^T A^T dx + x^T A dx | algebra", "x^T (A + A^T) dx | algebra"],
        ["dxᵀ A x + xᵀ A dx", "xᵀ Aᵀ dx + xᵀ A dx | transpose-scalar, transpose-product",
         "xᵀ (A + Aᵀ) dx | algebra"],
    ]),
    "quadratic-form-trace": (["a: {shape: [n, 1], constant: true}", SQ], "d(a^T X a)",
                             "tr(a a^T dX)", [
        ["d(a^T X a)", "d(tr(a^T X a)) | theorem-1", "d(tr(a a^T X)) | theorem-2",
         "tr(d(a a^T X)) | theorem-3", "tr(d(a a^T) X + a a^T dX) | diff-product",
         "tr(0 X + a a^T dX) | diff-constant", "tr(a a^T dX) | algebra"],
        ["d(a^T X a)", "a^T dX a | diff-product, diff-constant",
         "tr(a a^T dX) | trace-scalar, trace-cyclic"],
        ["d(a' X a)", ("tr(a a' dX) | theorem-1, theorem-2, theorem-3, product-rule, "
         "differential-property-1, algebra")],
    ]),
    "bilinear-form": (["a: {shape: [n, 1], constant: true}", "b: {shape: [n, 1], constant: true}",
                       SQ], "d(a^T X b)", "tr(b a^T dX)", [
        ["d(a^T X b)", "a^T dX b | diff-product, diff-constant",
         "tr(a^T dX b) | trace-scalar", "tr(b a^T dX) | trace-cyclic"],
        ["d(aᵀ X b)", "tr(b aᵀ dX) | product-rule, diff-constant, trace-scalar, trace-cyclic"],
        ["d(a^T*X*b)", "d(tr(a^T*X*b)) | theorem-1", "tr(d(b*a^T*X)) | theorem-2, theorem-3",
         "tr(b*a^T*dX) | product-rule, differential-property-1, algebra"],
    ]),
    "trace-cyclic-three": (["A: {shape: [n, n]}", "B: {shape: [n, n]}", "C: {shape: [n, n]}"],
                           "tr(A B C)", "tr(C A B)", [
        ["tr(A B C)", "tr(C A B) | trace-cyclic"],
        ["tr(A*B*C)", "tr(C*A*B) | theorem-2"],
        ["tr(A B C)", "tr(B C A) | trace-property-4", "tr(C A B) | trace-property-4"],
    ]),
    "trace-cyclic-twice": (["A: {shape: [n, n]}", "B: {shape: [n, n]}", "C: {shape: [n, n]}",
                            "D: {shape: [n, n]}"], "tr(A B) + tr(C D)", "tr(B A) + tr(D C)", [
        ["tr(A B) + tr(C D)", "tr(B A) + tr(D C) | trace-cyclic"],
        ["tr(A B) + tr(C D)", "tr(B A) + tr(C D) | theorem-2", "tr(B A) + tr(D C) | theorem-2"],
        ["tr(A*B)+tr(C*D)", "tr(D*C)+tr(B*A) | trace-cyclic"],
    ]),
    "trace-AXB": (["A: {shape: [n, n], constant: true}", "B: {shape: [n, n], constant: true}", SQ],
                  "d(tr(A X B))", "tr(B A dX)", [
        ["d(tr(A X B))", "tr(B A dX) | diff-trace, diff-product, diff-constant, trace-cyclic"],
        ["d(tr(A X B))", "tr(d(A X B)) | diff-trace", "tr(A dX B) | diff-product, diff-constant",
         "tr(B A dX) | trace-cyclic"],
        ["d(tr(A X B))", "d(tr(B A X)) | theorem-2", ("tr(B A dX) | theorem-3, product-rule, "
         "differential-property-1")],
    ]),
    "trace-transpose-XtA": ([CA, SQ], "tr(X^T A)", "tr(A^T X)", [
        ["tr(X^T A)", "tr(A^T X) | trace-transpose"],
        ["tr(X' A)", "tr((X' A)') | trace-property-3", "tr(A' X) | transpose-product"],
        ["tr(Xᵀ A)", "tr(Aᵀ X) | trace-property-3, algebra"],
    ]),
    "trace-XtX": ([SQ], "d(tr(X^T X))", "2 tr(X^T dX)", [
        ["d(tr(X^T X))", ("2 tr(X^T dX) | diff-trace, diff-product, diff-transpose, trace-add, "
         "trace-transpose")],
        ["d(tr(X^T X))", "tr(d(X^T X)) | diff-trace", "tr(d(X^T) X + X^T dX) | diff-product",
         "tr(dX^T X + X^T dX) | diff-transpose", "tr(dX^T X) + tr(X^T dX) | trace-add",
         "tr(X^T dX) + tr(X^T dX) | trace-transpose", "2 tr(X^T dX) | algebra"],
        ["d(tr(X' X))", "tr(dX' X + X' dX) | theorem-3, product-rule, diff-transpose",
         "2 tr(X' dX) | trace-property-1, trace-property-3"],
    ]),
    "trace-XtAX": ([CA, SQ], "d(tr(X^T A X))", "tr(X^T (A + A^T) dX)", [
        ["d(tr(X^T A X))", ("tr(dX^T A X + X^T A dX) | diff-trace, diff-product, diff-constant, "
         "diff-transpose, algebra"),
         "tr(dX^T A X) + tr(X^T A dX) | trace-add",
         "tr(X^T A^T dX) + tr(X^T A dX) | trace-transpose",
         "tr(X^T (A + A^T) dX) | trace-add, algebra"],
        ["d(tr(X' A X))", "tr(d(X' A X)) | theorem-3",
         "tr(dX' A X + X' A dX) | product-rule, differential-property-1, diff-transpose, algebra",
         "tr(X' (A + A') dX) | trace-add, trace-transpose, algebra"],
        ["d(tr(Xᵀ A X))", ("tr(dXᵀ A X) + tr(Xᵀ A dX) | diff-trace, diff-product, diff-constant, "
         "diff-transpose, trace-add, algebra"),
         "tr(Xᵀ (A + Aᵀ) dX) | trace-add, trace-transpose, algebra"],
    ]),
    "scale": ([SQ], "d(2 X)", "2 dX", [
        ["d(2 X)", "2 dX | diff-scale"],
        ["d(2X)", "2 d(X) | differential-property-2"],
        ["d(2*X)", "2*dX | diff-scale"],
    ]),
    "sum": (["X: {shape: [n, n]}", "Y: {shape: [n, n]}"], "d(X + Y)", "dX + dY", [
        ["d(X + Y)", "dX + dY | diff-add"],
        ["d(X+Y)", "d(X)+d(Y) | differential-property-3"],
        ["d(Y + X)", "dY + dX | sum-rule", "dX + dY | algebra"],
    ]),
    "sum-with-constant": ([SQ, CA], "d(X + A)", "dX", [
        ["d(X + A)", "dX | diff-add, diff-constant"],
        ["d(X + A)", "dX + dA | diff-add", "dX + 0 | diff-constant", "dX | algebra"],
        ["d(A+X)", "dX | sum-rule, differential-property-1, algebra"],
    ]),
    "sum-of-three": (["X: {shape: [n, n]}", "Y: {shape: [n, n]}", "Z: {shape: [n, n]}"],
                     "d(X + Y + Z)", "dX + dY + dZ", [
        ["d(X + Y + Z)", "dX + dY + dZ | diff-add"],
        ["d(X + Y + Z)", "d(X + Y) + dZ | diff-add", "dX + dY + dZ | diff-add"],
        ["d(X+Y+Z)", "d(Z) + d(Y) + d(X) | differential-property-3"],
    ]),
    "trace-scale-out": ([CA, SQ], "d(tr(3 A X))", "3 tr(A dX)", [
        ["d(tr(3 A X))", ("3 tr(A dX) | diff-trace, diff-scale, diff-product, diff-constant, "
         "trace-scale")],
        ["d(tr(3 A X))", "tr(d(3 A X)) | diff-trace", "tr(3 d(A X)) | diff-scale",
         "tr(3 A dX) | diff-product, diff-constant", "3 tr(A dX) | trace-scale"],
        ["d(tr(3*A*X))", "tr(3*A*dX) | theorem-3, diff-scale, product-rule, diff-constant",
         "3*tr(A*dX) | trace-property-2"],
    ]),
    "trace-scalar-vector": (["a: {shape: [n, 1]}", SQ], "tr(a a^T X)", "a^T X a", [
        ["tr(a a^T X)", "a^T X a | trace-cyclic, trace-scalar"],
        ["tr(a a^T X)", "tr(a^T X a) | trace-cyclic", "a^T X a | trace-scalar"],
        ["tr(a aᵀ X)", "aᵀ X a | theorem-2, theorem-1"],
    ]),
    "identity-inverse": ([INV, CA], "tr(X X^-1 A)", "tr(A)", [
        ["tr(X X^-1 A)", "tr(A) | algebra"],
        ["tr(X X⁻¹ A)", "tr(I A) | algebra", "tr(A) | algebra"],
        ["tr(X X^-1 A)", "tr(X^-1 A X) | trace-cyclic", "tr(A) | trace-cyclic, algebra"],
    ]),
    "trace-sum-gather": ([CA, CB, SQ], "tr(A X) + tr(B X)", "tr((A + B) X)", [
        ["tr(A X) + tr(B X)", "tr((A + B) X) | trace-add, algebra"],
        ["tr(A X) + tr(B X)", "tr(A X + B X) | trace-add", "tr((A + B) X) | algebra"],
        ["tr(A*X)+tr(B*X)", "tr(X*A) + tr(X*B) | trace-cyclic",
         "tr((A+B)*X) | trace-property-1, trace-cyclic, algebra"],
    ]),
    "trace-sum-three": (["A: {shape: [n, n]}", "B: {shape: [n, n]}", "C: {shape: [n, n]}"],
                        "tr(A) + tr(B) + tr(C)", "tr(A + B + C)", [
        ["tr(A) + tr(B) + tr(C)", "tr(A + B + C) | trace-add"],
        ["tr(A) + tr(B) + tr(C)", "tr(A + B) + tr(C) | trace-property-1",
         "tr(A + B + C) | trace-property-1"],
        ["tr(C) + tr(A) + tr(B)", "tr(C + B + A) | trace-add"],
    ]),
    "transpose-differential": ([SQ], "d(X^T)", "dX^T", [
        ["d(X^T)", "dX^T | diff-transpose"],
        ["d(X')", "d(X)' | diff-transpose"],
        ["d(Xᵀ)", "(dX)ᵀ | diff-transpose"],
    ]),
    "transpose-product": (["A: {shape: [n, n]}", SQ], "d((A X)^T)", "dX^T A^T + X^T dA^T", [
        ["d((A X)^T)", "dX^T A^T + X^T dA^T | diff-transpose, diff-product, algebra"],
        ["d((A X)^T)", "d(X^T A^T) | transpose-product", ("dX^T A^T + X^T dA^T | diff-product, "
         "diff-transpose")],
        ["d((A X)')", "d(A X)' | diff-transpose", "(dA X + A dX)' | product-rule",
         "dX' A' + X' dA' | algebra"],
    ]),
    "log-det-product": (["A: {shape: [n, n], constant: true, invertible: true}", INV],
                        "d(log(det(A X)))", "tr(X^-1 dX)", [
        ["d(log(det(A X)))", "tr(X^-1 dX) | diff-log-det, diff-product, diff-constant, algebra"],
        ["d(log(det(A X)))", "tr((A X)^-1 d(A X)) | diff-log-det",
         "tr((A X)^-1 A dX) | diff-product, diff-constant", "tr(X^-1 dX) | algebra"],
        ["d(log(det(A*X)))", "tr(X⁻¹ A⁻¹ (dA X + A dX)) | diff-log-det, product-rule, algebra",
         "tr(X⁻¹ dX) | differential-property-1, algebra"],
    ]),
    "trace-inverse": ([CA, INV], "d(tr(A X^-1))", "tr(-X^-1 A X^-1 dX)", [
        ["d(tr(A X^-1))", ("tr(-X^-1 A X^-1 dX) | diff-trace, diff-product, diff-constant, "
         "diff-inverse, trace-cyclic, algebra")],
        ["d(tr(A X^-1))", "tr(d(A X^-1)) | theorem-3", "tr(A d(X^-1)) | diff-product, diff-constant",
         "tr(-A X^-1 dX X^-1) | diff-inverse, algebra", "tr(-X^-1 A X^-1 dX) | trace-cyclic, algebra"],
        ["d(tr(A X⁻¹))", ("-tr(A X⁻¹ dX X⁻¹) | diff-trace, product-rule, diff-constant, "
         "diff-inverse, trace-scale, algebra"), "tr(-X⁻¹ A X⁻¹ dX) | trace-cyclic, trace-scale"],
    ]),
    "vector-norm": (["x: {shape: [n, 1]}"], "d(x^T x)", "2 x^T dx", [
        ["d(x^T x)", "2 x^T dx | diff-product, diff-transpose, algebra"],
        ["d(x^T x)", "d(x^T) x + x^T dx | product-rule", "dx^T x + x^T dx | diff-transpose",
         "2 x^T dx | algebra"],
        ["d(x' x)", "dx' x + x' dx | diff-product, diff-transpose", "2x' dx | algebra"],
    ]),
    "scalar-moved": (["c: {shape: scalar, constant: true}", CA, SQ], "d(tr(c A X))",
                     "c tr(A dX)", [
        ["d(tr(c A X))", ("c tr(A dX) | diff-trace, diff-scale, diff-product, diff-constant, "
         "trace-scale")],
        ["d(tr(A X c))", "tr(d(c A X)) | diff-trace, algebra", "tr(c d(A X)) | diff-scale",
         "tr(c A dX) | diff-product, diff-constant", "c tr(A dX) | trace-scale"],
        ["d(tr(c*A*X))", ("tr(c*A*dX) | theorem-3, differential-property-2, product-rule, "
         "differential-property-1"), "tr(A*dX)*c | trace-property-2"],
    ]),
    "fourth-power": ([SQ], "d(X^4)", "dX X^3 + X dX X^2 + X^2 dX X + X^3 dX", [
        ["d(X^4)", "dX X^3 + X dX X^2 + X^2 dX X + X^3 dX | diff-product"],
        ["d(X^2 X^2)", "d(X^2) X^2 + X^2 d(X^2) | product-rule",
         "(dX X + X dX) X^2 + X^2 (dX X + X dX) | product-rule",
         "dX X^3 + X dX X^2 + X^2 dX X + X^3 dX | algebra"],
        ["d(X*X^3)", "dX*X^3 + X*d(X^3) | product-rule",
         "dX X^3 + X dX X^2 + X^2 dX X + X^3 dX | diff-product"],
    ]),
}


WAYS = [(name, i) for name, case in CASES.items() for i in range(len(case[3]))]


def test_there_are_enough_cases():
    assert len(CASES) >= 30
    assert all(len(case[3]) >= 3 for case in CASES.values())


@pytest.mark.parametrize("name,way", WAYS, ids=[f"{n}-{i}" for n, i in WAYS])
def test_true_step_written_this_way_is_valid(tmp_path, name, way):
    variables, lhs, rhs, ways = CASES[name]
    fr = check(tmp_path, f"{name}-{way}", variables, lhs, rhs, ways[way])
    assert fr.status == "valid", _explain(fr)


# -- wrong steps stay refused ---------------------------------------------------------------------
WRONG = {
    # the product rule with the factors in the wrong order (A and X do not commute)
    "product-order": (["A: {shape: [n, n]}", SQ], "d(A X)", "X dA + dX A",
                      ["d(A X)", "X dA + dX A | diff-product"], "invalid"),
    "product-order-square": ([SQ], "d(X^2)", "2 X dX",
                             ["d(X^2)", "2 X dX | diff-product"], "invalid"),
    "cube-scalar-rule": ([SQ], "d(X^3)", "3 X^2 dX",
                         ["d(X^3)", "3 X^2 dX | diff-product"], "invalid"),
    # a factor 2 missing
    "missing-two": ([SQ], "d(tr(X^2))", "tr(X dX)",
                    ["d(tr(X^2))", "tr(X dX) | diff-trace, diff-product, trace-add, trace-cyclic"],
                    "invalid"),
    "missing-two-vector": (["x: {shape: [n, 1]}"], "d(x^T x)", "x^T dx",
                           ["d(x^T x)", "x^T dx | diff-product, diff-transpose, algebra"], "invalid"),
    # skipping to the answer citing only algebra
    "skip-by-algebra": ([CA, SQ], "d(tr(A X))", "tr(A dX)",
                        ["d(tr(A X))", "tr(A dX) | algebra"], "unjustified"),
    "cube-by-algebra": ([SQ], "d(X^3)", "dX X^2 + X dX X + X^2 dX",
                        ["d(X^3)", "dX X^2 + X dX X + X^2 dX | algebra"], "unjustified"),
    # a rule that is needed but not cited
    "cyclic-not-cited": ([SQ], "d(tr(X^2))", "2 tr(X dX)",
                         ["d(tr(X^2))", "2 tr(X dX) | diff-trace, diff-product, trace-add"],
                         "unjustified"),
    "product-not-cited": ([SQ], "d(X^3)", "dX X^2 + X dX X + X^2 dX",
                          ["d(X^3)", "dX X^2 + X dX X + X^2 dX | diff-add"], "unjustified"),
    "transpose-not-cited": ([SQ], "d(tr(X^T X))", "2 tr(X^T dX)",
                            ["d(tr(X^T X))", ("2 tr(X^T dX) | diff-trace, diff-product, "
                             "diff-transpose, trace-add")], "unjustified"),
    "constant-not-cited": ([CA, SQ], "d(A X)", "A dX",
                           ["d(A X)", "A dX | diff-product"], "unjustified"),
    "trace-add-not-cited": ([SQ], "tr(dX X X + X dX X + X X dX)", "tr(3 X^2 dX)",
                            ["tr(dX X X + X dX X + X X dX)", "tr(3 X^2 dX) | trace-cyclic, algebra"],
                            "unjustified"),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_step_is_refused(tmp_path, name):
    variables, lhs, rhs, lines, want = WRONG[name]
    fr = check(tmp_path, name, variables, lhs, rhs, lines)
    assert fr.status != "valid", _explain(fr)
    assert fr.steps[-1].status == want, _explain(fr)
