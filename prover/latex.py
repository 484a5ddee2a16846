"""LaTeX and Markdown for course notes and notebooks (`prove render`, `_repr_markdown_`).

Untrusted, like `render.py`: it prints what the kernel accepted and decides nothing. Three parts:

- `latex(e)`: an expression tree (`kernel/expr.py`) as LaTeX math: the LaTeX spelling of the
  one printer in `spell.py` (which also spells the plain notation and Unicode).
- `Sheet`, `sheet_from_file`, `sheet_from_derivation`: a checked proof as the data a derivation
  needs, and `sheet_latex` / `sheet_markdown`, which print it as a theorem with its proof
  (`align*` in LaTeX, `aligned` inside `$$` in Markdown), each line with its rule's name. A
  line wider than `WIDTH` characters of plain notation is broken at its top-level `+`/`-` onto
  rows `&\\quad {}+ …` (`broken`); so is a long claim, inside `aligned`.
- `title_parts`, `title_tex`, `title_md`: a title with its notation typeset as math (what
  counts as notation is described at `_SIGNAL`), the rest escaped as text.
- `file_result_markdown`, `derivation_markdown`: what Jupyter shows for a `FileResult` and a
  `Derivation`.

Read next: `cli_render.py` (the command).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from .kernel.expr import Expr, Ident, Sym
from .kernel.parser import parse
from .kernel.shapes import VarInfo
from .spell import ATOM, LATEX, PLAIN, latex, level, name_tex, plain, sum_terms  # noqa: F401

if TYPE_CHECKING:  # imported for annotations only: proofs and derive import nothing from here
    from .derive import Derivation
    from .proofs import FileResult

# -- expressions --------------------------------------------------------------------------------
# The printer itself is `spell.py` (one walk, a spelling per target); `latex` and `name_tex` are
# re-exported here for the sheets and for callers that know them from this module.


def partial_tex(f: Expr, wrt: str) -> str:
    """∂f/∂X as a fraction; f is bracketed unless it is a single symbol or function."""
    s = latex(f)
    if level(f, LATEX) < ATOM:
        s = LATEX.paren(s)
    return f"\\frac{{\\partial {s}}}{{\\partial {name_tex(wrt)}}}"


# -- text ---------------------------------------------------------------------------------------
_TEXT_ESC = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
             "#": r"\#", "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\textasciitilde{}",
             "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
             # math symbols that turn up in titles and sources; pdfLaTeX has no glyphs for them
             "∂": r"$\partial$", "ᵀ": r"$^{\top}$", "⁻": r"$^{-}$", "¹": r"$^{1}$",
             "×": r"$\times$", "≠": r"$\neq$", "≤": r"$\leq$", "≥": r"$\geq$",
             "→": r"$\to$", "∈": r"$\in$", "·": r"$\cdot$", "−": "-"}


def text_tex(s: str) -> str:
    """Plain text (a title, a source, a rule name) escaped for LaTeX's text mode."""
    out = "".join(_TEXT_ESC.get(ch, ch) for ch in s)
    return out.replace("--", "-{}-")  # no en-dash ligatures in rule names


_MD_ESC = re.compile(r"([\\`*_\[\]<>$|#])")


def text_md(s: str) -> str:
    """Plain text escaped for Markdown (no emphasis, links, HTML, tables or math by accident)."""
    return _MD_ESC.sub(r"\\\1", s)


# -- titles -------------------------------------------------------------------------------------
# A title is prose with notation in it ("Derivative of tr(X^T A)"). The notation is typeset as
# math, the rest escaped as text. What counts as notation:
# - text between backquotes (`a^T X b`), whenever it parses (an equation `f = g` too); if it
#   does not, it is set as code;
# - elsewhere, the longest run of whole words that parses (an equation too) and either shows an
#   operator (^ ' ᵀ ⁻ ( * / + =) and uses no name but the proof's variables and single letters,
#   or is made of the proof's variables alone. `a`, `A` and `I` alone are English words, never
#   math. A run never begins with "(" (the parenthesis stays text, around the math). So "the
#   bilinear form a^T X b" sets `a^T X b`, "(instance f = tr(A X))" sets `f = tr(A X)`, and
#   "Derivative of a quadratic form" stays text although `a` is a variable.
_SIGNAL = re.compile(r"[\^'ᵀ⁻(*/+=]")
_WORDS = frozenset({"a", "A", "I"})
_END = ",.;:!?)"


def _notation(text: str, names: frozenset[str] | set[str], strict: bool) -> list[Expr] | None:
    """The sides of `text` (one expression, or an equation) if it reads as notation."""
    sides = text.split("=")
    if len(sides) > 2 or not all(x.strip() for x in sides):
        return None
    try:
        trees = [parse(x.strip(), names) for x in sides]
    except Exception:  # noqa: BLE001 - not notation: it stays text
        return None
    if not strict:
        return trees
    syms = [k.name for t in trees for k in t.walk() if isinstance(k, Sym)]
    if _SIGNAL.search(text):
        ok = all(n in names or (len(n) == 1 and n not in _WORDS) for n in syms)
    else:
        ok = all(n in names and n not in _WORDS for n in syms) and not any(
            isinstance(k, Ident) for t in trees for k in t.walk())
    return trees if ok and syms else None


def _runs(text: str, names: frozenset[str] | set[str]) -> list[tuple[str, object]]:
    """Text outside backquotes as ("text", str) and ("math", [trees]) parts."""
    starts = [i for i in range(len(text)) if not text[i].isspace() and text[i] != "("
              and (i == 0 or text[i - 1].isspace() or text[i - 1] == "(")]
    ends = [j for j in range(1, len(text) + 1) if not text[j - 1].isspace()
            and (j == len(text) or text[j].isspace() or text[j] in _END)]
    out: list[tuple[str, object]] = []
    pos = 0
    for i in starts:
        if i < pos:
            continue
        for j in reversed([j for j in ends if j > i]):
            trees = _notation(text[i:j], names, strict=True)
            if trees:
                if i > pos:
                    out.append(("text", text[pos:i]))
                out.append(("math", trees))
                pos = j
                break
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


def title_parts(title: str, names: frozenset[str] | set[str] = frozenset()
                ) -> list[tuple[str, object]]:
    """A title as ("text", str), ("math", [trees]) and ("code", str) parts, in order.

    >>> [k for k, _ in title_parts("Derivative of tr(X^T A)", {"X", "A"})]
    ['text', 'math']
    """
    out: list[tuple[str, object]] = []
    for n, piece in enumerate(title.split("`")):
        if n % 2 and n < len(title.split("`")) - 1:  # between backquotes
            trees = _notation(piece, names, strict=False)
            out.append(("math", trees) if trees else ("code", piece))
        else:
            out += _runs(piece if n % 2 == 0 else "`" + piece, names)
    return [p for p in out if p[1] != ""]


def math_tex(trees: list[Expr], names: frozenset[str] | set[str] = frozenset()) -> str:
    """An expression, or the sides of an equation, as LaTeX math."""
    return " = ".join(latex(t, names) for t in trees)


def title_tex(title: str, names: frozenset[str] | set[str] = frozenset()) -> str:
    """A title for LaTeX text mode: its notation as `$…$`, the rest escaped."""
    return "".join(text_tex(x) if k == "text" else f"\\texttt{{{text_tex(x)}}}" if k == "code"
                   else f"${math_tex(x, names)}$" for k, x in title_parts(title, names))


def title_md(title: str, names: frozenset[str] | set[str] = frozenset()) -> str:
    """A title for Markdown: its notation as `$…$` math, the rest escaped."""
    return "".join(text_md(x) if k == "text" else _code(x) if k == "code"
                   else f"${math_tex(x, names)}$" for k, x in title_parts(title, names))


def _rules(by: list[str]) -> str:
    return "(" + ", ".join(by) + ")" if by else ""


def _md_rule(by: list[str]) -> str:
    """Rule names for `\\text{}` in Markdown math: MathJax and KaTeX read it literally, so
    only the characters that would end or break the group are dropped."""
    return re.sub(r"[{}\\$%&#]", "", _rules(by))


# -- a derivation sheet -------------------------------------------------------------------------
@dataclass
class Sheet:
    """A checked proof, ready to print: the claim, the chain of lines with their rules, and
    (for a derivative claim) the step that reads the derivative off the last line."""

    theorem: str
    variables: Mapping[str, VarInfo]
    lines: list[tuple[Expr, list[str]]]  # the start (no rules) and each rewrite
    lhs: Expr | None = None  # an identity claim: lhs = rhs
    rhs: Expr | None = None
    f: Expr | None = None  # a derivative claim: ∂f/∂wrt = equals
    wrt: str = ""
    equals: Expr | None = None
    layout: str = "numerator"
    final: tuple[Expr, list[str]] | None = None  # the derivative step: G and its rules
    hessian: bool = False  # a Hessian claim: f is the function, equals the Hessian in wrt
    title: str = ""
    source: str = ""
    origin: str = ""  # the file it came from, for the header comment
    notes: list[str] = field(default_factory=list)

    @property
    def is_derivative(self) -> bool:
        return self.f is not None


def sheet_from_file(path: Path | str, fr: "FileResult") -> Sheet:
    """The sheet of a proof file that `check_file` found valid (`fr`): expressions and rule
    ids as the checker saw them, variables and the claim as the file declares them."""
    from .proofs import claim_kind, parse_proof, select_proof, split_item, step_kind
    from .source import load_yaml, read_text

    if fr.status != "valid":
        raise ValueError(f"{fr.path} does not check ({fr.status}); only a checked proof renders")
    file, index = split_item(path)  # FILE#N: the N-th proof of a list
    src = select_proof(load_yaml(read_text(file)), index)
    pf = parse_proof(src.data, src)
    env = {n: v.info() for n, v in pf.variables.items()}
    names = set(env)
    lines: list[tuple[Expr, list[str]]] = []
    final = None
    for item, s in zip(pf.proof, fr.steps):
        e = parse(s.expr, names)
        if step_kind(item) != "expr":  # derivative: or hessian:
            final = (e, list(s.by))
        else:
            lines.append((e, list(s.by)))
    sheet = Sheet(pf.theorem, env, lines, final=final, layout=pf.layout, title=pf.title or "",
                  source=pf.source or "", origin=str(path))
    if (kind := claim_kind(pf.claim)) != "identity":
        sheet.f, sheet.hessian = parse(getattr(pf.claim, kind), names), kind == "hessian"
        sheet.wrt = pf.claim.wrt
        if pf.claim.equals:
            sheet.equals = parse(pf.claim.equals, names)
        elif final:
            sheet.equals = final[0]
    else:
        sheet.lhs, sheet.rhs = parse(pf.claim.lhs, names), parse(pf.claim.rhs, names)
    return sheet


def sheet_from_derivation(dv: "Derivation") -> Sheet:
    """The sheet of what `prove derive` produced (its steps are notation text and citations)."""
    names = set(dv.names)
    lines = [(parse(text, names), list(by)) for text, by in dv.steps[:-1]]
    g_text, g_by = dv.steps[-1]
    final = (parse(g_text, names), list(g_by))
    return Sheet(dv.theorem, dv.env, lines, f=dv.f, wrt=dv.wrt, equals=dv.derivative,
                 layout=dv.layout, final=final, title=f"Derivative with respect to {dv.wrt}")


def _describe(name: str, info: VarInfo) -> str:
    o = c = "$"
    s = info.shape
    flags = [f for f in ("constant", "symmetric", "invertible") if getattr(info, f)]
    if s.scalar:
        what = f"{o}{name_tex(name)}{c} be a{' constant' if info.constant else ''} scalar"
        flags = [f for f in flags if f != "constant"]
    else:
        dims = " \\times ".join(name_tex(x) if isinstance(x, str) else str(x)
                                for x in (s.rows, s.cols))
        what = f"{o}{name_tex(name)}{c} be {o}{dims}{c}"
    if flags:
        what += " and " + (", ".join(flags[:-1]) + " and " + flags[-1] if len(flags) > 1
                           else flags[0])
    return what


def _hypotheses(sheet: Sheet) -> str:
    """The declarations in words: "Let $a$ be $n \\times 1$ and constant, and $X$ be ..."."""
    parts = [_describe(n, v) for n, v in sheet.variables.items()]
    if not parts:
        return ""
    if len(parts) == 1:
        return "Let " + parts[0] + "."
    if len(parts) == 2:
        return "Let " + parts[0] + ", and " + parts[1] + "."
    return "Let " + "; ".join(parts[:-1]) + "; and " + parts[-1] + "."


def _claim_math(sheet: Sheet, end: str = "") -> str:
    """The claim `lhs = rhs` (then `end`); a long right side is broken as in `_rows`, inside
    `aligned` (which `\\[…\\]` and Markdown's `$$…$$` both take)."""
    names = set(sheet.variables)
    if sheet.is_derivative:
        if sheet.equals is None:
            return f"{_lhs_tex(sheet)} = \\cdots{end}"
        lhs, rhs = _lhs_tex(sheet), sheet.equals
        lead = len(plain(sheet.f, names)) + len(sheet.wrt) + 8  # "d(f)/d(X) = "
    else:
        lhs, rhs = latex(sheet.lhs, names), sheet.rhs
        lead = len(plain(sheet.lhs, names)) + 3
    first, *more = broken(rhs, names, max(WIDTH - lead, WIDTH // 2))
    if not more:
        return f"{lhs} = {first}{end}"
    rows = [f"{lhs} &= {first}"] + [f"&\\quad {{}}{x}" for x in more]
    return "\\begin{aligned}\n  " + " \\\\\n  ".join(rows) + end + "\n\\end{aligned}"


WIDTH = 70  # characters of plain notation on one row of a derivation before it is broken


def broken(e: Expr, names: frozenset[str] | set[str] = frozenset(), width: int = WIDTH
           ) -> list[str]:
    """e as LaTeX in pieces, the way `align` breaks a long line: when its plain notation is
    wider than `width`, at the top-level `+` and `-`, each piece as long as fits (a term that
    alone is wider stays whole). The second piece on begin with their sign."""
    if len(plain(e, names)) <= width:
        return [latex(e, names)]
    pieces: list[list[str]] = []
    n = 0
    for p, t in zip(sum_terms(e, PLAIN, names), sum_terms(e, LATEX, names)):
        if pieces and n + 1 + len(p) <= width:
            pieces[-1].append(t)
            n += 1 + len(p)
        else:
            pieces.append([t])
            n = len(p)
    return [" ".join(x) for x in pieces]


def _rows(sheet: Sheet, rule: Callable[[list[str]], str]) -> list[str]:
    """The rows of the aligned chain: `start &= next && (rule)`, then `&= next && (rule)`. A
    line that would make its row wider than `WIDTH` characters of plain notation (the start
    before `=`, the line, the rule's name) goes on in rows `&\\quad {}+ rest` (`{}` keeps the
    `+` binary)."""
    names = set(sheet.variables)
    start = latex(sheet.lines[0][0], names)
    if len(sheet.lines) == 1:
        return [start]
    lead_width = len(plain(sheet.lines[0][0], names)) + 3  # "start = "
    rows = []
    for i, (e, by) in enumerate(sheet.lines[1:]):
        lead = start + " " if i == 0 else ""
        width = max(WIDTH - lead_width - len(_rules(by)), WIDTH // 2)
        first, *more = broken(e, names, width)
        rows.append(f"  {lead}&= {first} && {rule(by)}")
        rows += [f"  &\\quad {{}}{x}" for x in more]
    return rows


def _lhs_tex(sheet: Sheet) -> str:
    """∂f/∂X, or for a Hessian ∂²f/∂x∂xᵀ (in vec(X) for a matrix X)."""
    if not sheet.hessian:
        return partial_tex(sheet.f, sheet.wrt)
    s, w = latex(sheet.f), name_tex(sheet.wrt)
    if sheet.variables[sheet.wrt].shape.cols != 1:
        w = f"\\operatorname{{vec}}({w})"
    s = LATEX.paren(s) if level(sheet.f, LATEX) < ATOM else s
    return f"\\frac{{\\partial^2 {s}}}{{\\partial {w}\\, \\partial {w}^{{\\top}}}}"


def _final_math(sheet: Sheet) -> str:
    return f"{_lhs_tex(sheet)} &= {latex(sheet.final[0])}"


def _label(name: str) -> str:
    return "thm:" + re.sub(r"[^A-Za-z0-9:.-]", "-", name)


def sheet_latex(sheet: Sheet, standalone: bool = False) -> str:
    """The derivation as LaTeX: a `theorem` environment with the claim, then a `proof` whose
    `align*` lists every line with its rule. A fragment needs `amsmath`, `amsthm` and a
    `\\newtheorem{theorem}{Theorem}`; `standalone` wraps it in a document that has them."""
    rule = lambda by: f"\\text{{{text_tex(_rules(by))}}}" if by else ""  # noqa: E731
    out = [f"% {text_tex(sheet.origin or sheet.theorem)}: rendered by prove render from a proof "
           "that prove check accepts."]
    if not standalone:
        out.append("% Needs \\usepackage{amsmath,amsthm} and \\newtheorem{theorem}{Theorem}.")
    title = f"[{{{title_tex(sheet.title, set(sheet.variables))}}}]" if sheet.title else ""
    out.append(f"\\begin{{theorem}}{title}\\label{{{_label(sheet.theorem)}}}")
    hyp = _hypotheses(sheet)
    lead = "Then, in " + sheet.layout + " layout," if sheet.is_derivative and not sheet.hessian else "Then"
    out.append((hyp + " " if hyp else "") + lead)
    out += ["\\[", "  " + _claim_math(sheet, "."), "\\]", "\\end{theorem}", "\\begin{proof}"]
    rows = _rows(sheet, rule)
    out.append("\\begin{align*}")
    if sheet.is_derivative and sheet.final is not None:
        out.append(" \\\\\n".join(rows) + " \\\\")
        out.append(f"\\intertext{{and reading the {'Hessian' if sheet.hessian else 'derivative'} off the last line,}}")
        out.append(f"  {_final_math(sheet)} && {rule(sheet.final[1])} \\qedhere")
    else:
        out.append(" \\\\\n".join(rows) + " \\qedhere")
    out += ["\\end{align*}", "\\end{proof}"]
    if sheet.source:
        out.append(f"\\noindent\\textit{{Source:}} {text_tex(sheet.source)}")
    body = "\n".join(out) + "\n"
    if not standalone:
        return body
    return ("\\documentclass{article}\n\\usepackage{amsmath,amsthm}\n"
            "\\newtheorem{theorem}{Theorem}\n\\begin{document}\n" + body + "\\end{document}\n")


def sheet_markdown(sheet: Sheet) -> str:
    """The derivation as Markdown with `$…$` and `$$…$$` math (GitHub, Jupyter, MkDocs with
    MathJax or KaTeX). `aligned` stands in for `align*`, which those renderers lack."""
    rule = lambda by: f"\\text{{{_md_rule(by)}}}" if by else ""  # noqa: E731
    head = (f"**Theorem ({title_md(sheet.title, set(sheet.variables))}).**" if sheet.title
            else f"**Theorem ({text_md(sheet.theorem)}).**")
    hyp = _hypotheses(sheet)
    lead = "Then, in " + sheet.layout + " layout," if sheet.is_derivative and not sheet.hessian else "Then"
    out = [" ".join(x for x in (head, hyp, lead) if x), "", "$$", _claim_math(sheet), "$$", "",
           "*Proof.*", "", "$$", "\\begin{aligned}", " \\\\\n".join(_rows(sheet, rule)),
           "\\end{aligned}", "$$", ""]
    if sheet.is_derivative and sheet.final is not None:
        out += [f"Reading the {'Hessian' if sheet.hessian else 'derivative'} off the last line "
                f"{text_md(_rules(sheet.final[1]))}:",
                "", "$$", _final_math(sheet).replace("&=", "="), "$$", ""]
    out.append("∎")
    if sheet.source:
        out += ["", f"*Source:* {text_md(sheet.source)}"]
    return "\n".join(out) + "\n"


# -- notebooks ----------------------------------------------------------------------------------
_MARK = {"valid": "✓", "invalid": "✗", "unjustified": "?", "error": "!"}


def _cell(s: str) -> str:
    return text_md(s).replace("\n", " ")


def _code(s: str) -> str:
    return "`" + s.replace("`", "'").replace("|", "\\|") + "`" if s else ""


def result_names(fr: "FileResult") -> set[str]:
    """The variables a checked file's steps use (what its title's notation may name)."""
    return {k.name for s in fr.steps if getattr(s, "expr_tree", None) is not None
            for k in s.expr_tree.walk() if isinstance(k, Sym)}


def file_result_markdown(fr: "FileResult") -> str:
    """A `FileResult` for Jupyter: the verdict, the claim, a table of the steps, the problems."""
    head = f"**{_cell(fr.path)}**: **{fr.status}**"
    if fr.status == "error":
        where = f" (line {fr.line}, column {fr.col})" if fr.line else ""
        out = [head, "", _cell(fr.message) + where]
        if fr.help:
            out.append("")
            out.append("help: " + _cell(fr.help))
        return "\n".join(out) + "\n"
    title = title_md(fr.title, result_names(fr)).replace("\n", " ") if fr.title else ""
    out = [head + (f" · {title}" if title else ""), "", f"claim: {_code(fr.claim)}",
           "", "| step | expression | by | verdict |", "|---:|---|---|---|"]
    for s in fr.steps:
        by = ", ".join(s.by) if s.by else ("start" if s.index == 0 else "")
        out.append(f"| {s.index} | {_code(s.expr)} | {_cell(by)} | "
                   f"{_MARK.get(s.status, '')} {s.status} |")
    notes = []
    for s in fr.steps:
        if s.status != "valid":
            text = f"- step {s.index}: {_cell(s.message)}"
            if s.suggestion:
                text += f" (cite {_cell(', '.join(s.suggestion))})"
            if s.help:
                text += f"; help: {_cell(s.help)}"
            notes.append(text)
    if fr.message:
        notes.append(f"- {_cell(fr.message)}")
    if notes:
        out += [""] + notes
    return "\n".join(out) + "\n"


def derivation_markdown(dv: "Derivation") -> str:
    """A `Derivation` for Jupyter: the derivative, then the proof `prove derive` wrote for it."""
    sheet = sheet_from_derivation(dv)
    rule = lambda by: f"\\text{{{_md_rule(by)}}}" if by else ""  # noqa: E731
    out = [f"$${partial_tex(dv.f, dv.wrt)} = {latex(dv.derivative)}$$", "",
           f"In {dv.layout} layout. The proof `prove derive` wrote for it:", "", "$$", "\\begin{aligned}",
           " \\\\\n".join(_rows(sheet, rule)), "\\end{aligned}", "$$", ""]
    if sheet.final is not None:
        out += [f"and reading off the derivative {text_md(_rules(sheet.final[1]))}: "
                f"${partial_tex(dv.f, dv.wrt)} = {latex(sheet.final[0])}$"]
    return "\n".join(out) + "\n"
