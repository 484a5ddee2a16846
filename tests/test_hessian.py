"""Hessian claims end to end outside the kernel (issue 13, "Hessians as checked proofs"): the
proof-file format (`claim: {hessian: f, wrt: x, equals: H}`, a last step `hessian: H`), its
errors with file, line and column, the reports and `prove render`, the worked proofs in
proofs/ml/ (each checked, and each answer compared with central finite differences), and
Hessian problems in `prove grade`."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import run_cli

from prover.fastload import plain_proof
from prover.kernel.expr import Add, Div, Func, Had, Ident, Mul, Neg, Num, Sym, T
from prover.kernel.parser import parse
from prover.proofs import check_file, parse_proof
from prover.source import load_yaml

ROOT = Path(__file__).resolve().parent.parent
WORKED = {name: ROOT / "proofs" / "ml" / f"{name}.yaml"
          for name in ("hessian_quadratic", "hessian_least_squares", "hessian_logistic")}

QUADRATIC = """\
theorem: hq
variables:
  A: {shape: [n, n], constant: true}
  x: {shape: [n, 1]}
claim:
  hessian: x^T A x
  wrt: x
  equals: EQUALS
proof:
  - expr: d(d(x^T A x))
  - expr: d(dx^T A x + x^T A dx)
    by: [diff-product, diff-transpose, diff-constant]
  - expr: d(dx^T A x) + d(x^T A dx)
    by: diff-add
  - expr: d(dx)^T A x + dx^T A dx + dx^T A dx + x^T A d(dx)
    by: [diff-product, diff-transpose, diff-constant]
  - expr: dx^T A dx + dx^T A dx
    by: diff-second-variable
  - expr: dx^T (2 A) dx
    by: algebra
  - hessian: ANSWER
    by: hessian-from-second-differential
"""


def quadratic(answer="A + A^T", equals=None) -> str:
    return QUADRATIC.replace("EQUALS", equals or answer).replace("ANSWER", answer)


def check_text(tmp_path, text, name="h.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return check_file(p), p


# -- the worked proofs ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(WORKED))
def test_every_worked_hessian_checks(name):
    fr = check_file(WORKED[name])
    assert fr.status == "valid", (fr.message, [(s.index, s.status, s.message) for s in fr.steps])
    assert fr.claim.startswith("∇²(")
    assert fr.steps[-1].by == ["hessian-from-second-differential"]


class Eye:
    """c·I, of whatever size its neighbour fixes."""

    def __init__(self, c: float):
        self.c = c


def _fix(v, like):
    return v.c * np.eye(like.shape[0]) if isinstance(v, Eye) else v


def _times(a, b):
    if isinstance(a, Eye) and isinstance(b, Eye):
        return Eye(a.c * b.c)
    if isinstance(a, Eye):
        return Eye(a.c * b[0, 0]) if b.shape == (1, 1) else a.c * b  # (c I)(s) is still c s I
    if isinstance(b, Eye):
        return Eye(a[0, 0] * b.c) if a.shape == (1, 1) else a * b.c
    if a.shape == (1, 1) and b.shape[0] != 1:
        return a[0, 0] * b
    if b.shape == (1, 1) and a.shape[1] != 1:
        return a * b[0, 0]
    return a @ b


def value(e, env):
    """A NumPy evaluation of a parsed tree (independent of the kernel's evaluator)."""
    if isinstance(e, Num):
        return Eye(float(e.value))
    if isinstance(e, Ident):
        return Eye(1.0)
    if isinstance(e, Sym):
        return env[e.name]
    if isinstance(e, Neg):
        v = value(e.arg, env)
        return Eye(-v.c) if isinstance(v, Eye) else -v
    if isinstance(e, Add):
        vs = [value(a, env) for a in e.args]
        like = next((v for v in vs if not isinstance(v, Eye)), None)
        return sum(_fix(v, like) for v in vs) if like is not None else Eye(sum(v.c for v in vs))
    if isinstance(e, Mul):
        out = value(e.args[0], env)
        for a in e.args[1:]:
            out = _times(out, value(a, env))
        return out
    if isinstance(e, Div):
        return _times(value(e.num, env), Eye(1 / float(value(e.den, env)[0, 0])))
    if isinstance(e, T):
        v = value(e.arg, env)
        return v if isinstance(v, Eye) else v.T
    if isinstance(e, Had):
        return value(e.left, env) * value(e.right, env)
    if isinstance(e, Func):
        v = value(e.arg, env)
        if e.name == "sum":
            return np.array([[v.sum()]])
        if e.name == "diag":
            return np.diag(v[:, 0])
        if e.name == "tr":
            return np.array([[np.trace(v)]])
        return {"log": np.log, "exp": np.exp, "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[e.name](v)
    raise TypeError(type(e).__name__)


def _point(variables, rng, m=4, n=3):
    dims = {"m": m, "n": n}
    env = {}
    for name, decl in variables.items():
        shape = (1, 1) if decl["shape"] == "scalar" else tuple(
            dims[x] if isinstance(x, str) else x for x in decl["shape"])
        env[name] = rng.normal(size=shape)
    if "t" in env:  # labels ±1
        env["t"] = np.where(rng.normal(size=env["t"].shape) > 0, 1.0, -1.0)
    if "lam" in env:
        env["lam"] = np.abs(env["lam"]) + 0.5
    return env


@pytest.mark.parametrize("name", sorted(WORKED))
def test_every_worked_hessian_agrees_with_central_finite_differences(name):
    data = yaml.safe_load(WORKED[name].read_text())
    names = set(data["variables"])
    f, h = parse(data["claim"]["hessian"], names), parse(data["claim"]["equals"], names)
    wrt = data["claim"]["wrt"]
    rng = np.random.default_rng(13)
    for _ in range(3):
        env = _point(data["variables"], rng)
        x0 = env[wrt].copy()
        k, eps = x0.size, 1e-4

        def fx(x):
            return float(value(f, {**env, wrt: x.reshape(x0.shape, order="F")})[0, 0])

        fd = np.zeros((k, k))
        for i in range(k):
            for j in range(k):
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = eps, eps
                base = x0.flatten(order="F")
                fd[i, j] = (fx(base + ei + ej) - fx(base + ei - ej) - fx(base - ei + ej)
                            + fx(base - ei - ej)) / (4 * eps * eps)
        answer = _fix(value(h, env), fd)
        assert answer.shape == (k, k)
        assert np.allclose(answer, answer.T)
        assert np.allclose(fd, answer, rtol=1e-4, atol=1e-5), (fd, answer)


def test_the_logistic_hessian_is_the_textbook_one_for_labels_of_one_sign_or_the_other():
    """With t ∈ {-1, 1}, t .* t is all ones: the answer is X^T diag(s .* (1 - s)) X."""
    data = yaml.safe_load(WORKED["hessian_logistic"].read_text())
    names = set(data["variables"])
    h = parse(data["claim"]["equals"], names)
    env = _point(data["variables"], np.random.default_rng(1))
    s = 1 / (1 + np.exp(-env["t"] * (env["X"] @ env["w"])))
    textbook = env["X"].T @ np.diag((s * (1 - s))[:, 0]) @ env["X"]
    assert np.allclose(value(h, env), textbook)


# -- the format ----------------------------------------------------------------------------------
def test_the_loader_builds_the_kernels_hessian_claim_and_the_fast_loader_agrees(tmp_path):
    src = load_yaml(quadratic())
    pf, plain = parse_proof(src.data, src), plain_proof(src.data)
    assert type(pf.claim).__name__ == "HessianClaim" and type(pf.proof[-1]).__name__ == "HessianStep"
    assert plain is not None and plain.claim.hessian == pf.claim.hessian == "x^T A x"
    assert plain.proof[-1].hessian == pf.proof[-1].hessian == "A + A^T"
    from prover.proofs import to_kernel

    pin = to_kernel(pf, src)
    assert pin.claim == {"hessian": "x^T A x", "wrt": "x", "equals": "A + A^T"}  # no layout
    assert pin.steps[-1].derivative and pin.steps[-1].text == "A + A^T"


def test_equals_is_optional_as_for_derivative_claims(tmp_path):
    text = quadratic().replace("  equals: A + A^T\n", "")
    fr, _ = check_text(tmp_path, text)
    assert fr.status == "valid" and fr.claim == "∇²(x^T A x) in x"


def test_a_good_proof_reports_its_claim_in_every_format(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text(quadratic())
    r = run_cli(["check", str(p)])
    assert r.exit_code == 0 and "∇²(x^T A x) in x = A + A^T" in r.output
    assert any("hessian-from-second-differential" in line and "✓ valid  [rule]" in line
               for line in r.output.splitlines())
    out = json.loads(run_cli(["check", "--format", "json", str(p)]).stdout)
    assert out["files"][0]["claim"] == "∇²(x^T A x) in x = A + A^T"
    assert out["files"][0]["steps"][-1]["by"] == ["hessian-from-second-differential"]
    junit = run_cli(["check", "--format", "junit", str(p)])
    assert junit.exit_code == 0 and 'failures="0"' in junit.output


def test_render_reads_the_claim_as_a_second_derivative(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text(quadratic())
    md = run_cli(["render", "--to", "markdown", str(p)])
    assert md.exit_code == 0, md.output
    assert "\\frac{\\partial^2 (x^{\\top} A x)}{\\partial x\\, \\partial x^{\\top}} = A + A^{\\top}" in md.stdout
    assert "Reading the Hessian off the last line" in md.stdout and "layout" not in md.stdout
    tex = run_cli(["render", str(WORKED["hessian_logistic"])])
    assert tex.exit_code == 0 and "\\intertext{and reading the Hessian off the last line,}" in tex.stdout


# -- wrong proofs: the verdict and the message -------------------------------------------------------
def test_a_non_symmetric_answer_is_invalid_and_says_why(tmp_path):
    fr, _ = check_text(tmp_path, quadratic("2 A"))
    last = fr.steps[-1]
    assert fr.status == "invalid" and last.status == "invalid"
    assert last.message.startswith("the line before gives the Hessian in x = ")
    assert last.message.endswith("not 2 A") and last.counterexample is not None
    assert "a Hessian is symmetric, and 2 A is not" in last.help
    assert "the claim is false: 2 A is not symmetric" in fr.message


def test_a_wrong_symmetric_hessian_is_invalid_with_a_counterexample(tmp_path):
    fr, _ = check_text(tmp_path, quadratic("2 A + 2 A^T"))
    last = fr.steps[-1]
    assert fr.status == "invalid" and last.status == "invalid"
    assert "not 2 A + 2 A^T" in last.message and last.counterexample is not None
    assert "the claim is false: d(d(x^T A x)) is not dx^T (2 A + 2 A^T) dx" in fr.message


def test_an_answer_that_is_right_but_not_the_claim_is_invalid(tmp_path):
    fr, _ = check_text(tmp_path, quadratic("A + A^T", equals="A^T + 2 A"))
    assert fr.status == "invalid"
    assert fr.steps[-1].message.startswith("this Hessian is not the claimed A^T + 2 A")


def test_a_proof_that_stops_before_the_hessian_step_is_incomplete(tmp_path):
    text = quadratic().split("  - hessian:")[0]
    fr, _ = check_text(tmp_path, text)
    assert fr.status == "invalid" and all(s.status == "valid" for s in fr.steps)
    assert fr.message == ("incomplete: the proof does not end with a hessian: step "
                          "(hessian-from-second-differential)")


def test_a_proof_that_reads_off_too_early_is_unjustified(tmp_path):
    text = quadratic().replace("  - expr: dx^T A dx + dx^T A dx\n    by: diff-second-variable\n"
                               "  - expr: dx^T (2 A) dx\n    by: algebra\n", "")
    fr, _ = check_text(tmp_path, text)
    last = fr.steps[-1]
    assert last.status == "unjustified"
    assert last.message.startswith("hessian-from-second-differential reads the Hessian in x off a "
                                   "line of the form dx^T H dx")


def test_a_hessian_step_without_a_citation_is_an_error(tmp_path):
    text = quadratic().replace("    by: hessian-from-second-differential\n", "")
    fr, p = check_text(tmp_path, text)
    last = fr.steps[-1]
    assert last.status == "error" and last.message == "this step cites no rule (by:)"
    r = run_cli(["check", str(p)])
    assert r.exit_code == 1 and f"{p}:21:14: error: step 6: this step cites no rule (by:)" in r.output


def test_theorem_4_does_not_read_off_a_hessian(tmp_path):
    text = quadratic().replace("    by: hessian-from-second-differential\n", "    by: theorem-4\n")
    fr, _ = check_text(tmp_path, text)
    assert fr.steps[-1].status == "unjustified"
    assert fr.steps[-1].message == ("reading off the Hessian in x needs "
                                    "hessian-from-second-differential")
    assert fr.steps[-1].suggestion == ["hessian-from-second-differential"]


# -- bad files: exit 2, with file, line and column ------------------------------------------------
def _error(tmp_path, text):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    r = run_cli(["check", str(p)])
    assert r.exit_code == 2, r.output
    return r.output, str(p)


def test_a_hessian_step_in_a_derivative_proof_is_refused_at_the_key(tmp_path):
    text = (ROOT / "proofs" / "theorem5.yaml").read_text().replace("  - derivative: a a^T",
                                                                   "  - hessian: a a^T")
    out, p = _error(tmp_path, text)
    assert f"{p}:26:5: error: a hessian: step ends a Hessian proof, and this claim is a derivative" in out
    assert "end the proof with derivative: G, by theorem-4" in out


def test_a_hessian_step_in_an_identity_proof_is_refused(tmp_path):
    text = ("theorem: i\nvariables: {A: {shape: [n, n]}, B: {shape: [n, n]}}\n"
            "claim: {lhs: tr(A B), rhs: tr(B A)}\nproof:\n  - expr: tr(A B)\n"
            "  - hessian: tr(B A)\n    by: trace-cyclic\n")
    out, p = _error(tmp_path, text)
    assert f"{p}:6:5: error: a hessian: step ends a Hessian proof, and this claim is an identity" in out


def test_a_derivative_step_in_a_hessian_proof_is_refused(tmp_path):
    out, p = _error(tmp_path, quadratic().replace("  - hessian: A + A^T", "  - derivative: A + A^T"))
    assert f"{p}:21:5: error: a derivative: step ends a derivative proof, and this claim is a Hessian" in out
    assert "hessian: H, by hessian-from-second-differential" in out


def test_a_layout_with_a_hessian_claim_is_refused(tmp_path):
    out, p = _error(tmp_path, quadratic().replace("variables:", "layout: denominator\nvariables:"))
    assert f"{p}:2:1: error: layout: is for derivative claims; a Hessian claim takes none" in out


@pytest.mark.parametrize("change, where, message", [
    (("  wrt: x\n", ""), "6:3", "missing key 'wrt' in claim"),
    (("  wrt: x\n", "  wrt: y\n"), "7:8", "wrt: 'y' is not a declared variable"),
    (("  hessian: x^T A x\n", "  hessian: x x^T\n"), "6:12",
     "the Hessian in x needs a scalar f; x x^T is n×n"),
    (("  equals: A + A^T\n", "  equals: x\n"), "8:11",
     "the claimed Hessian x is n×1; the Hessian in x is n×n"),
    (("  hessian: x^T A x\n", "  hessian: x^T A x\n  derivative: x\n"), "7:3",
     "unknown key 'derivative'"),
])
def test_a_bad_hessian_claim_is_an_error_at_its_place(tmp_path, change, where, message):
    out, p = _error(tmp_path, quadratic().replace(*change))
    assert f"{p}:{where}: error: {message}" in out, out


def test_a_hessian_with_respect_to_a_matrix_is_vec_sized(tmp_path):
    text = ("theorem: hm\nvariables: {A: {shape: [n, n], constant: true}, X: {shape: [n, p]}}\n"
            "claim: {hessian: tr(X^T A X), wrt: X, equals: A}\nproof:\n  - expr: d(d(tr(X^T A X)))\n")
    out, p = _error(tmp_path, text)
    assert "the claimed Hessian A is n×n; the Hessian in X is n·p×n·p" in out


def test_a_hessian_proof_cannot_be_cited_as_a_lemma(tmp_path):
    (tmp_path / "hq.yaml").write_text(quadratic())
    user = ("theorem: user\nvariables: {B: {shape: [n, n], constant: true}, y: {shape: [n, 1]}}\n"
            "claim: {lhs: d(d(y^T B y)), rhs: dy^T (B + B^T) dy}\nproof:\n"
            "  - expr: d(d(y^T B y))\n  - expr: dy^T (B + B^T) dy\n    by: hq\n")
    fr, _ = check_text(tmp_path, user, "user.yaml")
    assert fr.steps[-1].status == "error"
    assert "lemma 'hq' (hq.yaml) is a Hessian claim, and a Hessian cannot be cited as a rule" \
        in fr.steps[-1].message


def test_the_schema_takes_hessian_files_and_refuses_a_layout_with_one():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "proof.schema.json").read_text())
    v = jsonschema.Draft7Validator(schema)
    for path in WORKED.values():
        assert not list(v.iter_errors(yaml.safe_load(path.read_text()))), path
    data = yaml.safe_load(quadratic())
    assert not list(v.iter_errors([data]))
    assert list(v.iter_errors({**data, "layout": "numerator"}))


# -- grading -------------------------------------------------------------------------------------
VARS = "variables: {A: {shape: [n, n], constant: true}, x: {shape: [n, 1]}}"


def assignment(tmp_path, claim, extra=""):
    p = tmp_path / "hw.yaml"
    p.write_text(textwrap.dedent(f"""\
        assignment: hw
        problems:
          - id: hq
            points: 10
            claim: {claim}
            {VARS}
        """) + extra)
    return p


def test_a_hessian_problem_loads_and_its_key_is_confirmed_by_the_kernel(tmp_path):
    from prover.grade import load_assignment
    from prover.grade.key import check_key

    a = load_assignment(assignment(tmp_path, "{hessian: x^T A x, wrt: x, equals: A + A^T}"))
    p = a.problems[0]
    assert p.kind == "hessian" and "layout" not in p.claim
    assert p.claim_shown == "∇²(x^T A x) in x = A + A^T"
    k = check_key(p)
    assert k.status == "confirmed" and "hessian-from-second-differential" in k.note


@pytest.mark.parametrize("key, says", [
    ("2 A", "is wrong: it is not symmetric, and a Hessian is"),
    ("2 A + 2 A^T", "is wrong: d(d(x^T A x)) ≠ dx^T (2 A + 2 A^T) dx"),
])
def test_a_wrong_hessian_key_stops_grading(tmp_path, key, says):
    hw = assignment(tmp_path, f"{{hessian: x^T A x, wrt: x, equals: {key}}}")
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    r = run_cli(["grade", "-a", str(hw), str(tmp_path / "subs")])
    assert r.exit_code == 2 and says in r.output, r.output


@pytest.mark.parametrize("claim, extra, says", [
    ("{hessian: x^T A x, wrt: x}", "", "a Hessian claim needs its answer, equals: H"),
    ("{hessian: x^T A x, wrt: x, equals: A + A^T}", "    layout: numerator\n",
     "layout: is for derivative claims; a Hessian claim takes none"),
    ("{hessian: x^T A x, wrt: x, equals: A + A^T}", "    allowed_rules: [diff-*, algebra]\n",
     "allowed_rules does not include it"),
])
def test_a_hessian_problem_the_grader_cannot_use_is_refused(tmp_path, claim, extra, says):
    from prover.grade import AssignmentError, load_assignment

    with pytest.raises(AssignmentError) as info:
        load_assignment(assignment(tmp_path, claim, extra))
    assert says in str(info.value)


def test_a_hessian_submission_is_graded(tmp_path):
    hw = assignment(tmp_path, "{hessian: x^T A x, wrt: x, equals: A + A^T}")
    for who, answer in (("alice", "A + A^T"), ("bob", "2 A")):
        (tmp_path / "subs" / who).mkdir(parents=True)
        (tmp_path / "subs" / who / "hq.yaml").write_text(quadratic(answer, "A + A^T"))
    r = run_cli(["grade", "-a", str(hw), "--format", "json", str(tmp_path / "subs")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    scores = {s["student"]: s["score"] for s in out["students"]}
    assert scores == {"alice": 10, "bob": 0}
