"""Replaying a proof: the only code that says "valid" (SPEC §3, §5).

Input is plain data (`ProofIn`: texts, citations, locations) built by the loader outside the
kernel; output is a `ProofResult` whose every step carries its evidence: the truth `Evidence`
(exact, probabilistic, false with a witness, unknown) and the replayed rule applications.

A step is valid when it is true (`truth.decide`) and justified: the cited rules, each confirmed
before use, applied as the certificate says (`rules.apply`), reach a line equal to the next one
up to `algebra`. Certificates come from an untrusted `Justifier` (the search); a wrong or missing
one can only make a true step `unjustified`, never a false one valid. The start is checked
against d(f) or the claim's left side, and an identity's last line against its right side, the
same way. Read next: `truth.py`, `rules.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

from .errors import Diagnostic, Limits, ProveError
from .expr import Expr, Func, Ident, Mul, Neg, Num, Span, Sym, T, add, d, mul
from .parser import parse
from .printer import show
from .rules import Facts, Move, Rule, confirm_rule, replay
from .shapes import Dim, Env, Shape, VarInfo, dim_times, same_shape, shape_of
from .truth import _RELATIONS, Context, Evidence, Witness, algebra_equal, decide

@dataclass
class StepIn:
    text: str  # the expression (or G, for a derivative step)
    by: list[str]  # citations as written
    derivative: bool = False
    loc: Any = None  # opaque to the kernel: where the loader found `text`
    by_loc: Any = None  # one location per citation


@dataclass
class ProofIn:
    theorem: str
    variables: dict[str, VarInfo]
    claim: dict[str, str]  # {"lhs","rhs"}, {"derivative","wrt","equals"[, "layout"]} or {"hessian","wrt","equals"}
    steps: list[StepIn]
    assume: dict[str, list[Any]] = field(default_factory=dict)  # "sizes": (m, ">=", n); "invertible"


@dataclass
class StepResult:
    index: int
    expr: str
    by: list[str]
    status: str  # valid | invalid | unjustified | error
    message: str = ""
    checked_by: list[str] = field(default_factory=list)
    counterexample: Witness | None = None
    applications: list[Any] = field(default_factory=list)  # rules.Application, or a reading-off (str)
    suggestion: list[str] = field(default_factory=list)
    help: str = ""
    span: Span | None = None  # within `source_text`, for the caret
    source_text: str = ""
    loc: Any = None
    warnings: list[str] = field(default_factory=list)
    caret: Any = None  # (location, width) when the problem is in a citation
    evidence: str = ""  # exact | probabilistic | unknown | false ("" where no truth was asked)
    sizes: list[dict[str, int]] = field(default_factory=list)
    bound: float = 0.0
    expr_tree: Expr | None = field(default=None, repr=False)
    before_tree: Expr | None = field(default=None, repr=False)


@dataclass
class ProofResult:
    theorem: str
    claim: str  # as the loader shows it (`claim_text` outside the kernel)
    status: str  # valid | invalid | error
    steps: list[StepResult]
    message: str = ""
    where: tuple[Any, ...] = ()  # for a file-level error: which part of the file, and the span in it
    span: Span | None = None
    source_text: str = ""
    help: str = ""
    warnings: list[str] = field(default_factory=list)
    context: Context | None = field(default=None, repr=False)
    assumptions: list[str] = field(default_factory=list)  # part of what `valid` says


# A citation as written -> (the rule, "index", or None when it names nothing; why not; a warning
# such as a deprecated name). Untrusted: every rule it returns is confirmed before it is used.
Citer = Callable[[str], "tuple[Rule | str | None, str, str]"]
Justifier = Callable[[Expr, Expr, "list[Rule]", Context], "list[Move] | None"]
Target = tuple[Shape, "Expr | None", str]  # ∂f/∂X's (or the Hessian's) shape, the answer, the layout
# (a Hessian's "layout" is "hessian": its answer H is read off d(d(f)) = dx^T H dx, dx = d(x) or vec(d(X)))

def _evidence(ev: Evidence) -> dict[str, Any]:
    return dict(evidence=ev.kind, sizes=ev.sizes, bound=ev.bound, checked_by=list(ev.checked_by))


def check_proof(proof: ProofIn, cite: Citer, justifier: Justifier | None = None) -> ProofResult:
    """Check every step; the proof is valid when all are valid and the chain ends at the claim."""
    env, names = proof.variables, set(proof.variables)
    try:
        start, end, varying, target = _read_claim(proof, env, names)
        relations, invertible = _read_assumptions(proof, env, names)
    except ProveError as exc:
        return ProofResult(proof.theorem, "", "error", [], exc.diag.message,
                           where=exc.diag.data.get("where", ("claim",)), span=exc.diag.span,
                           source_text=exc.diag.data.get("source", ""), help=exc.diag.help)
    claim = (start, end) if end is not None else (start,) + ((target[1],) if target and target[1] else ())
    ctx, facts = Context(env, varying, claim, relations, invertible), Facts(env, varying, invertible)
    results: list[StepResult] = []
    prev, finished = start, False  # until a line is read, go on from the claim's
    for i, step in enumerate(proof.steps):
        try:
            if finished or (step.derivative and not target and i):
                raise ProveError("step", "a derivative: step ends the proof; nothing may follow it"
                                 if finished else "a derivative: step needs a derivative claim")
            if i == 0:
                r, cur = _check_start(step, start, env, ctx, names)
            elif step.derivative and target:
                r, cur = _check_derivative(i, step, prev, proof, env, ctx, names, cite, target), None
                finished = True
            else:
                r, cur = _check_rewrite(i, step, prev, env, ctx, facts, names, cite, justifier)
        except (ProveError, RecursionError) as exc:  # the step's error: a bad line or citation
            diag = getattr(exc, "diag", None) or Diagnostic("limit", "expression too deeply nested")
            r, cur = StepResult(i, step.text, [], "error", diag.message, loc=step.loc, help=diag.help,
                                span=diag.span if diag.span.end else None, source_text=step.text,
                                caret=diag.data.get("caret"),
                                counterexample=diag.data.get("counterexample")), None
        results.append(r)
        prev = cur if cur is not None else prev
    bad = any(r.status != "valid" for r in results)
    message = "" if bad else "the proof has no steps" if not results else (
        "incomplete: the proof does not end with a derivative: step (Theorem 4)"
        if target and not finished else "")
    if not (bad or message) and end is not None:
        truth = decide(prev, end, ctx) if algebra_equal(prev, end, ctx) else None
        if truth is None or not truth.holds:
            message = (f"incomplete: the proof ends at {show(prev, names)}, not at the claim's right-hand "
                       f"side {show(end, names)}" + (f" ({truth.note or truth.kind})" if truth else ""))
    return ProofResult(proof.theorem, "", "invalid" if bad or message else "valid", results, message, context=ctx, assumptions=[
        " ".join(map(str, r)) for r in relations] + [f"{show(e, names)} invertible" for e in invertible])


def _read_assumptions(proof: ProofIn, env: Env, names: set[str]
                      ) -> tuple[tuple[tuple[str, str, Dim], ...], tuple[Expr, ...]]:
    """`assume:` relations between sizes, (m, ">=", n) or (n, ">", 2) as the loader read them,
    and the square expressions the claim presumes invertible."""
    syms = {x for v in env.values() for x in (v.shape.rows, v.shape.cols) if isinstance(x, str)}
    relations = tuple(proof.assume.get("sizes", ()))
    for k, (a, op, b) in enumerate(relations):
        if a not in syms or op not in _RELATIONS or not (b in syms or isinstance(b, int) and b > 0
                                                          and op[0] == ">"):
            raise ProveError("assume", f"assume: sizes: {a} {op} {b} is not a relation between "
                             "dimension symbols of the declarations, or a lower bound on one",
                             where=("assume", "sizes", k))
    invertible = tuple(_parse_claim(proof, "", "assume: invertible", names, env, text, ("assume", "invertible", k))
                       for k, text in enumerate(proof.assume.get("invertible", [])))
    return relations, invertible


def _read_claim(proof: ProofIn, env: Env, names: set[str]
                ) -> tuple[Expr, Expr | None, set[str], Target | None]:
    _check_declarations(proof)
    if (kind := "hessian" if "hessian" in proof.claim else "derivative") not in proof.claim:
        start, end = (_parse_claim(proof, k, f"the claim's {k}", names, env) for k in ("lhs", "rhs"))
        if not same_shape(shape_of(start, env), shape_of(end, env)):
            raise ProveError("claim", f"the two sides of the claim differ in shape: "
                             f"{shape_of(start, env)} and {shape_of(end, env)}", where=("claim", "rhs"))
        return start, end, {n for n, v in env.items() if not v.constant}, None
    wrt = proof.claim["wrt"]
    f = _parse_claim(proof, kind, "the claim's function", names, env)
    if any(isinstance(n, Func) and n.name == "d" for n in f.walk()):
        raise ProveError("claim", f"the function {show(f)} contains a differential; a {kind} "
                         "claim differentiates a function of the variables", where=("claim", kind))
    if not shape_of(f, env).scalar:
        raise ProveError("claim", f"∂f/∂{wrt} needs a scalar f; {show(f)} is {shape_of(f, env)}",
                         where=("claim", kind))
    ws, layout = env[wrt].shape, kind if kind == "hessian" else proof.claim.get("layout", "numerator")
    n = dim_times(ws.rows, ws.cols)  # type: ignore[arg-type]  # a Hessian is n×n, n the variable's entries
    gshape = Shape(n, n) if kind == "hessian" else Shape(ws.cols, ws.rows) if layout == "numerator" else ws
    claimed = proof.claim.get("equals") and _parse_claim(proof, "equals", "the claim's answer", names, env)
    if claimed and not same_shape(shape_of(claimed, env), gshape):
        raise ProveError("claim", f"the claimed derivative {show(claimed)} is {shape_of(claimed, env)}; "
                         f"in {layout} layout ∂f/∂{wrt} is {gshape}", where=("claim", "equals"))
    return d(d(f)) if kind == "hessian" else d(f), None, {wrt}, (gshape, claimed or None, layout)


def _check_declarations(proof: ProofIn) -> None:
    """What soundness needs of the declarations (names are the loader's business): sizes the
    evaluation can take, and a derivative with respect to something that varies."""
    for name, dim in ((n, x) for n, v in proof.variables.items() for x in (v.shape.rows, v.shape.cols)):
        if not isinstance(dim, str) and not (isinstance(dim, int) and 1 <= dim <= Limits.max_dimension):
            raise ProveError("limit", f"{name}: dimension {dim} is outside 1..{Limits.max_dimension}",
                             where=("variables", name, "shape"))
    if "derivative" in proof.claim or "hessian" in proof.claim:
        var = proof.variables.get(wrt := proof.claim.get("wrt", ""))
        if var is None or var.constant:
            raise ProveError("claim", f"wrt: {wrt!r} is not a declared variable" if var is None else
                             f"{wrt} is declared constant, so nothing can be differentiated with "
                             "respect to it", where=("claim", "wrt"))
        if var.symmetric:
            raise ProveError("claim", f"{wrt} is symmetric; derivatives with respect to a symmetric matrix "
                             "have competing conventions, and prove does not pick one", help="drop "
                             "`symmetric: true` to differentiate over all square matrices", where=("claim", "wrt"))


def _parse_claim(proof: ProofIn, key: str, what: str, names: set[str], env: Env, text: str | None = None,
                 where: tuple[Any, ...] = ()) -> Expr:
    text = proof.claim[key] if text is None else text
    try:
        e = parse(text, names)
        if (s := shape_of(e, env)).rows != s.cols and where:  # an assumed inverse
            raise ProveError("assume", f"{show(e, names)} is {s}; only a square matrix has one")
        return e
    except ProveError as exc:
        raise ProveError(exc.diag.code, f"{what}: {exc.diag.message}", exc.diag.span,
                         exc.diag.help, where=where or ("claim", key), source=text) from None


def _check_start(step: StepIn, start: Expr, env: Env, ctx: Context, names: set[str]) -> tuple[StepResult, Expr]:
    if step.derivative or step.by:
        raise ProveError("step", "the first item gives the starting expression (expr:) and cites no rule")
    shape_of(e := parse(step.text, names), env)
    base: dict[str, Any] = dict(index=0, expr=show(e, names), by=[], loc=step.loc, source_text=step.text,
                                span=Span(0, len(step.text)), expr_tree=e, before_tree=start)
    want = f"the proof must start from {show(start, names)}"
    if (truth := decide(start, e, ctx)).holds and not algebra_equal(e, start, ctx):  # true: rules lead there
        return StepResult(**base, status="unjustified", message=f"{want}: this line equals it, but not by "
                          "algebra alone; start from it and cite the rules that lead here", **_evidence(truth)), e
    return _refuted(base, truth, f"{want}; this start is not equal to it", ("required start", "this line")) or StepResult(
        **base, status="valid", **_evidence(truth)), e


def _resolve(i: int, step: StepIn, cite: Citer) -> tuple[list[str], list[Rule], bool, list[str]]:
    if not step.by:
        raise ProveError("step", "this step cites no rule (by:)",
                         help="cite the rule that produces this line, or algebra")
    ids, rules, warnings = [], [], []
    for j, name in enumerate(step.by):
        rule, reason, warning = cite(name)
        where = step.by_loc[j] if step.by_loc and j < len(step.by_loc) else None
        ok, rid = (confirm_rule(rule), rule.id) if isinstance(rule, Rule) else (None, "index")
        if rule is None or (ok is not None and not ok.holds):
            raise ProveError("citation", reason or f"unknown rule {name!r}" if ok is None else
                             f"the rule {rid} is not confirmed, so nothing may rest on it: "
                             f"{ok.note or ok.kind}", counterexample=ok and ok.witness,
                             caret=(where, name) if where else None)
        rules += [rule] if isinstance(rule, Rule) else []
        ids.append(rid)
        warnings += [warning] if warning else []
    return ids, rules, "index" in ids, warnings


def _refuted(base: dict[str, Any], truth: Evidence, wrong: str, labels: tuple[str, str] | None = None
             ) -> StepResult | None:
    """The step's result when the truth check did not confirm it (None when it did)."""
    if truth.holds:
        return None
    if truth.kind == "false" and truth.witness is not None and labels:
        truth.witness.labels = labels
    return StepResult(**base, **_evidence(truth), status="invalid", counterexample=truth.witness,
                      message=wrong if truth.kind == "false" else f"could not be confirmed: {truth.note}")


def _note(truth: Evidence) -> str:
    return "" if truth.kind == "exact" else f"not confirmed exactly: {truth.note}"


def _check_rewrite(i: int, step: StepIn, prev: Expr, env: Env, ctx: Context, facts: Facts, names: set[str],
                   cite: Citer, justifier: Justifier | None) -> tuple[StepResult, Expr | None]:
    shape = shape_of(cur := parse(step.text, names), env)
    ids, rules, index, warnings = _resolve(i, step, cite)
    base: dict[str, Any] = dict(index=i, expr=show(cur, names), by=ids, loc=step.loc, warnings=warnings,
                                source_text=step.text, expr_tree=cur, before_tree=prev)
    if not same_shape(pshape := shape_of(prev, env), shape):
        return StepResult(**base, status="error", message=f"this line is {shape}, the line "
                          f"before it is {pshape}: a step cannot change the shape"), None
    truth = decide(prev, cur, ctx)
    ev = _evidence(truth)
    refuted = None if truth.holds else _refuted(base, truth, f"this step is false: {show(prev, names)} ≠ {base['expr']}")
    if refuted or index:
        exact = index and truth.kind == "exact"
        return refuted or StepResult(**base, **{**ev, "checked_by": ["index"] + truth.checked_by},
                                     status="valid" if exact else "invalid", message="" if exact else
                                     f"by: index needs an exact confirmation, and only {truth.kind} "
                                     f"evidence was reached ({truth.note})"), cur
    rewriting = [r for r in rules if r.kind == "rewrite"]
    certificate = justifier(prev, cur, rewriting, ctx) if justifier is not None else None
    moves = certificate or []  # none found: the step must be algebra
    try:
        if len(moves) > Limits.max_applications:
            raise ProveError("certificate", "too many rule applications in one step")
        if not algebra_equal(line := replay(prev, moves, {r.id: r for r in rewriting}, facts, ctx), cur, ctx):
            raise ProveError("certificate", f"{', '.join(ids)} does not produce it" if certificate is None else
                             f"the cited rules give {show(line, names)}, which is not this line up to algebra")
    except ProveError as exc:
        return StepResult(**base, **ev, status="unjustified",
                          message=f"this step is true, but {exc.diag.message}"), cur
    return StepResult(**base, **{**ev, "checked_by": ["rule"] + truth.checked_by}, status="valid",
                      message=_note(truth), applications=[m.app for m in moves]), cur


def _check_derivative(i: int, step: StepIn, prev: Expr, proof: ProofIn, env: Env, ctx: Context,
                      names: set[str], cite: Citer, target: Target) -> StepResult:
    (gshape, claimed, layout), wrt = target, proof.claim["wrt"]
    hess, dx = layout == "hessian", d(Sym(wrt)) if env[wrt].shape.cols == 1 else Func("vec", d(Sym(wrt)))
    what, rule, form = (f"the Hessian in {wrt}", "hessian-from-second-differential", f"d{wrt}^T H d{wrt}") if (
        hess) else (f"∂f/∂{wrt}", "derivative-from-differential", f"tr(G d{wrt})")
    ids, rules, _, warnings = _resolve(i, step, cite)
    shape = shape_of(g := parse(step.text, names), env)
    base: dict[str, Any] = dict(index=i, by=ids, loc=step.loc, warnings=warnings, source_text=step.text,
                                expr=show(g, names), expr_tree=g)
    if not same_shape(shape, gshape):
        return StepResult(**base, status="invalid", message=f"{base['expr']} is {shape}; "
                          f"{'the Hessian' if hess else f'in {layout} layout ∂f/∂{wrt}'} is {gshape}",
                          help="the answer may be transposed (numerator vs denominator layout)")
    gprime = extract(prev, wrt, dx if hess else None)  # not where its shape is not G's (tr(A dx), x a scalar)
    gprime = None if gprime is None or not same_shape(shape_of(T(gprime) if layout == "denominator" else gprime, env),
                                                      gshape) else gprime
    if gprime is not None:  # a Hessian is symmetric: dx^T G dx gives the symmetric part of G
        left = base["before_tree"] = mul(Num(Fraction(1, 2)), add(gprime, T(gprime))) if hess else (
            T(gprime) if layout == "denominator" else gprime)
        right = g
    else:  # not read off tr(G dX): is this G the derivative all the same?
        left, right = prev, mul(T(dx), g, dx) if hess else Func("tr", mul(
            T(g) if layout == "denominator" else g, d(Sym(wrt))))
    truth = decide(left, right, ctx)
    refuted = _refuted(base, truth, f"the line before gives {what} = {show(left, names)}, "
                       f"not {base['expr']}" if gprime is not None else f"this is not {what}: "
                       f"the line before is not {show(right, names)}",
                       (what + " from the line before", "this line") if gprime is not None
                       else ("line before", f"{form} with this {'H' if hess else 'G'}"))
    if not refuted and (gprime is None or not any(r.kind == layout if hess else r.kind == "derivative" for r in rules)):
        return StepResult(**base, status="unjustified", suggestion=[rule] * (gprime is not None), message=(
            f"{rule if hess else 'Theorem 4'} reads {what} off a line of the form {form}; the line before is "
            f"{show(prev, names)}" if gprime is None else f"reading off {what} needs {rule}" if hess else
            "reading off a derivative needs Theorem 4 (derivative-from-differential)"))
    if claimed is not None and not refuted:
        second = decide(g, claimed, ctx)
        refuted = _refuted(base, second, f"this derivative is not the claimed "
                           f"{show(claimed, names)}", ("this line", "the claim"))
        truth = second if truth.kind == "exact" else truth
    ev = {**_evidence(truth), "checked_by": ["rule"] + truth.checked_by}
    return refuted or StepResult(**base, **ev, status="valid", message=_note(truth),
                                 applications=[f"{rule} ({'H' if hess else 'G'} := {show(left, names)})"])


def extract(e: Expr, wrt: str, dx: Expr | None = None) -> Expr | None:
    """G from tr(G dX) (or tr(-G dX)); with `dx`, G from the quadratic form dx^T G dx (or its
    negation). None unless e has that form with no differential in G."""
    if dx is None and not (isinstance(e, Func) and e.name == "tr"):
        return None
    form, quadratic, dx = (e, 1, dx) if dx is not None else (e.arg, 0, d(Sym(wrt)))  # type: ignore[attr-defined]
    arg = form.arg if isinstance(form, Neg) else form  # G is between dx^T and dx, or before dX
    inner = arg.args[quadratic:-1] if isinstance(arg, Mul) and arg.args[-1] == dx and (
        not quadratic or arg.args[0] == T(dx)) else None if quadratic or arg != dx else ()
    g = None if inner is None else mul(*inner) if inner else Ident()
    if g is None or any(isinstance(n, Func) and n.name == "d" for n in g.walk()):
        return None
    return Neg(g) if isinstance(form, Neg) else g
