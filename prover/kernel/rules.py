"""Rules, and replaying one application of a rule at a position (SPEC §4, §5 "Justified").

A `Rule` is an equation between two patterns whose variables carry shapes and side conditions.
An `Application` is a certificate for one rewrite: the rule, the direction, the position (a
path of child indices, and for a product or sum the factors or terms it covers) and the
substitution. The kernel does not search: the search (`prover/search/`, untrusted) proposes
applications and `apply` replays each one. An application is accepted when the substitution
fits the pattern variables' shapes and side conditions, and the subterm at the position equals
the instantiated pattern up to `algebra`; the subterm is then replaced by the other side.
Read next: `replay.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from .errors import ProveError
from .expr import Add, Expr, Ident, Inv, Mul, Neg, Num, Path, Pow, Sym, T, add, mul, replace_at, symbols
from .shapes import SCALAR, Dim, Env, Shape, VarInfo, shape_of
from .truth import Context, Evidence, algebra_equal, decide


@dataclass(frozen=True)
class Rule:
    id: str
    lhs: Expr
    rhs: Expr
    vars: Mapping[str, VarInfo]  # pattern variables; flags are side conditions
    scalar: frozenset[str] = frozenset()
    constant: frozenset[str] = frozenset()
    invertible: frozenset[str] = frozenset()
    kind: str = "rewrite"  # "rewrite", "algebra" or "derivative"

    def content(self) -> tuple[Any, ...]:
        """Everything that decides what the rule says (the key its confirmation is kept by)."""
        return (self.lhs, self.rhs, tuple(sorted(self.vars.items())), self.scalar,
                self.constant, self.invertible, self.kind)


Site = tuple[Any, ...]  # () the whole node; ("mul", i, j) factors i..j-1; ("add", i, j, …) those terms


@dataclass
class Application:
    rule: str
    direction: str  # "->" (left to right as stated) or "<-"
    path: Path
    binding: dict[str, Expr]
    site: Site = ()


@dataclass
class Move:
    """One link of a certificate. Forward: (optionally regroup to `tree` by algebra, then) apply
    `app`. Backward: `app` applied to `tree` gives the current line up to algebra, so the rule
    leads back from it to `tree`, which becomes the current line."""

    app: Application
    tree: Expr | None = None
    backward: bool = False


class Facts:
    """What side conditions may assume of the proof's variables: shapes, and which ones vary."""

    def __init__(self, env: Env, varying: set[str], assumed: tuple[Expr, ...] = ()):
        self.env, self.varying, self.assumed = env, varying, assumed  # assumed: invertible

    def shape(self, e: Expr) -> Shape | None:
        try:
            return shape_of(e, self.env)
        except ProveError:
            return None

    def constant(self, e: Expr) -> bool:
        return not (symbols(e) & self.varying)

    def invertible(self, e: Expr) -> bool:
        if e in self.assumed:
            return True
        if isinstance(e, Sym):
            return bool((info := self.env.get(e.name)) and info.invertible)
        if isinstance(e, (T, Inv, Pow, Neg)):
            return self.invertible(e.arg)
        if isinstance(e, Mul):  # a product of invertible square factors
            return all(self.invertible(f) and (s := self.shape(f)) is not None and s.rows == s.cols for f in e.args)
        return isinstance(e, Ident) or isinstance(e, Num) and e.value != 0

    def symmetric(self, e: Expr) -> bool:
        return self.symmetric(e.arg) if isinstance(e, T) else isinstance(e, Sym) and bool(
            (i := self.env.get(e.name)) and i.symmetric)


def instantiate(e: Expr, b: Mapping[str, Expr]) -> Expr:
    if isinstance(e, Sym) and e.name in b:
        return b[e.name]
    return e.with_children(tuple(instantiate(k, b) for k in e.children())) if e.children() else e


def scalar_variant(rule: Rule, binding: Mapping[str, Expr], facts: Facts) -> Rule:
    """The rule with every pattern variable that is bound to a 1×1 declared 1×1: a scalar may
    stand for a matrix factor (it scales anything), but that instance is a rule of its own,
    and is confirmed as one before it is used (`det(c A) = det(c) det(A)` is not)."""
    scal = {n for n, sub in binding.items() if n in rule.vars
            and (s := facts.shape(sub)) is not None and s.scalar and not rule.vars[n].shape.scalar}
    if not scal:
        return rule
    return replace(rule, vars={n: replace(v, shape=SCALAR) if n in scal else v for n, v in rule.vars.items()})


_CONFIRMED: dict[tuple[Any, ...], Evidence] = {}  # rule confirmations, keyed by the rule's whole content


def confirm_rule(rule: Rule, exact: bool = False) -> Evidence:
    """Is the rule itself true? Decided once per rule content, before anything relies on it (by
    random points: a step's own truth is decided separately; `exact` also asks Z3)."""
    if rule.kind != "rewrite":
        return Evidence("exact", note="a rule of the method, not an equation")
    if (key := (rule.content(), exact)) not in _CONFIRMED:
        env = {n: replace(v, shape=SCALAR) if n in rule.scalar else v for n, v in rule.vars.items()}
        varying = {n for n, v in env.items() if not (v.constant or n in rule.constant)}
        try:  # (shape-checked first)
            _CONFIRMED[key] = (shape_of(rule.lhs, env), shape_of(rule.rhs, env)) and decide(rule.lhs, rule.rhs, Context(env, varying), exact)
        except (ProveError, KeyError, RecursionError) as exc:  # how deep Python may go is the caller's: not kept
            ev = Evidence("unknown", note=f"the rule cannot be evaluated ({exc})")
            return ev if isinstance(exc, RecursionError) else _CONFIRMED.setdefault(key, ev)
    return _CONFIRMED[key]


def unmet(rule: Rule, binding: Mapping[str, Expr], facts: Facts) -> list[str]:
    """What is wrong with this substitution: shapes, or side conditions the proof does not give
    (empty when it fits)."""
    out: list[str] = []
    dims: dict[Any, Dim] = {}
    for name, info in sorted(rule.vars.items()):
        if (sub := binding.get(name)) is None:
            if name in symbols(rule.lhs) | symbols(rule.rhs):
                out.append(f"{rule.id}: nothing is substituted for {name}")
            continue
        if (s := facts.shape(sub)) is None:
            out.append(f"{rule.id}: {sub} does not shape-check")
            continue
        for want, got in ((info.shape.rows, s.rows), (info.shape.cols, s.cols)):
            if want is not None and got is not None and got != (want if isinstance(want, int) else
                                                                 dims.setdefault(want, got)):
                out.append(f"{rule.id}: {name} := {sub} is {s}, which does not fit the rule")
        lacks = {"a scalar": name in rule.scalar and not s.scalar,
                 "constant": (name in rule.constant or info.constant) and not facts.constant(sub),
                 "invertible": (name in rule.invertible or info.invertible)
                 and not facts.invertible(sub), "symmetric": info.symmetric and not facts.symmetric(sub)}
        out += [f"{rule.id} needs {sub} to be {what}" for what, bad in lacks.items() if bad]
    return out


def _select(node: Expr, site: Site) -> tuple[Expr, Callable[[Expr], Expr]]:
    """The part of `node` a site covers, and a function that puts a replacement back."""
    if not site:
        return node, lambda new: new
    if site[0] == "mul" and isinstance(node, Mul) and 0 <= site[1] < site[2] <= len(node.args):
        i, j = site[1], site[2]
        return mul(*node.args[i:j]), lambda new: mul(*node.args[:i], new, *node.args[j:])
    if site[0] == "add" and isinstance(node, Add):
        idx = sorted(set(site[1:]))
        if idx and all(0 <= k < len(node.args) for k in idx):
            rest = [t for k, t in enumerate(node.args) if k not in idx]
            return add(*[node.args[k] for k in idx]), lambda new: add(new, *rest)
    raise ProveError("certificate", f"the site {site} does not exist there")


def apply(e: Expr, app: Application, rule: Rule, facts: Facts, ctx: Context) -> Expr:
    """Replay one application: the expression after it, or a ProveError saying why not."""
    if app.rule != rule.id or app.direction not in ("->", "<-") or rule.kind != "rewrite":
        raise ProveError("certificate", f"{app.rule} cannot be applied as a rewrite")
    variant = scalar_variant(rule, app.binding, facts)
    if problems := unmet(variant, app.binding, facts):
        raise ProveError("certificate", "; ".join(problems))
    if variant is not rule and not confirm_rule(variant).holds:
        raise ProveError("certificate", f"{rule.id} does not hold with a scalar in place of a "
                         f"matrix factor ({', '.join(sorted(app.binding))})")
    source, target = (rule.lhs, rule.rhs) if app.direction == "->" else (rule.rhs, rule.lhs)
    node = e
    for i in app.path:
        if not 0 <= i < len(node.children()):
            raise ProveError("certificate", f"position {app.path} does not exist")
        node = node.children()[i]
    part, put_back = _select(node, app.site)
    if not algebra_equal(part, instantiate(source, app.binding), ctx):
        raise ProveError("certificate", f"{rule.id} does not match {part} there")
    return replace_at(e, app.path, put_back(instantiate(target, app.binding)))


def replay(start: Expr, moves: list[Move], rules: Mapping[str, Rule], facts: Facts, ctx: Context) -> Expr:
    """Follow a certificate from `start`; the line it reaches (a ProveError if a link fails)."""
    line = start
    for mv in moves:
        if (rule := rules.get(mv.app.rule)) is None:
            raise ProveError("certificate", f"{mv.app.rule} is not cited here")
        if mv.backward:
            if mv.tree is None or not algebra_equal(apply(mv.tree, mv.app, rule, facts, ctx), line, ctx):
                raise ProveError("certificate", f"{rule.id} does not lead back from this line")
            line = mv.tree
            continue
        if mv.tree is not None and mv.tree != line and not algebra_equal(line, mv.tree, ctx):
            raise ProveError("certificate", f"{mv.tree} is not the line up to algebra")
        line = apply(line if mv.tree is None else mv.tree, mv.app, rule, facts, ctx)
    return line
