"""`prove derive` and `prove equiv` from the command line (SPEC §6)."""
import json



from helpers import run


def test_done_when_example(tmp_path):
    out_file = tmp_path / "ld.yaml"
    code, out = run("derive", "log(det(X)) + tr(S X^-1)", "--wrt", "X", "--var",
                    "X: n x n invertible", "--var", "S: n x n", "-o", str(out_file))
    assert code == 0, out
    assert "= X^-1 - X^-1 S X^-1" in out
    code, out = run("check", str(out_file))
    assert code == 0 and "1 valid" in out


def test_json_and_denominator_layout():
    code, out = run("derive", "x^T A x", "--wrt", "x", "--var", "x: n x 1", "--var", "A: n x n",
                    "--layout", "denominator", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["layout"] == "denominator" and data["wrt"] == "x"
    assert data["derivative"] == "(A + A^T) x"
    assert "layout: denominator" in data["proof"]


def test_from_a_file(tmp_path):
    p = tmp_path / "goal.yaml"
    p.write_text("theorem: goal\nvariables:\n  a: {shape: [n, 1], constant: true}\n"
                 "  X: {shape: [n, n]}\nclaim:\n  derivative: a^T X a\n  wrt: X\n")
    code, out = run("derive", str(p))
    assert code == 0 and "= a a^T" in out


def test_cannot_derive_exits_1_with_a_reason():
    code, out = run("derive", "tr(X^16^16)", "--wrt", "X", "--var", "X: n x n")
    assert code == 1 and "limit" in out


def test_an_answer_that_needs_an_inverse_says_what_it_assumes():
    code, out = run("derive", "det(X)", "--wrt", "X", "--var", "X: n x n")
    assert code == 0 and "= det(X) X^-1" in out and "assuming X invertible" in out
    code, out = run("derive", "X", "--wrt", "X", "--var", "X: n x n")
    assert code == 1 and "scalar function" in out
    code, out = run("derive", "tr(X)", "--wrt", "X", "--var", "X: n x n symmetric")
    assert code == 1 and "symmetric" in out


def test_bad_var_is_a_usage_error():
    code, out = run("derive", "tr(X)", "--wrt", "X", "--var", "X n n")
    assert code == 2


def test_equiv():
    assert run("equiv", "A x + A^T x", "(A + A^T) x", "--var", "A: n x n", "--var", "x: n x 1")[0] == 0
    code, out = run("equiv", "x^T (A + A^T)", "(A + A^T) x", "--var", "A: n x n", "--var", "x: n x 1")
    assert code == 1 and "up to transpose" in out
    code, out = run("equiv", "A x", "A^T x", "--var", "A: n x n", "--var", "x: n x 1")
    assert code == 1 and "counterexample" in out


def test_equiv_answers_one_of_three():
    """Equal (exit 0), not equal with a counterexample (exit 1), or cannot decide (exit 3)."""
    code, out = run("equiv", "log(s t)", "log(s) + log(t)", "--var", "s: scalar", "--var", "t: scalar")
    assert code == 3 and "cannot decide" in out
    code, out = run("equiv", "A B", "B A", "--var", "A: n x n", "--var", "B: n x n")
    assert code == 1 and "counterexample" in out
