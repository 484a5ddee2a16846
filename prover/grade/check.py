"""Stage 5 of `prove grade`: what runs in a worker. `grade_submission` does all the work on one
submission — read its files, gate its proofs, check the ones that pass — inside one time budget
(`--timeout`), and returns only what scoring and the class report need: an `Outcome` per
problem, a `CheckRecord` per checked proof, and `ProofFacts` per problem (the proof's digest and
the step to show as an example: the parent never reads a submission again). `check_submission`
checks one normalised proof with the kernel.

Beyond the kernel's verdict, the record says what fair scoring needs (SPEC §7): how far the
valid part of the proof got (milestones), which lines could not be read, and whether a wrong
answer is a layout slip. A worker keeps the files it has read (by the hash of their bytes) and
the records of the proofs it has checked (by digest), a bounded number of each, and the workers
of a run share their records (`shared.py`), so that students with the same file or the same
proof share the work: each distinct proof of a class is checked by the kernel once. Read next: `pool.py`, `score.py`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from ..checking import check_proof, verdicts
from ..citations import normalize
from ..kernel.errors import ProveError
from ..kernel.expr import Func, Ident, Mul, Neg, Sym, d, mul
from ..kernel.parser import parse
from ..kernel.shapes import shape_of
from ..proofs import Library, ProofFile, lemma_or_reason, to_kernel
from ..render import counterexample_line
from ..rulebase import load_rulebook
from ..source import Located
from .assignment import Assignment
from .gate import Outcome, _resolved, gate_student, proof_label
from .read import LoadedFile, LoadedProof, read_submission
from .records import Fault, FileError, ProofFacts, Status, TaskFailure
from .shared import Answers, Store
from .submissions import Student, read_bytes, within_limit


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
    bridged: list = field(default_factory=list)  # unjustified steps after unreadable lines that
    # the rules of those lines and their own produce (`_bridged`): not held against the proof
    over_limit: int = -1  # the first step whose line is over a limit (status "error"), or -1


def first_wrong(rec: CheckRecord) -> Optional[StepView]:
    """The step a proof that is not valid is faulted for (its reason names it): the first that
    is not valid, other than a line that cannot be read and an `unjustified` step right after
    one (checked from the last good line, its rule cannot produce it) that the rules of the
    unreadable line and its own produce together (`CheckRecord.bridged`)."""
    bad = getattr(rec, "unreadable", None) or []
    bridged = getattr(rec, "bridged", None) or []
    return next((s for s in rec.steps if s.status != "valid" and s.index not in bad
                 and not (s.index - 1 in bad and s.status == "unjustified"
                          and s.index in bridged)), None)


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
_MILESTONES: dict[tuple, str] = {}  # per worker: a class repeats its lines


def _milestone_of(text: str, names: frozenset, wrt: str) -> str:
    """`_milestone` of a line as written ('' when it does not parse)."""
    key = (text, names, wrt)
    hit = _MILESTONES.get(key)
    if hit is None:
        try:
            hit = _milestone(parse(text, set(names)), wrt)
        except ProveError:
            hit = ""
        except RecursionError:
            return ""  # not remembered: how deep Python may go depends on the caller
        if len(_MILESTONES) > 20_000:
            _MILESTONES.clear()
        _MILESTONES[key] = hit
    return hit


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


def _over_limit(sin, names: set, env) -> bool:
    """Whether a step's line is over one of the kernel's limits on its own (too long, nested
    too deeply, too many nodes, an exponent too large): SPEC §7 grades that `error`."""
    try:
        shape_of(parse(sin.text, names), env)
    except ProveError as exc:
        return exc.diag.code == "limit"
    except RecursionError:
        return True
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
    if payload.get("no_algebra"):  # algebra not allowed: a step none of whose rules applies is
        over.update({s.index: "this step is algebra alone (none of its cited rules applies), "  # algebra
                     "and this problem does not allow algebra: cite the rule that makes the move"
                     for s in result.steps if s.index > 0 and s.status == "valid" and not s.applications and "index" not in s.by
                     and s.before_tree is not None and s.expr_tree != s.before_tree})
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
            tres = verdicts(tpin, book, _resolver(payload, book, [normalize(pf.theorem)]))
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
    # unjustified (checked from the last good line, its rule cannot produce it) -- provided the
    # rules of the unreadable line(s) and its own, together, do produce it from the last good
    # line (`_bridged`): else a line of garbage would excuse any unjustified jump after it.
    bridged = _bridged(dump, unreadable, payload, book, [normalize(pf.theorem)]) \
        if unreadable else set()
    best, prefix = "", 0
    wrt = pin.claim.get("wrt")
    after_bad = False
    for s, sin in zip(result.steps, pin.steps):
        if s.index in unreadable:
            after_bad = True
            prefix += 1
            continue
        if s.index in over or (s.status != "valid"
                               and not (after_bad and s.status == "unjustified"
                                        and s.index in bridged)):
            break
        after_bad = False
        prefix += 1
        if s.status != "valid":
            continue
        if wrt and s.index > 0 and not sin.derivative:  # a milestone is reached by a step
            m = _milestone_of(sin.text, frozenset(names), wrt)
            best = m if _RANK[m] > _RANK[best] else best
    if not unreadable:  # unchanged meaning: items before the first non-valid one
        prefix = next((i for i, s in enumerate(result.steps)
                       if s.status != "valid" or s.index in over), len(result.steps))
    status = result.status if not claim_note or result.status == "error" else "invalid"
    if over and status == "valid":
        status = "invalid"
    limited = [s for s, sin in zip(result.steps, pin.steps)
               if s.status == "error" and _over_limit(sin, names, env)]
    if limited:  # SPEC §7: over a limit is `error` (no credit), whatever else the proof does
        return CheckRecord("error", limited[0].message, steps, "", 0, unreadable, "", claim_note, [],
                           limited[0].index)
    return CheckRecord(status, result.message, steps, best, prefix, unreadable, slip,
                       claim_note, sorted(bridged))


def _bridged(dump: dict, unreadable: list, payload: dict, book, active: list[str]) -> set:
    """The steps right after unreadable lines that the kernel accepts when checked from the last
    good line (the claim's start, for a bad first line) citing the rules of the unreadable
    line(s) and their own together, within `max_rules_per_step`."""
    steps, bad = dump["proof"], set(unreadable)
    claim = dump["claim"]
    start = claim["lhs"] if "lhs" in claim else f"d(d({claim['hessian']}))" if "hessian" in claim \
        else f"d({claim['derivative']})"
    new: list[dict] = []
    where: dict[int, int] = {}  # index in the repaired proof -> index in the proof
    carry: list = []
    for i, s in enumerate(steps):
        if i in bad:
            if i == 0:
                new.append({"expr": start, "by": []})
            carry += list(s.get("by") or [])
            continue
        if carry:
            s = {**s, "by": list(dict.fromkeys(carry + list(s.get("by") or [])))}
            where[len(new)] = i
        carry = []
        new.append(s)
    if not where:
        return set()
    try:
        pin = to_kernel(ProofFile.model_validate({**dump, "proof": new}), Located(None))
        res = verdicts(pin, book, _resolver(payload, book, active))
    except Exception:  # noqa: BLE001 - nothing is excused that the kernel did not accept
        return set()
    over = _too_many_rules(new, payload.get("max_rules_per_step"))
    return {where[s.index] for s in res.steps
            if s.index in where and s.status == "valid" and s.index not in over}


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
                        done[key] = lemma_or_reason(lpf, name)
                finally:
                    active.pop()
            return done[key]
        if lib is not None and lib.lib:
            return lib.resolver(lib.lib[0] / "_")(name)
        return None, ""

    return resolve



# -- the work on one submission (a worker task) ---------------------------------------------------
@dataclass
class SubmissionResult:
    """What the parent keeps of the work on one submission: enough to score it, no parse."""

    outcomes: dict[str, Outcome]  # by problem id
    records: dict[str, Union[CheckRecord, TaskFailure]]  # by Outcome.key
    notes: list[str]
    digests: list[str]  # a hash per file read ("" if it could not be read)
    checks: int = 0  # proofs the kernel checked for this submission (not found in the cache)
    facts: dict[str, ProofFacts] = field(default_factory=dict)  # by problem id: for the report


_ASSIGNMENT: Optional[Assignment] = None  # set once per worker (`start_worker`)
_SHARED = Store(None)  # the run's records, shared by its workers (`shared.py`)
_CHECKED: "OrderedDict[str, CheckRecord]" = OrderedDict()  # this worker's records, by digest
CHECKED_KEPT = 2048
_READ: "OrderedDict[str, LoadedFile]" = OrderedDict()  # files this worker has read, by hash
READ_KEPT = 256


def start_worker(assignment: Assignment, shared: Optional[str] = None) -> None:
    """A worker's setup: the assignment (sent once, not with every submission), the rule base
    (loaded once) and the run's folder of shared records (`shared.py`), if any."""
    global _ASSIGNMENT, _SHARED
    _ASSIGNMENT = assignment
    _SHARED = Store(shared)
    _, book = load_rulebook()
    if shared:  # the explainer's costliest answers are shared too (text, never a verdict)
        from .. import explain

        explain.SHARED, explain._BOOK = Answers(_SHARED), id(book)
    elif "prover.explain" in sys.modules:
        sys.modules["prover.explain"].SHARED = None


def failure_of(exc: BaseException) -> TaskFailure:
    """An exception from the work on one file or proof, as the reason it failed."""
    if isinstance(exc, MemoryError):
        return TaskFailure("ran out of memory (over the worker's memory limit)", Fault.LIMIT)
    if isinstance(exc, RecursionError):
        return TaskFailure("nests too deeply to process", Fault.LIMIT)
    return TaskFailure(f"internal error: {type(exc).__name__}: {exc}", Fault.INTERNAL)


def grade_submission(st: Student, assignment: Optional[Assignment] = None) -> SubmissionResult:
    """Read, gate and check one submission (in a worker, within its time budget). An exception
    in one file or one proof is that file's or proof's error alone."""
    a = assignment or _ASSIGNMENT
    if a is None:
        raise RuntimeError("the worker was started without an assignment")
    _, book = load_rulebook()
    loads: list[LoadedFile] = []
    digests: list[str] = []
    for f in st.files:
        raw, err = read_bytes(Path(f.path)) if f.data is None else within_limit(f.data)
        digest = "" if err else hashlib.sha256(raw).hexdigest()
        if err:
            lf = LoadedFile(err)
        elif digest in _READ:  # a byte-identical file, read before by this worker
            lf = _READ[digest]
            _READ.move_to_end(digest)
        else:
            try:
                lf = read_submission(raw)
            except Exception as exc:  # noqa: BLE001 - reported for this file only
                why = failure_of(exc)
                lf = LoadedFile(FileError(f"reading it failed: {why.reason}", why.kind))
            _READ[digest] = lf
            if len(_READ) > READ_KEPT:
                _READ.popitem(last=False)
        loads.append(lf)
        digests.append(digest)
        del raw
    outcomes, payloads = gate_student(st, loads, a, book)
    graded = _graded_proofs(st, loads, outcomes, a, book)  # what the report needs of them
    del loads  # the parses are not needed past the gate
    records: dict[str, Union[CheckRecord, TaskFailure]] = {}
    checks = 0
    for key, payload in payloads.items():
        hit = _CHECKED.get(key)
        if hit is not None:
            _CHECKED.move_to_end(key)
            records[key] = hit
            continue
        rec = _SHARED.get(key)  # checked by another worker of this run
        if rec is None:
            try:
                rec = check_submission(payload)
            except Exception as exc:  # noqa: BLE001 - reported for this proof only
                records[key] = failure_of(exc)
                continue
            checks += 1
            _SHARED.put(key, rec)
        records[key] = _CHECKED[key] = rec
        if len(_CHECKED) > CHECKED_KEPT:
            _CHECKED.popitem(last=False)
    facts = {pid: _facts(lp, outcomes[pid], records.get(outcomes[pid].key), refused)
             for pid, (lp, refused) in graded.items()}
    return SubmissionResult(outcomes, records, list(st.notes), digests, checks, facts)


# -- what the class report needs (report.py), found while grading --------------------------------
def _graded_proofs(st: Student, loads: list[LoadedFile], outcomes: dict[str, Outcome],
                   a: Assignment, book) -> dict[str, tuple[LoadedProof, tuple]]:
    """The proof each problem was graded from (checked or rejected), by problem id, with, for a
    rejected proof, its digest and the step the gate refused (`_refused`). A proof is found by
    the name the gate gave it (`gate.proof_label`, in `Outcome.file`)."""
    shown: dict[str, LoadedProof] = {}
    for f, lf in zip(st.files, loads):
        for lp in lf.proofs:
            shown.setdefault(proof_label(f.rel, lp), lp)
    out: dict[str, tuple[LoadedProof, tuple]] = {}
    for pid, oc in outcomes.items():
        lp = shown.get(oc.file)
        if lp is None or lp.error:
            continue
        if oc.status is None:
            out[pid] = (lp, ())
        elif oc.status is Status.REJECTED:
            out[pid] = (lp, _refused(lp, oc, book))
    return out


def _refused(lp: LoadedProof, oc: Outcome, book) -> tuple[str, Optional[int]]:
    """A rejected proof's digest and the step the gate refused (`Outcome.step`: the first whose
    citation the gate refused itself, not one inside a lemma it uses; none when the claim or the
    declarations were refused). It has no payload (so no key): the digest is of the proof as it
    stands — its claim and declarations by meaning, its steps printed back, citations resolved
    to rule ids."""
    steps = [{**s, "by": [_resolved(b, book) for b in s.get("by") or []]}
             for s in lp.dump.get("proof") or []]
    key = {"claim": lp.canonical, "variables": {k: list(v) if isinstance(v, tuple) else v
                                                for k, v in lp.variables.items()},
           "layout": lp.layout, "assume": [list(x) for x in lp.assume_key], "proof": steps}
    digest = hashlib.sha256(json.dumps({"rejected": key}, sort_keys=True, ensure_ascii=False,
                                       default=str).encode()).hexdigest()
    return digest, oc.step


def _step_text(lp: LoadedProof, index: Optional[int]) -> str:
    """Step `index` as the student wrote it (printed back): "the line before ⟶ the line  (by
    the rules cited)", or "the line  (the start)" for step 0."""
    steps = lp.dump.get("proof") or []
    if index is None or not 0 <= index < len(steps):
        return ""
    wrt = (lp.dump.get("claim") or {}).get("wrt") or "X"

    def expr(s: dict) -> str:
        return s.get("expr") or (f"∂f/∂{wrt} = {s['derivative']}" if s.get("derivative") else
                                 f"the Hessian in {wrt} = {s['hessian']}" if s.get("hessian") else "")

    this = expr(steps[index])
    by = ", ".join(steps[index].get("by") or [])
    if index == 0:
        return f"{this}  (the start)"
    return f"{expr(steps[index - 1])} ⟶ {this}" + (f"  (by {by})" if by else "")


def _facts(lp: LoadedProof, oc: Outcome, rec: Union[CheckRecord, TaskFailure, None],
           refused: tuple) -> ProofFacts:
    """A graded proof's facts for the report. The example of a proof that is not valid is the
    step its reason names (a step refused by the gate; a line that cannot be read; the first
    wrong step), else, for a proof that does not reach its claim, its last step."""
    if refused:
        digest, index = refused
        return ProofFacts(digest, _step_text(lp, index), index is not None)
    if not isinstance(rec, CheckRecord) or rec.status == "error":
        return ProofFacts()  # an `error` grade: nothing to compare or show
    if rec.status == "valid":
        return ProofFacts(oc.key)
    bad = first_wrong(rec)
    if rec.unreadable:
        index, wrong = rec.unreadable[0], True
    elif bad is not None:
        index, wrong = bad.index, True
    else:  # incomplete: every step checks
        index, wrong = (rec.steps[-1].index if rec.steps else None), False
    return ProofFacts(oc.key, _step_text(lp, index), wrong)
