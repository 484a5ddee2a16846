"""The Gradescope and PrairieLearn recipes in hosts/ (issue 12), run end to end with bash in a
copy of each host's folder layout under tmp_path: Gradescope's /autograder (source/,
submission/, results/results.json) and PrairieLearn's /grade (student/, data/data.json, tests/,
results/results.json). The scripts take the root from PROVE_AUTOGRADER_ROOT / PROVE_GRADE_ROOT
and the prove command from PROVE."""
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_fixtures import proof

ROOT = Path(__file__).resolve().parent.parent
HOSTS = ROOT / "hosts"
PROVE = Path(sys.executable).parent / "prove"

Q1 = proof()  # Theorem 5, valid
Q2 = """\
theorem: q2
variables: {A: {shape: [m, n]}, B: {shape: [n, p]}, C: {shape: [p, m]}}
claim: {lhs: tr(A B C), rhs: tr(C A B)}
proof:
  - expr: tr(A B C)
  - {expr: tr(%s), by: trace-cyclic}
"""


def env(**extra) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("PROVE")}
    out.update(PROVE=str(PROVE) if PROVE.exists() else f"{sys.executable} -m prover", **extra)
    return out


@pytest.fixture(scope="module", autouse=True)
def _prove_command():
    if not PROVE.exists():
        pytest.skip("the prove command is not installed beside this Python")


# -- Gradescope -------------------------------------------------------------------------------
def gradescope(tmp_path: Path, files: dict[str, bytes]) -> tuple[subprocess.CompletedProcess, dict]:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    shutil.copy(HOSTS / "gradescope" / "assignment.yaml", root / "source" / "assignment.yaml")
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    done = subprocess.run(["bash", str(HOSTS / "gradescope" / "run_autograder")], cwd=tmp_path,
                          env=env(PROVE_AUTOGRADER_ROOT=str(root)), capture_output=True,
                          text=True, timeout=300)
    results = root / "results" / "results.json"
    return done, json.loads(results.read_text()) if results.exists() else {}


def test_gradescope_recipe_grades_a_submission(tmp_path):
    done, res = gradescope(tmp_path, {"q1.yaml": Q1.encode(), "q2.yaml": (Q2 % "C A B").encode()})
    assert done.returncode == 0, done.stderr
    assert res["score"] == 15
    assert res["output_format"] == "md" and res["test_output_format"] == "md"
    assert isinstance(res["execution_time"], (int, float)) and res["execution_time"] >= 0
    tests = {t["name"].split(":")[0]: t for t in res["tests"]}
    assert [(t["score"], t["max_score"], t["status"]) for t in tests.values()] == [
        (10, 10, "passed"), (5, 5, "passed")]
    # the assignment's `gradescope: {visibility: after_published}` reaches every test
    assert {t["visibility"] for t in res["tests"]} == {"after_published"}
    assert "submission  15/15" in done.stdout  # the text report, for the instructor


def test_gradescope_recipe_fails_a_wrong_proof_and_escapes_student_text(tmp_path):
    hostile = "<img src=x onerror=alert(1)>.yaml"  # matches no problem: listed as a note
    done, res = gradescope(tmp_path, {"q1.yaml": Q1.encode(), "q2.yaml": (Q2 % "C B A").encode(),
                                      hostile: (Q2 % "C A B").replace("q2", "extra").encode()})
    assert done.returncode == 0, done.stderr
    assert res["score"] == 10
    status = {t["name"].split(":")[0]: t["status"] for t in res["tests"]}
    assert status == {"q1": "passed", "q2": "failed"}
    text = json.dumps(res)
    assert "<img" not in text and "&lt;img" in res["output"]


def test_gradescope_recipe_writes_no_results_for_an_unusable_assignment(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "source" / "assignment.yaml").write_text("assignment: x\nproblems: []\nbogus: 1\n")
    (root / "submission" / "q1.yaml").write_text(Q1)
    done = subprocess.run(["bash", str(HOSTS / "gradescope" / "run_autograder")],
                          env=env(PROVE_AUTOGRADER_ROOT=str(root)), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2  # Gradescope shows the instructor an autograder failure
    assert not (root / "results" / "results.json").exists()


def test_gradescope_setup_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(HOSTS / "gradescope" / "setup.sh")]).returncode == 0
    assert os.access(HOSTS / "gradescope" / "run_autograder", os.X_OK)


# -- PrairieLearn -----------------------------------------------------------------------------
def prairielearn(tmp_path: Path, files: dict[str, bytes], data: dict | None = None,
                 **extra) -> dict:
    root = tmp_path / "grade"
    for sub in ("student", "data", "tests", "results"):
        (root / sub).mkdir(parents=True)
    shutil.copy(HOSTS / "prairielearn" / "question" / "tests" / "assignment.yaml",
                root / "tests" / "assignment.yaml")
    (root / "data" / "data.json").write_text(json.dumps(data or {"submitted_answers": {}}))
    for name, raw in files.items():
        (root / "student" / name).write_bytes(raw)
    entry = HOSTS / "prairielearn" / "entrypoint.py"
    done = subprocess.run(["bash", "-c", 'exec "$0"', str(entry)],
                          env=env(PROVE_GRADE_ROOT=str(root), **extra), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_prairielearn_recipe_grades_a_submission(tmp_path):
    res = prairielearn(tmp_path, {"q1.yaml": Q1.encode()})
    assert res["gradable"] is True and res["score"] == 1
    assert [(t["name"], t["points"], t["max_points"]) for t in res["tests"]] == [("q1", 10, 10)]


def test_prairielearn_recipe_reads_files_from_data_json(tmp_path):
    wrong = proof(derivative="a^T a I")
    data = {"submitted_answers": {"_files": [
        {"name": "../q1.yaml", "contents": base64.b64encode(wrong.encode()).decode()}]}}
    res = prairielearn(tmp_path, {}, data)
    assert res["gradable"] is True
    assert res["score"] == 0.5  # reaches tr(G dX): half the points by default
    assert res["tests"][0]["points"] == 5
    assert not (tmp_path / "q1.yaml").exists()  # the name's folder part is dropped


@pytest.mark.parametrize("upload", [b"\x00\x01\x02binary", b"", b"not: [a proof",
                                    "caf\xe9".encode("latin-1")])
def test_prairielearn_an_unreadable_upload_is_not_gradable(tmp_path, upload):
    res = prairielearn(tmp_path, {"q1.yaml": upload})
    assert res["gradable"] is False  # the attempt does not count against the student
    assert res["score"] == 0


def test_prairielearn_no_upload_and_a_broken_assignment_are_not_gradable(tmp_path):
    res = prairielearn(tmp_path / "a", {})
    assert res["gradable"] is False and "No file was uploaded" in res["message"]
    root = tmp_path / "b"
    res = prairielearn(root, {"q1.yaml": Q1.encode()}, PROVE_BUDGET="20")
    assert res["gradable"] is True
    (root / "grade" / "tests" / "assignment.yaml").write_text("assignment: x\nproblems: 3\n")
    entry = HOSTS / "prairielearn" / "entrypoint.py"
    subprocess.run(["bash", "-c", 'exec "$0"', str(entry)],
                   env=env(PROVE_GRADE_ROOT=str(root / "grade")), check=True, timeout=300)
    res = json.loads((root / "grade" / "results" / "results.json").read_text())
    assert res["gradable"] is False and "not set up correctly" in res["message"]


def test_prairielearn_question_files_fit_the_host():
    info = json.loads((HOSTS / "prairielearn" / "question" / "info.json").read_text())
    opts = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and opts["enabled"] is True
    assert 0 < opts["timeout"] < 30  # PrairieLearn's limit for a grading job
    assert opts["image"] and isinstance(opts["serverFilesCourse"], list)
    docker = (HOSTS / "prairielearn" / "Dockerfile").read_text()
    assert f"COPY hosts/prairielearn/entrypoint.py {opts['entrypoint']}" in docker
    assert os.access(HOSTS / "prairielearn" / "entrypoint.py", os.X_OK)


def test_the_images_copy_what_the_wheel_is_built_from():
    """An image installs from the folders it copies; the wheel force-includes `rules/` and
    `proofs/`, so a folder left out of the image's COPY lines breaks its build."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = conf["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = set(wheel["packages"]) | set(wheel.get("force-include", {})) | {"pyproject.toml",
                                                                              conf["project"]["readme"]}
    for image in ("prairielearn", "serve"):
        docker = (HOSTS / image / "Dockerfile").read_text()
        copied = {src for line in docker.splitlines() if line.startswith("COPY ")
                  for src in line.split()[1:-1]}
        assert needed <= copied, f"the {image} image does not copy {sorted(needed - copied)}"


def test_the_gradescope_visibility_key_is_validated(tmp_path):
    from helpers import run_cli

    hw = (HOSTS / "gradescope" / "assignment.yaml").read_text()
    (tmp_path / "sub").mkdir()
    bad = tmp_path / "bad.yaml"
    bad.write_text(hw.replace("visibility: after_published", "visibility: later"))
    r = run_cli(["grade", str(tmp_path / "sub"), "--single", "--assignment",
                 str(bad), "--format", "gradescope"])
    assert r.exit_code == 2 and "visibility" in r.output
    default = tmp_path / "default.yaml"
    default.write_text(hw.replace("gradescope:\n  visibility: after_published", ""))
    r = run_cli(["grade", str(tmp_path / "sub"), "--single", "--assignment",
                 str(default), "--format", "gradescope"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["visibility"] == "visible" and {t["visibility"] for t in res["tests"]} == {"visible"}
    assert {t["status"] for t in res["tests"]} == {"failed"}  # nothing submitted
