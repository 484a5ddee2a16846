"""Stage 7 of `prove grade`: the outputs (SPEC §7) — text for the instructor's terminal, CSV,
JSON, Gradescope's and PrairieLearn's results files, and a Markdown feedback page per student.
One writer per output; each problem's feedback comes from one model (`feedback.py`). Student
text is already one printable line (`score.py`); here it is also made harmless for where it
goes: CSV cells that would start a formula get a `'`, Markdown and HTML are escaped.
"""
from __future__ import annotations

import csv
import io

from .feedback import feedback_of, num, render_markdown
from .records import STATUSES, Status
from .safe import csv_cell, md_lines, md_text, visible
from .score import Report, StudentGrade


def csv_report(r: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "problem", "score", "max_score", "status", "reason"])
    for s in r.students:
        for p in s.problems:
            reason = p.reason + (f" ({p.partial})" if p.partial else "")
            w.writerow([csv_cell(c) for c in (s.student, p.id, num(p.score), num(p.max_score),
                                              p.status, reason)])
    return buf.getvalue()


def json_data(r: Report) -> dict:
    return {"assignment": r.assignment.name, "students": [
        {"student": s.student, "score": num(s.score), "max_score": num(s.max_score),
         "problems": [{"id": p.id, "score": num(p.score), "max_score": num(p.max_score),
                       "status": p.status, "reason": p.reason, "feedback": p.feedback}
                      for p in s.problems]} for s in r.students]}


def _summary_line(s: StudentGrade) -> str:
    return ", ".join(f"{p.id} {p.status} {num(p.score)}/{num(p.max_score)}" for p in s.problems)


def gradescope_data(r: Report, s: StudentGrade) -> dict:
    """Gradescope's results.json for one submission. Outputs are Markdown (Gradescope's `md`
    format) with every line escaped (safe.md_lines): student text shows as text, never as
    HTML or Markdown; test names are plain text."""
    head = f"{r.assignment.name}: {num(s.score)}/{num(s.max_score)} — {_summary_line(s)}"
    if s.notes:
        head += "\n" + "\n".join(f"note: {n}" for n in s.notes)
    shown = getattr(r.assignment, "gradescope_visibility", "visible")
    return {"score": num(s.score), "execution_time": round(r.seconds, 2),
            "output": md_lines(head), "output_format": "md", "test_output_format": "md",
            "test_name_format": "text", "visibility": shown, "tests": [
        {"name": visible(f"{p.id}: {p.claim}" if p.claim else p.id), "score": num(p.score),
         "max_score": num(p.max_score), "status": "passed" if p.status == Status.VALID
         else "failed", "output": md_lines(p.feedback), "visibility": shown}
        for p in s.problems]}


def prairielearn_data(r: Report, s: StudentGrade) -> dict:
    """PrairieLearn's external-grader results for one submission (score in 0..1). When nothing
    in the upload could be read as a proof (every problem missing or an error), it is not
    gradable: PrairieLearn then does not count the attempt against the student."""
    total = s.max_score or 1
    # a proof that was read and checked counts, even one graded `error` for a line over a limit:
    # else such a line would buy a free attempt with the full step-by-step feedback
    gradable = any(p.status not in (Status.MISSING, Status.ERROR) or p.error is None and p.steps
                   for p in s.problems)
    why = next((p.reason for p in s.problems if p.status == Status.ERROR and p.reason),
               "no proof of any problem was found")
    return {"gradable": gradable, "score": round(s.score / total, 4),
            "message": f"{r.assignment.name}: {num(s.score)}/{num(s.max_score)}" if gradable
            else f"Nothing in the upload could be read as a proof ({why}); this attempt does "
            "not count.",
            "output": "\n".join(f"note: {n}" for n in s.notes),
            "tests": [{"name": p.id, "description": p.claim, "points": num(p.score),
                       "max_points": num(p.max_score), "message": p.reason,
                       "output": p.feedback} for p in s.problems]}


def text_report(r: Report, color: bool = False) -> str:
    from ..cli_common import style as colored

    style = colored if color else (lambda t, c: t)  # noqa: E731
    colors = {Status.VALID: "green", Status.INVALID: "red", Status.INCOMPLETE: "yellow",
              Status.REJECTED: "magenta", Status.NEEDS_REVIEW: "cyan", Status.MISSING: "yellow",
              Status.ERROR: "red"}
    a = r.assignment
    out = [f"{a.name}" + (f" ({a.title})" if a.title else "") + f": {len(r.students)} "
           f"student{'s' * (len(r.students) != 1)}, {len(a.problems)} problem"
           f"{'s' * (len(a.problems) != 1)}, {num(a.max_score)} points", ""]
    idw = max(len(p.id) for p in a.problems)
    for s in r.students:
        out.append(f"{s.student}  {num(s.score)}/{num(s.max_score)}")
        for p in s.problems:
            sc = f"{num(p.score)}/{num(p.max_score)}"
            reason = p.reason + (f" — {p.partial}" if p.partial else "")
            status = f"{p.status:<10}" if reason else p.status
            out.append(f"  {p.id:<{idw}}  {sc:>9}  " + style(status, colors[p.status])
                       + (f"  {reason}" if reason else ""))
        for n in s.notes:
            out.append(f"  note: {n}")
    out.append("")
    for p in a.problems:
        got = [g for s in r.students for g in s.problems if g.id == p.id]
        counts = {k: sum(1 for g in got if g.status == k) for k in STATUSES}
        mean = sum(g.score for g in got) / len(got) if got else 0
        out.append(f"{p.id}: mean {mean:.2f}/{num(p.points)} — " + ", ".join(
            f"{v} {k}" for k, v in counts.items() if v))
    st = r.stats
    n = st.get("students", 0)
    out.append(f"graded {n} student{'s' * (n != 1)} in {r.seconds:.1f} s: "
               f"{st.get('files', 0)} files ({st.get('distinct_files', 0)} distinct), "
               f"{st.get('proofs', 0)} proofs checked ({st.get('distinct_proofs', 0)} distinct; "
               f"the kernel ran {st.get('checks', 0)} checks, the workers' caches gave the rest)")
    return "\n".join(out)


def markdown_feedback(r: Report, s: StudentGrade) -> str:
    a = r.assignment
    out = [f"# {a.name} — {md_text(s.student)}: {num(s.score)}/{num(s.max_score)}", ""]
    if a.title:
        out += [a.title, ""]
    for n in s.notes:
        out.append(f"> note: {md_text(n)}")
    if s.notes:
        out.append("")
    problems = {p.id: p for p in a.problems}
    for p in s.problems:
        out += render_markdown(feedback_of(p, problems[p.id]))
    return "\n".join(out)
