"""`prove render` and the LaTeX printer: every shipped proof renders to LaTeX that is well formed
(and compiles, where a TeX engine is installed) and to Markdown with `$` math; a proof that does
not check is refused; the printer's parentheses keep the tree (read back, the LaTeX parses to
the same expression); notebook results display as Markdown."""
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings

from prover import check_file, derive, parse_var
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.latex import (Sheet, broken, latex, name_tex, sheet_latex, sheet_markdown, text_tex,
                          title_tex)
from prover.spell import GREEK

from helpers import expr_trees, run

ROOT = Path(__file__).resolve().parent.parent
PROOFS = sorted((ROOT / "proofs").glob("*.yaml"))
FAIL = ROOT / "tests" / "fail"


@pytest.fixture(scope="module")
def rendered():
    """Every shipped proof rendered both ways (checked once each)."""
    out = {}
    for path in PROOFS:
        code, tex = run("render", path, "--to", "latex")
        assert code == 0, tex
        code, md = run("render", path, "--to", "markdown")
        assert code == 0, md
        out[path.name] = (tex, md)
    return out


# -- structure -----------------------------------------------------------------------------------
def well_formed(tex: str) -> None:
    """Braces balance (ignoring \\{ and \\}), environments nest, \\left/\\right and \\[ \\] pair."""
    depth = 0
    for ch in re.sub(r"\\[{}]", "", re.sub(r"(?m)(?<!\\)%.*$", "", tex)):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unclosed {"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not match"
    assert not stack, f"unclosed environments: {stack}"
    assert tex.count("\\left(") == tex.count("\\right)")
    assert tex.count("\\[") == tex.count("\\]")


@pytest.mark.parametrize("path", PROOFS, ids=lambda p: p.name)
def test_latex_is_well_formed(rendered, path):
    tex, _ = rendered[path.name]
    well_formed(tex)
    assert "\\begin{theorem}" in tex and "\\begin{align*}" in tex and "\\begin{proof}" in tex
    fr = check_file(path)
    for s in fr.steps[1:]:  # every line names its rule
        assert f"\\text{{({text_tex(', '.join(s.by))})}}" in tex
    assert "^T" not in tex and "tr(" not in tex.split("\\begin{proof}")[1]  # no plain notation


@pytest.mark.parametrize("path", PROOFS, ids=lambda p: p.name)
def test_markdown_has_dollar_math(rendered, path):
    _, md = rendered[path.name]
    blocks = re.findall(r"(?ms)^\$\$\n(.*?)\n\$\$$", md)
    assert len(blocks) >= 2  # the claim and the derivation
    assert any("\\begin{aligned}" in b and "\\end{aligned}" in b for b in blocks)
    assert re.search(r"\$[^$\n]+\$", md)  # inline math for the variables
    for b in blocks:
        well_formed(b)
    assert md.startswith("**Theorem (")


def test_theorem5_reads_like_the_notes(rendered):
    tex, md = rendered["theorem5.yaml"]
    assert "\\frac{\\partial (a^{\\top} X a)}{\\partial X} = a a^{\\top}" in tex
    assert ("\\mathrm{d}(a^{\\top} X a) &= \\mathrm{d}(\\operatorname{tr}(a^{\\top} X a)) "
            "&& \\text{(trace-scalar)}") in tex
    assert "&= \\operatorname{tr}(a a^{\\top} \\, \\mathrm{d}X) && \\text{(algebra)}" in tex
    assert "\\text{(derivative-from-differential)}" in tex
    assert "Let $a$ be $n \\times 1$ and constant, and $X$ be $n \\times n$." in tex
    assert "[{Derivative of a quadratic form}]" in tex
    assert "Petersen \\& Pedersen" in tex
    assert "Petersen & Pedersen" in md


def _engine():
    for tool in ("latexmk", "pdflatex"):
        if shutil.which(tool) and shutil.which("pdflatex"):
            return tool
    return None


@pytest.fixture(scope="module")
def odd_title(tmp_path_factory):
    """A checked proof whose title and source use every character TeX treats specially."""
    text = (ROOT / "proofs" / "trace-XtA.yaml").read_text()
    title = "title: 'Odd_title & 100% $x$ #1 {a} ~ ^ \\ <b> |c| ∂f/∂X ≠ Xᵀ'"
    text = re.sub(r"(?m)^title: .*$", lambda m: title, text)
    text = re.sub(r"(?m)^source: .*$", "source: 'a_b -- c'", text)
    path = tmp_path_factory.mktemp("render") / "odd.yaml"
    path.write_text(text)
    return path


def test_special_characters_in_text_are_escaped(odd_title):
    code, tex = run("render", odd_title)
    assert code == 0, tex
    well_formed(tex)
    assert "Odd\\_title \\& 100\\% \\$x\\$ \\#1 \\{a\\} \\textasciitilde{} \\^{} " in tex
    assert "\\textbackslash{} \\textless{}b\\textgreater{} \\textbar{}c\\textbar{}" in tex
    assert "a\\_b -{}- c" in tex
    code, md = run("render", odd_title, "--to", "markdown")
    assert "Odd\\_title & 100% \\$x\\$ \\#1" in md


@pytest.mark.skipif(_engine() is None, reason="no TeX engine (pdflatex or latexmk) on PATH")
def test_latex_compiles(rendered, odd_title, tmp_path):
    """All fragments \\input into one document, plus one --standalone document."""
    names = []
    for i, (name, (tex, _)) in enumerate(sorted(rendered.items())):
        (tmp_path / f"p{i}.tex").write_text(tex)
        names.append(f"p{i}")
    code, tex = run("render", odd_title)
    (tmp_path / "odd.tex").write_text(tex)
    (tmp_path / "long.tex").write_text(sheet_latex(long_sheet()))
    names += ["odd", "long"]
    (tmp_path / "notes.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath,amsthm}\n"
        "\\newtheorem{theorem}{Theorem}\n\\begin{document}\n"
        + "".join(f"\\input{{{n}}}\n" for n in names) + "\\end{document}\n")
    code, tex = run("render", ROOT / "proofs" / "theorem5.yaml", "--standalone")
    (tmp_path / "alone.tex").write_text(tex)
    for doc in ("notes", "alone"):
        if _engine() == "latexmk":
            cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", doc + ".tex"]
        else:
            cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                   doc + ".tex"]
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout[-3000:]
        log = (tmp_path / f"{doc}.log").read_text(errors="replace")
        assert (tmp_path / f"{doc}.pdf").exists()
        assert "Undefined control sequence" not in log and "Missing character" not in log
        # a long derivation line is broken (long_sheet): no display line is too wide
        assert not re.search(r"Overfull \\hbox \([\d.]+pt too wide\) detected at line", log)


# -- refusing what does not check ----------------------------------------------------------------
def test_render_refuses_a_proof_that_does_not_check():
    code, out = run("render", FAIL / "true-step-wrong-rule.yaml")
    assert code == 1
    assert "does not check" in out and "step 1 (line 14) is unjustified" in out
    assert "\\begin" not in out


def test_render_refuses_an_unreadable_file():
    code, out = run("render", FAIL / "binary.yaml", "--to", "markdown")
    assert code == 2 and "binary" in out and "$$" not in out


def test_render_writes_a_file(tmp_path):
    out = tmp_path / "t5.md"
    code, printed = run("render", ROOT / "proofs" / "theorem5.yaml", "--to", "markdown", "-o", out)
    assert code == 0 and printed == ""
    assert out.read_text().startswith("**Theorem (Derivative of a quadratic form).**")


# -- the printer ---------------------------------------------------------------------------------
NAMES = {"A", "B", "X", "a", "s", "x1", "alpha"}


@pytest.mark.parametrize("src, tex", [
    ("tr(A X)", r"\operatorname{tr}(A X)"),
    ("det(X)", r"\det(X)"),
    ("log(det(X))", r"\log(\det(X))"),
    ("X^T", r"X^{\top}"),
    ("X^-1", r"X^{-1}"),
    ("X^3", r"X^{3}"),
    ("X^-2", r"X^{-2}"),
    ("dX", r"\mathrm{d}X"),
    ("d(A X)", r"\mathrm{d}(A X)"),
    ("A dX B", r"A \, \mathrm{d}X \, B"),
    ("a / s", r"\frac{a}{s}"),
    ("A (a / s)", r"A \frac{a}{s}"),
    ("(a / s)^T", r"\left(\frac{a}{s}\right)^{\top}"),
    ("(X^T)^-1", r"(X^{\top})^{-1}"),
    ("(X^-1)^T", r"X^{-\top}"),
    ("(dX)^-T", r"(\mathrm{d}X)^{-\top}"),
    ("(dX)^2", r"(\mathrm{d}X)^{2}"),
    ("d(X^2)", r"\mathrm{d}(X^{2})"),
    ("dX^T", r"\mathrm{d}X^{\top}"),
    ("dX^T A", r"\mathrm{d}X^{\top} \, A"),
    ("(A B)^T", r"(A B)^{\top}"),
    ("A (B + X)", r"A (B + X)"),
    ("(-A) B", r"(-A) B"),
    ("-A B", r"-A B"),
    ("A - (B - X)", r"A - (B - X)"),
    ("A + (-B)", r"A - B"),
    ("A - (-B)", r"A - (-B)"),
    ("2 3 X", r"2 \cdot 3 X"),
    ("X 2", r"X \cdot 2"),
    ("2 (1/3)", r"2 \cdot \frac{1}{3}"),
    ("0.5 X", r"0.5 X"),
    ("x1 alpha", r"x_{1} \alpha"),
    ("I", "I"),
])
def test_latex_notation(src, tex):
    assert latex(parse(src, NAMES)) == tex


def test_names():
    assert [name_tex(n) for n in ("X", "x1", "X_0", "X_ab", "Sigma", "sigma2", "Xt", "a_b_c")] == [
        "X", "x_{1}", "X_{0}", r"X_{\mathrm{ab}}", r"\Sigma", r"\sigma_{2}", r"\mathit{Xt}",
        r"a_{\mathrm{b\_c}}"]


def _frac_to_notation(s: str) -> str:
    """\\frac{A}{B} → ((A)/(B)), innermost last, by matching braces."""
    while (i := s.find("\\frac{")) >= 0:
        j, depth = i + 5, 0
        parts, start = [], j
        while len(parts) < 2:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                parts.append(s[start + 1:j])
                start = j + 1
            j += 1
        s = s[:i] + f"(({parts[0]})/({parts[1]}))" + s[j:]
    return s


def back_to_notation(tex: str) -> str:
    """Read LaTeX from `latex()` back as the plain notation (for the round-trip property)."""
    s = tex.replace("\\left(", "(").replace("\\right)", ")")
    s = s.replace("\\operatorname{tr}", "tr").replace("\\det", "det").replace("\\log", "log")
    s = s.replace("\\mathrm{d}", "d").replace("\\,", " ").replace("\\cdot", "*")
    s = s.replace("^{-\\top}", "^-T").replace("^{\\top}", "^T").replace("\\alpha", "alpha")
    s = re.sub(r"\^\{(-?\d+)\}", r"^\1", s)
    s = re.sub(r"([A-Za-z])_\{(\d+)\}", r"\1\2", s)
    return _frac_to_notation(s)


trees = expr_trees(NAMES, numbers=(0, 2, Fraction(5, 2), Fraction(3, 4)), powers=(0, 2, 3, -2),
                   max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_latex_keeps_the_tree(e):
    tex = latex(e)
    well_formed(tex)
    assert not re.search(r"\^(\{[^{}]*\}|\w)\^", tex)  # never a double superscript
    assert parse(back_to_notation(tex), NAMES) == e, tex


# -- notebooks -----------------------------------------------------------------------------------
def test_file_result_markdown():
    md = check_file(ROOT / "proofs" / "theorem5.yaml")._repr_markdown_()
    assert "**valid**" in md and "| step | expression | by | verdict |" in md
    assert "| 2 | `d(tr(a a^T X))` | trace-cyclic | ✓ valid |" in md
    bad = check_file(FAIL / "true-step-wrong-rule.yaml")._repr_markdown_()
    assert "**invalid**" in bad and "? unjustified" in bad
    assert "trace-cyclic would justify it" in bad
    err = check_file(FAIL / "binary.yaml")._repr_markdown_()
    assert "**error**" in err and "binary" in err


def test_derivation_markdown():
    env = dict(parse_var(v) for v in ["a: n x 1 constant", "X: n x n"])
    md = derive("a^T X a", "X", env)._repr_markdown_()
    assert md.startswith("$$\\frac{\\partial (a^{\\top} X a)}{\\partial X} = ")
    assert "\\begin{aligned}" in md and "\\text{(" in md and "In numerator layout." in md
    for block in re.findall(r"(?s)\$\$(.*?)\$\$", md):
        well_formed(block)


# -- titles --------------------------------------------------------------------------------------
@pytest.mark.parametrize("title, tex", [
    ("Derivative of tr(X^T A)", r"Derivative of $\operatorname{tr}(X^{\top} A)$"),
    ("Derivative of the bilinear form a^T X b", r"Derivative of the bilinear form $a^{\top} X b$"),
    ("Gradient of x^T A x (denominator layout)",
     r"Gradient of $x^{\top} A x$ (denominator layout)"),
    ("Reading it off (instance f = tr(A X))", r"Reading it off (instance $f = \operatorname{tr}(A X)$)"),
    ("Derivative of tr(X^T X), the squared Frobenius norm",
     r"Derivative of $\operatorname{tr}(X^{\top} X)$, the squared Frobenius norm"),
    ("with respect to the vector x", r"with respect to the vector $x$"),
    ("Derivative of a quadratic form", "Derivative of a quadratic form"),  # `a` alone is a word
    ("A scalar equals its own trace", "A scalar equals its own trace"),
    ("Derivative of the log-determinant", "Derivative of the log-determinant"),
    ("Why `X^-1 X = I` and `tr(` fails", r"Why $X^{-1} X = I$ and \texttt{tr(} fails"),
    ("100% of Xᵀ, 2 ways", r"100\% of $X^{\top}$, 2 ways"),
])
def test_title_notation_is_math(title, tex):
    assert title_tex(title, {"A", "X", "a", "b", "x"}) == tex


def test_rendered_titles_have_no_escaped_notation(rendered):
    for name, (tex, md) in rendered.items():
        head = tex.split("\\label")[0]
        assert "\\^{}" not in head and "ˆ" not in head, name
        assert "\\^" not in md.splitlines()[0], name
    tex, md = rendered["trace-XtA.yaml"]
    assert "\\begin{theorem}[{Derivative of $\\operatorname{tr}(X^{\\top} A)$}]" in tex
    assert md.startswith("**Theorem (Derivative of $\\operatorname{tr}(X^{\\top} A)$).**")


# -- long lines ----------------------------------------------------------------------------------
LONG = ("tr(A X B) + tr(A^T X^T B^T) - tr(X^-1 A X B) + tr(A B X) - 2 tr(X X) "
        "+ tr(A X A^T X^T) - tr(B B^T X)")


def test_a_long_line_breaks_at_top_level_signs():
    names = {"A", "B", "X"}
    e = parse(LONG, names)
    pieces = broken(e, names)
    assert len(pieces) == 2 and pieces[1].startswith("+ \\operatorname{tr}(A X A^{\\top}")
    assert parse(back_to_notation(" ".join(pieces)), names) == e
    assert broken(parse("tr(A X B) + X", names), names) == [r"\operatorname{tr}(A X B) + X"]
    one = parse("tr(" + LONG + ")", names)  # no top-level sign: it stays one piece
    assert broken(one, names) == [latex(one)]


def long_sheet():
    """A sheet (not a checked proof: only the printing is tested) with two long lines."""
    info = VarInfo(Shape("n", "n"))
    names = {"A", "B", "X"}
    start, e = parse("tr(A X B)", names), parse(LONG, names)
    return Sheet("long", {n: info for n in sorted(names)}, [(start, []), (e, ["algebra"]),
                                                            (e, ["algebra"])], lhs=start, rhs=e,
                 title="Long lines of `tr(A X B)`")


def test_a_long_line_in_a_sheet_goes_on_in_quad_rows():
    sheet = long_sheet()
    tex = sheet_latex(sheet)
    well_formed(tex)
    rows = tex.split("\\begin{align*}\n")[1].split("\n\\end{align*}")[0].split("\n")
    assert rows[0].startswith("  \\operatorname{tr}(A X B) &= \\operatorname{tr}(A X B) + ")
    assert rows[0].endswith("&& \\text{(algebra)} \\\\")
    assert rows[1].startswith("  &\\quad {}+ \\operatorname{tr}(A B X) - 2 ")
    assert rows[1].endswith(" \\\\") and rows[-1].endswith(" \\qedhere")
    assert rows[-1].startswith("  &\\quad {}- \\operatorname{tr}(B B^{\\top} X)")
    claim = tex.split("\\[\n")[1].split("\n\\]")[0]  # the claim is broken the same way
    assert claim.startswith("  \\begin{aligned}\n  \\operatorname{tr}(A X B) &= ")
    assert "\\\\\n  &\\quad {}- 2 " in claim and claim.endswith(".\n\\end{aligned}")
    md = sheet_markdown(sheet)
    assert "&\\quad {}+ " in md


# -- the LaTeX uses only what amsmath and amsthm define -----------------------------------------
KNOWN = set("""
documentclass usepackage newtheorem begin end label noindent textit texttt text intertext qedhere
operatorname mathrm mathit frac partial top det log cdot times quad left right
textbackslash textasciitilde textless textgreater textbar neq leq geq to in
""".split()) | set(GREEK) | {",", "{", "}", "$", "&", "#", "%", "_", "^", "\\", "[", "]"}


def test_latex_uses_only_known_macros(rendered, odd_title):
    """No TeX engine runs here (see test_latex_compiles): every control sequence the renderer
    writes is one of LaTeX's, amsmath's or amsthm's."""
    texts = [tex for tex, _ in rendered.values()]
    texts.append(run("render", odd_title)[1])
    texts.append(run("render", ROOT / "proofs" / "theorem5.yaml", "--standalone")[1])
    for tex in texts:
        body = re.sub(r"(?m)^%.*$", "", tex)
        used = set(re.findall(r"\\([A-Za-z]+|.)", body))
        assert used <= KNOWN, used - KNOWN


def test_notebook_titles_typeset_notation():
    fr = check_file(ROOT / "proofs" / "trace-XtA.yaml")
    assert "· Derivative of $\\operatorname{tr}(X^{\\top} A)$" in fr._repr_markdown_()
    assert ("\\text{ · }\\text{Derivative of }\\operatorname{tr}(X^{\\top} A)"
            in fr._repr_latex_())


# -- the notation beyond the seed ----------------------------------------------------------------
HADAMARD_PROOF = """\
theorem: weighted-squares
title: Derivative of sum(A .* X .* X)
variables: {A: {shape: [m, n], constant: true}, X: {shape: [m, n]}}
claim: {derivative: sum(A .* X .* X), wrt: X, equals: 2 (A .* X)^T}
proof:
  - expr: d(sum(A .* X .* X))
  - {expr: sum(d(A .* X .* X)), by: diff-sum}
  - {expr: sum(d(A .* X) .* X + A .* X .* dX), by: diff-hadamard}
  - {expr: sum(A .* dX .* X + A .* X .* dX), by: [diff-hadamard, diff-constant]}
  - {expr: sum((2 A .* X) .* dX), by: algebra}
  - {expr: tr((2 A .* X)^T dX), by: sum-hadamard}
  - {derivative: 2 (A .* X)^T, by: theorem-4}
"""


def test_render_the_new_operators(tmp_path):
    """∘, sum and the rest render in both targets (and compile, where a TeX engine is here)."""
    path = tmp_path / "hadamard.yaml"
    path.write_text(HADAMARD_PROOF)
    code, tex = run("render", path, "--to", "latex")
    assert code == 0, tex
    well_formed(tex)
    assert r"\operatorname{sum}(A \circ X \circ X)" in tex and r"(A \circ X)^{\top}" in tex
    body = re.sub(r"(?m)^%.*$", "", tex)
    assert set(re.findall(r"\\([A-Za-z]+|.)", body)) <= KNOWN | {"circ", "otimes", "sqrt",
                                                                   "exp", "tanh", "sigma"}
    code, md = run("render", path, "--to", "markdown")
    assert code == 0 and r"\circ" in md and "$" in md
    dv = derive("vec(X)^T kron(A, B) vec(X) + sum(exp(X) .* C) + sqrt(tr(X^T X))", "X",
                dict(parse_var(v) for v in ("X: n x n", "A: n x n constant",
                                            "B: n x n constant", "C: n x n constant")))
    md = dv._repr_markdown_()
    assert r"\otimes" in md and r"\exp" in md and r"\sqrt{" in md
    if shutil.which("pdflatex"):
        code, alone = run("render", path, "--standalone")
        (tmp_path / "alone.tex").write_text(alone)
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                            "-no-shell-escape", "alone.tex"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout[-3000:]
