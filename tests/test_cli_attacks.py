"""Red-team attacks on the argparse command line and the pebble/forkserver grader.

Each test asserts the SAFE behaviour the house rule asks for: no Python traceback, the documented
exit code (SPEC §6: 0 all valid, 1 some invalid, 2 unreadable input or misuse; equiv 3 = cannot
decide), machine-readable output that stays valid, and the good files' results kept when a bad
one is in the same run. A passing test is an attack that failed; a test marked
`xfail(strict=True, reason="DEFECT: ...")` is an attack that found a real defect.

Most runs are subprocesses (`python -m prover`), so that a traceback, a hang or a memory blow-up
is seen as a user would see it; pure argument-parsing attacks run in-process (`run_cli`), which is
much faster. Every subprocess has a time limit and an address-space limit: some of the attacks
(a FIFO, /dev/zero) make an unguarded reader hang or eat memory."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "proofs" / "theorem1.yaml"
CLASS = ROOT / "examples" / "class"
HW = ROOT / "examples" / "hw.yaml"
MEMORY_LIMIT = 2 * 1024 ** 3  # bytes of address space for a `prove` subprocess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files (FIFO, /dev/zero)")


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Run:
    def __init__(self, code: int | None, out: bytes, err: bytes, timed_out: bool = False):
        self.code, self.out_bytes, self.err_bytes, self.timed_out = code, out, err, timed_out
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")


def prove(*args, cwd=None, stdin=None, timeout: float = 60, env=None, input=None) -> Run:
    """`python -m prover ARGS` in a subprocess; a run over `timeout` is killed and reported."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    argv = [sys.executable, "-m", "prover", *args]
    try:
        p = subprocess.run(argv, cwd=cwd or ROOT, stdin=stdin if input is None else None,
                           input=input, capture_output=True, timeout=timeout, env=full_env,
                           preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as exc:
        return Run(None, exc.stdout or b"", exc.stderr or b"", timed_out=True)
    return Run(p.returncode, p.stdout, p.stderr)


def safe(r: Run, code: int | tuple[int, ...]) -> None:
    """No hang, no traceback, the documented exit code."""
    assert not r.timed_out, "the run hung (killed at the time limit)"
    assert "Traceback" not in r.err, r.err.strip().splitlines()[-1][:300]
    codes = code if isinstance(code, tuple) else (code,)
    assert r.code in codes, (r.code, r.err[-300:])


# --------------------------------------------------------------------------------------------
# 1. The command line: odd words (in-process: argparse only)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["check", "x.yaml", "--format"],                 # option without its value
    ["check", "x.yaml", "--format=xml"],             # wrong choice, with =
    ["check", "x.yaml", "--format", "JSON"],         # wrong case
    ["check", "x.yaml", "-j0"],
    ["check", "x.yaml", "--jobs=-1"],
    ["check", "x.yaml", "--jobs", "99999999999999999999999"],
    ["check", "x.yaml", "--jobs", "1e3"],
    ["check", "x.yaml", "--strict=yes"],             # a flag given a value
    ["check", "x.yaml", "--color=purple"],
    ["check", "x.yaml", "--form", "json"],           # no abbreviations
    ["check", "--version"],
    ["check"],                                       # no paths
    ["frobnicate"],                                  # unknown command
    [""],                                            # empty command
    ["--bogus", "check", "x.yaml"],
    [],                                              # nothing at all
    ["grade", str(CLASS), "-a", str(HW), "--timeout", "nan"],
    ["grade", str(CLASS), "-a", str(HW), "--timeout", "inf"],
    ["grade", str(CLASS), "-a", str(HW), "--timeout=-1"],
    ["grade", str(CLASS), "-a", str(HW), "--timeout", "0.01"],  # below the documented 1 s
    ["grade", str(CLASS), "-a", str(HW), "--jobs", "0"],
    ["grade", str(CLASS)],                           # no --assignment
    ["grade", "-a", str(HW)],                        # no SUBMISSIONS
    ["grade", str(CLASS), "-a", str(HW), "--format", "xml"],
    ["grade", str(CLASS), "-a", str(HW), "--report", str(GOOD)],     # onto an existing file
    ["grade", str(CLASS), "-a", str(HW), "--feedback", str(GOOD)],
    ["grade", str(CLASS), "-a", str(ROOT / "examples")],             # assignment is a folder
    ["render", str(ROOT / "proofs")],                                # FILE is a folder
    ["render", str(GOOD), "--to", "html"],
    ["derive", "tr(X)", "--var", "X: n x n"],                        # expression without --wrt
    ["derive", "tr(X)", "--wrt", "X", "--var", "X: n x n", "--format", "json", "--show"],
    ["derive", "tr(X)", "--wrt", "X", "--var", "X: n x n", "-o"],
    ["equiv", "X"],                                                  # one expression
    ["equiv", "--var", "X: n x n", "-X", "-X", "-X"],                # three
    ["equiv", "--var", "", "X", "X"],                                # empty declaration
    ["equiv", "--var=X:nxn", "X", "X"],
    ["equiv", "--", "-X", "X", "--var", "X: n x n"],                 # options after --
    ["rules", "--format", "yaml"],
    ["schema", "extra"],
])
def test_misuse_is_exit_2_with_a_message(args):
    r = run_cli(args)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2, (args, r.output[-800:])
    assert r.stderr.strip(), "a usage error says what is wrong"
    assert "Traceback" not in r.output


def test_version_before_a_command_wins():
    r = run_cli(["--version", "check", "nowhere.yaml"])
    assert r.exit_code == 0 and r.stdout.startswith("prove, version")


def test_dash_leading_paths_and_double_dash(tmp_path):
    shutil.copy(GOOD, tmp_path / "-weird.yaml")
    r = prove("check", "--", "-weird.yaml", cwd=tmp_path)
    safe(r, 0)
    r = prove("check", "./-weird.yaml", "--strict", cwd=tmp_path)
    safe(r, 0)
    r = prove("--", "check", "./-weird.yaml", cwd=tmp_path)   # `--` before the command
    safe(r, 0)
    # without `--`, an unknown option is a usage error naming it, not a missing file
    r = run_cli(["check", "-weird.yaml"])
    assert r.exit_code == 2 and "-weird.yaml" in r.stderr


def test_leading_minus_expressions():
    r = prove("equiv", "--var", "X: n x n", "-X", "-(X)")
    safe(r, 0)
    r = prove("equiv", "--var", "X: n x n", "--", "-X", "(-1) X")
    safe(r, 0)
    r = prove("derive", "-tr(X)", "--wrt", "X", "--var", "X: n x n", "--format", "json")
    safe(r, 0)
    assert json.loads(r.out)["wrt"] == "X"


def test_stdin_twice_is_read_once():
    r = prove("check", "-", "-", "--format", "json", input=GOOD.read_bytes())
    safe(r, 0)
    files = json.loads(r.out)["files"]
    assert [f["path"] for f in files] == ["<stdin>"]


def test_stdin_from_dev_zero_is_bounded():
    with open("/dev/zero", "rb") as zero:
        r = prove("check", "-", "--format", "json", stdin=zero, timeout=30)
    safe(r, 2)
    assert json.loads(r.out)["summary"]["error"] == 1


def test_stdin_empty_json():
    r = prove("check", "-", "--format", "json", input=b"")
    safe(r, 2)
    assert json.loads(r.out)["files"][0]["status"] == "error"


def test_non_utf8_argument_for_a_missing_file():
    r = prove("check", os.fsdecode(b"\xff\xfe-missing.yaml"), str(GOOD))
    safe(r, 2)
    assert "theorem1.yaml" in r.out and "valid" in r.out


@pytest.mark.parametrize("env,color,escapes", [
    ({"NO_COLOR": "1"}, "always", True),
    ({"NO_COLOR": "1"}, "auto", False),
    ({}, "never", False),
    ({}, "auto", False),            # a pipe is not a terminal
])
def test_color_choices(env, color, escapes):
    r = prove("check", str(GOOD), "--color", color, env=env)
    safe(r, 0)
    assert ("\033[" in r.out) is escapes


# --------------------------------------------------------------------------------------------
# 1b. check: bad files beside good ones, every output format
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixed")
    shutil.copy(GOOD, d / "good.yaml")
    (d / "bad.yaml").write_text("theorem: x\nclaim: [\n")
    (d / "binary.yaml").write_bytes(b"\x00\x01\x02")
    (d / "latin1.yaml").write_bytes(b"theorem: caf\xe9\n")
    (d / "folder.yaml").mkdir()
    os.symlink("loop2.yaml", d / "loop1.yaml")
    os.symlink("loop1.yaml", d / "loop2.yaml")
    return d


def test_json_with_bad_files_is_valid_and_keeps_the_good(mixed):
    r = prove("check", "good.yaml", "bad.yaml", "binary.yaml", "latin1.yaml", "loop1.yaml",
              "missing.yaml", "--format", "json", cwd=mixed)
    safe(r, 2)
    data = json.loads(r.out_bytes.decode("utf-8"))
    by = {f["path"]: f for f in data["files"]}
    assert by["good.yaml"]["status"] == "valid"
    for bad in ("bad.yaml", "binary.yaml", "latin1.yaml", "loop1.yaml", "missing.yaml"):
        assert by[bad]["status"] == "error", bad
    assert data["summary"] == {"files": 6, "valid": 1, "invalid": 0, "error": 5}


def test_junit_and_github_with_bad_files(mixed):
    r = prove("check", "good.yaml", "bad.yaml", "--format", "junit", cwd=mixed)
    safe(r, 2)
    xml.dom.minidom.parseString(r.out_bytes)
    r = prove("check", "good.yaml", "bad.yaml", "--format", "github", "--jobs", "2", cwd=mixed)
    safe(r, 2)
    assert "file=bad.yaml,line=3" in r.out and "good.yaml" in r.out


def test_text_with_bad_files_in_parallel(mixed):
    r = prove("check", ".", "--jobs", "64", cwd=mixed)   # a folder: only *.yaml files inside
    safe(r, 2)
    assert "good.yaml" in r.out and "bad.yaml:3:1" in r.out


def test_broken_pipe_is_quiet(tmp_path):
    for i in range(120):
        shutil.copy(GOOD, tmp_path / f"g{i:03}.yaml")
    p = subprocess.Popen([sys.executable, "-m", "prover", "check", str(tmp_path), "--format",
                          "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_limit_memory)
    p.stdout.close()   # the reader leaves before anything is written
    err = p.stderr.read().decode("utf-8", "replace")
    code = p.wait(timeout=60)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert code != 0   # the output is incomplete; exit 1 (see the report: 1 also means invalid)


# --------------------------------------------------------------------------------------------
# 1c. Defects of the command line
# --------------------------------------------------------------------------------------------

LONG = "a" * 300 + "/" + "b" * 5000  # longer than NAME_MAX and PATH_MAX


def test_check_path_too_long():
    r = prove("check", str(GOOD), LONG + ".yaml")
    safe(r, 2)
    assert "theorem1.yaml" in r.out


def test_grade_path_too_long():
    safe(prove("grade", LONG, "-a", str(HW)), 2)


def test_derive_target_too_long():
    safe(prove("derive", LONG + ".yaml"), 2)


def test_check_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    shutil.copy(GOOD, tmp_path / "good.yaml")
    r = prove("check", "good.yaml", "pipe.yaml", cwd=tmp_path, timeout=5)
    safe(r, 2)
    assert "good.yaml" in r.out


def test_check_dev_zero_is_bounded():
    r = prove("check", str(GOOD), "/dev/zero", timeout=30)
    safe(r, 2)
    assert "theorem1.yaml" in r.out


def test_grade_assignment_dev_zero_is_bounded(tmp_path):
    safe(prove("grade", str(tmp_path), "-a", "/dev/zero", timeout=30), 2)


def test_check_empty_string_path(tmp_path):
    shutil.copy(GOOD, tmp_path / "unrelated.yaml")
    r = prove("check", "", cwd=tmp_path)
    safe(r, 2)
    assert "unrelated.yaml" not in r.out


def test_check_json_with_non_utf8_file_name(tmp_path):
    shutil.copy(GOOD, tmp_path / os.fsdecode(b"\xff\xfe.yaml"))
    r = prove("check", ".", "--format", "json", cwd=tmp_path)
    safe(r, 0)
    data = json.loads(r.out_bytes.decode("utf-8"))   # RFC 8259: JSON text is UTF-8
    assert data["summary"]["valid"] == 1


def _derive(*extra):
    return ("derive", "a^T X a", "--wrt", "X", "--var", "a: n x 1 constant", "--var",
            "X: n x n", *extra)


def test_derive_output_unwritable(tmp_path):
    r = prove(*_derive("-o", str(tmp_path / "missing" / "out.yaml")))
    safe(r, 2)


def test_render_output_unwritable(tmp_path):
    safe(prove("render", str(GOOD), "-o", str(tmp_path / "missing" / "x.tex")), 2)


@pytest.mark.parametrize("first", ["X +", "Y"])
def test_equiv_unreadable_expression(first):
    r = prove("equiv", "--var", "X: n x n", first, "X")
    safe(r, (2, 3))


def test_equiv_transposed_has_a_counterexample():
    r = prove("equiv", "--var", "X: n x n", "X", "X^T")
    safe(r, 1)
    lines = [line for line in r.out.splitlines() if line.strip()]
    assert len(lines) >= 2, "no counterexample line after the verdict"


# --------------------------------------------------------------------------------------------
# 2. Grading: hostile classes
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two good students and every kind of bad entry."""
    base = tmp_path_factory.mktemp("hostile")
    cls = base / "class"
    cls.mkdir()
    shutil.copytree(CLASS / "alice", cls / "alice")
    shutil.copytree(CLASS / "carol", cls / "carol")
    (cls / "deep").mkdir()
    n = 60_000
    (cls / "deep" / "q1.yaml").write_text("[" * n + "]" * n)            # 120 KB of nesting
    body = "theorem: q2\nproof:\n" + "".join("  " * i + "- \n" for i in range(1, 20_000))
    (cls / "deep" / "q2.yaml").write_text(body[:200_000])                # 200 KB, indented
    (cls / "junk").mkdir()
    (cls / "junk" / "q1.yaml").write_bytes(b"\x00\x01")
    (cls / "junk" / "q2.yaml").write_bytes(b"\xff\xfe")
    (cls / "junk" / "q3.yaml").write_text(": : :")
    (base / "outside.yaml").write_text((CLASS / "alice" / "q1.yaml").read_text())
    (cls / "linky").mkdir()
    os.symlink(base / "outside.yaml", cls / "linky" / "q1.yaml")     # a link out of the class
    os.symlink(base / "outside.yaml", cls / "eve.yaml")
    os.symlink("/etc", cls / "mallory")
    (cls / "many").mkdir()
    for i in range(60):
        (cls / "many" / f"f{i:02}.yaml").write_text(f"theorem: x{i}\n")
    shutil.copy(CLASS / "alice" / "q1.yaml", cls / "many" / "q1.yaml")  # the 61st file
    (cls / "README.txt").write_text("not a submission")
    return cls


@pytest.fixture(scope="module")
def hostile_json(hostile):
    r = prove("grade", str(hostile), "-a", str(HW), "--format", "json", "--jobs", "4")
    safe(r, 0)
    return json.loads(r.out)


EXPECTED_STUDENTS = {"alice", "carol", "deep", "junk", "linky", "eve.yaml", "mallory", "many"}


def test_hostile_class_is_complete(hostile_json):
    students = {s["student"]: s for s in hostile_json["students"]}
    assert set(students) == EXPECTED_STUDENTS
    for s in students.values():
        assert [p["id"] for p in s["problems"]] == ["q1", "q2", "q3"], s["student"]
    assert students["alice"]["score"] == 25
    for p in students["deep"]["problems"][:2]:
        assert p["status"] == "error" and "nests too deeply" in p["reason"]
    assert {p["status"] for p in students["junk"]["problems"]} == {"error"}
    linky_q1 = students["linky"]["problems"][0]
    assert linky_q1["status"] == "error" and "symbolic link" in linky_q1["reason"]
    assert students["eve.yaml"]["score"] == 0 and students["mallory"]["score"] == 0


def test_hostile_class_same_grades_with_one_job(hostile, hostile_json):
    r = prove("grade", str(hostile), "-a", str(HW), "--format", "csv", "--jobs", "1")
    safe(r, 0)
    rows = [line.split(",")[:5] for line in r.out.splitlines()[1:]]
    want = [[s["student"], p["id"], p["score"], p["max_score"], p["status"]]
            for s in hostile_json["students"] for p in s["problems"]]
    got = [[a, b, float(c), float(d), e] for a, b, c, d, e in rows if b != "total"]
    assert got == [[a, b, float(c), float(d), e] for a, b, c, d, e in want]


def test_over_the_file_limit_is_an_error_not_missing(hostile_json):
    many = next(s for s in hostile_json["students"] if s["student"] == "many")
    q1 = many["problems"][0]
    assert q1["status"] == "error" and "limit" in q1["reason"]


def test_empty_class(tmp_path):
    r = prove("grade", str(tmp_path), "-a", str(HW), "--format", "json")
    safe(r, 0)
    assert json.loads(r.out) == {"assignment": "hw3", "students": []}


def test_every_submission_over_the_time_limit_is_still_reported(tmp_path):
    """--timeout 0.01 is refused by the CLI (1..3600 s); the grader itself is asked directly."""
    script = tmp_path / "run.py"
    script.write_text(
        "import json, sys\n"
        "from prover.grade import grade, load_assignment, json_data\n"
        "if __name__ == '__main__':\n"
        f"    a = load_assignment({str(HW)!r}, ())\n"
        f"    r = grade({str(CLASS)!r}, a, jobs=2, timeout=0.01)\n"
        "    print(json.dumps(json_data(r)))\n")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_limit_memory)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr[-1500:]
    data = json.loads(p.stdout)
    names = {e.name.removesuffix(".yaml") for e in CLASS.iterdir()}
    assert {s["student"] for s in data["students"]} == names
    for s in data["students"]:
        assert [p["id"] for p in s["problems"]] == ["q1", "q2", "q3"]
        assert all(p["status"] for p in s["problems"])


def test_wrong_key_stops_the_run_unless_trusted(tmp_path):
    wrong = tmp_path / "hw.yaml"
    wrong.write_text(HW.read_text().replace("equals: a a^T", "equals: 2 a a^T"))
    shutil.copytree(ROOT / "examples" / "problems", tmp_path / "problems")
    cls = tmp_path / "class"
    shutil.copytree(CLASS / "alice", cls / "alice")
    r = prove("grade", str(cls), "-a", str(wrong), "--format", "json")
    safe(r, 2)
    assert r.out == "" and "q1" in r.err and "wrong" in r.err
    r = prove("grade", str(cls), "-a", str(wrong), "--format", "json", "--trust-key")
    safe(r, 0)
    assert [s["student"] for s in json.loads(r.out)["students"]] == ["alice"]


def test_huge_assignment_is_refused_clearly(tmp_path):
    problems = "".join(f"  - id: p{i}\n    points: 1\n    claim: {{lhs: tr(A), rhs: tr(A^T)}}\n"
                       f"    variables: {{A: {{shape: [n, n]}}}}\n    allowed_rules: [algebra]\n"
                       for i in range(3000))
    big = tmp_path / "big.yaml"
    big.write_text("assignment: big\nproblems:\n" + problems)
    r = prove("grade", str(CLASS), "-a", str(big))
    safe(r, 2)
    assert "big.yaml" in r.err


def test_assignment_that_is_garbage(tmp_path):
    bad = tmp_path / "a.yaml"
    bad.write_bytes(b"\x00garbage")
    r = prove("grade", str(CLASS), "-a", str(bad))
    safe(r, 2)
    assert "a.yaml" in r.err


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    cls = tmp_path_factory.mktemp("small") / "class"
    shutil.copytree(CLASS / "alice", cls / "alice")
    shutil.copytree(CLASS / "carol", cls / "carol")
    return cls


def test_grade_output_onto_a_folder(small_class, tmp_path):
    r = prove("grade", str(small_class), "-a", str(HW), "--format", "csv", "-o", str(tmp_path))
    safe(r, 2)


def test_grade_feedback_unwritable_keeps_the_grades(small_class):
    r = prove("grade", str(small_class), "-a", str(HW), "--format", "json",
              "--feedback", str(GOOD / "fb"))
    assert "Traceback" not in r.err, r.err[-1500:]
    assert r.code == 2
    assert {s["student"] for s in json.loads(r.out)["students"]} == {"alice", "carol"}


def test_grade_report_unwritable_keeps_the_grades(small_class):
    r = prove("grade", str(small_class), "-a", str(HW), "--format", "csv",
              "--report", str(GOOD / "rep"))
    assert "Traceback" not in r.err, r.err[-1500:]
    assert r.code == 2 and r.out.startswith("student,problem")


def test_grade_gradescope_output_onto_a_file(small_class, tmp_path):
    existing = tmp_path / "results.json"
    existing.write_text("{}")
    safe(prove("grade", str(small_class), "-a", str(HW), "--format", "gradescope", "-o",
               str(existing)), 2)


def test_grade_submissions_is_a_device():
    safe(prove("grade", "/dev/null", "-a", str(HW)), 2)


def test_grade_report_and_feedback_into_new_folders(small_class, tmp_path):
    r = prove("grade", str(small_class), "-a", str(HW), "--format", "json", "--report",
              str(tmp_path / "rep" / "deep"), "--feedback", str(tmp_path / "fb"))
    safe(r, 0)
    assert len(json.loads(r.out)["students"]) == 2
    assert (tmp_path / "rep" / "deep" / "report.md").is_file()
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == ["alice.md", "carol.md"]
