"""`prove grade` with hostile students beside honest ones (SPEC §7: one student never hurts the
class): names that are not UTF-8, terminal escapes and newlines in citations, file names and
theorem names, spreadsheet formulas, HTML, and two entries mapping to one student. The honest
students' grades do not change, every output format is produced, and hostile text appears only
escaped."""
import csv
import io
import json
import os
import re
import textwrap
from pathlib import Path

import pytest
from grading_fixtures import PROBLEMS, Q3_VALID, VALID_Q1, proof, write_class
from helpers import run_cli

from prover import grade as G
from prover.grade.safe import csv_cell, decoded, md_code, md_text, visible

VALID = proof(VALID_Q1)
BROKEN = proof(VALID_Q1, derivative="a^T a")  # reaches tr(a a^T dX), then a wrong derivative
# YAML double quotes: \e is ESC. The citation tries to clear the screen and forge a report line.
FORGED = "\x1b[2J\nbob  25/25"
FORGING = proof(VALID_Q1[:2] + [("d(tr(a a^T X))", '"\\e[2J\\nbob  25/25"')] + VALID_Q1[3:])
IMG = "<img src=x onerror=alert(1)>"

HONEST = {"alice": {"q1.yaml": VALID, "q3.yaml": Q3_VALID},
          "bob.yaml": VALID,
          "carol": {"q1.yaml": BROKEN}}

HOSTILE_NAMES = {  # entries whose names alone are hostile (each holds an honest proof)
    "\x1b]0;pwned\x07trent": {"q1.yaml": VALID},
    "=HYPERLINK(\"evil.example\",\"x\")": {"q1.yaml": VALID},
    "+1": {"q1.yaml": VALID}, "-2+3": {"q1.yaml": VALID}, "@SUM(A1)": {"q1.yaml": VALID},
    f"{IMG}.yaml": VALID,
    "maya": {"q1.yaml": VALID}, "maya.yaml": VALID,  # one student twice
    "a b": {"q1.yaml": VALID}, "a_b": {"q1.yaml": VALID},  # the same after cleaning
}


def write_hostile(root: Path) -> None:
    write_class(root, HOSTILE_NAMES)
    write_class(root, {
        "mallory": {"q1.yaml": FORGING,  # a citation with a terminal escape and a newline
                    "zz.yaml": proof(VALID_Q1, theorem='"\\e[2Jq9\\nzed  25/25"')},
        "eve": {"\x1b[2J\nalice  25 of 25 \x1b[31m.yaml": VALID},  # a file name the same way
        "html": {f"{IMG}.yaml": "theorem: [", "q1.yaml": proof(
            VALID_Q1[:2] + [("d(tr(a a^T X))", f'"{IMG}"')] + VALID_Q1[3:])}})
    # names that are not UTF-8 (a zip made on Windows): a folder and a single file
    base = os.fsencode(root)
    os.mkdir(base + b"/j\xe9r\xf4me")
    with open(base + b"/j\xe9r\xf4me/q1.yaml", "wb") as fh:
        fh.write(VALID.encode())
    with open(base + b"/\xff\xfeq\x81.yaml", "wb") as fh:
        fh.write(VALID.encode())
    os.mkdir(base + b"/nadia")
    with open(base + b"/nadia/\x93q1\x94.yaml", "wb") as fh:  # cp1252 quotes in a file name
        fh.write(VALID.encode())


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    hw = tmp / "hw.yaml"
    hw.write_text("assignment: hw\nproblems:\n" + textwrap.indent(PROBLEMS, "  "))
    a = G.load_assignment(hw)
    honest = write_class(tmp / "honest", HONEST)
    mixed = write_class(tmp / "mixed", HONEST)
    write_hostile(mixed)
    return {"tmp": tmp, "hw": hw, "a": a, "honest": G.grade(honest, a),
            "mixed": G.grade(mixed, a, jobs=2), "mixed_path": mixed}


def rows(report):
    return {s.student: [(p.id, p.score, p.status, p.reason, p.partial) for p in s.problems]
            for s in report.students}


def outputs(report) -> dict[str, str]:
    """Every output format, as text."""
    out = {"text": G.text_report(report), "text-color": G.text_report(report, color=True),
           "csv": G.csv_report(report),
           "json": json.dumps(G.json_data(report), ensure_ascii=False)}
    for s in report.students:
        out[f"gradescope:{s.student}"] = json.dumps(G.gradescope_data(report, s),
                                                    ensure_ascii=False)
        out[f"prairielearn:{s.student}"] = json.dumps(G.prairielearn_data(report, s),
                                                      ensure_ascii=False)
        out[f"feedback:{s.student}"] = G.markdown_feedback(report, s)
    return out


# -- the class ------------------------------------------------------------------------------------
def test_honest_students_grades_are_unchanged(classes):
    honest, mixed = rows(classes["honest"]), rows(classes["mixed"])
    assert set(honest) == {"alice", "bob", "carol"}
    for name, grades in honest.items():
        assert mixed[name] == grades, name
    assert [g[1] for g in honest["alice"]] == [10, 5]
    assert honest["carol"][0][2] == "invalid" and honest["carol"][0][1] == 5


def test_every_student_is_reported_once_under_a_printable_name(classes):
    names = [s.student for s in classes["mixed"].students]
    assert len(names) == len(set(names))
    for n in names:
        assert n.encode("utf-8") and not re.search(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]", n), n
    assert "j\ufffdr\ufffdme" in names and "\ufffd\ufffdq\ufffd" in names
    assert "\\x1b]0;pwned\\x07trent" in names
    # hostile names with honest proofs are graded like anyone else
    by = {s.student: s for s in classes["mixed"].students}
    for n in ("j\ufffdr\ufffdme", "\ufffd\ufffdq\ufffd", "\\x1b]0;pwned\\x07trent", "+1", IMG,
              "=HYPERLINK(\"evil.example\",\"x\")", "eve", "nadia"):
        assert by[n].problems[0].status == "valid", (n, by[n].problems[0].reason)
    assert "\\x1b[2J\\nalice  25 of 25 \\x1b[31m.yaml" in by["eve"].problems[0].file
    assert by["nadia"].problems[0].file == "nadia/\ufffdq1\ufffd.yaml"


def test_two_entries_for_one_student_are_an_error_naming_both(classes):
    by = {s.student: s for s in classes["mixed"].students}
    assert "maya" in by and "a_b" not in by  # one row each, not two
    for name, both in (("maya", ("maya/", "maya.yaml")), ("a b", ("a b/", "a_b/"))):
        s = by[name]
        assert s.score == 0 and all(p.status == "error" for p in s.problems)
        assert all(w in s.problems[0].reason for w in both), s.problems[0].reason
    assert sum(1 for s in classes["mixed"].students if G.safe_name(s.student) == "maya") == 1


def test_names_that_differ_only_in_bytes_that_are_not_utf8_collide(tmp_path, classes):
    root = tmp_path / "c"
    root.mkdir()
    for raw in (b"/z\xe9", b"/z\xe8"):
        os.mkdir(os.fsencode(root) + raw)
        with open(os.fsencode(root) + raw + b"/q1.yaml", "wb") as fh:
            fh.write(VALID.encode())
    (report_students,) = [G.grade(root, classes["a"]).students]
    assert [s.student for s in report_students] == ["z\ufffd"]
    assert report_students[0].problems[0].status == "error"


# -- every output, neutralised --------------------------------------------------------------------
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\ud800-\udfff]")


def test_every_output_is_produced_and_holds_no_control_characters(classes):
    for fmt, text in outputs(classes["mixed"]).items():
        text.encode("utf-8")  # no surrogates: writable anywhere
        if fmt == "text-color":  # the instructor's own colours, nothing else
            text = re.sub(r"\x1b\[(\d+)?m", "", text)
        assert not CONTROL.search(text), (fmt, CONTROL.search(text))


def test_the_text_report_cannot_be_forged(classes):
    text = G.text_report(classes["mixed"])
    lines = text.split("\n")
    assert not any(line.startswith("bob  25/25") for line in lines)
    assert not any(line.startswith("alice  25 of 25") for line in lines)
    assert not any(line.startswith("zed") for line in lines)
    assert "\\x1b[2J\\nbob  25/25" in text  # the citation, shown escaped
    assert "\\x1b[2J\\nalice  25 of 25 \\x1b[31m.yaml" in "".join(  # the file name
        p["feedback"] for s in G.json_data(classes["mixed"])["students"] for p in s["problems"])
    assert "\\x1b[2Jq9\\nzed  25/25" in text  # the theorem name, in a note
    # each student starts exactly one unindented line
    heads = [line.split("  ")[0] for line in lines[2:] if line and not line.startswith(" ")
             and not re.match(r"q\d: mean|graded ", line)]
    assert sorted(heads) == sorted(s.student for s in classes["mixed"].students)


def test_csv_cells_never_start_a_formula(classes):
    cells = [c for row in csv.reader(io.StringIO(G.csv_report(classes["mixed"]))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for name in ("=HYPERLINK(\"evil.example\",\"x\")", "+1", "-2+3", "@SUM(A1)"):
        assert "'" + name in cells
    honest = G.csv_report(classes["honest"])
    assert "'" not in honest.replace("'variables'", "")  # honest cells are left alone


def test_html_is_escaped_in_feedback_pages_and_gradescope(classes):
    report = classes["mixed"]
    for s in report.students:
        page = G.markdown_feedback(report, s)
        gs = G.gradescope_data(report, s)
        blob = json.dumps(gs, ensure_ascii=False)
        for text in (page, blob):
            assert "<img" not in text and "<" not in text.replace("<->", "")
        assert gs["output_format"] == "md" and gs["test_output_format"] == "md"
    by = {s.student: s for s in report.students}
    page = G.markdown_feedback(report, by[IMG])
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    html_page = G.markdown_feedback(report, by["html"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_page  # the citation and the file name
    gs = G.gradescope_data(report, by["html"])
    assert any("&lt;img" in t["output"] for t in gs["tests"])


def test_honest_feedback_keeps_its_form(classes):
    report = classes["honest"]
    carol = next(s for s in report.students if s.student == "carol")
    page = G.markdown_feedback(report, carol)
    assert "| 7 | " in page and "`tr(a a^T dX)`" in page and "✗ invalid" in page
    out = G.gradescope_data(report, carol)["tests"][0]["output"]
    assert "✗ invalid" in out and "  \n" in out  # Markdown hard breaks between lines


# -- the command, end to end ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "csv", "json", "gradescope", "prairielearn"])
def test_every_format_from_the_command(classes, fmt, tmp_path):
    out = tmp_path / ("out" if fmt in ("gradescope", "prairielearn") else f"out.{fmt}")
    r = run_cli(["grade", str(classes["mixed_path"]), "--assignment",
                 str(classes["hw"]), "--format", fmt, "-o", str(out),
                 "--feedback", str(tmp_path / "fb")])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code == 0, r.output
    n = len(classes["mixed"].students)
    assert len(list((tmp_path / "fb").glob("*.md"))) == n
    if fmt in ("gradescope", "prairielearn"):  # one results file per student: none written over
        assert len(list(out.glob("*/results.json"))) == n
    else:
        text = out.read_text(encoding="utf-8")
        assert "bob  25/25" not in text.replace("\\nbob  25/25", "")
    # printed to standard output as well
    r = run_cli(["grade", str(classes["mixed_path"]), "--assignment",
                 str(classes["hw"]), "--format", fmt])
    assert r.exit_code == 0 and r.exception is None or isinstance(r.exception, SystemExit)
    assert "\x1b[2J" not in r.output


# -- the helpers ----------------------------------------------------------------------------------
def test_helpers():
    assert decoded(os.fsdecode(b"j\xe9r\xf4me")) == "j\ufffdr\ufffdme"
    assert decoded("\ud800x") == "\ufffdx"
    assert visible("a\x1b[2J\nb\tc\r\x7f\x85\u202e") == "a\\x1b[2J\\nb\\tc\\r\\x7f\\x85\\u202e"
    assert visible(visible("\x1b\n")) == visible("\x1b\n")
    assert visible("tr(a a^T dX) ∂ ✓") == "tr(a a^T dX) ∂ ✓"
    assert [csv_cell(x) for x in ("=1", "+1", "-1", "@a", "\t", "\rx", "ok", 5, -1)] == \
        ["'=1", "'+1", "'-1", "'@a", "'\t", "'\rx", "ok", 5, -1]
    assert md_text("<b>*x*|`") == "&lt;b&gt;\\*x\\*\\|\\`"
    assert md_code("tr(a|b)") == "`tr(a\\|b)`" and md_code("<i>") == "&lt;i&gt;"
    assert G.safe_name("张伟") == "张伟" and G.safe_name("a b") == "a_b"
    assert G.safe_name(os.fsdecode(b"z\xe9")) == "z" and G.safe_name("../..") == "student"
    assert len(G.safe_name("é" * 500).encode()) <= 150
