"""Stage 4 of `prove grade`, in the worker: a student's proofs are matched to problems and each
is let through to the kernel, or not.

A proof matches a problem by its `theorem:`, else by its file name. It passes the gate when its
claim, assumptions and declarations are the assigned ones *by meaning* (flags that change
nothing are normalised, unused extra variables are warnings) and every citation — of the proof
and of the student's lemmas it uses — is a rule the problem allows, `index` where allowed, or a
lemma where lemmas are allowed. A failed gate is `rejected` with its reason and nothing is
checked; a passed gate is a *payload*: the proof normalised for checking (the assigned claim
and declarations, citations resolved to rule ids), with a digest so that identical proofs are
checked once. Read next: `check.py`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..checking import closest
from ..citations import normalize
from .assignment import Assignment, Problem, VarKey, normal_text, shape_text
from .read import LoadedFile, LoadedProof
from .records import Fault, FileError, Status
from .submissions import Student, SubmittedFile


@dataclass
class Outcome:
    """A problem's grade before scoring: final (`missing`, `rejected`, `error`), or, with
    `status` None, a proof that passed the gate and is checked under `key`."""

    status: Optional[Status]
    reason: str = ""
    error: Optional[FileError] = None  # the error behind an `error` status, with its place
    file: str = ""
    key: str = ""
    lines: list = field(default_factory=list)
    claim_shown: str = ""
    warnings: list = field(default_factory=list)  # shown in the feedback; they change no score
    step: Optional[int] = None  # a `rejected` proof: the step whose citation the gate refused


def proof_label(rel: str, lp: Optional[LoadedProof]) -> str:
    """How a graded proof is named (`Outcome.file`): its file, and its place in a list of proofs."""
    return rel + (f" (proof {lp.index + 1})" if lp is not None and lp.index is not None else "")


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
    wrt = p.claim.get("wrt") if p is not None and p.kind in ("derivative", "hessian") else None
    unused = (lambda n: n not in used) if used is not None else (lambda n: False)  # noqa: E731
    for n, k in assigned.items():
        if n not in got:
            if unused(n) and p is not None and n not in p.claim_names:
                warnings.append(f"{n} is not declared; the assignment declares {n}: "
                                f"{shape_text(k)}, which the claim does not use (ignored)")
                continue
            out.append(f"{n} is not declared (the assignment declares {n}: {shape_text(k)})")
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
            out.append(f"{n} is declared {shape_text(g)}; the assignment has {shape_text(k)}")
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
        kinds = {"derivative": "a derivative", "hessian": "a Hessian", "identity": "an identity"}
        return [f"the claim is {kinds.get(lp.kind, lp.kind)}; "
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
        self.first_step: Optional[int] = None  # the first step of the proof itself refused

    def check(self, lp: LoadedProof, me: str, chain: tuple = ()) -> list[str]:
        p, out = self.p, []
        for i, name in lp.citations:
            before, via_lemma = len(out), False
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
                    via_lemma = True  # the lemma's own steps are named, not this one
            else:
                near = closest(self.book, name)
                out.append(f"{at} cites {name}, which is not a rule of the installed rule base"
                           + (" nor a lemma" if p.allow_lemmas else "")
                           + (f" (did you mean {' or '.join(near)}?)" if near else "")
                           + "; students cannot add rules")
            if not chain and not via_lemma and len(out) > before and self.first_step is None:
                self.first_step = i
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
        claim["equals"] = normal_text(lp.dump["claim"]["equals"], set(p.variables))
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
    if p.allowed is not None and "algebra" not in p.allowed:  # (likewise)
        out["no_algebra"] = True
    return out


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def gate_student(st: Student, loads: list[LoadedFile], a: Assignment, book
                 ) -> tuple[dict[str, Outcome], dict[str, dict]]:
    """Match the student's proofs (`loads`: each of `st.files`, read) to problems and gate each
    one. Returns an Outcome per problem and the payloads to check, by key; notes about files
    that match no problem are added to `st.notes`."""
    entries: list[tuple[SubmittedFile, Optional[LoadedProof], Optional[FileError]]] = []
    rule_files: dict[str, str] = {}
    whole_error: Optional[FileError] = None
    for f, lf in zip(st.files, loads):
        if lf.error:
            for r in lf.rules:
                rule_files[normalize(r)] = f.rel
            entries.append((f, None, lf.error.in_file(f.rel)))
            if st.single:
                whole_error = entries[-1][2]
        else:
            for lp in lf.proofs:
                entries.append((f, lp, lp.error.in_file(f.rel) if lp.error else None))

    by_name = {n: p for p in a.problems for n in p.names}
    matched: dict[str, list[tuple[SubmittedFile, Optional[LoadedProof], Optional[FileError],
                                  str]]] = {}
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
                                + (f" ({err.in_file('')})" if err else ""))
            continue
        matched.setdefault(p.id, []).append((f, lp, err, how))

    outcomes: dict[str, Outcome] = {}
    payloads: dict[str, dict] = {}
    for p in a.problems:
        cands = matched.get(p.id, [])
        if not cands:
            if whole_error:
                outcomes[p.id] = Outcome(Status.ERROR, str(whole_error), whole_error,
                                         st.files[0].rel if st.files else "")
            elif st.over_limit:  # its proof may be among the files that were not read
                why = f"no proof of {p.id} in the files read: {st.over_limit}"
                outcomes[p.id] = Outcome(Status.ERROR, why, FileError(why, Fault.LIMIT,
                                                                      st.entry))
            else:  # what was not read says why (a linked folder, no YAML file at all)
                unread = next((n for n in st.notes if "symbolic link" in n or n.startswith("no YAML")), "")
                outcomes[p.id] = Outcome(Status.MISSING, f"no proof of {p.id} (a file "
                                         f"{p.id}.yaml, or a proof with theorem: {p.id})"
                                         + (f"; {unread}" if unread else ""))
            continue
        if len(cands) > 1:
            why = f"more than one proof of {p.id}: " + "; ".join(
                f"{f.rel}"
                + (f" #{lp.index + 1}" if lp is not None and lp.index is not None else "")
                + f" ({how})" for f, lp, _, how in cands) + "; submit one"
            outcomes[p.id] = Outcome(Status.ERROR, why, FileError(why, Fault.DUPLICATE))
            continue
        f, lp, err, _ = cands[0]
        shown = proof_label(f.rel, lp)
        if lp is None or err:
            err = err or FileError("the file holds no proof", Fault.INTERNAL, f.rel)
            outcomes[p.id] = Outcome(Status.ERROR, str(err), err, shown)
            continue
        warnings: list[str] = []
        reasons = _decl_reasons(p.variables, lp.variables, p, set(lp.claim_names), warnings)
        if reasons:
            outcomes[p.id] = Outcome(Status.REJECTED, "the variable declarations were changed: "
                                     + "; ".join(reasons), file=shown, claim_shown=lp.claim_shown)
            continue
        reasons = _claim_reasons(p, lp)
        gate = _Gate(p, book, own, a.lib_theorems, rule_files)
        if not reasons:
            reasons = gate.check(lp, normalize(lp.theorem or ""))
        if reasons:
            more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
            outcomes[p.id] = Outcome(Status.REJECTED, "; ".join(reasons[:3]) + more, file=shown,
                                     claim_shown=lp.claim_shown, step=gate.first_step)
            continue
        payload = _payload(p, lp, gate, a.lib, book)
        key = _digest(payload)
        payloads[key] = payload
        outcomes[p.id] = Outcome(None, "", None, shown, key, list(lp.lines), lp.claim_shown,
                                 warnings)
    return outcomes, payloads

