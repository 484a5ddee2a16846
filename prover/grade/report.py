"""The class report of `prove grade … --report DIR` (docs/grading.md §4.1): what the class as a
whole got right and wrong, for the instructor.

It is built from the grader's result alone (`run.grade`'s `Report`): each student's score,
status and reason per problem, the verdict of each step, and what the worker found while it
graded (`ProofFacts`: a digest of each proof's normalised content, to find identical
submissions, and the text of the step to show as an example). It never opens or parses a
submitted file (the grader's isolation: that work happens in a worker, within the time budget),
nor reads its own rendered feedback. `analyse` turns a `Report` into a `ClassReport`;
`render_markdown` writes it as a page; `write_report` writes the page and, when matplotlib is
installed, its PNG plots.

Every piece of student text on the page goes through `safe.md_text` / `md_code` (no raw
HTML, no Markdown from names or steps). Examples of mistakes are steps, never names or file
names, and an example that contains a name of the class is passed over for another one (or has
the name blanked). Read next: `cli_grade.py` (the `--report` option).
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .safe import md_code, md_text, visible

if TYPE_CHECKING:
    from .score import ProblemGrade, Report

# Named mistakes: the first whose pattern is in the reason names the mistake (order matters).
MISTAKES: list[tuple[str, str]] = [
    ("layout slip (the answer transposed)", r"layout slip"),
    ("too many rules in one step", r"max_rules_per_step"),
    ("a rule the problem does not allow", r"which this problem does not allow"),
    ("a rule of the student's own", r"a rule of the student's own|this is a rule file"),
    ("a rule that does not exist", r"not a rule of the installed rule base"),
    ("the claim changed", r"the claim was changed|the claim's"),
    ("the declarations changed", r"declarations were changed"),
    ("a false step", r"this step is false"),
    ("the wrong derivative read off tr(G dX)", r"the line before gives ∂f/∂"),
    ("not the claimed answer", r"this derivative is not the claimed"),
    ("a true step the cited rules do not give", r"this step is true, but"),
    ("Theorem 4 not cited or misapplied", r"Theorem 4|derivative-from-differential"),
    ("an answer of the wrong shape", r"layout ∂f/∂"),
    ("over a limit", r"limit|too deeply|too long"),
]
REFUSED_BY_RULES = {"a rule the problem does not allow", "a rule of the student's own",
                    "a rule that does not exist"}
REFUSED_BY_KEY = {"the claim changed", "the declarations changed"}
BINS = ("0", "under 25%", "25–49%", "50–74%", "75–99%", "full")


def mistake_name(status: str, reason: str) -> str:
    """The named mistake behind a problem's grade ('' for a valid proof)."""
    if status == "valid":
        return ""
    if status == "missing":
        return "no proof submitted"
    if status == "needs_review":
        return "a line that cannot be read"
    if status == "incomplete":
        return "does not reach the claim"
    for name, pattern in MISTAKES:
        if re.search(pattern, reason):
            return name
    if status == "error":
        return "a file that cannot be read"
    return f"other ({status})"


def _bin(score: float, max_score: float) -> str:
    if score <= 0:
        return BINS[0]
    if score >= max_score:
        return BINS[5]
    frac = score / max_score
    return BINS[1] if frac < 0.25 else BINS[2] if frac < 0.5 else BINS[3] if frac < 0.75 \
        else BINS[4]


# -- what the report holds ------------------------------------------------------------------------
@dataclass
class Graded:
    """One student's grade on one problem, with what the worker found of its proof."""

    student: str
    problem: str
    score: float
    max_score: float
    status: str
    reason: str
    mistake: str
    step_statuses: list = field(default_factory=list)  # the verdict of each step, in order
    content: str = ""  # a digest of the proof's normalised content ('' when there is no proof)
    bad_step: str = ""  # the step that went wrong, as text: "prev ⟶ this  (by rules)"
    step_is_wrong: bool = False  # False: bad_step is the last step of an incomplete proof


@dataclass
class Distribution:
    name: str
    max_score: float
    scores: list

    @property
    def bins(self) -> dict[str, int]:
        out = dict.fromkeys(BINS, 0)
        for s in self.scores:
            out[_bin(s, self.max_score)] += 1
        return out


@dataclass
class Tally:
    """A step or a named mistake, how many students made it, and one example."""

    what: str
    problem: str
    students: list
    example: str = ""


@dataclass
class Refusals:
    problem: str
    students: int
    by_rules: int = 0  # rejected: a rule not allowed, self-made or unknown
    by_key: int = 0  # rejected: the claim or the declarations differ from the assigned ones
    unjustified: int = 0  # students whose first wrong step is true but not by the cited rules
    needs_review: int = 0

    @property
    def total(self) -> int:
        return self.by_rules + self.by_key + self.unjustified + self.needs_review


@dataclass
class ClassReport:
    assignment: str
    students: list  # names
    problems: list  # ids
    claims: dict  # id -> the claim as shown
    distributions: list  # Distribution: the total first, then each problem
    steps: list  # Tally: the steps the class gets wrong most
    mistakes: list  # Tally: the named mistakes, most frequent first
    refusals: list  # Refusals, most first
    groups: list  # (problem or "whole submission", [names]) of identical submissions


# -- the analysis ---------------------------------------------------------------------------------
def _graded(student: str, pg: "ProblemGrade") -> Graded:
    """One problem's grade with what the worker found: its proof's content and example step."""
    facts = pg.facts
    return Graded(student, pg.id, float(pg.score), float(pg.max_score), str(pg.status),
                  pg.reason, mistake_name(pg.status, pg.reason), [s.status for s in pg.steps],
                  facts.content, facts.example, facts.example_wrong)


def _names_in(text: str, names: list[str]) -> list[str]:
    """The names of the class (three characters or more: shorter ones would match variables)
    that `text` contains as words, case aside."""
    low = text.casefold()
    return [n for n in names if len(n) >= 3 and re.search(
        r"(?<!\w)" + re.escape(n.casefold()) + r"(?!\w)", low)]


def _anonymous_example(candidates: list[str], names: list[str]) -> str:
    """The first candidate that holds no name of the class, else the first with names blanked."""
    for c in candidates:
        if c and not _names_in(c, names):
            return c
    for c in candidates:
        if c:
            for n in _names_in(c, names):
                c = re.sub(r"(?<!\w)" + re.escape(n) + r"(?!\w)", "…", c, flags=re.IGNORECASE)
            return c
    return ""


def analyse(report: "Report", top: int = 12) -> ClassReport:
    """The class report from the grader's result (`run.grade`'s `Report`)."""
    students = [s.student for s in report.students]
    problems = [p.id for p in report.assignment.problems]
    claims = {p.id: p.claim_shown for p in report.assignment.problems}
    maxima = {p.id: float(p.points) for p in report.assignment.problems}
    graded = [_graded(s.student, pg) for s in report.students for pg in s.problems]

    total_max = sum(maxima.values())
    dists = [Distribution("total", total_max, [float(s.score) for s in report.students])]
    dists += [Distribution(pid, maxima[pid], [g.score for g in graded if g.problem == pid])
              for pid in problems]

    def tallies(key) -> list[Tally]:
        found: dict[tuple, Tally] = {}
        for g in graded:
            k = key(g)
            if k is None:
                continue
            t = found.setdefault(k, Tally(k[1], k[0], []))
            t.students.append(g)
        out = sorted(found.values(), key=lambda t: (-len(t.students), problems.index(t.problem),
                                                    t.what))
        for t in out:
            t.example = _anonymous_example([g.bad_step for g in t.students], students)
            t.students = [g.student for g in t.students]
        return out[:top]

    steps = tallies(lambda g: (g.problem, g.bad_step) if g.bad_step and g.step_is_wrong else None)
    for t in steps:  # the step itself is the example: show it anonymised
        t.what = t.example
    mistakes = tallies(lambda g: (g.problem, g.mistake) if g.mistake else None)

    refusals = []
    for pid in problems:
        mine = [g for g in graded if g.problem == pid]
        r = Refusals(pid, len(mine))
        for g in mine:
            if g.status == "rejected" and g.mistake in REFUSED_BY_RULES:
                r.by_rules += 1
            elif g.status == "rejected":
                r.by_key += 1
            elif g.status == "needs_review":
                r.needs_review += 1
            first_bad = next((x for x in g.step_statuses if x != "valid"), "")
            if g.status != "rejected" and first_bad == "unjustified":
                r.unjustified += 1
        refusals.append(r)
    refusals.sort(key=lambda r: (-r.total, problems.index(r.problem)))

    groups: list[tuple[str, list[str]]] = []
    for pid in problems:
        same: dict[str, list[str]] = {}
        for g in graded:
            if g.problem == pid and g.content:
                same.setdefault(g.content, []).append(g.student)
        groups += [(pid, names) for names in same.values() if len(names) > 1]
    whole: dict[tuple, list[str]] = {}
    for name in students:
        key = tuple(g.content for g in graded if g.student == name)
        if sum(1 for k in key if k) >= 2:  # at least two proofs, all the same as another's
            whole.setdefault(key, []).append(name)
    groups += [("whole submission", names) for names in whole.values() if len(names) > 1]
    groups.sort(key=lambda x: (x[0] != "whole submission", -len(x[1])))
    return ClassReport(report.assignment.name, students, problems, claims, dists, steps,
                       mistakes, refusals, groups)


# -- the page -------------------------------------------------------------------------------------
def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def render_markdown(cr: ClassReport, plots: Optional[dict[str, str]] = None) -> str:
    """The report as Markdown. `plots` maps a plot's role (scores, mistakes, refusals) to its file
    name beside the page; None means matplotlib is not installed (the page says how to get it)."""
    n = len(cr.students)
    out = [f"# Class report: {md_text(cr.assignment)}", "",
           f"{n} student{'s' * (n != 1)}, {len(cr.problems)} problem"
           f"{'s' * (len(cr.problems) != 1)}, {_num(cr.distributions[0].max_score)} points.", ""]
    if plots is None:
        out += ["> Tables only: matplotlib is not installed. For the plots, install the report "
                "extra (`pip install 'prove-matrix[report]'`, or `pip install matplotlib`) and "
                "run `prove grade … --report DIR` again.", ""]
    plots = plots or {}

    out += ["## Scores", ""]
    if "scores" in plots:
        out += [f"![Score distribution per problem and overall]({plots['scores']})", ""]
    out += ["| | max | mean | median | min | max scored | " + " | ".join(BINS) + " |",
            "|---|---:|---:|---:|---:|---:|" + "---:|" * len(BINS)]
    for d in cr.distributions:
        sc = d.scores or [0.0]
        label = "**total**" if d.name == "total" else md_text(
            d.name + (f": {cr.claims[d.name]}" if cr.claims.get(d.name) else ""))
        out.append(f"| {label} | {_num(d.max_score)} | {statistics.mean(sc):.2f} | "
                   f"{_num(statistics.median(sc))} | {_num(min(sc))} | {_num(max(sc))} | "
                   + " | ".join(str(v) for v in d.bins.values()) + " |")
    out += ["", "Columns after *max scored*: how many students scored in each band of the "
            "problem's points.", ""]

    out += ["## Named mistakes", ""]
    if "mistakes" in plots:
        out += [f"![The named mistakes the class makes most]({plots['mistakes']})", ""]
    if cr.mistakes:
        out += ["| problem | mistake | students | example step |", "|---|---|---:|---|"]
        out += [f"| {md_text(t.problem)} | {md_text(t.what)} | {len(t.students)} | "
                f"{md_code(t.example) if t.example else '—'} |" for t in cr.mistakes]
    else:
        out.append("Nobody made a mistake.")
    out += ["", "A problem's mistake is named from its reason (the first one that went wrong). "
            "Examples are steps of a submission, anonymised: never a name or a file name.", ""]

    out += ["## Steps the class gets wrong most", ""]
    if cr.steps:
        out += ["| problem | step (the line before ⟶ the line) | students |", "|---|---|---:|"]
        out += [f"| {md_text(t.problem)} | {md_code(t.what)} | {len(t.students)} |"
                for t in cr.steps]
    else:
        out.append("No wrong step was found.")
    out += ["", "Steps are compared as the grader compares them: parsed and printed back, so "
            "spacing and redundant parentheses do not matter.", ""]

    out += ["## Refusals by the key or the rules", ""]
    if "refusals" in plots:
        out += [f"![Refusals per problem]({plots['refusals']})", ""]
    out += ["| problem | students | rejected: rules | rejected: claim or declarations | "
            "unjustified | needs review | total |", "|---|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {md_text(r.problem)} | {r.students} | {r.by_rules} | {r.by_key} | "
            f"{r.unjustified} | {r.needs_review} | {r.total} |" for r in cr.refusals]
    out += ["", "*rejected: rules* — a rule the problem does not allow, a self-made or unknown "
            "rule; *rejected: claim or declarations* — the proof does not prove the assigned "
            "claim as declared; *unjustified* — students whose first wrong step is true but "
            "not given by the rules they cite (often a rule missing from `allowed_rules`, or a step too big for "
            "the rules); *needs review* — a line that could not be read. Problems with many "
            "refusals are where the key or the allowed rules deserve a second look.", ""]

    out += ["## Identical submissions", ""]
    if cr.groups:
        out += ["| problem | students |", "|---|---|"]
        out += [f"| {md_text(pid)} | {', '.join(md_text(x) for x in names)} |"
                for pid, names in cr.groups]
    else:
        out.append("No two submissions are identical.")
    out += ["", "Identical means the same normalised content (expressions parsed and printed "
            "back, citations resolved to rule ids; comments, spacing and the theorem name left "
            "out). It is not proof of copying: a short proof can be written in few ways. This "
            "section names students: it is for the instructor only.", ""]
    return "\n".join(out)


# -- the plots ------------------------------------------------------------------------------------
def _matplotlib():
    """matplotlib's Figure class, or None when the report extra is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def _plots(cr: ClassReport, folder: Path, Figure) -> dict[str, str]:
    """The PNG plots (object-oriented matplotlib: no global state, no display)."""
    written: dict[str, str] = {}
    meta = {"Software": None}  # the same bytes for the same class

    dists = cr.distributions
    cols = min(3, len(dists))
    rows = -(-len(dists) // cols)
    fig = Figure(figsize=(4 * cols, 2.8 * rows), layout="constrained")
    for i, d in enumerate(dists):
        ax = fig.add_subplot(rows, cols, i + 1)
        edges = [d.max_score * k / 10 for k in range(11)]
        ax.hist(d.scores, bins=edges, color="#4C72B0" if d.name != "total" else "#55A868",
                edgecolor="white")
        ax.set_title(("total" if d.name == "total" else visible(d.name))
                     + f" (of {_num(d.max_score)})", fontsize=10)
        ax.set_xlim(0, d.max_score)
        ax.set_xlabel("score", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"{visible(cr.assignment)}: score distribution ({len(cr.students)} students)")
    fig.savefig(folder / "scores.png", dpi=100, metadata=meta)
    written["scores"] = "scores.png"

    if cr.mistakes:
        items = list(reversed(cr.mistakes))
        fig = Figure(figsize=(8, 0.45 * len(items) + 1.2), layout="constrained")
        ax = fig.add_subplot()
        ax.barh([f"{visible(t.problem)}: {t.what}" for t in items],
                [len(t.students) for t in items], color="#C44E52")
        ax.set_xlabel("students")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title("Named mistakes, most frequent first")
        fig.savefig(folder / "mistakes.png", dpi=100, metadata=meta)
        written["mistakes"] = "mistakes.png"

    fig = Figure(figsize=(max(6, 1.2 * len(cr.refusals) + 3.5), 3.2), layout="constrained")
    ax = fig.add_subplot()
    labels = [visible(r.problem) for r in cr.refusals]
    bottom = [0] * len(labels)
    for name, attr, color in (("rejected: rules", "by_rules", "#8172B2"),
                              ("rejected: claim or declarations", "by_key", "#CCB974"),
                              ("unjustified", "unjustified", "#64B5CD"),
                              ("needs review", "needs_review", "#DD8452")):
        values = [getattr(r, attr) for r in cr.refusals]
        ax.bar(labels, values, bottom=bottom, label=name, color=color)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Refusals per problem (the key or the rules)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.savefig(folder / "refusals.png", dpi=100, metadata=meta)
    written["refusals"] = "refusals.png"
    return written


def write_report(report: "Report", folder: Path | str) -> list[Path]:
    """Write FOLDER/report.md (and the PNG plots when matplotlib is installed) for the grader's
    result `report`; returns the files written. Reads no submitted file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cr = analyse(report)
    Figure = _matplotlib()
    plots = _plots(cr, folder, Figure) if Figure is not None else None
    (folder / "report.md").write_text(render_markdown(cr, plots), encoding="utf-8")
    return [folder / "report.md"] + [folder / f for f in (plots or {}).values()]
