"""Are two answers the same function? (`prove equiv`, used by the grader.) Untrusted: the
verdict "equal" comes from the kernel's semantic check, the normal form only speeds it up and
explains it."""
from __future__ import annotations

from dataclasses import dataclass

from .kernel.errors import ProveError
from .kernel.expr import T
from .kernel.parser import parse
from .kernel.printer import show
from .kernel.shapes import Env, same_shape, shape_of
from .explain import small_counterexample
from .kernel.truth import Context, Witness, decide
from .normal import Normalizer


@dataclass
class Equivalence:
    # "equal", "transposed" (equal up to transpose: a layout difference, with the counterexample
    # to plain equality where the shapes agree), "different" (always with a counterexample where
    # the shapes agree), "undecided" (with the reason), or "error" (an expression that does not
    # parse or shape-check: the message names the column)
    status: str
    message: str
    counterexample: Witness | None = None
    checked_by: tuple[str, ...] = ()

    def _repr_markdown_(self) -> str:
        """Jupyter shows the verdict and, for "different", the counterexample as a table."""
        from .display import equivalence_markdown

        return equivalence_markdown(self)

    def _repr_latex_(self) -> str:
        from .display import equivalence_latex

        return equivalence_latex(self)


def equivalent(a_text: str, b_text: str, env: Env) -> Equivalence:
    names = set(env)
    read = []
    for which, text in (("first", a_text), ("second", b_text)):
        try:
            e = parse(text, names)
            read.append((e, shape_of(e, env)))
        except ProveError as exc:
            at = f" (column {exc.diag.span.start + 1})" if exc.diag.span.end else ""
            return Equivalence("error", f"cannot read the {which} expression{at}: {exc.diag.message}")
    (a, sa), (b, sb) = read
    # compared wherever both sides are defined (X^T X invertible needs m >= n)
    ctx = Context(env, {n for n, v in env.items() if not v.constant}, (a, b))
    nf = Normalizer(env)
    if same_shape(sa, sb):
        t = decide(a, b, ctx)
        if t.holds:
            same_nf = show(nf.normal(a)) == show(nf.normal(b))
            how = "the same normal form" if same_nf else "equal as functions"
            return Equivalence("equal", f"equal ({how}; checked by {', '.join(t.checked_by)})",
                               checked_by=tuple(t.checked_by))
        diff = t.witness
        if diff is not None and diff.modulus:
            diff = small_counterexample(a, b, ctx) or diff
        if t.kind == "unknown":
            return Equivalence("undecided", f"cannot decide: {t.note}")
    else:
        diff = None
    if same_shape(sa, shape_of(T(b), env)):
        t2 = decide(a, T(b), ctx)
        if t2.holds:
            return Equivalence("transposed", "equal up to transpose (layout): the first is the "
                               "transpose of the second", diff, tuple(t2.checked_by))
    if not same_shape(sa, sb):
        return Equivalence("different", f"different shapes: {sa} and {sb}")
    return Equivalence("different", f"not equal: {show(a, names)} ≠ {show(b, names)}", diff)
