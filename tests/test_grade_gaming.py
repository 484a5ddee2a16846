"""Red-team attacks on `prove grade`: submissions built to earn points they did not earn by a
correct proof of the assigned claim with allowed rules. Each must not earn them. The class is
graded once per assignment (module fixtures) so that the file stays fast."""

import pytest

from test_grade import Q1_PROBLEM, VALID_Q1, grade_class, proof

V = "variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}"


# -- the sample assignment's q1 (every rule of the proof allowed, no lemmas) ---------------------
HW = {
    # a line of garbage, then an unjustified jump to tr(a a^T dX), then a no-op that "reaches"
    # the milestone: without the garbage line the same proof is invalid and earns 0
    "garbage_skip": {"q1.yaml": proof([("d(a^T X a)", None), (")(", "algebra"),
                                       ("tr(a a^T dX)", "theorem-2"),
                                       ("tr(a a^T dX)", "algebra")])},
    "no_garbage": {"q1.yaml": proof([("d(a^T X a)", None), ("tr(a a^T dX)", "theorem-2"),
                                     ("tr(a a^T dX)", "algebra")])},
    # the garbage as the first line: the jump is checked from the claim's start
    "garbage_first": {"q1.yaml": proof([(")(", None), ("tr(a a^T dX)", "algebra"),
                                        ("tr(a a^T dX)", "algebra")])},
    # an undeclared name as the garbage (a name the student declared, unused by the claim)
    "garbage_name": {"q1.yaml": proof([("d(a^T X a)", None), ("d(Y)", "algebra"),
                                       ("tr(a a^T dX)", "theorem-3"),
                                       ("tr(a a^T dX)", "algebra")])},
    # honest slips: a missing ) in a real line still earns the milestones (needs_review)
    "typo_first": {"q1.yaml": proof([("d(a^T X a", None)] + VALID_Q1[1:])},
    "typo_mid": {"q1.yaml": proof(VALID_Q1[:3] + [("tr(d(a a^T X)", "theorem-3")]
                                  + VALID_Q1[4:])},
    "typo_late": {"q1.yaml": proof(VALID_Q1[:4] + [("tr(d(a a^T) X + a a^T dX", "diff-product")]
                                   + VALID_Q1[5:])},
    # a deliberate parse error after a full proof: never full points
    "full_then_garbage": {"q1.yaml": proof(VALID_Q1 + [(")(", "algebra")])},
    # a starting line that is already tr(G dX)
    "start_at_trace": {"q1.yaml": proof([("tr(a a^T dX)", None), ("tr(a a^T dX)", "algebra")])},
    # Theorem 4 read off a line that is not tr(G dX)
    "direct_answer": {"q1.yaml": proof([("d(a^T X a)", None)])},
    # citations outside the rule base: a glob, a made-up name
    "glob_citation": {"q1.yaml": proof([("d(a^T X a)", None), ("tr(a a^T dX)", "diff-*")])},
    # a file named for q1 whose theorem: is q3 (it is q3's proof, not q1's)
    "named_q1_theorem_q3": {"q1.yaml": proof(theorem="q3")},
    # two proofs of q1 (one wrong, one valid): error, not best-of
    "two_files": {"q1.yaml": proof(VALID_Q1, derivative="a^T a I"),
                  "other.yaml": proof(VALID_Q1)},
    # a Cyrillic а in the declarations and claim (a look-alike of a)
    "cyrillic": {"q1.yaml": proof(VALID_Q1, variables=V.replace("a:", "а:"),
                                  claim="claim: {derivative: а^T X а, wrt: X, equals: а а^T}")},
}
HW_GARBAGE_NAME_VARS = V[:-1] + ", Y: {shape: [1, 1]}}"
HW["garbage_name"]["q1.yaml"] = HW["garbage_name"]["q1.yaml"].replace(V, HW_GARBAGE_NAME_VARS)

Q3 = """\
- id: q3
  points: 5
  claim: {lhs: tr(A B C), rhs: tr(C A B)}
  variables: {A: {shape: [m, n]}, B: {shape: [n, p]}, C: {shape: [p, m]}}
  allowed_rules: [trace-cyclic, algebra]
"""


@pytest.fixture(scope="module")
def hw(tmp_path_factory):
    g, _ = grade_class(tmp_path_factory.mktemp("hw"), HW, problems=Q1_PROBLEM + Q3)
    return g


def test_a_garbage_line_does_not_excuse_an_unjustified_jump(hw):
    assert hw["no_garbage"]["q1"].score == 0
    for who in ("garbage_skip", "garbage_first", "garbage_name"):
        p = hw[who]["q1"]
        assert p.score == 0, (who, p.status, p.reason, p.partial)
        assert p.status == "needs_review"
        assert "does not produce it" in p.reason or "unjustified" in p.reason or "step 2" in p.reason


def test_an_honest_unreadable_line_still_earns_the_milestones(hw):
    for who in ("typo_first", "typo_mid", "typo_late"):
        p = hw[who]["q1"]
        assert (p.status, p.score) == ("needs_review", 5), (who, p.reason)


def test_a_parse_error_after_a_full_proof_is_not_full_points(hw):
    p = hw["full_then_garbage"]["q1"]
    assert p.score < 10 and p.status != "valid"


def test_no_milestone_without_deriving_it(hw):
    for who in ("start_at_trace", "direct_answer"):
        assert hw[who]["q1"].score == 0, who
        assert hw[who]["q1"].status == "invalid"


def test_citations_outside_the_rule_base_and_wrong_problems_earn_nothing(hw):
    assert (hw["glob_citation"]["q1"].status, hw["glob_citation"]["q1"].score) == ("rejected", 0)
    g = hw["named_q1_theorem_q3"]
    assert g["q1"].score == 0 and g["q3"].score == 0
    assert (hw["two_files"]["q1"].status, hw["two_files"]["q1"].score) == ("error", 0)
    assert (hw["cyrillic"]["q1"].status, hw["cyrillic"]["q1"].score) == ("rejected", 0)


# -- lemmas, max_rules_per_step and the layout-slip credit ---------------------------------------
STRICT = f"""\
- id: q1
  points: 10
  claim: {{derivative: a^T X a, wrt: X, equals: a a^T}}
  {V}
  allowed_rules: [theorem-1, theorem-3, diff-*, algebra, theorem-4]
  allow_lemmas: true
  max_rules_per_step: 2
  partial_credit: {{policy: milestones, layout_slip: 0.8}}
- id: q4
  points: 10
  claim: {{derivative: a^T X b, wrt: X}}
  variables: {{a: {{shape: [n, 1], constant: true}}, b: {{shape: [m, 1], constant: true}}, X: {{shape: [n, m]}}}}
  allowed_rules: [theorem-1, theorem-2, theorem-3, diff-*, algebra, theorem-4]
  max_rules_per_step: 2
  partial_credit: {{policy: milestones, layout_slip: 0.8}}
"""
ROT = f"""\
theorem: rot
{V}
claim: {{lhs: tr(a^T X a), rhs: tr(a a^T X)}}
proof:
  - expr: tr(a^T X a)
  - expr: tr(a a^T X)
    by: %s
"""
BIG = f"""\
theorem: big
{V}
claim: {{lhs: d(tr(a^T X a)), rhs: tr(a a^T dX)}}
proof:
  - expr: d(tr(a^T X a))
  - expr: tr(a a^T dX)
    by: [theorem-3, diff-product, diff-constant, algebra]
"""
USES_ROT = [VALID_Q1[0], VALID_Q1[1], ("d(tr(a a^T X))", "rot")] + VALID_Q1[3:]
Q4_HEAD = """\
theorem: q4
variables: {a: {shape: [n, 1], constant: true}, b: {shape: [m, 1], constant: true}, X: {shape: [n, m]}}
claim: {derivative: a^T X b, wrt: X, equals: a b^T}
proof:
  - expr: d(a^T X b)
"""
Q4_STEPS = """\
  - expr: d(tr(a^T X b))
    by: theorem-1
  - expr: d(tr(b a^T X))
    by: theorem-2
  - expr: tr(d(b a^T X))
    by: theorem-3
  - expr: tr(d(b a^T) X + b a^T dX)
    by: diff-product
  - expr: tr(0 X + b a^T dX)
    by: diff-constant
  - expr: tr(b a^T dX)
    by: algebra
"""
Q4_SLIP = "  - derivative: a b^T\n    by: theorem-4\n"
STRICT_CLASS = {
    "lemma_disallowed": {"q1.yaml": proof(USES_ROT), "rot.yaml": ROT % "theorem-2"},
    "lemma_alias": {"q1.yaml": proof(USES_ROT), "rot.yaml": ROT % "Theorem 2"},
    "lemma_alias_list": {"q1.yaml": proof(USES_ROT), "rot.yaml": ROT % "[algebra, TRACE_CYCLIC]"},
    "lemma_big": {"q1.yaml": proof([VALID_Q1[0], VALID_Q1[1], ("tr(a a^T dX)", "big")]),
                  "big.yaml": BIG},
    "lemma_in_list": [proof(USES_ROT), ROT % "theorem-2"],
    # the citations of one long step split over a garbage line, to get past the limit
    "garbage_split": {"q1.yaml": proof([("d(a^T X a)", None), (")(", "[theorem-1, theorem-3]"),
                                        ("tr(d(a^T X a))", "algebra"),
                                        ("tr(d(a^T X a))", "algebra")], derivative="")},
    # one rule spelled three ways counts once; two distinct rules plus algebra is three
    "over_limit": {"q1.yaml": proof([("d(a^T X a)", None),
                                     ("tr(d(a^T X a))", "[theorem-1, theorem-3, algebra]")],
                                    derivative="")},
    "q4_slip": {"q4.yaml": Q4_HEAD + Q4_STEPS + Q4_SLIP},
    # the layout-slip credit claimed after a garbage line and an unjustified jump
    "q4_slip_garbage": {"q4.yaml": Q4_HEAD + "  - expr: )(\n    by: algebra\n"
                        "  - expr: tr(b a^T dX)\n    by: algebra\n" + Q4_SLIP},
    # a wrong answer that is not a transpose is not a slip
    "q4_wrong": {"q4.yaml": Q4_HEAD.replace("a b^T", "2 a b^T") + Q4_STEPS
                 + "  - derivative: 2 a b^T\n    by: theorem-4\n"},
}


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    students = dict(STRICT_CLASS)
    students["lemma_in_list"] = "\n".join("- " + t.replace("\n", "\n  ").rstrip() + "\n"
                                          for t in students["lemma_in_list"])
    g, _ = grade_class(tmp_path_factory.mktemp("strict"), students, problems=STRICT)
    return g


def test_a_lemma_cannot_smuggle_a_rule_the_problem_does_not_allow(strict):
    for who in ("lemma_disallowed", "lemma_alias", "lemma_alias_list", "lemma_in_list"):
        p = strict[who]["q1"]
        assert (p.status, p.score) == ("rejected", 0), (who, p.reason)
        assert "lemma rot" in p.reason and "does not allow" in p.reason


def test_a_lemma_cannot_hide_a_step_over_the_limit(strict):
    p = strict["lemma_big"]["q1"]
    assert p.status == "invalid" and p.score == 0 and "lemma 'big'" in p.reason


def test_a_garbage_line_cannot_split_a_step_over_the_limit(strict):
    p = strict["garbage_split"]["q1"]
    assert p.score == 0 and p.status == "needs_review", p.reason
    p = strict["over_limit"]["q1"]
    assert p.status == "invalid" and p.score == 0 and "max_rules_per_step" in p.reason


def test_the_layout_slip_credit_is_only_for_a_transposed_answer(strict):
    assert (strict["q4_slip"]["q4"].status, strict["q4_slip"]["q4"].score) == ("invalid", 8)
    p = strict["q4_slip_garbage"]["q4"]
    assert p.score == 0, (p.status, p.reason, p.partial)
    p = strict["q4_wrong"]["q4"]
    assert p.status == "invalid" and p.score == 5 and "layout slip" not in p.reason
