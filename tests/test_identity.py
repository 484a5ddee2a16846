"""Trees are compared by structure and hashed once per node (the hash is cached): equality must
be plain structural equality, and equal trees must hash alike."""
from hypothesis import given, settings

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
