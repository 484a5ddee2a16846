"""Second red-team round: proof files of FALSE claims that `prove check` accepted.

Each test writes the attack to tmp_path and asserts the checker does NOT call it valid.
They fail until the kernel is fixed; that is intended. Sources: /work/attacks2/.
"""
from prover.proofs import check_file
from prover.rulebase import load_rulebook


def _check(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return check_file(path, load_rulebook()[1])

B02_LOG_E4_DERIV = 'theorem: b02\nvariables:\n  A: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(A X)\n  wrt: X\n  equals: A + (log(1 + (tr(X)^4 - 6 tr(X)^2 tr(X^2) + 3 tr(X^2)^2 + 8 tr(X) tr(X^3) - 6 tr(X^4)) / 24) - log(1)) A\nproof:\n  - expr: d(tr(A X))\n  - expr: tr(d(A X))\n    by: theorem-3\n  - expr: tr(d(A) X + A dX)\n    by: diff-product\n  - expr: tr(0 X + A dX)\n    by: diff-constant\n  - expr: tr(A dX)\n    by: algebra\n  - derivative: A + (log(1 + (tr(X)^4 - 6 tr(X)^2 tr(X^2) + 3 tr(X^2)^2 + 8 tr(X) tr(X^3) - 6 tr(X^4)) / 24) - log(1)) A\n    by: theorem-4\n'


def test_b02_log_e4_deriv(tmp_path):
    # log(.) is counted as a degree-1 atom whatever its argument: e4(X) (degree 4) vanishes
    # at n = 2, 3 (the only sizes checked). At n = 4, X = I: e4 = 1, G = (1 + log 2) A != A.
    fr = _check(tmp_path, 'b02_log_e4_deriv', B02_LOG_E4_DERIV)
    assert fr.status != "valid"

B03_NESTED_TR_SIZE = 'theorem: b03\nvariables:\n  A: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(A X)\n  wrt: X\n  equals: A + tr(A^0 (tr(A^0) - 2) (tr(A^0) - 3) (tr(A^0) - 4) (tr(A^0) - 5)) A\nproof:\n  - expr: d(tr(A X))\n  - expr: tr(d(A X))\n    by: theorem-3\n  - expr: tr(d(A) X + A dX)\n    by: diff-product\n  - expr: tr(0 X + A dX)\n    by: diff-constant\n  - expr: tr(A dX)\n    by: algebra\n  - derivative: A + tr(A^0 (tr(A^0) - 2) (tr(A^0) - 3) (tr(A^0) - 4) (tr(A^0) - 5)) A\n    by: theorem-4\n'


def test_b03_nested_tr_size(tmp_path):
    # _size_degree counts a size-dependent function as 1 even when its argument holds a
    # polynomial in other size-dependent scalars: tr(I (n-2)(n-3)(n-4)(n-5)) vanishes at n = 2..5,
    # checked only at 2..4. At n = 6 it is 144, so G = 145 A != A.
    fr = _check(tmp_path, 'b03_nested_tr_size', B03_NESTED_TR_SIZE)
    assert fr.status != "valid"

B04_DET_ARG_DEGREE = 'theorem: b04\nvariables:\n  A: {shape: [n, n], constant: true}\n  B: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(A X)\n  wrt: X\n  equals: det(A + (- 120 tr(A^6) + 144 tr(A^5) tr(A) + 90 tr(A^4) tr(A^2) - 90 tr(A^4) tr(A) tr(A) + 40 tr(A^3) tr(A^3) - 120 tr(A^3) tr(A^2) tr(A) + 40 tr(A^3) tr(A) tr(A) tr(A) - 15 tr(A^2) tr(A^2) tr(A^2) + 45 tr(A^2) tr(A^2) tr(A) tr(A) - 15 tr(A^2) tr(A) tr(A) tr(A) tr(A) + tr(A) tr(A) tr(A) tr(A) tr(A) tr(A)) / 720 B) / det(A) A\nproof:\n  - expr: d(tr(A X))\n  - expr: tr(d(A X))\n    by: theorem-3\n  - expr: tr(d(A) X + A dX)\n    by: diff-product\n  - expr: tr(0 X + A dX)\n    by: diff-constant\n  - expr: tr(A dX)\n    by: algebra\n  - derivative: det(A + (- 120 tr(A^6) + 144 tr(A^5) tr(A) + 90 tr(A^4) tr(A^2) - 90 tr(A^4) tr(A) tr(A) + 40 tr(A^3) tr(A^3) - 120 tr(A^3) tr(A^2) tr(A) + 40 tr(A^3) tr(A) tr(A) tr(A) - 15 tr(A^2) tr(A^2) tr(A^2) + 45 tr(A^2) tr(A^2) tr(A) tr(A) - 15 tr(A^2) tr(A) tr(A) tr(A) tr(A) + tr(A) tr(A) tr(A) tr(A) tr(A) tr(A)) / 720 B) / det(A) A\n    by: theorem-4\n'


def test_b04_det_arg_degree(tmp_path):
    # det(.) is counted as degree 0 whatever its argument: e6(A) vanishes for n <= 5 (grid
    # 2..5). At n = 6, A = B = I: e6 = 1, G = det(2 I) / det(I) I = 64 I != I = A.
    fr = _check(tmp_path, 'b04_det_arg_degree', B04_DET_ARG_DEGREE)
    assert fr.status != "valid"

B05_LOG_SKEW_S4_ALGEBRA = 'theorem: b05\nvariables:\n  a: {shape: [n, 1]}\n  b: {shape: [n, 1]}\n  Y1: {shape: [n, n]}\n  Y2: {shape: [n, n]}\n  Y3: {shape: [n, n]}\n  Y4: {shape: [n, n]}\nclaim:\n  lhs: log(1 + a^T ((Y1 - Y1^T) ((Y2 - Y2^T) ((Y3 - Y3^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y4 - Y4^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y2 - Y2^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y2 - Y2^T))) - (Y2 - Y2^T) ((Y1 - Y1^T) ((Y3 - Y3^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y4 - Y4^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y1 - Y1^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y1 - Y1^T))) + (Y3 - Y3^T) ((Y1 - Y1^T) ((Y2 - Y2^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y2 - Y2^T)) + (Y2 - Y2^T) ((Y4 - Y4^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y1 - Y1^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y1 - Y1^T))) - (Y4 - Y4^T) ((Y1 - Y1^T) ((Y2 - Y2^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y2 - Y2^T)) + (Y2 - Y2^T) ((Y3 - Y3^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y1 - Y1^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y1 - Y1^T)))) b)\n  rhs: log(1)\nproof:\n  - expr: log(1 + a^T ((Y1 - Y1^T) ((Y2 - Y2^T) ((Y3 - Y3^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y4 - Y4^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y2 - Y2^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y2 - Y2^T))) - (Y2 - Y2^T) ((Y1 - Y1^T) ((Y3 - Y3^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y4 - Y4^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y1 - Y1^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y1 - Y1^T))) + (Y3 - Y3^T) ((Y1 - Y1^T) ((Y2 - Y2^T) (Y4 - Y4^T) - (Y4 - Y4^T) (Y2 - Y2^T)) + (Y2 - Y2^T) ((Y4 - Y4^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y4 - Y4^T)) + (Y4 - Y4^T) ((Y1 - Y1^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y1 - Y1^T))) - (Y4 - Y4^T) ((Y1 - Y1^T) ((Y2 - Y2^T) (Y3 - Y3^T) - (Y3 - Y3^T) (Y2 - Y2^T)) + (Y2 - Y2^T) ((Y3 - Y3^T) (Y1 - Y1^T) - (Y1 - Y1^T) (Y3 - Y3^T)) + (Y3 - Y3^T) ((Y1 - Y1^T) (Y2 - Y2^T) - (Y2 - Y2^T) (Y1 - Y1^T)))) b)\n  - expr: log(1)\n    by: algebra\n'


def test_b05_log_skew_s4_algebra(tmp_path):
    # identity claim by `algebra` alone: the standard polynomial s4 on skew-symmetric matrices
    # Y - Y^T vanishes at n = 2, 3 but not at n = 4; log(.) hides its degree, so both the free
    # (algebra) and the truth check look only at n = 2, 3. At n = 4 a^T S b != 0 (e.g. 250858 at
    # small integer entries), so log(1 + a^T S b) != 0 = log(1).
    fr = _check(tmp_path, 'b05_log_skew_s4_algebra', B05_LOG_SKEW_S4_ALGEBRA)
    assert fr.status != "valid"

B06_SINGULAR_SKIP = 'theorem: b06\nvariables:\n  A: {shape: [n, n], constant: true}\n  B: {shape: [m, n], constant: true}\n  C: {shape: [m, m], constant: true}\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(A X)\n  wrt: X\n  equals: A + (tr(C^0) - tr(A^0)) det(B B^T) A\nproof:\n  - expr: d(tr(A X))\n  - expr: tr(d(A X))\n    by: theorem-3\n  - expr: tr(d(A) X + A dX)\n    by: diff-product\n  - expr: tr(0 X + A dX)\n    by: diff-constant\n  - expr: tr(A dX)\n    by: algebra\n  - expr: tr(det(B^T B) / det(B^T B) A dX)\n    by: algebra\n  - derivative: A + (tr(C^0) - tr(A^0)) det(B B^T) A\n    by: theorem-4\n'


def test_b06_singular_skip(tmp_path):
    # an intermediate line multiplies by det(B^T B)/det(B^T B) (algebra: det is a free function,
    # so h/h = 1), undefined when n > m; the derivative read-off then skips those sizes. The claimed
    # G = A + (m - n) det(B B^T) A has no inverse and is wrong at m = 2, n = 3 (det(B B^T) != 0).
    fr = _check(tmp_path, 'b06_singular_skip', B06_SINGULAR_SKIP)
    assert fr.status != "valid"

B07_DET_EXPONENTIAL_SUM = 'theorem: b07\nvariables:\n  A: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}\nclaim:\n  derivative: tr(A X)\n  wrt: X\n  equals: A + (36 det(2 A^0) - 16 det(3 A^0) + 3 det(4 A^0) - 48) A\nproof:\n  - expr: d(tr(A X))\n  - expr: tr(d(A X))\n    by: theorem-3\n  - expr: tr(d(A) X + A dX)\n    by: diff-product\n  - expr: tr(0 X + A dX)\n    by: diff-constant\n  - expr: tr(A dX)\n    by: algebra\n  - derivative: A + (36 det(2 A^0) - 16 det(3 A^0) + 3 det(4 A^0) - 48) A\n    by: theorem-4\n'


def test_b07_det_exponential_sum(tmp_path):
    # _size_degree of a sum is the max, so a linear combination of det(k I) = k^n counts 1, yet
    # 36*2^n - 16*3^n + 3*4^n - 48 vanishes at n = 2, 3, 4 (the grid). At n = 5 it is 288: G = 289 A.
    fr = _check(tmp_path, 'b07_det_exponential_sum', B07_DET_EXPONENTIAL_SUM)
    assert fr.status != "valid"

