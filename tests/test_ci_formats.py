"""`prove check --format junit|github` (SPEC §6): valid JUnit XML with the right counts, and
GitHub workflow commands that are escaped the way the runner decodes them and stop at GitHub's
per-step limit."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from prover.ci_formats import (GITHUB_ANNOTATION_LIMIT, gh_data, gh_property, github_report,
                               junit_report, repo_path)
from prover.proofs import FileResult, check_file

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
T5 = ROOT / "proofs" / "theorem5.yaml"
FAIL = ROOT / "tests" / "fail"


@pytest.fixture(scope="module")
def two_slips(tmp_path_factory):
    """Theorem 5 with two broken steps: an unjustified one and a false one."""
    text = T5.read_text()
    text = text.replace("d(tr(a a^T X))\n    by: theorem-2",
                        "d(tr(a a^T X))\n    by: trace-transpose")  # true, wrong rule
    text = text.replace("derivative: a a^T", "derivative: 2 a a^T")  # false
    path = tmp_path_factory.mktemp("ci") / "two-slips.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def mixed(two_slips):
    paths = [T5, ROOT / "proofs" / "det.yaml", FAIL / "true-step-wrong-rule.yaml", two_slips,
             FAIL / "binary.yaml", FAIL / "stops-before-rhs.yaml"]
    return [check_file(p) for p in paths]


# -- JUnit ---------------------------------------------------------------------------------------
def test_junit_parses_and_counts_files(mixed):
    root = ET.fromstring(junit_report(mixed))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    for el in (root, suites[0]):
        assert (el.get("tests"), el.get("failures"), el.get("errors")) == ("6", "3", "1")
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [fr.path for fr in mixed]
    assert all(c.get("file") == repo_path(c.get("name")) for c in cases)  # from the root
    by_name = {Path(c.get("name")).name: c for c in cases}
    assert not list(by_name["theorem5.yaml"]) and not list(by_name["det.yaml"])  # passing cases
    assert len(by_name["two-slips.yaml"].findall("failure")) == 2  # one per broken step
    assert len(by_name["true-step-wrong-rule.yaml"].findall("failure")) == 1
    binary = by_name["binary.yaml"]
    assert binary.findall("failure") == [] and len(binary.findall("error")) == 1
    incomplete = by_name["stops-before-rhs.yaml"].findall("failure")
    assert len(incomplete) == 1 and incomplete[0].get("type") == "incomplete"


def test_junit_failure_carries_the_message_and_the_diagnostic(mixed):
    root = ET.fromstring(junit_report(mixed))
    case = next(c for c in root.iter("testcase") if c.get("name").endswith("two-slips.yaml"))
    wrong_rule, false_step = case.findall("failure")
    assert wrong_rule.get("type") == "unjustified"
    assert wrong_rule.get("message").startswith("step 2 unjustified (trace-transpose): this step "
                                                "is true, but trace-transpose does not produce it")
    assert "^^^" in wrong_rule.text
    assert false_step.get("type") == "invalid"
    assert false_step.get("message").startswith("step 7 invalid (derivative-from-differential)")
    assert "counterexample at n = " in false_step.text
    assert "tr(a a^T dX)" in case.find("system-out").text


def test_junit_escapes_markup_and_control_characters():
    nasty = FileResult('we<ird>&"q".yaml', "error", message='bad <tag> & "quote"\x01\x1b end\nnext')
    root = ET.fromstring(junit_report([nasty]))
    case = root.find("testsuite/testcase")
    assert case.get("name") == 'we<ird>&"q".yaml'
    err = case.find("error")
    assert '<tag> & "quote"' in err.get("message") and "\\x01\\x1b" in err.get("message")
    assert err.text.endswith('\\x01\\x1b end\nnext')


def test_junit_strict_turns_warnings_into_failures(tmp_path):
    text = T5.read_text().replace("  - derivative: a a^T",
                                  "  - expr: tr(a a^T dX)\n    by: algebra\n  - derivative: a a^T")
    path = tmp_path / "repeated.yaml"
    path.write_text(text)
    fr = check_file(path)
    assert fr.status == "valid"
    lax = ET.fromstring(junit_report([fr]))
    assert lax.get("failures") == "0" and lax.find("testsuite/testcase/failure") is None
    strict = ET.fromstring(junit_report([fr], strict=True))
    assert strict.get("failures") == "1"
    (failure,) = strict.findall("testsuite/testcase/failure")
    assert failure.get("type") == "warning" and "changes nothing" in failure.get("message")


def test_cli_junit_keeps_the_exit_codes(two_slips):
    code, out = run("check", "--format", "junit", T5)
    assert code == 0 and ET.fromstring(out).get("failures") == "0"
    code, out = run("check", "--format", "junit", T5, two_slips)
    assert code == 1 and ET.fromstring(out).get("failures") == "1"
    code, out = run("check", "--format", "junit", T5, FAIL / "binary.yaml")
    assert code == 2 and ET.fromstring(out).get("errors") == "1"


# -- GitHub --------------------------------------------------------------------------------------
def test_escaping_rules():
    assert gh_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert gh_property("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext%3A a%2C b"
    assert gh_data("%0A") == "%250A"  # an encoded-looking text stays literal


def test_annotation_escapes_message_and_properties():
    fr = FileResult("proofs/odd,name:x.yaml", "error", message="100% wrong: a, b\nsecond line",
                    line=3, col=7)
    first = github_report([fr]).splitlines()[0]
    assert first == ("::error file=proofs/odd%2Cname%3Ax.yaml,line=3,col=7,"
                     "title=prove%3A cannot check this file::100%25 wrong: a, b%0Asecond line")


def test_annotations_point_at_the_broken_step(mixed):
    lines = github_report(mixed).splitlines()
    errors = [x for x in lines if x.startswith("::error ")]
    assert len(errors) == 5  # 1 + 2 + 1 (binary) + 1 (incomplete); valid files have none
    wrong_rule = next(x for x in errors if "true-step-wrong-rule.yaml" in x)
    assert ",line=14,col=11," in wrong_rule
    assert "title=prove%3A step 1 unjustified (trace-transpose)::" in wrong_rule
    assert wrong_rule.endswith("trace-cyclic would justify it%0Ahelp: cite trace-cyclic")
    assert "\n" not in "".join(errors)  # each command stays on one line
    assert lines[-1] == "6 files: 2 valid, 3 invalid, 1 error"


def test_annotations_are_capped_and_the_rest_summarised():
    results = [FileResult(f"proofs/p{i:02}.yaml", "error", message=f"problem {i}")
               for i in range(14)]
    lines = github_report(results).splitlines()
    errors = [x for x in lines if x.startswith("::error ")]
    assert len(errors) == GITHUB_ANNOTATION_LIMIT == 10
    assert errors[-1].endswith("::problem 9")
    notices = [x for x in lines if x.startswith("::notice ")]
    assert len(notices) == 1 and "4 more problems not annotated" in notices[0]
    for i in range(10, 14):  # the rest are plain log lines, not commands
        assert any(x.startswith(f"proofs/p{i}.yaml:1:1: ") and x.endswith(f"problem {i}")
                   for x in lines)
    assert sum(x.startswith("::") for x in lines) == 11


def test_no_notice_under_the_cap(mixed):
    assert "::notice" not in github_report(mixed)


def test_cli_github_format(two_slips):
    code, out = run("check", "--format", "github", T5)
    assert code == 0 and "::error" not in out
    assert out.strip().endswith("1 file: 1 valid, 0 invalid, 0 error")
    code, out = run("check", "--format", "github", two_slips)
    assert code == 1 and out.count("::error ") == 2
