"""prove: check matrix-calculus derivations by the trace/differential method.

Python API (for notebooks and scripts)::

    from prover import check_file, derive, equivalent, parse_var
    result = check_file("proofs/theorem5.yaml")   # FileResult: .status, .steps, .message
    dv = derive("a^T X a", "X", dict(parse_var(v) for v in ["a: n x 1 constant", "X: n x n"]))
    print(dv.derivative, dv.proof_yaml())

Start reading at `prover/kernel/check.py` (the trusted part) and `prover/cli.py` (the commands).
"""
from .derive import Derivation, DeriveError, derive, parse_var
from .equiv import Equivalence, equivalent
from .proofs import FileResult, check_file

__all__ = ["check_file", "FileResult", "derive", "Derivation", "DeriveError", "parse_var",
           "equivalent", "Equivalence"]
