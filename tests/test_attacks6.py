"""Sixth round, written before the shortcut it attacks: the kernel remembers `decide`'s answers
(a class of students repeats the same steps thousands of times), so an answer reached under one
set of declarations must never be handed out under another.

Each case checks the same step text twice in one process, first where it is true (so that the
answer is remembered), then where a declaration, a size, an assumption or what varies makes it
false or undefined. The second check must fail as if nothing had been remembered. The
independent side of each case is stated in its comment (true at 1×1, false at n×n; d(A) = 0 only
for a constant A; …).
"""
import pytest

from prover import api
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context, decide


def _proof(variables: str, claim: str, steps: str, assume: str = "") -> str:
    return (f"theorem: t\nvariables:\n{variables}\nclaim:\n{claim}\n"
            + (f"assume:\n{assume}\n" if assume else "") + f"proof:\n{steps}\n")


def _status(text: str) -> str:
    """The last step's verdict: `invalid` (false, with a counterexample) or another."""
    step = api.check_text(text).result.steps[-1]
    assert (step.status == "invalid") == (step.counterexample is not None)
    return step.status


# (declarations where the step is true, declarations where it is false)
CASES = [
    # A X = X A: true when X is 1×1 (a scalar commutes with everything), false for n×n
    ("  A: {shape: [n, n]}\n  X: {shape: [1, 1]}", "  A: {shape: [n, n]}\n  X: {shape: [n, n]}",
     "  lhs: A X\n  rhs: X A", "  - expr: A X\n  - expr: X A\n    by: algebra"),
    # X^T = X: true for a symmetric X, false for any other
    ("  X: {shape: [n, n], symmetric: true}", "  X: {shape: [n, n]}",
     "  lhs: X^T\n  rhs: X", "  - expr: X^T\n  - expr: X\n    by: algebra"),
    # tr(A B) = tr(A) tr(B): true when both are 1×1, false at n×n
    ("  A: {shape: [1, 1]}\n  B: {shape: [1, 1]}", "  A: {shape: [n, n]}\n  B: {shape: [n, n]}",
     "  lhs: tr(A B)\n  rhs: tr(A) tr(B)", "  - expr: tr(A B)\n  - expr: tr(A) tr(B)\n    by: algebra"),
    # a^T b = b^T a: both are one number for columns; for rows they are n×n and differ
    ("  a: {shape: [n, 1]}\n  b: {shape: [n, 1]}", "  a: {shape: [1, n]}\n  b: {shape: [1, n]}",
     "  lhs: a^T b\n  rhs: b^T a", "  - expr: a^T b\n  - expr: b^T a\n    by: algebra"),
    # Cayley–Hamilton at 2×2: X^2 = tr(X) X - det(X) I holds for 2×2 only
    ("  X: {shape: [2, 2]}", "  X: {shape: [3, 3]}",
     "  lhs: X^2\n  rhs: tr(X) X - det(X) I", "  - expr: X^2\n  - expr: tr(X) X - det(X) I\n    by: algebra"),
]


@pytest.mark.parametrize("true_decl, false_decl, claim, steps", CASES)
def test_a_remembered_answer_never_crosses_declarations(true_decl, false_decl, claim, steps):
    true_text, false_text = _proof(true_decl, claim, steps), _proof(false_decl, claim, steps)
    for _ in range(2):  # remembered twice over, in both orders (true may still be unjustified)
        assert _status(false_text) == "invalid"
        assert _status(true_text) != "invalid"
        assert _status(false_text) == "invalid"


def test_what_varies_is_part_of_the_answer():
    # d(A X) = A d(X) needs d(A) = 0: true when A is constant, false when it varies too
    steps = "  - expr: d(A X)\n  - expr: A d(X)\n    by: [diff-product, diff-constant]"
    const = _proof("  A: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}",
                   "  lhs: d(A X)\n  rhs: A d(X)", steps)
    varies = _proof("  A: {shape: [n, n]}\n  X: {shape: [n, n]}", "  lhs: d(A X)\n  rhs: A d(X)",
                    steps.replace("[diff-product, diff-constant]", "algebra"))
    assert _status(const) == "valid"
    assert _status(varies) == "invalid"
    assert _status(const) == "valid"
    env = {"A": VarInfo(Shape("n", "n")), "X": VarInfo(Shape("n", "n"))}
    lhs, rhs = parse("d(A X)", set(env)), parse("A d(X)", set(env))
    assert decide(lhs, rhs, Context(env, {"X"})).holds
    assert not decide(lhs, rhs, Context(env, {"A", "X"})).holds
    assert decide(lhs, rhs, Context(env, {"X"})).holds


def test_the_sizes_a_claim_covers_are_part_of_the_answer():
    # rank(X^T X) <= min(m, n): with m >= n assumed, X^T X is invertible and the step is
    # defined at every size checked; without it, the same step is undefined where m < n
    env = {"X": VarInfo(Shape("m", "n"))}
    lhs, rhs = parse("(X^T X)^-1 X^T X", {"X"}), parse("I", {"X"})
    with_m = Context(env, {"X"}, (lhs, rhs), (("m", ">=", "n"),))
    bare = Context(env, {"X"}, (rhs,), ())
    assert decide(lhs, rhs, with_m).holds
    assert not decide(lhs, rhs, bare).holds  # undefined at m < n, which this claim covers
    assert decide(lhs, rhs, with_m).holds


def test_a_remembered_witness_is_not_shared():
    # a false answer carries a witness whose labels the replay sets; a second use of the same
    # answer must get its own copy
    env = {"A": VarInfo(Shape("n", "n")), "B": VarInfo(Shape("n", "n"))}
    lhs, rhs = parse("A B", set(env)), parse("B A", set(env))
    first = decide(lhs, rhs, Context(env, set(env)))
    assert first.kind == "false" and first.witness is not None
    first.witness.labels = ("changed", "by a caller")
    second = decide(lhs, rhs, Context(env, set(env)))
    assert second.kind == "false" and second.witness.labels == ("line before", "this line")
