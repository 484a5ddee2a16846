"""What `prove check` does not import (start-up: a pre-commit hook runs it on every commit).

Not a timing test: these are the modules whose import would cost more than the check itself
(pydantic with the models is more than Z3 is; benchmarks/startup_bench.py has the figures)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run `prove check ARGS` in a fresh interpreter; print the modules loaded when the kernel's check
# of the first proof starts, and those loaded at the end.
PROBE = """
import sys
import prover.checking as checking
seen = []
real = checking.check_proof
def probe(*a, **k):
    if not seen:
        seen.append(sorted(sys.modules))
    return real(*a, **k)
checking.check_proof = probe
import prover.proofs
prover.proofs.check_proof = probe
from prover.cli import main
sys.argv = ['prove', 'check', *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print('before:', *(seen[0] if seen else []), file=sys.stderr)
print('after:', *sorted(sys.modules), file=sys.stderr)
"""

PYDANTIC = {"pydantic", "pydantic_core", "prover.models", "prover.schema", "importlib.metadata"}
NEVER = PYDANTIC | {"prover.derive", "prover.grade", "prover.latex", "prover.equiv", "sympy",
                    "numpy"}


def _check(*args: str) -> tuple[set[str], set[str], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=300)
    before, after = r.stderr.strip().splitlines()[-2:]
    assert before.startswith("before:") and after.startswith("after:"), r.stderr
    return set(before.split()[1:]), set(after.split()[1:]), r.stdout


def test_check_imports_neither_pydantic_nor_z3_before_checking():
    before, after, out = _check("proofs/theorem5.yaml")
    assert "prover.kernel.replay" in before and "valid: 8 steps" in out  # the probe worked
    assert not before & (NEVER | {"z3"}), sorted(before & (NEVER | {"z3"}))
    assert "z3" in after  # its steps need Z3: the kernel loads it for the first one
    assert not after & NEVER, sorted(after & NEVER)


def test_a_proof_whose_steps_avoid_z3_never_imports_it():
    _, after, out = _check("proofs/det.yaml")
    assert "valid" in out
    assert not after & (NEVER | {"z3"}), sorted(after & (NEVER | {"z3"}))


def test_a_file_the_models_refuse_is_worded_by_them(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("theorem: t\nvariables: {x: {shape: scalar, colour: red}}\n"
                   "claim: {lhs: x, rhs: x}\n")
    _, after, out = _check(str(bad))
    assert "unknown key 'colour'" in out and "allowed here: shape, constant" in out
    assert "prover.models" in after  # pydantic read it, so the message is the models' own
