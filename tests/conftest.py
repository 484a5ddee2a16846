"""Shared fixtures: the repository root and the rule book."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def book():
    from prover.rulebase import load_rulebook

    return load_rulebook()[1]


@pytest.fixture(autouse=True)
def _forget_decided():
    """Each test starts with the kernel's memory of answers empty (tests that replace a kernel
    function, say Z3, must see it asked; the memory within one test is what the attacks on it
    in tests/test_attacks6.py exercise)."""
    from prover.kernel import parser, truth

    truth._DECIDED.clear()
    parser._PARSED.clear()  # and no tree (with the shapes kept on it) is shared with another test
    yield
