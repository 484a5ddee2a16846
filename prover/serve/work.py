"""The work behind each request of `prove serve`, run in a worker process (`pool.py`): check a
proof text, derive, grade a text against one problem of the assignment. Untrusted glue like
`cli.py`: every verdict comes from the kernel, through the same functions the command line uses,
and every answer is plain JSON-ready data (the parent only forwards it).

A text never names a file: lemmas (`by: theorem5`) are looked up among the proofs shipped with
the package (`proofs_dir`) and, in assignment mode, in the assignment's own `lib:` folders —
never in the server's working folder.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional, Sequence

from ..kernel.errors import Limits

NAME = "proof.yaml"  # what a checked text is called in its answer (`path`)
_ASSIGNMENT = None  # the worker's `Assignment`, set once by `start_worker` in assignment mode


class Refusal(Exception):
    """A request the work cannot answer, with the HTTP status and the message to send."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)  # both, so that it pickles back from a worker
        self.status, self.message = status, message


def proofs_dir() -> Optional[Path]:
    """The example proofs: `proofs/` beside the package (a checkout or editable install) or
    inside it (a wheel), or None."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "_proofs", here.parent / "proofs"):
        if cand.is_dir():
            return cand
    return None


def start_worker(assignment=None) -> None:
    """A worker's setup: the rule base loaded once, and the assignment in assignment mode."""
    global _ASSIGNMENT
    from ..rulebase import load_rulebook

    load_rulebook()
    _ASSIGNMENT = assignment
    shipped = proofs_dir()
    if shipped and (shipped / "theorem5.yaml").is_file():  # warm up: the first answer is quick
        check((shipped / "theorem5.yaml").read_text(encoding="utf-8"))


def _library(extra: Sequence[str] = (), with_shipped: bool = True):
    from ..proofs import Library
    from ..rulebase import load_rulebook

    _, book = load_rulebook()
    shipped = proofs_dir() if with_shipped else None
    libs = ([shipped] if shipped else []) + [Path(p) for p in extra]
    return book, Library(book, libs, near=False)


def check(text: str, with_shipped: bool = True) -> dict[str, Any]:
    """`prove check --format json` of one proof text (several entries for a list of proofs).
    Lemmas come from the shipped proofs and the assignment's `lib:` folders; without
    `with_shipped`, from the assignment's folders only, as `prove grade` looks them up."""
    from ..proofs import FileResult, check_path
    from ..render import json_report

    if "\0" in text:
        results = [FileResult(NAME, "error", message="this is binary, not YAML text")]
    else:
        book, library = _library(_ASSIGNMENT.lib if _ASSIGNMENT else [], with_shipped)
        results = check_path(Path(NAME), book, library, text=text)
    return json.loads(json_report(results))


def derive(function: str, wrt: str, variables: list[str], layout: str) -> dict[str, Any]:
    """`prove derive --format json`: the derivative with a proof the kernel has checked."""
    from ..api import variables as read_variables
    from ..derive import DeriveError, derive_checked

    try:
        env = read_variables(variables)
    except ValueError as exc:
        raise Refusal(422, f"variables: {exc}") from None
    try:
        dv, answer = derive_checked(function, wrt, env, layout)
    except DeriveError as exc:
        raise Refusal(422, f"cannot derive: {exc}") from None
    return {"derivative": answer, "layout": layout, "wrt": wrt, "proof": dv.proof_yaml(),
            "assume": {"invertible": dv.assume_invertible}}


def grade(problem: str, text: str) -> dict[str, Any]:
    """The grade `prove grade` would give `text` as the submission for one problem, with the
    text's own check (for the line annotations)."""
    from ..grade.check import grade_submission
    from ..grade.score import score_problem
    from ..grade.submissions import Student, SubmittedFile

    a = _ASSIGNMENT
    if a is None:
        raise Refusal(404, "the server is not in assignment mode (start it with --assignment)")
    p = next((q for q in a.problems if q.id == problem), None)
    if p is None:
        raise Refusal(404, f"no problem {problem!r}; the problems are "
                      + ", ".join(q.id for q in a.problems))
    raw = text.encode("utf-8")
    st = Student("you", [SubmittedFile(f"{p.id}.yaml", p.id, "", data=raw)], entry="you")
    result = grade_submission(st, a)
    oc = result.outcomes[p.id]
    pg = score_problem(p, oc, result.records.get(oc.key), result.facts.get(p.id))
    return {"problem": p.id, "status": str(pg.status), "score": pg.score, "points": p.points,
            "reason": pg.reason, "feedback": pg.feedback, "notes": list(result.notes),
            "check": check(text, with_shipped=False)}  # the lemmas the grade can use


def starter(p) -> tuple[str, list[int]]:
    """A proof file to start problem `p` from: its claim and declarations as the assignment
    gives them, and an empty proof. Returns the text and the 1-based lines (first, last) that
    hold the claim and declarations, which the page keeps read-only."""
    import yaml

    def flow(value: Any) -> str:  # one YAML value on one line (quoted where it must be)
        return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, sort_keys=False,
                              width=10**6).strip()[1:-1]

    lines = [f"theorem: {flow(p.id)}"] + ([f"title: {flow(p.title)}"] if p.title else [])
    lines.append("variables:")
    lines += [f"  {n}: " + flow({k: v for k, v in d.items() if v not in (False, None)})
              for n, d in p.decls.items()]
    if p.assume:
        lines.append("assume: " + flow({k: v for k, v in p.assume.items() if v}))
    claim = {k: v for k, v in p.claim.items() if k != "layout"}
    lines.append("claim:")
    lines += [f"  {k}: {flow(v)}" for k, v in claim.items()]
    if p.layout != "numerator":
        lines.append(f"layout: {p.layout}")
    first = {"derivative": lambda: f"d({claim['derivative']})",
             "hessian": lambda: f"d(d({claim['hessian']}))",
             "identity": lambda: claim["lhs"]}[p.kind]()
    text = ("# The assignment's claim and declarations (read-only); write the steps below.\n"
            + "\n".join(lines) + "\nproof:\n  - expr: " + flow(first) + "\n")
    locked = [1, len(lines) + 1]
    return text, locked


def assignment_view(a) -> dict[str, Any]:
    """The assignment as the page shows it: each problem's claim, points, allowed rules and a
    starter file."""
    from ..checking import claim_text

    problems = []
    for p in a.problems:
        text, locked = starter(p)
        problems.append({"id": p.id, "title": p.title, "points": p.points, "kind": p.kind,
                         "claim": claim_text(p.claim), "layout": p.layout,
                         "allowed_rules": list(p.allowed_text) if p.allowed is not None else None,
                         "starter": text, "locked_lines": locked})
    return {"assignment": a.name, "title": a.title, "problems": problems,
            "max_score": a.max_score}


def examples() -> list[dict[str, Any]]:
    """The proofs shipped with the package, to start from: name, title, path and text."""
    import yaml

    root = proofs_dir()
    out: list[dict[str, Any]] = []
    if root is None:
        return out
    for f in sorted(root.rglob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("theorem"), str):
            out.append({"name": data["theorem"], "title": str(data.get("title") or ""),
                        "path": f.relative_to(root).as_posix(), "text": text})
    return out


def digest(kind: str, body: bytes) -> str:
    """The key of one answer in the parent's cache: the kind of request and every byte of it."""
    return hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()


MAX_BYTES = 256 * 1024  # the largest request body served; never over a file's limit
assert MAX_BYTES <= Limits.max_file_bytes
