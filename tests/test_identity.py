"""Trees are compared by structure numbers (`expr.node_id`): the numbers must agree with plain
structural equality, also when the numbering table is renewed between comparisons."""
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import expr_trees
from prover.kernel import expr as E


def deep_equal(a, b) -> bool:
    """Structural equality written out, sharing no code with the numbering."""
    if type(a) is not type(b):
        return False
    for f in a._fields:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, E.Expr):
            if not deep_equal(x, y):
                return False
        elif isinstance(x, tuple):
            if len(x) != len(y) or not all(deep_equal(p, q) for p, q in zip(x, y)):
                return False
        elif x != y:
            return False
    return True


TREES = expr_trees(["A", "B", "x"])


@settings(max_examples=300, deadline=None)
@given(TREES, TREES)
def test_equality_is_structural(a, b):
    assert (a == b) == deep_equal(a, b)
    if a == b:
        assert hash(a) == hash(b)


@settings(max_examples=100, deadline=None)
@given(st.lists(TREES, min_size=2, max_size=6))
def test_equality_survives_a_renewed_table(trees):
    saved = E._MAX_IDS
    E._MAX_IDS = 40  # renew the table every few dozen nodes
    try:
        for a in trees:
            for b in trees:
                assert (a == b) == deep_equal(a, b)
                rebuilt = a.with_children(a.children())  # a fresh node of the same structure
                assert rebuilt == a and hash(rebuilt) == hash(a)
    finally:
        E._MAX_IDS = saved
