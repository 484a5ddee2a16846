"""Attacks of the 2026-12-02 round: a `det` of a matrix whose size is a literal but whose rank a
size symbol limits (U: 8×n, V: n×8: det(U V) is 0 for n < 8 and not for n ≥ 8), which the truth
check's window of sizes (2..4) never reached; and `prove equiv`'s answers (SPEC §6: equal with its
evidence, not equal always with a counterexample, cannot decide with the reason).

The oracle for the det case is sympy, evaluating at n = 8 with random integers: it shares no code
with the kernel."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import sympy

from grading_fixtures import VALID_Q1, proof

from prover import api
from prover.equiv import equivalent
from tests.attack_helpers import decide_text, env_of

FALSE_DERIVATIVE = """theorem: det-literal-gap
variables:
  U: {shape: [8, n], constant: true}
  V: {shape: [n, 8], constant: true}
  X: {shape: [n, n]}
claim:
  derivative: det(U V) tr(X)
  wrt: X
  equals: 0
proof:
  - expr: d(det(U V) tr(X))
  - expr: d(det(U V)) tr(X) + det(U V) d(tr(X))
    by: diff-product
  - expr: 0 tr(X) + det(U V) d(tr(X))
    by: diff-constant
  - expr: det(U V) tr(dX)
    by: [diff-trace, algebra]
  - expr: tr(det(U V) dX)
    by: trace-scale
  - derivative: 0
    by: theorem-4
"""


def _oracle_det_uv(k: int, n: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    u = sympy.Matrix(k, n, lambda i, j: rng.randint(-3, 3))
    v = sympy.Matrix(n, k, lambda i, j: rng.randint(-3, 3))
    return int((u * v).det())


def test_the_oracle_sees_the_gap():
    assert all(_oracle_det_uv(8, n) == 0 for n in range(2, 8))
    assert any(_oracle_det_uv(8, 8, seed) != 0 for seed in range(5))


@pytest.mark.parametrize("k", [5, 8])
def test_det_of_a_literal_size_product_is_not_zero(k):
    env = env_of(U=(k, "n"), V=("n", k))
    ev = decide_text(env, "det(U V)", "0")
    assert ev.kind == "false" and not ev.holds
    assert ev.witness is not None and ev.witness.dims["n"] >= k


def test_a_false_derivative_read_off_through_the_gap_is_invalid():
    r = api.check_text(FALSE_DERIVATIVE)
    assert r.result is not None and r.result.status == "invalid"
    last = r.result.steps[-1]
    assert last.status == "invalid" and last.evidence == "false" and last.sizes[0]["n"] >= 8


def test_equiv_refutes_the_gap_with_a_counterexample():
    r = equivalent("det(U V)", "0", env_of(U=(8, "n"), V=("n", 8)))
    assert r.status == "different" and r.counterexample is not None
    assert r.counterexample.dims["n"] >= 8


def test_the_true_det_identity_beside_it_still_holds():
    env = env_of(U=(3, "n"), V=("n", 3), W=(3, 3))
    assert decide_text(env, "det(W U V)", "det(W) det(U V)").holds


# -- prove equiv's three answers ----------------------------------------------------------------

def test_equal_when_both_read_the_same_names_its_evidence():
    r = equivalent("X^-T", "(X^-1)^T", env_of(X=("n", "n")))
    assert r.status == "equal" and "evidence: exact" in r.message and r.checked_by
    assert "checked by )" not in r.message


def test_different_shapes_come_with_a_counterexample_of_different_sizes():
    r = equivalent("A", "B", env_of(A=("n", "m"), B=("m", "n")))
    assert r.status == "different" and r.counterexample is not None
    w = r.counterexample
    assert (len(w.lhs), len(w.lhs[0])) != (len(w.rhs), len(w.rhs[0]))
    assert w.dims["n"] != w.dims["m"] and set(w.values) == {"A", "B"}


def test_a_transposed_answer_of_another_shape_has_a_counterexample():
    r = equivalent("d(X)", "d(X^T)", env_of(X=("n", "m")))
    assert r.status == "transposed" and r.counterexample is not None
    assert "dX" in r.counterexample.values


# -- the command line: --var like a declaration in a file, expressions read with a caret --------

def _prove(*args: str) -> tuple[int, str, str]:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "prover", *args], capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("decl, says", [
    ("I: n x n", "'I' cannot be a variable name (it is reserved)"),
    ("tr: n x n", "'tr' cannot be a variable name (it is reserved)"),
    ("x: 0 x 1", "the dimension 0 is outside 1..8"),
    ("x: n x 9", "the dimension 9 is outside 1..8"),
    ("x: 1n x 1", "'1n' is not a dimension symbol"),
])
def test_a_var_that_a_file_could_not_declare_is_a_usage_error(decl, says):
    code, out, err = _prove("equiv", "x", "x", "--var", "x: n x 1", "--var", decl)
    assert code == 2 and out == "" and says in err


def test_a_var_declared_twice_is_a_usage_error():
    code, out, err = _prove("equiv", "x", "x", "--var", "x: n x 1", "--var", "x: n x n")
    assert code == 2 and "x is declared twice" in err


def test_derive_reads_its_expression_with_a_caret():
    code, out, err = _prove("derive", "tr(X", "--wrt", "X", "--var", "X: n x n")
    assert code == 2 and out == ""
    assert err.splitlines()[1:3] == ["  | tr(X", "  |     ^"]
    code, _, err = _prove("derive", "tr(Y)", "--wrt", "X", "--var", "X: n x n")
    assert code == 2 and "  |    ^" in err and "--var 'Y: n x n'" in err


def test_derive_of_a_missing_file_says_so():
    code, _, err = _prove("derive", "no-such-proof.yaml")
    assert code == 2 and "no-such-proof.yaml: no such file" in err


def test_a_yaml_true_is_not_a_size(tmp_path):
    f = tmp_path / "bool.yaml"
    f.write_text("theorem: t\nvariables:\n  x: {shape: [n, true]}\nclaim: {lhs: x, rhs: x}\n"
                 "proof:\n  - expr: x\n")
    code, out, _ = _prove("check", str(f))
    assert code == 2 and f"{f}:3:18: error" in out


# -- prove check: results in the order given; JSON is one object whatever happens --------------

def test_results_come_in_the_order_the_paths_were_given(tmp_path):
    import json

    root = Path(__file__).resolve().parent.parent
    code, out, _ = _prove("check", str(root / "proofs" / "theorem5.yaml"),
                          str(tmp_path / "missing.yaml"), str(root / "proofs" / "theorem1.yaml"),
                          "--format", "json")
    paths = [f["path"] for f in json.loads(out)["files"]]
    assert code == 2 and [Path(p).name for p in paths] == ["theorem5.yaml", "missing.yaml",
                                                            "theorem1.yaml"]


def test_an_empty_folder_is_still_one_json_object(tmp_path):
    import json

    code, out, _ = _prove("check", str(tmp_path), "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["summary"]["error"] == 1
    assert "no proof files" in data["files"][0]["message"]


def test_derive_that_cannot_derive_still_prints_one_json_object():
    import json

    code, out, _ = _prove("derive", "exp(X)", "--wrt", "X", "--var", "X: n x n", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["derivative"] is None and "needs a scalar function" in data["error"]


def test_a_step_that_cannot_be_read_still_lists_its_rules():
    text = FALSE_DERIVATIVE.replace("  - expr: 0 tr(X) + det(U V) d(tr(X))\n    by: diff-constant",
                                    "  - expr: 0 tr(X) + det(U V) d(tr(X)\n    by: Theorem 3")
    r = api.check_text(text)
    step = r.result.steps[2]
    assert step.status == "error" and step.by == ["diff-trace"]


# -- what a file's name or title can do to a terminal or a CI log -------------------------------

def test_a_newline_in_a_file_name_cannot_start_a_workflow_command(tmp_path):
    (tmp_path / "e\n::warning file=x.yaml,line=1::INJ.yaml").write_text("")
    for fmt in ("github", "text"):
        _, out, _ = _prove("check", str(tmp_path), "--format", fmt)
        assert not any(line.startswith("::warning") for line in out.splitlines()), out
        assert "e\\n::warning" in out


def test_a_title_cannot_send_terminal_control_sequences(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text('theorem: t\ntitle: "\\e]8;;http://evil.example\\aCLICK\\e]8;;\\a \\e]0;WT\\a\\x9b2J"\n'
                 "variables:\n  x: {shape: [n, 1]}\nclaim: {lhs: x, rhs: x}\nproof:\n  - expr: x\n")
    for color in ("never", "always"):
        code, out, _ = _prove("check", str(f), "--color", color)
        assert code == 0 and "\x07" not in out and "\x1b]" not in out and "\x9b" not in out
        assert "\\u001b]8;;http://evil.example\\u0007CLICK" in out


def test_escaped_output_is_still_json():
    import json

    from prover.cli_common import _CONTROL, _escaped

    text = json.dumps({"title": "a\x85b\x7fc\x1bd"}, ensure_ascii=False)
    assert json.loads(_CONTROL.sub(_escaped, text)) == {"title": "a\x85b\x7fc\x1bd"}


# -- derive: the denominator layout where G is a multiple of I; a bare variable's name ---------

@pytest.mark.parametrize("f, answer", [("tr(X)", "I"), ("2 tr(X)", "2 I"),
                                       ("tr(X) + tr(A X)", "I + A^T")])
def test_denominator_layout_keeps_an_identity_a_matrix(f, answer):
    code, out, err = _prove("derive", f, "--wrt", "X", "--var", "X: n x n",
                            "--var", "A: n x n constant", "--layout", "denominator")
    assert code == 0, err
    assert out.splitlines()[0] == f"∂({f})/∂X = {answer}"


def test_the_function_is_named_when_it_is_the_variable_itself():
    code, out, _ = _prove("derive", "x", "--wrt", "x", "--var", "x: scalar")
    assert code == 0 and out.splitlines()[0] == "∂(x)/∂x = 1"


def test_ctrl_c_is_not_exit_1():
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-m", "prover", "check", "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.0)  # reading standard input, which never ends
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and b"Aborted!" in err


def test_a_folder_is_read_once_for_lemmas_however_many_names_are_unknown(tmp_path, monkeypatch):
    from prover import proofs

    steps = "".join(f"  - expr: x\n    by: no-such-lemma-{i}\n" for i in range(40))
    f = tmp_path / "many.yaml"
    f.write_text("theorem: t\nvariables:\n  x: {shape: [n, 1]}\nclaim: {lhs: x, rhs: x}\n"
                 f"proof:\n  - expr: x\n{steps}")
    reads = []
    real = proofs.Library._read_folder
    monkeypatch.setattr(proofs.Library, "_read_folder",
                        lambda self, folder: reads.append(folder) or real(self, folder))
    fr = proofs.check_file(f)
    assert fr.status != "valid" and all(s.status == "error" for s in fr.steps[1:])
    assert "unknown rule" in fr.steps[1].message and len(reads) == 1


def test_a_block_scalar_error_points_at_its_text():
    from prover.source import _slow_load, load_yaml

    text = "a:\n  b: |\n    x y\n  c: >\n      z\n"
    for loaded in (load_yaml(text), _slow_load(text)):
        assert loaded.positions[("a", "b")] == (3, 5) and loaded.positions[("a", "c")] == (5, 7)


def test_equiv_of_two_sizeless_sides_is_an_error_and_a_sizeless_witness_reads_well():
    assert equivalent("I", "0", {}).status == "error"
    r = equivalent("I", "2", {})
    assert r.status == "different"
    from prover.render import counterexample_line

    assert counterexample_line(r.counterexample) == "counterexample: the first = 1, the second = 2"


def test_the_playground_refuses_a_field_twice_and_a_number_too_long_to_read():
    from prover.serve.app import Refused, _json_object

    for body, says in ((b'{"text": "a", "text": "b"}', "appears twice"),
                       (b'{"text": ' + b"9" * 5000 + b"}", "a number too long to read")):
        with pytest.raises(Refused) as got:
            _json_object(body, {"text": str}, {})
        assert got.value.status == 400 and says in got.value.message
        assert "sys.set_int_max_str_digits" not in got.value.message


# -- steps with exp, log, sqrt, sigmoid, tanh: refuted by value where the kernel cannot ---------

TANH_T = """theorem: t
variables:
  X: {shape: [n, n]}
claim: {lhs: tanh(X), rhs: tanh(X)^T}
proof:
  - expr: tanh(X)
  - expr: tanh(X)^T
    by: algebra
"""


def test_a_false_step_through_tanh_has_a_counterexample_checked_by_math():
    import math

    r = api.check_text(TANH_T)
    step = r.result.steps[1]
    assert step.status == "invalid" and step.evidence == "unknown"  # the kernel's, unchanged
    w = step.counterexample
    assert w is not None and "computed to 60 digits" in step.message
    x = [[float(v) for v in row] for row in w.values["X"]]
    n = len(x)
    left = [[math.tanh(x[i][j]) for j in range(n)] for i in range(n)]
    right = [[math.tanh(x[j][i]) for j in range(n)] for i in range(n)]
    assert left != right
    shown = [[float(str(v).lstrip("≈")) for v in row] for row in w.lhs]
    assert all(abs(a - b) < 1e-5 for ra, rb in zip(shown, left) for a, b in zip(ra, rb))


def test_equiv_refutes_by_value_and_leaves_a_true_law_undecided():
    env = env_of(X=("n", "n"), x=("n", 1))
    r = equivalent("tanh(X)", "tanh(X)^T", env)
    assert r.status == "different" and r.counterexample is not None
    assert equivalent("exp(log(x))", "x", env).status == "undecided"
    assert equivalent("sigmoid(x) + sigmoid(-x)", "exp(x - x)", env).status == "undecided"


@pytest.mark.parametrize("added, why", [("log(-1)", "log of a non-positive number"),
                                        ("sqrt(-1)", "sqrt of a non-positive number")])
def test_a_line_defined_nowhere_says_so(added, why):
    text = f"""theorem: t
variables:
  a: {{shape: [n, 1], constant: true}}
  X: {{shape: [n, n]}}
claim: {{derivative: a^T X a, wrt: X, equals: a a^T}}
proof:
  - expr: d(a^T X a)
  - expr: d(a^T X a) + {added}
    by: algebra
"""
    step = api.check_text(text).result.steps[1]
    assert step.status == "invalid" and "not defined at any point tried" in step.message
    assert why in step.message


def test_a_misspelt_assignment_key_is_named_with_a_caret(tmp_path):
    hw = tmp_path / "hw.yaml"
    hw.write_text("assignment: hw\nproblems:\n  - id: q1\n    pionts: 10\n"
                  "    claim: {derivative: a^T X a, wrt: X, equals: a a^T}\n"
                  "    variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}\n")
    (tmp_path / "class" / "amy").mkdir(parents=True)
    code, out, err = _prove("grade", str(tmp_path / "class"), "--assignment", str(hw))
    assert code == 2 and out == ""
    assert f"{hw}:4:5: unknown key 'pionts' (did you mean 'points'?)" in err
    assert "4 |     pionts: 10" in err and "  |     ^^^^^^" in err


@pytest.mark.parametrize("lib, says", [("/nonexistent-lemmas", "no such file or folder"),
                                       ("/dev/null", "is not a file or a folder"),
                                       ("", "an empty path names nothing")])
def test_a_lib_that_is_not_there_is_a_usage_error(lib, says):
    root = Path(__file__).resolve().parent.parent
    code, out, err = _prove("check", str(root / "proofs" / "theorem5.yaml"), "--lib", lib)
    assert code == 2 and out == "" and says in err


def test_a_citation_error_gives_its_own_line_beside_the_item_line(tmp_path):
    import json

    f = tmp_path / "cite.yaml"
    f.write_text("theorem: t\nvariables:\n  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n"
                 "claim: {lhs: tr(A B), rhs: tr(B A)}\nproof:\n  - expr: tr(A B)\n"
                 "  - expr: tr(B A)\n    by: no-such-rule\n")
    _, out, _ = _prove("check", str(f), "--format", "json")
    step = json.loads(out)["files"][0]["steps"][1]
    assert step["line"] == 8 and step["error_line"] == 9 and step["column"] == 9
    assert step["by"] == ["no-such-rule"]


# -- red-team round 13: how the size window is chosen ------------------------------------------

def test_a_negative_base_needs_both_parities():
    """(det(-I) + 1)(n - 2)(n - 4)(n - 6) is ((-1)^n + 1)(n - 2)(n - 4)(n - 6): zero at n = 2..7,
    96 at n = 8 (sympy agrees), and a window of 2..7 called it 0."""
    n = sympy.Symbol("n")
    value = lambda k: (((-1) ** k + 1) * (n - 2) * (n - 4) * (n - 6)).subs(n, k)  # noqa: E731
    assert [value(k) for k in range(2, 8)] == [0] * 6 and value(8) == 96
    r = equivalent("(det(-X^0) + 1) (tr(X^0) - 2) (tr(X^0) - 4) (tr(X^0) - 6)", "0",
                   env_of(X=("n", "n")))
    assert r.status == "different" and r.counterexample.dims["n"] >= 8


def test_a_kronecker_product_multiplies_literal_sizes():
    """Three ⊗ terms of 3×n by 3×1 make a 9×n matrix: det of it times an n×9 one is 0 below
    n = 9 (sympy agrees at n = 8 and not at n = 9)."""
    rng = random.Random(3)

    def oracle(k: int) -> int:
        m = lambda r, c: sympy.Matrix(r, c, lambda i, j: rng.randint(-2, 2))  # noqa: E731
        left = sum((sympy.kronecker_product(m(3, k), m(3, 1)) for _ in range(3)), sympy.zeros(9, k))
        right = sum((sympy.kronecker_product(m(k, 3), m(1, 3)) for _ in range(3)), sympy.zeros(k, 9))
        return int((left * right).det())

    assert oracle(8) == 0 and any(oracle(9) != 0 for _ in range(3))
    env = env_of(**{f"U{i}": (3, "n") for i in (1, 2, 3)}, **{f"W{i}": (3, 1) for i in (1, 2, 3)},
                 **{f"V{i}": ("n", 3) for i in (1, 2, 3)}, **{f"Z{i}": (1, 3) for i in (1, 2, 3)})
    r = equivalent("det((kron(U1, W1) + kron(U2, W2) + kron(U3, W3)) "
                   "(kron(V1, Z1) + kron(V2, Z2) + kron(V3, Z3)))", "0", env)
    assert r.status == "different" and r.counterexample.dims["n"] >= 9


def test_the_fixed_windows_still_confirm_true_size_dependent_steps():
    env = env_of(X=("n", "n"), U=(8, "n"), V=("n", 8), A=("m", "n"))
    for lhs, rhs in (("det(-X^0) det(-X^0)", "1"), ("det(2 X)", "det(2 X^0) det(X)"),
                     ("tr(X X^-1)", "tr(X^0)"), ("det(U V)^2", "det(U V) det(V^T U^T)")):
        ev = decide_text(env, lhs, rhs)
        assert ev.holds, (lhs, rhs, ev.note)


# -- red-team round 14: justification, read-off, witnesses, lemmas ------------------------------

def _steps(text: str) -> list:
    r = api.check_text(text)
    assert r.result is not None, r.message
    return r.result.steps


def test_algebra_cannot_move_a_scalar_out_of_a_differential_sized_from_outside():
    """d(x I) is d of an n×n matrix; `algebra` knows nothing of d, so it may not commute it
    with A or turn it into dx I (the steps are true: they are unjustified, not valid)."""
    steps = _steps("theorem: t\nvariables:\n  A: {shape: [n, n]}\n  x: {shape: scalar}\n"
                   "claim: {lhs: d(x I) A, rhs: A dx}\nproof:\n  - expr: d(x I) A\n"
                   "  - expr: A d(x I)\n    by: algebra\n  - expr: A dx\n    by: algebra\n")
    assert [s.status for s in steps[1:]] == ["unjustified", "unjustified"]


def test_a_scalar_variable_read_off_is_not_called_false():
    """∂tr(A x)/∂x = tr(A) for a scalar x: the line tr(A dx) is not of the form tr(G dx) with G
    of G's shape, so the read-off is refused as unjustified, never as false."""
    steps = _steps("theorem: t\nvariables:\n  A: {shape: [n, n], constant: true}\n"
                   "  x: {shape: scalar}\nclaim: {derivative: tr(A x), wrt: x, equals: tr(A)}\n"
                   "proof:\n  - expr: d(tr(A x))\n  - expr: tr(d(A x))\n    by: diff-trace\n"
                   "  - expr: tr(A dx)\n    by: [diff-product, diff-constant]\n"
                   "  - derivative: tr(A)\n    by: theorem-4\n")
    assert steps[-1].status == "unjustified"


def test_a_counterexample_shows_dX_and_d_of_X_apart():
    steps = _steps("theorem: t\nvariables:\n  X: {shape: [n, n]}\n"
                   "  dX: {shape: [n, n], constant: true}\nclaim: {lhs: tr(dX), rhs: tr(d(X))}\n"
                   "proof:\n  - expr: tr(dX)\n  - expr: tr(d(X))\n    by: algebra\n")
    w = steps[1].counterexample
    assert steps[1].status == "invalid" and {"dX", "d(X)"} <= set(w.values)
    trace = lambda m: sum(m[i][i] for i in range(len(m)))  # noqa: E731
    assert (trace(w.values["dX"]), trace(w.values["d(X)"])) == (w.lhs[0][0], w.rhs[0][0])


def test_a_lemma_is_the_one_in_the_citing_files_folder(tmp_path):
    """Two folders each hold a theorem `foo`; the citing file's own (false) one is used, not the
    other folder's valid one that an earlier citation happened to check first."""
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir()
    b.mkdir()
    ident = ("variables:\n  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n")
    (b / "foo.yaml").write_text("theorem: foo\n" + ident + "claim: {lhs: tr(A B), rhs: tr(B A)}\n"
                                "proof:\n  - expr: tr(A B)\n  - expr: tr(B A)\n    by: trace-cyclic\n")
    (b / "bar.yaml").write_text("theorem: bar\n" + ident + "claim: {lhs: tr(A B), rhs: tr(B A)}\n"
                                "proof:\n  - expr: tr(A B)\n  - expr: tr(B A)\n    by: foo\n")
    (a / "foo.yaml").write_text("theorem: foo\n" + ident + "claim: {lhs: A B, rhs: B A}\n"
                                "proof:\n  - expr: A B\n  - expr: B A\n    by: algebra\n")
    (a / "top.yaml").write_text("theorem: top\n" + ident + "claim: {lhs: tr(A B), rhs: tr(A B)}\n"
                                "proof:\n  - expr: tr(A B)\n  - expr: tr(B A)\n    by: bar\n"
                                "  - expr: tr(A B)\n    by: foo\n")
    from prover.proofs import check_file

    fr = check_file(a / "top.yaml", lib=[b])
    assert fr.steps[1].status == "valid" and fr.steps[2].status == "error"
    assert "does not check" in fr.steps[2].message


# -- fairness: a grouped step under a common outer context ---------------------------------------

def test_a_grouped_step_under_an_outer_differential_is_found():
    """Both d(A x - b) pushed in at once, under the outer d of a second differential; and the
    one-subtree case d(d(u^T u)) → d(2 u^T A dx). Each is what its cited rules produce (the same
    rewrite without the outer d was already accepted)."""
    decl = ("variables: {A: {shape: [m, n], constant: true}, b: {shape: [m, 1], constant: true},"
            " x: {shape: [n, 1]}}\n")
    both = _steps("theorem: z\n" + decl
                  + "claim:\n  lhs: d(d(A x - b)^T (A x - b) + (A x - b)^T d(A x - b))\n"
                  "  rhs: d((A dx)^T (A x - b) + (A x - b)^T A dx)\nproof:\n"
                  "  - expr: d(d(A x - b)^T (A x - b) + (A x - b)^T d(A x - b))\n"
                  "  - expr: d((A dx)^T (A x - b) + (A x - b)^T A dx)\n"
                  "    by: [diff-add, diff-scale, diff-product, diff-constant, algebra]\n")
    assert [s.status for s in both] == ["valid", "valid"]
    one = _steps("theorem: z\n" + decl
                 + "claim: {lhs: d(d((A x - b)^T (A x - b))), rhs: d(2 (A x - b)^T A dx)}\nproof:\n"
                 "  - expr: d(d((A x - b)^T (A x - b)))\n  - expr: d(2 (A x - b)^T A dx)\n"
                 "    by: [diff-product, diff-transpose, diff-add, diff-scale, diff-constant, algebra]\n")
    assert [s.status for s in one] == ["valid", "valid"]


# -- red-team round 15: a verdict never depends on what was checked before ----------------------

def test_a_lemma_of_another_file_with_the_same_name_is_no_cycle(tmp_path):
    lib, work = tmp_path / "lib", tmp_path / "work"
    lib.mkdir()
    work.mkdir()
    decl = "variables:\n  {v}: {{shape: [n, n]}}\n"
    (lib / "foo.yaml").write_text("theorem: foo\n" + decl.format(v="X") + "claim: {lhs: tr(X^T), rhs: tr(X)}\n"
                                  "proof:\n  - expr: tr(X^T)\n  - expr: tr(X)\n    by: trace-transpose\n")
    (lib / "bar.yaml").write_text("theorem: bar\n" + decl.format(v="Y") + "claim: {lhs: tr(Y^T) + tr(Y), rhs: 2 tr(Y)}\n"
                                  "proof:\n  - expr: tr(Y^T) + tr(Y)\n  - expr: tr(Y) + tr(Y)\n    by: foo\n"
                                  "  - expr: 2 tr(Y)\n    by: algebra\n")
    item = ("- theorem: {name}\n  variables:\n    Z: {{shape: [n, n]}}\n"
            "  claim: {{lhs: tr(Z^T) + tr(Z), rhs: 2 tr(Z)}}\n  proof:\n    - expr: tr(Z^T) + tr(Z)\n"
            "    - expr: 2 tr(Z)\n      by: bar\n")
    (work / "list.yaml").write_text(item.format(name="foo") + item.format(name="baz"))
    code, out, _ = _prove("check", str(work / "list.yaml"), "--lib", str(lib))
    assert code == 0 and "2 valid, 0 invalid" in out, out


def _deep_pair(folder: Path, primes: int) -> None:
    t = "X" + "'" * primes
    (folder / "lem.yaml").write_text(f"theorem: lem\nvariables:\n  X: {{shape: [n, n]}}\n"
                                     f"claim: {{lhs: {t}, rhs: {t}}}\nproof:\n  - expr: {t}\n"
                                     f"  - expr: {t}\n    by: algebra\n")
    (folder / "top.yaml").write_text("theorem: top\nvariables:\n  Y: {shape: [n, n]}\n"
                                     "claim: {lhs: Y, rhs: Y}\nproof:\n  - expr: Y\n  - expr: Y\n"
                                     "    by: lem\n")


def test_a_deep_lemma_gets_one_verdict_in_either_order(tmp_path):
    _deep_pair(tmp_path, 244)
    top, lem = str(tmp_path / "top.yaml"), str(tmp_path / "lem.yaml")
    answers = {_prove("check", *order, "--jobs", "1")[1].splitlines()[-1]
               for order in ((top,), (lem, top), (top, lem))}
    assert answers <= {"1 file: 1 valid, 0 invalid, 0 error", "2 files: 2 valid, 0 invalid, 0 error"}


def test_a_rule_that_is_too_deep_once_is_not_remembered_as_unconfirmed(monkeypatch):
    """A RecursionError depends on how deep the caller already is: confirming a rule that hit
    one says `unknown` for that call only, never for the rest of the process."""
    from prover.kernel import rules as R
    from prover.kernel.parser import parse

    rule = R.Rule("deep-test", parse("X^T^T^T", {"X"}), parse("X^T", {"X"}), env_of(X=("n", "n")))
    real = R.decide

    def too_deep(*a, **kw):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(R, "decide", too_deep)
    assert not R.confirm_rule(rule).holds
    monkeypatch.setattr(R, "decide", real)
    assert R.confirm_rule(rule).holds  # asked again with room: confirmed


# -- red-team round 16: gaming the grader ----------------------------------------------------------

Q1_PROOF = proof()  # the sample class's valid q1 (tests/grading_fixtures.py)

Q1_HW = ("assignment: hw\nproblems:\n  - id: q1\n    points: 10\n"
         "    claim: {derivative: a^T X a, wrt: X, equals: a a^T}\n"
         "    variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}\n")


def test_a_line_over_a_limit_does_not_buy_a_free_prairielearn_attempt(tmp_path):
    import json

    (tmp_path / "hw.yaml").write_text(Q1_HW)
    up = tmp_path / "up"
    up.mkdir()
    (up / "q1.yaml").write_text(Q1_PROOF + "  - expr: X^17\n    by: algebra\n")
    code, out, _ = _prove("grade", str(up), "--single", "--assignment", str(tmp_path / "hw.yaml"),
                          "--format", "prairielearn")
    data = json.loads(out)
    assert code == 0 and data["gradable"] is True and data["score"] == 0


def test_a_transposed_answer_with_an_unreadable_line_earns_no_more_than_the_milestones(tmp_path):
    hw = tmp_path / "hw.yaml"
    hw.write_text("assignment: hw\npartial_credit: {trace_form: 0.5, layout_slip: 0.8}\n"
                  + Q1_HW.split("\n", 1)[1].replace("a^T X a, wrt: X, equals: a a^T",
                                                    "a^T X b, wrt: X, equals: b a^T")
                  .replace("X: {shape: [n, n]}}", "b: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}"))
    steps = [(e.replace("a^T X a", "a^T X b").replace("a a^T", "b a^T"), by) for e, by in VALID_Q1]
    decl = "variables: {a: {shape: [n, 1], constant: true}, b: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}"
    claim = "claim: {derivative: a^T X b, wrt: X, equals: b a^T}"
    right = proof(steps, variables=decl, claim=claim, derivative="b a^T")
    typo = right.replace("  - expr: tr(d(b a^T X))\n", "  - expr: tr(d(b a^T X)\n")
    transposed = proof(steps, variables=decl, claim=claim, derivative="a b^T").replace(
        "  - expr: tr(d(b a^T X))\n", "  - expr: tr(d(b a^T X)\n")
    for name, text in (("ok", typo), ("slip", transposed)):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "q1.yaml").write_text(text)
    code, out, err = _prove("grade", str(tmp_path / "class"), "--assignment", str(hw), "--format", "csv")
    rows = {r.split(",")[0]: r.split(",") for r in out.splitlines()[1:]}
    assert code == 0, err
    assert rows["ok"][4] == rows["slip"][4] == "needs_review", out
    assert float(rows["slip"][2]) <= float(rows["ok"][2]), out


def test_where_algebra_is_not_allowed_a_step_of_algebra_alone_earns_nothing(tmp_path):
    """(A B)^T = B^T A^T in one step citing trace-cyclic, which does not apply: algebra alone,
    which this assignment leaves out of allowed_rules. Where algebra is allowed, it checks."""
    proof = ("theorem: q1\nvariables: {A: {shape: [m, n]}, B: {shape: [n, p]}}\n"
             "claim: {lhs: (A B)^T, rhs: B^T A^T}\nproof:\n  - expr: (A B)^T\n"
             "  - expr: B^T A^T\n    by: trace-cyclic\n")
    (tmp_path / "class" / "s1").mkdir(parents=True)
    (tmp_path / "class" / "s1" / "q1.yaml").write_text(proof)
    rows = {}
    for allowed in ("[trace-cyclic]", "[trace-cyclic, algebra]"):
        hw = tmp_path / "hw.yaml"
        hw.write_text("assignment: hw\nproblems:\n  - id: q1\n    points: 5\n"
                      "    claim: {lhs: (A B)^T, rhs: B^T A^T}\n"
                      "    variables: {A: {shape: [m, n]}, B: {shape: [n, p]}}\n"
                      f"    allowed_rules: {allowed}\n")
        code, out, err = _prove("grade", str(tmp_path / "class"), "--assignment", str(hw),
                                "--format", "csv")
        assert code == 0, err
        rows[allowed] = out.splitlines()[1].split(",", 5)
    assert rows["[trace-cyclic]"][2:5] == ["0", "5", "invalid"]
    assert "algebra alone" in rows["[trace-cyclic]"][5]
    assert rows["[trace-cyclic, algebra]"][2:5] == ["5", "5", "valid"]


def test_a_linked_submission_says_why_it_is_missing(tmp_path):
    import os

    real = tmp_path / "real"
    real.mkdir()
    (real / "q1.yaml").write_text(Q1_PROOF)
    (tmp_path / "class").mkdir()
    os.symlink(real, tmp_path / "class" / "bob")
    (tmp_path / "hw.yaml").write_text(Q1_HW)
    code, out, _ = _prove("grade", str(tmp_path / "class"), "--assignment",
                          str(tmp_path / "hw.yaml"), "--format", "csv")
    row = out.splitlines()[1].split(",", 5)
    assert code == 0 and row[4] == "missing" and "symbolic link" in row[5]
