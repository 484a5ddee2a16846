"""The class report of `prove grade … --report DIR` (docs/grading.md §4.1): what the class as a
whole got right and wrong, for the instructor.

It is built from two things only: the grader's JSON result data (`json_data`, SPEC §7: each
student's score, status, reason and plain-text feedback per problem) and the submissions folder,
which is read again (within the grader's file limits, with its reader) for what the JSON does not
hold: each proof's normalised content (to find identical submissions) and the full text of the
step a student got wrong. `analyse` turns these into a `ClassReport`; `render_markdown` writes it
as a page; `write_report` writes the page and, when matplotlib is installed, its PNG plots.

Every piece of student text on the page goes through `safe.md_text` / `md_code` (no raw
HTML, no Markdown from names or steps). Examples of mistakes are steps, never names or file
names, and an example that contains a name of the class is passed over for another one (or has
the name blanked). Read next: `cli_grade.py` (the `--report` option).
"""
from __future__ import annotations

import hashlib
import json
import re
import stat
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .safe import md_code, md_text, visible

MAX_FILE_BYTES = 256 * 1024  # the grader's limit for a submitted file (files over it were not read)

# Step rows of the plain-text feedback: "    4  line 33   tr(X^T dX)   trace-transpose   ✗ invalid"
_ROW = re.compile(r"^\s+(\d+)\s+(?:line (\d+))?\s.*\s[✓✗?!] (valid|invalid|unjustified|error)$")
_FILE = re.compile(r"^file: (.*?)(?: \(proof (\d+)\))?$")
_STEP = re.compile(r"\bstep (\d+)(?! of lemma)\b")

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
    """One student's grade on one problem, with what the submissions folder adds."""

    student: str
    problem: str
    score: float
    max_score: float
    status: str
    reason: str
    mistake: str
    step_statuses: list = field(default_factory=list)  # the verdict of each step, in order
    content: str = ""  # a hash of the proof's normalised content ('' when there is no proof)
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
    unread: int = 0  # proofs whose file could not be read again for the report


# -- reading the submissions again ----------------------------------------------------------------
def _read_bytes(path: Path) -> Optional[bytes]:
    """The file's bytes if it is a regular file (no symbolic link) within the grader's limit."""
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return raw if len(raw) <= MAX_FILE_BYTES else None


class _Submissions:
    """The proofs of the submissions folder, read with the grader's own reader (each file once)."""

    def __init__(self, root: Path, single: bool):
        # the feedback names a file as student/q1.yaml (a folder) or bob.yaml (one file); with
        # --single the student is the folder itself
        self.base = (root.parent if root.is_file() or single else root).resolve()
        self.files: dict[str, Any] = {}
        self.book = None

    def proof(self, rel: str, index: Optional[int], problem: str):
        """The proof (the grader's LoadedProof) a problem was graded from, or None."""
        from ..citations import normalize

        if rel not in self.files:
            self.files[rel] = self._load(rel)
        lf = self.files[rel]
        if lf is None or lf.error or not lf.proofs:
            return None
        if index is not None:
            return lf.proofs[index - 1] if 0 < index <= len(lf.proofs) else None
        if len(lf.proofs) == 1:
            return lf.proofs[0]
        named = [p for p in lf.proofs if p.theorem and normalize(p.theorem) == normalize(problem)]
        return named[0] if len(named) == 1 else None

    def _load(self, rel: str):
        from . import read_submission

        path = (self.base / rel)
        try:
            if self.base not in path.resolve().parents:
                return None
        except (OSError, RuntimeError):
            return None
        raw = _read_bytes(path)
        if raw is None:
            return None
        try:
            return read_submission(raw)
        except Exception:  # noqa: BLE001 - the report goes on without this file
            return None

    def resolve(self, name: str) -> str:
        from ..citations import normalize
        from ..rulebase import load_rulebook

        if self.book is None:
            self.book = load_rulebook()[1]
        return self.book.resolve(name) or normalize(name)


def _content(lp, subs: _Submissions) -> str:
    """A hash of a proof's normalised content, as the grader compares proofs: expressions parsed
    and printed back, citations resolved to rule ids; comments and the theorem name left out."""
    dump = lp.dump
    steps = [{**s, "by": sorted(subs.resolve(b) for b in s.get("by") or [])}
             for s in dump.get("proof") or []]
    key = {"claim": lp.canonical, "variables": {k: list(v) if isinstance(v, tuple) else v
                                                for k, v in lp.variables.items()},
           "layout": lp.layout, "assume": [list(x) for x in lp.assume_key], "proof": steps}
    return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False, default=str)
                          .encode()).hexdigest()


def _step_text(lp, index: int) -> str:
    steps = (lp.dump.get("proof") or []) if lp is not None else []
    if not 0 <= index < len(steps):
        return ""

    wrt = (lp.dump.get("claim") or {}).get("wrt") or "X"

    def expr(s: dict) -> str:
        return s.get("expr") or (f"∂f/∂{wrt} = {s['derivative']}" if s.get("derivative") else "")

    this = expr(steps[index])
    by = ", ".join(steps[index].get("by") or [])
    if index == 0:
        return f"{this}  (the start)"
    return f"{expr(steps[index - 1])} ⟶ {this}" + (f"  (by {by})" if by else "")


# -- the analysis ---------------------------------------------------------------------------------
def _graded(student: str, p: dict, subs: _Submissions) -> tuple[Graded, bool]:
    """One problem's grade with its proof's content and failing step; the flag says the proof's
    file could not be read again."""
    feedback = p.get("feedback") or ""
    lines = feedback.split("\n")
    rows = [m for m in (_ROW.match(x) for x in lines) if m]
    g = Graded(student, p["id"], float(p["score"]), float(p["max_score"]), p["status"],
               p.get("reason") or "", mistake_name(p["status"], p.get("reason") or ""),
               [m.group(3) for m in rows])
    where = next((m for m in (_FILE.match(x) for x in lines[1:3]) if m), None)
    if where is None or g.status in ("missing", "error"):
        return g, False
    lp = subs.proof(where.group(1), int(where.group(2)) if where.group(2) else None, g.problem)
    if lp is None or lp.error:
        return g, True
    g.content = _content(lp, subs)
    if g.status != "valid":
        m = _STEP.search(g.reason)
        first_bad = next((int(r.group(1)) for r in rows if r.group(3) != "valid"), None)
        if m:
            index = int(m.group(1))
        elif first_bad is not None:
            index = first_bad
        else:  # an incomplete proof: its last step is the example
            index = int(rows[-1].group(1)) if rows else -1
        g.step_is_wrong = bool(m) or first_bad is not None
        g.bad_step = _step_text(lp, index)
    return g, False


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


def analyse(data: dict, submissions: Path | str, single: bool = False, top: int = 12
            ) -> ClassReport:
    """The class report from the grader's JSON data and the submissions folder it graded."""
    subs = _Submissions(Path(submissions), single)
    students = [s["student"] for s in data.get("students", [])]
    problems: list[str] = []
    claims: dict[str, str] = {}
    maxima: dict[str, float] = {}
    graded: list[Graded] = []
    unread = 0
    for s in data.get("students", []):
        for p in s["problems"]:
            if p["id"] not in maxima:
                problems.append(p["id"])
                maxima[p["id"]] = float(p["max_score"])
                head = (p.get("feedback") or "").split("\n", 1)[0]
                claims[p["id"]] = head[len(p["id"]) + 2:].rsplit(" — ", 1)[0] \
                    if head.startswith(p["id"] + ": ") else ""
            g, lost = _graded(s["student"], p, subs)
            unread += lost
            graded.append(g)

    total_max = sum(maxima.values())
    dists = [Distribution("total", total_max,
                          [float(s["score"]) for s in data.get("students", [])])]
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
    return ClassReport(data.get("assignment", ""), students, problems, claims, dists, steps,
                       mistakes, refusals, groups, unread)


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
    if cr.unread:
        out += [f"{cr.unread} graded proof{'s' * (cr.unread != 1)} could not be read again for "
                "this report (changed or removed since grading) and count in the scores only.",
                ""]
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


def write_report(data: dict, submissions: Path | str, folder: Path | str,
                 single: bool = False) -> list[Path]:
    """Write FOLDER/report.md (and the PNG plots when matplotlib is installed); returns the
    files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cr = analyse(data, submissions, single)
    Figure = _matplotlib()
    plots = _plots(cr, folder, Figure) if Figure is not None else None
    (folder / "report.md").write_text(render_markdown(cr, plots), encoding="utf-8")
    return [folder / "report.md"] + [folder / f for f in (plots or {}).values()]
