"""The Python API (prover/api.py) and docs/api.md: the doc's examples run and print what the doc
shows; results display in notebooks; `import prover` loads nothing it does not need."""
from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import prover
from prover import api

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
FAIL = ROOT / "tests" / "fail"


# -- the doc's examples ---------------------------------------------------------------------------
def doc_examples(text: str) -> list[tuple[int, str, str | None]]:
    """Each ```python block with its line and the ```text block right after it (its output)."""
    blocks = [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
              for m in re.finditer(r"(?ms)^```(\w*)\n(.*?)^```\s*$", text)]
    out = []
    for i, (lang, body, line) in enumerate(blocks):
        if lang == "python":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            out.append((line, body, nxt[1] if nxt and nxt[0] == "text" else None))
    return out


def _lines(s: str) -> list[str]:
    return [x.rstrip() for x in s.rstrip("\n").split("\n")]


def test_the_doc_has_examples_with_output():
    ex = doc_examples(DOC.read_text(encoding="utf-8"))
    assert len(ex) >= 8
    assert sum(out is not None for _, _, out in ex) >= 8
    called = "".join(code for _, code, _ in ex)
    for name in ("prover.check(", "prover.check_text(", "prover.derive(", "prover.equiv(",
                 "_repr_markdown_()", "_repr_latex_()"):
        assert name in called, name


def test_the_doc_examples_run_and_print_what_the_doc_shows(monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__docs__"}
    for line, code, expected in doc_examples(DOC.read_text(encoding="utf-8")):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102 - our own doc
        if expected is not None:
            assert _lines(buf.getvalue()) == _lines(expected), f"docs/api.md:{line}"


# -- the functions --------------------------------------------------------------------------------
def test_variables_in_every_form():
    from prover.kernel.shapes import Shape

    listed = api.variables(["a: n x 1 constant", "X: n x n invertible"])
    assert listed["a"].constant and listed["X"].invertible and listed["X"].shape == Shape("n", "n")
    assert api.variables("s: scalar")["s"].shape == Shape(1, 1)
    assert api.variables({"X": "n x n invertible"}) == {"X": listed["X"]}
    assert api.variables(dict([prover.parse_var("X: n x n invertible")])) == {"X": listed["X"]}
    assert api.variables(None) == {}
    with pytest.raises(ValueError, match="n x 1"):
        api.variables(["X: n by n"])
    with pytest.raises(ValueError, match="declared twice"):
        api.variables(["X: n x n", "X: n x 1"])


def test_check_one_file_a_folder_and_a_list(tmp_path):
    fr = prover.check(ROOT / "proofs" / "theorem5.yaml")
    assert isinstance(fr, prover.FileResult) and fr.status == "valid"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t5.yaml").write_text((ROOT / "proofs" / "theorem5.yaml").read_text())
    (tmp_path / "bad.yaml").write_bytes(b"\0binary")
    folder = prover.check(tmp_path)
    assert isinstance(folder, prover.CheckResults) and isinstance(folder, list)
    assert [Path(r.path).name for r in folder] == ["bad.yaml", "t5.yaml"]
    assert folder.summary == {"files": 2, "valid": 1, "invalid": 0, "error": 1} and not folder.ok
    assert folder.status == "error" and prover.CheckResults().status == "valid"
    missing = prover.check(str(tmp_path / "nope.yaml"))
    assert missing.status == "error"
    assert prover.check([str(tmp_path / "sub")]).ok


def test_a_file_or_text_holding_a_list_of_proofs(tmp_path):
    one = (ROOT / "proofs" / "theorem5.yaml").read_text()
    item = lambda text: "- " + text.rstrip().replace("\n", "\n  ") + "\n"  # noqa: E731
    two = item(one) + item(one.replace("theorem: theorem5", "theorem: theorem5b"))
    (tmp_path / "two.yaml").write_text(two)
    both = prover.check(tmp_path / "two.yaml")
    assert isinstance(both, prover.CheckResults)
    assert [(Path(r.path).name, r.status) for r in both] == [("two.yaml#1", "valid"),
                                                             ("two.yaml#2", "valid")]
    second = prover.check(f"{tmp_path / 'two.yaml'}#2")
    assert isinstance(second, prover.FileResult) and second.status == "valid"
    texts = prover.check_text(two, name="cell")
    assert [r.path for r in texts] == ["cell#1", "cell#2"] and texts.ok


def test_check_text_names_the_result_and_counts_lines_from_the_text():
    text = (FAIL / "true-step-wrong-rule.yaml").read_text()
    fr = prover.check_text(text, name="cell 3")
    assert isinstance(fr, prover.FileResult)
    assert fr.path == "cell 3" and fr.status == "invalid"
    assert fr.lines == text.splitlines()
    broken = prover.check_text("theorem: [unclosed\n")
    assert broken.path == "<string>" and broken.status == "error" and broken.line >= 1
    assert prover.check_text(b"theorem: x\0").message == "this is binary, not YAML text"
    assert "not UTF-8" in prover.check_text(b"\xff\xfe", name="b").message


def test_check_text_finds_lemmas_beside_its_name(tmp_path):
    lemma = tmp_path / "lemmas" / "swap.yaml"
    lemma.parent.mkdir()
    lemma.write_text("theorem: my-swap\nvariables:\n  A: {shape: [n, m]}\n  B: {shape: [m, n]}\n"
                     "claim:\n  lhs: tr(A B)\n  rhs: tr(B A)\nproof:\n  - expr: tr(A B)\n"
                     "  - expr: tr(B A)\n    by: trace-cyclic\n")
    user = ("theorem: use\nvariables:\n  X: {shape: [n, n]}\n  Y: {shape: [n, n]}\n"
            "claim:\n  lhs: tr(X Y)\n  rhs: tr(Y X)\nproof:\n  - expr: tr(X Y)\n"
            "  - expr: tr(Y X)\n    by: my-swap\n")
    assert prover.check_text(user, name=str(tmp_path / "lemmas" / "use.yaml")).status == "valid"
    assert prover.check_text(user, lib=[tmp_path / "lemmas"]).status == "valid"
    (tmp_path / "elsewhere").mkdir()
    assert prover.check_text(user, name=str(tmp_path / "elsewhere" / "use.yaml")).status == "invalid"


def test_derive_takes_strings_and_checks_its_proof():
    dv = prover.derive("a^T X a", "X", ["a: n x 1 constant", "X: n x n"])
    assert isinstance(dv, prover.Derivation) and str(dv.derivative) == "a a^T"
    same = prover.derive("a^T X a", "X", dict(prover.parse_var(v) for v in
                                               ["a: n x 1 constant", "X: n x n"]))
    assert same.proof_yaml() == dv.proof_yaml()
    den = prover.derive("b^T X a", "X", {"a": "n x 1", "b": "n x 1", "X": "n x n"},
                        layout="denominator", check=False)
    assert str(den.derivative) == "b a^T"  # numerator layout: a b^T
    with pytest.raises(prover.DeriveError, match="not a declared variable"):
        prover.derive("tr(X)", "Y", ["X: n x n"])
    with pytest.raises(ValueError, match="layout"):
        prover.derive("tr(X)", "X", ["X: n x n"], layout="sideways")


def test_equiv_takes_strings():
    r = prover.equiv("tr(A B)", "tr(B A)", ["A: n x m", "B: m x n"])
    assert isinstance(r, prover.Equivalence) and r.status == "equal"
    r = prover.equiv("tr(X^-1)", "tr(X)", "X: n x n invertible")
    assert r.status == "different" and r.counterexample is not None


def test_the_package_exports_what_it_documents():
    for name in prover.__all__:
        assert getattr(prover, name) is not None, name
    assert set(prover.__all__) <= set(dir(prover))
    assert prover.derive is api.derive and prover.equiv is api.equiv
    with pytest.raises(AttributeError):
        prover.no_such_name  # noqa: B018


def test_submodules_do_not_hide_the_functions():
    import prover.derive  # noqa: F401 - the submodule, loaded (again) on purpose
    import prover.equiv  # noqa: F401

    assert callable(prover.derive) and prover.derive is api.derive
    assert prover.equiv is api.equiv
    assert sys.modules["prover.derive"].derive is not api.derive
    from prover import grade  # a submodule that is not an API name is still one

    assert grade.__name__ == "prover.grade"


# -- notebooks ------------------------------------------------------------------------------------
SLIP = """\
theorem: slip
variables:
  a: {shape: [n, 1], constant: true}
  X: {shape: [n, n]}
claim:
  lhs: d(tr(a^T X a))
  rhs: d(tr(a^T a X))
proof:
  - expr: d(tr(a^T X a))
  - expr: d(tr(a^T a X))
    by: trace-cyclic
"""


def balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and tex.count("\\begin{") == tex.count("\\end{")


def math_blocks(md: str) -> list[str]:
    return re.findall(r"(?s)\$\$(.*?)\$\$", md) + re.findall(r"(?<!\$)\$([^$\n]+)\$(?!\$)", md)


def test_a_file_result_shows_its_counterexample():
    fr = prover.check_text(SLIP, name="slip.yaml")
    md = fr._repr_markdown_()
    assert "**slip.yaml**: **invalid**" in md
    assert "| 1 | `d(tr(a^T a X))` | trace-cyclic | ✗ invalid |" in md
    assert "counterexample at n = 2:" in md and "| | value |" in md
    assert "| $X$ | $\\begin{bmatrix} 2 & -1 \\\\ 0 & -2 \\end{bmatrix}$ |" in md
    assert "| $\\mathrm{d}X$ |" in md and "| line before | $-8$ |" in md
    tex = fr._repr_latex_()
    assert tex.startswith("$$") and tex.endswith("$$") and tex.count("$$") == 2
    assert "\\begin{bmatrix} -2 \\\\ 0 \\end{bmatrix}" in tex and "\\times\\ \\text{invalid}" in tex
    assert "\\text{line before} = -8" in tex
    for block in [tex] + math_blocks(md):
        assert balanced(block), block


def test_file_results_valid_error_and_many():
    good = prover.check(ROOT / "proofs" / "theorem5.yaml")
    assert "counterexample" not in good._repr_markdown_()
    assert "\\checkmark\\ \\text{valid}" in good._repr_latex_()
    err = prover.check(FAIL / "binary.yaml")
    assert "**error**" in err._repr_markdown_() and "binary" in err._repr_latex_()
    assert balanced(err._repr_latex_())
    many = prover.check([ROOT / "proofs" / "theorem5.yaml", FAIL / "binary.yaml"])
    md = many._repr_markdown_()
    assert md.startswith("**2 files**: 1 valid, 0 invalid, 1 error")
    assert md.count("| step | expression |") == 1
    assert many._repr_latex_().count("$$") == 4


def test_a_derivation_shows_itself_in_latex():
    dv = prover.derive("log(det(X)) + tr(S X^-1)", "X", ["X: n x n invertible", "S: n x n"])
    tex = dv._repr_latex_()
    assert tex.startswith("$$\n\\begin{aligned}") and balanced(tex)
    assert "&= X^{-1} - X^{-1} S X^{-1} && \\text{(numerator layout)}" in tex
    assert "\\text{(theorem-4)}" in tex
    assert dv._repr_markdown_().startswith("$$\\frac{\\partial")


def test_an_equivalence_shows_itself():
    decl = ["A: n x n", "x: n x 1"]
    diff = prover.equiv("A x", "A^T x", decl)
    md = diff._repr_markdown_()
    assert md.startswith("✗ **different**: not equal: A x ≠ A^T x")
    assert "| first | $\\begin{bmatrix} 1 \\\\ -2 \\end{bmatrix}$ |" in md
    tex = diff._repr_latex_()
    assert "\\text{first} = \\begin{bmatrix}" in tex and balanced(tex)
    same = prover.equiv("A x + A^T x", "(A + A^T) x", decl)
    assert same._repr_markdown_().startswith("✓ **equal**")
    assert "counterexample" not in same._repr_latex_()
    assert prover.equiv("x^T A", "A^T x", decl)._repr_markdown_().startswith("≈ **transposed**")


def test_fractions_and_residues_in_a_counterexample():
    from fractions import Fraction

    from prover.display import matrix_tex, text_math, witness_markdown
    from prover.kernel.truth import Witness

    assert matrix_tex([[Fraction(1, 2)]]) == "\\frac{1}{2}"
    assert matrix_tex([[Fraction(-3, 4), Fraction(2)]]) == \
        "\\begin{bmatrix} -\\frac{3}{4} & 2 \\end{bmatrix}"
    w = Witness({"n": 1}, {"x": [[5]]}, [[1]], [[2]], modulus=2**61 - 1)
    assert "residues mod 2305843009213693951" in witness_markdown(w)
    assert text_math("a_b {x} X^T $") == "a＿b x Xᵀ "


# -- import time ----------------------------------------------------------------------------------
def test_import_prover_loads_nothing_heavy():
    code = ("import sys; before = set(sys.modules); import prover; "
            "print(sorted(set(sys.modules) - before - {'prover'}))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]"  # no pydantic, z3, yaml, argparse, typing, nor any prover submodule
