"""`prove grade` checks the answer key before anyone is graded (SPEC §7, grading issue): a wrong
`equals:` or a false identity stops the run with exit 2 naming the problem, the key and the
right answer (with a counterexample), unless `--trust-key`; right keys, however written, pass."""
import textwrap
from pathlib import Path

import pytest
from grading_fixtures import proof
from helpers import run_cli

from prover import grade as G
from prover.grade import key as K
from prover.kernel.truth import Evidence

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HW = EXAMPLES / "hw.yaml"

Q1_VARS = "variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}"
VALID_Q1 = proof(claim="claim: {derivative: a^T X a, wrt: X, equals: KEY}")


def problem(pid, claim, variables, extra=""):
    return (f"- id: {pid}\n  points: 10\n  claim: {claim}\n  {variables}\n"
            + (textwrap.indent(extra, "  ") if extra else ""))


def write_assignment(tmp_path, *problems):
    p = tmp_path / "hw.yaml"
    p.write_text("assignment: t\nproblems:\n" + textwrap.indent("".join(problems), "  "))
    return p


def run(*args):
    r = run_cli(["grade", *map(str, args)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


def q1_class(tmp_path, key):
    """One student, alice, with a correct proof of ∂(a^T X a)/∂X = key (as the key is written)."""
    cls = tmp_path / "class"
    (cls / "alice").mkdir(parents=True)
    (cls / "alice" / "q1.yaml").write_text(VALID_Q1.replace("KEY", key))
    return cls


def checks(path):
    return {k.problem: k for k in K.check_keys(G.load_assignment(path))}


# -- a wrong key stops the run -------------------------------------------------------------------
def test_wrong_derivative_key_stops_with_exit_2_and_the_right_answer(tmp_path):
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X, equals: a^T a I}",
                                           Q1_VARS))
    code, out = run(q1_class(tmp_path, "a^T a I"), "--assignment", a, "--format", "csv")
    assert code == 2
    assert "problem q1" in out and "equals: a^T a I" in out  # the problem and the key
    assert "the right answer is ∂(a^T X a)/∂X = a a^T" in out  # the derived derivative
    assert "counterexample at n = " in out and "the key = " in out
    assert "--trust-key" in out
    assert "alice" not in out  # nobody was graded


def test_trust_key_goes_on_with_a_warning(tmp_path):
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X, equals: a^T a I}",
                                           Q1_VARS))
    code, out = run(q1_class(tmp_path, "a^T a I"), "--assignment", a, "--format", "csv",
                    "--trust-key")
    assert code == 0
    assert "warning: the answer key is wrong" in out and "--trust-key" in out
    assert "alice,q1," in out


def test_wrong_identity_key_stops(tmp_path):
    a = write_assignment(tmp_path, problem(
        "q3", "{lhs: tr(A B C), rhs: tr(B A C)}",
        "variables: {A: {shape: [n, n]}, B: {shape: [n, n]}, C: {shape: [n, n]}}"))
    (tmp_path / "class").mkdir()
    code, out = run(tmp_path / "class", "--assignment", a)
    assert code == 2
    assert "problem q3" in out and "tr(A B C) = tr(B A C) is false" in out
    assert "counterexample at n = " in out


def test_key_in_the_wrong_layout_is_wrong_and_says_so(tmp_path):
    k = checks(write_assignment(tmp_path, problem(
        "q4", "{derivative: tr(A X), wrt: X, equals: A^T}",
        "variables: {A: {shape: [n, n]}, X: {shape: [n, n]}}")))["q4"]
    assert k.status == "wrong" and k.right == "A"
    assert "denominator-layout answer" in k.message
    assert k.counterexample is not None and k.counterexample.labels == ("the key", "the derivative")


def test_wrong_key_on_a_rectangular_variable(tmp_path):
    k = checks(write_assignment(tmp_path, problem(
        "q2", "{derivative: tr(X^T X), wrt: X, equals: X^T}", "variables: {X: {shape: [m, n]}}")
    ))["q2"]
    assert k.status == "wrong" and k.right == "2 X^T"


# -- right keys pass, however they are written ---------------------------------------------------
@pytest.mark.parametrize("key", ["a a^T", "(a a^T)^T", "a (a^T)", "2 a a^T - a a^T"])
def test_right_key_written_differently_passes(tmp_path, key):
    a = write_assignment(tmp_path, problem(
        "q1", f"{{derivative: a^T X a, wrt: X, equals: {key}}}", Q1_VARS))
    assert checks(a)["q1"].status == "confirmed"
    code, out = run(q1_class(tmp_path, key), "--assignment", a, "--format", "csv")
    assert code == 0, out
    assert "error" not in out.split("student,")[0] and "warning" not in out


@pytest.mark.parametrize("layout, key, status", [
    ("denominator", "A^T", "confirmed"), ("denominator", "A", "wrong"),
    ("numerator", "A", "confirmed")])
def test_the_key_is_checked_in_the_problems_layout(tmp_path, layout, key, status):
    k = checks(write_assignment(tmp_path, problem(
        "q5", f"{{derivative: tr(A X), wrt: X, equals: {key}}}",
        "variables: {A: {shape: [n, n]}, X: {shape: [n, n]}}", f"layout: {layout}\n")))["q5"]
    assert k.status == status, k.message


def test_rectangular_denominator_key(tmp_path):
    k = checks(write_assignment(tmp_path, problem(
        "q2", "{derivative: tr(X^T X), wrt: X, equals: 2 X}", "variables: {X: {shape: [m, n]}}",
        "layout: denominator\n")))["q2"]
    assert k.status == "confirmed", k.message


def test_assumptions_and_declarations_are_used(tmp_path):
    # log det needs X invertible; (X^T X)^-1 needs m >= n (stated under assume:)
    ks = checks(write_assignment(
        tmp_path,
        problem("l", "{derivative: log(det(X)), wrt: X, equals: X^-1}",
                "variables: {X: {shape: [n, n], invertible: true}}"),
        problem("r", "{derivative: log(det(X^T X)), wrt: X, equals: 2 (X^T X)^-1 X^T}",
                "variables: {X: {shape: [m, n]}}", "assume: {sizes: [m >= n]}\n"),
        problem("i", "{lhs: X^T X (X^T X)^-1, rhs: (X^T X)^-1 X^T X}",
                "variables: {X: {shape: [m, n]}}", "assume: {sizes: [m >= n]}\n")))
    assert ks["i"].status == "confirmed", ks["i"].message
    assert ks["l"].status == "confirmed"
    assert ks["r"].status == "confirmed", ks["r"].message


def test_problems_without_a_key_are_not_checked(tmp_path):
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X}", Q1_VARS))
    assert checks(a) == {}


# -- when prove derive cannot derive it ----------------------------------------------------------
def _no_derive(monkeypatch):
    import importlib

    D = importlib.import_module("prover.derive")  # `prover.derive` is also the function

    def refuse(*a, **kw):
        raise D.DeriveError("an operator the engine does not handle")

    monkeypatch.setattr(D, "derive", refuse)


def test_underivable_right_key_is_confirmed_by_the_kernel_alone(tmp_path, monkeypatch):
    _no_derive(monkeypatch)
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X, equals: a a^T}",
                                           Q1_VARS))
    k = checks(a)["q1"]
    assert k.status == "confirmed" and not k.derived
    assert "prove derive cannot derive it" in k.note
    code, out = run(q1_class(tmp_path, "a a^T"), "--assignment", a, "--format", "csv")
    assert code == 0 and "note:" in out and "alice,q1,10" in out


def test_underivable_wrong_key_still_stops(tmp_path, monkeypatch):
    _no_derive(monkeypatch)
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X, equals: a^T a I}",
                                           Q1_VARS))
    k = checks(a)["q1"]
    assert k.status == "wrong" and k.right is None and k.counterexample is not None
    code, out = run(q1_class(tmp_path, "a^T a I"), "--assignment", a)
    assert code == 2 and "no right answer is offered" in out


def test_undecided_key_is_a_warning_and_grading_goes_on(tmp_path, monkeypatch):
    _no_derive(monkeypatch)
    monkeypatch.setattr(K, "decide", lambda *a, **kw: Evidence("unknown", note="too large"))
    a = write_assignment(tmp_path, problem("q1", "{derivative: a^T X a, wrt: X, equals: a a^T}",
                                           Q1_VARS))
    assert checks(a)["q1"].status == "unconfirmed"
    code, out = run(q1_class(tmp_path, "a a^T"), "--assignment", a, "--format", "csv")
    assert code == 0
    assert "warning:" in out and "could not be confirmed" in out and "alice,q1,10" in out


# -- the sample assignment ----------------------------------------------------------------------
def test_sample_assignment_keys_are_right_and_it_grades_as_before():
    assert {k.problem: k.status for k in K.check_keys(G.load_assignment(HW))} == {
        "q1": "confirmed", "q2": "confirmed", "q3": "confirmed"}
    code, out = run(EXAMPLES / "class", "--assignment", HW, "--format", "csv")
    assert code == 0
    assert out == (EXAMPLES / "expected.csv").read_text()


def test_trust_key_is_in_the_help():
    r = run_cli(["grade", "--help"])
    assert "--trust-key" in r.output
