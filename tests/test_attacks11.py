"""Eleventh round: the speed shortcuts of issues 12 and 13, attacked where they could go stale.

- The kernel remembers a node's shape (and, for a product, where it splits) on the node itself,
  with the declaration of every name in it. A tree is shared between checks (a class repeats
  its steps; the search reuses subtrees), so the same node *object* typed under other
  declarations must be typed again: these tests reuse node objects on purpose, which text-level
  tests (a fresh parse each time) never do.

  Each test fails if the memo is keyed by the node alone (checked by breaking the key). The key
  also names each declaration, so it does not rest on the order in which a node's set of names
  is kept (a node copied or sent to another process keeps its memo).
- `algebra_equal` remembers its answers the way `decide` does, under the context's key: the same
  node objects must get a new answer under other declarations.
- The parser remembers the tree of a text under the declared names and its limits: `dX` is d(X)
  unless dX is declared, and a limit lowered later still refuses a text parsed before.
"""
import copy

import pytest

from prover.kernel.errors import ProveError
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo, shape_of, split
from prover.kernel.truth import Context, decide

N, M = VarInfo(Shape("n", "n")), VarInfo(Shape("n", 1))


def test_one_node_typed_under_two_declarations():
    e = parse("X a", {"X", "a"})
    assert str(shape_of(e, {"X": N, "a": M})) == "n×1"
    with pytest.raises(ProveError):  # a: 1×n cannot follow an n×n X
        shape_of(e, {"X": N, "a": VarInfo(Shape(1, "n"))})
    assert str(shape_of(e, {"X": N, "a": VarInfo(Shape(1, 1))})) == "n×n"  # a scalar scales X
    assert str(shape_of(e, {"X": N, "a": M})) == "n×1"


def test_an_environment_changed_in_place():
    env = {"X": N, "a": M}
    e = parse("a^T X", set(env))
    assert str(shape_of(e, env)) == "1×n"
    env["a"] = VarInfo(Shape("n", "n"))
    assert str(shape_of(e, env)) == "n×n"
    env["X"] = VarInfo(Shape("n", "m"))
    assert str(shape_of(e, env)) == "n×m"


def test_the_same_declarations_under_swapped_names():
    """The same two declarations, exchanged between the names: a key holding the declarations
    without their names (in whatever order the names are kept) would match."""
    a, b = VarInfo(Shape("n", "m")), VarInfo(Shape("m", "n"))
    e = parse("A B", {"A", "B"})
    assert str(shape_of(e, {"A": a, "B": b})) == "n×n"
    assert str(shape_of(e, {"A": b, "B": a})) == "m×m"
    assert str(shape_of(e, {"A": a, "B": b})) == "n×n"


def test_a_subtree_shared_by_two_trees_in_two_environments():
    inner = parse("X a", {"X", "a"})
    outer = parse("tr(X)", {"X"})
    env1 = {"X": N, "a": M}
    env2 = {"X": N, "a": VarInfo(Shape(1, 1))}
    from prover.kernel.expr import Func, mul
    t1 = mul(outer, inner)
    assert str(shape_of(t1, env1)) == "n×1"
    t2 = Func("tr", inner)  # the same inner node object, now where X a is n×n
    assert str(shape_of(t2, env2)) == "1×1"
    with pytest.raises(ProveError):  # and under env1 X a is n×1: no trace
        shape_of(t2, env1)


def test_where_a_product_splits_follows_the_declarations():
    """X b^T a: with columns b, a, X b^T does not read, so the product is X (b^T a) (split 1);
    with b 1×1, it is read left to right (split 2). The evaluator multiplies as split says."""
    e = parse("X b^T a", {"X", "a", "b"})
    cols = {"X": N, "a": M, "b": M}
    scal = {"X": N, "a": M, "b": VarInfo(Shape(1, 1))}
    for _ in range(2):
        assert split(e, cols) == 1 and str(shape_of(e, cols)) == "n×n"
        assert split(e, scal) == 2 and str(shape_of(e, scal)) == "n×1"


def test_a_copied_node_keeps_a_memo_that_still_checks_its_names():
    e = parse("A B", {"A", "B"})
    a, b = VarInfo(Shape("n", "m")), VarInfo(Shape("m", "n"))
    shape_of(e, {"A": a, "B": b})
    twin = copy.deepcopy(e)  # the memo rides along (as it would through pickling)
    assert str(shape_of(twin, {"A": b, "B": a})) == "m×m"


@pytest.mark.parametrize("order", ["true first", "false first"])
def test_one_step_of_node_objects_decided_in_two_contexts(order):
    """a^T a X = X a^T a: true for a column a (a^T a is a number), false for a row (n×n)."""
    names = {"a", "X"}
    lhs, rhs = parse("a^T a X", names), parse("X a^T a", names)
    col = {"a": M, "X": N}
    row = {"a": VarInfo(Shape(1, "n")), "X": N}
    runs = [(col, True), (row, False)]
    for env, holds in runs if order == "true first" else runs[::-1]:
        ev = decide(lhs, rhs, Context(env, set(env)))
        assert ev.holds == holds, (env, ev.kind, ev.note)
        assert (ev.kind == "false") == (not holds)


@pytest.mark.parametrize("order", ["equal first", "different first"])
def test_algebra_answers_of_node_objects_in_two_contexts(order):
    """A X and X A are the same up to algebra when X is 1×1 (a scalar commutes), not for n×n;
    X^T and X when X is symmetric only."""
    from prover.kernel.truth import algebra_equal

    names = {"A", "X"}
    cases = [(parse("A X", names), parse("X A", names), {"A": N, "X": VarInfo(Shape(1, 1))}, {"A": N, "X": N}),
             (parse("X^T", names), parse("X", names), {"A": N, "X": VarInfo(Shape("n", "n"), symmetric=True)},
              {"A": N, "X": N})]
    for a, b, same, other in cases:
        runs = [(same, True), (other, False)]
        for env, want in runs if order == "equal first" else runs[::-1]:
            for _ in range(2):
                assert algebra_equal(a, b, Context(env, set(env))) is want, (str(a), str(b), env)


def test_a_remembered_parse_depends_on_the_declared_names():
    from prover.kernel.expr import Func, Sym

    assert parse("dX", {"X"}) == Func("d", Sym("X"))
    assert parse("dX", {"X", "dX"}) == Sym("dX")  # a declared dX is a variable
    assert parse("dX", {"X"}) == Func("d", Sym("X"))
    assert parse("dX", set()) == Sym("dX")


def test_a_remembered_parse_still_meets_the_limits(monkeypatch):
    from prover.kernel.errors import Limits

    big = " + ".join(["X"] * 30)
    parse(big, {"X"})
    parse("X^12", {"X"})
    parse("((((X))))", {"X"})
    monkeypatch.setattr(Limits, "max_nodes", 20)
    with pytest.raises(ProveError, match="nodes"):
        parse(big, {"X"})
    monkeypatch.setattr(Limits, "max_exponent", 10)
    with pytest.raises(ProveError, match="exponent"):
        parse("X^12", {"X"})
    monkeypatch.setattr(Limits, "max_depth", 2)
    with pytest.raises(ProveError, match="nests"):
        parse("((((X))))", {"X"})


def test_a_text_that_does_not_parse_is_refused_every_time():
    for _ in range(3):
        with pytest.raises(ProveError):
            parse("X +", {"X"})
