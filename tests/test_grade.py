"""`prove grade` (SPEC §7, issue 4): the sample class, scoring that cannot be gamed, the output
shapes, the Gradescope autograder layout, and isolation of hostile submissions."""
import json
import os
import textwrap
from pathlib import Path

import jsonschema
import pytest
from grading_fixtures import Q1_CLAIM, Q1_VARS, VALID_Q1, proof
from helpers import run_cli

from prover import grade as G

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HW = EXAMPLES / "hw.yaml"



def run(*args, env=None):
    r = run_cli(["grade", *map(str, args)], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


def assignment(tmp_path, problems_yaml, name="hw.yaml", head="assignment: t\n"):
    p = tmp_path / name
    p.write_text(head + "problems:\n" + textwrap.indent(textwrap.dedent(problems_yaml), "  "))
    return p


Q1_PROBLEM = f"""\
- id: q1
  points: 10
  {Q1_CLAIM}
  {Q1_VARS}
  allowed_rules: [theorem-1, theorem-2, theorem-3, diff-*, algebra, theorem-4]
"""


def grade_class(tmp_path, students: dict, problems=Q1_PROBLEM, **kw):
    """students: name -> {file name: text} (a folder) or text (one YAML file)."""
    cls = tmp_path / "class"
    cls.mkdir(exist_ok=True)
    for name, files in students.items():
        if isinstance(files, str):
            (cls / f"{name}.yaml").write_text(files)
        else:
            (cls / name).mkdir()
            for fname, text in files.items():
                (cls / name / fname).write_text(text)
    a = G.load_assignment(assignment(tmp_path, problems))
    report = G.grade(cls, a, **kw)
    return {s.student: {p.id: p for p in s.problems} for s in report.students}, report


# -- the sample class ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    a = G.load_assignment(HW)
    return G.grade(EXAMPLES / "class", a, jobs=2)


def test_sample_class_prints_the_expected_csv():
    code, out = run(EXAMPLES / "class", "--assignment", HW, "--format", "csv", "--jobs", "2")
    assert code == 0
    assert out == (EXAMPLES / "expected.csv").read_text()
    header = out.splitlines()[0]
    assert header == "student,problem,score,max_score,status,reason"


def test_every_status_and_every_hostile_submission_scores_zero_with_a_reason(sample):
    by = {s.student: {p.id: p for p in s.problems} for s in sample.students}
    seen = {p.status for s in sample.students for p in s.problems}
    assert seen == set(G.STATUSES) - {"needs_review"}  # (tests/test_grade_fair.py)
    for student in ("heidi", "ivan"):  # binary, empty, alias bomb, X^999999999, ...
        for p in by[student].values():
            assert p.score == 0 and p.reason, (student, p.id)
    assert "binary" in by["heidi"]["q1"].reason
    assert "empty" in by["heidi"]["q2"].reason
    assert "anchors" in by["heidi"]["q3"].reason or "aliases" in by["heidi"]["q3"].reason
    assert "999999999" in by["ivan"]["q1"].reason
    assert "10000 steps" in by["ivan"]["q2"].reason
    assert "nests too deeply" in by["ivan"]["q3"].reason
    # ... and nobody else was affected
    assert [p.score for p in by["alice"].values()] == [10, 10, 5]
    assert by["kim"]["q1"].score == by["carol"]["q1"].score == 5  # padding earned nothing


def test_json_has_exactly_the_documented_shape(sample):
    data = G.json_data(sample)
    assert set(data) == {"assignment", "students"} and data["assignment"] == "hw3"
    for s in data["students"]:
        assert set(s) == {"student", "score", "max_score", "problems"}
        assert s["score"] == sum(p["score"] for p in s["problems"])
        for p in s["problems"]:
            assert set(p) == {"id", "score", "max_score", "status", "reason", "feedback"}
            assert p["status"] in G.STATUSES


GRADESCOPE = {
    "type": "object", "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0}, "output": {"type": "string"},
        "tests": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "score", "max_score", "output", "visibility"],
            "properties": {"name": {"type": "string"}, "score": {"type": "number", "minimum": 0},
                           "max_score": {"type": "number", "minimum": 0},
                           "output": {"type": "string"},
                           "status": {"enum": ["passed", "failed"]},
                           "visibility": {"enum": ["hidden", "after_due_date", "after_published",
                                                   "visible"]}}}}}}
PRAIRIELEARN = {
    "type": "object", "required": ["gradable", "score", "tests"],
    "properties": {
        "gradable": {"type": "boolean"}, "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"}, "output": {"type": "string"},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["name", "points", "max_points"],
            "properties": {"name": {"type": "string"}, "points": {"type": "number", "minimum": 0},
                           "max_points": {"type": "number", "minimum": 0},
                           "message": {"type": "string"}, "output": {"type": "string"},
                           "description": {"type": "string"}}}}}}


def test_gradescope_and_prairielearn_validate_against_their_shapes(sample):
    for s in sample.students:
        gs = G.gradescope_data(sample, s)
        jsonschema.validate(gs, GRADESCOPE)
        assert gs["score"] == sum(t["score"] for t in gs["tests"])
        pl = G.prairielearn_data(sample, s)
        jsonschema.validate(pl, PRAIRIELEARN)
        assert pl["score"] == pytest.approx(s.score / s.max_score, abs=1e-4)
    carol = next(s for s in sample.students if s.student == "carol")
    out = G.gradescope_data(sample, carol)["tests"][0]["output"]
    assert "counterexample at n = 2" in out and "✗ invalid" in out  # feedback: verdicts, cex


def test_cli_writes_one_results_file_per_student(tmp_path):
    code, _ = run(EXAMPLES / "class", "--assignment", HW, "--format", "prairielearn",
                  "-o", tmp_path / "pl")
    assert code == 0
    files = sorted(p.parent.name for p in (tmp_path / "pl").glob("*/results.json"))
    assert files == sorted(["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                            "ivan", "kim"])
    jsonschema.validate(json.loads((tmp_path / "pl" / "bob" / "results.json").read_text()),
                        PRAIRIELEARN)


def test_gradescope_autograder_in_a_fake_autograder_tree(tmp_path):
    root = tmp_path / "autograder"
    (root / "source" / "problems").mkdir(parents=True)
    (root / "submission" / "nested").mkdir(parents=True)
    (root / "source" / "assignment.yaml").write_text(HW.read_text())
    (root / "source" / "problems" / "frobenius.yaml").write_text(
        (EXAMPLES / "problems" / "frobenius.yaml").read_text())
    for f in ("q1.yaml", "q2.yaml"):
        (root / "submission" / f).write_text((EXAMPLES / "class" / "carol" / f).read_text())
    (root / "submission" / "nested" / "q3.yaml").write_text(
        (EXAMPLES / "class" / "carol" / "q3.yaml").read_text())
    code, out = run("--gradescope", env={"PROVE_AUTOGRADER_ROOT": str(root)})
    assert code == 0, out
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE)
    assert results["score"] == 15
    assert [t["score"] for t in results["tests"]] == [5, 5, 5]
    assert "submission" in out  # the text report goes to stdout, for the instructor
    # the option overrides the environment
    (root / "results" / "results.json").unlink()
    code, _ = run("--gradescope", "--autograder-root", root)
    assert code == 0 and (root / "results" / "results.json").exists()


def test_feedback_pages(tmp_path):
    code, _ = run(EXAMPLES / "class", "--assignment", HW, "--feedback", tmp_path / "fb",
                  "--format", "json", "-o", tmp_path / "out.json")
    assert code == 0
    pages = {p.stem for p in (tmp_path / "fb").glob("*.md")}
    assert {"alice", "bob", "heidi"} <= pages
    bob = (tmp_path / "fb" / "bob.md").read_text()
    assert bob.startswith("# hw3 — bob: 12.5/25")
    assert "| 4 | 33 | `tr(X^T dX)` | trace-transpose | ✗ invalid |" in bob
    assert "counterexample at m = 2, n = 2" in bob and "Partial credit" in bob  # the smallest sizes first
    assert json.loads((tmp_path / "out.json").read_text())["assignment"] == "hw3"


# -- scoring that cannot be gamed ----------------------------------------------------------------
BROKEN = VALID_Q1  # reaches tr(a a^T dX), then reads off a wrong derivative


def test_padding_earns_nothing(tmp_path):
    noop = [("tr(a a^T dX)", "algebra"), ("tr(dX a a^T)", "theorem-2"),
            ("tr(a a^T dX)", "theorem-2")] * 8
    early = [("d(tr(a^T X a))", "algebra"), ("d(tr(tr(a^T X a)))", "theorem-1"),
             ("d(tr(a^T X a))", "theorem-1")] * 4
    students = {
        "plain": {"q1.yaml": proof(BROKEN, derivative="a^T a I")},
        "padded": {"q1.yaml": proof(BROKEN[:2] + early + BROKEN[2:] + noop,
                                    derivative="a^T a I")},
        "after": {"q1.yaml": proof(BROKEN + [("tr(2 a a^T dX)", "algebra")] + noop * 2,
                                   derivative="2 a a^T")},
        "stalled": {"q1.yaml": proof(VALID_Q1[:2] + early * 3 + [("tr(a a^T dX)", "algebra")],
                                     derivative="a a^T")},
        "only_padding": {"q1.yaml": proof(VALID_Q1[:2] + early * 3, derivative="")},
    }
    g, _ = grade_class(tmp_path, students, jobs=2)
    assert g["plain"]["q1"].score == 5 and g["plain"]["q1"].status == "invalid"
    assert g["padded"]["q1"].score == 5
    assert g["after"]["q1"].score == 5  # nothing after the first broken step counts
    assert g["stalled"]["q1"].score == 0 and g["stalled"]["q1"].status == "invalid"
    assert g["only_padding"]["q1"].score == 0 and g["only_padding"]["q1"].status == "incomplete"


def test_partial_credit_milestones_and_policy_none(tmp_path):
    half = VALID_Q1[:5] + [("tr(a a^T dX)", "diff-constant")] + [("tr(a^T a dX)", "algebra")]
    quarter = VALID_Q1[:6] + [("tr(2 a a^T dX)", "algebra")]
    students = {"half": {"q1.yaml": proof(half, derivative="a a^T")},
                "quarter": {"q1.yaml": proof(quarter, derivative="")}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    g, _ = grade_class(tmp_path / "a", students)
    assert g["half"]["q1"].score == 5 and "tr(G dX)" in g["half"]["q1"].partial
    assert g["quarter"]["q1"].score == 2.5 and "expands" in g["quarter"]["q1"].partial
    none = Q1_PROBLEM + "  partial_credit: {policy: none}\n"
    g, _ = grade_class(tmp_path / "b", students, problems=none)
    assert g["half"]["q1"].score == 0 and g["quarter"]["q1"].score == 0


@pytest.mark.parametrize("variables,claim,why", [
    ("variables: {a: {shape: [n, 1], constant: true}, Y: {shape: [n, n]}}",
     "claim: {derivative: a^T Y a, wrt: Y, equals: a a^T}", "Y is declared"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n], constant: true}}",
     Q1_CLAIM, "constant: true"),
    ("variables: {a: {shape: [m, 1], constant: true}, X: {shape: [m, m]}}",
     Q1_CLAIM, "declared m×1"),
    ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n], symmetric: true}}",
     Q1_CLAIM, "symmetric"),
    # (constant: true left out on a, or an unused extra variable, are accepted by meaning:
    # tests/test_grade_fair.py)
    (Q1_VARS, "claim: {derivative: tr(a a^T X), wrt: X, equals: a a^T}", "claim was changed"),
    (Q1_VARS, "claim: {derivative: a^T X a, wrt: X, equals: (a a^T)^T}", "claim was changed"),
    (Q1_VARS, "claim: {lhs: a^T X a, rhs: tr(a a^T X)}", "identity"),
    (Q1_VARS, "claim: {derivative: a^T X a, wrt: X, equals: a a^T}\nlayout: denominator",
     "layout"),
    (Q1_VARS, "claim: {derivative: a^T X^99 a, wrt: X, equals: a a^T}", "does not parse"),
])
def test_changed_claim_or_declarations_earn_nothing(tmp_path, variables, claim, why):
    text = proof(VALID_Q1, variables=variables, claim=claim)
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": text}})
    p = g["s"]["q1"]
    assert (p.status, p.score) == ("rejected", 0), p.reason
    assert why in p.reason


def test_same_claim_written_differently_is_accepted(tmp_path):
    claim = "claim: {derivative: (a^T)*X*a, wrt: X, equals: ((a a')) }"
    variables = "variables: {X: {shape: [n, n]}, a: {constant: true, shape: [n, 1]}}"
    text = proof(VALID_Q1, variables=variables, claim=claim)
    g, _ = grade_class(tmp_path, {"s": {"q1.yaml": text}})
    assert g["s"]["q1"].status == "valid", g["s"]["q1"].reason


def test_citations_are_gated(tmp_path):
    swap = [("d(tr(a a^T X))", "trace-transpose")]
    students = {
        "alias": {"q1.yaml": proof([(e, {"theorem-2": "Trace Property 4", "diff-product":
                                         "product rule"}.get(b, b)) for e, b in VALID_Q1])},
        "forbidden": {"q1.yaml": proof(VALID_Q1[:2] + swap + VALID_Q1[3:])},
        "index": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "index")] + VALID_Q1[3:])},
        "unknown": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "theorm-2")]
                                     + VALID_Q1[3:])},
        "lemma": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "rotate")] + VALID_Q1[3:]),
                  "rotate.yaml": "theorem: rotate\nvariables: {a: {shape: [n, 1]}, X: {shape: "
                                 "[n, n]}}\nclaim: {lhs: tr(a^T X a), rhs: tr(a a^T X)}\nproof:\n"
                                 "  - expr: tr(a^T X a)\n  - expr: tr(a a^T X)\n"
                                 "    by: theorem-2\n"},
        "own_rule": {"q1.yaml": proof([VALID_Q1[0], ("tr(a a^T dX)", "shortcut")]),
                     "rules.yaml": "rules:\n  - id: shortcut\n    statement: d(a^T X a) = "
                                   "tr(a a^T dX)\n    source: me\n    summary: s\n"},
    }
    g, _ = grade_class(tmp_path, students)
    assert g["alias"]["q1"].status == "valid"
    assert g["forbidden"]["q1"].status == "rejected"
    assert "trace-transpose" in g["forbidden"]["q1"].reason and "does not allow" in \
        g["forbidden"]["q1"].reason
    assert g["index"]["q1"].status == "rejected" and "index" in g["index"]["q1"].reason
    assert g["unknown"]["q1"].status == "rejected"
    assert "not a rule of the installed rule base" in g["unknown"]["q1"].reason
    assert "did you mean" in g["unknown"]["q1"].reason
    assert g["lemma"]["q1"].status == "rejected" and "lemmas are not allowed" in \
        g["lemma"]["q1"].reason
    assert g["own_rule"]["q1"].status == "rejected" and "of the student's own" in \
        g["own_rule"]["q1"].reason


def test_index_and_lemmas_when_allowed(tmp_path):
    problems = Q1_PROBLEM + "  allow_index: true\n  allow_lemmas: true\n"
    rotate = ("theorem: rotate\nvariables: {a: {shape: [n, 1]}, X: {shape: [n, n]}}\n"
              "claim: {lhs: tr(a^T X a), rhs: tr(a a^T X)}\nproof:\n  - expr: tr(a^T X a)\n"
              "  - expr: tr(a a^T X)\n    by: {by}\n")
    students = {
        "index": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "index")] + VALID_Q1[3:])},
        "lemma": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "rotate")] + VALID_Q1[3:]),
                  "rotate.yaml": rotate.replace("{by}", "theorem-2")},
        # a lemma may not smuggle in a rule the problem does not allow
        "smuggle": {"q1.yaml": proof(VALID_Q1[:2] + [("d(tr(a a^T X))", "rotate")]
                                     + VALID_Q1[3:]),
                    "rotate.yaml": rotate.replace("{by}", "[trace-transpose, theorem-2]")},
    }
    g, _ = grade_class(tmp_path, students, problems=problems)
    assert g["index"]["q1"].status == "valid", g["index"]["q1"].reason
    assert g["lemma"]["q1"].status == "valid", g["lemma"]["q1"].reason
    assert g["smuggle"]["q1"].status == "rejected"
    assert "of lemma rotate cites trace-transpose" in g["smuggle"]["q1"].reason


# -- matching -----------------------------------------------------------------------------------
def test_matching_by_theorem_file_name_and_lists(tmp_path):
    valid = proof(VALID_Q1)
    students = {
        "by_theorem": {"anything.yaml": valid},
        "by_name": {"q1.yaml": valid.replace("theorem: q1", "theorem: my-proof")},
        "twice": {"a.yaml": valid, "b.yaml": valid},
        "listed": "- " + textwrap.indent(valid, "  ")[2:],
        "broken_list": "- theorem: q1\n  variables: {}\n- [1, 2]\n",
        "nothing": {"notes.txt": "hello"},
    }
    g, report = grade_class(tmp_path, students)
    assert g["by_theorem"]["q1"].status == "valid"
    assert g["by_name"]["q1"].status == "valid"
    assert g["twice"]["q1"].status == "error" and "more than one proof" in g["twice"]["q1"].reason
    assert g["listed"]["q1"].status == "valid"
    assert g["broken_list"]["q1"].status == "error" and "claim" in g["broken_list"]["q1"].reason
    assert g["nothing"]["q1"].status == "missing"
    notes = next(s.notes for s in report.students if s.student == "nothing")
    assert any("no YAML files" in n for n in notes)


def test_identical_proofs_are_checked_once(tmp_path):
    valid = proof(VALID_Q1)
    spaced = "# my own comment\n" + valid.replace("a^T X a", "a^T  X  a").replace(
        "tr(0 X + a a^T dX)", "tr((0 X) + (a a^T dX))").replace("theorem-2", "Theorem 2")
    students = {f"s{i}": {"q1.yaml": valid if i % 2 else spaced} for i in range(6)}
    g, report = grade_class(tmp_path, students, jobs=2)
    assert all(g[s]["q1"].status == "valid" for s in g)
    assert report.stats["distinct_files"] == 2 and report.stats["distinct_proofs"] == 1


# -- isolation ----------------------------------------------------------------------------------
def _slow_or_fatal(student):
    """The worker's task, with two test hooks: a submission holding HANG sleeps past the time
    limit, one holding DIE kills its worker. (Run in the workers, which import this module.)"""
    import time

    text = b"".join(Path(f.path).read_bytes() for f in student.files)
    if b"HANG" in text:
        time.sleep(60)
    if b"DIE" in text:
        os._exit(9)
    return G.grade_submission(student)


def test_a_hanging_or_dying_worker_affects_nobody_else(tmp_path, monkeypatch):
    from prover.grade import run as R

    monkeypatch.setattr(R, "SUBMISSION_TASK", _slow_or_fatal)
    students = {
        "hang": {"q1.yaml": "# HANG\n" + proof(VALID_Q1)},
        "die": {"q1.yaml": "# DIE\n" + proof(VALID_Q1)},
        **{f"ok{i}": {"q1.yaml": f"# {i}\n" + proof(VALID_Q1)} for i in range(6)},
    }
    g, report = grade_class(tmp_path, students, jobs=1, timeout=3)
    assert g["hang"]["q1"].status == "error" and "time limit (3 s)" in g["hang"]["q1"].reason
    assert g["die"]["q1"].status == "error" and "died" in g["die"]["q1"].reason
    assert g["hang"]["q1"].error.kind == G.Fault.TIME_LIMIT
    assert g["die"]["q1"].error.kind == G.Fault.WORKER_DIED
    assert all(g[f"ok{i}"]["q1"].status == "valid" for i in range(6))


def test_a_file_over_the_size_limit_is_not_read(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    with open(cls / "judy.yaml", "wb") as fh:  # 10 MB, written here: never committed
        fh.write(proof(VALID_Q1).encode())
        fh.truncate(10 * 1024 * 1024)
    a = G.load_assignment(assignment(tmp_path, Q1_PROBLEM))
    (judy,) = G.grade(cls, a).students
    p = judy.problems[0]
    assert (p.status, p.score) == ("error", 0)
    assert p.reason == ("judy.yaml: the file is 10,485,760 bytes; the limit for a submitted file "
                        "is 262,144")


def test_symlinks_and_devices_are_not_followed(tmp_path):
    cls = tmp_path / "class"
    (cls / "eve").mkdir(parents=True)
    os.symlink("/dev/zero", cls / "eve" / "q1.yaml")
    os.symlink("/etc", cls / "mallory")
    a = G.load_assignment(assignment(tmp_path, Q1_PROBLEM))
    report = G.grade(cls, a)
    by = {s.student: s for s in report.students}
    assert by["eve"].problems[0].status == "error"
    assert "symbolic link" in by["eve"].problems[0].reason
    assert by["mallory"].problems[0].status == "missing"
    assert any("symbolic link" in n for n in by["mallory"].notes)


# -- the assignment -----------------------------------------------------------------------------
@pytest.mark.parametrize("problems,message", [
    (Q1_PROBLEM + "  pionts: 3\n", "unknown key 'pionts'"),
    (Q1_PROBLEM.replace("diff-*", "dif-*"), "'dif-*' matches no rule"),
    (Q1_PROBLEM.replace("theorem-1,", "theorem-one,"), "'theorem-one' names no rule"),
    (Q1_PROBLEM.replace(", theorem-4]", "]"), "derivative-from-differential"),
    (Q1_PROBLEM.replace("equals: a a^T", "equals: a^T a"), "claim cannot be used"),
    (Q1_PROBLEM + Q1_PROBLEM, "also matches problem q1"),
    (Q1_PROBLEM.replace("points: 10", "points: -1"), "greater than 0"),
    ("- id: q1\n  points: 1\n  from: nowhere.yaml\n", "nowhere.yaml"),
    (Q1_PROBLEM.replace("allowed_rules: [", "allowed_rules: [index, "), "allow_index"),
    (Q1_PROBLEM + "  partial_credit: {trace_form: 1}\n", "below 1"),
])
def test_an_unusable_assignment_exits_2(tmp_path, problems, message):
    (tmp_path / "class").mkdir()
    a = assignment(tmp_path, problems)
    code, out = run(tmp_path / "class", "--assignment", a)
    assert code == 2
    assert message in out


def test_from_a_proof_file_and_exit_codes(tmp_path):
    code, out = run(tmp_path / "nope", "--assignment", HW)
    assert code == 2 and "no such file" in out
    a = G.load_assignment(HW)
    q2 = a.problems[1]
    assert q2.kind == "derivative" and "frobenius" in q2.names and "q2" in q2.names
    assert {"diff-product", "diff-trace", "trace-cyclic"} <= q2.allowed
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = run(empty, "--assignment", HW, "--format", "csv")
    assert code == 0 and out.strip() == "student,problem,score,max_score,status,reason"


def test_progress_bar_does_not_disturb_the_output(tmp_path):
    code, out = run(EXAMPLES / "class" / "alice", "--single", "--assignment", HW, "--progress",
                    "--format", "csv")
    assert code == 0
    assert "alice,q1,10,10,valid," in out and ",total," not in out
