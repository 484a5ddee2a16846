"""Fifth red-team round: a det that is a rank indicator, nonzero on one thin line of sizes only.

det(M0 M1 M2 M3 M4 M5 + u v) with M0: a×n1, …, M5: n5×a has rank at most min(n_i) + 1, so it
vanishes unless a <= min(n_i) + 1; under `a > n_i` that leaves the line n1 = … = n5 = a - 1,
where it is not 0. A sample of the window's sizes (the old 256 random assignments) missed that
line 9 times in 10; every assignment of the window is now checked, or the step is `unknown`.
"""
import random

import sympy as sp

from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context, decide


def test_a_thin_rank_line_is_never_sampled_past():
    S = lambda r, c: VarInfo(Shape(r, c))  # noqa: E731
    ns = [f"n{i}" for i in range(1, 6)]
    chain = ["a"] + ns + ["a"]
    env = {f"M{i}": S(chain[i], chain[i + 1]) for i in range(6)}
    env["u"], env["v"] = S("a", 1), S(1, "a")
    relations = tuple(("a", ">", x) for x in ns)
    lhs, rhs = parse("det(M0 M1 M2 M3 M4 M5 + u v)", set(env)), parse("0", set(env))
    # independently: at a = 3, n_i = 2 (inside the assumptions) the determinant is not 0
    rng = random.Random(0)
    R = lambda r, c: sp.Matrix(r, c, lambda i, j: rng.randint(-5, 5))  # noqa: E731
    P = R(3, 2)
    for M in [R(2, 2) for _ in range(4)] + [R(2, 3)]:
        P = P * M
    assert (P + R(3, 1) * R(1, 3)).det() != 0
    for _ in range(5):
        assert not decide(lhs, rhs, Context(env, set(env), (lhs, rhs), relations)).holds
