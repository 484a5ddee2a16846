"""Fourth red-team round: proof files of FALSE claims that `prove check` accepts.

Each test writes the attack to tmp_path and asserts the checker does NOT call it valid (so each
fails until the kernel is fixed). Each also confirms, with SymPy and no kernel code, that the
claim really is false at a size inside its stated domain, where every matrix the claim inverts
(or assumes invertible) is invertible.

Two causes:
- D01-D03: `truth.plan` uses one window lo..lo+hi-2 for every symbol, with lo taken from the
  assumed lower bounds only. The claim's domain (by rank, `Context.defined`) can still meet that
  window in a single value of a symbol: a literal dimension k forces n >= k by rank (no assumed
  bound moves lo), or strict orderings n < a < b ... push n down to the window's lowest values.
  A free symbol then supplies the comb(#symbols + extra, extra) points the plan asks for, all at
  the one size of n where the claim happens to hold.
- D04-D05: `truth._rank` is not an upper bound for a product holding a 1x1 group: `(a^T a) X`
  is flattened to the factors a^T, a, X, and the rank is bounded by a^T's (1), though the value
  is a nonzero scalar times X. So `(a^T a) X + a a^T` is "rank <= 2", the claim is asserted at
  n = 2 only, and it is false at n = 3, where that matrix is invertible.
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


# --- D01: a literal dimension as large as the window ------------------------------------------
# Degree 5 (matrix) gives need 6; one inverse gives extra 1; the window is 2..7 for n and r.
# (V Z)^-1 with Z n x 7 is defined only for n >= 7 by rank, which leaves n = 7 alone in the
# window (Z square, so Z (V Z)^-1 V = I and the claim holds); r = 2..7 supplies the 3 points
# the plan asks for. No assumption is stated, and at n = 8 the claim is false. `prove equiv`
# (the grader's answer check) says "equal" for the same pair.
D01_LITERAL_WIDTH = """\
theorem: d01
variables:
  Z: {shape: [n, 7]}
  V: {shape: [7, n]}
  B: {shape: [n, r]}
claim:
  lhs: Z (V Z)^-1 V B
  rhs: B
proof:
  - expr: Z (V Z)^-1 V B
  - expr: B
    by: algebra
"""


def test_d01_literal_dimension_pins_the_window(tmp_path):
    rng = random.Random(1)
    n, r = 8, 2
    Z, V, B = _rand(n, 7, rng), _rand(7, n, rng), _rand(n, r, rng)
    assert (V * Z).det() != 0
    assert Z * (V * Z).inv() * V * B != B
    fr = _check(tmp_path, "d01", D01_LITERAL_WIDTH)
    assert fr.status != "valid"


def test_d01_equiv_says_different():
    from prover.equiv import equivalent
    from prover.kernel.shapes import Shape, VarInfo

    env = {"Z": VarInfo(Shape("n", 7)), "V": VarInfo(Shape(7, "n")), "B": VarInfo(Shape("n", "r"))}
    assert equivalent("Z (V Z)^-1 V B", "B", env).status != "equal"


# --- D02: the same, in the Gram form of a least-squares projection -----------------------------
# (B^T B)^-1 with B m x 7 needs m >= 7; the window 2..7 leaves m = 7 (B square, the "hat
# matrix" is I). At m = 8 it is a rank-7 projection and P C != C.
D02_GRAM_LITERAL = """\
theorem: d02
variables:
  B: {shape: [m, 7]}
  C: {shape: [m, p]}
claim:
  lhs: B (B^T B)^-1 B^T C
  rhs: C
proof:
  - expr: B (B^T B)^-1 B^T C
  - expr: C
    by: algebra
"""


def test_d02_gram_with_literal_columns(tmp_path):
    rng = random.Random(2)
    m, p = 8, 2
    B, C = _rand(m, 7, rng), _rand(m, p, rng)
    assert (B.T * B).det() != 0
    assert B * (B.T * B).inv() * B.T * C != C
    fr = _check(tmp_path, "d02", D02_GRAM_LITERAL)
    assert fr.status != "valid"


# --- D03: strict orderings push a symbol to the bottom of the window ---------------------------
# Window 2..6 (degree 4, matrix: need 5; extra 1). n < a < b < c < e inside 2..6 leaves only
# n = 2 (Z square: the claim holds); r and s supply the comb(8, 1) = 8 points (25 of them).
# The stated domain holds n = 3, a = 4, b = 5, c = 6, e = 7, where Z (V Z)^-1 V is a rank-2
# projection of size 3, not I.
D03_STRICT_CHAIN = """\
theorem: d03
variables:
  Z: {shape: [n, 2]}
  V: {shape: [2, n]}
  A: {shape: [a, b], constant: true}
  B: {shape: [c, e], constant: true}
  C: {shape: [r, s], constant: true}
assume:
  sizes: ["n < a", "a < b", "b < c", "c < e"]
claim:
  lhs: Z (V Z)^-1 V
  rhs: I
proof:
  - expr: Z (V Z)^-1 V
  - expr: I
    by: algebra
"""


def test_d03_strict_chain_caps_a_symbol(tmp_path):
    rng = random.Random(3)
    n, a, b, c, e = 3, 4, 5, 6, 7
    assert n < a < b < c < e
    Z, V = _rand(n, 2, rng), _rand(2, n, rng)
    assert (V * Z).det() != 0
    assert Z * (V * Z).inv() * V != sp.eye(n)
    fr = _check(tmp_path, "d03", D03_STRICT_CHAIN)
    assert fr.status != "valid"


# --- D04: a scalar written as a product of vectors makes _rank too small -------------------------
# _rank((a^T a) X + a a^T) = 1 + 1 = 2 (the factors a^T, a, X are bounded by a^T's rank 1), so
# "(a^T a) X + a a^T invertible" leaves n = 2 only; there Z (n x 2) is square and the claim
# holds. At n = 3 the assumed matrix is invertible (a nonzero multiple of X plus a rank one)
# and the claim is false.
D04_SCALAR_GROUP_ASSUMED = """\
theorem: d04
variables:
  Z: {shape: [n, 2]}
  V: {shape: [2, n]}
  B: {shape: [n, r]}
  a: {shape: [n, 1], constant: true}
  X: {shape: [n, n], constant: true}
assume:
  invertible: ["(a^T a) X + a a^T"]
claim:
  lhs: Z (V Z)^-1 V B
  rhs: B
proof:
  - expr: Z (V Z)^-1 V B
  - expr: B
    by: algebra
"""


def test_d04_scalar_group_rank_assumed(tmp_path):
    rng = random.Random(4)
    n, r = 3, 2
    Z, V, B = _rand(n, 2, rng), _rand(2, n, rng), _rand(n, r, rng)
    a, X = _rand(n, 1, rng), _rand(n, n, rng)
    M = (a.T * a)[0, 0] * X + a * a.T
    assert M.det() != 0 and (V * Z).det() != 0
    assert Z * (V * Z).inv() * V * B != B
    fr = _check(tmp_path, "d04", D04_SCALAR_GROUP_ASSUMED)
    assert fr.status != "valid"


# --- D05: the same with the inverse in the claim itself (no assumption stated) -----------------
D05_SCALAR_GROUP_INVERSE = """\
theorem: d05
variables:
  Z: {shape: [n, 2]}
  V: {shape: [2, n]}
  a: {shape: [n, 1]}
  X: {shape: [n, n]}
  C: {shape: [r, r], constant: true}
claim:
  lhs: Z (V Z)^-1 V ((a^T a) X + a a^T)^-1
  rhs: ((a^T a) X + a a^T)^-1
proof:
  - expr: Z (V Z)^-1 V ((a^T a) X + a a^T)^-1
  - expr: ((a^T a) X + a a^T)^-1
    by: algebra
"""


def test_d05_scalar_group_rank_in_claim(tmp_path):
    rng = random.Random(5)
    n = 3
    Z, V = _rand(n, 2, rng), _rand(2, n, rng)
    a, X = _rand(n, 1, rng), _rand(n, n, rng)
    M = (a.T * a)[0, 0] * X + a * a.T
    assert M.det() != 0 and (V * Z).det() != 0
    assert Z * (V * Z).inv() * V * M.inv() != M.inv()
    fr = _check(tmp_path, "d05", D05_SCALAR_GROUP_INVERSE)
    assert fr.status != "valid"
