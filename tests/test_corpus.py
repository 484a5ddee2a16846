"""Proofs as data (STYLE §7): every proof in proofs/ must check, and every file in tests/fail/
must fail exactly as its `# expect:` header says."""
import json
import re
from pathlib import Path

import pytest

from prover.proofs import check_file
from prover.render import json_report

ROOT = Path(__file__).resolve().parent.parent
GOOD = sorted((ROOT / "proofs").rglob("*.yaml"))
BAD = sorted(p for p in (ROOT / "tests" / "fail").glob("*.yaml"))


def test_there_is_a_corpus():
    assert len(GOOD) >= 5 and (ROOT / "proofs" / "theorem5.yaml") in GOOD
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_proofs_check(path):
    fr = check_file(path)
    bad = [(s.index, s.status, s.message) for s in fr.steps if s.status != "valid"]
    assert fr.status == "valid", (fr.message, bad)
    assert all(s.status == "valid" for s in fr.steps)


def expectations(path: Path) -> list[tuple[str, str, str]]:
    side = path.with_suffix(".expect")
    text = side.read_text() if side.exists() else path.read_text(errors="replace")
    out = []
    for line in text.splitlines():
        m = re.match(r"#?\s*expect(-file)?:\s*(\S+)\s+(\S+)?\s*(.*)$", line)
        if m:
            if m.group(1):
                out.append(("file", m.group(2), ((m.group(3) or "") + " " + m.group(4)).strip()))
            else:
                out.append((m.group(2), m.group(3), m.group(4).strip()))
    return out


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_proofs_fail_as_expected(path):
    expected = expectations(path)
    assert expected, f"{path.name} states no expectation"
    fr = check_file(path)
    report = json.loads(json_report([fr]))["files"][0]
    assert report["status"] != "valid"
    for where, verdict, fragment in expected:
        if where == "file":
            assert report["status"] == verdict, report
            assert fragment in report.get("message", ""), report
        else:
            steps = {s["index"]: s for s in report["steps"]}
            step = steps.get(int(where))
            assert step is not None, f"no step {where} in {report}"
            assert step["status"] == verdict, step
            assert fragment in step["message"], step


def test_invalid_steps_carry_a_counterexample():
    for path in BAD:
        fr = check_file(path)
        for s in fr.steps:
            if s.status == "invalid" and "false" in s.message:
                assert s.counterexample is not None or "random point" in s.message, (path, s)
