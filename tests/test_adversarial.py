"""Adversarial false claims (benchmarks/adversarial.py) against the kernel, a fixed sample of
each generator. For every claim: the independent oracle finds it false at a generic size, and
the kernel does not call the file valid, nor any of the false links valid or unjustified.

The full set runs with `python benchmarks/mutation.py --adversarial`.
"""
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import adversarial as A  # noqa: E402
import mutation as M  # noqa: E402
import oracle as O  # noqa: E402

PER_GENERATOR = 8  # spread evenly over each generator's list
NAMED = {  # the shapes named in the brief, always in the sample
    "small-sizes": ["det-scaling-3-n", "trace-count-2-4-n", "ch2-n", "ch3-trace-n",
                    "ch2-inverse-n", "adj3-m", "det-neg-p", "det-derivative-adj2-n",
                    "ch2-rect-nm", "two-symbols-det-neg"],
    "size-scalars": ["trace-XXinv-n", "trace-XXinv-4", "det-cI-6", "scaled-rect-m"],
    "huge-literals": ["inverse-p61-n", "product-2^61-n", "inverse-p61-5", "zero-p61-3",
                      "diff-inverse-p64-n", "float-sum-2"],
    "start-end": ["start-tr(X-A-n", "start-tr(X-tr(1)A-n", "one-line-lhs-tr(X X^-1)-n",
                  "one-line-rhs-tr(X X^-1)-n", "last-line-tr(X X^-1) A-n"],
    "batch": ["hidden-2-4-vector-at-1-n", "hidden-2-4-rect-at-2-m", "hidden-2-3-square-at-0-n",
              "derivative-drop-2-4-n", "derivative-det-ratio-n", "derivative-ch2-added-n"],
}


def _sample(generator):
    made = list(A.GENERATORS[generator]())
    by_name = {c.name: c for c in made}
    step = max(1, len(made) // PER_GENERATOR)
    picked = [made[i] for i in range(0, len(made), step)][:PER_GENERATOR]
    for name in NAMED[generator]:
        assert name in by_name, f"{generator}: no claim named {name}"
        if by_name[name] not in picked:
            picked.append(by_name[name])
    return picked


CASES = [(g, c) for g in A.GENERATORS for c in _sample(g)]


@pytest.fixture(scope="module")
def kernel():
    k = M.Kernel()
    yield k
    k.close()


def test_every_generator_makes_many_claims():
    for g, make in A.GENERATORS.items():
        assert len(list(make())) >= 40, g


@pytest.mark.parametrize("generator, claim", CASES, ids=[f"{g}/{c.name}" for g, c in CASES])
def test_the_kernel_does_not_accept_a_false_claim(generator, claim, kernel):
    assert A.confirm(claim), (claim.verdict.status, claim.verdict.reason)
    assert claim.verdict.generic
    out = M.run_claim(claim, kernel)
    assert out.file_status != "crash", out.message
    assert not out.accepted, (
        f"the kernel called a false claim valid ({claim.aim}).\n{claim.text}\n"
        f"the oracle's witness:\n{O.show_witness(claim.verdict.witness)}")
    assert not out.steps_let_through, (
        f"false links {out.steps_let_through} were called valid/unjustified: "
        f"{out.link_statuses}\n{claim.text}")


def test_generated_files_are_well_formed_yaml():
    for g, c in CASES:
        data = yaml.safe_load(c.text)
        assert set(data) >= {"theorem", "variables", "claim", "proof"}, c.name
        assert data["proof"], c.name


def test_confirm_drops_a_true_claim():
    """confirm() is what keeps true claims out of the counts: it must refuse one."""
    text = A.identity("t", {"A": A.sq("n"), "B": A.sq("n")}, "tr(A B)", "tr(B A)")
    claim = A.Claim("test", "true-claim", text)
    assert not A.confirm(claim)
    assert claim.verdict.status == "true"


def test_newton_and_cayley_hamilton_builders_are_right():
    """e_k and CH_k as the generators write them, checked by the oracle at the sizes where
    they hold and refuted at the size after."""
    V = {"X": A.sq("n")}
    for k in (2, 3, 4):
        holds = [{"n": j} for j in range(2, k + 1)]
        assert O.judge(A.cayley_hamilton("X", k), "0", V, sizes=holds).status == "true"
        assert O.judge(A.cayley_hamilton("X", k), "0", V,
                       sizes=[{"n": k + 1}]).status == "false"
        assert O.judge(A.elementary("X", k + 1), "0", V, sizes=holds + [{"n": k}]).status == "true"
        assert O.judge("det(X)", A.elementary("X", k), V, sizes=[{"n": k}]).status == "true"
        adj = A.adjugate("X", k)
        assert O.judge("det(X) X^-1", adj, V, sizes=[{"n": k}]).status == "true"
