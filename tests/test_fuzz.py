"""Fuzzing, short deterministic run (issue 6). The long run is `python benchmarks/fuzz.py`
(≥ 100,000 inputs); this runs every target for a few seconds with hypothesis derandomized.

- check_equal against an independent numeric evaluation on random well-shaped expression pairs;
- the parser (round trip, only ProveError), the YAML loader (only SourceError), check_file
  (never raises, answers in time, and a file it calls valid has a numerically true claim), and
  `prove check` (exit 0/1/2, no traceback), on token soup, random text and bytes, and damaged
  proof files.
"""
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz as F  # noqa: E402

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


# -- the semantic check against numbers ---------------------------------------------------------
@settings(max_examples=200, **SHORT)
@given(F._safe_pairs())
def test_check_equal_agrees_with_numeric_evaluation(pair):
    limited(60)(F.prop_truth)(*pair, use_z3=False)


@settings(max_examples=25, **SHORT)
@given(F._safe_pairs(3))
def test_check_equal_with_z3_agrees_with_numeric_evaluation(pair):
    limited(60)(F.prop_truth)(*pair, use_z3=True)


def test_generated_pairs_cover_true_and_false():
    """The generator must produce both kinds, or the property above proves little."""
    seen = set()

    @settings(max_examples=150, **SHORT)
    @given(F._safe_pairs())
    def collect(pair):
        seen.add(F.prop_truth(*pair).split("/")[0])

    collect()
    assert {"true", "false"} <= seen


# -- parser, loader, check_file, prove check ------------------------------------------------------
@settings(max_examples=400, **SHORT)
@given(F.parser_inputs())
def test_parser_fuzz(text):
    limited(10)(F.prop_parser)(text)


@settings(max_examples=250, **SHORT)
@given(F.yaml_inputs())
def test_yaml_loader_fuzz(text):
    limited(10)(F.prop_yaml)(text)


@settings(max_examples=60, **SHORT)
@given(F.file_inputs())
def test_check_file_fuzz(tmp_path_factory, raw):
    limited(120)(F.prop_check_file)(raw, tmp_path_factory.mktemp("fuzz"))


@settings(max_examples=8, **SHORT)
@given(F.file_inputs())
def test_prove_check_fuzz(tmp_path_factory, raw):
    limited(120)(F.prop_cli)(raw, tmp_path_factory.mktemp("cli"))


@settings(max_examples=150, **SHORT)
@given(F.file_inputs())
def test_grade_reader_fuzz(raw):
    limited(20)(F.prop_grade_read)(raw)


def test_grade_fuzz(tmp_path):
    import random

    tally, _ = F.grade_batch(random.Random(7), 8, tmp_path)
    assert tally.inputs == 8
    assert not tally.failures, tally.failures


def test_unknown_key_in_a_submission_is_reported():
    """Found by the grade-read fuzz target (it used to raise IndexError in proofs._allowed)."""
    from prover.grade import read_submission

    lf = read_submission((ROOT / "tests" / "fail" / "unknown-key-typo.yaml").read_bytes())
    assert "unknown key 'bye'" in (lf.error + " ".join(p.error for p in lf.proofs))


@pytest.mark.parametrize("text", ["theorem: t\x12\n", "theorem: t\x9e\n", "\x08"])
def test_control_characters_are_a_source_error(tmp_path, text):
    from prover.source import SourceError, load_yaml

    with pytest.raises(SourceError):
        load_yaml(text)
    p = tmp_path / "ctl.yaml"
    p.write_text(text, encoding="utf-8")
    fr = F.prop_check_file(p.read_bytes(), tmp_path)
    assert fr == "error"


def test_the_benchmark_drivers_count_and_catch_failures(tmp_path):
    """benchmarks/fuzz.py's driver: counts inputs, records failures rather than stopping."""
    tally = F.run_target("parser", 50, 1, tmp_path)
    assert tally.inputs == 50 and not tally.failures
    boom = F.Tally()
    F.run(st.integers(), lambda x: (_ for _ in ()).throw(F.Failure(f"boom {x}")), 5, 1, boom)
    assert boom.outcomes["FAILURE"] == 5 and len(boom.failures) == 5
