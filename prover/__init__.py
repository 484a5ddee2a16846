"""prove: check matrix-calculus derivations by the trace/differential method.

Python API (for notebooks and scripts; docs/api.md)::

    from prover import check, check_text, derive, equiv
    result = check("proofs/theorem5.yaml")        # FileResult: .status, .steps, .message
    dv = derive("a^T X a", "X", ["a: n x 1 constant", "X: n x n"])
    print(dv.derivative, dv.proof_yaml())          # a a^T, and the checked proof
    equiv("A x + A^T x", "(A + A^T) x", ["A: n x n", "x: n x 1"]).status   # 'equal'

Importing the package imports nothing else: each name loads its module when first used
(PEP 562), so `import prover` and the command line start quickly.

Start reading at `prover/kernel/replay.py` (the trusted part) and `prover/cli.py` (the commands).
"""
import sys

# nothing from typing (nor __future__) at run time: importing it costs more than this module
TYPE_CHECKING = False

# name -> the module that defines it
_EXPORTS = {
    "check": "api", "check_text": "api", "derive": "api", "equiv": "api",
    "variables": "api", "CheckResults": "api",
    "check_file": "proofs", "FileResult": "proofs",
    "Derivation": "derive", "DeriveError": "derive", "parse_var": "derive",
    "equivalent": "equiv", "Equivalence": "equiv",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and editors; never run
    from typing import Any

    from .api import CheckResults, check, check_text, derive, equiv, variables
    from .derive import Derivation, DeriveError, parse_var
    from .equiv import Equivalence, equivalent
    from .proofs import FileResult, check_file


def __getattr__(name: str) -> "Any":
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(f"{__name__}.{module}")
    value = getattr(sys.modules[f"{__name__}.{module}"], name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(type(sys)):  # type: ignore[misc]  # types.ModuleType
    """`derive` and `equiv` name both a function of the API and a submodule. The import system
    sets a submodule as an attribute of its package when it first loads it, which would hide
    the function; here the function keeps the name (the modules stay in `sys.modules`, and
    `from prover.derive import ...` works as ever)."""

    def __setattr__(self, name: str, value: "Any") -> None:
        if name in ("derive", "equiv") and isinstance(value, type(sys)):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
