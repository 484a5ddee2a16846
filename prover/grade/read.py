"""Stage 3 of `prove grade`, in a worker: a submitted file's bytes become plain data.

A file is decoded, pre-scanned by libyaml's C parser (anchors, aliases, nesting, steps and
citations are refused before the slower loader that keeps positions), loaded as YAML, and each
proof in it parsed, its expressions printed back from the kernel's parse trees so that spacing
does not make two proofs different. What comes out (`LoadedFile`, `LoadedProof`) is what gating
needs and nothing more; errors are `FileError`s with their line and column. Never raises for bad
input. Read next: `gate.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml as _yaml

from ..checking import claim_text
from ..kernel.errors import Limits
from ..proofs import DerivativeStep, HessianStep, kernel_claim, parse_proof, relation
from ..source import MAX_DEPTH, Located, SourceError, fast_load, fast_load_sized, load_yaml
from .assignment import assume_key, canonical_claim, claim_names, deep_seen, normal_text, note_deep, \
    var_key
from .limits import MAX_CITATIONS_PER_FILE, MAX_CITATIONS_PER_STEP, MAX_PROOFS_PER_FILE, \
    MAX_YAML_DEPTH
from .records import Fault, FileError
from .submissions import read_bytes


@dataclass
class LoadedProof:
    """One proof found in a file, as plain data."""

    theorem: Optional[str]
    index: Optional[int] = None  # position in a file that holds a list of proofs
    error: Optional[FileError] = None  # why it cannot be used
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
    error: Optional[FileError] = None
    proofs: list = field(default_factory=list)
    rules: list = field(default_factory=list)  # rule ids a student tried to define


def _sub(src: Located, base: tuple, data: Any) -> Located:
    """The part of a file at `base` (a proof in a list) as a file of its own."""
    if not base:  # the whole file: its positions as they are (nothing changes them)
        return Located(data, src.positions, src.key_positions, src.text)
    n = len(base)
    return Located(data, {k[n:]: v for k, v in src.positions.items() if k[:n] == base},
                   {k[n:]: v for k, v in src.key_positions.items() if k[:n] == base}, src.text)


TOO_MANY_PER_STEP = (f"this step cites more than {MAX_CITATIONS_PER_STEP} rules, the limit for "
                     "one step (a step cites the few rules it uses); the file is not read further")
TOO_MANY_PER_FILE = (f"the file cites more than {MAX_CITATIONS_PER_FILE:,} rules in all, the "
                     "limit for one file; the file is not read further")


@dataclass
class _Open:
    """A YAML collection being read by `prescan`."""

    mapping: bool
    start: Any  # its start event, for the position
    is_proof: bool = False  # the value of a top-level `proof:` key
    is_by: bool = False  # the value of a `by:` key
    key_next: bool = True  # (a mapping) the next scalar is a key
    last_key: Any = None
    items: int = 0


class _Refused(Exception):
    """A limit crossed while scanning: the file is not read further."""

    def __init__(self, error: FileError):
        super().__init__(error.message)
        self.error = error


class _Scan:
    """The limits of a submitted file, checked event by event (libyaml's events): anchors and
    aliases, nesting, the steps of a proof and the citations of a step and of the file. Called
    on each event; raises `_Refused` at the first limit crossed."""

    def __init__(self):
        self.stack: list[_Open] = []
        self.cited = 0

    @staticmethod
    def at(ev, message: str, kind: Fault = Fault.LIMIT) -> FileError:
        return FileError(message, kind, line=ev.start_mark.line + 1,
                         column=ev.start_mark.column + 1)

    def place(self, ev) -> str:
        """Account for a value in its parent; returns the key it is the value of ('' if none)."""
        if not self.stack:
            return ""
        top = self.stack[-1]
        if top.mapping:
            if top.key_next:
                top.key_next, top.last_key = False, getattr(ev, "value", None)
                return ""
            top.key_next = True
            return top.last_key if isinstance(top.last_key, str) else ""
        top.items += 1
        return ""

    def __call__(self, ev) -> None:
        cls = type(ev)
        if cls is _yaml.AliasEvent:
            raise _Refused(self.at(ev, "YAML aliases (*name) are not allowed here", Fault.SYNTAX))
        if cls is _yaml.ScalarEvent:
            if ev.anchor:
                raise _Refused(self.at(ev, "YAML anchors (&name) are not allowed here",
                                       Fault.SYNTAX))
            stack = self.stack
            if not stack:
                return
            top = stack[-1]
            if top.mapping:
                if top.key_next:
                    top.key_next, top.last_key = False, ev.value
                    cites = False
                else:
                    top.key_next = True
                    cites = top.last_key == "by"
            else:
                top.items += 1
                cites = False
            if cites or top.is_by:  # a citation (a scalar of a `by:` list counts as one)
                self._cited(ev, top if top.is_by else None)
        elif cls is _yaml.MappingStartEvent or cls is _yaml.SequenceStartEvent:
            if ev.anchor:
                raise _Refused(self.at(ev, "YAML anchors (&name) are not allowed here",
                                       Fault.SYNTAX))
            stack = self.stack
            by_list = stack[-1] if stack and stack[-1].is_by else None  # ev is one of its items
            key = self.place(ev)
            stack.append(_Open(cls is _yaml.MappingStartEvent, ev,
                               is_proof=key == "proof" and len(stack) <= 2, is_by=key == "by"))
            if len(stack) > MAX_YAML_DEPTH:
                # no position: libyaml builds differ on where they notice (some stop at their
                # own depth limit), and a report must not depend on the build
                raise _Refused(FileError("the YAML nests too deeply", Fault.LIMIT))
            if by_list is not None:
                self._cited(ev, by_list)
        elif cls is _yaml.MappingEndEvent or cls is _yaml.SequenceEndEvent:
            top = self.stack.pop()
            if top.is_proof and top.items > Limits.max_steps:
                raise _Refused(self.at(top.start, f"the proof has {top.items} steps; the limit "
                                       f"is {Limits.max_steps}"))
        elif getattr(ev, "anchor", None):
            raise _Refused(self.at(ev, "YAML anchors (&name) are not allowed here", Fault.SYNTAX))

    def _cited(self, ev, by_list: Optional[_Open]) -> None:
        self.cited += 1
        if by_list is not None and by_list.items > MAX_CITATIONS_PER_STEP:
            raise _Refused(self.at(by_list.start, TOO_MANY_PER_STEP))
        if self.cited > MAX_CITATIONS_PER_FILE:
            raise _Refused(self.at(ev, TOO_MANY_PER_FILE))


def prescan(text: str) -> Optional[FileError]:
    """A pass with libyaml's C parser (when present) that checks the limits (`_Scan`) without
    building anything: refuse anchors and aliases, deep nesting, over-long proofs and over-long
    citation lists before the (slower, position-keeping) pure-Python load, and stop at the first
    of them. Returns the reason to refuse, or None. Anything else is left to
    `source.load_yaml`. (`read_submission` makes these checks in the pass that reads the file;
    this is its way when that pass cannot be used.)"""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return None
    scan = _Scan()
    try:
        for ev in yaml.parse(text, Loader=loader):
            scan(ev)
    except _Refused as exc:
        return exc.error
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):
            return FileError("the YAML nests too deeply", Fault.LIMIT)
        return None  # the real loader reports it, with its own words
    except RecursionError:
        return FileError("the YAML nests too deeply", Fault.LIMIT)
    return None


# A text this short is read without `_Scan` (it costs a call on every event) when what it holds
# shows that `_Scan` would have let every event pass; reading all of it costs little memory.
UNWATCHED_CHARS = 64 * 1024


def _unwatched(text: str) -> Optional[Located]:
    """What `fast_load(text, _Scan())` gives, read without the watcher, when the data shows
    that the watcher would not have refused the file; else None (and the caller reads it
    watched). `fast_load` itself gives up (None) at an alias, an anchor or nesting deeper than
    `MAX_YAML_DEPTH`, where `_Scan` refuses, and what remains can be told from the data: a
    list longer than a step's citations (the longest a proof may be is longer still) is looked
    at by the watched pass, and so is a file of more values and keys than the citations a file
    may make (each citation is one of them). A file the loader refuses (a key twice, a key
    that is not text) is read watched too, since a limit may come before that error."""
    if len(text) > UNWATCHED_CHARS or MAX_DEPTH > MAX_YAML_DEPTH:
        return None
    try:
        got = fast_load_sized(text)
    except SourceError:
        return None
    if got is None:
        return None
    src, longest = got
    if longest > min(MAX_CITATIONS_PER_STEP, Limits.max_steps) \
            or len(src.positions) + len(src.key_positions) > MAX_CITATIONS_PER_FILE:
        return None
    return src


def read_path(path: str) -> tuple[LoadedFile, bytes]:
    """Read (within the limits) and parse one submitted file; also returns its bytes (for the
    hash that shows how many files of a class are distinct)."""
    raw, err = read_bytes(Path(path))
    return (LoadedFile(err) if err else read_submission(raw)), raw


def read_submission(raw: bytes) -> LoadedFile:
    """Decode and parse one submitted file. Never raises for bad input."""
    if b"\0" in raw:
        return LoadedFile(FileError("this is a binary file, not YAML text", Fault.TEXT))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return LoadedFile(FileError(f"the file is not UTF-8 text (byte {exc.start})", Fault.TEXT))
    try:
        src = _unwatched(text) if text.strip() else None
        if src is None and text.strip():
            # one pass: libyaml's events checked against the limits (`_Scan`) as they are read
            src = fast_load(text, _Scan())
        if src is None:  # that pass could not be used: check the limits, then read slowly
            refused = prescan(text)
            if refused:
                return LoadedFile(refused)
            src = load_yaml(text)
    except _Refused as exc:
        return LoadedFile(exc.error)
    except SourceError as exc:
        return LoadedFile(FileError(exc.message, Fault.SYNTAX, line=exc.line or 0,
                                    column=(exc.col or 1) if exc.line else 0))
    data = src.data
    if isinstance(data, dict) and "rules" in data and "theorem" not in data:
        ids = [r.get("id") for r in data["rules"] if isinstance(r, dict)] \
            if isinstance(data["rules"], list) else []
        return LoadedFile(FileError("this is a rule file: students cannot add rules (rules come "
                                    "only from the installed rule base)", Fault.RULE_FILE),
                          rules=[str(x) for x in ids if x])
    if isinstance(data, list):
        if not data:
            return LoadedFile(FileError("the file holds an empty list (expected proofs)"))
        items = [(i, item, (i,)) for i, item in enumerate(data[:MAX_PROOFS_PER_FILE])]
    elif isinstance(data, dict):
        items = [(None, data, ())]
    else:
        return LoadedFile(FileError("expected a proof (a YAML mapping with theorem:, variables:, "
                                    "claim:, proof:) or a list of proofs"))
    proofs = [_read_proof(item, _sub(src, base, item), idx) for idx, item, base in items]
    cited = sum(len(lp.citations) for lp in proofs)
    if cited > MAX_CITATIONS_PER_FILE:  # (without libyaml's C parser the prescan is skipped)
        return LoadedFile(FileError(TOO_MANY_PER_FILE, Fault.LIMIT))
    return LoadedFile(proofs=proofs)


def _read_proof(data: Any, src: Located, index: Optional[int]) -> LoadedProof:
    theorem = data.get("theorem") if isinstance(data, dict) else None
    theorem = theorem if isinstance(theorem, str) else None
    where = f"proof {index + 1} of the list" if index is not None else ""
    try:
        pf = parse_proof(data, src)
    except SourceError as exc:
        return LoadedProof(theorem, index, error=FileError(
            exc.message, Fault.SYNTAX, line=exc.line or 0, column=(exc.col or 1) if exc.line
            else 0, context=where))
    names = frozenset(pf.variables)
    steps, lines, cites = [], [], []
    positions = src.positions
    for i, item in enumerate(pf.proof):
        key = "derivative" if isinstance(item, DerivativeStep) else "hessian" if isinstance(item, HessianStep) else "expr"
        by = item.by
        by = by if isinstance(by, list) else ([by] if by else [])
        if len(by) > MAX_CITATIONS_PER_STEP:
            line, col = src.pos(("proof", i, "by"))
            return LoadedProof(theorem, index, error=FileError(
                TOO_MANY_PER_STEP, Fault.LIMIT, line=line, column=col, context=where))
        steps.append({key: normal_text(getattr(item, key), names), "by": list(by)})
        at = positions.get(("proof", i))
        lines.append((at or src.pos(("proof", i)))[0])
        for b in by:
            cites.append((i, b))
    kind, canon, claim_shown, variables, claim, keys, assumed, used = _head(pf, names)
    dump = {"theorem": pf.theorem, "layout": pf.layout, "variables": variables, "claim": claim,
            "proof": steps}
    return LoadedProof(pf.theorem, index, None, kind, canon, claim_shown, pf.layout, keys, dump,
                       lines, cites, assumed, used)


def _fields(model: Any) -> tuple:
    """A model's fields as a key (each value with its type: 1 and True are not the same)."""
    return tuple((k, type(v), tuple((type(x), x) for x in v) if isinstance(v, (tuple, list))
                  else v) for k, v in vars(model).items())


# per process: what a proof's variables, claim, assumptions and layout give (a pure function of
# them; a class declares its variables and claims alike), at most `_HEADS_MAX` of them
_HEADS: dict[tuple, tuple] = {}
_HEADS_MAX = 2_000


def _limits() -> tuple:
    """The bounds that reading an expression obeys (a test may change them)."""
    return (Limits.max_expr_chars, Limits.max_nodes, Limits.max_depth, Limits.max_exponent,
            Limits.max_dimension)


def _head(pf: Any, names: frozenset) -> tuple:
    """What a proof's variables, claim, assumptions and layout give `LoadedProof` (fresh copies
    of what `_read_head` gives, remembered by the models' fields)."""
    key = (_limits(), pf.layout, type(pf.claim), _fields(pf.claim),
           None if pf.assume is None else (type(pf.assume), _fields(pf.assume)),
           tuple((n, type(v), _fields(v)) for n, v in pf.variables.items()))
    hit = _HEADS.get(key)
    if hit is None:
        seen = deep_seen()
        hit = _read_head(pf, names)
        if deep_seen() == seen:  # nothing ran out of stack (how deep Python may go depends on the caller)
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            _HEADS[key] = hit
    kind, canon, claim_shown, variables, claim, keys, assumed, used = hit
    return (kind, dict(canon), claim_shown, {n: dict(v) for n, v in variables.items()},
            dict(claim), dict(keys), assumed, list(used))


def _read_head(pf: Any, names: frozenset) -> tuple:
    kind, canon = canonical_claim(pf.claim, set(names))
    variables = {n: v.model_dump() for n, v in pf.variables.items()}
    claim = pf.claim.model_dump(exclude_none=True)
    try:  # what `to_kernel` reads that can fail, then its claim (without building the steps)
        if pf.assume:
            [relation(t) for t in pf.assume.sizes]
        [v.info() for v in pf.variables.values()]
        claim_shown = claim_text(kernel_claim(pf))
    except Exception as exc:  # noqa: BLE001 - display only
        if isinstance(exc, RecursionError):
            note_deep()
        claim_shown = ""
    return (kind, canon, claim_shown, variables, claim,
            {n: var_key(v) for n, v in pf.variables.items()}, assume_key(pf.assume, set(names)),
            sorted(claim_names(pf.claim, set(names), pf.assume)))
