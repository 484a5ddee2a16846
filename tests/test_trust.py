"""The four ways the old kernel called false claims valid (issue 10), each with variants: as
single steps, inside longer proofs, as identities and as derivative claims. None may be valid."""
import pytest

from prover.proofs import check_file
from prover.rulebase import load_rulebook

BOOK = load_rulebook()[1]


def check(tmp_path, text, name="p.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return check_file(p, BOOK)


def identity(lhs, rhs, steps, decls):
    body = "".join(f"  - expr: {e}\n    by: {by}\n" for e, by in steps)
    return (f"theorem: t\nvariables:\n{decls}claim:\n  lhs: {lhs}\n  rhs: {rhs}\n"
            f"proof:\n  - expr: {lhs}\n{body}")


def square(sym="n", name="X", extra=""):
    return f"  {name}: {{shape: [{sym}, {sym}]}}\n" + extra


# -- 1. start and end lines are checked for truth ------------------------------------------------
@pytest.mark.parametrize("sym", ["n", "m", "k"])
def test_trace_of_x_times_its_inverse_is_not_tr_1(tmp_path, sym):
    text = identity("tr(X X^-1)", "tr(1)", [], square(sym))
    fr = check(tmp_path, text)
    assert fr.status != "valid"
    # the same with one step of algebra
    fr = check(tmp_path, identity("tr(X X^-1)", "tr(1)", [("tr(1)", "algebra")], square(sym)))
    assert fr.status != "valid"


def test_a_derivative_claim_cannot_start_from_a_fingerprint_twin(tmp_path):
    text = """theorem: t
variables:
  X: {shape: [n, n]}
  A: {shape: [n, n], constant: true}
claim:
  derivative: tr(X X^-1) tr(A X)
  wrt: X
  equals: A
proof:
  - expr: d(tr(1) tr(A X))
  - expr: tr(1) d(tr(A X))
    by: [diff-scale, algebra]
  - expr: d(tr(A X))
    by: algebra
  - expr: tr(d(A X))
    by: diff-trace
  - expr: tr(d(A) X + A dX)
    by: diff-product
  - expr: tr(A dX)
    by: [diff-constant, algebra]
  - derivative: A
    by: theorem-4
"""
    fr = check(tmp_path, text)
    assert fr.status == "invalid"
    assert fr.steps[0].status == "invalid" and "must start from" in fr.steps[0].message


def test_the_last_line_of_an_identity_must_equal_the_right_side(tmp_path):
    # every step is fine, but the end is tr(I) = n, not 1
    text = identity("tr(X X^-1)", "1", [("tr(I)", "algebra")], square())
    fr = check(tmp_path, text)
    assert fr.status == "invalid"


def test_a_claim_with_a_differential_in_its_function_is_an_error(tmp_path):
    text = """theorem: t
variables:
  X: {shape: [n, n]}
claim:
  derivative: tr(dX)
  wrt: X
  equals: I
proof:
  - expr: d(tr(dX))
  - derivative: I
    by: theorem-4
"""
    fr = check(tmp_path, text)
    assert fr.status == "error" and "differential" in fr.message


# -- 2. det and inverses count as the degree they are -------------------------------------------
@pytest.mark.parametrize("sym", ["n", "p"])
@pytest.mark.parametrize("by", ["index", "algebra"])
def test_a_det_identity_true_only_at_sizes_2_and_3(tmp_path, sym, by):
    text = identity("(det(2 X) - 4 det(X)) (det(2 X) - 8 det(X))", "0", [("0", by)], square(sym))
    assert check(tmp_path, text).status != "valid"


def test_a_det_identity_true_up_to_size_4(tmp_path):
    lhs = "(det(2 X) - 4 det(X)) (det(2 X) - 8 det(X)) (det(2 X) - 16 det(X))"
    assert check(tmp_path, identity(lhs, "0", [("0", "index")], square())).status != "valid"


def test_the_3x3_adjugate_is_not_the_derivative_of_det_of_i_plus_x(tmp_path):
    # adj(I + X)^T for n <= 3 written with traces: true only up to 3×3
    e2 = "(tr(I + X) tr(I + X) - tr((I + X)^2)) / 2"
    adj = f"({e2}) I - tr(I + X) (I + X) + (I + X)^2"
    text = f"""theorem: t
variables:
  X: {{shape: [n, n]}}
claim:
  derivative: det(I + X)
  wrt: X
  equals: {adj}
proof:
  - expr: d(det(I + X))
  - expr: tr(({adj}) dX)
    by: index
  - derivative: {adj}
    by: theorem-4
"""
    assert check(tmp_path, text).status != "valid"


def test_det_of_minus_x_is_not_det_x(tmp_path):
    assert check(tmp_path, identity("det(-X)", "det(X)", [("det(X)", "index")],
                                    square())).status != "valid"


# -- 3. nothing is batched: a false step among true ones is found -------------------------------
def test_a_size_dependent_scalar_inside_a_longer_proof(tmp_path):
    lhs = "(tr(I + X) - tr(X) - 2) (tr(I + X) - tr(X) - 4) a"
    steps = [("(tr(I + X) - tr(X) - 2) (tr(I + X) - tr(X) - 4) a", "algebra"),
             ("0", "index"), ("0 a", "algebra")]
    decls = square(extra="  a: {shape: [n, 1]}\n")
    fr = check(tmp_path, identity(lhs, "0 a", steps, decls))
    assert fr.status == "invalid"
    assert any(s.status == "invalid" for s in fr.steps)


def test_a_false_derivative_through_ordinary_rules_with_a_non_square_result(tmp_path):
    text = """theorem: t
variables:
  X: {shape: [m, n]}
  a: {shape: [m, 1], constant: true}
  b: {shape: [n, 1], constant: true}
claim:
  derivative: a^T X b
  wrt: X
  equals: b a^T + (tr(I + X X^T) - tr(X X^T) - 2) (tr(I + X X^T) - tr(X X^T) - 4) b a^T
proof:
  - expr: d(a^T X b)
  - expr: d(tr(a^T X b))
    by: trace-scalar
  - expr: tr(d(a^T X b))
    by: diff-trace
  - expr: tr(a^T dX b)
    by: [diff-product, diff-constant, algebra]
  - expr: tr(b a^T dX)
    by: trace-cyclic
  - derivative: b a^T + (tr(I + X X^T) - tr(X X^T) - 2) (tr(I + X X^T) - tr(X X^T) - 4) b a^T
    by: theorem-4
"""
    assert check(tmp_path, text).status != "valid"


# -- 4. literals are not reduced mod a fixed prime ------------------------------------------------
@pytest.mark.parametrize("n", [2, 5, 6])
@pytest.mark.parametrize("lit", ["2305843009213693952", "2147483648 * 1073741824",
                                 "18446744073709551617", "(2305843009213693951 + 1)"])
def test_huge_literals_are_not_one(tmp_path, n, lit):
    text = identity("X^-1", f"{lit} X^-1", [(f"{lit} X^-1", "algebra")], square(str(n)))
    fr = check(tmp_path, text)
    assert fr.status == "invalid"


def test_a_huge_literal_under_det(tmp_path):
    text = identity("det(X)", "2305843009213693952 det(X)",
                    [("2305843009213693952 det(X)", "index")], square("5"))
    assert check(tmp_path, text).status != "valid"


# -- rules and lemmas are confirmed before they are cited -----------------------------------------
def test_a_false_lemma_is_refused_wherever_it_is_cited(tmp_path):
    (tmp_path / "bad.yaml").write_text(identity("tr(A B C)", "tr(A C B)", [("tr(A C B)", "index")],
                                                "  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n"
                                                "  C: {shape: [n, n]}\n").replace("theorem: t", "theorem: bad"))
    text = identity("tr(X Y Z)", "tr(X Z Y)", [("tr(X Z Y)", "bad")],
                    "  X: {shape: [n, n]}\n  Y: {shape: [n, n]}\n  Z: {shape: [n, n]}\n")
    fr = check(tmp_path, text, "use.yaml")
    assert fr.status == "invalid" and fr.steps[1].status != "valid"


def test_a_false_rule_in_a_course_rule_file_is_refused_when_cited(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    folder.mkdir()
    from prover.rulebase import rules_dir
    for f in rules_dir().glob("*.yaml"):
        (folder / f.name).write_text(f.read_text())
    (folder / "bad.yaml").write_text(
        "rules:\n  - id: trace-product\n    statement: tr(A B) = tr(A) tr(B)\n"
        "    variables: {A: {shape: [n, n]}, B: {shape: [n, n]}}\n"
        "    source: nowhere\n    summary: false on purpose\n")
    book = load_rulebook(folder)[1]
    p = tmp_path / "p.yaml"
    p.write_text(identity("tr(X X)", "tr(X) tr(X)", [("tr(X) tr(X)", "trace-product")], square()))
    fr = check_file(p, book)
    s = fr.steps[1]
    assert fr.status == "invalid" and s.status == "error" and "not confirmed" in s.message


def test_size_dependent_claim_with_three_symbols_is_tried_at_many_combinations(tmp_path):
    """(m - n)(n - p)(m - p) Z = 0 holds whenever two sizes coincide; the checker must try
    combinations of three different sizes (and, beyond 256 combinations, a random sample)."""
    lhs = "(tr(A^0) - tr(B^0)) (tr(B^0) - tr(C^0)) (tr(A^0) - tr(C^0)) Z"
    decls = ("  A: {shape: [m, m]}\n  B: {shape: [n, n]}\n  C: {shape: [p, p]}\n"
             "  Z: {shape: [2, 2]}\n")
    assert check(tmp_path, identity(lhs, "0 Z", [("0 Z", "index")], decls)).status != "valid"
    square_of = f"({lhs}) ({lhs})"  # degree 6 in the sizes: more combinations than fit the grid
    assert check(tmp_path, identity(square_of, "0 Z", [("0 Z", "index")], decls)).status != "valid"
