"""`prove grade` (SPEC §7): grade a class's proofs against an assignment, fairly and at scale.

Untrusted tooling around the kernel. The run has five stages:

1. **Assignment** (parent process): the instructor's file becomes `Problem`s — claim,
   declarations, allowed rules (ids, aliases, globs), whether `by: index` and lemmas are
   allowed, points and the partial-credit policy. Anything wrong with it is an
   `AssignmentError` (exit 2).
2. **Read** (worker processes): every submitted file is decoded, parsed as YAML and as proofs, and
   its expressions parsed by the kernel's parser, in a worker with a time limit. Byte-identical
   files are read once. The parent never parses untrusted text: it only lists folders, reads at
   most `MAX_FILE_BYTES` of a regular file, and hashes it.
3. **Gate** (parent, plain data): match proofs to problems (`theorem:`, else the file name),
   compare the claim and declarations with the assigned ones (parsed trees, not text), and check
   every citation against `allowed_rules`, `allow_index`, `allow_lemmas` and the installed rule
   base. A failed gate is `rejected` with its reason, and nothing is checked.
4. **Check** (worker processes): every distinct proof (a hash of its normalised content: the
   parsed-and-printed steps and resolved citations) is checked once by the kernel, with a time
   limit; students with the same proof share the result.
5. **Score and write**: `valid` earns the points; a broken proof earns partial credit by
   *milestones* (see `PartialCredit`), which padding cannot reach; outputs as text, CSV, JSON,
   Gradescope, PrairieLearn, and Markdown feedback.

A worker that overruns its time limit or dies is replaced; the file or proof it was working on
is `error` with the reason, and nothing else is affected. Read next: `cli_grade.py`.
"""
from __future__ import annotations

import csv
import dataclasses
import fnmatch
import hashlib
import io
import json
import multiprocessing as mp
import os
import re
import signal
import stat
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .checking import check_proof, closest
from .citations import normalize
from .checking import claim_text
from .kernel.replay import ProofIn
from .kernel.errors import Limits, ProveError
from .kernel.expr import Func, Ident, Mul, Neg, Sym, d, mul
from .kernel.parser import parse
from .kernel.printer import show
from .kernel.shapes import shape_of
from .proofs import (Assume, DerivativeClaim, DerivativeStep, IdentityClaim, Library, ProofFile,
                     VarDecl, lemma_rule, parse_proof, relation, to_kernel)
from .grade_safe import csv_cell, decoded, md_code, md_lines, md_text, visible
from .render import counterexample_line
from .rulebase import load_rulebook
from .source import Located, SourceError, load_yaml, read_text

# -- limits of a grading run (SPEC §8) -----------------------------------------------------------
MAX_FILE_BYTES = 256 * 1024  # a submitted file; a 500-step proof is ~40 KB
MAX_FILES_PER_STUDENT = 50  # YAML files looked at in one student's folder
MAX_FOLDER_DEPTH = 6
DEFAULT_TIMEOUT = 60.0  # seconds to read one file, and to check one proof
WORKER_MEMORY_BYTES = 1536 * 1024 * 1024  # address-space limit of a worker process

STATUSES = ("valid", "invalid", "incomplete", "needs_review", "rejected", "missing", "error")


class AssignmentError(Exception):
    """The assignment file cannot be used: the run stops before grading anyone (exit 2)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- 1. the assignment --------------------------------------------------------------------------
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
    claim: Optional[Union[DerivativeClaim, IdentityClaim]] = None
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
            model = DerivativeClaim if any(k in v for k in ("derivative", "wrt", "equals")) \
                else IdentityClaim
            return model.model_validate(v)
        return v


class AssignmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignment: str = Field(min_length=1, max_length=200)
    title: Optional[str] = None
    partial_credit: PartialCredit = Field(default_factory=PartialCredit)
    max_rules_per_step: Optional[int] = Field(None, ge=1, strict=True, description="the default "
                                              "for every problem: " + MAX_RULES_DOC)
    lib: list[str] = Field(default_factory=list, description="folders of instructor-provided "
                           "lemma files (used only where a problem has allow_lemmas: true)")
    problems: list[ProblemModel] = Field(min_length=1, max_length=200)


VarKey = tuple  # (rows, cols, constant, symmetric, invertible)


@dataclass
class Problem:
    id: str
    points: float
    title: str
    names: set[str]  # normalised theorem / file names that match this problem
    kind: str  # "derivative" | "identity"
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

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)


def _var_key(v: VarDecl) -> VarKey:
    info = v.info()
    return (info.shape.rows, info.shape.cols, info.constant, info.symmetric, info.invertible)


def _shape_text(k: VarKey) -> str:
    return "scalar" if (k[0], k[1]) == (1, 1) else f"{k[0]}×{k[1]}"


def canonical_claim(claim: Union[DerivativeClaim, IdentityClaim], names: set[str]
                    ) -> tuple[str, dict[str, Optional[str]]]:
    """The claim's expressions parsed and printed back: equal exactly when the trees are equal
    (the printer round-trips). A field that does not parse becomes '!' + the reason."""
    if isinstance(claim, DerivativeClaim):
        kind, fields = "derivative", {"derivative": claim.derivative, "equals": claim.equals}
    else:
        kind, fields = "identity", {"lhs": claim.lhs, "rhs": claim.rhs}
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
            out[key] = "!the expression nests too deeply"
    if isinstance(claim, DerivativeClaim):
        out["wrt"] = claim.wrt
    return kind, out


def claim_names(claim: Union[DerivativeClaim, IdentityClaim], names: set[str],
                assume: Optional[Assume] = None) -> frozenset:
    """The declared variables the claim (and its `assume: invertible`) uses; a field that does
    not parse contributes nothing (the claim check reports it)."""
    texts = [claim.derivative, claim.equals, claim.wrt] if isinstance(claim, DerivativeClaim) \
        else [claim.lhs, claim.rhs]
    texts += list(assume.invertible) if assume else []
    used: set[str] = set()
    for text in texts:
        if not text:
            continue
        try:
            used |= {n.name for n in parse(text, names).walk() if isinstance(n, Sym)}
        except (ProveError, RecursionError):
            continue
    return frozenset(used & set(names))


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
        err = exc.errors()[0]
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x[:1].isupper()))
        key = ".".join(str(x) for x in loc) or "the file"
        if err["type"] == "extra_forbidden":
            line, col = src.key_pos(loc)
            raise AssignmentError(f"{path}:{line}:{col}: unknown key {loc[-1]!r}") from None
        raise AssignmentError(f"{path}:{_where(src, loc)}: {key}: {err['msg']}") from None

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
        if isinstance(claim, DerivativeClaim):
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
        problems.append(Problem(
            pm.id, float(pm.points), pm.title or "", names, kind, kclaim, canon,
            {n: _var_key(v) for n, v in variables.items()},
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
                      lib_theorems)


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


# -- 2. reading submitted files (in a worker) -----------------------------------------------------
@dataclass
class LoadedProof:
    """One proof found in a file, as plain data (the parent never parses untrusted text)."""

    theorem: Optional[str]
    index: Optional[int] = None  # position in a file that holds a list of proofs
    error: str = ""  # why it cannot be used (with line:col)
    kind: str = ""
    canonical: dict = field(default_factory=dict)
    claim_shown: str = ""
    layout: str = "numerator"
    variables: dict = field(default_factory=dict)  # name -> VarKey
    dump: dict = field(default_factory=dict)  # the proof, steps normalised, for checking
    lines: list = field(default_factory=list)  # the line of each step
    citations: list = field(default_factory=list)  # (step index, name as written)
    assume_key: tuple = ((), ())  # what the proof assumes, by meaning
    claim_names: list = field(default_factory=list)  # the variables its claim uses


@dataclass
class LoadedFile:
    error: str = ""
    proofs: list = field(default_factory=list)
    rules: list = field(default_factory=list)  # rule ids a student tried to define


def _sub(src: Located, base: tuple, data: Any) -> Located:
    """The part of a file at `base` (a proof in a list) as a file of its own."""
    n = len(base)
    return Located(data, {k[n:]: v for k, v in src.positions.items() if k[:n] == base},
                   {k[n:]: v for k, v in src.key_positions.items() if k[:n] == base}, src.text)


_NORMAL: dict[tuple, str] = {}  # per worker process: students share most lines


def assume_key(assume: Optional[Assume], names: set[str]) -> tuple:
    """Assumptions by meaning: the relations as read, the expressions printed from their trees."""
    if assume is None:
        return (), ()
    return (tuple(sorted({relation(t) for t in assume.sizes}, key=str)),
            tuple(sorted({_normal_text(t, names) for t in assume.invertible})))


def _normal_text(text: str, names: frozenset[str] | set[str]) -> str:
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
    except (ProveError, RecursionError):
        out = text
    if len(_NORMAL) > 50_000:
        _NORMAL.clear()
    _NORMAL[key] = out
    return out


def prescan(text: str) -> str:
    """A fast first pass with libyaml's C parser (when present): refuse anchors and aliases,
    deep nesting and over-long proofs before the (slower, position-keeping) pure-Python load.
    Returns the reason to refuse, or ''. Anything else is left to `source.load_yaml`."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return ""
    stack: list[list] = []  # [kind, expecting a key?, last key, items, is a proof list]

    def at(ev) -> str:
        return f"{ev.start_mark.line + 1}:{ev.start_mark.column + 1}: "

    def value(ev) -> bool:
        """Account for a value in its parent; True if it is the value of a `proof:` key."""
        if not stack:
            return False
        top = stack[-1]
        if top[0] == "map":
            if top[1]:
                top[1], top[2] = False, getattr(ev, "value", None)
                return False
            top[1] = True
            return top[2] == "proof" and len(stack) <= 2
        top[3] += 1
        return False

    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, yaml.AliasEvent):
                return at(ev) + "YAML aliases (*name) are not allowed here"
            if getattr(ev, "anchor", None):
                return at(ev) + "YAML anchors (&name) are not allowed here"
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                is_proof = value(ev)
                stack.append(["map" if isinstance(ev, yaml.MappingStartEvent) else "seq",
                              True, None, 0, is_proof, ev])
                if len(stack) > 40:
                    # no position: libyaml builds differ on where they notice (some stop at
                    # their own depth limit), and a report must not depend on the build
                    return "the YAML nests too deeply"
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                top = stack.pop()
                if top[4] and top[3] > Limits.max_steps:
                    return (at(top[5]) + f"the proof has {top[3]} steps; the limit is "
                            f"{Limits.max_steps}")
            elif isinstance(ev, yaml.ScalarEvent):
                value(ev)
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):
            return "the YAML nests too deeply"
        return ""  # the real loader reports it, with its own words
    except RecursionError:
        return "the YAML nests too deeply"
    return ""


def read_path(path: str) -> LoadedFile:
    """Read (within the limits) and parse one submitted file, in a worker."""
    raw, err = _read_bytes(Path(path))
    return LoadedFile(err) if err else read_submission(raw)


def read_submission(raw: bytes) -> LoadedFile:
    """Decode and parse one submitted file. Never raises for bad input."""
    if b"\0" in raw:
        return LoadedFile("this is a binary file, not YAML text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return LoadedFile(f"the file is not UTF-8 text (byte {exc.start})")
    refused = prescan(text)
    if refused:
        return LoadedFile(refused)
    try:
        src = load_yaml(text)
    except SourceError as exc:
        return LoadedFile(f"{exc.line}:{exc.col}: {exc.message}" if exc.line else exc.message)
    data = src.data
    if isinstance(data, dict) and "rules" in data and "theorem" not in data:
        ids = [r.get("id") for r in data["rules"] if isinstance(r, dict)] \
            if isinstance(data["rules"], list) else []
        return LoadedFile("this is a rule file: students cannot add rules (rules come only from "
                          "the installed rule base)", rules=[str(x) for x in ids if x])
    if isinstance(data, list):
        if not data:
            return LoadedFile("the file holds an empty list (expected proofs)")
        items = [(i, item, (i,)) for i, item in enumerate(data[:200])]
    elif isinstance(data, dict):
        items = [(None, data, ())]
    else:
        return LoadedFile("expected a proof (a YAML mapping with theorem:, variables:, claim:, "
                          "proof:) or a list of proofs")
    return LoadedFile(proofs=[_read_proof(item, _sub(src, base, item), idx)
                              for idx, item, base in items])


def _read_proof(data: Any, src: Located, index: Optional[int]) -> LoadedProof:
    theorem = data.get("theorem") if isinstance(data, dict) else None
    theorem = theorem if isinstance(theorem, str) else None
    where = f"proof {index + 1} of the list: " if index is not None else ""
    try:
        pf = parse_proof(data, src)
    except SourceError as exc:
        pos = f"{exc.line}:{exc.col}: " if exc.line else ""
        return LoadedProof(theorem, index, error=f"{pos}{where}{exc.message}")
    names = frozenset(pf.variables)
    kind, canon = canonical_claim(pf.claim, set(names))
    steps, lines, cites = [], [], []
    for i, item in enumerate(pf.proof):
        key = "derivative" if isinstance(item, DerivativeStep) else "expr"
        by = item.by if isinstance(item.by, list) else ([item.by] if item.by else [])
        steps.append({key: _normal_text(getattr(item, key), names), "by": list(by)})
        lines.append(src.pos(("proof", i))[0])
        cites.extend((i, b) for b in by)
    dump = {"theorem": pf.theorem, "layout": pf.layout,
            "variables": {n: v.model_dump() for n, v in pf.variables.items()},
            "claim": pf.claim.model_dump(exclude_none=True), "proof": steps}
    try:
        claim_shown = claim_text(to_kernel(pf, Located(None)).claim)
    except Exception:  # noqa: BLE001 - display only
        claim_shown = ""
    return LoadedProof(pf.theorem, index, "", kind, canon, claim_shown, pf.layout,
                       {n: _var_key(v) for n, v in pf.variables.items()}, dump, lines, cites,
                       assume_key(pf.assume, set(names)),
                       sorted(claim_names(pf.claim, set(names), pf.assume)))


# -- 4. checking a proof (in a worker) ------------------------------------------------------------
@dataclass
class StepView:
    index: int
    expr: str
    by: list
    status: str
    message: str = ""
    counterexample: str = ""
    help: str = ""
    suggestion: list = field(default_factory=list)
    derivative: bool = False


@dataclass
class CheckRecord:
    status: str  # kernel: valid | invalid | error; or "timeout" / "crash" from the pool
    message: str = ""
    steps: list = field(default_factory=list)
    milestone: str = ""  # "", "differential" or "trace_form": how far the valid prefix got
    prefix: int = 0  # number of items (start included) before the first non-valid one
    unreadable: list = field(default_factory=list)  # steps that do not parse or shape-check
    slip: str = ""  # "layout": the answer is the transpose of the right one (nothing else wrong)
    claim_note: str = ""  # the student's own `equals:` could not be used (see check_submission)


def _milestone(e, wrt: str) -> str:
    """'trace_form' for tr(G dX) (G free of d), 'differential' when every d( ) applies to the
    variable itself, else ''."""
    dx = d(Sym(wrt))
    if isinstance(e, Func) and e.name == "tr":
        arg = e.arg.arg if isinstance(e.arg, Neg) else e.arg
        g = Ident() if arg == dx else (mul(*arg.args[:-1]) if isinstance(arg, Mul)
                                        and arg.args[-1] == dx else None)
        if g is not None and not any(isinstance(n, Func) and n.name == "d" for n in g.walk()):
            return "trace_form"
    ds = [n for n in e.walk() if isinstance(n, Func) and n.name == "d"]
    if ds and all(n.arg == Sym(wrt) for n in ds):
        return "differential"
    return ""


_RANK = {"": 0, "differential": 1, "trace_form": 2}


def _unreadable(sin, names: set, env) -> bool:
    """Whether a step's line does not parse or shape-check on its own (a slip of that line
    only: SPEC §7). Limits (huge exponents, deep nesting) are not slips: they stay errors."""
    try:
        shape_of(parse(sin.text, names), env)
    except ProveError as exc:
        return exc.diag.code in ("parse-error", "shape-error", "undeclared")
    except RecursionError:
        return False
    return False


def _transposed(dump: dict, own_equals: bool) -> dict:
    """The proof with its answer (the last `derivative:` step, and the claim's `equals:` when
    the student supplied it) transposed: the check that names a layout slip."""
    steps = list(dump["proof"])
    last = dict(steps[-1])
    last["derivative"] = f"({last['derivative']})^T"
    claim = dict(dump["claim"])
    if claim.get("equals") and own_equals:
        claim["equals"] = f"({claim['equals']})^T"
    return {**dump, "claim": claim, "proof": steps[:-1] + [last]}


def _too_many_rules(steps: list, limit: Optional[int]) -> dict[int, str]:
    """Steps (by index) citing more distinct rules than `max_rules_per_step`, with the message.
    `by` is already resolved to rule ids (`_payload`), so an alias and its id count once;
    `algebra`, `theorem-4`, `index` and a lemma each count as one rule."""
    out: dict[int, str] = {}
    if limit is None:
        return out
    for i, st in enumerate(steps):
        ids = list(dict.fromkeys(st.get("by") or []))
        if len(ids) > limit:
            out[i] = (f"cites {len(ids)} distinct rules ({', '.join(ids)}); this problem allows "
                      f"at most {limit} per step (max_rules_per_step: {limit}): split it into "
                      "smaller steps")
    return out


def check_submission(payload: dict) -> CheckRecord:
    """Check one normalised proof (with the student's lemmas, if allowed) in this process.

    Beyond the kernel's verdict, for fair scoring (SPEC §7): which steps do not parse or
    shape-check (`unreadable`: the kernel goes on from the last good line), and whether a wrong
    answer is a layout slip (its transpose checks), named the same way whatever the shapes. A
    student-supplied `equals:` of the transposed shape would stop the kernel at the claim (a
    rectangular X); it is then dropped from the claim so that the steps are still checked, and
    the proof cannot be valid (`claim_note`)."""
    _, book = load_rulebook()
    dump = payload["proof"]
    pf = ProofFile.model_validate(dump)
    pin = to_kernel(pf, Located(None))
    resolver = _resolver(payload, book, [normalize(pf.theorem)])
    result = check_proof(pin, book, resolver)
    claim_note = ""
    is_deriv = "wrt" in pin.claim
    if result.status == "error" and not result.steps and is_deriv and dump["claim"].get("equals") \
            and payload.get("own_equals"):
        claim_note = result.message
        dump = {**dump, "claim": {k: v for k, v in dump["claim"].items() if k != "equals"}}
        pf = ProofFile.model_validate(dump)
        pin = to_kernel(pf, Located(None))
        result = check_proof(pin, book, _resolver(payload, book, [normalize(pf.theorem)]))
    steps = [StepView(s.index, s.expr, list(s.by), s.status, s.message,
                      counterexample_line(s.counterexample) if s.counterexample is not None else "",
                      s.help, list(s.suggestion), pin.steps[s.index].derivative
                      if s.index < len(pin.steps) else False) for s in result.steps]
    names, env = set(pin.variables), pin.variables
    # max_rules_per_step: a step the kernel accepts but that cites too many rules is invalid
    # (the checked part ends there: the milestones reached before it still count)
    over = _too_many_rules(dump["proof"], payload.get("max_rules_per_step"))
    for j, v in enumerate(steps):
        if v.index in over and v.status == "valid":
            steps[j] = dataclasses.replace(v, status="invalid", message=over[v.index])
        else:
            over.pop(v.index, None)
    unreadable = [s.index for s, sin in zip(result.steps, pin.steps)
                  if s.status == "error" and _unreadable(sin, names, env)]
    slip = ""
    last = result.steps[-1] if result.steps else None
    if is_deriv and last is not None and last.status != "valid" and pin.steps[last.index].derivative \
            and last.index not in unreadable:
        try:
            tdump = _transposed(dump, bool(payload.get("own_equals")))
            tpin = to_kernel(ProofFile.model_validate(tdump), Located(None))
            tres = check_proof(tpin, book, _resolver(payload, book, [normalize(pf.theorem)]))
            if tres.steps and len(tres.steps) == len(result.steps) \
                    and tres.steps[-1].status == "valid":
                slip = "layout"
                layout = pin.claim.get("layout", "numerator")
                other = "denominator" if layout == "numerator" else "numerator"
                v = steps[-1]
                steps[-1] = dataclasses.replace(
                    v, status="invalid", counterexample="", help="",
                    message=f"layout slip: {v.expr} is the transpose of ∂f/∂{pin.claim['wrt']} in "
                    f"{layout} layout ({v.expr} is the {other}-layout answer)")
        except Exception:  # noqa: BLE001 - naming the slip is a courtesy; the verdict stands
            slip = ""
    # the checked part: from the start up to the first step that is wrong. An unreadable line is
    # skipped (an error of that line only), and so is the step right after it when it is merely
    # unjustified (checked from the last good line, its rule cannot produce it).
    best, prefix = "", 0
    wrt = pin.claim.get("wrt")
    after_bad = False
    for s, sin in zip(result.steps, pin.steps):
        if s.index in unreadable:
            after_bad = True
            prefix += 1
            continue
        if s.index in over or (s.status != "valid"
                               and not (after_bad and s.status == "unjustified")):
            break
        after_bad = False
        prefix += 1
        if s.status != "valid":
            continue
        if wrt and s.index > 0 and not sin.derivative:  # a milestone is reached by a step
            try:
                m = _milestone(parse(sin.text, names), wrt)
            except (ProveError, RecursionError):
                m = ""
            best = m if _RANK[m] > _RANK[best] else best
    if not unreadable:  # unchanged meaning: items before the first non-valid one
        prefix = next((i for i, s in enumerate(result.steps)
                       if s.status != "valid" or s.index in over), len(result.steps))
    status = result.status if not claim_note or result.status == "error" else "invalid"
    if over and status == "valid":
        status = "invalid"
    return CheckRecord(status, result.message, steps, best, prefix, unreadable, slip,
                       claim_note)


def _resolver(payload: dict, book, active: list[str]):
    """Lemmas: the student's own other proofs (sent along, already gated) and the instructor's
    library; a lemma is used only if it checks. Cycles are refused."""
    lemmas: dict[str, dict] = payload.get("lemmas") or {}
    lib = Library(book, [Path(x) for x in payload.get("lib") or []]) if payload.get("lib") else None
    done: dict[str, tuple] = {}

    def resolve(name: str):
        key = normalize(name)
        if key in lemmas:
            if key in active:
                return None, "lemma cycle: " + " → ".join(active + [key])
            if key not in done:
                active.append(key)
                try:
                    lpf = ProofFile.model_validate(lemmas[key])
                    res = check_proof(to_kernel(lpf, Located(None)), book, resolve)
                    over = _too_many_rules(lemmas[key].get("proof") or [],
                                           payload.get("max_rules_per_step"))
                    if res.status != "valid":
                        bad = next((f"step {s.index}: {s.message}" for s in res.steps
                                    if s.status != "valid"), res.message or res.status)
                        done[key] = (None, f"lemma {name!r} does not check: {bad}")
                    elif over:
                        i = min(over)
                        done[key] = (None, f"lemma {name!r} step {i} {over[i]}")
                    else:
                        done[key] = (lemma_rule(lpf), "")
                finally:
                    active.pop()
            return done[key]
        if lib is not None and lib.lib:
            return lib.resolver(lib.lib[0] / "_")(name)
        return None, ""

    return resolve


# -- the worker pool: isolation and time limits ---------------------------------------------------
def _limit_memory() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY \
            else min(hard, WORKER_MEMORY_BYTES)
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


_TASKS: dict[str, Callable[[Any], Any]] = {"read": read_path, "check": check_submission}


def _run_one(kind: str, arg: Any) -> tuple[str, Any]:
    try:
        return "ok", _TASKS[kind](arg)
    except MemoryError:
        return "error", f"ran out of memory (the limit is {WORKER_MEMORY_BYTES // 2**20} MB)"
    except RecursionError:
        return "error", "nests too deeply to process"
    except Exception as exc:  # noqa: BLE001 - reported for this item only
        return "error", f"internal error: {type(exc).__name__}: {exc}"


def _worker(conn) -> None:
    """A worker process: run batches of tasks until told to stop. Each item's exception is
    caught and reported for that item alone."""
    _limit_memory()
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    except (ValueError, OSError):
        pass
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        tid, kind, args = msg
        out = [_run_one(kind, a) for a in args]
        try:
            conn.send((tid, out))
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send((tid, [("error", f"internal error: the result could not be sent ({exc})")]
                       * len(args)))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.task: Optional[list[int]] = None
        self.deadline = 0.0

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:  # noqa: BLE001
            pass
        self.proc.join(5)
        self.conn.close()


@dataclass
class TaskFailure:
    """A task that did not finish: over its time limit, or its worker died."""

    reason: str


class Pool:
    """N worker processes; every batch of tasks has a deadline. A worker that overruns or dies is
    killed and replaced; the items of its batch are retried one by one, so that in the end only
    the item at fault fails."""

    def __init__(self, jobs: int):
        methods = mp.get_all_start_methods()
        self.ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.jobs = max(1, jobs)
        self.workers: list[_Worker] = []

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except Exception:  # noqa: BLE001
                pass
        for w in self.workers:
            w.proc.join(2)
            if w.proc.is_alive():
                w.kill()
        self.workers = []

    def map(self, kind: str, items: list, timeout: float,
            done: Optional[Callable[[], None]] = None, chunk: int = 1) -> list:
        """Run `_TASKS[kind]` on every item, `chunk` items to a message (a batch's deadline is
        `timeout`, the limit for one item: a batch of fast items that overruns it is retried
        item by item)."""
        results: list = [None] * len(items)
        queue = deque(list(range(i, min(i + chunk, len(items))))
                      for i in range(0, len(items), max(1, chunk)))
        while len(self.workers) < min(self.jobs, len(queue)):
            self.workers.append(_Worker(self.ctx))
        busy: list[_Worker] = []
        serial = 0

        def finish(i: int, value: Any) -> None:
            results[i] = value
            if done:
                done()

        def fail(w: _Worker, reason: str) -> None:
            batch = w.task or []
            if len(batch) > 1:  # find the item at fault: retry each alone
                queue.extendleft([i] for i in reversed(batch))
            else:
                for i in batch:
                    finish(i, TaskFailure(reason))
            w.kill()
            self.workers[self.workers.index(w)] = _Worker(self.ctx)

        while queue or busy:
            for w in self.workers:
                if w.task is None and queue:
                    batch = queue.popleft()
                    serial += 1
                    try:
                        w.conn.send((serial, kind, [items[i] for i in batch]))
                    except Exception as exc:  # noqa: BLE001
                        for i in batch:
                            finish(i, TaskFailure(f"internal error: could not start ({exc})"))
                        continue
                    w.task, w.deadline = batch, time.monotonic() + timeout
                    busy.append(w)
            if not busy:
                continue
            wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            mp_wait([h for w in busy for h in (w.conn, w.proc.sentinel)], timeout=wait_for + 0.01)
            for w in list(busy):
                got = None
                try:
                    if w.conn.poll():
                        _, got = w.conn.recv()
                except (EOFError, OSError):
                    got = None
                if got is not None:
                    for i, (status, value) in zip(w.task or [], got):
                        finish(i, value if status == "ok" else TaskFailure(value))
                    w.task = None
                elif not w.proc.is_alive():
                    code = w.proc.exitcode
                    fail(w, "the worker checking it died" + (f" (signal {-code})" if code and
                                                             code < 0 else "")
                         + ", probably out of memory")
                elif time.monotonic() >= w.deadline:
                    fail(w, f"over the time limit ({timeout:g} s)")
                else:
                    continue
                busy.remove(w)
        return results


# -- 3. students, matching and gating (parent) ----------------------------------------------------
@dataclass
class SubmittedFile:
    rel: str  # shown to people: student/q1.yaml
    stem: str
    error: str = ""
    digest: str = ""
    path: str = ""  # where to read it (a worker reads it again: the parent keeps only the hash)


@dataclass
class Student:
    name: str
    files: list[SubmittedFile] = field(default_factory=list)
    single: bool = False  # one YAML file holding the student's proofs
    notes: list[str] = field(default_factory=list)
    entry: str = ""  # the submission as shown: maya/ or maya.yaml
    error: str = ""  # the whole submission cannot be graded (two entries map to this student)


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """At most MAX_FILE_BYTES of a regular file; never follows a symlink or opens a device."""
    try:
        st = path.lstat()
    except OSError as exc:
        return b"", f"cannot read the file: {exc.strerror or exc}"
    if stat.S_ISLNK(st.st_mode):
        return b"", "a symbolic link: not followed"
    if not stat.S_ISREG(st.st_mode):
        return b"", "not a regular file"
    if st.st_size > MAX_FILE_BYTES:
        return b"", (f"the file is {st.st_size:,} bytes; the limit for a submitted file is "
                     f"{MAX_FILE_BYTES:,}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return b"", f"cannot read the file: {exc.strerror or exc}"
    if len(raw) > MAX_FILE_BYTES:
        return b"", f"the file is over the limit for a submitted file ({MAX_FILE_BYTES:,} bytes)"
    return raw, ""


def _yaml_files(folder: Path, notes: list[str], shown: str) -> list[Path]:
    out: list[Path] = []
    skipped = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        depth = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d_ for d_ in dirs if not d_.startswith(".")) if depth < MAX_FOLDER_DEPTH \
            else []
        for f in sorted(files):
            if f.startswith(".") or not f.lower().endswith((".yaml", ".yml")):
                continue
            if len(out) >= MAX_FILES_PER_STUDENT:
                skipped += 1
                continue
            out.append(Path(root) / f)
    if skipped:
        notes.append(f"{skipped} more YAML file(s) under {shown} were not read (the limit is "
                     f"{MAX_FILES_PER_STUDENT} per student)")
    return out


def discover(submissions: Path, single: bool = False) -> list[Student]:
    """One Student per entry of the folder (a folder of proof files, or one YAML file), or the
    whole path as one student with `single` (Gradescope's /autograder/submission)."""
    def one(name: str, path: Path) -> Student:
        # names are shown, never used as paths: invalid UTF-8 replaced, control characters escaped
        name = visible(name)
        st = Student(name, entry=visible(path.name) + ("/" if path.is_dir() else ""))
        try:
            is_link = path.is_symlink()
        except OSError:
            is_link = True
        if is_link:
            st.notes.append("the submission is a symbolic link: not followed")
            return st
        if path.is_dir():
            for f in _yaml_files(path, st.notes, name):
                rel = visible(f.relative_to(path).as_posix())
                raw, err = _read_bytes(f)
                digest = hashlib.sha256(raw).hexdigest() if not err else ""
                st.files.append(SubmittedFile(f"{name}/{rel}", visible(f.stem), err, digest,
                                              str(f)))
            if not st.files:
                st.notes.append("no YAML files (*.yaml, *.yml) in the submission")
        else:
            st.single = True
            raw, err = _read_bytes(path)
            digest = hashlib.sha256(raw).hexdigest() if not err else ""
            st.files.append(SubmittedFile(visible(path.name), visible(path.stem), err, digest,
                                          str(path)))
        return st

    if single or submissions.is_file():
        return [one(submissions.stem if submissions.is_file() else submissions.name, submissions)]
    students = []
    for entry in sorted(submissions.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and not entry.is_symlink() and \
                not entry.name.lower().endswith((".yaml", ".yml")):
            continue  # a README or a roster beside the submissions
        name = entry.stem if (entry.is_file() and not entry.is_symlink()) else entry.name
        students.append(one(name, entry))
    return _one_entry_per_student(students)


def _one_entry_per_student(students: list[Student]) -> list[Student]:
    """Two entries that map to one student (maya/ beside maya.yaml; `a b` beside `a_b`, whose
    output files would be one; names that differ only in bytes that are not UTF-8, or only in
    case) are one student whose submission is an error naming both: never two rows under one
    name, nor one results file written over another."""
    groups: dict[str, list[Student]] = {}
    for st in students:
        groups.setdefault(safe_name(st.name).casefold(), []).append(st)
    out = []
    for st in students:
        group = groups[safe_name(st.name).casefold()]
        if len(group) == 1:
            out.append(st)
        elif st is group[0]:
            both = " and ".join(g.entry or g.name for g in group)
            out.append(Student(st.name, entry=st.entry, error=(
                f"{len(group)} submissions map to the student {st.name}: {both}; "
                "submit one (rename or remove the others)")))
    return out


@dataclass
class Outcome:
    """A problem's grade before scoring: final (missing/rejected/error) or a proof to check."""

    status: str  # missing | rejected | error | check
    reason: str = ""
    file: str = ""
    key: str = ""
    lines: list = field(default_factory=list)
    claim_shown: str = ""
    warnings: list = field(default_factory=list)  # shown in the feedback; they change no score


def _decl_reasons(assigned: dict[str, VarKey], got: dict[str, VarKey], p: Optional[Problem] = None,
                  used: Optional[set] = None, warnings: Optional[list] = None) -> list[str]:
    """Differences in the declarations that change the claim (each a reason to reject).

    Compared by meaning (SPEC §7): in a derivative claim every variable other than `wrt` is held
    constant anyway, so `constant` on such a variable is normalised (a note, not a reason); a
    variable that one side declares and the other does not, and that the claim does not use, is a
    warning. `used` holds the names the student's claim uses; `warnings` collects the notes. The
    proof is checked with the assignment's declarations in any case (`_payload`)."""
    out = []
    warnings = warnings if warnings is not None else []
    wrt = p.claim.get("wrt") if p is not None and p.kind == "derivative" else None
    unused = (lambda n: n not in used) if used is not None else (lambda n: False)  # noqa: E731
    for n, k in assigned.items():
        if n not in got:
            if unused(n) and p is not None and n not in p.claim_names:
                warnings.append(f"{n} is not declared; the assignment declares {n}: "
                                f"{_shape_text(k)}, which the claim does not use (ignored)")
                continue
            out.append(f"{n} is not declared (the assignment declares {n}: {_shape_text(k)})")
    for n in got:
        if n not in assigned:
            if unused(n):
                warnings.append(f"{n} is declared, but the assignment has no variable {n} and the "
                                "claim does not use it (ignored: the proof is checked with the "
                                "assignment's declarations)")
                continue
            out.append(f"{n} is declared, but the assignment has no variable {n}")
    for n, k in assigned.items():
        g = got.get(n)
        if g is None:
            continue
        if (g[0], g[1]) != (k[0], k[1]):
            out.append(f"{n} is declared {_shape_text(g)}; the assignment has {_shape_text(k)}")
        for j, flag in ((2, "constant"), (3, "symmetric"), (4, "invertible")):
            if g[j] != k[j]:
                if flag == "constant" and wrt is not None and n != wrt:
                    warnings.append(f"{n} is declared constant: {str(g[j]).lower()}; the "
                                    f"assignment has constant: {str(k[j]).lower()} (this changes "
                                    f"nothing: in ∂f/∂{wrt} every other variable is held "
                                    "constant)")
                    continue
                out.append(f"{n} is declared {flag}: {str(g[j]).lower()}; the assignment has "
                           f"{flag}: {str(k[j]).lower()}")
    return out


def _claim_reasons(p: Problem, lp: LoadedProof) -> list[str]:
    bad = [f"the claim's {k} does not parse: {v[1:]}" for k, v in lp.canonical.items()
           if isinstance(v, str) and v.startswith("!")]
    if bad:
        return bad
    if lp.kind != p.kind:
        return [f"the claim is {'a derivative' if lp.kind == 'derivative' else 'an identity'}; "
                f"the assignment asks for {p.claim_shown}"]
    diffs = []
    for k, v in p.canonical.items():
        if k == "equals" and v is None:
            continue  # the assignment leaves the answer to the student
        if lp.canonical.get(k) != v:
            diffs.append(k)
    if lp.layout != p.layout:
        diffs.append("layout")
    if lp.assume_key != p.assume_key:
        shown = lambda k: "; ".join([" ".join(map(str, r)) for r in k[0]]  # noqa: E731
                                    + [f"{e} invertible" for e in k[1]]) or "nothing"
        return [f"the proof assumes {shown(lp.assume_key)}; the assignment assumes "
                f"{shown(p.assume_key)}"]
    if diffs:
        return [f"the claim was changed ({', '.join(diffs)}): the assignment asks for "
                f"{p.claim_shown}" + (f" in {p.layout} layout" if "layout" in diffs else "")
                + (f"; this proof claims {lp.claim_shown}" if lp.claim_shown else "")]
    return []


def _resolved(name: str, book) -> str:
    rid = book.resolve(name)
    if rid is not None:
        return rid
    return "index" if normalize(name) == "index" else normalize(name)


class _Gate:
    """Citations of one proof (and, where allowed, of the student's lemmas it uses)."""

    def __init__(self, p: Problem, book, own: dict[str, LoadedProof], lib: set[str],
                 rule_files: dict[str, str]):
        self.p, self.book, self.own, self.lib, self.rule_files = p, book, own, lib, rule_files
        self.used: dict[str, LoadedProof] = {}

    def check(self, lp: LoadedProof, me: str, chain: tuple = ()) -> list[str]:
        p, out = self.p, []
        for i, name in lp.citations:
            at = f"step {i}" + (f" of lemma {chain[-1]}" if chain else "")
            rid = self.book.resolve(name)
            key = normalize(name)
            if rid is not None:
                if p.allowed is not None and rid not in p.allowed:
                    out.append(f"{at} cites {name}" + (f" ({rid})" if rid != name else "")
                               + ", which this problem does not allow (allowed: "
                               + ", ".join(p.allowed_text) + ")")
            elif key == "index":
                if not p.allow_index:
                    out.append(f"{at} cites by: index, which this problem does not allow")
            elif key in self.rule_files:
                out.append(f"{at} cites {name}, a rule of the student's own (in "
                           f"{self.rule_files[key]}): rules come only from the installed rule "
                           "base")
            elif (key in self.own and key != me) or key in self.lib:
                if not p.allow_lemmas:
                    out.append(f"{at} cites the lemma {name}; lemmas are not allowed in this "
                               "problem")
                elif key in self.own and key != me and key not in self.used and key not in chain:
                    self.used[key] = self.own[key]
                    out += self.check(self.own[key], me, chain + (key,))
            else:
                near = closest(self.book, name)
                out.append(f"{at} cites {name}, which is not a rule of the installed rule base"
                           + (" nor a lemma" if p.allow_lemmas else "")
                           + (f" (did you mean {' or '.join(near)}?)" if near else "")
                           + "; students cannot add rules")
        return out


def _payload(p: Problem, lp: LoadedProof, gate: _Gate, lib: list[str], book) -> dict:
    def norm(dump: dict, theorem: str) -> dict:
        steps = [{**s, "by": [_resolved(b, book) for b in s["by"]]} for s in dump["proof"]]
        return {**dump, "theorem": theorem, "proof": steps}

    mine = norm(lp.dump, p.id)
    # The claim and declarations equal the assigned ones (as trees): use the assigned text, so
    # that spacing in them does not make two proofs different.
    claim = {k: v for k, v in p.claim.items() if k != "layout"}
    own_equals = False
    if p.kind == "derivative" and "equals" not in claim and "equals" in lp.dump["claim"]:
        claim["equals"] = _normal_text(lp.dump["claim"]["equals"], set(p.variables))
        own_equals = True
    mine.update(claim=claim, variables=p.decls, layout=p.layout)
    mine.pop("assume", None)
    if p.assume:
        mine["assume"] = p.assume
    out: dict[str, Any] = {"proof": mine}
    if own_equals:
        out["own_equals"] = True  # the student's answer: a wrong shape is a slip, not an error
    if gate.used:
        out["lemmas"] = {k: norm(v.dump, v.dump["theorem"]) for k, v in sorted(gate.used.items())}
    if p.allow_lemmas and lib:
        out["lib"] = list(lib)
    if p.max_rules is not None:  # only when set: without it, digests are as before
        out["max_rules_per_step"] = p.max_rules
    return out


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def gate_student(st: Student, loads: dict[str, Any], a: Assignment, book
                 ) -> tuple[dict[str, Outcome], dict[str, dict]]:
    """Match the student's proofs to problems and gate each one. Returns an Outcome per problem
    and the payloads to check, by key."""
    entries: list[tuple[SubmittedFile, Optional[LoadedProof], str]] = []  # (file, proof, error)
    rule_files: dict[str, str] = {}
    whole_error = ""
    for f in st.files:
        lf = loads.get(f.digest) if not f.error else None
        if f.error:
            entries.append((f, None, f"{f.rel}: {f.error}"))
        elif isinstance(lf, TaskFailure):
            entries.append((f, None, f"{f.rel}: reading it failed: {lf.reason}"))
        elif lf is None:
            entries.append((f, None, f"{f.rel}: internal error: the file was not read"))
        elif lf.error:
            for r in lf.rules:
                rule_files[normalize(r)] = f.rel
            entries.append((f, None, f"{f.rel}:{lf.error}" if lf.error[:1].isdigit()
                            else f"{f.rel}: {lf.error}"))
        else:
            for lp in lf.proofs:
                entries.append((f, lp, (f"{f.rel}:{lp.error}" if lp.error[:1].isdigit() else
                                        f"{f.rel}: {lp.error}") if lp.error else ""))
        if st.single and (f.error or isinstance(lf, TaskFailure) or (lf is not None and lf.error)):
            whole_error = entries[-1][2]

    by_name = {n: p for p in a.problems for n in p.names}
    matched: dict[str, list[tuple[SubmittedFile, Optional[LoadedProof], str, str]]] = {}
    own: dict[str, LoadedProof] = {}
    for f, lp, err in entries:
        th = lp.theorem if lp is not None else None
        if lp is not None and not lp.error and th:
            own.setdefault(normalize(th), lp)
        p = by_name.get(normalize(th)) if th else None
        how = f"theorem: {th}"
        if p is None and (lp is None or lp.index is None) and not st.single:
            p = by_name.get(normalize(f.stem))
            how = f"file name {f.stem}"
        if p is None:
            if not whole_error:
                st.notes.append(f"{f.rel}" + (f" (theorem {th})" if th else "")
                                + " matches no problem"
                                + (f" ({err[len(f.rel) + 1:].lstrip()})" if err else ""))
            continue
        matched.setdefault(p.id, []).append((f, lp, err, how))

    outcomes: dict[str, Outcome] = {}
    payloads: dict[str, dict] = {}
    for p in a.problems:
        cands = matched.get(p.id, [])
        if not cands:
            if whole_error:
                outcomes[p.id] = Outcome("error", whole_error, st.files[0].rel if st.files else "")
            else:
                outcomes[p.id] = Outcome("missing", f"no proof of {p.id} (a file {p.id}.yaml, or "
                                         f"a proof with theorem: {p.id})")
            continue
        if len(cands) > 1:
            outcomes[p.id] = Outcome("error", f"more than one proof of {p.id}: " + "; ".join(
                f"{f.rel}"
                + (f" #{lp.index + 1}" if lp is not None and lp.index is not None else "")
                + f" ({how})" for f, lp, _, how in cands) + "; submit one")
            continue
        f, lp, err, _ = cands[0]
        shown = f.rel + (f" (proof {lp.index + 1})" if lp is not None and lp.index is not None
                         else "")
        if lp is None or err:
            outcomes[p.id] = Outcome("error", err, shown)
            continue
        warnings: list[str] = []
        reasons = _decl_reasons(p.variables, lp.variables, p, set(lp.claim_names), warnings)
        if reasons:
            outcomes[p.id] = Outcome("rejected", "the variable declarations were changed: "
                                     + "; ".join(reasons), shown, claim_shown=lp.claim_shown)
            continue
        reasons = _claim_reasons(p, lp)
        if not reasons:
            gate = _Gate(p, book, own, a.lib_theorems, rule_files)
            reasons = gate.check(lp, normalize(lp.theorem or ""))
        if reasons:
            more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
            outcomes[p.id] = Outcome("rejected", "; ".join(reasons[:3]) + more, shown,
                                     claim_shown=lp.claim_shown)
            continue
        payload = _payload(p, lp, gate, a.lib, book)
        key = _digest(payload)
        payloads[key] = payload
        outcomes[p.id] = Outcome("check", "", shown, key, list(lp.lines), lp.claim_shown,
                                 warnings)
    return outcomes, payloads


# -- 5. scoring -----------------------------------------------------------------------------------
@dataclass
class ProblemGrade:
    id: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    file: str = ""
    claim: str = ""
    steps: list = field(default_factory=list)  # StepView
    lines: list = field(default_factory=list)
    partial: str = ""  # how partial credit was reached
    feedback: str = ""
    warnings: list = field(default_factory=list)  # change no score (e.g. an unused variable)


@dataclass
class StudentGrade:
    student: str
    problems: list[ProblemGrade]
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 2)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.problems), 2)


@dataclass
class Report:
    assignment: Assignment
    students: list[StudentGrade]
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


def _step_line(pg: ProblemGrade, i: int) -> str:
    return f" (line {pg.lines[i]})" if i < len(pg.lines) else ""


def score_problem(p: Problem, oc: Outcome, rec: Any) -> ProblemGrade:
    """The grade of one problem. A proof that is not valid earns the milestones its checked part
    reaches (`PartialCredit`). Two cases are scored by rule, the same whatever the shapes
    (SPEC §7): a line that does not parse or shape-check is an error of that line only — the
    proof earns the milestones it reaches and is `needs_review`, never full points (a person
    decides); and a layout slip (the answer transposed, nothing else wrong) is `invalid` and
    earns `layout_slip` of the points if the assignment sets it, else the milestones reached."""
    pg = ProblemGrade(p.id, 0.0, p.points, oc.status, oc.reason, oc.file,
                      oc.claim_shown or p.claim_shown, lines=oc.lines,
                      warnings=list(oc.warnings))
    if oc.status != "check":
        return _with_feedback(pg, p)
    if isinstance(rec, TaskFailure) or rec is None:
        pg.status = "error"
        pg.reason = f"checking the proof failed: {rec.reason if rec else 'no result'}"
        return _with_feedback(pg, p)
    pg.steps = rec.steps
    unreadable = list(getattr(rec, "unreadable", []) or [])
    if rec.status == "valid":
        pg.status, pg.score = "valid", p.points
        return _with_feedback(pg, p)
    if rec.status == "error":
        pg.status, pg.reason = "error", rec.message or "the proof cannot be checked"
        return _with_feedback(pg, p)
    bad = next((s for s in rec.steps if s.status != "valid" and s.index not in unreadable
                and not (s.index - 1 in unreadable and s.status == "unjustified")), None)
    if unreadable:
        pg.status = "needs_review"
        which = ", ".join(f"step {i}{_step_line(pg, i)}" for i in unreadable)
        first = next(s for s in rec.steps if s.index == unreadable[0])
        pg.reason = (f"{which} could not be read ({first.message}); the rest was checked from "
                     "the last line that could be read: a person should review it")
        if bad is not None:
            pg.reason += f"; step {bad.index}{_step_line(pg, bad.index)}: {bad.message}"
        elif rec.message:
            pg.reason += f"; {rec.message}"
    elif bad is None:
        pg.status = "incomplete"
        pg.reason = rec.message or "the proof does not reach the claim"
    else:
        pg.status = "invalid"
        pg.reason = f"step {bad.index}{_step_line(pg, bad.index)}: {bad.message}"
    pc = p.partial
    slip = getattr(rec, "slip", "") == "layout" and bad is not None \
        and bad.index == rec.steps[-1].index
    claim_note = getattr(rec, "claim_note", "")
    if claim_note and not slip:  # (a slip is named by its step, the same for every shape)
        pg.reason = f"the claim's answer: {claim_note}" + (f"; {pg.reason}" if bad else "")
    if pc.policy == "milestones" and slip and pc.layout_slip is not None:
        frac = pc.layout_slip
        if frac > 0:
            pg.score = round(p.points * frac, 2)
            pg.partial = (f"partial credit: a layout slip (the answer transposed, every other "
                          f"step valid): {frac:.0%} of the points, as the assignment sets")
    elif pc.policy == "milestones" and p.kind == "derivative" and rec.milestone:
        frac = pc.trace_form if rec.milestone == "trace_form" else pc.differential
        if frac > 0:
            pg.score = round(p.points * frac, 2)
            what = ("reaches tr(G dX)" if rec.milestone == "trace_form"
                    else "fully expands the differential")
            upto = f"steps 0–{rec.prefix - 1}" if rec.prefix > 1 else "the start"
            skipped = (", without the line" + "s" * (len(unreadable) > 1) + " that could not "
                       "be read") if unreadable else ""
            pg.partial = (f"partial credit: the checked part of the proof ({upto}{skipped}) "
                          f"{what}: {frac:.0%} of the points")
    if pg.status == "needs_review":
        pg.partial = (pg.partial + "; " if pg.partial else "") + (
            "not full points while a line cannot be read: a person should review it")
    return _with_feedback(pg, p)


MARK = {"valid": "✓", "invalid": "✗", "unjustified": "?", "error": "!"}


def num(x: float) -> Union[int, float]:
    return int(x) if float(x).is_integer() else round(x, 2)


def _with_feedback(pg: ProblemGrade, p: Problem) -> ProblemGrade:
    _neutralise(pg)
    pg.feedback = feedback_text(pg, p)
    return pg


def _neutralise(pg: ProblemGrade) -> None:
    """Every text of a grade that holds student text (file names, theorem names, citations,
    expressions, messages quoting them) as one printable line: see grade_safe.visible. Step views
    may be shared by students with the same proof, so they are copied, not changed."""
    pg.reason, pg.file, pg.claim, pg.partial = (visible(t) for t in
                                                (pg.reason, pg.file, pg.claim, pg.partial))
    pg.warnings = [visible(w) for w in pg.warnings]
    pg.steps = [dataclasses.replace(
        s, expr=visible(s.expr), by=[visible(b) for b in s.by] if s.by else s.by,
        message=visible(s.message), counterexample=visible(s.counterexample),
        help=visible(s.help),
        suggestion=[visible(x) for x in s.suggestion] if s.suggestion else s.suggestion)
        for s in pg.steps]


def feedback_text(pg: ProblemGrade, p: Problem) -> str:
    out = [f"{pg.id}: {p.claim_shown} — {pg.status}, {num(pg.score)}/{num(pg.max_score)}"]
    if pg.file:
        out.append(f"file: {pg.file}")
    if pg.reason:
        out.append(f"reason: {pg.reason}")
    if pg.steps:
        width = min(max(len(s.expr) for s in pg.steps), 48)
        cites = [", ".join(s.by) if s.by else ("start" if s.index == 0 else "") for s in pg.steps]
        bywidth = min(max(len(c) for c in cites), 44)
        for s, by in zip(pg.steps, cites):
            expr = s.expr if len(s.expr) <= width else s.expr[: width - 1] + "…"
            line = f"line {pg.lines[s.index]}" if s.index < len(pg.lines) else ""
            out.append(f"  {s.index:>3}  {line:<9} {expr:<{width}}  {by:<{bywidth}}  "
                       f"{MARK.get(s.status, '?')} {s.status}")
            if s.status != "valid":
                out.append(f"         {s.message}")
                if s.counterexample:
                    out.append(f"         {s.counterexample}")
                if s.suggestion:
                    out.append(f"         hint: cite {', '.join(s.suggestion)}")
                if s.help:
                    out.append(f"         hint: {s.help}")
    if pg.partial:
        out.append(pg.partial)
    out += [f"warning: {w}" for w in pg.warnings]
    return "\n".join(out)


# -- the run --------------------------------------------------------------------------------------
def grade(submissions: Path | str, assignment: Assignment, jobs: int = 1,
          timeout: float = DEFAULT_TIMEOUT, single: bool = False,
          progress: Optional[Callable[[str, int], Any]] = None) -> Report:
    """Grade every student under `submissions`. `progress(label, total)` may return a callback
    to call once per finished task (for a progress bar)."""
    t0 = time.perf_counter()
    _, book = load_rulebook()
    students = discover(Path(submissions), single)
    unique: dict[str, str] = {}  # content hash -> a path holding that content
    for st in students:
        for f in st.files:
            if not f.error and f.digest not in unique:
                unique[f.digest] = f.path
    digests = list(unique)
    stats = {"students": len(students), "files": sum(len(s.files) for s in students),
             "distinct_files": len(digests)}
    with Pool(jobs) as pool:
        tick = progress("reading", len(digests)) if progress else None
        chunk = max(1, min(16, len(digests) // (4 * jobs)))
        read = pool.map("read", [unique[k] for k in digests], timeout, tick, chunk=chunk)
        unique.clear()
        loads = dict(zip(digests, read))
        gated = []
        payloads: dict[str, dict] = {}
        for st in students:
            outcomes, pl = gate_student(st, loads, assignment, book)
            payloads.update(pl)
            gated.append(outcomes)
        loads.clear()
        keys = list(payloads)
        tick = progress("checking", len(keys)) if progress else None
        checked = pool.map("check", [payloads[k] for k in keys], timeout, tick)
    records = dict(zip(keys, checked))
    stats["proofs"] = sum(1 for g in gated for oc in g.values() if oc.status == "check")
    stats["distinct_proofs"] = len(keys)
    out = []
    for st, outcomes in zip(students, gated):
        if st.error:  # the submission as a whole cannot be graded: every problem says why
            grades = [_with_feedback(ProblemGrade(p.id, 0.0, p.points, "error", st.error,
                                                  claim=p.claim_shown), p)
                      for p in assignment.problems]
        else:
            grades = [score_problem(p, outcomes[p.id], records.get(outcomes[p.id].key))
                      for p in assignment.problems]
        out.append(StudentGrade(visible(st.name), grades, [visible(n) for n in st.notes]))
    return Report(assignment, out, time.perf_counter() - t0, stats)


# -- writers --------------------------------------------------------------------------------------
def csv_report(r: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "problem", "score", "max_score", "status", "reason"])
    for s in r.students:
        for p in s.problems:
            reason = p.reason + (f" ({p.partial})" if p.partial else "")
            w.writerow([csv_cell(c) for c in (s.student, p.id, num(p.score), num(p.max_score),
                                              p.status, reason)])
        w.writerow([csv_cell(s.student), "total", num(s.score), num(s.max_score), "", ""])
    return buf.getvalue()


def json_data(r: Report) -> dict:
    return {"assignment": r.assignment.name, "students": [
        {"student": s.student, "score": num(s.score), "max_score": num(s.max_score),
         "problems": [{"id": p.id, "score": num(p.score), "max_score": num(p.max_score),
                       "status": p.status, "reason": p.reason, "feedback": p.feedback}
                      for p in s.problems]} for s in r.students]}


def _summary_line(s: StudentGrade) -> str:
    return ", ".join(f"{p.id} {p.status} {num(p.score)}/{num(p.max_score)}" for p in s.problems)


def gradescope_data(r: Report, s: StudentGrade) -> dict:
    """Gradescope's results.json for one submission. Outputs are Markdown (Gradescope's `md`
    format) with every line escaped (grade_safe.md_lines): student text shows as text, never as
    HTML or Markdown; test names are plain text."""
    head = f"{r.assignment.name}: {num(s.score)}/{num(s.max_score)} — {_summary_line(s)}"
    if s.notes:
        head += "\n" + "\n".join(f"note: {n}" for n in s.notes)
    return {"score": num(s.score), "output": md_lines(head), "output_format": "md",
            "test_output_format": "md", "test_name_format": "text", "tests": [
        {"name": visible(f"{p.id}: {p.claim}" if p.claim else p.id), "score": num(p.score),
         "max_score": num(p.max_score), "output": md_lines(p.feedback), "visibility": "visible"}
        for p in s.problems]}


def prairielearn_data(r: Report, s: StudentGrade) -> dict:
    """PrairieLearn's external-grader results for one submission (score in 0..1)."""
    total = s.max_score or 1
    return {"gradable": True, "score": round(s.score / total, 4),
            "message": f"{r.assignment.name}: {num(s.score)}/{num(s.max_score)}",
            "output": "\n".join(f"note: {n}" for n in s.notes),
            "tests": [{"name": p.id, "description": p.claim, "points": num(p.score),
                       "max_points": num(p.max_score), "message": p.reason,
                       "output": p.feedback} for p in s.problems]}


def text_report(r: Report, color: bool = False) -> str:
    import click

    style = (lambda t, c: click.style(t, fg=c)) if color else (lambda t, c: t)  # noqa: E731
    colors = {"valid": "green", "invalid": "red", "incomplete": "yellow", "rejected": "magenta",
              "needs_review": "cyan",
              "missing": "yellow", "error": "red"}
    a = r.assignment
    out = [f"{a.name}" + (f" ({a.title})" if a.title else "") + f": {len(r.students)} "
           f"student{'s' * (len(r.students) != 1)}, {len(a.problems)} problem"
           f"{'s' * (len(a.problems) != 1)}, {num(a.max_score)} points", ""]
    idw = max(len(p.id) for p in a.problems)
    for s in r.students:
        out.append(f"{s.student}  {num(s.score)}/{num(s.max_score)}")
        for p in s.problems:
            sc = f"{num(p.score)}/{num(p.max_score)}"
            reason = p.reason + (f" — {p.partial}" if p.partial else "")
            status = f"{p.status:<10}" if reason else p.status
            out.append(f"  {p.id:<{idw}}  {sc:>9}  " + style(status, colors[p.status])
                       + (f"  {reason}" if reason else ""))
        for n in s.notes:
            out.append(f"  note: {n}")
    out.append("")
    for p in a.problems:
        got = [g for s in r.students for g in s.problems if g.id == p.id]
        counts = {k: sum(1 for g in got if g.status == k) for k in STATUSES}
        mean = sum(g.score for g in got) / len(got) if got else 0
        out.append(f"{p.id}: mean {mean:.2f}/{num(p.points)} — " + ", ".join(
            f"{v} {k}" for k, v in counts.items() if v))
    st = r.stats
    n = st.get("students", 0)
    out.append(f"graded {n} student{'s' * (n != 1)} in {r.seconds:.1f} s: "
               f"{st.get('distinct_files', 0)} distinct files read of {st.get('files', 0)}, "
               f"{st.get('distinct_proofs', 0)} distinct proofs checked of {st.get('proofs', 0)}")
    return "\n".join(out)


def markdown_feedback(r: Report, s: StudentGrade) -> str:
    a = r.assignment
    out = [f"# {a.name} — {md_text(s.student)}: {num(s.score)}/{num(s.max_score)}", ""]
    if a.title:
        out += [a.title, ""]
    for n in s.notes:
        out.append(f"> note: {md_text(n)}")
    if s.notes:
        out.append("")
    probs = {p.id: p for p in a.problems}
    for p in s.problems:
        out += [f"## {p.id}: {num(p.score)}/{num(p.max_score)} — {p.status}", ""]
        out.append(f"Claim: `{probs[p.id].claim_shown}`"
                   + (f" (file {md_code(p.file)})" if p.file else ""))
        out.append("")
        if p.reason:
            out += [f"**Why:** {md_text(p.reason)}", ""]
        if p.steps:
            out += ["| step | line | expression | by | verdict |", "|---:|---:|---|---|---|"]
            for st in p.steps:
                line = str(p.lines[st.index]) if st.index < len(p.lines) else ""
                by = ", ".join(st.by) if st.by else ("start" if st.index == 0 else "")
                out.append(f"| {st.index} | {line} | {md_code(st.expr)} | {md_text(by)} | "
                           f"{MARK.get(st.status, '?')} {st.status} |")
            out.append("")
            for st in p.steps:
                if st.status == "valid":
                    continue
                out.append(f"- **Step {st.index}** ({st.status}): {md_text(st.message)}")
                if st.counterexample:
                    out.append(f"  - {md_text(st.counterexample)}")
                if st.suggestion:
                    out.append(f"  - hint: cite {md_text(', '.join(st.suggestion))}")
                if st.help:
                    out.append(f"  - hint: {md_text(st.help)}")
            out.append("")
        if p.partial:
            out += [p.partial[0].upper() + p.partial[1:] + ".", ""]
        for w in p.warnings:
            out += [f"> warning: {md_text(w)}", ""]
    return "\n".join(out)


def safe_name(name: str) -> str:
    """A file or folder name for a student's output: letters and digits of any script, `.`,
    `_`, `-`; anything else becomes `_`. At most 150 bytes of UTF-8."""
    s = re.sub(r"[^\w.-]+", "_", decoded(name)).strip("._") or "student"
    return s.encode("utf-8")[:150].decode("utf-8", "ignore")
