"""Everyday use: the editor schema says what it is and rejects what the checker rejects, a file may
hold a list of proofs, CI reports name files from the repository root, and docs/ci.md's
recipes (pre-commit, pip from git) work as written."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from prover.ci_formats import github_report, junit_report, repo_path
from prover.proofs import check_file, check_path, collect

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
PROOFS = sorted((ROOT / "proofs").glob("*.yaml"))
T5 = ROOT / "proofs" / "theorem5.yaml"


@pytest.fixture(scope="module")
def schema():
    code, out = run("schema")
    assert code == 0
    return json.loads(out)


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft7Validator(schema)


# -- the schema's dialect -------------------------------------------------------------------------
LATER_KEYWORDS = {"$defs", "prefixItems", "unevaluatedItems", "unevaluatedProperties",
                  "dependentRequired", "dependentSchemas", "$anchor", "$dynamicRef",
                  "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "minContains",
                  "maxContains", "$vocabulary"}


def keywords(node, names=False):
    """Every schema keyword used (not the names under properties/definitions)."""
    if isinstance(node, list):
        for x in node:
            yield from keywords(x)
    elif isinstance(node, dict):
        for k, v in node.items():
            if not names:
                yield k
            yield from keywords(v, names=not names and k in ("properties", "definitions"))


def test_schema_is_draft_07_and_uses_only_draft_07(schema):
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    assert not set(keywords(schema)) & LATER_KEYWORDS
    refs = {v for k, v in _pairs(schema) if k == "$ref"}
    assert refs and all(r.startswith("#/definitions/") for r in refs)
    for r in refs:
        assert r.split("/")[-1] in schema["definitions"]


def _pairs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _pairs(v)
    elif isinstance(node, list):
        for x in node:
            yield from _pairs(x)


def test_saved_schema_is_current(schema):
    assert json.loads((ROOT / "docs" / "proof.schema.json").read_text()) == schema, \
        "regenerate with: prove schema > docs/proof.schema.json"


# -- what it accepts and rejects ------------------------------------------------------------------
@pytest.mark.parametrize("path", PROOFS, ids=lambda p: p.name)
def test_every_shipped_proof_is_accepted(path, validator):
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, [e.message for e in errors]


def proof(**over):
    base = {"theorem": "t", "variables": {"X": {"shape": ["n", "n"]}},
            "claim": {"lhs": "X", "rhs": "X"}, "proof": [{"expr": "X"}]}
    base.update(over)
    return base


GOOD = {
    "symbols": proof(),
    "integers": proof(variables={"X": {"shape": [2, 8]}}),
    "scalar": proof(variables={"s": {"shape": "scalar", "constant": True}}),
    "a number as an expression": proof(claim={"lhs": "0", "rhs": 0}),
    "a derivative claim": proof(claim={"derivative": "tr(X)", "wrt": "X", "equals": "I"},
                                proof=[{"expr": "d(tr(X))"}, {"derivative": "I", "by": ["x"]}]),
    "assumptions": proof(assume={"sizes": ["m >= n", "n >= 3"], "invertible": ["X^T X"]}),
    "a list of proofs": [proof(), proof(theorem="u")],
}

BAD = {
    "shape [true, {a: 1}]": proof(variables={"X": {"shape": [True, {"a": 1}]}}),
    "shape of three": proof(variables={"X": {"shape": ["n", "n", "n"]}}),
    "shape of one": proof(variables={"X": {"shape": ["n"]}}),
    "a zero dimension": proof(variables={"X": {"shape": [0, "n"]}}),
    "a negative dimension": proof(variables={"X": {"shape": [-1, "n"]}}),
    "a dimension past the limit": proof(variables={"X": {"shape": [9, "n"]}}),
    "a fractional dimension": proof(variables={"X": {"shape": [1.5, "n"]}}),
    "a quoted number as a dimension": proof(variables={"X": {"shape": ["2", "n"]}}),
    "a dimension that is not a name": proof(variables={"X": {"shape": ["n m", 2]}}),
    "shape neither scalar nor a pair": proof(variables={"X": {"shape": "vector"}}),
    "no shape": proof(variables={"X": {"constant": True}}),
    "a variable named like a number": proof(variables={"1X": {"shape": ["n", "n"]}}),
    "a reserved variable name": proof(variables={"tr": {"shape": ["n", "n"]}}),
    "an unknown key": {**proof(), "bye": 1},
    "an unknown variable flag": proof(variables={"X": {"shape": ["n", "n"], "const": True}}),
    "a claim of both kinds": proof(claim={"lhs": "X", "rhs": "X", "wrt": "X"}),
    "a boolean expression": proof(claim={"lhs": True, "rhs": "X"}),
    "a step of both kinds": proof(proof=[{"expr": "X", "derivative": "X"}]),
    "a rule that is a number": proof(proof=[{"expr": "X"}, {"expr": "X", "by": 3}]),
    "an upside-down size relation": proof(assume={"sizes": ["m => n"]}),
    "no claim": {k: v for k, v in proof().items() if k != "claim"},
    "an empty list": [],
    "a list with a non-proof": [proof(), "not a proof"],
    "a list of lists": [[proof()]],
    "a bare string": "theorem5",
}


@pytest.mark.parametrize("name", GOOD)
def test_schema_accepts(name, validator):
    errors = list(validator.iter_errors(GOOD[name]))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("name", BAD)
def test_schema_rejects(name, validator):
    assert list(validator.iter_errors(BAD[name]))


@pytest.mark.parametrize("name", [n for n in BAD if "dimension" in n or "shape" in n
                                  or "variable" in n])
def test_the_checker_rejects_what_the_schema_rejects(name, tmp_path):
    """A declaration the editor underlines is one the checker refuses too."""
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(BAD[name]))
    assert check_file(path).status == "error"


def test_completion_offers_no_pydantic_internals(schema):
    """The YAML language server offers an object's `title` as a completion item, `null` for a
    `null` type and a 'Default value' for `default: null`: none of pydantic's are left."""
    pairs = list(_pairs(schema))
    titles = {v for k, v in pairs if k == "title" and isinstance(v, str)}
    assert titles and not titles & {"ProofFile", "VarDecl", "IdentityClaim", "DerivativeClaim",
                                    "ExprStep", "DerivativeStep", "Assume"}
    assert all(t[0].islower() for t in titles)  # words, not class names
    assert {"type": "null"} not in [v for k, v in pairs if k in ("anyOf", "oneOf")
                                    for v in v]
    assert all(v is not None for k, v in pairs if k == "default")
    assert "null" not in json.dumps([v for k, v in pairs if k == "type"])
    # the rule names are offered for `by:`
    names = schema["definitions"]["Citation"]["anyOf"][0]["enum"]
    assert {"trace-cyclic", "theorem-2", "index"} <= set(names)


# -- a file that holds a list of proofs -----------------------------------------------------------
def as_item(path: Path, text: str | None = None) -> str:
    """A proof file's text as one item of a YAML list (comments dropped)."""
    lines = [x for x in (text or path.read_text()).splitlines() if not x.startswith("#")]
    return "\n".join(("- " if i == 0 else "  ") + x for i, x in enumerate(lines)) + "\n"


@pytest.fixture(scope="module")
def proof_list(tmp_path_factory):
    """Three items: a valid proof, Theorem 5 with a wrong rule cited, and a string."""
    slip = T5.read_text().replace("by: theorem-2", "by: trace-transpose")
    text = ("# three proofs\n" + as_item(ROOT / "proofs" / "trace-XtA.yaml")
            + as_item(T5, slip) + "- not a proof\n")
    path = tmp_path_factory.mktemp("list") / "set.yaml"
    path.write_text(text)
    return path


def test_check_reports_each_proof_of_a_list(proof_list):
    code, out = run("check", "--format", "json", proof_list)
    assert code == 2  # one item cannot be checked at all
    files = json.loads(out)["files"]
    assert [f["path"] for f in files] == [f"{proof_list}#{i}" for i in (1, 2, 3)]
    assert [f["status"] for f in files] == ["valid", "invalid", "error"]
    lines = proof_list.read_text().splitlines()
    slip = next(s for s in files[1]["steps"] if s["status"] != "valid")
    assert slip["by"] == ["trace-transpose"]
    assert lines[slip["line"] - 1].strip() == "- expr: d(tr(a a^T X))"  # the file's own lines
    first = [s["line"] for s in files[0]["steps"]]
    assert first == sorted(first) and first[-1] < slip["line"]
    assert files[2]["line"] == len(lines) and "not a proof" in files[2]["message"]


def test_check_one_proof_of_a_list(proof_list):
    code, out = run("check", f"{proof_list}#1")
    assert code == 0 and "valid: 8 steps" in out
    code, out = run("check", f"{proof_list}#2")
    assert code == 1 and f"{proof_list}#2:" in out
    code, out = run("check", f"{proof_list}#4")
    assert code == 2 and "holds 3 proofs" in out


def test_text_report_points_into_the_list(proof_list):
    code, out = run("check", proof_list)
    assert code == 2
    lines = proof_list.read_text().splitlines()
    m = re.search(rf"{re.escape(str(proof_list))}#2:(\d+):(\d+): unjustified", out)
    assert m and "d(tr(a a^T X))" in lines[int(m.group(1)) - 1]


def test_a_list_can_cite_its_own_proofs(tmp_path):
    """A proof in a list is a lemma for the others (found as FILE#N)."""
    lemma = as_item(ROOT / "proofs" / "trace-cyclic-three.yaml")
    theorem = yaml.safe_load((ROOT / "proofs" / "trace-cyclic-three.yaml").read_text())["theorem"]
    user = {"theorem": "uses-it", "variables": {"A": {"shape": ["n", "n"]},
                                                "B": {"shape": ["n", "n"]},
                                                "C": {"shape": ["n", "n"]}},
            "claim": {"lhs": "tr(A B C)", "rhs": "tr(C A B)"},
            "proof": [{"expr": "tr(A B C)"}, {"expr": "tr(C A B)", "by": theorem}]}
    path = tmp_path / "pair.yaml"
    path.write_text(lemma + yaml.safe_dump([user], sort_keys=False))
    results = check_path(path)
    assert [r.path for r in results] == [f"{path}#1", f"{path}#2"]
    assert [r.status for r in results] == ["valid", "valid"], [r.message for r in results]
    assert results[1].steps[1].by == [theorem]


def test_lists_in_folders_and_the_api(proof_list, tmp_path):
    files, missing = collect([str(proof_list.parent)])
    assert [str(f) for f in files] == [f"{proof_list}#{i}" for i in (1, 2, 3)] and not missing
    assert len(check_path(T5)) == 1 and check_path(T5)[0].path == str(T5)
    empty = tmp_path / "empty.yaml"
    empty.write_text("[]\n")
    (fr,) = check_path(empty)
    assert fr.status == "error" and "empty list" in fr.message
    text = proof_list.read_text()
    assert [r.status for r in check_path("<stdin>", text=text)] == ["valid", "invalid", "error"]


# -- CI paths from the repository root ------------------------------------------------------------
def test_repo_path(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "course" / "proofs").mkdir(parents=True)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.chdir(repo / "course")
    assert repo_path("proofs/a.yaml") == "proofs/a.yaml"
    assert repo_path(str(repo / "course" / "proofs" / "a.yaml")) == "proofs/a.yaml"
    assert repo_path("./proofs/../proofs/a.yaml") == "proofs/a.yaml"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo))  # a job that runs in a subfolder
    assert repo_path("proofs/a.yaml") == "course/proofs/a.yaml"
    outside = tmp_path / "elsewhere.yaml"
    assert repo_path(str(outside)) == outside.as_posix()  # not below the root: kept absolute


def test_ci_reports_name_files_from_the_repository_root(proof_list, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    sub = repo / "course" / "proofs"
    sub.mkdir(parents=True)
    shutil.copy(proof_list, sub / "set.yaml")
    shutil.copy(T5, sub / "theorem5.yaml")
    monkeypatch.chdir(repo / "course")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo))
    results = [r for p in ("proofs/set.yaml", "proofs/theorem5.yaml") for r in check_path(p)]
    gh = [x for x in github_report(results).splitlines() if x.startswith("::error ")]
    assert len(gh) == 2 and all(x.startswith("::error file=course/proofs/set.yaml,") for x in gh)
    cases = ET.fromstring(junit_report(results)).iter("testcase")
    got = [(c.get("name"), c.get("file")) for c in cases]
    assert got == [("proofs/set.yaml#1", "course/proofs/set.yaml"),
                   ("proofs/set.yaml#2", "course/proofs/set.yaml"),
                   ("proofs/set.yaml#3", "course/proofs/set.yaml"),
                   ("proofs/theorem5.yaml", "course/proofs/theorem5.yaml")]
    monkeypatch.delenv("GITHUB_WORKSPACE")
    assert junit_report(results).count('file="proofs/set.yaml"') == 3
    abs_results = check_path(sub / "theorem5.yaml")  # absolute paths below the working dir
    assert 'file="proofs/theorem5.yaml"' in junit_report(abs_results)


# -- docs/ci.md: pre-commit and pip from git, as written ------------------------------------------
CI_DOC = (ROOT / "docs" / "ci.md").read_text()
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def git(*args, cwd=ROOT, check=True):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check,
                          timeout=120)


def pinned_revs() -> set[str]:
    revs = set(re.findall(r"^\s*rev: (\S+)", CI_DOC, re.M))
    revs |= set(re.findall(r"git\+https://\S+?@([0-9a-f]{7,40})\b", CI_DOC))
    return revs


def in_git_checkout() -> bool:
    return shutil.which("git") is not None and (ROOT / ".git").exists()


@pytest.mark.skipif(not in_git_checkout(), reason="needs this repository's git history")
def test_ci_doc_pins_a_commit_that_exists():
    """pre-commit and pip need a rev that exists: the page pins one commit (no release tag has
    been made yet), the same everywhere, and that commit has the hook and the package name the
    recipes use."""
    revs = pinned_revs()
    assert len(revs) == 1, revs
    (rev,) = revs
    assert re.fullmatch(r"[0-9a-f]{40}", rev), "pin a full commit id (or a tag that exists)"
    if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone does not hold the history the page pins")
    assert git("cat-file", "-e", f"{rev}^{{commit}}", check=False).returncode == 0, \
        f"docs/ci.md pins {rev}, which is not in this repository's history"
    hooks = yaml.safe_load(git("show", f"{rev}:.pre-commit-hooks.yaml").stdout)
    assert "prove-check" in [h["id"] for h in hooks]
    name = re.search(r'^name = "([^"]+)"', git("show", f"{rev}:pyproject.toml").stdout, re.M)[1]
    for spec in re.findall(r'pip install "([^"]+)"', CI_DOC):
        assert spec.startswith(f"{name} @ git+") and spec.endswith(f"@{rev}"), spec


def course_repo(tmp_path: Path) -> Path:
    """A course repository: a good proof, a broken one, and a YAML file outside proofs/."""
    course = tmp_path / "course"
    (course / "proofs").mkdir(parents=True)
    (course / "notes").mkdir()
    shutil.copy(T5, course / "proofs" / "theorem5.yaml")
    (course / "proofs" / "broken.yml").write_text(
        T5.read_text().replace("derivative: a a^T", "derivative: 2 a a^T"))
    (course / "notes" / "outline.yaml").write_text("not: a proof\n")
    (course / "README.md").write_text("notes\n")
    return course


def test_hook_entry_as_pre_commit_runs_it(tmp_path):
    """What pre-commit runs for `prove-check`: the entry with the staged files that match
    `files` and `types`, from the course repository's root."""
    (hook,) = [h for h in HOOKS if h["id"] == "prove-check"]
    assert hook["language"] == "python" and hook.get("pass_filenames", True)
    assert hook["types"] == ["yaml"]
    course = course_repo(tmp_path)
    files = sorted(p.relative_to(course).as_posix() for p in course.rglob("*") if p.is_file())
    pattern = re.compile(hook["files"])
    staged = [f for f in files if pattern.search(f) and f.endswith((".yaml", ".yml"))]
    assert staged == ["proofs/broken.yml", "proofs/theorem5.yaml"]
    prove = shutil.which("prove", path=str(Path(sys.executable).parent))
    assert prove, "the prove console script is not installed next to this Python"
    entry = shlex.split(hook["entry"])
    assert Path(entry[0]).name == "prove"
    run_hook = lambda names, args=(): subprocess.run(  # noqa: E731
        [prove, *entry[1:], *hook.get("args", []), *args, *names], cwd=course,
        capture_output=True, text=True, timeout=300)
    r = run_hook(staged)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "proofs/broken.yml" in r.stdout and "outline" not in r.stdout
    assert "2 files: 1 valid, 1 invalid, 0 error" in r.stdout
    assert run_hook(["proofs/theorem5.yaml"]).returncode == 0
    r = run_hook([], ["proofs/"])  # the page's `args: [proofs/]` with `pass_filenames: false`
    assert r.returncode == 1 and "broken.yml" in r.stdout


@pytest.mark.skipif(shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is None
                    or not in_git_checkout(), reason="needs pre-commit (test extras) and git")
def test_pre_commit_try_repo_with_the_pinned_commit(tmp_path):
    """docs/ci.md's pre-commit recipe for real: `pre-commit try-repo` from a local clone at the
    commit the page pins (pre-commit builds the hook's environment with pip, as it would from
    the hosted repository)."""
    (rev,) = pinned_revs()
    clone = tmp_path / "prove"
    git("clone", "--quiet", "--no-checkout", str(ROOT), str(clone))
    course = course_repo(tmp_path)
    git("init", "--quiet", cwd=course)
    git("add", ".", cwd=course)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    r = subprocess.run([pre_commit, "try-repo", str(clone), "prove-check", "--ref", rev,
                        "--all-files"], cwd=course, capture_output=True, text=True, env=env,
                       timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert re.search(r"prove check\.+Failed", out), out
    assert "proofs/broken.yml" in out and "outline" not in out
    assert "2 files: 1 valid, 1 invalid, 0 error" in out


def test_strict_warning_points_at_its_own_proofs_declaration(tmp_path):
    one = {"theorem": "a", "variables": {"X": {"shape": ["n", "n"]}, "Y": {"shape": ["n", "n"]}},
           "claim": {"lhs": "X", "rhs": "X"}, "proof": [{"expr": "X"}]}
    path = tmp_path / "two.yaml"
    two = yaml.safe_load(yaml.safe_dump(one)) | {"theorem": "b"}  # a copy: no YAML aliases
    path.write_text(yaml.safe_dump([one, two], sort_keys=False))
    lines = path.read_text().splitlines()
    errors = [x for x in github_report(check_path(path), strict=True).splitlines()
              if x.startswith("::error ")]
    got = [int(re.search(r",line=(\d+),", x)[1]) for x in errors]
    assert len(got) == 2 and got[0] < got[1]
    assert all(lines[n - 1].strip().startswith("Y:") for n in got)
