"""A problem's feedback as one model (`Feedback`: the verdict, the reason, a row per step with
its notes, partial credit, warnings), rendered in two spellings: plain text (`render_text`: the
`feedback` of JSON, Gradescope and PrairieLearn outputs) and Markdown (`render_markdown`: a
section of a student's page from `--feedback`). What a student is told is decided once, in
`feedback_of`; a renderer only spells it. Student text reaches the model already made one
printable line (`score._neutralise`); the Markdown renderer also escapes HTML and Markdown.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

from .safe import md_code, md_text

if TYPE_CHECKING:
    from .assignment import Problem
    from .score import ProblemGrade

MARK = {"valid": "✓", "invalid": "✗", "unjustified": "?", "error": "!"}
EXPR_WIDTH, BY_WIDTH = 48, 44  # the text table's widest columns


def num(x: float) -> Union[int, float]:
    """A score as people write it: 10, not 10.0; 2.5."""
    return int(x) if float(x).is_integer() else round(x, 2)


@dataclass(frozen=True)
class Note:
    """Something said about a step that is not valid: why, a counterexample, or a hint."""

    kind: Literal["message", "detail", "hint"]
    text: str


@dataclass(frozen=True)
class StepRow:
    index: int
    line: str  # the step's line in the file ("" when unknown)
    expr: str
    by: str  # its citations, or "start" for the first line
    status: str  # the kernel's: valid, invalid, unjustified, error
    notes: tuple[Note, ...] = ()

    @property
    def verdict(self) -> str:
        return f"{MARK.get(self.status, '?')} {self.status}"


@dataclass(frozen=True)
class Feedback:
    problem: str
    claim: str  # the assigned claim
    status: str
    score: float
    max_score: float
    file: str
    reason: str
    steps: tuple[StepRow, ...]
    partial: str  # how partial credit was reached
    warnings: tuple[str, ...]


def feedback_of(pg: "ProblemGrade", p: "Problem") -> Feedback:
    rows = []
    for s in pg.steps:
        notes: list[Note] = []
        if s.status != "valid":
            notes.append(Note("message", s.message))
            if s.counterexample:
                notes.append(Note("detail", s.counterexample))
            if s.suggestion:
                notes.append(Note("hint", f"cite {', '.join(s.suggestion)}"))
            if s.help:
                notes.append(Note("hint", s.help))
        rows.append(StepRow(s.index, str(pg.lines[s.index]) if s.index < len(pg.lines) else "",
                            s.expr, ", ".join(s.by) if s.by else ("start" if s.index == 0 else ""),
                            s.status, tuple(notes)))
    return Feedback(pg.id, p.claim_shown, pg.status, pg.score, pg.max_score, pg.file, pg.reason,
                    tuple(rows), pg.partial, tuple(pg.warnings))


def render_text(fb: Feedback) -> str:
    """Plain text: a head line, the file and reason, an aligned step table with the notes under
    each step that is not valid, partial credit, warnings."""
    out = [f"{fb.problem}: {fb.claim} — {fb.status}, {num(fb.score)}/{num(fb.max_score)}"]
    if fb.file:
        out.append(f"file: {fb.file}")
    if fb.reason:
        out.append(f"reason: {fb.reason}")
    if fb.steps:
        width = min(max(len(r.expr) for r in fb.steps), EXPR_WIDTH)
        bywidth = min(max(len(r.by) for r in fb.steps), BY_WIDTH)
        for r in fb.steps:
            expr = r.expr if len(r.expr) <= width else r.expr[: width - 1] + "…"
            line = f"line {r.line}" if r.line else ""
            out.append(f"  {r.index:>3}  {line:<9} {expr:<{width}}  {r.by:<{bywidth}}  "
                       f"{r.verdict}")
            for n in r.notes:
                out.append("         " + ("hint: " if n.kind == "hint" else "") + n.text)
    if fb.partial:
        out.append(fb.partial)
    out += [f"warning: {w}" for w in fb.warnings]
    return "\n".join(out)


def render_markdown(fb: Feedback) -> list[str]:
    """Markdown lines: a section headed by the problem, the claim, why, a step table, a bullet
    per step that is not valid with its notes under it, partial credit, warnings. Student text
    is escaped (`safe.md_text`, `safe.md_code`)."""
    out = [f"## {fb.problem}: {num(fb.score)}/{num(fb.max_score)} — {fb.status}", "",
           f"Claim: `{fb.claim}`" + (f" (file {md_code(fb.file)})" if fb.file else ""), ""]
    if fb.reason:
        out += [f"**Why:** {md_text(fb.reason)}", ""]
    if fb.steps:
        out += ["| step | line | expression | by | verdict |", "|---:|---:|---|---|---|"]
        out += [f"| {r.index} | {r.line} | {md_code(r.expr)} | {md_text(r.by)} | {r.verdict} |"
                for r in fb.steps]
        out.append("")
        for r in fb.steps:
            for j, n in enumerate(r.notes):
                text = md_text(n.text)
                if j == 0:  # the message heads the step's bullet
                    out.append(f"- **Step {r.index}** ({r.status}): {text}")
                else:
                    out.append("  - " + ("hint: " if n.kind == "hint" else "") + text)
        out.append("")
    if fb.partial:
        out += [fb.partial[0].upper() + fb.partial[1:] + ".", ""]
    for w in fb.warnings:
        out += [f"> warning: {md_text(w)}", ""]
    return out
