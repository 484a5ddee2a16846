"""Third red-team round: proof files of FALSE claims that `prove check` accepts.

Each test writes the attack to tmp_path and asserts the checker does NOT call it valid (so each
fails until the kernel is fixed). Each also confirms, with SymPy and no kernel code, that the
claim really is false at a size inside its stated and defined domain.
"""
import random

import sympy as sp

from prover.proofs import check_file
from prover.rulebase import load_rulebook


def _check(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return check_file(path, load_rulebook()[1])


def _rand(r, c, rng):
    return sp.Matrix(r, c, lambda i, j: rng.randint(-5, 5))


def _projection_is_identity(n, k, seed=0):
    """Z (V Z)^-1 V == I for random integer Z (n x k), V (k x n)? (VZ invertible asserted.)"""
    rng = random.Random(seed)
    Z, V = _rand(n, k, rng), _rand(k, n, rng)
    assert (V * Z).det() != 0
    return Z * (V * Z).inv() * V == sp.eye(n)


# --- C01: the claim's domain cut to a line inside the size window ---------------------------
# truth.plan (size-dependent branch) asks only that the claim be defined at
# comb(#symbols + extra, extra) points of the window lo..lo+hi-2; it does not ask that those
# points determine anything. Here `assume: invertible` removes every window point with
# n - m in {1..4}; (V Z)^-1 removes n < m; what is left of the 5x5 window is its diagonal
# (5 >= comb(3, 1) points), where Z (V Z)^-1 V = I does hold (Z, V square). The stated domain
# still contains n - m >= 5, e.g. m = 2, n = 7: the assumed scalar is 4*3*2*1 = 24 (invertible),
# V Z is a generic 2x2 (invertible), and Z (V Z)^-1 V is a rank-2 projection of size 7, not I.
C01_DIAGONAL_DOMAIN = """\
theorem: c01
variables:
  Z: {shape: [n, m]}
  V: {shape: [m, n]}
assume:
  invertible: ["(tr((Z V)^0) - tr((V Z)^0) - 1) (tr((Z V)^0) - tr((V Z)^0) - 2) (tr((Z V)^0) - tr((V Z)^0) - 3) (tr((Z V)^0) - tr((V Z)^0) - 4)"]
claim:
  lhs: Z (V Z)^-1 V
  rhs: I
proof:
  - expr: Z (V Z)^-1 V
  - expr: I
    by: algebra
"""


def test_c01_domain_cut_to_diagonal(tmp_path):
    assert not _projection_is_identity(7, 2)  # m = 2, n = 7: inside the stated domain
    assert (7 - 2 - 1) * (7 - 2 - 2) * (7 - 2 - 3) * (7 - 2 - 4) != 0
    fr = _check(tmp_path, "c01", C01_DIAGONAL_DOMAIN)
    assert fr.status != "valid"


# --- C02: the same with `assume: sizes` alone ---------------------------------------------------
# `n != 3 … n != 7` leave n = 2 as the only value of n in the window 2..7; the second symbol m
# supplies the comb(2 + 1, 1) = 3 points the plan asks for, all on the line n = 2, where the
# rank-2 projection Z (V Z)^-1 V (Z n x 2) is I. The stated domain contains n = 8 (n != 3..7
# hold), where it is a rank-2 projection of size 8, so P B != B.
C02_NEQ_WINDOW = """\
theorem: c02
variables:
  Z: {shape: [n, 2]}
  V: {shape: [2, n]}
  B: {shape: [n, m]}
assume:
  sizes: ["n != 3", "n != 4", "n != 5", "n != 6", "n != 7"]
claim:
  lhs: Z (V Z)^-1 V B
  rhs: B
proof:
  - expr: Z (V Z)^-1 V B
  - expr: B
    by: algebra
"""


def test_c02_neq_relations_leave_one_line(tmp_path):
    rng = random.Random(3)
    n, m = 8, 3
    Z, V, B = _rand(n, 2, rng), _rand(2, n, rng), _rand(n, m, rng)
    assert (V * Z).det() != 0
    assert Z * (V * Z).inv() * V * B != B
    fr = _check(tmp_path, "c02", C02_NEQ_WINDOW)
    assert fr.status != "valid"


# --- C03: a natural assumption (n >= 7) and a Gram-matrix inverse ------------------------------
# plan() starts the window of n at 7 (its lower bound) but leaves m's window at 2..7, and
# (B^T B)^-1 is defined only for m >= n: inside the window that leaves m = n = 7 alone. The third
# symbol p supplies the comb(3 + 1, 1) = 4 points the plan asks for ((7, 7, p) for p = 2..7), all
# with B square, where B (B^T B)^-1 B^T = I. The stated domain (n >= 7, B^T B invertible) holds
# m = 8, n = 7 too, where B (B^T B)^-1 B^T is a rank-7 projection of size 8 and P C != C.
C03_GRAM_LOWER_BOUND = """\
theorem: c03
variables:
  B: {shape: [m, n]}
  C: {shape: [m, p]}
assume:
  sizes: ["n >= 7"]
claim:
  lhs: B (B^T B)^-1 B^T C
  rhs: C
proof:
  - expr: B (B^T B)^-1 B^T C
  - expr: C
    by: algebra
"""


def test_c03_lower_bound_collapses_window(tmp_path):
    rng = random.Random(5)
    m, n, p = 8, 7, 2
    B, C = _rand(m, n, rng), _rand(m, p, rng)
    assert (B.T * B).det() != 0
    assert B * (B.T * B).inv() * B.T * C != C
    fr = _check(tmp_path, "c03", C03_GRAM_LOWER_BOUND)
    assert fr.status != "valid"
