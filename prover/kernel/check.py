"""Replaying a proof: the only code that says "valid" (SPEC §3, §5).

Input is plain data (`ProofIn`: texts, citations, locations) built by the loader outside the
kernel; output is a `ProofResult` whose every step carries its evidence — the rule applications,
the checks that confirmed it, or the counterexample. Rules come from a `RuleBook`; lemmas through
a callback that must itself call back into this module to check the lemma's file.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import Limits, ProveError
from .expr import RESERVED, Expr, Func, Ident, Mul, Neg, Span, Sym, T, d, mul
from .match import Rule, algebra_equal, justify, unmet_conditions
from .parser import parse
from .printer import show
from .shapes import SCALAR, Shape, VarInfo, same_shape, shape_of
from .truth import Context, Counterexample, check_equal, prefetch

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# -- inputs -------------------------------------------------------------------------------------
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
    claim: dict[str, str]  # {"lhs","rhs"} or {"derivative","wrt","equals"[, "layout"]}
    steps: list[StepIn]
    claim_loc: Any = None


# -- outputs ------------------------------------------------------------------------------------
@dataclass
class StepResult:
    index: int
    expr: str
    by: list[str]
    status: str  # valid | invalid | unjustified | error
    message: str = ""
    checked_by: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    applications: list[str] = field(default_factory=list)
    suggestion: list[str] = field(default_factory=list)
    help: str = ""
    span: Span | None = None  # within `source_text`, for the caret
    source_text: str = ""
    loc: Any = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # time spent checking this step
    caret: Any = None  # (location, width) when the problem is not in the expression (a citation)


@dataclass
class ProofResult:
    theorem: str
    claim: str
    status: str  # valid | invalid | error
    steps: list[StepResult]
    message: str = ""
    # for a file-level error: which part of the file (a key path), and the span within it
    where: tuple = ()
    span: Span | None = None
    source_text: str = ""
    help: str = ""
    warnings: list[str] = field(default_factory=list)  # file-level (e.g. an unused variable)

    @property
    def valid(self) -> bool:
        return self.status == "valid"


# -- rules by name ------------------------------------------------------------------------------
def normalize(name: str) -> str:
    """Citations forgive case, spaces, dashes and underscores; `thm` abbreviates `theorem`.

    >>> normalize("Theorem 2") == normalize("thm-2") == normalize("theorem2")
    True
    """
    n = re.sub(r"[\s\-_]+", "", name.strip().lower())
    return re.sub(r"^thm(?=\d)", "theorem", n)


class RuleBook:
    def __init__(self, rules: list[Rule], aliases: dict[str, str], deprecated: dict[str, str] | None = None):
        self.rules = {r.id: r for r in rules}
        self.names: dict[str, str] = {}
        for r in rules:
            self.names[normalize(r.id)] = r.id
        for alias, rid in aliases.items():
            self.names[normalize(alias)] = rid
        self.deprecated = {normalize(k): v for k, v in (deprecated or {}).items()}

    def resolve(self, name: str) -> str | None:
        n = normalize(name)
        return self.names.get(n) or self.deprecated.get(n)

    def closest(self, name: str) -> list[str]:
        found = difflib.get_close_matches(normalize(name), list(self.names), 3, 0.75)
        return list(dict.fromkeys(self.names[m] for m in found))


LemmaResolver = Callable[[str], "tuple[Rule | None, str]"]


# -- the checker --------------------------------------------------------------------------------
class _StepError(Exception):
    def __init__(self, result: StepResult):
        self.result = result


def claim_text(claim: dict[str, str]) -> str:
    if "derivative" in claim:
        eq = claim.get("equals")
        return f"∂({claim['derivative']})/∂{claim['wrt']}" + (f" = {eq}" if eq else "")
    return f"{claim.get('lhs')} = {claim.get('rhs')}"


def check_proof(proof: ProofIn, book: RuleBook, lemmas: LemmaResolver | None = None) -> ProofResult:
    """Check every step; the proof is valid when all are valid and the chain ends at the claim."""
    env = proof.variables
    names = set(env)
    is_deriv = "derivative" in proof.claim
    claim = claim_text(proof.claim)
    try:
        _check_declarations(proof)
        if is_deriv:
            wrt = proof.claim["wrt"]
            varying = {wrt}
            f = _parse_checked(proof.claim["derivative"], names, env, "the claim's derivative",
                                ("claim", "derivative"))
            if not shape_of(f, env).scalar:
                raise ProveError("claim", f"∂f/∂{wrt} needs a scalar f; {show(f)} is "
                                 f"{shape_of(f, env)}", where=("claim", "derivative"))
            start = d(f)
            layout = proof.claim.get("layout", "numerator")
            wshape = env[wrt].shape
            gshape = Shape(wshape.cols, wshape.rows) if layout == "numerator" else wshape
            claimed_g = None
            if proof.claim.get("equals"):
                claimed_g = _parse_checked(proof.claim["equals"], names, env, "the claim's answer",
                                            ("claim", "equals"))
                if not same_shape(shape_of(claimed_g, env), gshape):
                    raise ProveError("claim", f"the claimed derivative {show(claimed_g)} is "
                                     f"{shape_of(claimed_g, env)}; in {layout} layout ∂f/∂{wrt} "
                                     f"is {gshape}", where=("claim", "equals"))
            end = None
        else:
            varying = {n for n, v in env.items() if not v.constant}
            start = _parse_checked(proof.claim["lhs"], names, env, "the claim's lhs", ("claim", "lhs"))
            end = _parse_checked(proof.claim["rhs"], names, env, "the claim's rhs", ("claim", "rhs"))
            if not same_shape(shape_of(start, env), shape_of(end, env)):
                raise ProveError("claim", f"the two sides of the claim differ in shape: "
                                 f"{shape_of(start, env)} and {shape_of(end, env)}",
                                 where=("claim", "rhs"))
    except ProveError as exc:
        return ProofResult(proof.theorem, claim, "error", [], exc.diag.message,
                           where=exc.diag.data.get("where", ("claim",)), span=exc.diag.span,
                           source_text=exc.diag.data.get("source", ""), help=exc.diag.help)

    ctx = Context(env, varying)
    t_batch = time.perf_counter()
    _prefetch(proof, ctx, names, env, claimed_g if is_deriv else None,
              layout if is_deriv else "numerator")
    t_batch = time.perf_counter() - t_batch
    results: list[StepResult] = []
    prev: Expr | None = None
    finished = False
    t_prev = time.perf_counter()
    deadline = time.perf_counter() + Limits.file_seconds
    for i, step in enumerate(proof.steps):
        t0 = time.perf_counter()
        if t0 > deadline:
            results.append(StepResult(i, step.text, [], "error", "not checked: the proof's time "
                                      f"limit ({Limits.file_seconds:.0f} s) ran out", loc=step.loc))
            prev = None
            continue
        if results:
            results[-1].seconds = results[-1].seconds or (t0 - t_prev)
        t_prev = t0
        if finished:
            results.append(StepResult(i, step.text, [], "error", "a derivative: step ends the "
                                      "proof; nothing may follow it", loc=step.loc))
            continue
        try:
            if i == 0:
                results.append(_check_start(step, start, env, ctx, names))
                prev = parse(step.text, names)
                continue
            if prev is None:
                raise _StepError(StepResult(i, step.text, [], "error",
                                            "not checked: an earlier line has an error", loc=step.loc))
            if step.derivative:
                if not is_deriv:
                    raise _StepError(StepResult(i, step.text, [], "error", "a derivative: step "
                                                "needs a derivative claim", loc=step.loc))
                r = _check_derivative(i, step, prev, proof, env, ctx, names, book, gshape,
                                      claimed_g, layout)
                results.append(r)
                finished = True
                continue
            r, cur = _check_rewrite(i, step, prev, env, ctx, names, book, lemmas)
            results.append(r)
            prev = cur if r.status != "error" else None
        except _StepError as exc:
            results.append(exc.result)
            prev = None if i > 0 else prev
        except ProveError as exc:
            results.append(StepResult(i, step.text, [], "error", exc.diag.message, loc=step.loc,
                                      span=exc.diag.span, source_text=step.text, help=exc.diag.help))
            prev = None
        except RecursionError:
            results.append(StepResult(i, step.text, [], "error", "expression too deeply nested",
                                      loc=step.loc))
            prev = None

    if results:
        results[-1].seconds = results[-1].seconds or (time.perf_counter() - t_prev)
    # the steps were confirmed together before the replay: each step's time includes its share
    for r in results[1:]:
        r.seconds += t_batch / max(1, len(results) - 1)
    # A file is `error` only when its claim or declarations are unusable (above); a step that
    # does not parse is that step's `error`, and makes the proof `invalid`.
    status, message = "valid", ""
    if any(r.status != "valid" for r in results):
        status = "invalid"
    elif not results:
        status, message = "invalid", "the proof has no steps"
    elif is_deriv and not finished:
        status, message = "invalid", ("incomplete: the proof does not end with a derivative: "
                                      "step (Theorem 4)")
    elif not is_deriv and prev is not None and not algebra_equal(prev, end, ctx):
        status, message = "invalid", (f"incomplete: the proof ends at {show(prev, names)}, "
                                      f"not at the claim's right-hand side {show(end, names)}")
    return ProofResult(proof.theorem, claim, status, results, message,
                       warnings=_unused(proof, names))


def _prefetch(proof: ProofIn, ctx: Context, names: set[str], env, claimed_g: Expr | None,
              layout: str) -> None:
    """Hand the truth checker every rewrite step that parses (and the reading-off of the
    derivative), so it can confirm them together: one Z3 query instead of one per step. Only a
    speed-up: each step is still judged in the loop above, which finds the confirmations in the
    cache or does the work itself."""
    pairs, prev = [], None
    for i, step in enumerate(proof.steps):
        if i >= Limits.max_steps:
            break
        try:
            e = parse(step.text, names)
            s = shape_of(e, env)
        except (ProveError, RecursionError):
            prev = None
            continue
        if step.derivative:
            gprime = _extract(prev[0], proof.claim["wrt"]) if prev is not None else None
            if gprime is not None:
                gprime = T(gprime) if layout == "denominator" else gprime
                try:
                    fits = same_shape(shape_of(gprime, env), s)
                    fits_claim = claimed_g is not None and same_shape(shape_of(claimed_g, env), s)
                except ProveError:
                    fits = fits_claim = False
                if fits:
                    pairs.append((gprime, e))
                if fits_claim:
                    pairs.append((e, claimed_g))
            break
        if prev is not None and step.by and same_shape(prev[1], s) and prev[0] != e:
            pairs.append((prev[0], e))
        prev = (e, s)
    pairs = [(a, b) for a, b in pairs if a != b]
    if len(pairs) > 1:
        # one step's budget for all of them: what the batch confirms in that time, each step
        # on its own would have been confirmed within its budget too
        prefetch(pairs, ctx, Limits.step_seconds)


def _unused(proof: ProofIn, names: set[str]) -> list[str]:
    used: set[str] = {proof.claim.get("wrt", "")}
    for text in [v for k, v in proof.claim.items() if k in ("lhs", "rhs", "derivative", "equals")] \
            + [st.text for st in proof.steps]:
        try:
            used |= {n.name for n in parse(text, names).walk() if isinstance(n, Sym)}
        except ProveError:
            continue
    return [f"variable {n} is declared but never used" for n in sorted(names - used)]


def _check_declarations(proof: ProofIn) -> None:
    for name, info in proof.variables.items():
        if not NAME.match(name) or name in RESERVED:
            raise ProveError("declaration", f"{name!r} cannot be a variable name"
                             + (" (it is reserved)" if name in RESERVED else ""),
                             where=("variables", name, "@key"))
        for dim in (info.shape.rows, info.shape.cols):
            if isinstance(dim, int) and not 1 <= dim <= Limits.max_dimension:
                raise ProveError("limit", f"{name}: dimension {dim} is outside "
                                 f"1..{Limits.max_dimension}", where=("variables", name, "shape"))
            if isinstance(dim, str) and not NAME.match(dim):
                raise ProveError("declaration", f"{name}: {dim!r} is not a dimension symbol",
                                 where=("variables", name, "shape"))
    if "derivative" in proof.claim:
        wrt = proof.claim.get("wrt", "")
        info = proof.variables.get(wrt)
        if info is None:
            raise ProveError("claim", f"wrt: {wrt!r} is not a declared variable",
                             where=("claim", "wrt"))
        if info.constant:
            raise ProveError("claim", f"{wrt} is declared constant, so nothing can be "
                             "differentiated with respect to it", where=("claim", "wrt"))
        if info.symmetric:
            raise ProveError("claim", f"{wrt} is symmetric; derivatives with respect to a "
                             "symmetric matrix have competing conventions, and prove does not "
                             "pick one", help="drop `symmetric: true` to differentiate over all "
                             "square matrices", where=("claim", "wrt"))


def _parse_checked(text: str, names: set[str], env, what: str, where: tuple) -> Expr:
    try:
        e = parse(text, names)
        shape_of(e, env)
        return e
    except ProveError as exc:
        raise ProveError(exc.diag.code, f"{what}: {exc.diag.message}", exc.diag.span,
                         exc.diag.help, where=where, source=text) from None


def _parse_step(i: int, step: StepIn, names, env) -> tuple[Expr, Shape]:
    try:
        e = parse(step.text, names)
        return e, shape_of(e, env)
    except ProveError as exc:
        raise _StepError(StepResult(i, step.text, [], "error", exc.diag.message,
                                    help=exc.diag.help, span=exc.diag.span,
                                    source_text=step.text, loc=step.loc)) from None


def _check_start(step: StepIn, start: Expr, env, ctx, names) -> StepResult:
    if step.derivative or step.by:
        raise _StepError(StepResult(0, step.text, [], "error", "the first item gives the starting "
                                    "expression (expr:) and cites no rule", loc=step.loc))
    e, _ = _parse_step(0, step, names, env)
    if e != start and not algebra_equal(e, start, ctx):
        return StepResult(0, show(e, names), [], "invalid",
                          f"the proof must start from {show(start, names)}", loc=step.loc,
                          span=Span(0, len(step.text)), source_text=step.text)
    return StepResult(0, show(e, names), [], "valid", loc=step.loc)


def _resolve(i: int, step: StepIn, book: RuleBook, lemmas) -> tuple[list[str], list[Rule], bool, list[str]]:
    ids, rules, index, warnings = [], [], False, []
    for j, name in enumerate(step.by):
        rid = book.resolve(name)
        if rid is not None:
            if normalize(name) in book.deprecated:
                warnings.append(f"{name!r} is a deprecated name for {rid}")
            ids.append(rid)
            rules.append(book.rules[rid])
            continue
        if normalize(name) == "index":
            ids.append("index")
            index = True
            continue
        rule, reason = (lemmas(name) if lemmas else (None, ""))
        if rule is not None:
            ids.append(rule.id)
            rules.append(rule)
            continue
        near = book.closest(name)
        where = step.by_loc[j] if step.by_loc and j < len(step.by_loc) else None
        raise _StepError(StepResult(
            i, step.text, [], "error", reason or f"unknown rule {name!r}",
            help="" if reason else ("did you mean " + " or ".join(near) + "?") if near else
            "`prove rules` lists the rules; a lemma is another proof file's theorem name",
            loc=step.loc, caret=(where, name) if where else None))
    if not step.by:
        raise _StepError(StepResult(i, step.text, [], "error", "this step cites no rule (by:)",
                                    help="cite the rule that produces this line, or algebra",
                                    loc=step.loc))
    return ids, rules, index, warnings


def _check_rewrite(i, step: StepIn, prev: Expr, env, ctx, names, book, lemmas):
    cur, shape = _parse_step(i, step, names, env)
    ids, rules, index, warnings = _resolve(i, step, book, lemmas)
    pshape = shape_of(prev, env)
    printed = show(cur, names)
    base = dict(index=i, expr=printed, by=ids, loc=step.loc, warnings=warnings,
                source_text=step.text)
    if not same_shape(pshape, shape):
        return StepResult(**base, status="error", message=f"this line is {shape}, the line "
                          f"before it is {pshape}: a step cannot change the shape"), None
    if cur == prev:
        warnings.append("this step changes nothing")
    truth = check_equal(prev, cur, ctx)
    if truth.status == "false":
        msg = f"this step is false: {show(prev, names)} ≠ {printed}"
        if truth.counterexample is None:
            msg += f" ({truth.note})"
        return StepResult(**base, status="invalid", message=msg, checked_by=truth.checked_by,
                          counterexample=truth.counterexample,
                          help=_false_hint(prev, cur, rules, ctx, names)), cur
    if truth.status in ("unknown", "disagree"):
        msg = truth.note if truth.status == "disagree" else f"could not be confirmed: {truth.note}"
        return StepResult(**base, status="invalid", message=msg, checked_by=truth.checked_by,
                          counterexample=truth.counterexample), cur
    if index:
        if truth.status != "true":
            return StepResult(**base, status="invalid", message="by: index needs an exact "
                              f"confirmation, and none was reached ({truth.note})",
                              checked_by=truth.checked_by), cur
        return StepResult(**base, status="valid", checked_by=["index"] + truth.checked_by), cur
    stats: dict = {}
    found = justify(prev, cur, rules, ctx, stats=stats)
    if found is None:
        relaxed = justify(prev, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
        unmet = unmet_conditions(relaxed, rules, ctx) if relaxed else []
        if unmet:
            return StepResult(**base, status="unjustified", checked_by=truth.checked_by,
                              message="this step is true, but " + "; ".join(unmet)), cur
        hint = suggest(prev, cur, ctx, book)
        named = ", ".join(ids)
        if stats.get("exhausted"):
            msg = (f"this step is true, but no way to reach it with {named} was found within "
                   f"the search limit; split it into smaller steps")
        else:
            msg = f"this step is true, but {named} does not produce it"
        msg += f"; {_listing(hint)} would justify it" if hint else ""
        return StepResult(**base, status="unjustified", message=msg, checked_by=truth.checked_by,
                          suggestion=hint), cur
    if not found.applications and "algebra" not in ids:
        warnings.append(f"no rule was needed: this step is algebra, not {', '.join(ids)}")
    note = "" if truth.status == "true" else f"not confirmed exactly: {truth.note}"
    return StepResult(**base, status="valid", message=note, checked_by=["rule"] + truth.checked_by,
                      applications=[a.describe() for a in found.applications]), cur


def _listing(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else "[" + ", ".join(ids) + "]"


def suggest(prev: Expr, cur: Expr, ctx: Context, book: RuleBook) -> list[str]:
    """The shortest list of rules found that would justify a true step."""
    everything = [r for r in book.rules.values() if r.kind == "rewrite"]
    for r in everything:  # one rule alone is the most useful hint
        if justify(prev, cur, [r], ctx, max_apps=3, budget=600):
            return [r.id]
    found = justify(prev, cur, everything, ctx, max_apps=4, budget=4000, fewest=True)
    if found is None:
        return []
    return found.rules or ["algebra"]


def _false_hint(prev: Expr, cur: Expr, rules: list[Rule], ctx: Context, names) -> str:
    """What the cited rules really give from the line before: usually the fastest way to see
    which factor, transpose or sign went astray."""
    from .match import Facts, rewrites

    relaxed = justify(prev, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
    unmet = unmet_conditions(relaxed, rules, ctx) if relaxed else []
    if unmet:
        return "the cited rule gives this line only where its side condition holds: " + \
            "; ".join(unmet)

    facts = Facts(ctx.env, ctx.varying)
    outs: list[str] = []
    for rule in rules:
        if rule.kind != "rewrite":
            continue
        for out, _ in rewrites(prev, rule, facts, limit=40):
            text = show(out, names)
            if text not in outs:
                outs.append(text)
            if len(outs) >= 3:
                break
    if outs:
        return "from the line before, the cited rule gives " + " or ".join(outs)
    named = [r.id for r in rules if r.kind == "rewrite"]
    if named:
        return f"{', '.join(named)} does not apply anywhere in the line before"
    return "algebra only regroups (sums, products, transposes, inverses); it cannot change the value"


def _check_derivative(i, step, prev, proof, env, ctx, names, book, gshape, claimed_g, layout):
    ids, rules, index, warnings = _resolve(i, step, book, None)
    base = dict(index=i, by=ids, loc=step.loc, warnings=warnings, source_text=step.text)
    g, shape = _parse_step(i, step, names, env)
    base["expr"] = show(g, names)
    if not any(r.kind == "derivative" for r in rules):
        return StepResult(**base, status="unjustified", message="reading off a derivative needs "
                          "Theorem 4 (derivative-from-differential)",
                          suggestion=["derivative-from-differential"])
    wrt = proof.claim["wrt"]
    gprime = _extract(prev, wrt)
    if gprime is None:
        return StepResult(**base, status="unjustified", message=f"Theorem 4 reads ∂f/∂{wrt} off "
                          f"a line of the form tr(G d{wrt}); the line before is "
                          f"{show(prev, names)}", help=f"move d{wrt} to the end inside the trace "
                          "(trace-cyclic) and gather the terms under one trace (trace-add)")
    if layout == "denominator":
        gprime = T(gprime)
    if not same_shape(shape, gshape):
        return StepResult(**base, status="invalid", message=f"{base['expr']} is {shape}; in "
                          f"{layout} layout ∂f/∂{wrt} is {gshape}",
                          help="the answer may be transposed (numerator vs denominator layout)")
    truth = check_equal(gprime, g, ctx)
    if truth.status in ("unknown", "disagree"):
        return StepResult(**base, status="invalid", message=truth.note if truth.status == "disagree"
                          else f"could not be confirmed: {truth.note}", checked_by=truth.checked_by)
    if truth.status != "true" and truth.status != "probable":
        msg = (f"the line before gives ∂f/∂{wrt} = {show(gprime, names)}, not {base['expr']}")
        if _transposed(gprime, g, ctx):
            msg += " (they differ by a transpose: check the layout)"
        return StepResult(**base, status="invalid", message=msg, checked_by=truth.checked_by,
                          counterexample=_label(truth.counterexample,
                                                "∂f/∂" + wrt + " from the line before", "this line"))
    checked = ["rule"] + truth.checked_by
    t2 = None
    if claimed_g is not None:
        t2 = check_equal(g, claimed_g, ctx)
        if t2.status in ("unknown", "disagree"):
            return StepResult(**base, status="invalid", message=t2.note if t2.status == "disagree"
                              else f"could not be confirmed: {t2.note}", checked_by=t2.checked_by)
        if t2.status not in ("true", "probable"):
            msg = f"this derivative is not the claimed {show(claimed_g, names)}"
            if _transposed(g, claimed_g, ctx):
                msg += " (they differ by a transpose: check the layout)"
            return StepResult(**base, status="invalid", message=msg, checked_by=t2.checked_by,
                              counterexample=_label(t2.counterexample, "this line", "the claim"))
    notes = [t.note for t in (truth, t2 if claimed_g is not None else None)
             if t is not None and t.status == "probable"]
    return StepResult(**base, status="valid", checked_by=checked,
                      message=("not confirmed exactly: " + "; ".join(notes)) if notes else "",
                      applications=[f"derivative-from-differential (G := {show(gprime, names)})"])


def _label(cex: Counterexample | None, left: str, right: str) -> Counterexample | None:
    return dataclasses.replace(cex, labels=(left, right)) if cex is not None else None


def _transposed(a: Expr, b: Expr, ctx) -> bool:
    try:
        return check_equal(T(a), b, ctx, use_z3=False).status in ("true", "probable")
    except Exception:  # noqa: BLE001 - only a hint; shapes may not allow the transpose
        return False


def _extract(e: Expr, wrt: str) -> Expr | None:
    """G from tr(G dX) (or tr(-G dX)); None unless e has that form with no differential in G."""
    if not (isinstance(e, Func) and e.name == "tr"):
        return None
    arg, sign = e.arg, False
    if isinstance(arg, Neg):
        arg, sign = arg.arg, True
    dx = d(Sym(wrt))
    if arg == dx:
        g: Expr = Ident()
    elif isinstance(arg, Mul) and arg.args[-1] == dx:
        g = mul(*arg.args[:-1])
    else:
        return None
    if any(isinstance(n, Func) and n.name == "d" for n in g.walk()):
        return None
    return Neg(g) if sign else g


__all__ = ["ProofIn", "StepIn", "ProofResult", "StepResult", "RuleBook", "check_proof", "normalize",
           "SCALAR"]
