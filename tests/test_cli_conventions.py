"""Everyday command-line conventions: `python -m prover`, light start-up (what each command
imports, not how long it takes: the timings are benchmarks/startup_bench.py's), NO_COLOR and
--color, `-` for standard input, `.yml` files, `derive --show` and `-o -`, expressions that start
with `-`, and no SymPy at run time."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
T5 = ROOT / "proofs" / "theorem5.yaml"
SLIP = ROOT / "examples" / "theorem5-slip.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
QUAD = ["--wrt", "X", "--var", "a: n x 1 constant", "--var", "X: n x n"]


def invoke(*args, input=None, env=None):
    r = run_cli([str(a) for a in args], input=input, env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def python(*args, input=None, env=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env or {})
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          input=input, env=e, timeout=300)


# -- python -m prover -----------------------------------------------------------------------------
def test_python_m_prover_version_and_help():
    r = python("-m", "prover", "--version")
    assert r.returncode == 0 and re.fullmatch(r"prove, version \S+\n", r.stdout), r
    assert "unknown" not in r.stdout  # the distribution name in cli.py is the installed one
    r = python("-m", "prover", "--help")
    assert r.returncode == 0 and "check" in r.stdout and "python -m prover" in r.stdout


def test_python_m_prover_checks():
    r = python("-m", "prover", "check", str(T5))
    assert r.returncode == 0 and "1 valid" in r.stdout


# -- start-up: what each command imports ----------------------------------------------------------
def _modules_after(*argv: str) -> set[str]:
    code = ("import sys\nfrom prover.cli import main\nsys.argv = ['prove', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    r = python("-c", code, *argv)
    lines = r.stderr.strip().splitlines()
    return set(lines[-1].split()) if lines else set()


HEAVY = {"prover.derive", "prover.grade", "prover.proofs", "prover.rulebase", "prover.equiv",
         "prover.latex", "pydantic", "z3", "yaml", "sympy", "numpy"}


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("check", "--help"),
                                  ("grade", "--help"), ("derive", "--help")])
def test_version_and_help_import_no_checker(argv):
    mods = _modules_after(*argv)
    assert "argparse" in mods  # the probe worked
    assert not (mods & HEAVY), sorted(mods & HEAVY)


def test_check_imports_no_deriver_grader_or_renderer():
    mods = _modules_after("check", str(T5))
    assert "prover.proofs" in mods
    assert not (mods & {"prover.derive", "prover.grade", "prover.latex", "prover.equiv",
                        "prover.ci_formats", "sympy", "numpy"}), mods


def test_grade_default_timeout_matches_the_grader():
    from prover import cli_grade, grade

    assert cli_grade.DEFAULT_TIMEOUT == grade.DEFAULT_TIMEOUT


# -- colour ----------------------------------------------------------------------------------------
def test_check_color_always_never_and_no_color():
    always = invoke("check", "--color", "always", T5).output
    assert ANSI.search(always)
    assert not ANSI.search(invoke("check", "--color", "never", T5).output)
    # auto: not a terminal here, so none; --color always beats NO_COLOR (no-color.org)
    assert not ANSI.search(invoke("check", T5).output)
    assert ANSI.search(invoke("check", "--color", "always", T5, env={"NO_COLOR": "1"}).output)
    assert ANSI.sub("", always) == invoke("check", "--color", "never", T5).output


def test_use_color_auto_honours_no_color(monkeypatch):
    from prover.cli_common import use_color

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color("auto", Tty()) and use_color("always", Tty()) and not use_color("never", Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color("auto", Tty()) and use_color("always", Tty())
    monkeypatch.setenv("NO_COLOR", "")  # empty means unset
    assert use_color("auto", Tty())


def test_grade_takes_the_same_color_option():
    args = ["grade", ROOT / "examples" / "class" / "alice", "--single", "-a",
            ROOT / "examples" / "hw.yaml"]
    assert ANSI.search(invoke(*args, "--color", "always").output)
    assert not ANSI.search(invoke(*args, "--color", "never").output)
    assert not ANSI.search(invoke(*args, "--color", "auto", env={"NO_COLOR": "1"}).output)


# -- `-` is standard input ------------------------------------------------------------------------
def test_check_reads_standard_input():
    r = invoke("check", "-", input=T5.read_text())
    assert r.exit_code == 0 and r.output.startswith("<stdin>: ")
    r = invoke("check", "--format", "json", "-", input=SLIP.read_text())
    assert r.exit_code == 1 and '"path": "<stdin>"' in r.output
    r = invoke("check", "-", input=SLIP.read_text())
    assert re.search(r"^<stdin>:\d+:\d+: invalid", r.output, re.M), r.output


def test_check_standard_input_errors_name_stdin():
    r = invoke("check", "-", input="")
    assert r.exit_code == 2 and r.output.startswith("<stdin>:1:1: error")
    r = invoke("check", "-", input="claim: [unclosed\n")
    assert r.exit_code == 2 and r.output.startswith("<stdin>:")
    r = python("-m", "prover", "check", "-", input="\0\0")
    assert r.returncode == 2 and "<stdin>" in r.stdout and "Traceback" not in r.stderr


def test_check_stdin_together_with_files():
    r = invoke("check", T5, "-", input=T5.read_text())
    assert r.exit_code == 0 and "2 files: 2 valid" in r.output


# -- .yml -----------------------------------------------------------------------------------------
def test_check_dir_finds_yml(tmp_path):
    (tmp_path / "a.yml").write_text(T5.read_text())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(T5.read_text())
    (tmp_path / "notes.txt").write_text("not a proof")
    r = invoke("check", tmp_path)
    assert r.exit_code == 0 and "2 files: 2 valid" in r.output and "a.yml" in r.output


def test_only_yml_is_not_no_files(tmp_path):
    (tmp_path / "only.yml").write_text(T5.read_text())
    assert invoke("check", tmp_path).exit_code == 0
    (tmp_path / "only.yml").unlink()
    r = invoke("check", tmp_path)
    assert r.exit_code == 2 and "*.yml" in r.output


def test_lemma_in_a_yml_file(tmp_path):
    lemma = re.sub(r"^theorem: .*$", "theorem: quad-lemma", T5.read_text(), count=1, flags=re.M)
    (tmp_path / "lemma.yml").write_text(lemma)
    from prover.citations import normalize
    from prover.proofs import Library
    from prover.rulebase import load_rulebook

    _, book = load_rulebook()
    assert Library(book)._scan(tmp_path) == {normalize("quad-lemma"): tmp_path / "lemma.yml"}


def test_pre_commit_hook_matches_yml():
    import yaml

    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    assert re.search(hook["files"], "proofs/x.yml") and re.search(hook["files"], "proofs/x.yaml")


# -- derive --show and -o - -----------------------------------------------------------------------
def test_derive_dash_o_dash_writes_the_proof_to_stdout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = python("-m", "prover", "derive", "a^T X a", *QUAD, "-o", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("theorem: ") and "∂(a^T X a)/∂X = a a^T" in r.stderr
    assert not (tmp_path / "-").exists() and not (ROOT / "-").exists()
    again = python("-m", "prover", "check", "-", input=r.stdout)
    assert again.returncode == 0 and "<stdin>" in again.stdout


def test_derive_show_prints_the_proof(tmp_path):
    r = python("-m", "prover", "derive", "a^T X a", *QUAD, "--show")
    assert r.returncode == 0 and r.stdout.startswith("theorem: ") and "a a^T" in r.stderr
    out = tmp_path / "p.yaml"
    r = python("-m", "prover", "derive", "a^T X a", *QUAD, "--show", "-o", str(out))
    assert r.returncode == 0 and r.stdout == out.read_text()


def test_derive_show_with_json_is_a_usage_error():
    r = invoke("derive", "a^T X a", *QUAD, "--show", "--format", "json")
    assert r.exit_code == 2 and "json" in r.output


def test_derive_plain_output_unchanged():
    r = invoke("derive", "a^T X a", *QUAD)
    assert r.exit_code == 0 and r.output.startswith("∂(a^T X a)/∂X = a a^T\n")


# -- expressions that start with '-' ---------------------------------------------------------------
V = ["--var", "a: n x 1", "--var", "x: n x 1"]


def test_equiv_after_double_dash():
    r = invoke("equiv", *V, "--", "-a^T x", "-(x^T a)")
    assert r.exit_code == 0 and r.output.startswith("equal"), r.output


def test_equiv_leading_minus_without_double_dash():
    r = invoke("equiv", "-a^T x", "-(x^T a)", *V)
    assert r.exit_code == 0 and r.output.startswith("equal"), r.output
    r = invoke("equiv", "-a^T x", "x^T a", *V)
    assert r.exit_code == 1 and "not equal" in r.output


def test_derive_leading_minus():
    r = invoke("derive", "-a^T X a", *QUAD)
    assert r.exit_code == 0 and "= -a a^T" in r.output, r.output


def test_leading_minus_is_documented():
    assert "--" in invoke("equiv", "--help").output
    assert "--" in invoke("derive", "--help").output


# -- dependencies ---------------------------------------------------------------------------------
def test_sympy_is_not_a_runtime_dependency():
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.lower().startswith("sympy") for d in meta["dependencies"])
    assert any(d.lower().startswith("sympy") for d in meta["optional-dependencies"]["test"])
    assert meta["name"] != "prove"  # PyPI's `prove` is another project
    assert meta["scripts"]["prove"] == "prover.cli:entry"


def test_nothing_under_prover_imports_sympy():
    for path in (ROOT / "prover").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "sympy" for n in names), path


def test_check_stdin_holding_a_list_of_proofs():
    one = T5.read_text().splitlines()
    item = "\n".join(("- " if i == 0 else "  ") + line if line else line
                     for i, line in enumerate(one))
    r = invoke("check", "-", input=item + "\n" + item + "\n")
    assert r.exit_code == 0 and "<stdin>#1: " in r.output and "<stdin>#2: " in r.output
