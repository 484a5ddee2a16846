"""Stage 1 of `prove grade` (SPEC §7): the instructor's assignment file becomes `Problem`s.

Each problem has its claim, declarations and assumptions, the rules it allows (ids, aliases or
globs), whether `by: index` and lemmas are allowed, its points and its partial-credit policy.
Anything wrong with the file is an `AssignmentError` (exit 2). This module also holds the keys
by which a student's claim is compared with the assigned one *by meaning* (expressions parsed
and printed back, assumptions as relations), which `read.py` computes for every proof.
Read next: `submissions.py`.
"""
from __future__ import annotations

import difflib

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..checking import check_proof, claim_text, closest
from ..citations import normalize
from ..kernel.errors import ProveError
from ..kernel.expr import Sym
from ..kernel.parser import parse
from ..kernel.printer import show
from ..kernel.replay import ProofIn
from ..proofs import (Assume, DerivativeClaim, HessianClaim, IdentityClaim, Library, VarDecl,
                      parse_proof, relation)
from ..rulebase import load_rulebook
from ..source import Located, SourceError, load_yaml, read_text


class AssignmentError(Exception):
    """The assignment file cannot be used: the run stops before grading anyone (exit 2)."""

    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.message = message
        self.excerpt = excerpt  # the offending line with a caret under the place, when known


def _caret(text: str, line: int, col: int) -> str:
    """The assignment's line `line` with a caret under column `col` (both from 1)."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    src = lines[line - 1]
    width = max(1, len(src[col - 1:].split(":", 1)[0].split(",", 1)[0].rstrip()) if col <= len(src) else 1)
    pad = len(str(line))
    return f"{' ' * pad} |\n{line} | {src}\n{' ' * pad} | {' ' * (col - 1)}{'^' * width}"


class PartialCredit(BaseModel):
    """How much a proof that is not valid earns (as a fraction of the problem's points).

    `milestones` (the default) looks only at the part of the proof the checker accepted — the
    steps from the start up to the first step that is not `valid` — and asks how far that part
    got, not how long it is: for a derivative claim, `differential` when some line of it has every
    `d( )` applied directly to the variable (the differential is fully expanded), `trace_form`
    when some line reads `tr(G dX)` (Theorem 4 could be applied). No-op, repeated or
    back-and-forth steps reach no new milestone, and nothing after the first broken step counts,
    so padding earns nothing. Identity claims earn no partial credit. `none`: all or nothing.
    """

    model_config = ConfigDict(extra="forbid")
    policy: Literal["milestones", "none"] = "milestones"
    differential: float = Field(0.25, ge=0, le=1, description="fraction of the points for a fully "
                                "expanded differential reached by valid steps")
    trace_form: float = Field(0.5, ge=0, le=1, description="fraction of the points for reaching "
                              "tr(G dX) by valid steps")
    layout_slip: Optional[float] = Field(None, ge=0, lt=1, description="fraction of the points "
                                         "for a proof whose only mistake is a transposed answer "
                                         "(the other layout's); omitted: the milestones reached, "
                                         "as for any wrong answer")

    @model_validator(mode="after")
    def _order(self) -> "PartialCredit":
        if self.differential > self.trace_form:
            raise ValueError("differential must not exceed trace_form")
        if self.trace_form >= 1:
            raise ValueError("trace_form must be below 1 (full credit is for a valid proof)")
        return self


def _number(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected a number")
    return v


MAX_RULES_DOC = ("the most distinct rules one step may cite (ids after alias resolution; "
                 "algebra and theorem-4 count like any rule, a lemma counts as one); a step "
                 "citing more ends the checked part there (invalid, with the milestones reached "
                 "before it); omitted: no limit")


class ProblemModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)
    points: float = Field(gt=0, le=10_000)
    title: Optional[str] = None
    from_: Optional[str] = Field(None, alias="from", description="a proof file (relative to the "
                                 "assignment) whose claim, variables and layout are assigned")
    claim: Optional[Union[DerivativeClaim, HessianClaim, IdentityClaim]] = None
    variables: Optional[dict[str, VarDecl]] = None
    layout: Optional[Literal["numerator", "denominator"]] = None
    assume: Optional[Assume] = Field(None, description="what the claim presumes (sizes, "
                                     "invertible expressions); part of what is assigned")
    allowed_rules: Optional[list[str]] = Field(None, description="rule ids, aliases or globs "
                                               "(diff-*); omitted: every installed rule")
    allow_index: bool = False
    allow_lemmas: bool = False
    partial_credit: Optional[PartialCredit] = None
    max_rules_per_step: Optional[int] = Field(None, ge=1, strict=True, description=MAX_RULES_DOC)

    _n = field_validator("points", mode="before")(_number)

    @field_validator("claim", mode="before")
    @classmethod
    def _claim_kind(cls, v: Any) -> Any:
        if isinstance(v, dict):
            model = HessianClaim if "hessian" in v else DerivativeClaim if any(
                k in v for k in ("derivative", "wrt", "equals")) else IdentityClaim
            return model.model_validate(v)
        return v


class GradescopeOptions(BaseModel):
    """Settings of the Gradescope output (docs/grading.md §5)."""

    model_config = ConfigDict(extra="forbid")
    visibility: Literal["visible", "hidden", "after_due_date", "after_published"] = Field(
        "visible", description="when students see each problem's test (Gradescope's names)")


class AssignmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignment: str = Field(min_length=1, max_length=200)
    title: Optional[str] = None
    partial_credit: PartialCredit = Field(default_factory=PartialCredit)
    max_rules_per_step: Optional[int] = Field(None, ge=1, strict=True, description="the default "
                                              "for every problem: " + MAX_RULES_DOC)
    lib: list[str] = Field(default_factory=list, description="folders of instructor-provided "
                           "lemma files (used only where a problem has allow_lemmas: true)")
    gradescope: GradescopeOptions = Field(default_factory=GradescopeOptions)
    problems: list[ProblemModel] = Field(min_length=1, max_length=200)


VarKey = tuple  # (rows, cols, constant, symmetric, invertible)


@dataclass
class Problem:
    id: str
    points: float
    title: str
    names: set[str]  # normalised theorem / file names that match this problem
    kind: str  # "derivative" | "hessian" | "identity"
    claim: dict[str, str]  # for the kernel (with layout)
    canonical: dict[str, Optional[str]]  # parsed-and-printed claim fields
    variables: dict[str, VarKey]
    decls: dict[str, dict]  # VarDecl dumps, for building the proof to check
    layout: str
    allowed: Optional[frozenset[str]]  # rule ids; None: every rule
    allowed_text: list[str]
    allow_index: bool
    allow_lemmas: bool
    partial: PartialCredit
    assume: Optional[dict] = None  # the Assume dump, for building the proof to check
    assume_key: tuple = ((), ())
    claim_names: frozenset = frozenset()  # variables the claim (and its assume:) uses
    max_rules: Optional[int] = None  # max_rules_per_step (the problem's, else the assignment's)

    @property
    def claim_shown(self) -> str:
        return claim_text(self.claim)


@dataclass
class Assignment:
    name: str
    title: str
    path: str
    problems: list[Problem]
    lib: list[str]
    lib_theorems: set[str]
    gradescope_visibility: str = "visible"

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)


def var_key(v: VarDecl) -> VarKey:
    info = v.info()
    return (info.shape.rows, info.shape.cols, info.constant, info.symmetric, info.invertible)


def shape_text(k: VarKey) -> str:
    return "scalar" if (k[0], k[1]) == (1, 1) else f"{k[0]}×{k[1]}"


def canonical_claim(claim: Union[DerivativeClaim, HessianClaim, IdentityClaim], names: set[str]
                    ) -> tuple[str, dict[str, Optional[str]]]:
    """The claim's expressions parsed and printed back: equal exactly when the trees are equal
    (the printer round-trips). A field that does not parse becomes '!' + the reason."""
    if isinstance(claim, HessianClaim):
        kind, fields = "hessian", {"hessian": claim.hessian, "equals": claim.equals}
    elif isinstance(claim, DerivativeClaim):
        kind, fields = "derivative", {"derivative": claim.derivative, "equals": claim.equals}
    else:
        kind, fields = "identity", {"lhs": claim.lhs, "rhs": claim.rhs}
    memo = (kind, tuple(fields.items()), getattr(claim, "wrt", None), frozenset(names))
    hit = _CANONICAL.get(memo)
    if hit is None:
        hit = _canonical(claim, fields, names)
        if len(_CANONICAL) > 10_000:
            _CANONICAL.clear()
        if DEEP not in hit.values():  # (how deep Python may go depends on the caller)
            _CANONICAL[memo] = hit
    return kind, dict(hit)


# per process: a class writes its claims alike (pure functions of their arguments)
_CANONICAL: dict[tuple, dict] = {}
_CLAIM_NAMES: dict[tuple, frozenset] = {}
DEEP = "!the expression nests too deeply"
# How many times reading an expression here ran out of Python's stack. How deep Python may go
# depends on the caller, so an answer reached that way is never remembered, here or by a memo
# built on these functions (`read._head` compares the count before and after).
_DEEP_SEEN = [0]


def deep_seen() -> int:
    return _DEEP_SEEN[0]


def note_deep() -> None:
    _DEEP_SEEN[0] += 1


def _canonical(claim: Union[DerivativeClaim, IdentityClaim], fields: dict[str, Optional[str]],
               names: set[str]) -> dict[str, Optional[str]]:
    out: dict[str, Optional[str]] = {}
    for key, text in fields.items():
        if text is None:
            out[key] = None
            continue
        try:
            out[key] = show(parse(text, names), names)
        except ProveError as exc:
            out[key] = "!" + exc.diag.message
        except RecursionError:
            note_deep()
            out[key] = DEEP
    if isinstance(claim, (DerivativeClaim, HessianClaim)):
        out["wrt"] = claim.wrt
    return out


def claim_names(claim: Union[DerivativeClaim, IdentityClaim], names: set[str],
                assume: Optional[Assume] = None) -> frozenset:
    """The declared variables the claim (and its `assume: invertible`) uses; a field that does
    not parse contributes nothing (the claim check reports it)."""
    texts = [claim.derivative, claim.equals, claim.wrt] if isinstance(claim, DerivativeClaim) \
        else [claim.hessian, claim.equals, claim.wrt] if isinstance(claim, HessianClaim) \
        else [claim.lhs, claim.rhs]
    texts += list(assume.invertible) if assume else []
    memo = (tuple(texts), frozenset(names))
    hit = _CLAIM_NAMES.get(memo)
    if hit is None:
        hit, deep = _claim_names(texts, names)
        if len(_CLAIM_NAMES) > 10_000:
            _CLAIM_NAMES.clear()
        if not deep:
            _CLAIM_NAMES[memo] = hit
    return hit


def _claim_names(texts: list, names: set[str]) -> tuple[frozenset, bool]:
    used: set[str] = set()
    deep = False
    for text in texts:
        if not text:
            continue
        try:
            used |= {n.name for n in parse(text, names).walk() if isinstance(n, Sym)}
        except ProveError:
            continue
        except RecursionError:
            note_deep()
            deep = True
    return frozenset(used & set(names)), deep


def _where(src: Located, loc: tuple) -> str:
    line, col = src.pos(loc)
    return f"{line}:{col}"


def load_assignment(path: Path | str, lib: tuple[str, ...] | list[str] = ()) -> Assignment:
    """Read and validate an assignment file; raises AssignmentError with file:line:col."""
    path = Path(path)
    try:
        entries, book = load_rulebook()
    except SourceError as exc:
        raise AssignmentError(f"the rule base is broken: {exc.message}") from None
    try:
        src = load_yaml(read_text(path))
    except SourceError as exc:
        raise AssignmentError(f"{path}:{exc.line or 1}:{exc.col or 1}: {exc.message}") from None
    if not isinstance(src.data, dict):
        raise AssignmentError(f"{path}:1:1: an assignment is a YAML mapping (assignment:, "
                              "problems:)")
    try:
        model = AssignmentModel.model_validate(src.data)
    except ValidationError as exc:
        errors = exc.errors()  # a misspelt key first: it explains the field it leaves missing
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x[:1].isupper()))
        key = ".".join(str(x) for x in loc) or "the file"
        if err["type"] == "extra_forbidden":
            line, col = src.key_pos(loc)
            missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"
                       and tuple(e["loc"][:-1]) == tuple(err["loc"][:-1])]
            near = difflib.get_close_matches(str(loc[-1]), missing, 1, 0.6)
            raise AssignmentError(f"{path}:{line}:{col}: unknown key {loc[-1]!r}" + (
                f" (did you mean {near[0]!r}?)" if near else ""),
                _caret(src.text or "", line, col)) from None
        line, col = src.pos(loc)
        raise AssignmentError(f"{path}:{line}:{col}: {key}: {err['msg']}",
                              _caret(src.text or "", line, col)) from None

    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for i, pm in enumerate(model.problems):
        here = f"{path}:{_where(src, ('problems', i))}: problem {pm.id}"
        names = {normalize(pm.id)}
        if pm.id.lower() == "total":
            raise AssignmentError(f"{here}: 'total' is reserved (it names the total row)")
        if pm.from_ is not None:
            if pm.claim is not None or pm.variables is not None:
                raise AssignmentError(f"{here}: give either from: or claim: and variables:, "
                                      "not both")
            fpath = (path.parent / pm.from_)
            try:
                fsrc = load_yaml(read_text(fpath))
                pf = parse_proof(fsrc.data, fsrc)
            except SourceError as exc:
                raise AssignmentError(f"{here}: from: {fpath}:{exc.line or 1}:{exc.col or 1}: "
                                      f"{exc.message}") from None
            claim, variables, assume = pf.claim, pf.variables, pm.assume or pf.assume
            layout = pm.layout or pf.layout
            names.add(normalize(pf.theorem))
        else:
            if pm.claim is None or pm.variables is None:
                raise AssignmentError(f"{here}: needs claim: and variables: (or from: a proof "
                                      "file)")
            claim, variables, assume = pm.claim, pm.variables, pm.assume
            layout = pm.layout or "numerator"
        for n in names:
            if n in seen:
                raise AssignmentError(f"{here}: the name {n!r} also matches problem {seen[n]}")
            seen[n] = pm.id
        kclaim: dict[str, str]
        if isinstance(claim, HessianClaim):  # the kernel's Hessian claim has no layout
            if pm.layout is not None:
                raise AssignmentError(f"{here}: layout: is for derivative claims; a Hessian claim "
                                      "takes none (the Hessian is the same in either layout)")
            if claim.equals is None:
                raise AssignmentError(f"{here}: a Hessian claim needs its answer, equals: H: the "
                                      "key is checked by the kernel before grading, and prove "
                                      "cannot derive a Hessian on its own (no prove derive "
                                      "--hessian yet)")
            kclaim, layout = {"hessian": claim.hessian, "wrt": claim.wrt, "equals": claim.equals}, \
                "numerator"
        elif isinstance(claim, DerivativeClaim):
            kclaim = {"derivative": claim.derivative, "wrt": claim.wrt, "layout": layout}
            if claim.equals is not None:
                kclaim["equals"] = claim.equals
        else:
            kclaim = {"lhs": claim.lhs, "rhs": claim.rhs}
        env = {n: v.info() for n, v in variables.items()}
        res = check_proof(ProofIn(pm.id, env, kclaim, [], assume={
            "sizes": [relation(t) for t in assume.sizes], "invertible": assume.invertible}
            if assume else {}), book)
        if res.status == "error":
            raise AssignmentError(f"{here}: the claim cannot be used: {res.message}")
        kind, canon = canonical_claim(claim, set(variables))
        allowed = _expand_allowed(pm.allowed_rules, entries, book, here)
        if kind == "derivative" and allowed is not None \
                and "derivative-from-differential" not in allowed:
            raise AssignmentError(f"{here}: a derivative claim ends with Theorem 4, but "
                                  "allowed_rules does not include derivative-from-differential "
                                  "(theorem-4): no proof could earn credit")
        if kind == "hessian" and allowed is not None \
                and "hessian-from-second-differential" not in allowed:
            raise AssignmentError(f"{here}: a Hessian claim ends with "
                                  "hessian-from-second-differential, but allowed_rules does not "
                                  "include it: no proof could earn credit")
        problems.append(Problem(
            pm.id, float(pm.points), pm.title or "", names, kind, kclaim, canon,
            {n: var_key(v) for n, v in variables.items()},
            {n: v.model_dump() for n, v in variables.items()}, layout, allowed,
            list(pm.allowed_rules or []), pm.allow_index, pm.allow_lemmas,
            pm.partial_credit or model.partial_credit,
            assume.model_dump() if assume else None, assume_key(assume, set(variables)),
            claim_names(claim, set(variables), assume),
            pm.max_rules_per_step if pm.max_rules_per_step is not None
            else model.max_rules_per_step))

    libs: list[str] = []
    for j, entry in enumerate(list(model.lib) + list(lib)):
        p = (path.parent / entry) if j < len(model.lib) else Path(entry)
        if not p.exists():
            raise AssignmentError(f"{path}: lib: {p} does not exist")
        libs.append(str(p.resolve()))
    lib_theorems: set[str] = set()
    if libs:
        scanner = Library(book, [Path(x) for x in libs])
        for x in libs:
            lib_theorems |= set(scanner._scan(Path(x)))
    return Assignment(model.assignment, model.title or "", str(path), problems, libs,
                      lib_theorems, model.gradescope.visibility)


def _expand_allowed(pats: Optional[list[str]], entries, book,
                    here: str) -> Optional[frozenset[str]]:
    if pats is None:
        return None
    out: set[str] = set()
    for pat in pats:
        if normalize(pat) == "index":
            raise AssignmentError(f"{here}: allowed_rules: 'index' is not a rule; write "
                                  "allow_index: true")
        if any(c in pat for c in "*?["):
            glob = re.sub(r"[\s_]+", "-", pat.strip().lower())
            hit = {e.model.id for e in entries for name in [e.model.id, *e.model.aliases]
                   if fnmatch.fnmatchcase(name.lower(), glob)}
            if not hit:
                raise AssignmentError(f"{here}: allowed_rules: {pat!r} matches no rule "
                                      "(`prove rules` lists them)")
            out |= hit
            continue
        rid = book.resolve(pat)
        if rid is None:
            near = closest(book, pat)
            raise AssignmentError(f"{here}: allowed_rules: {pat!r} names no rule"
                                  + (f" (did you mean {' or '.join(near)}?)" if near else
                                     " (`prove rules` lists them)"))
        out.add(rid)
    return frozenset(out)


_NORMAL: dict[tuple, str] = {}  # per process: students share most lines


def assume_key(assume: Optional[Assume], names: set[str]) -> tuple:
    """Assumptions by meaning: the relations as read, the expressions printed from their trees."""
    if assume is None:
        return (), ()
    return (tuple(sorted({relation(t) for t in assume.sizes}, key=str)),
            tuple(sorted({normal_text(t, names) for t in assume.invertible})))


def normal_text(text: str, names: frozenset[str] | set[str]) -> str:
    """The expression printed back from its tree, so that spacing and redundant parentheses do
    not make two proofs different; text that does not parse is kept as written."""
    key = (text, frozenset(names))
    hit = _NORMAL.get(key)
    if hit is not None:
        return hit
    try:
        e = parse(text, names)
        out = show(e, names)
        out = out if parse(out, names) == e else text
    except ProveError:
        out = text
    except RecursionError:  # kept as written, and not remembered (`_DEEP_SEEN`)
        note_deep()
        return text
    if len(_NORMAL) > 50_000:
        _NORMAL.clear()
    _NORMAL[key] = out
    return out

