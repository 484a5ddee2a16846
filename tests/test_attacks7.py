"""Seventh round: the two speed layers added to the trusted kernel.

1. `truth._DECIDED`, the process-wide memory of `decide`'s answers (keyed by the step and
   `Context.key`), with the search's `_CERTIFICATES` beside it. Each attack primes the memory
   with a step where it is true (or with a poisoned certificate) and then asks the same trees
   where a declaration, a layout, what varies, a literal's spelling or a mutated answer would
   make a remembered answer wrong: two proofs of one YAML list, two files of one `api.check`,
   `decide` directly, 4,097 entries to force the clear, mutation of every field of a returned
   `Evidence`/`Witness`.
2. `z3field`, which now writes each step as an SMT-LIB script: numerals as `(+ (/ a.0 b.0))`,
   sums as `define-fun`s, reciprocals as fresh constants with `a·r = 1`. Attacks: the spelling
   of big, negative and tiny fractions read back by Z3 itself; a seeded comparison of Z3's
   verdicts with sympy (an oracle that shares no code with the kernel); `by: index` steps,
   which are valid only on Z3's `exact` evidence.

Found, and closed since: `z3_decide` answered `unsat` ("equal") for false identities whose
Gauss–Jordan pivot is a term that is identically zero but not folded to 0 (`det(X - X^T) = 0`
for a 2×2 X): the script asserts `t·r = 1` for that t, so it is unsatisfiable whatever the claim
says. Z3 saw det and inverses whenever no dimension symbol is declared (integer sizes only:
`decisive == 1`), contrary to truth.py's and docs/soundness.md's "Z3 is asked only about steps
with no det, inverse or log". The kernel's verdict stayed sound (the random points run first at
the same, only, assignment and refute the step), but `exact` evidence could rest on a vacuous
script; now `z3_decide` refuses det, inverses and log itself. And a crash: a literal whose power
passed 4,300 digits made `_lit` raise ValueError out of `api.check_text`; now Z3 answers unknown.
"""
from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
import z3

from prover import api
from prover.kernel import truth
from prover.kernel.expr import Add, Div, Expr, Func, Ident, Inv, Mul, Neg, Num, Pow, Sym, T, add, mul
from prover.kernel.errors import ProveError
from prover.kernel.parser import parse
from prover.kernel.shapes import SCALAR, Shape, VarInfo, shape_of
from prover.kernel.truth import Context, decide
from prover.kernel.z3field import _lit, z3_decide


# -- helpers -------------------------------------------------------------------------------------
def _proof(variables: str, claim: str, steps: str, extra: str = "") -> str:
    return f"theorem: t\nvariables:\n{variables}\nclaim:\n{claim}\n{extra}proof:\n{steps}\n"


def _steps(text: str):
    r = api.check_text(text)
    assert r.result is not None, r.message
    return r


def _last(text: str):
    return _steps(text).result.steps[-1]


def _env(**shapes) -> dict[str, VarInfo]:
    return {n: VarInfo(Shape(*s[:2]), *s[2:]) for n, s in shapes.items()}


# -- an independent oracle: sympy at concrete sizes -------------------------------------------
class Oracle:
    """Evaluates a kernel tree with sympy matrices of symbols (no kernel code): d is the total
    differential Σ ∂/∂x · dx over the entries of the varying variables, with d(dx) = 0."""

    def __init__(self, env: dict[str, VarInfo], varying: set[str], dims: dict[str, int] | None = None):
        self.env, self.dims, self.var, self.dvar = env, dims or {}, {}, {}
        self.base: list[tuple[sympy.Symbol, sympy.Symbol]] = []
        for name, info in env.items():
            r, c = (self._n(info.shape.rows), self._n(info.shape.cols))
            m = sympy.Matrix(r, c, lambda i, j: sympy.Symbol(
                f"{name}_{min(i, j)}_{max(i, j)}" if info.symmetric else f"{name}_{i}_{j}"))
            dm = sympy.Matrix(r, c, lambda i, j: sympy.Symbol(
                f"d{name}_{min(i, j)}_{max(i, j)}" if info.symmetric else f"d{name}_{i}_{j}"))
            self.var[name], self.dvar[name] = m, dm if name in varying else sympy.zeros(r, c)
            if name in varying:
                self.base += list({(x, dx) for x, dx in zip(m, dm)})

    def _n(self, x):
        return x if isinstance(x, int) else self.dims[x]

    def value(self, e: Expr):
        """('s', scalar) for a 1×1 or a multiple of I, ('m', Matrix) otherwise."""
        if isinstance(e, Num):
            return "s", sympy.Rational(e.value.numerator, e.value.denominator)
        if isinstance(e, Ident):
            return "s", sympy.Integer(1)
        if isinstance(e, Sym):
            return self._m(self.var[e.name])
        if isinstance(e, Neg):
            return self._scale(-1, self.value(e.arg))
        if isinstance(e, Add):
            acc = self.value(e.args[0])
            for t in e.args[1:]:
                acc = self._plus(acc, self.value(t))
            return acc
        if isinstance(e, Mul):
            acc = self.value(e.args[0])
            for f in e.args[1:]:
                acc = self._times(acc, self.value(f))
            return acc
        if isinstance(e, Div):
            kind, den = self.value(e.den)
            assert kind == "s"
            return self._scale(1 / den, self.value(e.num))
        if isinstance(e, T):
            k, v = self.value(e.arg)
            return (k, v) if k == "s" else self._m(v.T)
        if isinstance(e, Inv):
            k, m = self.value(e.arg)
            return ("s", 1 / m) if k == "s" else self._m(m.inv())
        if isinstance(e, Pow):
            v = self.value(e.arg)
            acc = ("s", sympy.Integer(1))
            if e.k < 0:
                k, m = v
                v = ("s", 1 / m) if k == "s" else self._m(m.inv())
            for _ in range(abs(e.k)):
                acc = self._times(acc, v)
            return acc
        if isinstance(e, Func) and e.name == "tr":
            k, v = self.value(e.arg)  # a "s" here is a 1×1 (shapes refuse tr of an unsized I)
            return "s", v.trace() if k == "m" else v
        if isinstance(e, Func) and e.name == "det":
            k, v = self.value(e.arg)
            return "s", v.det() if k == "m" else v
        if isinstance(e, Func) and e.name == "d":
            k, v = self.value(e.arg)
            diff = (lambda z: sum((sympy.diff(z, x) * dx for x, dx in self.base), sympy.Integer(0)))
            return (k, diff(v)) if k == "s" else self._m(v.applyfunc(diff))
        raise TypeError(type(e).__name__)

    @staticmethod
    def _m(v):
        return ("s", v[0, 0]) if v.shape == (1, 1) else ("m", v)

    def _scale(self, s, v):
        return (v[0], s * v[1])

    def _plus(self, a, b):
        if a[0] == "s" and b[0] == "s":
            return "s", a[1] + b[1]
        if a[0] == "s":
            a, b = b, a
        if b[0] == "s":
            return self._m(a[1] + b[1] * sympy.eye(a[1].shape[0]))
        return self._m(a[1] + b[1])

    def _times(self, a, b):
        if a[0] == "s" or b[0] == "s":
            return (b[0], a[1] * b[1]) if a[0] == "s" else (a[0], a[1] * b[1])
        return self._m(a[1] * b[1])

    def equal(self, lhs: Expr, rhs: Expr, size: int | None = None) -> bool:
        (kl, vl), (kr, vr) = self.value(lhs), self.value(rhs)
        if kl == "s" and kr == "s":
            diffs = [vl - vr]
        else:
            n = size or (vl.shape[0] if kl == "m" else vr.shape[0])
            ml = vl if kl == "m" else vl * sympy.eye(n)
            mr = vr if kr == "m" else vr * sympy.eye(n)
            diffs = list(ml - mr)
        return all(sympy.cancel(sympy.together(x)) == 0 for x in diffs)


# == 1. the memo ==================================================================================
def test_a_yaml_list_of_two_proofs_shares_no_wrong_answer():
    # one text, one process, one check_text call: the first proof (X symmetric) makes
    # `X^T -> X` true and remembered; the second (X general) asks the very same trees. The
    # oracle: sympy says X^T = X only for the symmetric X.
    steps = "  - expr: X^T\n  - expr: X\n    by: algebra"
    one = _proof("  X: {shape: [n, n], symmetric: true}", "  lhs: X^T\n  rhs: X", steps)
    two = _proof("  X: {shape: [n, n]}", "  lhs: X^T\n  rhs: X", steps)
    for text in ("- " + one.replace("\n", "\n  ").rstrip() + "\n- " + two.replace("\n", "\n  ").rstrip() + "\n",
                 "- " + two.replace("\n", "\n  ").rstrip() + "\n- " + one.replace("\n", "\n  ").rstrip() + "\n"):
        results = api.check_text(text)
        by = {("symmetric" in text.split("- theorem")[1 + i]): r.status for i, r in enumerate(results)}
        assert by[True] == "valid" and by[False] == "invalid"
    env = _env(X=("n", "n", False, True))
    ora = Oracle(env, {"X"}, {"n": 3})
    assert ora.equal(parse("X^T", {"X"}), parse("X", {"X"}))
    assert not Oracle(_env(X=("n", "n")), {"X"}, {"n": 3}).equal(parse("X^T", {"X"}), parse("X", {"X"}))


def test_two_files_in_one_check_call(tmp_path: Path):
    # `prove check a.yaml b.yaml` in one process: A X = X A for a 1×1 X, then for an n×n X
    # (same trees). Both orders.
    steps = "  - expr: A X\n  - expr: X A\n    by: algebra"
    true = _proof("  A: {shape: [n, n]}\n  X: {shape: [1, 1]}", "  lhs: A X\n  rhs: X A", steps)
    false = _proof("  A: {shape: [n, n]}\n  X: {shape: [n, n]}", "  lhs: A X\n  rhs: X A", steps)
    (tmp_path / "a.yaml").write_text(true)
    (tmp_path / "b.yaml").write_text(false)
    for order in (["a.yaml", "b.yaml"], ["b.yaml", "a.yaml"], ["a.yaml", "b.yaml"]):
        res = api.check([tmp_path / f for f in order])
        st = {Path(r.path).name: r.status for r in res}
        assert st == {"a.yaml": "valid", "b.yaml": "invalid"}


BILINEAR = """theorem: t
variables:
  a: {{shape: [n, 1], constant: true}}
  X: {{shape: [n, n]}}
  b: {{shape: [n, 1], constant: true}}
claim:
  derivative: a^T X b
  wrt: X
  equals: {g}
{layout}proof:
  - expr: d(a^T X b)
  - expr: tr(b a^T dX)
    by: index
  - derivative: {g}
    by: theorem-4
"""


def test_layout_is_not_forgotten():
    # X square, so both layouts give an n×n G: numerator b a^T, denominator a b^T (sympy: the
    # gradient of a^T X b is the matrix a_i b_j). The wrong one must fail in either order.
    num_ok = BILINEAR.format(g="b a^T", layout="")
    den_bad = BILINEAR.format(g="b a^T", layout="layout: denominator\n")
    den_ok = BILINEAR.format(g="a b^T", layout="layout: denominator\n")
    num_bad = BILINEAR.format(g="a b^T", layout="")
    for _ in range(2):
        assert _steps(num_ok).status == "valid"
        assert _steps(den_bad).status == "invalid"
        assert _steps(den_ok).status == "valid"
        assert _steps(num_bad).status == "invalid"
    env = _env(a=("n", 1, True), X=("n", "n"), b=("n", 1, True))
    ora = Oracle(env, {"X"}, {"n": 3})
    grad = sympy.Matrix(3, 3, lambda i, j: sympy.diff(ora.value(parse("a^T X b", set(env)))[1],
                                                       ora.var["X"][i, j]))
    assert grad == ora.value(parse("a b^T", set(env)))[1]  # ∂f/∂X_ij = a_i b_j: denominator


def test_what_the_derivative_is_taken_in_is_not_forgotten():
    # d(tr(A X)) = tr(A dX) when X varies and A does not; with wrt A (only A varies), the same
    # two trees are false: d(tr(A X)) = tr(dA X).
    def text(wrt: str, g: str) -> str:
        return _proof("  A: {shape: [n, n]}\n  X: {shape: [n, n]}",
                      f"  derivative: tr(A X)\n  wrt: {wrt}\n  equals: {g}",
                      f"  - expr: d(tr(A X))\n  - expr: tr(A dX)\n    by: index\n  - derivative: {g}\n"
                      "    by: theorem-4")
    for _ in range(2):
        assert _steps(text("X", "A")).status == "valid"
        r = _steps(text("A", "X"))
        assert r.status == "invalid" and r.result.steps[1].status == "invalid"
    env = _env(A=("n", "n"), X=("n", "n"))
    lhs, rhs = parse("d(tr(A X))", set(env)), parse("tr(A dX)", set(env))
    assert Oracle(env, {"X"}, {"n": 3}).equal(lhs, rhs)
    assert not Oracle(env, {"A"}, {"n": 3}).equal(lhs, rhs)


def test_a_variable_named_like_a_dimension_symbol():
    # `n` is both a 1×1 variable and the size of X in one file, a size only in the other; and
    # `tr(X) = n X^0`-style confusion: tr(I) is the size, not the variable n. Both orders.
    steps = "  - expr: tr(X^0)\n  - expr: n\n    by: algebra"
    named = _proof("  n: {shape: [1, 1]}\n  X: {shape: [n, n]}", "  lhs: tr(X^0)\n  rhs: n", steps)
    for _ in range(2):
        assert _last(named).status == "invalid"  # tr(I_n) is the size; the variable n is free


def test_literals_that_compare_equal_mean_the_same_and_others_do_not():
    # 2.50 and 5/2 parse to different trees but one value; 0.1 and 0.10 to one tree. The
    # false neighbour 0.1 X -> 0.01 X must not borrow the true one's answer.
    env = {"X": VarInfo(Shape("n", "n"))}
    ctx = Context(env, {"X"})
    p = lambda s: parse(s, {"X"})  # noqa: E731
    assert p("0.1 X") == p("0.10 X") and hash(p("0.1 X")) == hash(p("0.10 X"))
    assert decide(p("2.50 X"), p("5/2 X"), ctx).holds
    assert decide(p("0.1 X"), p("0.10 X"), ctx).kind == "exact"
    assert decide(p("0.1 X"), p("0.01 X"), ctx).kind == "false"
    assert decide(p("X 2.50"), p("X 2.5 + 0 X"), ctx).holds
    assert decide(p("2.5 X"), p("2.4999999999999999999999999 X"), ctx).kind == "false"


def test_mutating_a_returned_answer_does_not_reach_the_memo():
    env = {"A": VarInfo(Shape("n", "n")), "B": VarInfo(Shape("n", "n"))}
    lhs, rhs = parse("A B", set(env)), parse("B A", set(env))
    first = decide(lhs, rhs, Context(env, set(env)))
    assert first.kind == "false"
    w = first.witness
    for row in w.values["A"]:
        row[:] = [0] * len(row)  # the point itself, in place
    w.lhs[:] = w.rhs[:]
    first.kind, first.witness, first.sizes, first.checked_by, first.bound = "exact", None, [], ["z3"], 0.0
    again = decide(lhs, rhs, Context(env, set(env)))
    assert again.kind == "false" and not again.holds and again.witness is not None
    assert any(x for row in again.witness.values["A"] for x in row)
    text = _proof("  A: {shape: [n, n]}\n  B: {shape: [n, n]}", "  lhs: A B\n  rhs: B A",
                  "  - expr: A B\n  - expr: B A\n    by: index")
    assert _last(text).status == "invalid"


def test_the_memo_cleared_at_4096_entries_still_refuses():
    env = {"X": VarInfo(Shape("n", "n"))}
    ctx = Context(env, {"X"})
    false_l, false_r = parse("X^2", {"X"}), parse("X^T X", {"X"})
    assert decide(false_l, false_r, ctx).kind == "false"
    for k in range(4100):  # cheap entries (the same tree on both sides) past the limit
        e = parse(f"{k} X", {"X"})
        decide(e, e, ctx)
    assert len(truth._DECIDED) <= 4097
    assert decide(false_l, false_r, ctx).kind == "false"
    assert decide(false_l, false_r, Context(env, {"X"})).kind == "false"


def test_an_answer_without_z3_never_serves_a_by_index_step():
    # explain asks decide with exact=False; the same step then cited `by: index` must reach
    # Z3's exact evidence itself (or be refused), never the probabilistic answer remembered.
    env = {"X": VarInfo(Shape("n", "n"))}
    lhs, rhs = parse("(X + X^T)^T", {"X"}), parse("X^T + X", {"X"})
    text = _proof("  X: {shape: [n, n]}", "  lhs: (X + X^T)^T\n  rhs: X^T + X",
                  "  - expr: (X + X^T)^T\n  - expr: X^T + X\n    by: index")
    prob = decide(lhs, rhs, Context(env, {"X"}, (lhs, rhs)), exact=False)
    assert prob.kind == "probabilistic"
    step = _last(text)
    assert step.status == "valid" and step.evidence == "exact"
    # and the false neighbour, primed both ways, is refused by: index
    bad = _proof("  X: {shape: [n, n]}", "  lhs: (X + X^T)^T\n  rhs: X^T + X",
                 "  - expr: (X + X^T)^T\n  - expr: 2 X\n    by: index")
    decide(lhs, parse("2 X", {"X"}), Context(env, {"X"}, (lhs, rhs)), exact=False)
    assert _last(bad).status == "invalid"


def test_the_claim_sizes_differ_only_by_an_assumption():
    # X (X^T X)^-1 X^T X = X with X m×n is defined only where m >= n. The claim (X = X) does not
    # invert anything, so only `assume: sizes: m >= n` narrows it: with it the step is valid,
    # without it undefined at m < n (never valid), whichever is checked first.
    steps = ("  - expr: X\n  - expr: X (X^T X)^-1 X^T X\n    by: algebra\n"
             "  - expr: X\n    by: algebra")
    with_m = _proof("  X: {shape: [m, n]}", "  lhs: X\n  rhs: X", steps, "assume:\n  sizes: [m >= n]\n")
    bare = _proof("  X: {shape: [m, n]}", "  lhs: X\n  rhs: X", steps)
    for _ in range(2):
        assert _steps(with_m).status == "valid"
        r = _steps(bare)
        assert r.status == "invalid" and r.result.steps[1].evidence == "unknown"
    env = _env(X=("m", "n"))
    lhs, rhs = parse("X (X^T X)^-1 X^T X", {"X"}), parse("X", {"X"})
    assert Oracle(env, set(), {"m": 4, "n": 2}).equal(lhs, rhs)
    with pytest.raises(ValueError):  # sympy: X^T X is singular at m = 2 < n = 3
        Oracle(env, set(), {"m": 2, "n": 3}).equal(lhs, rhs)


def test_a_poisoned_certificate_only_ever_makes_a_step_unjustified(monkeypatch):
    # the search's memory is untrusted: replace every remembered certificate by a wrong one
    # (an empty one, a wrong binding, a rule not cited) and the kernel must replay and refuse.
    from prover.kernel.rules import Application, Move
    from prover.search import match

    from prover.rulebase import load_rulebook

    monkeypatch.setattr(match, "_CERTIFICATES", {})  # and the suggestions found meanwhile:
    monkeypatch.setitem(load_rulebook()[1].__dict__, "_suggested", {})  # both are put back
    vars_ = "  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n  C: {shape: [n, n]}"
    good = _proof(vars_, "  lhs: tr(A B C)\n  rhs: tr(C A B)",
                  "  - expr: tr(A B C)\n  - expr: tr(C A B)\n    by: trace-cyclic")
    assert _steps(good).status == "valid"
    keys = list(match._CERTIFICATES)
    assert keys
    A, B, C = Sym("A"), Sym("B"), Sym("C")
    bogus = [
        [],  # nothing: tr(A B C) is not tr(C A B) by algebra
        [Move(Application("trace-cyclic", "->", (), {"A": A, "B": mul(B, C)}))],  # gives tr(B C A)
        [Move(Application("transpose-transpose", "->", (), {"A": A}))],  # not cited
        [Move(Application("trace-cyclic", "->", (), {"A": mul(A, B, C), "B": Ident()}))],
    ]
    for moves in bogus:
        for k in keys:
            match._CERTIFICATES[k] = moves
        step = _last(good)
        assert step.status in ("unjustified", "error", "invalid"), moves
    # a false step handed a perfect-looking certificate is false first
    bad = _proof(vars_, "  lhs: tr(A B C)\n  rhs: tr(B A C)",
                 "  - expr: tr(A B C)\n  - expr: tr(B A C)\n    by: trace-cyclic")
    _steps(bad)
    for k in list(match._CERTIFICATES):
        match._CERTIFICATES[k] = [Move(Application("trace-cyclic", "->", (), {"A": A, "B": mul(B, C)}))]
    assert _last(bad).status == "invalid"


# == 2. Z3 reads a script ========================================================================
@pytest.mark.parametrize("q", [
    Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 3), Fraction(-7, 2), Fraction(10**40 + 1, 3),
    Fraction(-(10**60) - 7, 10**33 + 9), Fraction(1, 10**50), Fraction(2**61 - 1), Fraction(-(2**200), 3**50)])
def test_z3_reads_each_numeral_as_written(q):
    # Z3 itself reads the spelling back: the value is q, and no other number fits
    v = z3.Real("v")
    spelled = z3.parse_smt2_string(f"(declare-const v Real)(assert (= v {_lit(q)}))")
    s = z3.Solver()
    s.add(spelled)
    assert s.check() == z3.sat and s.model()[v].as_fraction() == q
    s.add(v != z3.Q(q.numerator, q.denominator))
    assert s.check() == z3.unsat


Z3_CASES = [  # (declarations, lhs, rhs): each asked of z3_decide and of sympy
    ("X", "1/3 X + 2/3 X", "X"),
    ("X", "123456789012345678901234567890/7 X", "17636684144620811271604938270 X"),
    ("X", "0.000000000000000000001 X - X / 1000000000000000000000", "0"),
    ("X", "0.000000000000000000001 X - X / 1000000000000000000001", "0"),
    ("X", "(X - X^T) (X - X^T)", "X X - X X^T - X^T X + X^T X^T"),
    ("X", "(X - X^T)^T", "X^T - X"),
    ("X", "(X - X^T)^T", "X - X^T"),
    ("X s", "X / (1 + s s)", "X - s s X / (1 + s s)"),
    ("X s", "X / (1 + s s)", "X - s X / (1 + s s)"),
    ("X s", "d(X / (1 + s s))", "dX / (1 + s s) - 2 s ds X / ((1 + s s) (1 + s s))"),
    ("X s", "d(X / (1 + s s))", "dX / (1 + s s) - 2 s ds X / (1 + s s)"),
    ("X", "d(d(X X))", "2 dX dX"),
    ("X", "d(d(X X))", "dX dX + dX^T dX"),
    ("X", "d(tr(X X X))", "3 tr(X X dX)"),
    ("X", "d(tr(X X X))", "3 tr(X X^T dX)"),
    ("S", "S^T", "S"),
    ("S", "d(S^T)", "dS"),
    ("X", "tr(X)^2 - tr(X X)", "2 tr(X X^T - X^T X) + tr(X)^2 - tr(X X)"),
    ("X", "tr(X)^2 - tr(X X)", "2 tr(X X^T - X X) + tr(X)^2 - tr(X X)"),
]


def _z3_env(names: str):
    return {"X": VarInfo(Shape(2, 2)), "S": VarInfo(Shape(2, 2), symmetric=True),
            "s": VarInfo(SCALAR)} if names else {}


@pytest.mark.parametrize("names, left, right", Z3_CASES)
def test_z3_script_agrees_with_sympy(names, left, right):
    env = {k: v for k, v in _z3_env(names).items() if k in names.split()}
    lhs, rhs = parse(left, set(env)), parse(right, set(env))
    shape_of(lhs, env), shape_of(rhs, env)
    ctx = Context(env, set(env))
    order = max(truth.d_depth(lhs), truth.d_depth(rhs))
    verdict, _ = z3_decide(lhs, rhs, ctx, {}, order, truth.Z3_RLIMIT)
    same = Oracle(env, set(env)).equal(lhs, rhs, 2)
    assert verdict == ("unsat" if same else "sat")
    assert decide(lhs, rhs, ctx).kind == ("exact" if same else "false")


def _gen(rng: random.Random, depth: int, scalar: bool) -> Expr:
    if depth == 0:
        pool = [Sym("s"), Num(Fraction(rng.randint(0, 9), rng.choice([1, 2, 3, 10**20 + 1]))),
                Func("tr", Sym("X"))] if scalar else [Sym("X"), Sym("S"), Ident()]
        return rng.choice(pool)
    c = rng.randrange(8)
    sub = lambda sc=scalar: _gen(rng, depth - 1, sc)  # noqa: E731
    if c == 0:
        return add(sub(), sub())
    if c == 1:
        return Neg(sub())
    if c == 2:
        return mul(sub(), sub())
    if c == 3:
        return mul(sub(True), sub())
    if c == 4:
        return Div(sub(), add(Num(Fraction(1)), mul(Sym("s"), Sym("s"))))
    if c == 5:
        return Func("tr", sub(False)) if scalar else T(sub())
    if c == 6:
        return Pow(sub(), 2)
    return Func("d", sub())


def test_z3_script_agrees_with_sympy_on_seeded_random_steps():
    rng = random.Random(7)
    env = {"X": VarInfo(Shape(2, 2)), "S": VarInfo(Shape(2, 2), symmetric=True), "s": VarInfo(SCALAR)}
    ora = Oracle(env, set(env))
    ctx = Context(env, set(env))
    seen = {"unsat": 0, "sat": 0}
    for _ in range(60):
        scalar = rng.random() < 0.4
        lhs = _gen(rng, 2, scalar)
        rhs = _gen(rng, 2, scalar) if rng.random() < 0.3 else add(
            T(T(lhs)), mul(Num(Fraction(rng.randint(0, 1))), _gen(rng, 1, scalar)))
        try:
            shape_of(lhs, env), shape_of(rhs, env), shape_of(add(lhs, rhs), env)
        except ProveError:
            continue
        order = max(truth.d_depth(lhs), truth.d_depth(rhs))
        verdict, _ = z3_decide(lhs, rhs, ctx, {}, order, truth.Z3_RLIMIT)
        if verdict == "unknown":
            continue
        assert verdict == ("unsat" if ora.equal(lhs, rhs, 2) else "sat"), (str(lhs), str(rhs))
        seen[verdict] += 1
    assert seen["unsat"] >= 10 and seen["sat"] >= 10


# Found by this round, closed: Gauss-Jordan took an identically-zero but unfolded term as a pivot,
# the script asserted t*r = 1 for it, and Z3 answered unsat for a false det(X - X^T) = 0; now
# z3_decide refuses det, inverses and log itself (unknown), as truth.decide never meant to ask it.
@pytest.mark.parametrize("left, right", [("det(X - X^T)", "0"), ("det(X - X^T)", "1"),
                                  ("tr((X - X^T)^-1)", "1"), ("(X - X^T)^-1 (X - X^T)", "2 I")])
def test_z3_alone_never_calls_a_false_det_or_inverse_step_equal(left, right):
    env = {"X": VarInfo(Shape(2, 2))}
    lhs, rhs = parse(left, {"X"}), parse(right, {"X"})
    assert not Oracle(env, {"X"}).equal(lhs, rhs, 2)  # sympy: det(X - X^T) = (x01 - x10)^2
    verdict, _ = z3_decide(lhs, rhs, Context(env, {"X"}), {}, 0, truth.Z3_RLIMIT)
    assert verdict != "unsat"


@pytest.mark.parametrize("left, right", [("det(X - X^T)", "0"), ("tr((X - X^T)^-1)", "1"),
                                  ("(X - X^T)^-1 (X - X^T)", "2 I"),
                                  ("det(X - X^T) X", "0"), ("det(X - X^T + X^T)", "det(X^T) + 1")])
def test_but_a_false_by_index_step_on_it_is_invalid(left, right):
    # the same false steps, end to end and by: index (valid only on Z3's exact evidence): the
    # random points at the one assignment (integer sizes: no symbol) refute them before Z3
    text = _proof("  X: {shape: [2, 2]}", f"  lhs: {left}\n  rhs: {right}",
                  f"  - expr: {left}\n  - expr: {right}\n    by: index")
    for _ in range(2):  # and again from the memo
        step = _last(text)
        assert step.status == "invalid" and step.evidence == "false"
    assert not Oracle({"X": VarInfo(Shape(2, 2))}, {"X"}).equal(parse(left, {"X"}), parse(right, {"X"}), 2)


def test_a_division_by_an_unfolded_zero_is_never_exact():
    # X / (tr(X) - tr(X)): the script asserts (tr X - tr X)·r = 1, unsatisfiable, so Z3 says
    # unsat; the random points find it undefined everywhere, so the step is unknown: invalid
    text = _proof("  X: {shape: [n, n]}", "  lhs: X / (tr(X) - tr(X))\n  rhs: 5 X",
                  "  - expr: X / (tr(X) - tr(X))\n  - expr: 5 X\n    by: index")
    step = _last(text)
    assert step.status == "invalid" and step.evidence == "unknown"
    text2 = text.replace("[n, n]", "[2, 2]")
    assert _last(text2).status == "invalid"


# Found by this round, closed: a literal power past 4,300 digits made z3field._lit's str(int)
# raise ValueError out of check_text; now Z3 answers unknown and the random points decide.
def test_a_huge_literal_power_does_not_crash_the_checker():
    n = "9" * 300
    text = _proof("  X: {shape: [n, n]}", f"  lhs: {n}^16 X\n  rhs: ({n}^16 X^T)^T",
                  f"  - expr: {n}^16 X\n  - expr: ({n}^16 X^T)^T\n    by: index")
    r = api.check_text(text)  # SPEC §8: bad input is a result, never an exception
    assert r.status in ("valid", "invalid", "error")


def test_a_huge_literal_power_is_never_valid_when_false():
    # the same size of literal in a false step: the random points refute it before Z3 is asked
    n = "9" * 300
    text = _proof("  X: {shape: [n, n]}", f"  lhs: {n}^16 X\n  rhs: ({n}^16 X^T)^T",
                  f"  - expr: {n}^16 X\n  - expr: ({n}^16 X)^T\n    by: index")
    assert _last(text).status == "invalid"


def test_by_index_polynomial_steps_need_every_size_not_just_z3s():
    # Z3 confirms only the decisive assignment; Cayley-Hamilton at 2×2 (true at n = 2, false
    # at n >= 3, matrix-valued so the decisive size is >= 3) must not be `exact`
    ch = "X X - tr(X) X + (tr(X) tr(X) - tr(X X))/2 I"
    text = _proof("  X: {shape: [n, n]}", f"  lhs: {ch}\n  rhs: 0",
                  f"  - expr: {ch}\n  - expr: 0\n    by: index")
    assert _last(text).status == "invalid"
    assert Oracle({"X": VarInfo(Shape("n", "n"))}, {"X"}, {"n": 2}).equal(parse(ch, {"X"}), parse("0", {"X"}), 2)
    assert not Oracle({"X": VarInfo(Shape("n", "n"))}, {"X"}, {"n": 3}).equal(parse(ch, {"X"}), parse("0", {"X"}), 3)


def test_a_poisoned_suggestion_changes_no_verdict():
    # the explainer remembers its suggestions on the rule book (untrusted): poison them, and
    # the step keeps its verdict; citing the poisoned suggestion is checked like any citation
    from prover.rulebase import load_rulebook

    book = load_rulebook()[1]
    vars_ = "  A: {shape: [n, n]}\n  B: {shape: [n, n]}\n  C: {shape: [n, n]}"
    text = _proof(vars_, "  lhs: tr(A B C)\n  rhs: tr(C A B)",
                  "  - expr: tr(A B C)\n  - expr: tr(C A B)\n    by: transpose-transpose")
    memo = book.__dict__.setdefault("_suggested", {})
    saved = dict(memo)
    memo.clear()  # what earlier tests left there (a poisoned search, above) is not this test's
    try:
        first = _last(text)
        assert first.status == "unjustified"
        assert memo and "trace-cyclic" in first.suggestion
        for k in memo:
            memo[k] = ["transpose-product"]
        from prover import explain  # it also remembers what it said of the step: forget that,
        explain._EXPLAINED.clear()  # so that the poisoned suggestion is what it reads
        again = _last(text)
        assert again.status == "unjustified" and again.suggestion == ["transpose-product"]
        cited = _last(text.replace("by: transpose-transpose", "by: transpose-product"))
        assert cited.status == "unjustified"
    finally:
        memo.clear()
        memo.update(saved)
