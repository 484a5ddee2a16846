"""`prove grade`: the answer key is checked before anyone is graded (SPEC §7).

Untrusted tooling around the kernel; the verdicts come from the kernel's truth check
(`kernel.truth.decide`, as `equiv.py` uses it), in the problem's layout, with its declarations
and `assume:`.

- A derivative claim with `equals:` is derived by `prove derive` (the untrusted engine). The
  derivation is accepted only if the kernel checks the proof it writes; then the kernel decides
  whether the key equals the derived answer. If `prove derive` cannot derive it (or the kernel
  cannot decide), the key is checked as far as possible by the kernel directly: is
  d f = tr(K dX) (K the key, or its transpose in denominator layout)? That is Theorem 4, read
  backwards: a false answer refutes the key (with a counterexample, but no right answer to
  offer); a true one confirms it; an undecided one leaves the key unconfirmed, and the
  instructor is warned and grading goes on.
- An identity claim is decided by the kernel (lhs against rhs).
- A derivative claim without `equals:` (the student supplies the answer) is not checked here.
- A Hessian claim (which always has `equals:`; `load_assignment` refuses one without) is decided
  by the kernel alone, as the second identification theorem reads it: the key K is the Hessian
  when d(d(f)) = dx^T K dx (vec(dX)^T K vec(dX) for a matrix) and K is symmetric. There is no
  `prove derive --hessian` yet, so a wrong key gets a counterexample but no right answer.

`check_keys` returns one `KeyCheck` per checked problem; `cli_grade` stops with exit 2 on a
`wrong` one unless `--trust-key` is given, and prints warnings for `unconfirmed` ones.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from ..kernel.errors import ProveError
from ..kernel.expr import Func, Sym, T, d, mul
from ..kernel.parser import parse
from ..kernel.printer import show
from ..kernel.truth import Witness, decide

if TYPE_CHECKING:
    from .assignment import Assignment, Problem


@dataclass
class KeyCheck:
    problem: str
    status: str  # "confirmed" | "wrong" | "unconfirmed"
    message: str  # one paragraph naming the problem and the key
    key: str  # the key as the kernel prints it
    right: Optional[str] = None  # the derived derivative (wrong derivative keys, when derived)
    counterexample: Optional[Witness] = None
    note: str = ""  # how it was checked (or why it could not be)
    derived: bool = True  # False: a derivative key checked without prove derive's answer


def _kernel_proof(p: "Problem"):
    """The problem's claim as the kernel reads it (no steps): its declarations and assumptions."""
    from ..kernel.replay import ProofIn
    from ..proofs import VarDecl, relation

    env = {n: VarDecl.model_validate(v).info() for n, v in p.decls.items()}
    assume = {"sizes": [relation(t) for t in p.assume.get("sizes", [])],
              "invertible": list(p.assume.get("invertible", []))} if p.assume else {}
    return ProofIn(p.id, env, dict(p.claim), [], assume=assume), env


def _cex(lhs, rhs, ctx, evidence, labels: tuple[str, str]) -> Optional[Witness]:
    from ..explain import small_counterexample

    w = None
    try:
        w = small_counterexample(lhs, rhs, ctx)
    except (ProveError, RecursionError, ZeroDivisionError, ArithmeticError):
        w = None
    w = w or evidence.witness
    return replace(w, labels=labels) if w is not None else None


def _by(t) -> str:
    return ", ".join(t.checked_by) or t.note or "the kernel"


def _cex_text(w: Optional[Witness]) -> str:
    if w is None:
        return ""
    from ..render import counterexample_line

    return "; " + counterexample_line(w)


def check_key(p: "Problem", book=None) -> Optional[KeyCheck]:
    """Prove or refute the problem's claim; None when there is no key to check."""
    if p.kind == "derivative" and "equals" not in p.claim:
        return None
    from ..checking import check_proof

    if book is None:
        from ..rulebase import load_rulebook
        _, book = load_rulebook()
    proof, env = _kernel_proof(p)
    res = check_proof(proof, book)
    ctx = getattr(res, "context", None)
    names = set(env)
    if ctx is None:  # load_assignment refuses such claims; be safe all the same
        return KeyCheck(p.id, "unconfirmed", f"problem {p.id}: the claim could not be read: "
                        f"{res.message}", "", note=res.message)
    try:
        if p.kind == "identity":
            return _identity(p, ctx, names)
        if p.kind == "hessian":
            return _hessian(p, env, ctx, names)
        return _derivative(p, env, ctx, names)
    except (ProveError, RecursionError) as exc:
        why = exc.diag.message if isinstance(exc, ProveError) else "the expression nests too deeply"
        key = p.claim.get("equals") or f"{p.claim.get('lhs')} = {p.claim.get('rhs')}"
        return KeyCheck(p.id, "unconfirmed", f"problem {p.id}: the key {key} could not be "
                        f"confirmed: {why}", key, note=why)


def _identity(p: "Problem", ctx, names) -> KeyCheck:
    lhs, rhs = parse(p.claim["lhs"], names), parse(p.claim["rhs"], names)
    key = f"{show(lhs, names)} = {show(rhs, names)}"
    t = decide(lhs, rhs, ctx)
    if t.holds:
        return KeyCheck(p.id, "confirmed", f"problem {p.id}: {key} holds", key,
                        note=f"checked by {_by(t)}")
    if t.kind == "false":
        w = _cex(lhs, rhs, ctx, t, ("lhs", "rhs"))
        return KeyCheck(p.id, "wrong", f"problem {p.id}: the claim {key} is false: the two sides "
                        f"are not equal{_cex_text(w)}", key, counterexample=w)
    return KeyCheck(p.id, "unconfirmed", f"problem {p.id}: the claim {key} could not be "
                    f"confirmed: the kernel cannot decide it ({t.note or t.kind})", key, note=t.note)


def _hessian(p: "Problem", env, ctx, names) -> KeyCheck:
    f_text, wrt = p.claim["hessian"], p.claim["wrt"]
    f, key = parse(f_text, names), parse(p.claim["equals"], names)
    key_text, f_shown = show(key, names), show(f, names)
    head, what = f"problem {p.id}: the key `equals: {key_text}`", f"the Hessian of {f_shown} in {wrt}"
    dx = d(Sym(wrt)) if env[wrt].shape.cols == 1 else Func("vec", d(Sym(wrt)))
    second, form = d(d(f)), mul(T(dx), key, dx)
    t = decide(second, form, ctx)
    if t.kind == "false":
        w = _cex(second, form, ctx, t, (f"d(d({f_shown}))", show(form, names)))
        return KeyCheck(p.id, "wrong", f"{head} is wrong: d(d({f_shown})) ≠ {show(form, names)}, "
                        f"so it is not {what} (checked by the kernel; no right answer is offered: "
                        f"prove cannot derive a Hessian yet){_cex_text(w)}", key_text,
                        counterexample=w, derived=False)
    if not t.holds:
        return KeyCheck(p.id, "unconfirmed", f"{head} could not be confirmed: the kernel cannot "
                        f"decide d(d({f_shown})) = {show(form, names)} ({t.note or t.kind})",
                        key_text, note=t.note, derived=False)
    sym = decide(key, T(key), ctx)
    if sym.kind == "false":
        w = _cex(key, T(key), ctx, sym, ("the key", "its transpose"))
        return KeyCheck(p.id, "wrong", f"{head} is wrong: it is not symmetric, and a Hessian is; "
                        f"d(d({f_shown})) = {show(form, names)} holds, so {what} is its symmetric "
                        f"part ({key_text} + ({key_text})^T)/2{_cex_text(w)}", key_text,
                        right=f"(1/2) ({key_text} + ({key_text})^T)", counterexample=w, derived=False)
    if not sym.holds:
        return KeyCheck(p.id, "unconfirmed", f"{head} could not be confirmed: the kernel cannot "
                        f"decide whether it is symmetric ({sym.note or sym.kind})", key_text,
                        note=sym.note, derived=False)
    return KeyCheck(p.id, "confirmed", f"{head} is {what}", key_text, derived=False,
                    note=f"the kernel confirmed d(d({f_shown})) = {show(form, names)} ({_by(t)}) "
                    f"and that the key is symmetric ({_by(sym)}): hessian-from-second-differential")


def _derivative(p: "Problem", env, ctx, names) -> KeyCheck:
    from ..derive import DeriveError, check_derivation, derive

    f_text, wrt, layout = p.claim["derivative"], p.claim["wrt"], p.claim.get("layout", "numerator")
    f, key = parse(f_text, names), parse(p.claim["equals"], names)
    key_text, f_shown = show(key, names), show(f, names)
    what = f"∂({f_shown})/∂{wrt}"
    head = f"problem {p.id}: the key `equals: {key_text}`"
    if env[wrt].symmetric:
        return KeyCheck(p.id, "unconfirmed", f"{head} could not be confirmed: {wrt} is "
                        "symmetric, and derivatives with respect to a symmetric matrix have "
                        "competing conventions", key_text, note="symmetric")
    why = ""
    try:
        dv = derive(f_text, wrt, env, layout, theorem=p.id)
        if check_derivation(dv).status != "valid":
            dv, why = None, "the kernel did not accept the proof prove derive wrote"
    except DeriveError as exc:
        dv, why = None, f"prove derive cannot derive it ({exc})"
    except (ProveError, RecursionError, ArithmeticError) as exc:
        dv, why = None, f"prove derive failed ({exc})"
    if dv is not None:
        g = dv.derivative
        right = show(g, names)
        t = decide(key, g, ctx)
        if t.holds:
            return KeyCheck(p.id, "confirmed", f"{head} is {what} in {layout} layout", key_text,
                            right=right, note="derived by prove derive; the kernel checked the "
                            f"derivation and that the key equals it ({_by(t)})")
        if t.kind == "false":
            w = _cex(key, g, ctx, t, ("the key", "the derivative"))
            hint = ""
            try:
                other = "denominator" if layout == "numerator" else "numerator"
                if decide(key, T(g), ctx).holds:
                    hint = (f"; the key is its transpose, the {other}-layout answer (this "
                            f"problem is in {layout} layout: set layout: {other} if that is meant)")
            except (ProveError, RecursionError):
                pass
            return KeyCheck(p.id, "wrong", f"{head} is wrong; the right answer is {what} = "
                            f"{right} ({layout} layout; derived by prove derive, checked by the "
                            f"kernel){hint}"
                            f"{_cex_text(w)}", key_text, right=right, counterexample=w)
        why = f"the kernel cannot decide whether the key equals the derived {right} ({t.note})"
    # as far as the kernel can go alone: d f = tr(K dX), K the key in numerator layout
    k = T(key) if layout == "denominator" else key
    df, form = d(f), Func("tr", mul(k, d(Sym(wrt))))
    t = decide(df, form, ctx)
    if t.holds:
        return KeyCheck(p.id, "confirmed", f"{head} is {what} in {layout} layout", key_text,
                        note=f"{why}; the kernel confirmed d({f_shown}) = "
                        f"{show(form, names)} ({_by(t)})", derived=False)
    if t.kind == "false":
        w = _cex(df, form, ctx, t, (f"d({f_shown})", show(form, names)))
        return KeyCheck(p.id, "wrong", f"{head} is wrong: d({f_shown}) ≠ {show(form, names)}, so "
                        f"it is not {what} in {layout} layout ({why}, so no right answer is "
                        f"offered){_cex_text(w)}", key_text, counterexample=w, note=why,
                        derived=False)
    return KeyCheck(p.id, "unconfirmed", f"{head} could not be confirmed: {why}, and the kernel "
                    f"cannot decide d({f_shown}) = {show(form, names)} ({t.note or t.kind})",
                    key_text, note=why, derived=False)


def check_keys(a: "Assignment") -> list[KeyCheck]:
    """Every problem's key, in order (problems without one are left out)."""
    from ..rulebase import load_rulebook

    _, book = load_rulebook()
    out = []
    for p in a.problems:
        k = check_key(p, book)
        if k is not None:
            out.append(k)
    return out
