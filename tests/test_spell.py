"""The one printer outside the kernel (`prover/spell.py`): its plain spelling is exactly the
kernel's printer (`prover.kernel.printer.show`), which the kernel keeps for its own messages;
plain and Unicode spellings read back to the same tree; the LaTeX spelling is tested with the
sheets in test_render.py."""
from fractions import Fraction

import pytest
from hypothesis import given, settings

from prover.kernel.parser import parse
from prover.kernel.printer import show
from prover.spell import LATEX, plain, spell, sum_terms, unicode

from helpers import expr_trees

NAMES = {"A", "B", "X", "a", "s", "x1", "alpha"}
CLASH = NAMES | {"dX"}  # a declared dX: d(X) must be written d(X)

trees = expr_trees(NAMES, numbers=(0, 1, 2, Fraction(5, 2), Fraction(3, 4), Fraction(1, 3)),
                   powers=(0, 2, 3, -2), max_leaves=12)
# A literal 1/3 prints as `(1/3)`, which reads back as a quotient, not a literal: the kernel's
# round trip holds for trees the parser can build, so the read-back test leaves it out.
readable = expr_trees(NAMES, numbers=(0, 1, 2, Fraction(5, 2), Fraction(3, 4)),
                      powers=(0, 2, 3, -2), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_plain_is_the_kernel_printer(e):
    for names in (NAMES, CLASH):
        assert plain(e, names) == show(e, names)


@settings(max_examples=300, deadline=None)
@given(readable)
def test_plain_and_unicode_read_back(e):
    for names in (NAMES, CLASH):
        assert parse(plain(e, names), names) == e
        assert parse(unicode(e, names), names) == e


@pytest.mark.parametrize("src, uni", [
    ("X^T", "Xᵀ"),
    ("X^-1", "X⁻¹"),
    ("X^-T", "X⁻ᵀ"),
    ("(X^T)^-1", "Xᵀ⁻¹"),
    ("X^-2", "X^-2"),
    ("tr(X^-1 dX)", "tr(X⁻¹ dX)"),
    ("-a^T X a / (a^T a)", "-aᵀ X a / (aᵀ a)"),
    ("A - (B - X)", "A - (B - X)"),
])
def test_unicode(src, uni):
    assert unicode(parse(src, NAMES), NAMES) == uni


def test_differential_shorthand_follows_the_declarations():
    e = parse("d(X) A", NAMES)
    assert plain(e, NAMES) == "dX A" and plain(e, CLASH) == "d(X) A"
    assert spell(e, LATEX, CLASH) == r"\mathrm{d}X \, A"  # LaTeX: no clash, dX is \mathit{dX}


def test_sum_terms_are_where_a_line_breaks():
    e = parse("A - B X + tr(X) A - (-B)", NAMES)
    assert sum_terms(e) == ["A", "- B X", "+ tr(X) A", "- (-B)"]
    assert sum_terms(e, LATEX) == ["A", "- B X", r"+ \operatorname{tr}(X) A", "- (-B)"]
    assert sum_terms(parse("A B", NAMES)) == ["A B"]


# -- the notation beyond the seed: ∘, ⊗, vec, diag, sum and the entrywise functions ---------------
def _beyond_trees():
    from hypothesis import strategies as st

    from prover.kernel.expr import Func, Had, Kron, Neg, Sym, T, add, mul

    leaves = st.sampled_from(sorted(NAMES)).map(Sym)

    def extend(children):
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: add(*xs)),
            children.map(Neg),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: mul(*xs)),
            st.tuples(children, children).map(lambda p: Had(*p)),
            st.tuples(children, children).map(lambda p: Kron(*p)),
            children.map(T),
            st.tuples(st.sampled_from(["exp", "log", "sqrt", "sigmoid", "tanh", "vec", "diag",
                                       "sum", "tr"]), children).map(lambda p: Func(*p)),
        )

    return st.recursive(leaves, extend, max_leaves=10)



@settings(max_examples=300, deadline=None)
@given(_beyond_trees())
def test_new_operators_print_like_the_kernel_and_read_back(e):
    assert plain(e, NAMES) == show(e, NAMES)
    assert parse(plain(e, NAMES), NAMES) == e
    assert parse(unicode(e, NAMES), NAMES) == e


@pytest.mark.parametrize("src, uni, tex", [
    ("A .* X", "A ∘ X", r"A \circ X"),
    ("kron(A, X)", "A ⊗ X", r"A \otimes X"),
    ("(A B) .* X", "(A B) ∘ X", r"(A B) \circ X"),
    ("A (B .* X)", "A (B ∘ X)", r"A (B \circ X)"),
    ("(A .* B) X", "(A ∘ B) X", r"(A \circ B) X"),
    ("kron(A, B)^T", "(A ⊗ B)ᵀ", r"(A \otimes B)^{\top}"),
    ("vec(X)^T kron(A, B) vec(X)", "vec(X)ᵀ (A ⊗ B) vec(X)",
     r"\operatorname{vec}(X)^{\top} (A \otimes B) \operatorname{vec}(X)"),
    ("sum(exp(X a))", "sum(exp(X a))", r"\operatorname{sum}(\exp(X a))"),
    ("diag(a)^-1", "diag(a)⁻¹", r"\operatorname{diag}(a)^{-1}"),
    ("sqrt(a^T a)", "sqrt(aᵀ a)", r"\sqrt{a^{\top} a}"),
    ("sigmoid(s) tanh(s) log(s)", "sigmoid(s) tanh(s) log(s)", r"\sigma(s) \tanh(s) \log(s)"),
])
def test_new_operators_in_each_spelling(src, uni, tex):
    e = parse(src, NAMES)
    assert unicode(e, NAMES) == uni and parse(uni, NAMES) == e
    assert spell(e, LATEX, NAMES) == tex
