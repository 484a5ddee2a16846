"""Stage 6 of `prove grade`, in the parent: an `Outcome` and a `CheckRecord` become a
`ProblemGrade` — status, score, reason and how partial credit was reached (SPEC §7).

`valid` earns the points; a proof that is not valid earns partial credit by *milestones* (see
`assignment.PartialCredit`), which padding cannot reach; a line that cannot be read is
`needs_review`; a layout slip is scored by one rule whatever the shapes. Every text of a grade
that holds student text is made one printable line here (`safe.visible`), before any output
sees it. Read next: `feedback.py`, `formats.py`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Union

from .assignment import Assignment, Problem
from .check import CheckRecord, first_wrong
from .gate import Outcome
from .records import FileError, ProofFacts, Status, TaskFailure
from .feedback import feedback_of, render_text
from .safe import visible


@dataclass
class ProblemGrade:
    id: str
    score: float
    max_score: float
    status: Status
    reason: str = ""
    file: str = ""
    claim: str = ""
    steps: list = field(default_factory=list)  # StepView
    lines: list = field(default_factory=list)
    partial: str = ""  # how partial credit was reached
    warnings: list = field(default_factory=list)  # change no score (e.g. an unused variable)
    error: Optional[FileError] = None  # behind an `error` status: the error with its place
    facts: ProofFacts = ProofFacts()  # for the class report only (no other output prints them)
    problem: Optional[Problem] = field(default=None, repr=False, compare=False)
    _feedback: Optional[str] = field(default=None, repr=False, compare=False)

    @property
    def feedback(self) -> str:
        """The feedback text for the student (`feedback.render_text`), written when an output
        first asks for it (the text report and CSV never do): a grade is not changed once
        scored, so it reads the same whenever it is written."""
        if self._feedback is None:
            self._feedback = render_text(feedback_of(self, self.problem)) if self.problem else ""
        return self._feedback


@dataclass
class StudentGrade:
    student: str
    problems: list[ProblemGrade]
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 2)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.problems), 2)


@dataclass
class Report:
    assignment: Assignment
    students: list[StudentGrade]
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


def _step_line(pg: ProblemGrade, i: int) -> str:
    return f" (line {pg.lines[i]})" if i < len(pg.lines) else ""


def score_problem(p: Problem, oc: Outcome, rec: Union[CheckRecord, TaskFailure, None],
                  facts: Optional[ProofFacts] = None) -> ProblemGrade:
    """The grade of one problem. A proof that is not valid earns the milestones its checked part
    reaches (`PartialCredit`). Two cases are scored by rule, the same whatever the shapes
    (SPEC §7): a line that does not parse or shape-check is an error of that line only — the
    proof earns the milestones it reaches and is `needs_review`, never full points (a person
    decides); and a layout slip (the answer transposed, nothing else wrong) is `invalid` and
    earns `layout_slip` of the points if the assignment sets it, else the milestones reached.
    `facts` (the worker's, for the class report) are kept on the grade as they are: the report
    looks for names of the class in an example step as written, then escapes it."""
    pg = ProblemGrade(p.id, 0.0, p.points, oc.status or Status.ERROR, oc.reason, oc.file,
                      oc.claim_shown or p.claim_shown, lines=oc.lines,
                      warnings=list(oc.warnings), error=oc.error, facts=facts or ProofFacts())
    if oc.status is not None:
        return _with_feedback(pg, p)
    if isinstance(rec, TaskFailure) or rec is None:
        pg.status = Status.ERROR
        pg.reason = f"checking the proof failed: {rec.reason if rec else 'no result'}"
        return _with_feedback(pg, p)
    pg.steps = rec.steps
    unreadable = list(getattr(rec, "unreadable", []) or [])
    if rec.status == "valid":
        pg.status, pg.score = Status.VALID, p.points
        return _with_feedback(pg, p)
    if rec.status == "error":
        pg.status, pg.reason = Status.ERROR, rec.message or "the proof cannot be checked"
        if getattr(rec, "over_limit", -1) >= 0:
            i = rec.over_limit
            pg.reason = f"step {i}{_step_line(pg, i)} is over a limit: {rec.message}"
        return _with_feedback(pg, p)
    bad = first_wrong(rec)
    if unreadable:
        pg.status = Status.NEEDS_REVIEW
        which = ", ".join(f"step {i}{_step_line(pg, i)}" for i in unreadable)
        first = next(s for s in rec.steps if s.index == unreadable[0])
        pg.reason = (f"{which} could not be read ({first.message}); the rest was checked from "
                     "the last line that could be read: a person should review it")
        if bad is not None:
            pg.reason += f"; step {bad.index}{_step_line(pg, bad.index)}: {bad.message}"
        elif rec.message:
            pg.reason += f"; {rec.message}"
    elif bad is None:
        pg.status = Status.INCOMPLETE
        pg.reason = rec.message or "the proof does not reach the claim"
    else:
        pg.status = Status.INVALID
        pg.reason = f"step {bad.index}{_step_line(pg, bad.index)}: {bad.message}"
    pc = p.partial
    slip = getattr(rec, "slip", "") == "layout" and bad is not None and not unreadable \
        and bad.index == rec.steps[-1].index
    claim_note = getattr(rec, "claim_note", "")
    if claim_note and not slip:  # (a slip is named by its step, the same for every shape)
        pg.reason = f"the claim's answer: {claim_note}" + (f"; {pg.reason}" if bad else "")
    if pc.policy == "milestones" and slip and pc.layout_slip is not None:
        frac = pc.layout_slip
        if frac > 0:
            pg.score = round(p.points * frac, 2)
            pg.partial = (f"partial credit: a layout slip (the answer transposed, every other "
                          f"step valid): {frac:.0%} of the points, as the assignment sets")
    elif pc.policy == "milestones" and p.kind == "derivative" and rec.milestone:
        frac = pc.trace_form if rec.milestone == "trace_form" else pc.differential
        if frac > 0:
            pg.score = round(p.points * frac, 2)
            what = ("reaches tr(G dX)" if rec.milestone == "trace_form"
                    else "fully expands the differential")
            upto = f"steps 0–{rec.prefix - 1}" if rec.prefix > 1 else "the start"
            skipped = (", without the line" + "s" * (len(unreadable) > 1) + " that could not "
                       "be read") if unreadable else ""
            pg.partial = (f"partial credit: the checked part of the proof ({upto}{skipped}) "
                          f"{what}: {frac:.0%} of the points")
    if pg.status is Status.NEEDS_REVIEW:
        pg.partial = (pg.partial + "; " if pg.partial else "") + (
            "not full points while a line cannot be read: a person should review it")
    return _with_feedback(pg, p)


def _with_feedback(pg: ProblemGrade, p: Problem) -> ProblemGrade:
    _neutralise(pg)
    pg.problem = p  # its feedback is written from it when an output asks (`feedback`)
    return pg


def _neutralise(pg: ProblemGrade) -> None:
    """Every text of a grade that holds student text (file names, theorem names, citations,
    expressions, messages quoting them) as one printable line: see safe.visible. Step views
    may be shared by students with the same proof, so they are copied, not changed. (The
    class report's `facts` are left as written: the report escapes them itself, `report.py`.)"""
    pg.reason, pg.file, pg.claim, pg.partial = (visible(t) for t in
                                                (pg.reason, pg.file, pg.claim, pg.partial))
    pg.warnings = [visible(w) for w in pg.warnings]
    pg.steps = [_visible_step(s) for s in pg.steps]


def _visible_step(s):
    """A step view with its texts made visible, as a copy: made by the dataclass's own
    constructor, it is also smaller than the view as it came from the worker (an unpickled
    object's attribute dict is not shared with the others of its class)."""
    return dataclasses.replace(
        s, expr=visible(s.expr), by=[visible(b) for b in s.by] if s.by else s.by,
        message=visible(s.message), counterexample=visible(s.counterexample),
        help=visible(s.help),
        suggestion=[visible(x) for x in s.suggestion] if s.suggestion else s.suggestion)

