"""The command line as a user and a CI job see it (SPEC §6): output, JSON shape, exit codes,
and bad input that must never produce a traceback or stop the other files."""
import json
import subprocess
import sys
from pathlib import Path

import pytest


from helpers import run

ROOT = Path(__file__).resolve().parent.parent
T5 = str(ROOT / "proofs" / "theorem5.yaml")


def test_theorem5_text():
    code, out = run("check", T5)
    assert code == 0
    assert "∂(a^T X a)/∂X = a a^T" in out
    assert out.count("✓ valid") == 8
    assert "1 file: 1 valid, 0 invalid, 0 error" in out


def test_theorem5_json_matches_the_contract():
    code, out = run("check", T5, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"] == {"files": 1, "valid": 1, "invalid": 0, "error": 0}
    f = data["files"][0]
    assert f["path"].endswith("proofs/theorem5.yaml") and f["status"] == "valid"
    steps = f["steps"]
    assert [s["index"] for s in steps] == list(range(8))
    assert steps[0]["by"] == [] and steps[0]["expr"] == "d(a^T X a)"
    line = 1 + Path(T5).read_text().splitlines().index("  - expr: d(tr(a^T X a))")
    assert steps[1] == {**steps[1], "line": line, "expr": "d(tr(a^T X a))", "by": ["trace-scalar"],
                        "status": "valid", "message": "", "checked_by": ["rule", "z3", "random"]}
    assert steps[2]["by"] == ["trace-cyclic"]
    assert steps[-1]["expr"] == "a a^T" and steps[-1]["by"] == ["derivative-from-differential"]
    for s in steps:
        assert set(s) >= {"index", "line", "expr", "by", "status", "message", "checked_by"}


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return str(p)


def test_exit_codes_and_other_files_still_checked(tmp_path):
    wrong = _write(tmp_path, "wrong.yaml", Path(T5).read_text().replace(
        "expr: d(tr(a a^T X))", "expr: d(tr(2 a a^T X))"))
    code, out = run("check", T5, wrong, "--format", "json")
    assert code == 1  # some proof invalid, none unreadable
    data = json.loads(out)
    assert [f["status"] for f in data["files"]] == ["valid", "invalid"]
    assert data["files"][1]["steps"][2]["status"] == "invalid"
    assert "counterexample" in data["files"][1]["steps"][2]
    broken = _write(tmp_path, "broken.yaml", "theorem: x\nvariables: [\n")
    code, out = run("check", T5, broken, "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert [f["status"] for f in data["files"]] == ["valid", "error"]
    assert data["files"][1]["line"] >= 2


@pytest.mark.parametrize("name, content, fragment", [
    ("empty.yaml", "", "empty"),
    ("binary.yaml", b"\x00\x01\x02theorem", "binary"),
    ("latin1.yaml", b"theorem: caf\xe9\n", "UTF-8"),
    ("list.yaml", "- 1\n- 2\n", "mapping"),
    ("alias.yaml", "theorem: &a x\nvariables: {}\nclaim: {lhs: *a, rhs: *a}\n", "anchors"),
    ("typo.yaml", "theorem: x\nvariables: {X: {shape: [n, n]}}\nclaim: {lhs: X, rhs: X}\n"
                  "proof:\n  - expr: X\n  - expr: X\n    bye: algebra\n", "unknown key 'bye'"),
])
def test_unreadable_files_are_errors_with_a_place(tmp_path, name, content, fragment):
    p = _write(tmp_path, name, content)
    code, out = run("check", p)
    assert code == 2
    assert fragment in out
    assert "Traceback" not in out


def test_large_file_is_refused(tmp_path):
    p = _write(tmp_path, "big.yaml", "# " + "x" * 10_000_000 + "\n")
    code, out = run("check", p)
    assert code == 2 and "limit" in out


def test_missing_path(tmp_path):
    code, out = run("check", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in out


def test_folder_is_checked_recursively():
    code, out = run("check", str(ROOT / "proofs"), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["files"] >= 5


def test_rules_verify():
    code, out = run("rules", "--verify")
    assert code == 0
    assert "trace-cyclic (theorem-2, trace-property-4" in out
    assert "0 not confirmed" in out


def test_schema_is_json():
    code, out = run("schema")
    s = json.loads(out)
    assert code == 0 and "claim" in s["properties"]


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "prover.cli", "check", T5], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "valid: 8 steps" in r.stdout


def test_strict_turns_warnings_into_failures(tmp_path):
    p = _write(tmp_path, "noop.yaml", "theorem: t\nvariables: {A: {shape: [n, n]}, B: {shape: [n, n]}}\n"
               "claim: {lhs: A, rhs: A}\nproof:\n  - expr: A\n  - expr: A\n    by: algebra\n")
    assert run("check", p)[0] == 0
    code, out = run("check", "--strict", p)
    assert code == 1
    assert "warning: step 1: this step changes nothing" in out
    assert "variable B is declared but never used" in out


def test_invalid_step_message_carries_its_counterexample():
    code, out = run("check", str(ROOT / "tests" / "fail" / "matrix-product-commutes.yaml"),
                    "--format", "json")
    step = [s for s in json.loads(out)["files"][0]["steps"] if s["status"] == "invalid"][0]
    assert "counterexample at n = 2" in step["message"]
    assert step["counterexample"]["dims"] == {"n": 2}


def test_jobs_give_the_same_report():
    one = run("check", str(ROOT / "proofs"), "--format", "json")
    two = run("check", str(ROOT / "proofs"), "--format", "json", "--jobs", "2")
    strip = lambda o: [(f["path"], f["status"], [s["status"] for s in f["steps"]])  # noqa: E731
                       for f in json.loads(o[1])["files"]]
    assert one[0] == two[0] == 0 and strip(one) == strip(two)
