"""SPEC §7, fair grading: declarations compared by meaning, an unreadable line is that line's
error only (`needs_review`, milestones earned), and a transposed answer scores the same whatever
the shapes."""
import csv
import io

import pytest

from prover import grade as G
from test_grade import Q1_CLAIM, Q1_PROBLEM, Q1_VARS, VALID_Q1, grade_class, proof, run


# -- 1. declarations compared by meaning ---------------------------------------------------------
@pytest.mark.parametrize("variables", [
    "variables: {a: {shape: [n, 1]}, X: {shape: [n, n]}}",  # constant: true left out
    "variables: {a: {shape: [n, 1], constant: false}, X: {shape: [n, n]}}",
])
def test_constant_on_a_held_variable_of_a_derivative_claim_is_normalised(tmp_path, variables):
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(VALID_Q1, variables=variables)}})
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("valid", 10), p.reason
    assert "changes nothing" in p.feedback


def test_constant_added_where_the_assignment_has_none_is_normalised(tmp_path):
    problem = Q1_PROBLEM.replace("constant: true", "constant: false")
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(VALID_Q1)}}, problems=problem)
    assert g["s"]["q1"].status == "valid", g["s"]["q1"].reason


def test_an_unused_extra_variable_is_a_warning(tmp_path):
    variables = Q1_VARS[:-1] + ", b: {shape: [m, 1], constant: true}}"
    g, r = grade_class(tmp_path, {"s": {"q1.yaml": proof(VALID_Q1, variables=variables)}})
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("valid", 10), p.reason
    assert "warning: b is declared" in p.feedback and "does not use it" in p.feedback
    assert "warning: b is declared" in G.markdown_feedback(r, r.students[0])


def test_an_extra_variable_cannot_be_used_in_the_proof(tmp_path):
    """The proof is checked with the assignment's declarations: the extra name is unknown."""
    variables = Q1_VARS[:-1] + ", b: {shape: [n, 1], constant: true}}"
    steps = VALID_Q1[:6] + [("tr(a a^T dX + 0 b b^T)", "algebra"), ("tr(a a^T dX)", "algebra")]
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(steps, variables=variables)}})
    assert g["s"]["q1"].status != "valid" and g["s"]["q1"].score < 10


@pytest.mark.parametrize("variables,claim,why", [
    ("variables: {a: {shape: [m, 1], constant: true}, X: {shape: [m, m]}}", Q1_CLAIM,
     "declared m×1"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n], symmetric: true}}",
     Q1_CLAIM, "symmetric"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n], invertible: true}}",
     Q1_CLAIM, "invertible"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n], constant: true}}",
     Q1_CLAIM, "X is declared constant: true"),  # wrt itself: that changes the claim
    (Q1_VARS, "claim: {derivative: a^T X a + 0, wrt: X, equals: a a^T}", "claim was changed"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}, b: {shape: [n, 1]}}",
     "claim: {derivative: a^T X a + 0 b^T b, wrt: X, equals: a a^T}", "b is declared"),
])
def test_changes_that_matter_are_still_rejected(tmp_path, variables, claim, why):
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(VALID_Q1, variables=variables,
                                                         claim=claim)}})
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("rejected", 0), p.reason
    assert why in p.reason


def test_constant_in_an_identity_claim_is_still_compared(tmp_path):
    problem = """\
- id: q3
  points: 5
  claim: {lhs: tr(A B C), rhs: tr(C A B)}
  variables: {A: {shape: [m, n]}, B: {shape: [n, p]}, C: {shape: [p, m]}}
  allowed_rules: [trace-cyclic, algebra]
"""
    text = ("theorem: q3\nvariables: {A: {shape: [m, n], constant: true}, B: {shape: [n, p]}, "
            "C: {shape: [p, m]}}\nclaim: {lhs: tr(A B C), rhs: tr(C A B)}\nproof:\n"
            "  - expr: tr(A B C)\n  - expr: tr(C A B)\n    by: trace-cyclic\n")
    g, _ = grade_class(tmp_path, {"s": {"q3.yaml": text}}, problems=problem)
    assert g["s"]["q3"].status == "rejected" and "constant" in g["s"]["q3"].reason


# -- 2. a line that does not parse: needs_review, milestones earned ----------------------------
def test_an_unreadable_first_line_is_needs_review_with_the_milestones_in_every_format(tmp_path):
    broken = proof([("d(a^T X a", None)] + VALID_Q1[1:])  # a missing ) in the first line
    mid = proof(VALID_Q1[:3] + [("tr(d(a a^T X)", "theorem-3")] + VALID_Q1[4:])
    g, r = grade_class(tmp_path, {"first": {"q1.yaml": broken}, "mid": {"q1.yaml": mid},
                                  "ok": {"q1.yaml": proof(VALID_Q1)}})
    for who in ("first", "mid"):
        p = g[who]["q1"]
        assert (p.status, p.score) == ("needs_review", 5), (who, p.reason)
        assert "tr(G dX)" in p.partial and "review" in p.reason
    assert "line 5" in g["first"]["q1"].reason and "step 0" in g["first"]["q1"].reason
    assert "line 10" in g["mid"]["q1"].reason
    assert g["ok"]["q1"].status == "valid"

    first = next(s for s in r.students if s.student == "first")
    rows = list(csv.DictReader(io.StringIO(G.csv_report(r))))
    row = next(x for x in rows if x["student"] == "first" and x["problem"] == "q1")
    assert (row["status"], row["score"]) == ("needs_review", "5") and "line 5" in row["reason"]
    j = next(s for s in G.json_data(r)["students"] if s["student"] == "first")["problems"][0]
    assert (j["status"], j["score"]) == ("needs_review", 5) and "line 5" in j["reason"]
    assert "needs_review" in j["feedback"] and "line 5" in j["feedback"]
    text = G.text_report(r)
    assert any("needs_review" in ln and "line 5" in ln for ln in text.splitlines())
    assert "2 needs_review" in text  # the per-problem counts
    gs = G.gradescope_data(r, first)
    assert gs["score"] == 5 and "needs\\_review" in gs["tests"][0]["output"]  # Markdown
    assert "line 5" in gs["tests"][0]["output"]
    pl = G.prairielearn_data(r, first)
    assert pl["tests"][0]["points"] == 5 and "line 5" in pl["tests"][0]["message"]
    md = G.markdown_feedback(r, first)
    assert "needs_review" in md and "line 5" in md


def test_needs_review_never_earns_full_points_and_respects_policy_none(tmp_path):
    broken = proof([("d(a^T X a", None)] + VALID_Q1[1:])
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": broken}},
                       problems=Q1_PROBLEM + "  partial_credit: {policy: none}\n")
    assert (g["s"]["q1"].status, g["s"]["q1"].score) == ("needs_review", 0)


def test_an_unreadable_line_and_a_wrong_step_earn_only_what_checks(tmp_path):
    steps = [("d(a^T X a", None)] + VALID_Q1[1:4] + [("tr(d(a a^T) X)", "diff-product")] \
        + VALID_Q1[5:]
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(steps)}})
    p = g["s"]["q1"]
    assert p.status == "needs_review" and p.score == 0 and "step 4" in p.reason


def test_the_cli_csv_shows_needs_review(tmp_path):
    cls = tmp_path / "class" / "s"
    cls.mkdir(parents=True)
    (cls / "q1.yaml").write_text(proof([("d(a^T X a", None)] + VALID_Q1[1:]))
    (tmp_path / "hw.yaml").write_text("assignment: t\nproblems:\n" + "".join(
        "  " + ln + "\n" for ln in Q1_PROBLEM.splitlines()))
    code, out = run(tmp_path / "class", "--assignment", tmp_path / "hw.yaml", "--format", "csv")
    assert code == 0 and "s,q1,5,10,needs_review," in out and "line 5" in out


# -- 3. a transposed answer scores the same whatever the shapes ---------------------------------
def _layout_case(cols: str, open_answer: bool, answer: str, claim_equals: bool = True):
    """f = a^T X b, X m×cols (cols = m: square; n: rectangular; 1: x is a vector)."""
    b_shape = f"[{cols}, 1]"
    decl = (f"{{a: {{shape: [m, 1], constant: true}}, b: {{shape: {b_shape}, constant: true}}, "
            f"X: {{shape: [m, {cols}]}}}}")
    right = "b a^T"
    problem = ("- id: q1\n  points: 10\n  claim: {derivative: a^T X b, wrt: X"
               + ("" if open_answer else f", equals: {right}") + f"}}\n  variables: {decl}\n"
               "  allowed_rules: [theorem-1, theorem-2, theorem-3, diff-*, algebra, theorem-4]\n")
    eq = answer if open_answer else right
    claim = "claim: {derivative: a^T X b, wrt: X" + (f", equals: {eq}" if claim_equals else "") \
        + "}"
    steps = [("d(a^T X b)", None), ("d(tr(a^T X b))", "theorem-1"), ("d(tr(b a^T X))", "theorem-2"),
             ("tr(d(b a^T X))", "theorem-3"), ("tr(d(b a^T) X + b a^T dX)", "diff-product"),
             ("tr(0 X + b a^T dX)", "diff-constant"), ("tr(b a^T dX)", "algebra")]
    return problem, proof(steps, variables=f"variables: {decl}", claim=claim, derivative=answer)


@pytest.mark.parametrize("open_answer,claim_equals", [(True, True), (True, False),
                                                      (False, True)])
def test_a_transposed_answer_scores_the_same_for_square_rectangular_and_vector(
        tmp_path, open_answer, claim_equals):
    seen = []
    for cols in ("m", "n", "1"):
        problem, text = _layout_case(cols, open_answer, "a b^T", claim_equals)
        right_problem, right = _layout_case(cols, open_answer, "b a^T", claim_equals)
        (tmp_path / cols).mkdir()
        g, _ = grade_class(tmp_path / cols, {"slip": {"q1.yaml": text}}, problems=problem)
        p = g["slip"]["q1"]
        seen.append((p.status, p.score))
        assert "layout slip" in p.reason, (cols, p.reason)
        assert p.steps and p.steps[-1].status == "invalid"  # a step table, for every shape
        (tmp_path / (cols + "ok")).mkdir()
        g, _ = grade_class(tmp_path / (cols + "ok"), {"ok": {"q1.yaml": right}},
                           problems=right_problem)
        assert g["ok"]["q1"].status == "valid", (cols, g["ok"]["q1"].reason)
    assert seen == [("invalid", 5)] * 3


def test_the_assignment_sets_the_credit_for_a_layout_slip(tmp_path):
    for cols in ("m", "n", "1"):
        problem, text = _layout_case(cols, True, "a b^T")
        problem += "  partial_credit: {layout_slip: 0.8}\n"
        (tmp_path / cols).mkdir()
        g, _ = grade_class(tmp_path / cols, {"s": {"q1.yaml": text}}, problems=problem)
        p = g["s"]["q1"]
        assert (p.status, p.score) == ("invalid", 8), (cols, p.reason)
        assert "layout slip" in p.partial


def test_a_wrong_answer_that_is_not_a_transpose_is_not_a_slip(tmp_path):
    for cols in ("m", "n"):
        problem, text = _layout_case(cols, True, "2 b a^T")
        (tmp_path / cols).mkdir()
        g, _ = grade_class(tmp_path / cols, {"s": {"q1.yaml": text}}, problems=problem)
        p = g["s"]["q1"]
        assert p.status == "invalid" and "layout slip" not in p.reason and p.score == 5
