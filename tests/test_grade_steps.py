"""The grading issue "a one-line proof citing five rules gets full credit": `max_rules_per_step`
(per problem, with an assignment-level default; omitted = no limit). A step citing more distinct
rules (ids after alias resolution; `algebra` counts) ends the checked part there: the proof is
`invalid`, the reason names the step, the count and the limit, and the milestones reached before
that step still earn their credit."""
import pytest

from prover import grade as G
from test_grade import Q1_PROBLEM, VALID_Q1, assignment, grade_class, proof

# five distinct rules in one step (Theorem 3 is an alias of diff-trace: it counts once with it)
ONE_LINER = [("d(a^T X a)", None),
             ("tr(a a^T dX)", "[theorem-1, theorem-2, Theorem 3, diff-trace, diff-product, "
                              "diff-constant]")]
LIMIT_2 = Q1_PROBLEM + "  max_rules_per_step: 2\n"


def test_the_one_liner_passes_without_a_limit(tmp_path):
    """The default (no limit) is unchanged: the one-liner is valid."""
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(ONE_LINER)}})
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("valid", 10), p.reason


def test_a_five_rule_one_liner_under_a_limit_of_two_does_not_get_full_credit(tmp_path):
    g, r = grade_class(tmp_path, {"s": {"q1.yaml": proof(ONE_LINER)}}, problems=LIMIT_2)
    p = g["s"]["q1"]
    assert p.status == "invalid" and p.score == 0, (p.status, p.score, p.reason)
    assert p.reason.startswith("step 1 (line ")
    assert "cites 5 distinct rules" in p.reason
    assert "at most 2 per step" in p.reason and "max_rules_per_step: 2" in p.reason
    assert "split it into smaller steps" in p.feedback
    row = next(x for x in G.csv_report(r).splitlines() if x.startswith("s,q1,"))
    assert "cites 5 distinct rules" in row


def test_the_same_proof_in_small_steps_gets_full_credit(tmp_path):
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(VALID_Q1)}},
                       problems=Q1_PROBLEM + "  max_rules_per_step: 1\n")
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("valid", 10), p.reason


def test_two_rules_per_step_are_allowed_under_a_limit_of_two(tmp_path):
    steps = [("d(a^T X a)", None), ("d(tr(a a^T X))", "[theorem-1, theorem-2]"),
             ("tr(d(a a^T) X + a a^T dX)", "[theorem-3, diff-product]"),
             ("tr(a a^T dX)", "[diff-constant, algebra]")]
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(steps)}}, problems=LIMIT_2)
    assert (g["s"]["q1"].status, g["s"]["q1"].score) == ("valid", 10), g["s"]["q1"].reason


def test_an_alias_and_its_id_count_once_and_algebra_counts(tmp_path):
    # theorem-2 and "Theorem 2" are one rule (trace-cyclic); algebra is a rule like the others
    steps = VALID_Q1[:2] + [("d(tr(a a^T X))", "[theorem-2, Theorem 2, trace-cyclic]")] \
        + VALID_Q1[3:]
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(steps)}},
                       problems=Q1_PROBLEM + "  max_rules_per_step: 1\n")
    assert g["s"]["q1"].status == "valid", g["s"]["q1"].reason
    steps = VALID_Q1[:6] + [("tr(a a^T dX)", "[algebra, theorem-2]")]
    (tmp_path / "b").mkdir()
    g2, _ = grade_class(tmp_path / "b", {"s": {"q1.yaml": proof(steps)}},
                        problems=Q1_PROBLEM + "  max_rules_per_step: 1\n")
    p = g2["s"]["q1"]
    assert p.status == "invalid" and "cites 2 distinct rules" in p.reason, p.reason


def test_the_milestones_reached_before_the_long_step_still_count(tmp_path):
    """Small steps to tr(a a^T dX) (a trace_form milestone), then an over-limit last step: 50 %."""
    text = proof(VALID_Q1, derivative="").rstrip("\n") \
        + "\n  - derivative: a a^T\n    by: [theorem-4, algebra, theorem-2]\n"
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": text}}, problems=LIMIT_2)
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("invalid", 5), (p.status, p.score, p.reason)
    assert "step 7" in p.reason and "cites 3 distinct rules" in p.reason
    assert "reaches tr(G dX)" in p.partial


def test_an_earlier_wrong_step_is_named_first(tmp_path):
    steps = VALID_Q1[:2] + [("d(tr(2 a a^T X))", "theorem-2")] + ONE_LINER[1:]
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": proof(steps)}}, problems=LIMIT_2)
    p = g["s"]["q1"]
    assert p.status == "invalid" and p.reason.startswith("step 2"), p.reason


def test_the_assignment_default_applies_and_a_problem_overrides_it(tmp_path):
    head = "assignment: t\nmax_rules_per_step: 2\n"
    cls = tmp_path / "class"
    (cls / "s").mkdir(parents=True)
    (cls / "s" / "q1.yaml").write_text(proof(ONE_LINER))
    a = G.load_assignment(assignment(tmp_path, Q1_PROBLEM, head=head))
    assert a.problems[0].max_rules == 2
    p = G.grade(cls, a).students[0].problems[0]
    assert p.status == "invalid" and "at most 2 per step" in p.reason
    a = G.load_assignment(assignment(tmp_path, Q1_PROBLEM + "  max_rules_per_step: 6\n",
                                     name="hw2.yaml", head=head))
    assert a.problems[0].max_rules == 6
    assert G.grade(cls, a).students[0].problems[0].status == "valid"


def test_a_lemma_with_a_long_step_does_not_check(tmp_path):
    lemma = proof(ONE_LINER, theorem="quad")
    main = ("theorem: q1\nvariables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}\n"
            "claim: {derivative: a^T X a, wrt: X, equals: a a^T}\nproof:\n"
            "  - expr: d(a^T X a)\n  - derivative: a a^T\n    by: quad\n")
    problems = LIMIT_2 + "  allow_lemmas: true\n"
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": main, "quad.yaml": lemma}}, problems=problems)
    p = g["s"]["q1"]
    assert p.status != "valid" and p.score < 10, p.reason
    assert "cites 5 distinct rules" in p.reason


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", "true", "[2]"])
def test_the_option_must_be_a_positive_integer(tmp_path, value):
    for text, head in ((Q1_PROBLEM + f"  max_rules_per_step: {value}\n", "assignment: t\n"),
                       (Q1_PROBLEM, f"assignment: t\nmax_rules_per_step: {value}\n")):
        with pytest.raises(G.AssignmentError, match="max_rules_per_step"):
            G.load_assignment(assignment(tmp_path, text, head=head))
