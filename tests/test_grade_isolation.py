"""Isolation by design (SPEC §7: one broken or hostile submission never affects another
student's grade; SPEC §8: every bound a clear error). A class of hostile students — a step citing
tens of thousands of rules, a 10 MB file (written here, never committed), names that are not
UTF-8, a citation forging a report line, a spreadsheet formula for a name, `<script>`, two
folders that clean to one name — sits beside honest students, whose grades must be exactly what
they are when the honest students are graded alone. Also: the pool's workers start from a small
process with their own memory limit, and a worker out of memory, over time or dead fails its own
task only."""
import csv
import io
import json
import os
import textwrap
from pathlib import Path

import pytest

from grading_fixtures import PROBLEMS, Q3_VALID as Q3, VALID_Q1 as STEPS, proof
from grading_fixtures import write_class as write

from prover import grade as G
from prover.grade import pool

HONEST = {  # every status an honest class produces
    "alice": {"q1.yaml": proof(), "q3.yaml": Q3},  # valid, valid
    "bob": {"q1.yaml": proof(derivative="a^T a")},  # invalid after tr(a a^T dX): 5/10
    "carol": {"q1.yaml": proof(derivative="")},  # stops at tr(a a^T dX): incomplete
    "dave": {"q1.yaml": proof().replace("equals: a a^T", "equals: a^T a")},  # changed: rejected
    "erin.yaml": proof(),  # one file holding one proof
}
CITES = 30_000  # rules cited by one step: the file stays under the 256 KB limit
TEN_MB = 10 * 1024 * 1024


def write_hostile(root: Path) -> None:
    bomb = proof(STEPS[:2] + [("d(tr(a a^T X))", "[" + ",".join(["algebra"] * CITES) + "]")]
                 + STEPS[3:])
    assert len(bomb.encode()) < G.MAX_FILE_BYTES
    write(root, {
        "citer": {"q1.yaml": bomb, "q3.yaml": Q3},
        "forger": {"q1.yaml": proof(STEPS[:2] + [("d(tr(a a^T X))", '"\\e[2J\\nzed  15/15"')]
                                    + STEPS[3:])},
        "=HYPERLINK(\"evil.example\",\"grade\")": {"q1.yaml": proof()},
        "scripter": {"q1.yaml": proof(STEPS[:2] + [("d(tr(a a^T X))",
                                                    '"<script>alert(1)</script>"')] + STEPS[3:]),
                     "<script>alert(2).yaml": "theorem: ["},
        "a b": {"q1.yaml": proof()}, "a_b": {"q1.yaml": proof()},  # one name once cleaned
    })
    with open(root / "huge.yaml", "wb") as fh:  # a 10 MB file, written here, never committed
        fh.write(b"# " + b"x" * 1022 + b"\n")
        fh.seek(TEN_MB - 1)
        fh.write(b"\n")
    base = os.fsencode(root)
    os.mkdir(base + b"/j\xe9r\xf4me")  # a folder name from a zip made on Windows
    with open(base + b"/j\xe9r\xf4me/q1.yaml", "wb") as fh:
        fh.write(proof().encode())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("isolation")
    hw = tmp / "hw.yaml"
    hw.write_text("assignment: hw\nproblems:\n" + textwrap.indent(PROBLEMS, "  "))
    a = G.load_assignment(hw)
    alone = G.grade(write(tmp / "honest", HONEST), a, jobs=1)
    mixed = write(tmp / "mixed", HONEST)
    write_hostile(mixed)
    return {"alone": alone, "mixed": G.grade(mixed, a, jobs=2, timeout=20), "a": a}


def by_student(report):
    return {s.student: {p.id: p for p in s.problems} for s in report.students}


def test_honest_grades_are_what_they_are_alone(runs):
    alone, mixed = by_student(runs["alone"]), by_student(runs["mixed"])
    assert set(alone) == {"alice", "bob", "carol", "dave", "erin"}
    statuses = {p.status for g in alone.values() for p in g.values()}
    assert {"valid", "invalid", "incomplete", "rejected", "missing"} <= statuses
    for name, grades in alone.items():
        for pid, g in grades.items():
            h = mixed[name][pid]
            assert (h.status, h.score, h.reason, h.partial, h.feedback) == \
                (g.status, g.score, g.reason, g.partial, g.feedback), (name, pid)
    assert [p.score for p in alone["alice"].values()] == [10, 5]
    assert alone["bob"]["q1"].score == 5


def test_a_step_citing_tens_of_thousands_of_rules_is_refused_with_its_place(runs):
    citer = by_student(runs["mixed"])["citer"]
    q1 = citer["q1"]
    assert q1.status == "error" and q1.score == 0
    assert q1.error.kind == G.Fault.LIMIT and q1.error.line == 9 and q1.error.file
    assert f"more than {G.MAX_CITATIONS_PER_STEP} rules" in q1.reason
    assert q1.reason.startswith("citer/q1.yaml:9:")
    assert citer["q3"].status == "valid"  # the student's other file is graded as usual


def test_a_10_mb_file_is_not_read(runs):
    huge = by_student(runs["mixed"])["huge"]
    assert all(p.status == "error" for p in huge.values())
    assert f"{TEN_MB:,} bytes" in huge["q1"].reason
    assert huge["q1"].error.kind == G.Fault.FILE


def test_hostile_names_and_text_are_graded_and_shown_harmlessly(runs):
    report = runs["mixed"]
    g = by_student(report)
    assert g["j\ufffdr\ufffdme"]["q1"].status == "valid"  # not UTF-8: replaced, graded
    formula = "=HYPERLINK(\"evil.example\",\"grade\")"
    assert g[formula]["q1"].status == "valid"
    cells = [c for row in csv.reader(io.StringIO(G.csv_report(report))) for c in row]
    assert "'" + formula in cells and formula not in cells
    text = G.text_report(report)
    assert "\x1b" not in text and not any(line.startswith("zed  15/15")
                                          for line in text.split("\n"))
    assert "\\x1b[2J\\nzed  15/15" in text  # the forged citation, shown escaped
    scripter = next(s for s in report.students if s.student == "scripter")
    for out in (G.markdown_feedback(report, scripter),
                json.dumps(G.gradescope_data(report, scripter), ensure_ascii=False)):
        assert "<script>" not in out and "&lt;script&gt;" in out
    both = g["a b"]["q1"]
    assert both.status == "error" and "a b/" in both.reason and "a_b/" in both.reason
    assert "a_b" not in g


def test_the_whole_class_is_graded_once_each(runs):
    names = [s.student for s in runs["mixed"].students]
    assert len(names) == len(set(names)) == 5 + 7
    assert all(len(s.problems) == 2 for s in runs["mixed"].students)


# -- the pool -------------------------------------------------------------------------------------
def _task(kind: str):
    """A worker task for the tests below (module level: the workers import it)."""
    import time

    if kind == "hog":  # more memory than the worker's budget allows
        block = bytearray(3 * 1024 ** 3)
        return len(block)
    if kind == "hang":
        time.sleep(60)
    if kind == "die":
        os._exit(7)
    if kind == "limit":
        import resource

        return resource.getrlimit(resource.RLIMIT_AS)[0], pool.address_space()
    if kind == "parent":
        return os.getppid()
    return kind


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the memory limit reads /proc")
def test_a_worker_out_of_memory_over_time_or_dead_fails_its_own_task_only():
    kinds = ["ok1", "hog", "ok2", "hang", "ok3", "die", "ok4"]
    got = dict(pool.run(_task, kinds, jobs=2, timeout=3, budget=256 * 1024 ** 2))
    assert [got[i] for i in (0, 2, 4, 6)] == ["ok1", "ok2", "ok3", "ok4"]
    assert isinstance(got[1], G.TaskFailure) and "memory" in got[1].reason
    assert isinstance(got[3], G.TaskFailure) and got[3].kind == G.Fault.TIME_LIMIT
    assert isinstance(got[5], G.TaskFailure) and got[5].kind == G.Fault.WORKER_DIED


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_workers_start_from_a_small_process_with_their_own_memory_limit():
    grown = bytearray(400 * 1024 ** 2)  # the parent grows (as with a large class) ...
    budget = 512 * 1024 ** 2
    [(_, (limit, size))] = list(pool.run(_task, ["limit"], jobs=1, timeout=20, budget=budget))
    assert size < limit <= size + budget  # the limit: what it had at its start plus the budget
    assert size < pool.address_space() - len(grown)  # ... and the worker did not inherit it
    [(_, parent)] = list(pool.run(_task, ["parent"], jobs=1, timeout=20))
    assert parent != os.getpid()  # started by the forkserver, not forked from this process
    del grown
