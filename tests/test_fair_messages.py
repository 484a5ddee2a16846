"""Every refusal teaches (SPEC §5): an `unjustified` step names rules that the kernel accepts
(or a line that splits it), a false claim is named with a small counterexample and the true
derivative, counterexamples are small exact numbers in every output, and misspellings get a
did-you-mean. Explanations never change a verdict: wrong steps stay `invalid`."""
import json
import re
from pathlib import Path

import pytest

from prover.proofs import check_file
from prover.rulebase import load_rulebook
from tests.helpers import run

ROOT = Path(__file__).resolve().parents[1]
QF_VARS = "variables:\n  S: {shape: [n, n], constant: true}\n  x: {shape: [n, 1]}\n"


def qf(equals: str, steps: str) -> str:
    return (f"theorem: qf\n{QF_VARS}claim:\n  derivative: x^T S x\n  wrt: x\n  equals: {equals}\n"
            f"proof:\n  - expr: d(x^T S x)\n{steps}")


def check(tmp_path, text: str, name: str = "p.yaml", **kw):
    p = tmp_path / name
    p.write_text(text)
    return check_file(p, **kw)


def small(cex, limit: int = 100) -> bool:
    """Every number of a counterexample is a small exact rational (no residues mod a prime)."""
    nums = [x for m in [*cex.values.values(), cex.lhs, cex.rhs] for row in m for x in row]
    return cex.modulus is None and all(abs(x.numerator) <= limit and x.denominator <= limit
                                       for x in nums)


def big_numbers(text: str) -> list[str]:
    return [n for n in re.findall(r"\d+", text) if len(n) > 6]


def recite(tmp_path, text: str, line: str, rules: list[str]) -> str:
    """The same proof with one step's citation replaced."""
    lines = text.splitlines()
    i = lines.index(f"  - expr: {line}")
    lines[i + 1] = "    by: [" + ", ".join(rules) + "]"
    return "\n".join(lines) + "\n"


# -- 1. unjustified steps name rules that work -------------------------------------------------
UNJ = qf("x^T (S + S^T)",
         "  - expr: d(x^T) S x + x^T S dx\n    by: diff-product\n"
         "  - expr: dx^T S x + x^T S dx\n    by: diff-constant\n"
         "  - expr: x^T S^T dx + x^T S dx\n    by: algebra\n"
         "  - expr: tr(x^T (S^T + S) dx)\n    by: theorem-1\n"
         "  - derivative: x^T (S + S^T)\n    by: theorem-4\n")


def test_missing_diff_transpose_is_named_not_a_side_condition(tmp_path):
    s = check(tmp_path, UNJ).steps[2]
    assert s.status == "unjustified"
    assert "needs" not in s.message and "to be constant" not in s.message
    assert "diff-transpose would justify it" in s.message and s.suggestion == ["diff-transpose"]


def test_product_rule_step_names_the_missing_diff_constant(tmp_path):
    s = check(tmp_path, UNJ).steps[1]
    assert s.status == "unjustified"
    assert s.suggestion == ["diff-product", "diff-constant"]
    assert "it also needs diff-constant" in s.message


def test_every_suggestion_is_accepted_when_cited(tmp_path):
    fr = check(tmp_path, UNJ)
    fixed = UNJ
    for s in fr.steps:
        if s.status == "unjustified" and s.suggestion:
            fixed = recite(tmp_path, fixed, s.source_text, s.suggestion)
    again = check(tmp_path, fixed, "fixed.yaml")
    assert [s.status for s in again.steps] == ["valid"] * 6 and again.status == "valid"


X2 = ("theorem: x2\nvariables:\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(X^2)\n  wrt: X\n"
      "  equals: 2 X\nproof:\n  - expr: d(tr(X^2))\n  - expr: tr(d(X^2))\n    by: diff-trace\n"
      "  - expr: tr(2 dX X)\n    by: diff-product\n  - expr: tr(2 X dX)\n    by: trace-cyclic\n"
      "  - derivative: 2 X\n    by: theorem-4\n")


def test_square_under_trace_names_working_rules(tmp_path):
    s = check(tmp_path, X2).steps[2]
    assert s.status == "unjustified" and s.suggestion and "diff-product" in s.suggestion
    assert "would justify it" in s.message
    again = check(tmp_path, recite(tmp_path, X2, "tr(2 dX X)", s.suggestion), "fixed.yaml")
    assert again.steps[2].status == "valid" and again.status == "valid"


def test_algebra_that_skips_the_product_rule_names_it():
    s = check_file(ROOT / "tests/fail/product-rule-skipped-as-algebra.yaml").steps[4]
    assert s.status == "unjustified" and "diff-product" in s.suggestion
    assert "would justify it" in s.message


def test_theorem4_after_a_line_not_of_the_form_tr_G_dX_names_the_line(tmp_path):
    text = ("theorem: far\nvariables:\n  X: {shape: [n, n]}\n  A: {shape: [n, n], constant: true}\n"
            "claim:\n  derivative: tr(A X X)\n  wrt: X\n  equals: X A + A X\nproof:\n"
            "  - expr: d(tr(A X X))\n  - expr: tr(X A dX + A X dX)\n"
            "    by: [diff-trace, diff-product, diff-constant, trace-add, trace-cyclic]\n"
            "  - derivative: X A + A X\n    by: theorem-4\n")
    s = check(tmp_path, text).steps[-1]
    assert s.status == "unjustified"
    assert "write the line tr((X A + A X) dX) before it, by algebra" in s.help


# -- 2. a false claim is named ------------------------------------------------------------------
FALSE_CLAIM = qf("x^T S",
                 "  - expr: dx^T S x + x^T S dx\n    by: [diff-product, diff-transpose, diff-constant]\n"
                 "  - expr: x^T S^T dx + x^T S dx\n    by: algebra\n"
                 "  - expr: tr(x^T (S^T + S) dx)\n    by: theorem-1\n"
                 "  - derivative: x^T S\n    by: theorem-4\n")


def test_false_derivative_claim_is_named_with_the_true_derivative(tmp_path):
    fr = check(tmp_path, FALSE_CLAIM)
    assert fr.status == "invalid"
    assert fr.message.startswith("the claim is false: ∂(x^T S x)/∂x = x^T (S + S^T)")
    assert "confirmed by the kernel" in fr.message and "not x^T S;" in fr.message
    assert "counterexample at n = " in fr.message and not big_numbers(fr.message)
    last = fr.steps[-1]
    assert last.status == "invalid" and small(last.counterexample)


def test_false_claim_in_json_and_text(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(FALSE_CLAIM)
    code, out = run("check", "--format", "json", p)
    assert code == 1
    f = json.loads(out)["files"][0]
    assert "the claim is false" in f["message"] and not big_numbers(out)
    assert all("modulus" not in s.get("counterexample", {}) for s in f["steps"])
    code, text = run("check", p)
    assert "the claim is false" in text and not big_numbers(text)


def test_denominator_layout_claim_gets_the_derivative_in_its_layout():
    fr = check_file(ROOT / "tests/fail/derivative-wrong-layout.yaml")
    assert fr.message.startswith("the claim is false: ∂(a^T X b)/∂X = a b^T")


def test_false_identity_claim_is_named(tmp_path):
    text = ("theorem: id\nvariables:\n  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n"
            "claim: {lhs: tr(A B), rhs: tr(A^T B)}\nproof:\n  - expr: tr(A B)\n"
            "  - expr: tr(B A)\n    by: trace-cyclic\n")
    fr = check(tmp_path, text)
    assert fr.status == "invalid" and fr.steps[1].status == "valid"
    assert fr.message.startswith("the claim is false: tr(A B) ≠ tr(A^T B); counterexample at n = ")
    assert "dA" not in fr.message and not big_numbers(fr.message)


def test_true_identity_stopping_short_names_the_last_step():
    fr = check_file(ROOT / "tests/fail/stops-before-rhs.yaml")
    assert fr.status == "invalid" and "claim is false" not in fr.message
    assert "a last step to tr(B C A) by trace-cyclic would finish it" in fr.message


def test_a_true_claim_is_never_called_false(tmp_path):
    fr = check(tmp_path, UNJ)
    assert fr.status == "invalid" and "claim is false" not in fr.message


# -- 3. counterexamples are readable everywhere -------------------------------------------------
def test_derivative_not_read_off_tr_G_dX_has_a_small_counterexample(tmp_path):
    text = qf("x^T S", "  - expr: dx^T S x + x^T S dx\n"
              "    by: [diff-product, diff-transpose, diff-constant]\n"
              "  - derivative: x^T S\n    by: theorem-4\n")
    s = check(tmp_path, text).steps[-1]
    assert s.status == "invalid" and s.counterexample is not None and small(s.counterexample)
    p = tmp_path / "q.yaml"
    p.write_text(text)
    code, out = run("check", "--format", "json", p)
    assert code == 1 and not big_numbers(out) and '"modulus"' not in out


def test_an_unconfirmed_rule_has_a_small_counterexample(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in (ROOT / "rules").glob("*.yaml"):
        (rules / f.name).write_text(f.read_text())
    (rules / "bogus.yaml").write_text(
        "rules:\n  - id: trace-bogus\n    statement: tr(A B) = tr(A^T B)\n    variables:\n"
        "      A: {shape: [n, n]}\n      B: {shape: [n, n]}\n    source: none\n"
        "    summary: false on purpose\n")
    _, book = load_rulebook(rules)
    text = ("theorem: t\nvariables:\n  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n"
            "claim: {lhs: tr(A B), rhs: tr(A^T B)}\nproof:\n  - expr: tr(A B)\n"
            "  - expr: tr(A^T B)\n    by: trace-bogus\n")
    s = check(tmp_path, text, book=book).steps[1]
    assert s.status == "error" and "not confirmed" in s.message
    assert small(s.counterexample) and s.counterexample.labels == ("left side", "right side")


@pytest.mark.parametrize("name", ["matrix-product-commutes", "diff-square-as-scalar",
                                  "trace-noncyclic-permutation", "diff-det-missing-factor",
                                  "derivative-transposed", "diff-constant-on-varying"])
def test_wrong_steps_stay_invalid_with_a_small_counterexample(name):
    fr = check_file(ROOT / f"tests/fail/{name}.yaml")
    bad = [s for s in fr.steps if s.status == "invalid"]
    assert fr.status == "invalid" and bad
    assert all(s.counterexample is not None and small(s.counterexample) for s in bad)


def test_square_as_scalar_says_what_the_product_rule_gives():
    s = check_file(ROOT / "tests/fail/diff-square-as-scalar.yaml").steps[1]
    assert s.status == "invalid" and "does not apply anywhere" not in s.help
    assert "the cited rule gives dX X + X dX" in s.help


# -- 4. did you mean ----------------------------------------------------------------------------
DYM = "  A: {shape: [n, n]}\n  X: {shape: [n, n]}\n  B: {shape: [n, n]}\n"


@pytest.mark.parametrize("line, help", [
    ("tr(AXB)", "did you mean A X B?"),
    ("trace(A X B)", "did you mean tr(…)?"),
    ("Tr(A X B)", "did you mean tr(…)?"),
    ("tr(A inv(X^-1) B)", "did you mean X^-1? write (…)^-1"),
    ("tr(A transpose(X^T) B)", "did you mean X^T? write (…)^T"),
])
def test_did_you_mean(tmp_path, line, help):
    text = (f"theorem: t\nvariables:\n{DYM}claim: {{lhs: tr(A X B), rhs: tr(A X B)}}\n"
            f"proof:\n  - expr: tr(A X B)\n  - expr: {line}\n    by: algebra\n")
    s = check(tmp_path, text).steps[1]
    assert s.status == "error" and help in s.help
