"""Are two answers the same function? (`prove equiv`, used by the grader.) Untrusted: the
verdict "equal" comes from the kernel's semantic check, the normal form only speeds it up and
explains it."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from fractions import Fraction

from .kernel.errors import ProveError
from .kernel.evaluate import Domain, Evaluator, Singular
from .kernel.expr import T
from .kernel.parser import parse
from .kernel.printer import show
from .kernel.shapes import Env, same_shape, shape_of
from .explain import QQ, NeedsReals, approx_counterexample, small_counterexample, witness_values
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
    if None in (sa.rows, sa.cols) and None in (sb.rows, sb.cols):  # SPEC §2: `I` alone is an error
        return Equivalence("error", "the size of I (or 0) is fixed by neither expression: give "
                           "one side a declared variable, e.g. `I` against `X^0`")
    # compared wherever both sides are defined (X^T X invertible needs m >= n)
    ctx = Context(env, {n for n, v in env.items() if not v.constant}, (a, b))
    nf = Normalizer(env)
    if same_shape(sa, sb):
        t = decide(a, b, ctx)
        if t.holds:
            if not t.checked_by:  # one expression once read (`X^-T` and `(X^-1)^T`)
                return Equivalence("equal", "equal (the same expression once read; evidence: "
                                   "exact)", checked_by=("parse",))
            same_nf = show(nf.normal(a)) == show(nf.normal(b))
            how = "the same normal form" if same_nf else "equal as functions"
            return Equivalence("equal", f"equal ({how}; evidence: {t.kind}, checked by "
                               f"{', '.join(t.checked_by)})", checked_by=tuple(t.checked_by))
        diff = t.witness
        if diff is not None and diff.modulus:
            diff = small_counterexample(a, b, ctx) or diff
        if t.kind == "unknown" and "may be any function" in t.note:  # exp, tanh, …: by value
            w = approx_counterexample(a, b, ctx)
            if w is not None:
                return Equivalence("different", f"not equal: {show(a, names)} ≠ {show(b, names)} "
                                   "(the counterexample's values are computed to 60 digits, not "
                                   "exactly)", _labelled(w))
        if t.kind == "unknown":
            return Equivalence("undecided", f"cannot decide: {t.note}")
    else:
        diff = None
    if same_shape(sa, shape_of(T(b), env)):
        t2 = decide(a, T(b), ctx)
        if t2.holds:
            return Equivalence("transposed", "equal up to transpose (layout): the first is the "
                               "transpose of the second",
                               _labelled(diff if same_shape(sa, sb) else _shape_witness(a, b, ctx)),
                               tuple(t2.checked_by))
    if not same_shape(sa, sb):
        return Equivalence("different", f"not equal: different shapes, {sa} and {sb}",
                           _labelled(_shape_witness(a, b, ctx)))
    return Equivalence("different", f"not equal: {show(a, names)} ≠ {show(b, names)}",
                       _labelled(diff))


def _labelled(w: Witness | None) -> Witness | None:
    return None if w is None else replace(w, labels=("the first", "the second"))


def _shape_witness(a, b, ctx: Context) -> Witness | None:
    """Two expressions whose shapes differ, evaluated at sizes where the shapes differ (distinct
    sizes 2, 3, … for distinct dimension symbols) and small integer entries: a counterexample
    whose two values are not even the same size."""
    rng = random.Random(0)
    syms = ctx.dim_syms
    for dims in ({x: 2 + i for i, x in enumerate(syms)}, {x: 3 + i for i, x in enumerate(syms)}):
        if not ctx.defined(dims):
            continue
        for _ in range(20):
            point, dpoint = ctx.draw(dims, lambda: Fraction(rng.randint(-2, 2)))
            ev = Evaluator(QQ, 0, point, dpoint, ctx.env, dims)
            try:
                lv, rv = ev.full(ev.value(a), a, a), ev.full(ev.value(b), b, b)
            except (Singular, Domain, NeedsReals, ZeroDivisionError, KeyError, IndexError):
                continue
            left, right = lv.c[0], rv.c[0]
            if len(left) == len(right) and len(left[0]) == len(right[0]):
                break  # the same size here: try other sizes
            return Witness(dict(dims), witness_values(a, b, point, dpoint), left, right)
    return None

