"""The class report of `prove grade --report DIR` (issue 12): built from the grader's result alone
(what the workers found while grading), never by reading a submission again; its counts, groups
of identical submissions and anonymised examples on the sample class; tables only without
matplotlib; student text escaped."""
import ast
import builtins
import io
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from grading_fixtures import VALID_Q1, proof
from helpers import run_cli

from prover import grade as G
from prover.grade import report as report_module
from prover.grade.report import analyse, mistake_name, write_report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HW = EXAMPLES / "hw.yaml"
CLASS_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "kim"]


def run(*args):
    r = run_cli(["grade", *map(str, args)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The sample class (a copy of it) graded by the CLI, which wrote the report folder, and by
    `grade()`, whose result (a `Report`) the report is built from. Only the grading reads the
    copy: `test_the_report_is_the_same_with_every_submission_gone` removes it."""
    out = tmp_path_factory.mktemp("report")
    cls = shutil.copytree(EXAMPLES / "class", out / "class")
    code, _ = run(cls, "--assignment", HW, "--format", "json", "-o", out / "grades.json",
                  "--report", out / "report", "--jobs", "2")
    assert code == 0
    return G.grade(cls, G.load_assignment(HW), jobs=2), out / "report", cls


def rows(page: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under `heading`, as lists of cells."""
    part = page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    table = [ln for ln in part.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in table[2:]]


def test_the_cli_writes_the_report_with_its_numbers(graded):
    _, folder, _ = graded
    page = (folder / "report.md").read_text()
    assert page.startswith("# Class report: hw3\n")
    assert "10 students, 3 problems, 25 points." in page
    scores = {r[0]: r[1:] for r in rows(page, "Scores")}
    # total: max, mean, median, min, max scored, then 0 / <25% / 25–49% / 50–74% / 75–99% / full
    # (alice 25; bob 12.5; carol 15; grace 10; kim 5; five students 0)
    assert scores["**total**"] == ["25", "6.75", "2.5", "0", "25", "5", "1", "1", "2", "0", "1"]
    q1 = next(v for k, v in scores.items() if k.startswith("q1"))
    assert q1[0] == "10" and q1[-6:] == ["5", "0", "0", "2", "0", "3"]  # carol and kim 5/10


def test_identical_submissions_are_grouped_by_normalised_content(graded):
    report, folder, _ = graded
    page = (folder / "report.md").read_text()
    # grace's q1 differs from alice's in its comment only; carol's q3 is alice's
    assert rows(page, "Identical submissions") == [["q1", "alice, grace"], ["q3", "alice, carol"]]
    cr = analyse(report)
    assert sorted((p, tuple(n)) for p, n in cr.groups) == [("q1", ("alice", "grace")),
                                                          ("q3", ("alice", "carol"))]


def test_mistakes_and_steps_are_counted_with_anonymised_examples(graded):
    report, folder, _ = graded
    cr = analyse(report)
    by_name = {(t.problem, t.what): t for t in cr.mistakes}
    slip = by_name[("q1", "the wrong derivative read off tr(G dX)")]
    assert sorted(slip.students) == ["carol", "kim"]  # kim pads carol's proof: the same step
    assert slip.example == "tr(a a^T dX) ⟶ ∂f/∂X = a^T a I  (by theorem-4)"
    assert sorted(by_name[("q3", "no proof submitted")].students) == [
        "bob", "erin", "frank", "grace", "kim"]
    assert by_name[("q1", "a rule the problem does not allow")].students == ["erin"]
    top = cr.steps[0]
    assert (top.problem, top.what, sorted(top.students)) == (
        "q1", "tr(a a^T dX) ⟶ ∂f/∂X = a^T a I  (by theorem-4)", ["carol", "kim"])
    page = (folder / "report.md").read_text()
    for section in ("Named mistakes", "Steps the class gets wrong most"):
        for row in rows(page, section):
            for cell in row:
                for name in CLASS_NAMES:  # examples never name a student, nor their files
                    assert not re.search(rf"\b{name}\b", cell, re.IGNORECASE), (section, row)
    # frank's own rule lives in frank/rules.yaml: the example is the step, without the path
    own = by_name[("q1", "a rule of the student's own")]
    assert own.example == "d(a^T X a) ⟶ tr(a a^T dX)  (by quadratic-shortcut)"


def test_refusals_per_problem(graded):
    _, folder, _ = graded
    page = (folder / "report.md").read_text()
    table = {r[0]: r[1:] for r in rows(page, "Refusals by the key or the rules")}
    # students, rejected by the rules, rejected claim/declarations, unjustified, needs review, total
    assert table["q1"] == ["10", "2", "1", "0", "0", "3"]  # erin (index), frank (own); dave
    assert table["q2"] == ["10", "2", "1", "0", "0", "3"]  # erin, frank; dave renames X
    assert table["q3"] == ["10", "0", "1", "0", "0", "1"]  # dave marks A constant


def test_plots_are_written_when_matplotlib_is_installed(graded):
    pytest.importorskip("matplotlib")
    _, folder, _ = graded
    page = (folder / "report.md").read_text()
    for png in ("scores.png", "mistakes.png", "refusals.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in page
    assert "matplotlib is not installed" not in page


def test_without_matplotlib_the_report_is_tables_only(graded, tmp_path, monkeypatch):
    report, _, _ = graded
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    written = write_report(report, tmp_path / "r")
    assert written == [tmp_path / "r" / "report.md"]
    assert not list((tmp_path / "r").glob("*.png"))
    page = written[0].read_text()
    assert "matplotlib is not installed" in page and "prove-matrix[report]" in page
    assert "![" not in page
    assert rows(page, "Identical submissions") == [["q1", "alice, grace"], ["q3", "alice, carol"]]


def test_mistake_names():
    assert mistake_name("valid", "") == ""
    assert mistake_name("invalid", "step 5 (line 9): layout slip: a b^T is the transpose") \
        == "layout slip (the answer transposed)"
    assert mistake_name("incomplete", "incomplete: the proof does not end with a derivative: "
                        "step (Theorem 4)") == "does not reach the claim"
    assert mistake_name("needs_review", "step 0 (line 5) could not be read") \
        == "a line that cannot be read"


Q1 = proof([VALID_Q1[0], (VALID_Q1[1][0], "%s")] + VALID_Q1[2:])  # the first citation: %


def test_student_text_is_escaped_and_names_kept_out_of_examples(tmp_path):
    """Hostile folder names reach the groups table escaped; a citation that holds a student's
    name is shown with the name blanked."""
    cls = tmp_path / "class"
    hostile = ["<img src=x onerror=alert(1)>", "**bold** | [link](x.html)"]
    for name in hostile:
        (cls / name).mkdir(parents=True)
        (cls / name / "q1.yaml").write_text(Q1 % "theorem-1")
    (cls / "mallory").mkdir()
    (cls / "mallory" / "q1.yaml").write_text(Q1 % "mallory-trick")
    hw = tmp_path / "hw.yaml"
    hw.write_text("assignment: t\nproblems:\n  - id: q1\n    points: 10\n"
                  "    claim: {derivative: a^T X a, wrt: X, equals: a a^T}\n"
                  "    variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}}\n")
    code, _ = run(cls, "--assignment", hw, "--report", tmp_path / "r", "--format", "json", "-o",
                  tmp_path / "g.json")
    assert code == 0
    page = (tmp_path / "r" / "report.md").read_text()
    assert "<img" not in page and "**bold**" not in page
    text = "\n".join(ln for ln in page.splitlines() if not ln.startswith("!["))  # not the plots
    assert not re.search(r"(?<!\\)\]\(", text)  # no link: every ] of student text is escaped
    group = rows(page, "Identical submissions")
    assert group == [["q1", r"\*\*bold\*\* \| \[link\](x.html), &lt;img src=x "
                      r"onerror=alert(1)&gt;"]]
    cr = analyse(G.grade(cls, G.load_assignment(hw)))
    unknown = next(t for t in cr.mistakes if t.what == "a rule that does not exist")
    assert unknown.students == ["mallory"]
    assert unknown.example == "d(a^T X a) ⟶ d(tr(a^T X a))  (by …-trick)"
    assert "mallory" not in page


# -- the parent never reads a submission for the report (docs/grading.md §7) ---------------------
def test_the_report_is_the_same_with_every_submission_gone(graded, tmp_path):
    """All the report needs came back from the workers: with the class folder removed after
    grading, `write_report` writes the same files as the CLI wrote with it in place."""
    report, folder, cls = graded
    before = write_report(report, tmp_path / "before")
    shutil.rmtree(cls)
    after = write_report(report, tmp_path / "after")
    assert [p.name for p in after] == [p.name for p in before]
    for a, b in zip(before, after):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert (tmp_path / "after" / "report.md").read_text() == (folder / "report.md").read_text()


def test_write_report_opens_no_submitted_file(tmp_path, monkeypatch):
    """While the report is written, opening, reading or even looking at a file under the
    submissions folder fails, and so does the grader's reader: the report is written all the
    same. report.py does not import the reader, nor anything that reads submissions."""
    cls = shutil.copytree(EXAMPLES / "class", tmp_path / "class")
    report = G.grade(cls, G.load_assignment(HW))
    roots = {os.path.abspath(cls), os.path.realpath(cls)}
    touched: list[str] = []

    def guard(fn):
        def wrapped(path, *args, **kwargs):
            if isinstance(path, (str, bytes, os.PathLike)):
                where = os.path.abspath(os.fsdecode(path))  # (realpath would call lstat)
                if any(where == r or where.startswith(r + os.sep) for r in roots):
                    touched.append(where)
                    raise PermissionError(f"the report touched a submission: {where}")
            return fn(path, *args, **kwargs)
        return wrapped

    for mod, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "stat"),
                      (os, "lstat"), (os, "listdir"), (os, "scandir")):
        monkeypatch.setattr(mod, name, guard(getattr(mod, name)))
    for name in ("read_bytes", "read_text", "open", "stat", "lstat"):
        monkeypatch.setattr(Path, name, guard(getattr(Path, name)))

    def refuse(*_a, **_k):
        raise AssertionError("the report parsed a submission")

    import prover.grade.read as read_module
    monkeypatch.setattr(read_module, "read_submission", refuse)
    monkeypatch.setattr(G, "read_submission", refuse)
    written = write_report(report, tmp_path / "r")
    assert touched == []
    page = written[0].read_text()
    assert rows(page, "Identical submissions") == [["q1", "alice, grace"], ["q3", "alice, carol"]]
    assert "tr(a a^T dX) ⟶ ∂f/∂X = a^T a I  (by theorem-4)" in page

    source = Path(report_module.__file__).read_text(encoding="utf-8")
    assert "read_submission" not in source and not hasattr(report_module, "read_submission")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not imported & {".read", ".submissions", ".check", ".gate", "..proofs", "..rulebase",
                           "..citations", "json", "hashlib", "stat"}, imported
