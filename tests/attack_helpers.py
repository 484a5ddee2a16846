"""Helpers the red-team rounds share (tests/test_attacks8.py, 9 and 10): declarations from
shapes, the kernel's `decide` on two texts, and a correct derivative proof of ∂(a^T x)/∂x = a^T
whose claimed answer an attack replaces, so that only the final comparison can stop it."""
from __future__ import annotations

from prover import api
from prover.kernel.parser import parse
from prover.kernel.shapes import SCALAR, Shape, VarInfo
from prover.kernel.truth import Context, decide


def env_of(**shapes) -> dict[str, VarInfo]:
    return {n: VarInfo(Shape(*s[:2]) if s != "scalar" else SCALAR) for n, s in shapes.items()}


def decide_text(env: dict[str, VarInfo], lhs: str, rhs: str, varying: set[str] | None = None):
    ctx = Context(env, set(env) if varying is None else varying)
    return decide(parse(lhs, set(env)), parse(rhs, set(env)), ctx)


def derivative_proof(variables: str, equals: str) -> str:
    """A correct proof that ∂(a^T x)/∂x = a^T, claiming `equals` instead: only the final
    comparison of the read-off a^T with the claimed answer (`decide`) can stop it."""
    return f"""theorem: t
variables:
  x: {{shape: [n, 1]}}
  a: {{shape: [n, 1], constant: true}}
{variables}claim:
  derivative: a^T x
  wrt: x
  equals: {equals}
proof:
  - expr: d(a^T x)
  - expr: d(a^T) x + a^T dx
    by: diff-product
  - expr: 0 x + a^T dx
    by: diff-constant
  - expr: tr(a^T dx)
    by: [algebra, theorem-1]
  - derivative: a^T
    by: theorem-4
"""


def status(text: str) -> str:
    r = api.check_text(text)
    assert r.result is not None, r.message
    return r.result.status
