"""Red-team attacks: proof files of FALSE claims that `prove check` accepted.

Each test writes the attack to tmp_path and asserts the checker does NOT call it valid. They
fail until the kernel's size plan (truth.plan) is fixed; that is intended.

Root cause of all five: for a step with det, inverses or I under a function, truth.plan checks
only sizes 2..max(need, 3) + extra (extra = number of such operators), and with several dimension
symbols only assignments whose symbols differ by 1. A size-dependent scalar used ONCE
(tr(X^0) = n, det(2 A)/det(A) = 2^n, tr((A^-1)^-1 A^-1) = n, tr(A^0) - tr(B^0) = m - n) inside a
nested polynomial ((t - a)^2 - b)^2 - c ... vanishes at every checked size but not beyond.
"""

from prover.proofs import check_file
from prover.rulebase import load_rulebook

A01_TRI_POLY_DERIV = '''\
theorem: a01
variables:
  A: {shape: [n, n], constant: true}
  X: {shape: [n, n]}
claim:
  derivative: tr(A X)
  wrt: X
  equals: A + (((tr(X^0) - 7/2)^2 - 5/4)^2 - 1) A
proof:
  - expr: d(tr(A X))
  - expr: tr(d(A X))
    by: theorem-3
  - expr: tr(d(A) X + A dX)
    by: diff-product
  - expr: tr(0 X + A dX)
    by: diff-constant
  - expr: tr(A dX)
    by: algebra
  - derivative: A + (((tr(X^0) - 7/2)^2 - 5/4)^2 - 1) A
    by: theorem-4
'''

A02_ADJACENT_DIMS = '''\
theorem: a02
variables:
  A: {shape: [m, m], constant: true}
  B: {shape: [n, n], constant: true}
  C: {shape: [n, n], constant: true}
  X: {shape: [n, n]}
claim:
  derivative: tr(C X)
  wrt: X
  equals: (tr(A^0) - tr(B^0))^2 C
proof:
  - expr: d(tr(C X))
  - expr: tr(d(C X))
    by: theorem-3
  - expr: tr(d(C) X + C dX)
    by: diff-product
  - expr: tr(0 X + C dX)
    by: diff-constant
  - expr: tr(C dX)
    by: algebra
  - derivative: (tr(A^0) - tr(B^0))^2 C
    by: theorem-4
'''

A03_DET_SCALING = '''\
theorem: a03
variables:
  A: {shape: [n, n], constant: true}
  X: {shape: [n, n]}
claim:
  derivative: tr(A X)
  wrt: X
  equals: A + ((((det(2 A) / det(A) - 18)^2 - 100)^2 - 4608)^2 - 21233664) A
proof:
  - expr: d(tr(A X))
  - expr: tr(d(A X))
    by: theorem-3
  - expr: tr(d(A) X + A dX)
    by: diff-product
  - expr: tr(0 X + A dX)
    by: diff-constant
  - expr: tr(A dX)
    by: algebra
  - derivative: A + ((((det(2 A) / det(A) - 18)^2 - 100)^2 - 4608)^2 - 21233664) A
    by: theorem-4
'''

A04_LEMMA_USER = '''\
theorem: a04
variables:
  A: {shape: [n, n], constant: true}
  X: {shape: [n, n]}
claim:
  lhs: d(tr(A X))
  rhs: tr((A + (((tr(X^0) - 7/2)^2 - 5/4)^2 - 1) A) dX)
proof:
  - expr: d(tr(A X))
  - expr: tr((A + (((tr(X^0) - 7/2)^2 - 5/4)^2 - 1) A) dX)
    by: a01
'''

A05_XXINV = '''\
theorem: a05
variables:
  A: {shape: [n, n], constant: true}
  X: {shape: [n, n]}
claim:
  derivative: tr(A X)
  wrt: X
  equals: A + ((((tr((A^-1)^-1 A^-1) - 4)^2 - 2)^2 - 5/2)^2 - 9/4) A
proof:
  - expr: d(tr(A X))
  - expr: tr(d(A X))
    by: theorem-3
  - expr: tr(d(A) X + A dX)
    by: diff-product
  - expr: tr(0 X + A dX)
    by: diff-constant
  - expr: tr(A dX)
    by: algebra
  - derivative: A + ((((tr((A^-1)^-1 A^-1) - 4)^2 - 2)^2 - 5/2)^2 - 9/4) A
    by: theorem-4
'''


def _check(tmp_path, name, text, extra=()):
    for other_name, other_text in extra:
        (tmp_path / f"{other_name}.yaml").write_text(other_text)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return check_file(path, load_rulebook()[1])


def test_a01_trace_of_X0_polynomial_vanishing_at_sizes_2_to_5(tmp_path):
    # claim: d tr(A X)/dX = A + p(n) A with p(n) = ((n - 7/2)^2 - 5/4)^2 - 1; p(6) = 24, false at n = 6
    fr = _check(tmp_path, "a01", A01_TRI_POLY_DERIV)
    assert fr.status != "valid"


def test_a02_adjacent_dimension_symbols_only(tmp_path):
    # claim: d tr(C X)/dX = (m - n)^2 C; false at m = 2, n = 4 (4 C != C); only |m - n| = 1 is sampled
    fr = _check(tmp_path, "a02", A02_ADJACENT_DIMS)
    assert fr.status != "valid"


def test_a03_det_scaling_two_to_the_n(tmp_path):
    # det(2 A)/det(A) = 2^n; the polynomial vanishes at 4, 8, 16, 32 (n = 2..5); false at n = 6
    fr = _check(tmp_path, "a03", A03_DET_SCALING)
    assert fr.status != "valid"


def test_a04_identity_claim_through_false_lemma(tmp_path):
    # identity claim justified by citing the (falsely accepted) a01 as a lemma; false at n = 6
    fr = _check(tmp_path, "a04", A04_LEMMA_USER, extra=[("a01", A01_TRI_POLY_DERIV)])
    assert fr.status != "valid"


def test_a05_double_inverse_identity_degree_zero(tmp_path):
    # tr((A^-1)^-1 A^-1) = n with degree 0 (Inv counts 0); polynomial vanishes at n = 2..6; false at n = 7
    fr = _check(tmp_path, "a05", A05_XXINV)
    assert fr.status != "valid"
