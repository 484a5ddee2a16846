"""Fair verdicts (issue 11): correct steps about rectangular Gram matrices, stated assumptions,
parenthesised 1×1 factors, X^-T, and checking that goes on after a bad line — and the wrong
steps next to them still refused."""
import json

import pytest

from prover.kernel.parser import parse
from prover.kernel.printer import show

from prover.proofs import check_file

from tests.test_limits import identity_proof, steps_of, write
from tests.test_grade import VALID_Q1, grade_class, proof

GRAM = "X: {shape: [m, n]}\n  A: {shape: [n, n], constant: true}\n  a: {shape: [n, 1], constant: true}"


def one_step(tmp_path, lhs, rhs, by, variables=GRAM, assume=""):
    text = identity_proof(lhs, [(rhs, by)], variables)
    if assume:
        text = text.replace("proof:", f"assume: {assume}\nproof:")
    return check_file(write(tmp_path, text))


# -- Gram matrices: the sizes sampled are where the claim is defined, whatever the names ----------
@pytest.mark.parametrize("m, n", [("m", "n"), ("p", "n"), ("n", "m"), ("z", "a1"), ("rows", "k")])
@pytest.mark.parametrize("lhs, rhs, by", [
    ("tr((X^T X)^-1 A)", "tr(A (X^T X)^-1)", "trace-cyclic"),
    ("d(log(det(X^T X)))", "tr((X^T X)^-1 d(X^T X))", "diff-log-det"),
    ("d((X^T X)^-1)", "-(X^T X)^-1 d(X^T X) (X^T X)^-1", "diff-inverse"),
])
def test_gram_steps_are_valid_whatever_the_dimensions_are_called(tmp_path, m, n, lhs, rhs, by):
    variables = GRAM.replace("[m, n]", f"[{m}, {n}]").replace("[n, n]", f"[{n}, {n}]").replace(
        "[n, 1]", f"[{n}, 1]")
    r = one_step(tmp_path, lhs, rhs, by, variables)
    assert r.status == "valid", [(s.status, s.message) for s in r.steps]
    sizes = steps_of(r)[1].sizes
    assert sizes and all(d[m] >= d[n] for d in sizes)  # only where X^T X can be invertible


def test_wrong_gram_steps_are_still_refused(tmp_path):
    r = one_step(tmp_path, "tr((X^T X)^-1 A)", "tr((X X^T)^-1 A)", "trace-cyclic")
    assert r.status == "error"  # (X X^T)^-1 is m×m, A is n×n: a shape error, not a pass
    r = one_step(tmp_path, "d(log(det(X^T X)))", "tr((X^T X)^-1 X^T dX)", "diff-log-det")
    assert steps_of(r)[1].status == "invalid"
    r = one_step(tmp_path, "d((X^T X)^-1)", "-(X^T X)^-1 d(X^T X) (X^T X)^-1 (X^T X)^-1",
                 "diff-inverse")
    assert steps_of(r)[1].status == "invalid"


def test_a_line_undefined_where_the_claim_is_defined_needs_an_assumption(tmp_path):
    """tr(X^T X) is defined at every size; a line through (X^T X)^-1 is not when m < n, so
    without an assumption that step is not confirmed (and says why); with `sizes: [m >= n]` or
    `invertible: [X^T X]` it is, and the verdict prints the assumption."""
    steps = [("tr((X^T X)^-1 X^T X X^T X)", "algebra"), ("tr(X^T X)", "algebra")]
    text = identity_proof("tr(X^T X)", steps, "X: {shape: [m, n]}")
    r = check_file(write(tmp_path, text))
    s = steps_of(r)[1]
    assert s.status == "invalid" and s.evidence == "unknown" and "assume" in s.message
    assert "m = 2, n = 3" in s.message or "n = 3, m = 2" in s.message
    for assume, shown in (("{sizes: ['m >= n']}", ["m >= n"]),
                          ("{invertible: [X' X]}", ["X^T X invertible"]),
                          ("{sizes: ['n <= m'], invertible: [X^T*X]}", ["n <= m", "X^T X invertible"])):
        r = check_file(write(tmp_path, text.replace("proof:", f"assume: {assume}\nproof:")))
        assert r.status == "valid", [(s.status, s.message) for s in r.steps]
        assert r.result.assumptions == shown


def test_a_rule_side_condition_is_met_by_an_assumption(tmp_path):
    lhs, rhs = "d(det(X^T X))", "det(X^T X) tr((X^T X)^-1 d(X^T X))"
    r = one_step(tmp_path, lhs, rhs, "diff-det")  # true where defined; X^T X not known invertible
    s = steps_of(r)[1]
    assert s.status == "unjustified" and "assume: {invertible: [X^T X]}" in s.help
    r = one_step(tmp_path, lhs, rhs, "diff-det", assume="{invertible: [X^T X]}")
    assert r.status == "valid", steps_of(r)[1].message


def test_assumptions_are_printed_with_the_verdict(tmp_path):
    from prover.render import json_report, text_report

    r = one_step(tmp_path, "d(det(X^T X))", "det(X^T X) tr((X^T X)^-1 d(X^T X))", "diff-det",
                 assume="{invertible: [X^T X]}")
    text = text_report([r], color=False)
    assert "assuming X^T X invertible" in text and "valid: 2 steps, assuming X^T X invertible" in text
    assert json.loads(json_report([r]))["files"][0]["assumptions"] == ["X^T X invertible"]


def test_an_assumption_never_makes_a_false_claim_valid(tmp_path):
    """tr(I) = 3 is true at n = 3 only: assuming n >= 3 leaves n = 4, 5, … where it is false."""
    r = one_step(tmp_path, "tr(A A^-1)", "3", "algebra", "A: {shape: [n, n]}",
                 assume="{sizes: ['n >= 3']}")
    assert r.status == "invalid"
    # an assumption no size satisfies is not a free pass
    r = one_step(tmp_path, "tr(X^T X)", "0", "algebra", "X: {shape: [m, n]}",
                 assume="{sizes: ['m > n', 'n > m']}")
    assert r.status == "invalid"
    r = one_step(tmp_path, "tr(X X^T)", "0", "algebra", "X: {shape: [m, n]}",
                 assume="{invertible: [X^T X - X^T X]}")
    assert r.status == "invalid"



@pytest.mark.parametrize("assume, why", [
    ("{sizes: ['m >= q']}", "not a relation between dimension symbols"),
    ("{sizes: ['m => n']}", "not a relation between sizes"),
    ("{sizes: ['3 > 2']}", "not a relation between sizes"),
    ("{sizes: ['n <= 4']}", "only lower bounds"),
    ("{sizes: ['5 > n']}", "only lower bounds"),
    ("{sizes: ['m != n']}", "not a relation between sizes"),
    ("{invertible: [X]}", "only a square matrix"),
    ("{invertible: ['X^T X +']}", "assume: invertible"),
    ("{positive: [X]}", "unknown key 'positive'"),
])
def test_bad_assumptions_are_errors_with_a_place(tmp_path, assume, why):
    r = one_step(tmp_path, "tr(X^T X)", "tr(X X^T)", "trace-cyclic", "X: {shape: [m, n]}",
                 assume=assume)
    assert r.status == "error" and why in r.message and r.line > 0


def test_grading_compares_assumptions_by_meaning(tmp_path):
    """A student may not add an assumption the assignment does not make (it would weaken the
    claim), and one written differently from the assignment's is the same assumption."""
    student = proof(VALID_Q1).replace("proof:", "assume: {sizes: ['n >= 3']}\nproof:")
    (tmp_path / "a").mkdir()
    g, _ = grade_class(tmp_path / "a", {"s": {"q1.yaml": student}})
    assert g["s"]["q1"].status == "rejected" and "assumes n >= 3" in g["s"]["q1"].reason
    problem = """\
    - id: g1
      points: 5
      claim: {lhs: "d(det(X^T X))", rhs: "det(X^T X) tr((X^T X)^-1 d(X^T X))"}
      variables: {X: {shape: [m, n]}}
      assume: {invertible: [X^T X]}
    """
    text = identity_proof("d(det(X^T X))", [("det(X^T X) tr((X^T X)^-1 d(X^T X))", "diff-det")],
                          "X: {shape: [m, n]}").replace("theorem: t", "theorem: g1")
    ok = text.replace("proof:", "assume: {invertible: ['(X^T)*X']}\nproof:")
    (tmp_path / "b").mkdir()
    g, _ = grade_class(tmp_path / "b", {"ok": ok, "none": text}, problems=problem)
    assert g["ok"]["g1"].status == "valid", g["ok"]["g1"].reason
    assert g["none"]["g1"].status == "rejected" and "assumes nothing" in g["none"]["g1"].reason


# -- notation ---------------------------------------------------------------------------------------
VEC = "X: {shape: [n, n]}\n  a: {shape: [n, 1]}\n  b: {shape: [n, 1]}\n  x: {shape: [n, 1]}"


@pytest.mark.parametrize("lhs, rhs", [
    ("X (b^T a)", "(a^T b) X"),
    ("X (b^T a) X", "(b^T a) X X"),
    ("x^T (x^T x) x", "(x^T x)^2"),
    ("a (b^T a) b^T", "(a^T b) a b^T"),
    ("0 a^T X b b + X x", "X x"),
])
def test_a_parenthesised_1x1_factor_scales_anything(tmp_path, lhs, rhs):
    r = one_step(tmp_path, lhs, rhs, "algebra", VEC)
    assert r.status == "valid", (r.message, [(s.status, s.message) for s in r.steps])


def test_a_product_that_no_grouping_reads_is_still_a_shape_error(tmp_path):
    r = one_step(tmp_path, "X a^T", "X a^T", "algebra", VEC)
    assert r.status == "error" and "X a^T" in r.message


def test_a_1x1_factor_does_not_commute_with_a_false_rewrite(tmp_path):
    r = one_step(tmp_path, "X (b^T a)", "(a^T b) X^T", "algebra", VEC)
    assert steps_of(r)[1].status == "invalid"


@pytest.mark.parametrize("text", ["X^-T", "X^{-T}", "X⁻ᵀ", "(X^-1)^T", "(X^{-1})'"])
def test_x_minus_t_reads_and_prints_back(text):
    e = parse(text, {"X"})
    assert show(e) == "X^-T" and parse(show(e), {"X"}) == e


def test_x_minus_t_is_the_transposed_inverse(tmp_path):
    r = one_step(tmp_path, "X^-T", "(X^T)^-1", "algebra", VEC)
    assert r.status == "valid"
    r = one_step(tmp_path, "X^-T", "X^-1", "algebra", VEC)
    assert steps_of(r)[1].status == "invalid"


def test_x_to_the_zero_is_the_identity(tmp_path):
    r = one_step(tmp_path, "tr(X^0)", "tr(X X^-1)", "algebra", VEC)
    assert r.status == "valid"


# -- checking goes on after a bad line ----------------------------------------------------------------
def test_steps_after_a_bad_start_line_are_checked_from_the_claim(tmp_path):
    text = identity_proof("tr(A X B)", [("tr(B A X)", "trace-cyclic"), ("tr(B A X +)", "algebra"),
                                        ("tr(X B A)", "trace-cyclic")],
                          "A: {shape: [n, n]}\n  B: {shape: [n, n]}\n  X: {shape: [n, n]}")
    text = text.replace("- expr: tr(A X B)", "- expr: tr(AXB)")
    r = check_file(write(tmp_path, text))
    st = [s.status for s in r.steps]
    assert st == ["error", "valid", "error", "valid"] and r.status == "invalid"
    assert any("claim's start" in w for w in steps_of(r)[1].warnings)
    assert any("step 1" in w for w in steps_of(r)[3].warnings)


@pytest.mark.parametrize("lhs, rhs", [("tr(X^13)", "tr(X^6 X^7)"), ("(X^2)^8", "(X^8)^2"),
                                      ("X^16", "X^8 X^8")])
def test_high_degree_steps_that_only_regroup_are_valid(tmp_path, lhs, rhs):
    r = one_step(tmp_path, lhs, rhs, "algebra", "X: {shape: [n, n]}")
    assert r.status == "valid", steps_of(r)[1].message


def test_high_degree_steps_that_change_the_value_are_refused(tmp_path):
    r = one_step(tmp_path, "tr(X^13)", "tr(X^6 X^6)", "algebra", "X: {shape: [n, n]}")
    assert r.status == "invalid" and steps_of(r)[1].evidence == "false"
