"""Shared fixtures: the repository root and the rule book."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def book():
    from prover.rulebase import load_rulebook

    return load_rulebook()[1]
