"""Fuzzing, short deterministic run. The long run is `python benchmarks/fuzz.py` (over 100,000
inputs); this runs every target briefly with hypothesis derandomized. Truth is decided by the
independent oracle (benchmarks/oracle.py); the kernel is driven through `check_file`.

- expression pairs (a tree, a true rewrite of it, or a mutant) as one-step proofs: the kernel
  never accepts a step the oracle refutes;
- the oracle's own parser and printer (round trip), and the kernel's reading of the same text;
- check_file on damaged proof files (never raises; a file it calls valid survives the oracle),
  `prove check` (exit 0/1/2, no traceback), and `prove grade`'s reader and grader.
"""
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz as F  # noqa: E402
import oracle as O  # noqa: E402

SHORT = dict(derandomize=True, database=None, deadline=None,
             suppress_health_check=list(HealthCheck))


def limited(seconds):
    """Run the property under a wall-clock limit: a hang fails the test."""
    def wrap(fn):
        def inner(*args, **kwargs):
            try:
                with F.time_limit(seconds):
                    return fn(*args, **kwargs)
            except F.Hang as exc:
                raise AssertionError(f"hang: {exc}") from None
        return inner
    return wrap


# -- the oracle's own text handling ---------------------------------------------------------------
@settings(max_examples=300, **SHORT)
@given(F.expressions())
def test_generated_expressions_print_and_read_back(e):
    text = O.show(e, F.NAMES)
    assert O.parse(text, F.NAMES) == e
    O.shape_of(e, F.DECLS)


@settings(max_examples=60, **SHORT)
@given(F.pairs())
def test_true_rewrites_are_true_by_the_oracle(pair):
    e, e2, how = pair
    if how.startswith("rewrite") and not how.endswith("mutant"):
        v = O.judge_trees(e, e2, F.DECLS, F.VARYING, special=False)
        assert v.status != "false", (O.show(e, F.NAMES), O.show(e2, F.NAMES), v.witness)


def test_generated_pairs_cover_true_and_false():
    """The generator must make both kinds, or the kernel check below proves little."""
    seen = set()

    @settings(max_examples=80, **SHORT)
    @given(F.pairs())
    def collect(pair):
        seen.add(O.judge_trees(pair[0], pair[1], F.DECLS, F.VARYING).status)

    collect()
    assert {"true", "false"} <= seen


# -- the kernel on the same inputs ----------------------------------------------------------------
@settings(max_examples=40, **SHORT)
@given(F.pairs())
def test_the_kernel_accepts_no_step_the_oracle_refutes(pair):
    limited(120)(F.prop_truth)(*pair)


@settings(max_examples=150, **SHORT)
@given(F.parser_inputs())
def test_parser_fuzz(text):
    limited(20)(F.prop_parser)(text)


@settings(max_examples=40, **SHORT)
@given(F.file_inputs())
def test_check_file_fuzz(raw):
    limited(120)(F.prop_check_file)(raw)


@settings(max_examples=6, **SHORT)
@given(F.file_inputs())
def test_prove_check_fuzz(tmp_path_factory, raw):
    limited(120)(F.prop_cli)(raw, tmp_path_factory.mktemp("cli"))


@settings(max_examples=100, **SHORT)
@given(F.file_inputs())
def test_grade_reader_fuzz(raw):
    limited(20)(F.prop_grade_read)(raw)


def test_grade_fuzz(tmp_path):
    tally, _ = F.grade_batch(random.Random(7), 6, tmp_path)
    assert tally.inputs == 6
    assert not tally.failures, tally.failures


def test_a_valid_file_with_a_false_claim_is_a_soundness_failure():
    """The re-check that `check-file` and `grade` rely on: it must fire on a false claim."""
    text = ("theorem: t\nvariables:\n  X: {shape: [n, n]}\nclaim:\n"
            "  lhs: X X - tr(X) X + det(X) I\n  rhs: 0\nproof:\n"
            "  - expr: X X - tr(X) X + det(X) I\n  - expr: 0\n    by: algebra\n")
    with pytest.raises(F.Failure, match="SOUNDNESS"):
        F.recheck_valid(text.encode())
    F.recheck_valid((ROOT / "proofs" / "theorem5.yaml").read_bytes())  # a true one passes


def test_unknown_key_in_a_submission_is_reported():
    from prover.grade import read_submission

    lf = read_submission((ROOT / "tests" / "fail" / "unknown-key-typo.yaml").read_bytes())
    assert "unknown key 'bye'" in " ".join(str(e) for e in [lf.error, *(p.error for p in lf.proofs)])


@pytest.mark.parametrize("text", ["theorem: t\x12\n", "theorem: t\x9e\n", "\x08"])
def test_control_characters_are_an_error(text):
    assert F.prop_check_file(text.encode("utf-8")) == "error"


def test_the_benchmark_drivers_count_and_catch_failures(tmp_path):
    tally = F.run_target("parser", 30, 1, tmp_path)
    assert tally.inputs == 30 and not tally.failures
    boom = F.Tally()
    F.run(st.integers(), lambda x: (_ for _ in ()).throw(F.Failure(f"boom {x}")), 5, 1, boom)
    assert boom.outcomes["FAILURE"] == 5 and len(boom.failures) == 5
