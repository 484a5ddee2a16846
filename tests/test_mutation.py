"""Mutation testing, short deterministic sample (issue 6). The full campaign is
`python benchmarks/mutation.py`; this runs a few proofs with a few mutants per step and asserts
that no false mutant is accepted — judged by an evaluator independent of the kernel's (numpy
float64, the differential by truncated series in ε)."""
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation as M  # noqa: E402

from prover.kernel.parser import parse  # noqa: E402
from prover.kernel.shapes import Shape, VarInfo, shape_of  # noqa: E402

ENV = {"a": VarInfo(Shape("n", 1), constant=True), "X": VarInfo(Shape("n", "n")),
       "A": VarInfo(Shape("n", "n")), "B": VarInfo(Shape("n", "n")), "s": VarInfo(Shape(1, 1)),
       "Y": VarInfo(Shape("n", "m"))}
NAMES = set(ENV)


def judge(lhs, rhs, varying=("X", "s")):
    return M.compare(parse(lhs, NAMES), parse(rhs, NAMES), ENV, set(varying), seed=1).status


# -- the oracle itself must be right before it can judge the kernel ---------------------------
@pytest.mark.parametrize("lhs, rhs", [
    ("tr(A B)", "tr(B A)"),
    ("(A B)^T", "B^T A^T"),
    ("d(X X)", "dX X + X dX"),
    ("d(X^-1)", "-X^-1 dX X^-1"),
    ("d(det(X))", "det(X) tr(X^-1 dX)"),
    ("d(log(det(X)))", "tr(X^-1 dX)"),
    ("d(d(X X))", "2 dX dX"),
    ("d(d(X^3))", "2 (dX dX X + dX X dX + X dX dX)"),
    ("X^0", "I"),
    ("X^-2", "X^-1 X^-1"),
    ("d(a^T X a)", "tr(a a^T dX)"),
    ("tr(0 X + a a^T dX)", "tr(a a^T dX)"),
    ("d(log(s))", "d(s) / s"),
    ("d(X / s)", "d(X) / s - X d(s) / s^2"),
    ("tr(Y^T A Y)", "tr(A Y Y^T)"),
    ("det(X^T)", "det(X)"),
    ("log(det(X X))", "2 log(det(X))"),  # true wherever both sides are defined
])
def test_oracle_confirms_true_identities(lhs, rhs):
    assert judge(lhs, rhs) == "true"


@pytest.mark.parametrize("lhs, rhs", [
    ("A B", "B A"),
    ("tr(A B X)", "tr(B A X)"),
    ("(A B)^T", "A^T B^T"),
    ("d(X X)", "2 X dX"),
    ("d(X^-1)", "-X^-2 dX"),
    ("d(a^T X a)", "tr(a^T a dX)"),
    ("d(X / s)", "d(X) / s - X d(s) / s"),
    ("det(-X)", "det(X)"),  # true at even sizes only: the oracle must look at odd ones too
    ("d(tr(X))", "tr(X)"),
])
def test_oracle_refutes_false_identities(lhs, rhs):
    assert judge(lhs, rhs) == "false"


def test_mutants_are_well_shaped_and_new():
    for text in ("tr(a a^T dX)", "a^T X a + 2 tr(A B X^-1)", "d(X^T A X) - (a^T X a) d(X^2)"):
        e = parse(text, NAMES)
        ms = M.mutants(e, ENV, NAMES)
        assert len(ms) >= 10
        for _, m, mtext in ms:
            assert m != e and parse(mtext, NAMES) == m
            s, t = shape_of(m, ENV), shape_of(e, ENV)
            assert (s.rows, s.cols) == (t.rows, t.cols)
    e = parse("tr(a a^T dX) + tr(A X B) + a^T A X a", NAMES)
    kinds = {k for k, _, _ in M.mutants(e, ENV, NAMES)}
    assert {"flip-sign", "swap-factors", "add-transpose", "drop-factor", "replace-variable",
            "move-d", "permute-trace", "drop-term", "add-term", "swap-function"} <= kinds


# -- the sample -------------------------------------------------------------------------------
SAMPLE_FILES = ["theorem5.yaml", "log-det-chain.yaml", "trace-AXinv.yaml", "det.yaml",
                "bilinear-form.yaml", "theorem2.yaml"]
SAMPLE_GOALS = [("x^T A x", "x", ["x: n x 1", "A: n x n"]),
                ("log(det(X)) + tr(S X^-1)", "X", ["X: n x n invertible", "S: n x n"])]


@pytest.fixture(scope="module")
def sample(book):
    subs = [s for s in M.subjects(include_derived=False) if s.name in SAMPLE_FILES]
    subs += M.subjects(include_proofs=False, goals=SAMPLE_GOALS)
    out = []
    for sub in subs:
        out.extend(M.mutate_subject(sub, book, per_step=5, seed=6))
    return out


def test_no_false_mutant_is_accepted(sample):
    cats = Counter(o.category for o in sample)
    failures = [M.describe_failure(o) for o in sample if o.category == "FALSE-ACCEPTED"]
    assert not failures, "\n\n".join(failures)
    assert cats["false-rejected"] >= 100, cats
    assert cats["false-error"] == 0, [o for o in sample if o.category == "false-error"]


def test_no_true_mutant_is_called_false(sample):
    wrong = [(o.subject, o.step, o.original, o.mutant, o.message) for o in sample
             if o.category in ("true-invalid", "true-error")]
    assert not wrong, wrong
    assert sum(1 for o in sample if o.category in ("true-valid", "true-unjustified")) >= 10


def test_the_harness_catches_a_kernel_that_accepts_everything(book, monkeypatch):
    """Mutation-test the mutation tester: with the truth check switched off, false mutants must
    show up as FALSE-ACCEPTED."""
    from prover.kernel import check
    from prover.kernel.truth import Truth

    monkeypatch.setattr(check, "check_equal", lambda *a, **k: Truth("true", ["z3", "random"]))
    sub = next(s for s in M.subjects(include_derived=False) if s.name == "theorem5.yaml")
    outs = M.mutate_subject(sub, book, per_step=3, seed=1, steps=[2, 6])
    assert any(o.category == "FALSE-ACCEPTED" for o in outs)
    assert "SOUNDNESS FAILURE" in M.describe_failure(outs[0])
