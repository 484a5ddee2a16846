"""What notebooks show for results: `_repr_markdown_` and `_repr_latex_` of `FileResult`,
`Derivation`, `Equivalence` and `api.CheckResults`, counterexamples included.

Untrusted, like `render.py` and `latex.py` (whose pieces it reuses): it only reads results.
Expressions are printed by `spell.py` (its LaTeX spelling), titles by `latex.title_parts`.
Markdown is what Jupyter shows (tables, `$…$` math); LaTeX is one `$$…$$` block that MathJax
or KaTeX can draw (and that `IPython.display.Latex` or a LaTeX export takes as is). A
counterexample's values are small integers or fractions, so they are drawn as matrices:
`bmatrix` in both. Read next: `api.py`.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Sequence

from .latex import (_code, _md_rule, _rows, file_result_markdown, math_tex, partial_tex,
                    result_names, sheet_from_derivation, text_md, title_parts)
from .spell import latex, name_tex

if TYPE_CHECKING:
    from .derive import Derivation
    from .equiv import Equivalence
    from .kernel.truth import Witness
    from .proofs import FileResult

MARK = {"valid": "✓", "invalid": "✗", "unjustified": "?", "error": "!", "equal": "✓",
        "transposed": "≈", "different": "✗", "undecided": "?"}
_TEX_MARK = {"valid": "\\checkmark", "invalid": "\\times", "unjustified": "?", "error": "!"}


# -- pieces ---------------------------------------------------------------------------------------
def text_math(s: str) -> str:
    """Text for `\\text{…}` inside math. MathJax reads it literally, KaTeX refuses `^` and `_`
    there, so those become look-alikes (`^T` → ᵀ, `^-1` → ⁻¹) and the characters that would end
    or break the group are dropped."""
    s = s.replace("^T", "ᵀ").replace("^-1", "⁻¹").replace("^", "ˆ").replace("_", "＿")
    return re.sub(r"[{}\\$%&#]", "", s)


def title_math(title: str, names: set[str]) -> str:
    """A title inside math: its notation as math (`latex.title_parts`), the rest as `\\text`."""
    return "".join(f"\\text{{{text_math(x)}}}" if k != "math" else math_tex(x, names)
                   for k, x in title_parts(title, names))


def entry_tex(x: Any) -> str:
    """One matrix entry: an integer, `\\frac{p}{q}` (signed), or the text as it stands."""
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return str(x.numerator)
        sign = "-" if x < 0 else ""
        return f"{sign}\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"
    return str(x)


def matrix_tex(m: Sequence[Sequence[Any]]) -> str:
    """A matrix as `bmatrix` (a 1×1 value as a plain number)."""
    if len(m) == 1 and len(m[0]) == 1:
        return entry_tex(m[0][0])
    rows = " \\\\ ".join(" & ".join(entry_tex(x) for x in row) for row in m)
    return f"\\begin{{bmatrix}} {rows} \\end{{bmatrix}}"


def _name(name: str, names: Sequence[str]) -> str:
    """`X` → `X`, the differential `dX` (when `X` is among the names) → `\\mathrm{d}X`."""
    if name.startswith("d") and name[1:] in names:
        return "\\mathrm{d}" + name_tex(name[1:])
    return name_tex(name)


def _labels(w: "Witness", labels: tuple[str, str] | None) -> tuple[str, str]:
    return labels or tuple(w.labels)  # type: ignore[return-value]


def _sizes(w: "Witness") -> str:
    return ", ".join(f"{k} = {v}" for k, v in w.dims.items()) or "these sizes"


def _modulus_note(w: "Witness") -> str:
    return f" (entries are residues mod {w.modulus})" if w.modulus else ""


def witness_markdown(w: "Witness", labels: tuple[str, str] | None = None) -> str:
    """A counterexample as a Markdown table: each variable's value, then both sides."""
    left, right = _labels(w, labels)
    names = list(w.values)
    out = [f"counterexample at {text_md(_sizes(w))}{_modulus_note(w)}:", "",
           "| | value |", "|---|---|"]
    for name, m in w.values.items():
        out.append(f"| ${_name(name, names)}$ | ${matrix_tex(m)}$ |")
    out.append(f"| {text_md(left)} | ${matrix_tex(w.lhs)}$ |")
    out.append(f"| {text_md(right)} | ${matrix_tex(w.rhs)}$ |")
    return "\n".join(out) + "\n"


def witness_tex(w: "Witness", labels: tuple[str, str] | None = None) -> str:
    """A counterexample as math (no `$$`): the sizes, the values, both sides."""
    left, right = _labels(w, labels)
    names = list(w.values)
    vals = ",\\quad ".join(f"{_name(n, names)} = {matrix_tex(m)}" for n, m in w.values.items())
    sides = (f"\\text{{{text_math(left)}}} = {matrix_tex(w.lhs)},\\quad "
             f"\\text{{{text_math(right)}}} = {matrix_tex(w.rhs)}")
    head = f"\\text{{counterexample at {text_math(_sizes(w))}{text_math(_modulus_note(w))}:}}"
    return " \\\\\n".join(x for x in (head, vals, sides) if x)


# -- FileResult -----------------------------------------------------------------------------------
def file_markdown(fr: "FileResult") -> str:
    """The verdict, the claim, the table of steps and the problems (`latex.file_result_markdown`),
    then every counterexample as a table."""
    out = file_result_markdown(fr)
    if _assumed(fr):
        out += f"\nassuming {_code(_assumed(fr))} (part of what the verdict says)\n"
    for s in fr.steps:
        if s.counterexample is not None:
            out += f"\n**step {s.index}** ({_code(s.expr)}): " + witness_markdown(s.counterexample)
    return out


def _assumed(fr: "FileResult") -> str:
    return "; ".join(fr.result.assumptions) if fr.result and fr.result.assumptions else ""


def _expr_tex(s: Any) -> str:
    tree = getattr(s, "expr_tree", None)
    if tree is not None:
        try:
            return latex(tree)
        except Exception:  # noqa: BLE001 - display only: fall back to the text
            pass
    return f"\\texttt{{{text_math(s.expr)}}}"


def file_latex(fr: "FileResult") -> str:
    """One `$$…$$` block: the verdict, each step with its rules and verdict, counterexamples."""
    head = f"\\textbf{{{text_math(fr.path)}}}\\text{{: {fr.status}}}"
    if fr.status == "error":
        where = f" (line {fr.line}, column {fr.col})" if fr.line else ""
        rows = [head, f"\\text{{{text_math(fr.message + where)}}}"]
        if fr.help:
            rows.append(f"\\text{{help: {text_math(fr.help)}}}")
        return "$$\n\\begin{array}{l}\n" + " \\\\\n".join(rows) + "\n\\end{array}\n$$"
    if fr.title:
        head += "\\text{ · }" + title_math(fr.title, result_names(fr))
    lines = []
    for s in fr.steps:
        by = ", ".join(s.by) if s.by else ("start" if s.index == 0 else "")
        lines.append(f"{s.index} & {_expr_tex(s)} & \\text{{{text_math(by)}}} & "
                     f"{_TEX_MARK.get(s.status, '')}\\ \\text{{{s.status}}}")
    table = ("\\begin{array}{rlll}\n" + " \\\\\n".join(lines) + "\n\\end{array}") if lines else ""
    notes = []
    for s in fr.steps:
        if s.status != "valid":
            notes.append(f"\\text{{step {s.index}: {text_math(s.message)}}}")
        if s.counterexample is not None:
            notes.append(witness_tex(s.counterexample))
    if fr.message:
        notes.append(f"\\text{{{text_math(fr.message)}}}")
    body = [head, f"\\text{{claim: }}\\texttt{{{text_math(fr.claim)}}}"]
    if _assumed(fr):
        body.append(f"\\text{{assuming {text_math(_assumed(fr))}}}")
    body += [table] if table else []
    body += notes
    return "$$\n\\begin{array}{l}\n" + " \\\\\n".join(body) + "\n\\end{array}\n$$"


# -- Derivation -----------------------------------------------------------------------------------
def derivation_latex(dv: "Derivation") -> str:
    """The derivative, then the proof written for it, as one aligned block."""
    sheet = sheet_from_derivation(dv)
    rule = lambda by: f"\\text{{{_md_rule(by)}}}" if by else ""  # noqa: E731
    rows = [f"{partial_tex(dv.f, dv.wrt)} &= {latex(dv.derivative)} && "
            f"\\text{{({dv.layout} layout)}} \\\\[1ex]"]
    chain = _rows(sheet, rule)
    rows.append(" \\\\\n".join(chain))
    if sheet.final is not None:
        rows[-1] += " \\\\"
        rows.append(f"  {partial_tex(dv.f, dv.wrt)} &= {latex(sheet.final[0])} && "
                    f"{rule(sheet.final[1])}")
    return "$$\n\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}\n$$"


# -- Equivalence ----------------------------------------------------------------------------------
_SIDES = ("first", "second")


def equivalence_markdown(r: "Equivalence") -> str:
    """The verdict and the message; for "different", the counterexample as a table."""
    out = f"{MARK.get(r.status, '')} **{r.status}**: {text_md(r.message)}\n"
    if r.counterexample is not None:
        out += "\n" + witness_markdown(r.counterexample, _SIDES)
    return out


def equivalence_latex(r: "Equivalence") -> str:
    rows = [f"\\textbf{{{r.status}}}\\text{{: {text_math(r.message)}}}"]
    if r.counterexample is not None:
        rows.append(witness_tex(r.counterexample, _SIDES))
    return "$$\n\\begin{array}{l}\n" + " \\\\\n".join(rows) + "\n\\end{array}\n$$"


# -- many files -----------------------------------------------------------------------------------
def results_markdown(results: Sequence["FileResult"]) -> str:
    """A summary line, then each file."""
    st = [r.status for r in results]
    head = (f"**{len(results)} file{'s' if len(results) != 1 else ''}**: {st.count('valid')} valid, "
            f"{st.count('invalid')} invalid, {st.count('error')} error")
    return "\n".join([head, ""] + [file_markdown(r) for r in results])


def results_latex(results: Sequence["FileResult"]) -> str:
    return "\n".join(file_latex(r) for r in results)
