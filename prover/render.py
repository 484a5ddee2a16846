"""Turning check results into text (with carets) and JSON (SPEC §6). Untrusted: it only reads
results. One function draws every source excerpt, so every diagnostic looks the same."""
from __future__ import annotations

from typing import Any

from .cli_common import one_line
from .cli_common import style as colored
from .kernel.replay import StepResult
from .proofs import FileResult

MARK = {"valid": "✓", "invalid": "✗", "unjustified": "?", "error": "!"}
COLOR = {"valid": "green", "invalid": "red", "unjustified": "yellow", "error": "red"}


def excerpt(lines: list[str], line: int, col: int, width: int = 1) -> list[str]:
    """The source line with a caret under [col, col + width)."""
    if not (1 <= line <= len(lines)):
        return []
    src = lines[line - 1].rstrip("\n")
    col = max(1, min(col, len(src) + 1))
    width = max(1, min(width, len(src) - col + 1 if len(src) >= col else 1))
    gutter = " " * len(str(line))
    return [f"{gutter} |", f"{line} | {src}", f"{gutter} | {' ' * (col - 1)}{'^' * width}"]


def _matrix(m: list[list[Any]]) -> str:
    if len(m) == 1 and len(m[0]) == 1:
        return str(m[0][0])
    return "[" + ", ".join("[" + ", ".join(str(x) for x in row) + "]" for row in m) + "]"


def step_location(fr: FileResult, s: StepResult) -> tuple[int, int, int]:
    """Line, column and caret width for a step's diagnostic."""
    if s.caret:
        (line, col), text = s.caret
        src = fr.lines[line - 1] if 0 < line <= len(fr.lines) else ""
        found = src.find(text, col - 1)
        return line, (found + 1 if found >= 0 else col), len(text)
    if not s.loc:
        return 1, 1, 1
    line, col = s.loc
    width = len(s.source_text or s.expr) or 1
    if s.span is not None and s.span.end > s.span.start and s.source_text:
        src = fr.lines[line - 1] if 0 < line <= len(fr.lines) else ""
        found = src.find(s.source_text, col - 1)
        base = found + 1 if found >= 0 else col
        return line, base + s.span.start, s.span.end - s.span.start
    if s.source_text and 0 < line <= len(fr.lines):
        found = fr.lines[line - 1].find(s.source_text, col - 1)
        if found >= 0:
            col = found + 1
    return line, col, width


def step_diagnostic(fr: FileResult, s: StepResult) -> list[str]:
    line, col, width = step_location(fr, s)
    if s.status == "valid":  # shown only for --strict: its warnings are the point
        head = f"{one_line(fr.path)}:{line}:{col}: warning: step {s.index}: {'; '.join(s.warnings)}"
        return [head] + excerpt(fr.lines, line, col, width)
    head = f"{one_line(fr.path)}:{line}:{col}: {s.status}: step {s.index}: {s.message}"
    out = [head] + excerpt(fr.lines, line, col, width)
    cex = s.counterexample
    if cex is not None:
        dims = ", ".join(f"{k} = {v}" for k, v in cex.dims.items()) or "these sizes"
        out.append(f"  = counterexample at {dims}:")
        j = witness_json(cex)
        for name, m in j["values"].items():
            out.append(f"      {name} = {_matrix(m)}")
        left, right = cex.labels
        pad = max(len(left), len(right))
        out.append(f"      {left:<{pad}} = {_matrix(j['lhs'])}")
        out.append(f"      {right:<{pad}} = {_matrix(j['rhs'])}")
    if s.suggestion:
        out.append(f"  = help: cite {', '.join(s.suggestion)}")
    if s.help:
        out.append(f"  = help: {s.help}")
    for w in s.warnings:
        out.append(f"  = warning: {w}")
    return out


def text_report(results: list[FileResult], strict: bool = False, color: bool = False) -> str:
    out: list[str] = []
    style = colored if color else (lambda t, c: t)  # noqa: E731
    for fr in results:
        if fr.status == "error":
            out.append(f"{one_line(fr.path)}:{fr.line}:{fr.col}: " + style("error", "red") + f": {fr.message}")
            out.extend(excerpt(fr.lines, fr.line, fr.col, fr.width))
            if fr.help:
                out.append(f"  = help: {fr.help}")
            out.append("")
            continue
        out.append(f"{one_line(fr.path)}: {one_line(fr.claim)}" + (f"  ({one_line(fr.title)})" if fr.title else ""))
        assumed = assumptions(fr)
        if assumed:
            out.append(f"  assuming {assumed}")
        exprs = {s.index: one_line(s.expr.strip()) for s in fr.steps}  # a `|` block ends in \n
        width = max((len(x) for x in exprs.values()), default=10)
        width = min(width, 48)
        bywidth = min(max((len(", ".join(s.by)) for s in fr.steps), default=5), 44)
        problems: list[list[str]] = []
        for s in fr.steps:
            by = ", ".join(s.by) if s.by else ("start" if s.index == 0 else "")
            expr = exprs[s.index] if len(exprs[s.index]) <= width else exprs[s.index][: width - 1] + "…"
            checked = f"  [{', '.join(s.checked_by)}]" if s.checked_by else ""
            checked += "  probabilistic" if s.evidence == "probabilistic" and s.status == "valid" else ""
            mark = style(f"{MARK[s.status]} {s.status}", COLOR[s.status])
            out.append(f"  {s.index:>3}  {expr:<{width}}  {by:<{bywidth}}  {mark}{checked}")
            if s.status != "valid" or (strict and s.warnings):
                problems.append(step_diagnostic(fr, s))
            elif s.message:
                out.append(f"       note: {s.message}")
        for p in problems:
            out.append("")
            out.extend(p)
        if fr.message:
            out.append(f"{one_line(fr.path)}: {fr.message}")
        if strict:
            for w in file_warnings(fr):
                out.append(f"{one_line(fr.path)}: warning: {w}")
        n = len(fr.steps)
        verdict = file_status(fr, strict)
        out.append(style(f"{verdict}", COLOR.get(verdict, "red")) + f": {n} step{'s' * (n != 1)}"
                   + (f", assuming {assumed}" if assumed and verdict == "valid" else ""))
        out.append("")
    counts = summary(results, strict)
    n, what = counts["files"], "proof" if any(getattr(r, "file", "") for r in results) else "file"
    out.append(f"{n} {what}{'s' * (n != 1)}: {counts['valid']} valid, "
               f"{counts['invalid']} invalid, {counts['error']} error")
    return "\n".join(out)


def assumptions(fr: FileResult) -> str:
    """What the claim assumes (`assume:`), part of what `valid` says: `m >= n; X^T X invertible`."""
    return "; ".join(fr.result.assumptions) if fr.result and fr.result.assumptions else ""


def file_warnings(fr: FileResult) -> list[str]:
    return list(fr.result.warnings) if fr.result else []


def file_status(fr: FileResult, strict: bool) -> str:
    if strict and fr.status == "valid" and (any(s.warnings for s in fr.steps) or file_warnings(fr)):
        return "invalid"
    return fr.status


def summary(results: list[FileResult], strict: bool = False) -> dict[str, int]:
    st = [file_status(r, strict) for r in results]
    return {"files": len(results), "valid": st.count("valid"), "invalid": st.count("invalid"),
            "error": st.count("error")}


def counterexample_line(cex) -> str:
    """The counterexample on one line, for messages that must carry it (JSON, CSV, feedback)."""
    j = witness_json(cex)
    dims = ", ".join(f"{k} = {v}" for k, v in cex.dims.items()) or "these sizes"
    vals = ", ".join(f"{k} = {_matrix(m)}" for k, m in j["values"].items())
    left, right = cex.labels
    return (f"counterexample at {dims}: " if cex.dims else "counterexample: ") + (
        f"{vals}; " if vals else "") + f"{left} = {_matrix(j['lhs'])}, {right} = {_matrix(j['rhs'])}"


def step_json(fr: FileResult, s: StepResult) -> dict[str, Any]:
    at, col, _ = step_location(fr, s)
    line = s.loc[0] if s.loc else at  # SPEC §6: `line` is the item's line
    message = s.message
    if s.counterexample is not None:
        message += "; " + counterexample_line(s.counterexample)
    out: dict[str, Any] = {"index": s.index, "line": line, "expr": s.expr, "by": s.by,
                           "status": s.status, "message": message, "checked_by": s.checked_by}
    if s.evidence:
        out["evidence"] = s.evidence  # exact | probabilistic | false | unknown
        out["sizes"] = s.sizes
        if s.evidence == "probabilistic":
            out["error_bound"] = s.bound
    out["column"] = col
    if at != line:  # the place is on another line of the item (a citation under `by:`)
        out["error_line"] = at
    if s.counterexample is not None:
        out["counterexample"] = witness_json(s.counterexample)
    if s.suggestion:
        out["suggestion"] = s.suggestion
    if s.help:
        out["help"] = s.help
    if s.warnings:
        out["warnings"] = s.warnings
    if s.applications:
        out["applications"] = [describe(a) for a in s.applications]
    return out


def describe(app: Any) -> str:
    """One replayed rule application (`kernel.rules.Application`) as a line of text: the rule,
    the direction, the position and the substitution. A reading-off is already text."""
    if isinstance(app, str):
        return app
    pos = "at the root" if not app.path else "at position " + ".".join(map(str, app.path))
    sub = ", ".join(f"{k} := {v}" for k, v in sorted(app.binding.items()))
    way = "left to right" if app.direction == "->" else "right to left"
    return f"{app.rule} ({way}, {pos}; {sub})"


def json_report(results: list[FileResult], strict: bool = False) -> str:
    files = []
    for fr in results:
        entry: dict[str, Any] = {"path": fr.path, "status": file_status(fr, strict),
                                 "claim": fr.claim, "assumptions": list(fr.result.assumptions) if fr.result else [],
                                 "steps": [step_json(fr, s) for s in fr.steps]}
        if fr.message:
            entry["message"] = fr.message
        if file_warnings(fr):
            entry["warnings"] = file_warnings(fr)
        if fr.status == "error":
            entry["line"], entry["column"] = fr.line, fr.col
        files.append(entry)
    import json  # only for --format json: not at start-up

    text = json.dumps({"files": files, "summary": summary(results, strict)}, ensure_ascii=False,
                      indent=2)
    # A file name that is not UTF-8 reaches here as lone surrogates (os.fsdecode); JSON text is
    # UTF-8, so each is written as its \uXXXX escape, which reads back to the same name.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def witness_json(w) -> dict:
    """A kernel witness (or a counterexample found for display) as JSON: numbers as strings."""
    fmt = lambda m: [[str(x) for x in row] for row in m]  # noqa: E731
    out = {"dims": w.dims, "values": {k: fmt(v) for k, v in w.values.items()},
           "lhs": fmt(w.lhs), "rhs": fmt(w.rhs), "labels": list(w.labels)}
    if w.modulus:
        out["modulus"] = str(w.modulus)
    return out
