"""Mutation testing, short deterministic sample. The full campaign is
`python benchmarks/mutation.py`; this mutates a few proofs with a few mutants per step and
asserts that the kernel accepts no mutant that the independent oracle (benchmarks/oracle.py:
its own grammar, shapes and exact evaluation, nothing shared with the kernel) finds false. The
kernel is driven only through `prover.proofs.check_file`."""
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation as M  # noqa: E402
import oracle as O  # noqa: E402

DECLS = O.read_variables({"a": {"shape": ["n", 1], "constant": True}, "X": {"shape": ["n", "n"]},
                          "A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]},
                          "s": {"shape": "scalar"}, "Y": {"shape": ["n", "m"]}})
NAMES = frozenset(DECLS)


def test_mutants_are_well_shaped_and_new():
    for text in ("tr(a a^T dX)", "a^T X a + 2 tr(A B X^-1)", "d(X^T A X) - (a^T X a) d(X^2)"):
        e = O.parse(text, NAMES)
        ms = M.mutants(e, DECLS)
        assert len(ms) >= 10
        for _, m, mtext in ms:
            assert m != e and O.parse(mtext, NAMES) == m
            assert O.shape_of(m, DECLS) == O.shape_of(e, DECLS)
    e = O.parse("tr(a a^T dX) + tr(A X B) + a^T A X a / s", NAMES)
    kinds = {k for k, _, _ in M.mutants(e, DECLS)}
    assert {"flip-sign", "swap-factors", "add-transpose", "drop-factor", "replace-variable",
            "move-d", "permute-trace", "drop-term", "add-term", "swap-function", "size-factor",
            "huge-literal", "drop-division"} <= kinds


def test_most_mutants_are_false_and_the_oracle_says_so():
    e = O.parse("tr(A X B)", NAMES)
    verdicts = Counter(O.judge_trees(e, m, DECLS, {"X"}).status for _, m, _ in M.mutants(e, DECLS))
    assert verdicts["false"] >= 10 and verdicts["true"] >= 1, verdicts


def test_a_mutated_file_replaces_the_step_and_stops_after_it():
    data = yaml.safe_load((ROOT / "proofs" / "theorem5.yaml").read_text(encoding="utf-8"))
    text = M.mutated_file(data, 3, "tr(d(a^T a X))")
    out = yaml.safe_load(text)
    assert len(out["proof"]) == 4 and out["proof"][3]["expr"] == "tr(d(a^T a X))"
    assert out["theorem"] != data["theorem"]  # never shadows the original as a lemma
    assert out["claim"] == data["claim"] and out["proof"][:3] == data["proof"][:3]


# -- the sample -------------------------------------------------------------------------------
SAMPLE_FILES = ["theorem5.yaml", "det.yaml", "log-det-chain.yaml", "trace-AXinv.yaml",
                "bilinear-form.yaml"]


@pytest.fixture(scope="module")
def kernel():
    k = M.Kernel()
    yield k
    k.close()


@pytest.fixture(scope="module")
def sample(kernel):
    subs = M.subjects(include_derived=False, names=SAMPLE_FILES)
    assert len(subs) == len(SAMPLE_FILES)
    out = []
    for sub in subs:
        out.extend(M.mutate_subject(sub, kernel, per_step=3, seed=6))
    return out


def test_no_false_mutant_is_accepted(sample):
    cats = Counter(o.category for o in sample)
    failures = [M.describe_failure(o) for o in sample if o.category == "FALSE-ACCEPTED"]
    assert not failures, "\n\n".join(failures)
    assert cats["false-rejected"] >= 25, cats
    errors = [(o.subject, o.step, o.mutant, o.kernel, o.message[:200]) for o in sample
              if o.category == "false-error"]
    assert not errors, errors


def test_no_true_mutant_is_refuted(sample):
    """A true mutant may be `unjustified` (the citation no longer fits) but never refuted."""
    wrong = [(o.subject, o.step, o.original, o.mutant, o.message[:200]) for o in sample
             if o.category == "true-invalid" and "false" in o.message]
    assert not wrong, wrong
    assert sum(1 for o in sample if o.category in ("true-valid", "true-unjustified")) >= 5


class AcceptEverything:
    """A stand-in kernel that calls every step valid: the harness must flag it."""

    def check(self, text):
        n = len(yaml.safe_load(text)["proof"])
        return M.KernelResult("valid", [M.KernelStep(i, "valid") for i in range(n)])


def test_the_harness_catches_a_kernel_that_accepts_everything():
    sub = M.subjects(include_derived=False, names=["theorem5.yaml"])[0]
    outs = M.mutate_subject(sub, AcceptEverything(), per_step=3, seed=1, steps=[2, 6])
    bad = [o for o in outs if o.category == "FALSE-ACCEPTED"]
    assert bad
    assert "SOUNDNESS FAILURE" in M.describe_failure(bad[0])
