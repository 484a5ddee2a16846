"""`prove derive`: find ∂f/∂X and write the proof the way the course notes do (SPEC §4.3, §6).

Untrusted by design. The engine writes a chain of steps, each citing the rule it used:
  1. push d inwards (differential rules) until it stands on X alone, multiplying out the terms
     that hold a differential whenever a line would outgrow the checker's node limit;
  2. expand (algebra) into a sum of terms, each linear in dX (sums free of dX stay factors);
  3. open the traces around each differential: split traces of sums (trace-add), take scalar
     factors out (trace-scale: nested traces, 1×1 blocks holding dX, and every scalar when
     the variable is itself 1×1);
  4. bring each term to tr(G_i dX): wrap scalars in tr (trace-scalar), move coefficients in
     (trace-scale), undo dX^T (trace-transpose), rotate dX to the end (trace-cyclic); with
     respect to a 1×1 s, the sum Σ c_i ds is tr(G ds) by Theorem 1 alone;
  5. gather the traces (trace-add), simplify G (algebra), read off G (theorem 4).
A det whose argument is not declared invertible adds that argument to the proof's
`assume: {invertible: [...]}` (Jacobi's formula needs it). The work is bounded in operations
(WORK_LIMIT), never in time. docs/architecture.md, "The derivation engine", says more.
The proof is then checked by the kernel exactly like a student's; only an accepted proof is
returned. Read next: `equiv.py` (comparing answers).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import json

import yaml

from .checking import check_proof
from .kernel.errors import Limits, ProveError
from .kernel.expr import (Add, Div, Expr, Func, Had, Ident, Inv, Kron, Mul, Neg, Num,
                          Pow, Sym, T, add, d, mul, replace_at, size, symbols)
from .trees import subterms
from .kernel.parser import parse
from .kernel.printer import show
from .kernel.shapes import Env, Shape, VarInfo, shape_of
from .normal import Mono, Normalizer, WorkLimit, _has_d, _powers, had_factors, make_had

# The engine's work limit, in operations (never in time): monomials built by the normal form
# plus nodes of the lines it writes. Past it, `derive` refuses with the reason.
WORK_LIMIT = 400_000
# While d is pushed in, a line that would grow past this many nodes is brought to normal form
# first (the kernel reads at most Limits.max_nodes in one expression). Fewer, longer steps check
# faster than many short ones.
PUSH_TIDY_NODES = 390


class DeriveError(Exception):
    """The engine cannot derive this (an operator it does not handle, a missing declaration)."""


@dataclass
class Derivation:
    f: Expr
    wrt: str
    layout: str
    derivative: Expr
    steps: list[tuple[str, list[str]]]  # (expression text, rules); the last one is G
    env: Env
    names: set[str]
    decls: dict[str, dict[str, Any]] = field(default_factory=dict)
    theorem: str = "derived"
    fine_steps: list[tuple[str, list[str]]] | None = None  # one rule application a step
    fine_source: Any = field(default=None, repr=False, compare=False)  # prints fine_steps
    combined: bool = True  # False once the kernel refused a grouped step and fine_steps are used
    assume_invertible: list[str] = field(default_factory=list)  # written as `assume:`
    work: int = 0  # operations the engine spent (monomials built, nodes written)
    kind: str = "derivative"  # or "hessian": the claim is `hessian:`, the answer H

    def proof_yaml(self) -> str:
        """The proof as a proof file, written out by hand so that it reads like one."""
        hess = self.kind == "hessian"
        what = "Hessian" if hess else "Derivative"
        lines = [f"theorem: {_scalar(self.theorem)}",
                 f"title: {_scalar(what + ' of ' + show(self.f, self.names) + ' with respect to ' + self.wrt)}",
                 "source: written by prove derive and checked by prove check"]
        if self.layout != "numerator" and not hess:
            lines.append(f"layout: {self.layout}")
        lines.append("variables:")
        for name, decl in self.decls.items():
            shape = decl["shape"] if decl["shape"] == "scalar" else f"[{decl['shape'][0]}, {decl['shape'][1]}]"
            flags = "".join(f", {k}: true" for k in ("constant", "symmetric", "invertible") if decl.get(k))
            lines.append(f"  {name}: {{shape: {shape}{flags}}}")
        lines += ["claim:", f"  {self.kind}: {_scalar(show(self.f, self.names))}",
                  f"  wrt: {self.wrt}", f"  equals: {_scalar(show(self.derivative, self.names))}"]
        if self.assume_invertible:
            lines += ["assume:", "  invertible: [" + ", ".join(
                _scalar(t) for t in self.assume_invertible) + "]"]
        lines += ["proof:", f"  - expr: {_scalar(self.steps[0][0])}"]
        for text, by in self.steps[1:-1]:
            lines.append(f"  - expr: {_scalar(text)}")
            lines.append("    by: " + (by[0] if len(by) == 1 else "[" + ", ".join(by) + "]"))
        lines.append(f"  - {self.kind}: {_scalar(self.steps[-1][0])}")
        lines.append("    by: " + ("hessian-from-second-differential" if hess else "theorem-4"))
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        """Jupyter shows the derivative and the proof written for it, as LaTeX math."""
        from .latex import derivation_markdown

        return derivation_markdown(self)

    def _repr_latex_(self) -> str:
        """The derivative and its proof as one `$$…$$` block (`aligned`)."""
        from .display import derivation_latex

        return derivation_latex(self)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar(text: str) -> str:
    """Plain YAML where it reads back unchanged, a quoted string otherwise."""
    try:
        if yaml.load(f"k: {text}", Loader=_LOADER) == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def _decl(info: VarInfo) -> dict[str, Any]:
    s = info.shape
    out: dict[str, Any] = {"shape": "scalar" if s.scalar and s.rows == 1 else [s.rows, s.cols]}
    for flag in ("constant", "symmetric", "invertible"):
        if getattr(info, flag):
            out[flag] = True
    return out


class Engine:
    def __init__(self, env: Env, wrt: str):
        self.env, self.wrt = env, wrt
        self.names = set(env)
        self.nf = Normalizer(env, freeze_sums=True, budget=WORK_LIMIT)
        self.steps: list[tuple[Expr, list[str]]] = []  # printed only once grouped
        self.assume: list[Expr] = []  # matrices Jacobi's formula needs invertible
        self._last: Expr | None = None
        self._flats: dict[Expr, Expr] = {}

    def emit(self, e: Expr, rule: str | list[str]) -> Expr:
        # a line that reads back as the one before (a product grouped only by parentheses,
        # which the parser flattens) is no step at all
        flat = _flat(e, self._flats)
        if self._last is None or flat != self._last:
            nodes = size(e)
            if nodes > Limits.max_nodes:
                raise DeriveError(f"a line of the proof would have {nodes} nodes, past the "
                                  f"checker's limit of {Limits.max_nodes} for one expression")
            self.nf.spend(nodes)
            self.steps.append((e, [rule] if isinstance(rule, str) else rule))
            self._last = flat
        return e

    def varying(self, e: Expr) -> bool:
        return self.wrt in symbols(e)

    # -- 1. push d inwards ----------------------------------------------------------------------
    def push_d(self, e: Expr) -> Expr:
        tidied = None
        for _ in range(400):
            site = self._next_d(e)
            if site is None:
                return e
            path, node = site
            arg = node.arg
            if not self.varying(arg):
                e = self._all_constants_zero(e)
                self.emit(e, "diff-constant")
                continue
            new, rule = self._d_rule(arg)
            nxt = replace_at(e, path, new)
            if size(nxt) > PUSH_TIDY_NODES and e is not tidied:
                # the product rule copies the rest of a product: multiply out the terms that
                # hold a differential first, so that no line outgrows what the checker reads
                tidy = self.nf.normal(e)
                if size(tidy) < size(e):
                    e = tidied = self.emit(tidy, "algebra")
                    continue
            e = nxt
            self.emit(e, rule)
        raise DeriveError("the differential did not settle within 400 steps")

    def _next_d(self, e: Expr):
        for path, node in subterms(e):
            if isinstance(node, Func) and node.name == "d":
                if isinstance(node.arg, Sym) and node.arg.name == self.wrt:
                    continue
                if any(isinstance(x, Func) and x.name == "d" for x in node.arg.walk()):
                    raise DeriveError("second differentials (d inside d) are not supported")
                return path, node
        return None

    def _all_constants_zero(self, e: Expr) -> Expr:
        if isinstance(e, Func) and e.name == "d" and not self.varying(e.arg):
            return Num(Fraction(0))
        kids = e.children()
        if not kids:
            return e
        return e.with_children(tuple(self._all_constants_zero(k) for k in kids))

    def _d_rule(self, x: Expr) -> tuple[Expr, str]:
        if isinstance(x, Sym):
            raise DeriveError(f"{x.name} varies but is not the variable of differentiation")
        if isinstance(x, Add):
            return add(d(x.args[0]), d(add(*x.args[1:]))), "diff-add"
        if isinstance(x, Neg):
            return Neg(d(x.arg)), "diff-scale"
        if isinstance(x, Mul):
            head, rest = x.args[0], mul(*x.args[1:])
            return add(mul(d(head), rest), mul(head, d(rest))), "diff-product"
        if isinstance(x, Div):
            s = x.den
            return add(Div(d(x.num), s), Neg(Div(mul(x.num, d(s)), Pow(s, 2)))), "diff-quotient"
        if isinstance(x, T):
            return T(d(x.arg)), "diff-transpose"
        if isinstance(x, Inv):
            return Neg(mul(Inv(x.arg), d(x.arg), Inv(x.arg))), "diff-inverse"
        if isinstance(x, Pow):
            if x.k == 0:
                return Num(Fraction(0)), "diff-constant"
            base = x.arg if x.k > 0 else Inv(x.arg)
            return d(mul(*[base] * abs(x.k))) if abs(x.k) > 1 else d(base), "algebra"
        if isinstance(x, Func):
            if x.name == "tr":
                return Func("tr", d(x.arg)), "diff-trace"
            if x.name == "det":
                if not self._invertible(x.arg) and x.arg not in self.assume:
                    # Jacobi's formula with X^-1 holds where X is invertible: the proof says so
                    # (`assume: {invertible: [...]}`); elsewhere the answer is the adjugate's,
                    # which the notation has no name for
                    self.assume.append(x.arg)
                return mul(x, Func("tr", mul(Inv(x.arg), d(x.arg)))), "diff-det"
            if x.name == "log":
                inner = x.arg
                if isinstance(inner, Func) and inner.name == "det":
                    return Func("tr", mul(Inv(inner.arg), d(inner.arg))), "diff-log-det"
                if self.nf.is_scalar(inner):
                    return Div(d(inner), inner), "diff-log"
                if self._column(inner):
                    return mul(Inv(Func("diag", inner)), d(inner)), "diff-log-vector"
                raise DeriveError(f"no differential rule for the entrywise log of a matrix, "
                                  f"{show(x, self.names)} (only of a column vector)")
            if x.name == "sqrt":
                if self._column(x.arg):
                    return mul(Div(Num(Fraction(1)), Num(Fraction(2))), Inv(Func("diag", x)),
                               d(x.arg)), "diff-sqrt-vector"
                raise DeriveError(f"no differential rule for the entrywise square root of a "
                                  f"matrix, {show(x, self.names)} (only of a column vector)")
            if x.name == "exp":
                return Had(x, d(x.arg)), "diff-exp"
            if x.name == "sigmoid":
                return Had(add(x, Neg(Had(x, x))), d(x.arg)), "diff-sigmoid"
            if x.name == "tanh":
                return add(d(x.arg), Neg(Had(Had(x, x), d(x.arg)))), "diff-tanh"
            if x.name in ("sum", "vec", "diag"):
                return Func(x.name, d(x.arg)), "diff-" + x.name
        if isinstance(x, Had):
            return add(Had(d(x.left), x.right), Had(x.left, d(x.right))), "diff-hadamard"
        if isinstance(x, Kron):  # a constant factor keeps no d( ) (a kron(0, X) has no size)
            if self.wrt not in symbols(x.left):
                return Kron(x.left, d(x.right)), "diff-kron-constant-left"
            if self.wrt not in symbols(x.right):
                return Kron(d(x.left), x.right), "diff-kron-constant-right"
            return add(Kron(d(x.left), x.right), Kron(x.left, d(x.right))), "diff-kron"
        raise DeriveError(f"no differential rule for {show(x, self.names)}")

    def _column(self, e: Expr) -> bool:
        try:
            return shape_of(e, self.env).cols == 1
        except ProveError:
            return False

    def _invertible(self, e: Expr) -> bool:
        if isinstance(e, Sym):
            return self.env[e.name].invertible
        if isinstance(e, (T, Inv, Pow)):
            return self._invertible(e.arg)
        if isinstance(e, Mul):
            return all(self._invertible(f) for f in e.args)
        return False

    # -- 2–4. from a linear form in dX to tr(G dX) ------------------------------------------------
    def to_trace_form(self, e: Expr) -> Expr:
        dx = d(Sym(self.wrt))
        terms = self.nf.poly(e)
        if not terms:
            # f does not depend on X: df = 0 = tr(dX) - tr(dX) = tr((I - I) dX). Not tr(0 dX):
            # `algebra` reads tr as any function, so tr(0) = 0 is not algebra, and the checker
            # does not find the instance c := 0 of trace-scale (a 0 has no size of its own)
            self.emit(add(Func("tr", dx), Neg(Func("tr", dx))), "algebra")
            zero = add(Ident(), Neg(Ident()))
            return self.emit(Func("tr", mul(zero, dx)), ["trace-scale", "trace-add"]), \
                Num(Fraction(0))
        items = [self._split(m) for m in terms]
        self.emit(self._render(items), "algebra")
        # wrap bare scalar terms in tr (Theorem 1)
        for i, it in enumerate(items):
            if not it.traced:  # c·s = tr(c·s), the coefficient inside: one rule, not two
                items[i] = it.wrapped().scaled_in()
                self.emit(self._render(items), "trace-scalar")
        # coefficients into the trace
        for i, it in enumerate(items):
            if it.coef != 1 or it.scal:
                items[i] = it.scaled_in()
                self.emit(self._render(items), "trace-scale")
        # dX^T inside: transpose the whole trace argument
        for i, it in enumerate(items):
            if it.transposed(self.wrt):
                # a 1×1 argument is its own transpose: that is algebra, not trace-transpose
                scalar = self.nf.is_scalar(_prod(it.inner))
                items[i] = Term(Fraction(1), (), self._transpose_atoms(it.inner), True)
                self.emit(self._render(items), "algebra" if scalar else "trace-transpose")
        # rotate dX to the end
        for i, it in enumerate(items):
            j = it.d_index(self.wrt)
            if j != len(it.inner) - 1:
                rotated = it.inner[j + 1:] + it.inner[:j + 1]
                # moving a 1×1 block past the rest is commuting scalars: algebra
                moved = (_prod(it.inner[j + 1:]), _prod(it.inner[:j + 1]))
                scalar = any(self.nf.is_scalar(m) for m in moved)
                items[i] = Term(Fraction(1), (), self.nf.order(rotated[:-1]) + rotated[-1:], True)
                self.emit(self._render(items), "algebra" if scalar else "trace-cyclic")
        # gather under one trace
        while len(items) > 1:
            a, b = items[0], items[1]
            merged = Term(Fraction(1), (), (), True, parts=a.all_parts() + b.all_parts())
            items = [merged] + items[2:]
            self.emit(self._render(items), "trace-add")
        g = self.nf.factor(self._g_parts(items[0]), matrix=not self.scalar_wrt())
        if g == Num(Fraction(0)):
            # the terms cancel (tr((X^T C X)^-1 X^T B X) with X square is tr(C^-1 B)): read
            # G off the gathered terms, whose value is 0, for the reason given above
            raw = add(*[_prod(part[:-1]) for part in items[0].all_parts()])
            return self.emit(Func("tr", mul(raw, dx)), "algebra"), g
        if isinstance(g, Ident):
            return self.emit(Func("tr", dx), "algebra"), g
        return self.emit(Func("tr", mul(g, dx)), "algebra"), g

    def scalar_form(self, e: Expr) -> tuple[Expr, Expr]:
        """With respect to a 1×1 variable s, every term is ds times a scalar (the traces holding
        ds were opened by `settle_traces`): Theorem 1 turns the sum into tr(G ds), G a scalar."""
        ds = d(Sym(self.wrt))
        if not self.nf.poly(e):  # f does not depend on s: 0 = tr((s - s) ds)
            zero = add(Sym(self.wrt), Neg(Sym(self.wrt)))
            return self.emit(Func("tr", mul(zero, ds)), "trace-scalar"), Num(Fraction(0))
        parts: list[Mono] = []
        for m in self.nf.poly(e):
            if m.atoms.count(ds) != 1 or any(self.varying_d(a) for a in m.atoms if a != ds):
                raise DeriveError(f"a term is not linear in d{self.wrt}: "
                                  f"{show(self.nf.mono_expr(m), self.names)}")
            rest = list(m.atoms)
            rest.remove(ds)
            parts.append(Mono(m.coef, tuple(rest)))
        g = self.nf.factor(self.nf.merge(parts), matrix=False)
        line = Func("tr", ds) if g == Num(Fraction(1)) else Func("tr", mul(g, ds))
        return self.emit(line, "trace-scalar"), g

    # -- 2b. out of ∘, ⊗, vec, diag and sum, into traces -----------------------------------------
    def scalar_diags(self, e: Expr) -> Expr:
        """diag(w) of a 1×1 w is w (from the square root of a scalar): diag(w) = diag(w) 1 =
        w ∘ 1 (diag-times), and a 1×1 Hadamard product is a product."""
        sites = [x for x in e.walk() if isinstance(x, Func) and x.name == "diag"
                 and self.nf.is_scalar(x.arg) and not _has_d(x)]
        if not sites:
            return e
        for old in dict.fromkeys(sites):
            e = _replace(e, old, mul(old, Num(Fraction(1))))
        self.emit(e, "algebra")
        for old in dict.fromkeys(sites):
            e = _replace(e, mul(old, Num(Fraction(1))), Had(old.arg, Num(Fraction(1))))
        return self.emit(e, "diag-times")

    def open_new(self, e: Expr) -> Expr:
        """Bring every differential that sits under ∘, ⊗, vec, diag or sum into a trace of a
        product, one kind of move at a time: diag(u)^-1 (u ∘ V) = V (diag-times); sum(U ∘ V) =
        tr(U^T V) (sum-hadamard, the terms of the sum gathered into one U ∘ V first);
        vec(Y)^T (B^T ⊗ A) vec(dZ) = vec(A Y B)^T vec(dZ) = tr((A Y B)^T dZ) (vec-product,
        vec-trace); tr(L (U ∘ V) R) = tr(((R L)^T ∘ U)^T V) (trace-cyclic, trace-hadamard)."""
        for _ in range(40):
            tidy = self.nf.normal(e)
            e = self.emit(tidy, "algebra") if tidy != e else e
            e = self.settle_traces(e)
            for step in (self._diag_cancel, self._open_sums, self._open_vecs,
                         self._open_hadamards, self._open_kron_traces):
                new = step(e)
                if new is not None:
                    e = new
                    break
            else:
                for x in e.walk():
                    if isinstance(x, (Had, Kron)) or (isinstance(x, Func) and x.name in (
                            "vec", "diag", "sum")):
                        if _has_d(x):
                            raise DeriveError(f"cannot bring the differential in "
                                              f"{show(x, self.names)} to a trace: no rule moves "
                                              "it out")
                return e
        raise DeriveError("the differentials did not come out of ∘, ⊗, vec and sum")

    def _open_kron_traces(self, e: Expr) -> Expr | None:
        """tr(A ⊗ B) = tr(A) tr(B) (trace-kron) where the differential is under the ⊗."""
        sites = [x for x in e.walk() if isinstance(x, Func) and x.name == "tr"
                 and isinstance(x.arg, Kron) and _has_d(x.arg)]
        if not sites:
            return None
        for old in dict.fromkeys(sites):
            e = _replace(e, old, mul(Func("tr", old.arg.left), Func("tr", old.arg.right)))
        return self.emit(e, "trace-kron")

    def _diag_cancel(self, e: Expr) -> Expr | None:
        """diag(u)^-1 (W ∘ V) where u is a factor of every term of W: the terms are written out
        (algebra), each u ∘ R is diag(u) R (diag-times, once a line), and diag(u)^-1 diag(u)
        cancels (algebra)."""
        found: list[tuple[Expr, Expr]] = []  # (the Hadamard product, its terms u ∘ R written out)

        def visit(x: Expr) -> None:
            if isinstance(x, Mul):
                for a, b in zip(x.args, x.args[1:]):
                    if isinstance(a, Inv) and isinstance(a.arg, Func) and a.arg.name == "diag" \
                            and isinstance(b, Had) and _has_d(b) and self._column(b):
                        terms = self._over(b, a.arg.arg)
                        if terms is not None:
                            found.append((b, a.arg.arg, terms))
            for k in x.children():
                visit(k)

        visit(e)
        if not found:
            return None
        for h, u, terms in found:
            e = _replace(e, h, add(*[(Neg if c < 0 else (lambda z: z))(
                Had(u, r) if abs(c) == 1 else mul(Num(abs(c)), Had(u, r))) for c, r in terms]))
        self.emit(e, "algebra")
        for h, u, terms in found:
            for c, r in terms:
                e = _replace(e, Had(u, r), mul(Func("diag", u), r))
                self.emit(e, "diag-times")
        return e

    def _over(self, h: Had, u: Expr) -> list[tuple[Fraction, Expr]] | None:
        """h as Σ c_k (u ∘ R_k), when u is a factor of h or of every term of one of its
        factors; None otherwise."""
        fs = had_factors(h)
        if u in fs:
            rest = list(fs)
            rest.remove(u)
            return [(Fraction(1), make_had(rest))]
        for i, f in enumerate(fs):
            if _has_d(f) or not isinstance(f, Add):
                continue
            out = []
            for m in self.nf.poly(f):
                mats = self.nf._matrix_part(m)
                if len(mats) != 1 or self.nf._scalar_part(m) or u not in had_factors(mats[0]):
                    break
                own = had_factors(mats[0])
                own.remove(u)
                out.append((m.coef, make_had(own + fs[:i] + fs[i + 1:])))
            else:
                return out
        return None

    def _as_hadamard(self, arg: Expr) -> tuple[Expr, Expr] | None:
        """arg as one U ∘ V, V holding the differential, U free of it: terms with the same V are
        gathered (U a sum), or terms with the same U (V a sum)."""
        by_v: dict[Expr, list[Mono]] = {}
        by_u: dict[Expr, list[Mono]] = {}
        for m in self.nf.poly(arg):
            mats = self.nf._matrix_part(m)
            scal = self.nf._scalar_part(m)
            if len(mats) != 1 or not isinstance(mats[0], Had) or any(_has_d(a) for a in scal):
                return None
            fs = had_factors(mats[0])
            ds = [f for f in fs if _has_d(f)]
            if len(ds) != 1:
                return None
            rest = make_had([f for f in fs if not _has_d(f)])
            by_v.setdefault(ds[0], []).append(Mono(m.coef, scal + (rest,)))
            by_u.setdefault(rest, []).append(Mono(m.coef, scal + (ds[0],)))
        if len(by_v) == 1:
            (v, ms), = by_v.items()
            return self.nf.factor(self.nf.merge(ms), matrix=True), v
        if len(by_u) == 1:
            (u, ms), = by_u.items()
            return u, self.nf.expr(ms, matrix=True)
        return None

    def _open_sums(self, e: Expr) -> Expr | None:
        sites = list(dict.fromkeys(x for x in e.walk() if isinstance(x, Func) and x.name == "sum"
                                   and _has_d(x)))
        if not sites:
            return None
        pairs: list[tuple[Expr, Expr, Expr]] = []
        for x in sites:
            uv = self._as_hadamard(x.arg)
            if uv is None:
                uv = self._through_diag(x, e)
                if uv is None:
                    raise DeriveError(
                        f"cannot bring {show(x, self.names)} to a trace: its argument is not a "
                        "Hadamard product (the sum of the entries of a product needs the "
                        "all-ones vector, which the notation has no name for)")
                e, uv = uv
            pairs.append((x, *uv))
        grouped = e
        for x, u, v in pairs:
            grouped = _replace(grouped, x, Func("sum", Had(u, v)))
        self.emit(grouped, "algebra")
        for x, u, v in pairs:
            grouped = _replace(grouped, Func("sum", Had(u, v)), Func("tr", mul(T(u), v)))
        return self.emit(grouped, "sum-hadamard")

    def _through_diag(self, x: Func, e: Expr) -> tuple[Expr, tuple[Expr, Expr]] | None:
        """sum(diag(u)^-1 W) for a column u (the log of a vector): diag(u) diag(u)^-2 W
        (algebra) = u ∘ (diag(u)^-2 W) (diag-times)."""
        p = self.nf.poly(x.arg)
        heads = {self.nf._matrix_part(m)[0] if self.nf._matrix_part(m) else None for m in p}
        if len(heads) != 1:
            return None
        head = heads.pop()
        if not (isinstance(head, Inv) and isinstance(head.arg, Func) and head.arg.name == "diag"):
            return None
        u = head.arg.arg
        rest = []
        for m in p:
            atoms = list(m.atoms)
            atoms.remove(head)
            rest.append(Mono(m.coef, tuple(atoms)))
        w = self.nf.expr(rest, matrix=True)
        v = mul(Pow(head.arg, -2), w)
        e = self.emit(_replace(e, x, Func("sum", mul(head.arg, v))), "algebra")
        e = self.emit(_replace(e, Func("sum", mul(head.arg, v)), Func("sum", Had(u, v))),
                      "diag-times")
        return e, (u, v)

    def _open_vecs(self, e: Expr) -> Expr | None:
        """A 1×1 term vec(Y)^T K_1 … K_r vec(dZ) (K_i Kronecker products; vec(dZ)^T … first
        transposed): each K^T vec(Y) = (C ⊗ D) vec(Y) = vec(D Y C^T) (vec-product), then
        vec(M)^T vec(dZ) = tr(M^T dZ) (vec-trace)."""
        terms = self.nf.poly(e)
        hit = [i for i, m in enumerate(terms) if any(
            isinstance(a, Func) and a.name == "vec" and _has_d(a)
            or isinstance(a, T) and isinstance(a.arg, Func) and a.arg.name == "vec" and _has_d(a)
            for a in m.atoms)]
        if not hit:
            return None
        exprs = [self.nf.mono_expr(m) for m in terms]
        for i in hit:
            m = terms[i]
            scal = self.nf._scalar_part(m)
            mats = list(self.nf._matrix_part(m))
            if not self.nf.is_scalar(mul(*mats)) or any(_has_d(a) for a in scal):
                raise DeriveError(f"cannot bring {show(exprs[i], self.names)} to a trace")
            if _has_d(mats[0]):
                mats = [self.nf.t_atom(a) for a in reversed(mats)]
            last, prefix = mats[-1], mats[:-1]
            if not (isinstance(last, Func) and last.name == "vec" and prefix
                    and isinstance(prefix[0], T) and isinstance(prefix[0].arg, Func)
                    and prefix[0].arg.name == "vec"
                    and all(isinstance(k, Kron) or isinstance(k, T) and isinstance(k.arg, Kron)
                            for k in prefix[1:])):
                raise DeriveError(f"cannot bring {show(exprs[i], self.names)} to a trace: no rule "
                                  "takes its differential out of vec")
            coef = self.nf.mono_expr(Mono(m.coef, scal)) if (m.coef != 1 or scal) else None
            y = prefix[0].arg.arg
            krons = [Kron(T(k.left), T(k.right)) if isinstance(k, Kron) else k.arg
                     for k in prefix[1:]]  # K^T, as C ⊗ D

            def line(col: Expr) -> Expr:
                body = mul(T(col), last)
                return body if coef is None else mul(coef, body)
            col = mul(*reversed(krons), Func("vec", y)) if krons else Func("vec", y)
            exprs[i] = line(col)
            self.emit(add(*exprs), "algebra")
            while krons:
                k = krons.pop(0)
                y = self.nf.normal(mul(k.right, y, T(k.left)))
                col = mul(*reversed(krons), Func("vec", y)) if krons else Func("vec", y)
                exprs[i] = line(col)
                self.emit(add(*exprs), "vec-product")
            body = Func("tr", mul(T(y), last.arg))
            exprs[i] = body if coef is None else mul(coef, body)
            self.emit(add(*exprs), "vec-trace")
        return add(*exprs)

    def _open_hadamards(self, e: Expr) -> Expr | None:
        """Terms L (U ∘ V) R, 1×1 or under a trace, V holding the differential: gathered by
        (L, V, R) (algebra), put under a trace (trace-scalar), turned to end in the Hadamard
        product (trace-cyclic) and the rest moved into it (trace-hadamard)."""
        terms = self.nf.poly(e)
        groups: dict[tuple, list[Mono]] = {}
        keep: list[Expr] = []
        for m in terms:
            traced, outer, inner = False, self.nf._scalar_part(m), self.nf._matrix_part(m)
            coef = m.coef
            tr_atoms = [a for a in m.atoms if isinstance(a, Func) and a.name == "tr" and _has_d(a)]
            if tr_atoms:
                t = tr_atoms[0]
                outer = tuple(a for a in m.atoms if a is not t)
                q = self.nf.poly(t.arg)
                if len(q) != 1:
                    keep.append(self.nf.mono_expr(m))
                    continue
                traced, coef = True, coef * q[0].coef
                outer += self.nf._scalar_part(q[0])
                inner = self.nf._matrix_part(q[0])
            k = next((j for j, a in enumerate(inner) if isinstance(a, Had) and _has_d(a)), None)
            if k is None or any(_has_d(a) for a in outer) or not (traced or self.nf.is_scalar(
                    mul(*inner) if inner else Num(Fraction(1)))):
                keep.append(self.nf.mono_expr(m))
                continue
            fs = had_factors(inner[k])
            v = next(f for f in fs if _has_d(f))
            rest = [f for f in fs if f is not v]
            if sum(_has_d(f) for f in fs) != 1:
                keep.append(self.nf.mono_expr(m))
                continue
            key = (inner[:k], v, inner[k + 1:], traced)
            groups.setdefault(key, []).append(Mono(coef, tuple(outer) + (make_had(rest),)))
        if not groups:
            return None
        items = []
        for (left, v, right, traced), ms in groups.items():
            u = self.nf.factor(self.nf.merge(ms), matrix=True)
            items.append([left, Had(u, v), right, traced, u, v])

        def render() -> Expr:
            out = list(keep)
            for left, h, right, traced, _, _ in items:
                body = mul(*left, h, *right) if (left or right) else h
                out.append(Func("tr", body) if traced else body)
            return add(*out)
        self.emit(render(), "algebra")
        if any(not it[3] for it in items):
            for it in items:
                it[3] = True
            self.emit(render(), "trace-scalar")
        cyclic = False
        for it in items:
            if it[2]:
                scalar = any(self.nf.is_scalar(mul(*part)) for part in (it[0], it[2]) if part)
                it[0], it[2] = list(it[2]) + list(it[0]), []
                cyclic = cyclic or not scalar
        self.emit(render(), "trace-cyclic" if cyclic else "algebra")
        for it in items:
            left, u, v = it[0], it[4], it[5]
            a = self.nf.mono_expr(Mono(Fraction(1), tuple(
                self.nf.t_atom(x) for x in reversed(left))), matrix=True) if left else Ident()
            it[0], it[1] = [], mul(T(Had(a, u)), v)
        return self.emit(render(), "trace-hadamard")

    def settle_traces(self, e: Expr) -> Expr:
        """Open every trace the differential sits in: split a trace of a sum (trace-add) and take
        scalar factors out of a trace (trace-scale: tr(tr(dX) X) = tr(dX) tr(X)), innermost
        first, until each differential is alone in its trace. Traces of traces (tr(tr(X) X))
        become products of traces on the way, as a book writes them (tr(X)^2)."""
        for _ in range(50):
            e = self.split_traces(e)
            hoisted, rules = self._hoist(e)
            if not rules:
                return e
            hoisted = self.nf.normal(hoisted)
            if hoisted == e:
                return e
            e = self.emit(hoisted, rules)
        raise DeriveError("the traces did not settle within 50 steps")

    def _hoist(self, e: Expr) -> tuple[Expr, list[str]]:
        rules: list[str] = []
        memo: dict[Expr, Expr] = {}

        def walk(x: Expr) -> Expr:
            if x in memo:
                return memo[x]
            kids = x.children()
            out = x.with_children(tuple(walk(k) for k in kids)) if kids else x
            if isinstance(out, Func) and out.name == "tr":
                out = self._hoist_one(out, rules)
            memo[x] = out
            return out

        return walk(e), rules

    def _hoist_one(self, t: Func, rules: list[str]) -> Expr:
        if self.scalar_wrt() and self.nf.is_scalar(t.arg) and self.varying_d(t.arg):
            # tr(s) = s (Theorem 1): a 1×1 differential comes out of its trace
            if "trace-scalar" not in rules:
                rules.append("trace-scalar")
            return t.arg
        p = self.nf.poly(t.arg)
        if len(p) != 1:
            return t
        m = p[0]
        # traces, dets, logs and differentials come out (tr(tr(X) X) = tr(X) tr(X)); with
        # respect to a scalar, every scalar does (tr(s ds A) = s ds tr(A))
        out = [a for a in m.atoms if self.nf.is_scalar(a)
               and (isinstance(a, Func) or self.varying_d(a) or self.scalar_wrt())]
        if not out and self._d_block(m.atoms) is None:
            return t
        keep = list(m.atoms)
        for a in out:
            keep.remove(a)
        block = self._d_block(tuple(keep))
        if block is not None:  # tr(a^T dX a X) = (a^T dX a) tr(X): the 1×1 block is a scalar
            i, j = block
            out.append(Mul(tuple(keep[i:j + 1])))
            keep = keep[:i] + keep[j + 1:]
        if not keep:
            raise DeriveError(f"{show(t, self.names)} is a multiple of tr(I), the size of the "
                              "identity, which the notation has no name for")
        if "trace-scale" not in rules:
            rules.append("trace-scale")
        inner = Func("tr", self.nf.mono_expr(Mono(Fraction(1), tuple(keep)), matrix=True))
        return self.nf.mono_expr(Mono(m.coef, tuple(out) + (inner,)))

    def scalar_wrt(self) -> bool:
        return self.env[self.wrt].shape.scalar

    def _g_parts(self, t: "Term") -> list[Mono]:
        out: list[Mono] = []
        for inner in t.all_parts():
            out.append(Mono(Fraction(1), tuple(self.nf.order(inner[:-1]))))
        # coefficients were moved in as Num atoms: fold them
        folded: list[Mono] = []
        for m in out:
            coef, atoms = Fraction(1), []
            for a in m.atoms:
                if isinstance(a, Num):
                    coef *= a.value
                elif isinstance(a, Neg) and isinstance(a.arg, Num):
                    coef *= -a.arg.value
                elif isinstance(a, Div) and isinstance(a.num, Num) and isinstance(a.den, Num):
                    coef *= a.num.value / a.den.value
                else:
                    atoms.append(a)
            folded.append(Mono(coef, self.nf.order(tuple(atoms))))
        return self.nf.merge(folded)

    def _transpose_atoms(self, atoms: tuple[Expr, ...]) -> tuple[Expr, ...]:
        return tuple(self.nf.t_atom(a) for a in reversed(atoms))

    def _split(self, m: Mono) -> "Term":
        """A monomial c·s·tr(Q) (the differential inside a trace) or c·P (P a 1×1 product)."""
        for k, a in enumerate(m.atoms):
            if isinstance(a, Func) and a.name == "tr" and self.varying_d(a):
                inner = self.nf.poly(a.arg)
                if len(inner) != 1:
                    raise DeriveError("a trace still holds a sum")
                q = inner[0]
                scal = m.atoms[:k] + m.atoms[k + 1:]
                return Term(m.coef, scal, _coef_atoms(q.coef) + q.atoms, True)
        atoms, block = m.atoms, self._d_block(m.atoms)
        if block is not None:
            # b^T (a^T dX a) X c: the 1×1 block holding dX is a scalar; the rest, 1×1 too, goes
            # in front of it as one factor, so that rotating dX to the end moves whole blocks
            i, j = block
            rest = [a for k, a in enumerate(atoms) if not self.nf.is_scalar(a) and not i <= k <= j]
            scal = [a for a in atoms if self.nf.is_scalar(a)]
            atoms = tuple(scal) + (Mul(tuple(rest)),) + atoms[i:j + 1]
        return Term(m.coef, (), atoms, False)

    def _d_block(self, atoms: tuple[Expr, ...]) -> tuple[int, int] | None:
        """The shortest run of matrix factors that multiplies to a 1×1 and holds a differential,
        short of the whole product (a^T dX a in a^T dX a X); None if there is none."""
        idx = [k for k, a in enumerate(atoms) if not self.nf.is_scalar(a)]
        ends = [self.nf._ends(atoms[k]) for k in idx]
        best: tuple[int, int] | None = None
        for i in range(len(idx)):
            for j in range(i + 1, len(idx)):
                if (i, j) == (0, len(idx) - 1) or not (ends[i][0] and ends[j][1]):
                    continue
                if any(ends[t][2] for t in range(i, j + 1)) and (
                        best is None or j - i < best[1] - best[0]):
                    best = (i, j)
        return None if best is None else (idx[best[0]], idx[best[1]])

    def varying_d(self, e: Expr) -> bool:
        return any(isinstance(x, Func) and x.name == "d" for x in e.walk())

    def _render(self, items: list["Term"]) -> Expr:
        return add(*[it.expr() for it in items])

    def split_traces(self, e: Expr) -> Expr:
        """tr(Q1 + Q2 + …) → tr(Q1) + tr(Q2) + … for every trace holding dX, in one step (the
        kernel splits a trace over all its terms at once)."""
        for _ in range(20):
            done = True
            for m in self.nf.poly(e):
                for a in m.atoms:
                    if isinstance(a, Func) and a.name == "tr" and self.varying_d(a):
                        inner = self.nf.poly(a.arg)
                        if len(inner) > 1:
                            e = _replace(e, a, add(*[Func("tr", self.nf.expr([q])) for q in inner]))
                            done = False
            if done:
                return e
            e = self.emit(e, "trace-add")
        raise DeriveError("too many traces to split")


def _coef_atoms(c: Fraction) -> tuple[Expr, ...]:
    """A coefficient as factors that can stand inside a product: `2`, or `-1` for a sign."""
    if c == 1:
        return ()
    if c == -1:
        return (Neg(Num(Fraction(1))),)
    from .normal import _num

    return (_num(c),) if c > 0 else (Neg(Num(Fraction(1))), _num(-c))


@dataclass
class Term:
    """coef · (scalar atoms) · [tr](inner product); `parts` when several products share one
    trace after trace-add."""

    coef: Fraction
    scal: tuple[Expr, ...]
    inner: tuple[Expr, ...]
    traced: bool
    parts_coef: Any = None
    parts: list[tuple[Expr, ...]] | None = None

    def all_parts(self) -> list[tuple[Expr, ...]]:
        return self.parts if self.parts is not None else [self.inner]

    def wrapped(self) -> "Term":
        return Term(self.coef, self.scal, self.inner, True)

    def scaled_in(self) -> "Term":
        return Term(Fraction(1), (), _coef_atoms(self.coef) + self.scal + self.inner, True)

    def d_index(self, wrt: str) -> int:
        for j, a in enumerate(self.inner):
            if _is_dx(a, wrt):
                return j
        raise DeriveError("a term has no dX")

    def transposed(self, wrt: str) -> bool:
        return any(isinstance(a, T) and _is_dx(a.arg, wrt) for a in self.inner)

    def expr(self) -> Expr:
        if self.parts is not None:
            return Func("tr", add(*[_prod(p) for p in self.parts]))
        body = _prod(self.inner)
        core = Func("tr", body) if self.traced else body
        factors = list(self.scal) + [core]
        out = mul(*factors)
        if self.coef == 1:
            return out
        if self.coef == -1:
            return Neg(out)
        return Neg(mul(Num(-self.coef), out)) if self.coef < 0 else mul(Num(self.coef), out)


def _flat(e: Expr, memo: dict) -> Expr:
    """e with nested sums and products flattened, as the parser reads it back."""
    kids = e.children()
    if not kids:
        return e
    hit = memo.get(e)
    if hit is not None:
        return hit
    new = tuple(_flat(k, memo) for k in kids)
    if all(a is b for a, b in zip(new, kids)) and not (
            isinstance(e, (Add, Mul)) and any(type(k) is type(e) for k in kids)):
        out = e
    else:
        out = e.with_children(new)
    memo[e] = out
    return out


def _prod(atoms: tuple[Expr, ...]) -> Expr:
    """A product whose `-1` factors become a sign in front."""
    sign = False
    keep: list[Expr] = []
    for a in atoms:
        if isinstance(a, Neg) and isinstance(a.arg, Num):
            sign = not sign
            if a.arg.value != 1:
                keep.append(a.arg)
        else:
            keep.append(a)
    body = mul(*_powers(tuple(keep))) if keep else Ident()
    return Neg(body) if sign else body


def _is_dx(a: Expr, wrt: str) -> bool:
    return isinstance(a, Func) and a.name == "d" and isinstance(a.arg, Sym) and a.arg.name == wrt


def _replace(e: Expr, old: Expr, new: Expr) -> Expr:
    if e == old:
        return new
    kids = e.children()
    if not kids:
        return e
    return e.with_children(tuple(_replace(k, old, new) for k in kids))


# -- the entry point ------------------------------------------------------------------------------
def derive(f_text: str, wrt: str, variables: dict[str, VarInfo], layout: str = "numerator",
           theorem: str = "derived") -> Derivation:
    """Derive ∂f/∂wrt and a proof; raises DeriveError with the reason when it cannot."""
    env = dict(variables)
    if wrt not in env:
        raise DeriveError(f"{wrt} is not a declared variable")
    if env[wrt].symmetric:
        raise DeriveError(f"{wrt} is symmetric; derivatives with respect to a symmetric matrix "
                          "have competing conventions, and prove does not pick one")
    if env[wrt].constant:
        raise DeriveError(f"{wrt} is declared constant")
    # in a derivative claim every other variable is held constant
    env = {n: (VarInfo(v.shape, True, v.symmetric, v.invertible) if n != wrt else v)
           for n, v in env.items()}
    try:
        f = parse(f_text, set(env))
        s = shape_of(f, env)
    except ProveError as exc:
        raise DeriveError(exc.diag.message) from None
    if not s.scalar:
        raise DeriveError(f"{show(f, set(env))} is {s}; a derivative by the differential method "
                          "needs a scalar function")
    try:
        return _derive(f, wrt, env, variables, layout, theorem)
    except WorkLimit as exc:
        raise DeriveError(f"past the engine's work limit: {exc}") from None


def _first(f: Expr, wrt: str, env: Env) -> tuple["Engine", Expr, Expr]:
    """The first differential: from d(f) to tr(G dX). Returns the engine (its steps), the last
    line and G (numerator layout)."""
    eng = Engine(env, wrt)
    start = d(f)
    eng.emit(start, [])
    e = start
    # Theorem 1 first when f is a bare trace-free scalar is not needed: the trace form step wraps
    # scalar terms itself.
    eng.nf.poly(f)  # the factors of ∘ are then ordered as the user wrote them
    e = eng.push_d(e)
    e = eng.scalar_diags(e)
    tidy = eng.nf.normal(e)
    e = eng.emit(tidy, "algebra") if tidy != e else e
    e = eng.open_new(e)
    e = eng.settle_traces(e)
    trace_form, g = eng.scalar_form(e) if eng.scalar_wrt() else eng.to_trace_form(e)
    return eng, trace_form, g


def _derive(f: Expr, wrt: str, env: Env, variables: dict[str, VarInfo], layout: str,
            theorem: str) -> Derivation:
    eng, trace_form, g = _first(f, wrt, env)
    if layout == "denominator":  # a matrix, also where its only factor is an I (∂tr(X)/∂X = I)
        g = eng.nf.factor(eng.nf.transpose(eng.nf.poly(g)), matrix=not eng.scalar_wrt() or None)
    names = set(env)
    printed = lambda steps: [(show(e, names), by) for e, by in steps]  # noqa: E731
    last = [(show(g, names), ["theorem-4"])]
    decls = {n: _decl(v) for n, v in variables.items()}
    # the single moves are printed only if the kernel refuses the grouped proof
    return Derivation(f, wrt, layout, g, printed(merge_steps(eng.steps)) + last, env, names,
                      decls, theorem, fine_source=lambda: printed(eng.steps) + last,
                      assume_invertible=[show(a, names) for a in eng.assume],
                      work=eng.nf.work)


# -- Hessians: the second differential (issue 13) --------------------------------------------------
class HessEngine(Engine):
    """Pushes d through a line that already holds dx: d(dx) = 0 (diff-second-variable)."""

    def _next_d(self, e: Expr):
        for path, node in subterms(e):
            if isinstance(node, Func) and node.name == "d":
                if isinstance(node.arg, Sym) and node.arg.name == self.wrt:
                    continue
                return path, node
        return None

    def _d_rule(self, x: Expr) -> tuple[Expr, str]:
        if isinstance(x, Func) and x.name == "d" and x.arg == Sym(self.wrt):
            return Num(Fraction(0)), "diff-second-variable"
        return super()._d_rule(x)


def derive_hessian(f_text: str, wrt: str, variables: dict[str, VarInfo],
                   theorem: str = "derived") -> Derivation:
    """Derive the Hessian of f in wrt and a proof (second identification theorem): d(d(f)) is
    brought to dx^T G dx (vec(dX)^T G vec(dX) for a matrix X) and H = (G + G^T)/2 read off.
    Raises DeriveError with the reason when it cannot."""
    env = dict(variables)
    if wrt not in env:
        raise DeriveError(f"{wrt} is not a declared variable")
    if env[wrt].symmetric:
        raise DeriveError(f"{wrt} is symmetric; the Hessian in a symmetric matrix has competing "
                          "conventions, and prove does not pick one")
    if env[wrt].constant:
        raise DeriveError(f"{wrt} is declared constant")
    env = {n: (VarInfo(v.shape, True, v.symmetric, v.invertible) if n != wrt else v)
           for n, v in env.items()}
    try:
        f = parse(f_text, set(env))
        s = shape_of(f, env)
    except ProveError as exc:
        raise DeriveError(exc.diag.message) from None
    if not s.scalar:
        raise DeriveError(f"{show(f, set(env))} is {s}; a Hessian needs a scalar function")
    try:
        return _hessian(f, wrt, env, variables, theorem)
    except WorkLimit as exc:
        raise DeriveError(f"past the engine's work limit: {exc}") from None


def _hessian(f: Expr, wrt: str, env: Env, variables: dict[str, VarInfo],
             theorem: str) -> Derivation:
    first, trace_form, _ = _first(f, wrt, env)
    if first.assume:
        raise DeriveError("the first differential needs an `assume: invertible`, which a Hessian "
                          "proof does not take")
    eng = HessEngine(env, wrt)
    eng.nf = first.nf  # the same normal form: sums and ∘ chains written the same way
    eng.nf.budget, eng.assume = WORK_LIMIT + first.nf.work, []
    # 1. the first differential, under d: each line of the derivative's proof, wrapped in d(·)
    for e, by in first.steps:
        eng.emit(d(e), by)
    n_first = len(eng.steps)
    matrix = not env[wrt].shape.cols == 1
    e = d(trace_form)
    if not matrix:  # tr(G dx) is 1×1: Theorem 1
        e = eng.emit(d(trace_form.arg), "trace-scalar")
    # 2. d of the first differential: d(dx) = 0
    e = eng.push_d(e)
    tidy = eng.nf.normal(e)
    e = eng.emit(tidy, "algebra") if tidy != e else e
    if matrix:
        g, line = _vec_form(eng, e)
    else:
        e = _open_vector(eng, e)
        g, line = _quadratic_form(eng, e)
    # 3. H, the symmetric part of G
    h = _symmetric_part(eng.nf, g, matrix)
    names = set(env)
    printed = lambda steps: [(line if e is _QUAD else show(e, names), by)  # noqa: E731
                             for e, by in steps]
    eng.steps.append((_QUAD, ["algebra"]))
    last = [(show(h, names), ["hessian-from-second-differential"])]
    decls = {n: _decl(v) for n, v in variables.items()}
    # the first differential under d is pushed one rule a step: grouped, the kernel's search for
    # the rules' order also pushes the outer d, and takes a minute to give up
    under = merge_steps(eng.steps[:n_first], group_d=False)
    grouped = under + merge_steps(eng.steps[n_first - 1:])[1:]
    return Derivation(f, wrt, "numerator", h, printed(grouped) + last, env, names,
                      decls, theorem, fine_source=lambda: printed(eng.steps) + last,
                      work=eng.nf.work, kind="hessian")


_QUAD = Sym("·the quadratic form·")  # stands for the line dx^T G dx, printed with G in parentheses


def _open_vector(eng: HessEngine, e: Expr) -> Expr:
    """Every differential out of sum(·) (sum-hadamard), 1×1 traces (trace-scalar) and ∘ (each
    u ∘ V, V holding dx, becomes diag(u) V by diag-times), for a column-vector variable."""
    nf = eng.nf
    for _ in range(20):
        if any(isinstance(x, Func) and x.name == "sum" and _has_d(x) for x in e.walk()):
            e = eng._open_sums(e)
        elif any(isinstance(x, Func) and x.name == "tr" and _has_d(x) for x in e.walk()):
            for x in [x for x in e.walk() if isinstance(x, Func) and x.name == "tr" and _has_d(x)]:
                if not nf.is_scalar(x.arg):
                    raise DeriveError(f"cannot open {show(x, eng.names)}")
                e = _replace(e, x, x.arg)
            e = eng.emit(e, "trace-scalar")
        elif any(isinstance(a, (Had, T)) and _has_d(a) and any(isinstance(y, Had) for y in a.walk())
                 for m in nf.poly(e) for a in m.atoms):
            e = _hadamards_to_diag(eng, e)
        else:
            return e
        tidy = nf.normal(e)
        e = eng.emit(tidy, "algebra") if tidy != e else e
    raise DeriveError("the second differential did not come out of sum, tr and ∘")


def _hadamards_to_diag(eng: HessEngine, e: Expr) -> Expr:
    nf = eng.nf
    keep: list[Expr] = []
    groups: dict[tuple, list[Mono]] = {}
    for m in nf.poly(e):
        if any(isinstance(a, T) and isinstance(a.arg, Had) and _has_d(a) for a in m.atoms):
            m = nf.transpose([m])[0]  # a 1×1 term is its own transpose
        mats = list(nf._matrix_part(m))
        k = next((j for j, a in enumerate(mats) if isinstance(a, Had) and _has_d(a)), None)
        if k is None:
            keep.append(nf.mono_expr(m))
            continue
        fs = had_factors(mats[k])
        vs = [x for x in fs if _has_d(x)]
        if len(vs) != 1 or any(_has_d(a) for a in nf._scalar_part(m)) or not eng._column(mats[k]):
            raise DeriveError(f"cannot bring {show(nf.mono_expr(m), eng.names)} to dx^T G dx")
        rest = [x for x in fs if x is not vs[0]]
        key = (tuple(mats[:k]), vs[0], tuple(mats[k + 1:]))
        groups.setdefault(key, []).append(Mono(m.coef, nf._scalar_part(m) + (make_had(rest),)))
    from .normal import _gcd, _num

    items = []
    for (left, v, right), ms in groups.items():
        ms = nf.merge(ms)
        g = _gcd([m.coef for m in ms]) if ms else Fraction(1)
        u = nf.factor([Mono(m.coef / g, m.atoms) for m in ms], matrix=True)
        items.append((g, left, u, v, right))  # g u ∘ V: the number stays out of diag (2 diag(a))

    def term(g: Fraction, body: Expr) -> Expr:
        body = mul(_num(abs(g)), body) if abs(g) != 1 else body
        return Neg(body) if g < 0 else body
    had = add(*keep, *[term(g, mul(*left, Had(u, v), *right) if left or right else Had(u, v))
                       for g, left, u, v, right in items])
    eng.emit(had, "algebra")
    out = add(*keep, *[term(g, mul(*left, Func("diag", u), v, *right))
                       for g, left, u, v, right in items])
    return eng.emit(out, "diag-times")


def _quadratic_form(eng: HessEngine, e: Expr) -> tuple[Expr, str]:
    """Each term c · S0 d1 S1 d2 S2 (d1, d2 each dx or dx^T) as dx^T G_i dx; G = Σ G_i."""
    nf, wrt = eng.nf, eng.wrt
    dx = d(Sym(wrt))
    parts: list[Expr] = []
    for m in nf.poly(e):
        if eng.scalar_wrt():
            ds = [a for a in m.atoms if a in (dx, T(dx))]
            rest = list(m.atoms)
            for a in ds:
                rest.remove(a)
            if len(ds) != 2 or any(_has_d(a) for a in rest):
                raise DeriveError(f"a term is not quadratic in d{wrt}: "
                                  f"{show(nf.mono_expr(m), eng.names)}")
            parts.append(nf.mono_expr(Mono(m.coef, tuple(rest))))
            continue
        scal, mats = nf._scalar_part(m), list(nf._matrix_part(m))
        idx = [j for j, a in enumerate(mats) if a in (dx, T(dx))]
        if len(idx) != 2 or any(_has_d(a) for a in scal) or any(
                _has_d(a) for j, a in enumerate(mats) if j not in idx):
            raise DeriveError(f"cannot bring {show(nf.mono_expr(m), eng.names)} to "
                              f"d{wrt}^T G d{wrt}")
        i, j = idx
        s0, s1, s2 = mats[:i], mats[i + 1:j], mats[j + 1:]
        t1, t2 = isinstance(mats[i], T), isinstance(mats[j], T)
        P = lambda fs: mul(*fs) if fs else None  # noqa: E731
        tr = lambda fs: T(mul(*fs)) if fs else None  # noqa: E731
        if t1 and not t2:  # dx^T S1 dx
            fs = [P(s0), P(s1), P(s2)]
        elif not t1 and t2:  # (S0 dx) S1 (dx^T S2) = dx^T S2 S1 S0 dx
            fs = [P(s2), P(s1), P(s0)]
        elif t1 and t2:  # S0 (dx^T S1) (dx^T S2) = dx^T S1 S0 S2^T dx
            fs = [P(s1), P(s0), tr(s2)]
        else:  # (S0 dx)(S1 dx) S2 = dx^T S0^T S1 S2 dx
            fs = [tr(s0), P(s1), P(s2)]
        coef = nf.mono_expr(Mono(m.coef, scal))
        parts.append(mul(coef, *[x for x in fs if x is not None]))
    if not parts:
        raise DeriveError(f"the second differential is 0: f is linear in {wrt}")
    g = nf.factor(nf.poly(add(*parts)), matrix=not eng.scalar_wrt())
    body = show(g, eng.names)
    if isinstance(g, (Add, Neg, Mul, Div)):
        body = f"({body})"
    dxs = show(dx, eng.names)
    return g, f"{dxs}^T {body} {dxs}"


def _vec_form(eng: HessEngine, e: Expr) -> tuple[Expr, str]:
    """For a matrix X: each term c tr(dX^T B dX C) = c vec(dX)^T vec(B dX C) (vec-trace) =
    c vec(dX)^T kron(C^T, B) vec(dX) (vec-product)."""
    nf, wrt = eng.nf, eng.wrt
    dx = d(Sym(wrt))
    e = eng.split_traces(e)
    rows: list[tuple[Mono, list[Expr], list[Expr]]] = []  # (coef·scalars, B, C)
    for m in nf.poly(e):
        trs = [a for a in m.atoms if isinstance(a, Func) and a.name == "tr" and _has_d(a)]
        scal = [a for a in m.atoms if not (isinstance(a, Func) and a.name == "tr" and _has_d(a))]
        if len(trs) != 1 or any(_has_d(a) for a in scal):
            raise DeriveError(f"cannot bring {show(nf.mono_expr(m), eng.names)} to "
                              f"vec(d{wrt})^T G vec(d{wrt}) (only terms tr(B dX^T C dX) are)")
        q = nf.poly(trs[0].arg)
        if len(q) != 1 or any(_has_d(a) for a in nf._scalar_part(q[0])):
            raise DeriveError(f"cannot open {show(trs[0], eng.names)}")
        atoms = list(nf._matrix_part(q[0]))
        scal += list(nf._scalar_part(q[0]))
        coef = m.coef * q[0].coef
        idx = [j for j, a in enumerate(atoms) if a in (dx, T(dx))]
        kinds = sorted(isinstance(atoms[j], T) for j in idx)
        if len(idx) != 2 or kinds != [False, True]:
            raise DeriveError(
                f"cannot bring {show(trs[0], eng.names)} to vec(d{wrt})^T G vec(d{wrt}): "
                f"a term tr(B d{wrt} C d{wrt}) needs the commutation matrix, which the notation "
                "has no name for")
        k = next(j for j in idx if isinstance(atoms[j], T))
        rot = atoms[k:] + atoms[:k]  # dX^T B dX C
        j = next(i for i, a in enumerate(rot) if a == dx)
        b, c = rot[1:j], rot[j + 1:]
        if not b or not c:
            raise DeriveError(
                f"{show(trs[0], eng.names)} gives kron(I, ·) or kron(·, I), and the notation "
                "cannot fix the size of that I (no neighbour of it does)")
        rows.append((Mono(coef, tuple(scal)), b, c))
    if not rows:
        raise DeriveError(f"the second differential is 0: f is linear in {wrt}")

    def trace_line(stage: int) -> Expr:
        out = []
        for mono, b, c in rows:
            if stage == 0:
                body = Func("tr", mul(T(dx), *b, dx, *c))
            elif stage == 1:
                body = mul(T(Func("vec", dx)), Func("vec", mul(*b, dx, *c)))
            else:
                body = mul(T(Func("vec", dx)), Kron(nf.normal(T(mul(*c))), mul(*b)),
                           Func("vec", dx))
            out.append(body if mono.coef == 1 and not mono.atoms else
                       mul(nf.mono_expr(mono), body))
        return add(*out)
    eng.emit(trace_line(0), ["trace-transpose", "trace-cyclic"])
    eng.emit(trace_line(1), "vec-trace")
    eng.emit(trace_line(2), "vec-product")
    parts = [mul(nf.mono_expr(mono), Kron(nf.normal(T(mul(*c))), nf.normal(mul(*b))))
             for mono, b, c in rows]
    g = nf.factor(nf.poly(add(*parts)), matrix=True)
    body = show(g, eng.names)
    if isinstance(g, (Add, Neg, Mul, Div)):
        body = f"({body})"
    v = f"vec({show(dx, eng.names)})"
    return g, f"{v}^T {body} {v}"


def _symmetric_part(nf: Normalizer, g: Expr, matrix: bool) -> Expr:
    """(G + G^T)/2, written as G when G is symmetric; ⊗ transposes factor by factor
    (kron-transpose)."""
    p = nf.poly(g)
    t = nf.merge([Mono(m.coef, nf.order(tuple(_t_kron(nf, a) for a in reversed(m.atoms))))
                  for m in p])
    key = lambda q: sorted((nf.show(mul(*m.atoms)) if m.atoms else "", m.coef) for m in q)  # noqa: E731
    if key(p) == key(t):
        return g
    half = Fraction(1, 2)
    return nf.factor(nf.merge([Mono(m.coef * half, m.atoms) for m in p + t]), matrix=matrix)


def _t_kron(nf: Normalizer, a: Expr) -> Expr:
    if isinstance(a, Kron):
        return Kron(nf.normal(T(a.left)), nf.normal(T(a.right)))
    if isinstance(a, Func) and a.name == "diag":
        return a
    return nf.t_atom(a)


def _mergeable(a: list[str], b: list[str], group_d: bool = True) -> bool:
    if a and b and all(r.startswith("diff-") for r in a + b):
        if not group_d:
            return False
        return True  # pushing d inwards: one step, as a person writes it
    if a and b and set(a + b) <= {"trace-transpose", "trace-cyclic"}:
        return True  # turning each term to end in dX: one step
    return a == b and a[0] in ("trace-scalar", "trace-scale", "trace-add", "trace-transpose",
                               "trace-cyclic")


def merge_steps(steps: list[tuple[str, list[str]]], group_d: bool = True
                ) -> list[tuple[str, list[str]]]:
    """Runs of steps a person would write as one: every differential rule in a row (d pushed
    all the way in), and the same trace rule applied term after term. The kernel justifies such
    a step by rewriting both ends until they meet (`match._join`)."""
    out = list(steps[:1])
    for text, by in steps[1:]:
        if len(out) > 1 and _mergeable(out[-1][1], by, group_d):
            out[-1] = (text, out[-1][1] + [r for r in by if r not in out[-1][1]])
        else:
            out.append((text, list(by)))
    # Every step holds up to algebra, so a rearranging step folds into the step before it: the
    # pushing of d (unless more pushing follows: then it stands for a power written out), or a
    # trace rule applied term by term. Not into trace-add: gathering terms under one trace and
    # factoring what is inside are better read (and checked) as two steps.
    folded = list(out[:1])
    for i, (text, by) in enumerate(out[1:], 1):
        after = out[i + 1][1] if i + 1 < len(out) else []
        before = folded[-1][1]
        foldable = group_d and all(r.startswith("diff-") for r in before) or before in (
            ["trace-scalar"], ["trace-scale"], ["trace-transpose"], ["trace-cyclic"], ["algebra"])
        if by == ["algebra"] and len(folded) > 1 and foldable \
                and not (after and all(r.startswith("diff-") for r in after)):
            folded[-1] = (text, folded[-1][1])
        else:
            folded.append((text, by))
    return folded


def check_derivation(dv: Derivation):
    """Run the kernel on the derivation's proof. Returns the kernel's ProofResult. A grouped step
    the kernel refuses is written again as the single moves it groups (the other steps stay
    grouped); if that proof is refused too, every step is a single move."""
    from .proofs import load_proof_text
    from .rulebase import load_rulebook

    _, book = load_rulebook()
    result = check_proof(load_proof_text(dv.proof_yaml()), book, None)
    if dv.fine_steps is None and dv.fine_source is not None and result.status != "valid":
        dv.fine_steps = dv.fine_source()
    if result.status != "valid" and dv.fine_steps and dv.fine_steps != dv.steps:
        groups = _groups(dv.steps, dv.fine_steps)
        bad = {i for i, st in enumerate(result.steps) if st.status != "valid"}
        if groups is not None and bad and max(bad) < len(dv.steps) - 1:
            new = [dv.steps[0]]
            for i in range(1, len(dv.steps) - 1):
                new += groups[i] if i in bad else [dv.steps[i]]
            new.append(dv.steps[-1])
            if new != dv.steps:
                dv.steps, dv.combined = new, False
                result = check_proof(load_proof_text(dv.proof_yaml()), book, None)
    if result.status != "valid" and dv.fine_steps and dv.fine_steps != dv.steps:
        # the kernel did not accept a combined step: fall back to one application a step
        dv.steps, dv.combined = dv.fine_steps, False
        result = check_proof(load_proof_text(dv.proof_yaml()), book, None)
    return result


def derive_checked(f_text: str, wrt: str, variables: dict[str, VarInfo],
                   layout: str = "numerator", theorem: str = "derived",
                   hessian: bool = False) -> tuple[Derivation, str]:
    """Derive (the Hessian with `hessian`) and have the kernel check the proof, as `prove
    derive` does before printing anything: (the derivation, its answer as text). Raises
    DeriveError when the engine cannot derive or the kernel refuses its proof."""
    dv = (derive_hessian(f_text, wrt, variables, theorem) if hessian
          else derive(f_text, wrt, variables, layout, theorem))
    result = check_derivation(dv)
    if result.status != "valid":
        bad = next((s for s in result.steps if s.status != "valid"), None)
        why = f"step {bad.index} ({bad.expr}): {bad.message}" if bad else result.message
        raise DeriveError(f"the engine's proof was not accepted by the checker: {why}")
    return dv, str(dv.steps[-1][0])


def _groups(steps: list[tuple[str, list[str]]], fine: list[tuple[str, list[str]]]
            ) -> list[list[tuple[str, list[str]]]] | None:
    """The single moves each grouped step stands for: a grouped line is the last line of
    its group (grouping only drops the lines between). None if they do not line up."""
    if not steps or not fine or steps[0] != fine[0] or steps[-1] != fine[-1]:
        return None
    out: list[list[tuple[str, list[str]]]] = [[fine[0]]]
    j = 1
    for text, _ in steps[1:-1]:
        k = j
        while k < len(fine) - 1 and fine[k][0] != text:
            k += 1
        if k >= len(fine) - 1:
            return None
        out.append(fine[j:k + 1])
        j = k + 1
    return out if j == len(fine) - 1 else None


def parse_var(spec: str) -> tuple[str, VarInfo]:
    """`'a: n x 1 constant'`, `'X: n x n invertible'`, `'s: scalar'`."""
    if ":" not in spec:
        raise DeriveError(f"--var {spec!r}: write NAME: ROWS x COLS [constant] [symmetric] "
                          "[invertible], or NAME: scalar")
    name, rest = spec.split(":", 1)
    words = rest.replace("×", " x ").replace(",", " ").split()
    flags = {w for w in words if w in ("constant", "symmetric", "invertible")}
    dims = [w for w in words if w not in flags]
    if dims == ["scalar"]:
        shape = Shape(1, 1)
    elif len(dims) == 3 and dims[1] == "x":
        shape = Shape(*(int(x) if x.isdigit() else x for x in (dims[0], dims[2])))
    else:
        raise DeriveError(f"--var {spec!r}: the shape should read like 'n x 1' or 'scalar'")
    from .checking import NAME
    from .kernel.errors import Limits
    from .kernel.expr import RESERVED

    name = name.strip()
    if not NAME.match(name) or name in RESERVED:
        raise DeriveError(f"--var {spec!r}: {name!r} cannot be a variable name"
                          + (" (it is reserved)" if name in RESERVED else ""))
    for dim in (shape.rows, shape.cols):
        if isinstance(dim, int) and not 1 <= dim <= Limits.max_dimension:
            raise DeriveError(f"--var {spec!r}: the dimension {dim} is outside "
                              f"1..{Limits.max_dimension}")
        if isinstance(dim, str) and (not NAME.match(dim) or dim in RESERVED):
            raise DeriveError(f"--var {spec!r}: {dim!r} is not a dimension symbol")
    return name, VarInfo(shape, "constant" in flags, "symmetric" in flags, "invertible" in flags)
