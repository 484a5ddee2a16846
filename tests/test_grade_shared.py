"""The workers of one `prove grade` run share the records of the proofs they check
(`prover/grade/shared.py`), so that a proof written the same way by many students is checked by
the kernel once for the class. A record is reused only under the digest of everything its verdict
depends on: two submissions that differ in anything the verdict reads get different records."""
import os
import tempfile
import textwrap
from pathlib import Path

from grading_fixtures import PROBLEMS, Q1_CLAIM, Q1_VARS, VALID_Q1, proof, write_class

from prover import grade as G
from prover.grade import check as C
from prover.grade.shared import Store, decode, encode

GROUPED = VALID_Q1[:4] + [("tr(a a^T dX)", "[diff-product, diff-constant]")]  # 2 rules in a step


def _assignment(tmp: Path, problems: str, name: str = "hw.yaml"):
    hw = tmp / name
    hw.write_text("assignment: hw\nproblems:\n" + textwrap.indent(problems, "  "))
    return G.load_assignment(hw)


def _twin(pid: str, extra: str = "") -> str:
    return (f"- id: {pid}\n  points: 10\n  {Q1_CLAIM}\n  {Q1_VARS}\n"
            "  allowed_rules: [theorem-1, theorem-2, theorem-3, diff-*, algebra, theorem-4]\n"
            + extra)


def by_student(report):
    return {s.student: {p.id: (p.status, p.score, p.reason, p.feedback) for p in s.problems}
            for s in report.students}


def test_a_record_survives_the_store_unchanged(tmp_path):
    """Valid, invalid with a counterexample, a layout slip, an unreadable line: each record read
    back from the store equals the one the checker made."""
    a = _assignment(tmp_path, PROBLEMS)
    C.start_worker(a)
    texts = [proof(), proof(derivative="a^T a"), proof(derivative="(a a^T)^T"),
             proof(VALID_Q1[:3] + [("tr(d(a a^T X)", "theorem-3")] + VALID_Q1[4:]),
             proof(VALID_Q1[:5] + [("tr(0 X - a a^T dX)", "diff-constant")] + VALID_Q1[6:])]
    store = Store(str(tmp_path))
    for i, text in enumerate(texts):
        st = write_class(tmp_path / f"c{i}", {"s": {"q1.yaml": text}})
        res = G.grade_submission(G.discover(st)[0], a)
        (key, rec), = res.records.items()
        assert isinstance(rec, G.CheckRecord)
        assert decode(encode(rec)) == rec
        store.put(key, rec)
        assert store.get(key) == rec


def test_the_store_reads_only_records(tmp_path):
    store = Store(str(tmp_path))
    key = "ab" * 32
    (tmp_path / f"{key}.json").write_text("{not json")
    assert store.get(key) is None
    (tmp_path / f"{key}.json").write_text('{"status": "valid", "surprise": 1}')
    assert store.get(key) is None
    assert store.get("../../etc/passwd") is None and store.get("AB" * 32) is None
    assert Store(None).get(key) is None


def test_a_proof_shared_by_a_class_is_checked_once(tmp_path):
    a = _assignment(tmp_path, PROBLEMS)
    same = {f"s{i:02d}": {"q1.yaml": proof() if i % 2 else proof(derivative="a^T a")}
            for i in range(16)}
    root = write_class(tmp_path / "class", same)
    one = G.grade(root, a, jobs=1)
    two = G.grade(root, a, jobs=2)
    assert by_student(one) == by_student(two)
    assert one.stats["checks"] == 2  # two distinct proofs
    assert two.stats["checks"] <= 4  # two workers may meet a proof at the same moment


def test_a_record_is_never_reused_for_a_proof_whose_problem_differs(tmp_path):
    """qa and qb assign the same claim with the same declarations; only qb limits a step to one
    rule. The same steps, sent for both by many students (two workers, shared records), are
    valid for qa and invalid for qb, every time."""
    a = _assignment(tmp_path, _twin("qa") + _twin("qb", "  max_rules_per_step: 1\n"))
    cls = {f"s{i:02d}": {"qa.yaml": proof(GROUPED, theorem="qa"),
                         "qb.yaml": proof(GROUPED, theorem="qb")} for i in range(12)}
    report = G.grade(write_class(tmp_path / "class", cls), a, jobs=2)
    for s in report.students:
        got = {p.id: p for p in s.problems}
        assert got["qa"].status == "valid" and got["qa"].score == 10
        assert got["qb"].status == "invalid" and "max_rules_per_step: 1" in got["qb"].reason


def test_runs_share_nothing(tmp_path):
    """Two runs over one class, the assignment changed only in an option: each run's verdicts are
    its own (a run's records are removed when it ends)."""
    root = write_class(tmp_path / "class", {f"s{i}": {"qa.yaml": proof(GROUPED, theorem="qa")}
                                            for i in range(6)})
    loose = _assignment(tmp_path, _twin("qa"), "loose.yaml")
    strict = _assignment(tmp_path, _twin("qa", "  max_rules_per_step: 1\n"), "strict.yaml")
    for a, want in ((loose, "valid"), (strict, "invalid"), (loose, "valid")):
        report = G.grade(root, a, jobs=2)
        assert {p.status for s in report.students for p in s.problems} == {want}


def test_explanations_shared_between_workers_say_what_they_say_alone(tmp_path):
    """A step that cites the wrong rule (unjustified: the explainer searches for the rules that
    would justify it) and a false step, in several distinct proofs spread over two workers: the
    feedback is the same as with one worker, and as with nothing shared."""
    a = _assignment(tmp_path, PROBLEMS)
    wrong_rule = VALID_Q1[:2] + [("d(tr(a a^T X))", "theorem-3")] + VALID_Q1[3:]
    false_step = VALID_Q1[:5] + [("tr(0 X - a a^T dX)", "diff-constant")] + VALID_Q1[6:]
    variants = [proof(wrong_rule), proof(wrong_rule, derivative=""),
                proof(wrong_rule, derivative="a^T a"), proof(false_step),
                proof(false_step, derivative=""), proof(false_step, derivative="a^T a")]
    root = write_class(tmp_path / "class", {f"s{i:02d}": {"q1.yaml": variants[i % len(variants)]}
                                            for i in range(18)})
    one, two = G.grade(root, a, jobs=1), G.grade(root, a, jobs=2)
    assert by_student(one) == by_student(two)
    # in this process, nothing is shared: the same feedback
    C.start_worker(a)
    alone = {s.name: G.grade_submission(s, a) for s in G.discover(root)}
    for s in G.discover(root):
        res = alone[s.name]
        oc = res.outcomes["q1"]
        pg = G.score_problem(a.problems[0], oc, res.records[oc.key], res.facts.get("q1"))
        assert by_student(one)[s.name]["q1"] == (pg.status, pg.score, pg.reason, pg.feedback)
    shown = " ".join(v[3] for s in by_student(two).values() for v in s.values())
    assert "would justify it" in shown and "counterexample" in shown


def test_the_explainer_answers_only_what_it_was_asked(tmp_path):
    store = Store(str(tmp_path))
    store.put_answer("suggest", "key one", ["theorem-2"])
    assert store.get_answer("suggest", "key one") == ["theorem-2"]
    assert store.get_answer("suggest", "key two") is None
    assert store.get_answer("false_hint", "key one") is None


def test_the_store_folder_is_private_and_removed(tmp_path, monkeypatch):
    """The run's folder of records is made private (0700) — in memory where /dev/shm can be
    written to — and is gone once the run ends."""
    from prover.grade import run as R
    from prover.grade.shared import make_folder

    made: list[str] = []

    def spy() -> str:
        made.append(make_folder())
        return made[-1]

    folder = make_folder()
    try:
        assert os.stat(folder).st_mode & 0o777 == 0o700
        if os.access("/dev/shm", os.W_OK | os.X_OK):
            assert folder.startswith("/dev/shm/")
    finally:
        os.rmdir(folder)
    monkeypatch.setattr(R, "make_folder", spy)
    a = _assignment(tmp_path, PROBLEMS)
    report = G.grade(write_class(tmp_path / "class", {"s": {"q1.yaml": proof(GROUPED)}}), a)
    assert report.students[0].problems[0].status.value == "valid"
    assert made and not os.path.exists(made[0])


def test_a_killed_runs_folder_is_swept_and_nothing_else(tmp_path):
    """A run killed before it could clean up leaves its folder; the next run removes it — only
    a private folder of ours named for a process that no longer exists."""
    import subprocess
    import sys

    from prover.grade.shared import PREFIX, sweep

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    record = "0" * 64 + ".json"
    dead = tmp_path / f"{PREFIX}{gone}-abcd_123"
    alive = tmp_path / f"{PREFIX}{os.getpid()}-abcd_123"
    public = tmp_path / f"{PREFIX}{gone}-pub_1234"
    other = tmp_path / "prove-gradeX-1-abcd_123"
    named = tmp_path / f"{PREFIX}{gone}-fall"  # not a name make_folder gives
    holds = tmp_path / f"{PREFIX}{gone}-zzzz_999"  # holds a file a run never writes
    for d in (dead, alive, public, other, named, holds):
        d.mkdir()
        (d / record).write_text("{}")
        d.chmod(0o700)
    (dead / "tmpabcd1234.part").write_text("{")
    (holds / "grades.csv").write_text("alice,10\n")
    public.chmod(0o755)
    sweep(str(tmp_path))
    assert not dead.exists()
    assert all(d.exists() for d in (alive, public, other, named, holds))


def test_sigterm_stops_the_run_and_removes_its_records(tmp_path):
    """A run ended by SIGTERM (a CI job's time limit) stops its workers, removes its folder of
    shared records and exits 143 without writing any output."""
    import glob
    import signal
    import subprocess
    import sys
    import time

    a = tmp_path / "hw.yaml"
    a.write_text("assignment: hw\nproblems:\n" + textwrap.indent(PROBLEMS, "  "))
    root = write_class(tmp_path / "class", {f"s{i:03d}": {"q1.yaml": proof(GROUPED)}
                                            for i in range(400)})
    out = tmp_path / "grades.csv"
    proc = subprocess.Popen([sys.executable, "-m", "prover", "grade", str(root), "--assignment",
                             str(a), "--format", "csv", "-o", str(out), "--jobs", "1"],
                            stderr=subprocess.PIPE, text=True)
    pattern = f"/dev/shm/prove-grade-{proc.pid}-*" if os.access("/dev/shm", os.W_OK) else \
        os.path.join(tempfile.gettempdir(), f"prove-grade-{proc.pid}-*")
    deadline = time.monotonic() + 60
    while not glob.glob(pattern) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    folders = glob.glob(pattern)
    assert folders, "the run never made its folder"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert not any(os.path.exists(f) for f in folders)
    assert not out.exists()
