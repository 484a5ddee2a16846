"""Proof files (SPEC §3): loading with positions (through the pydantic models of `models.py`, or
`fastload` for a file they would take as it stands), lemmas, and `check_file`.

This module is outside the kernel: it turns YAML into the kernel's plain `ProofIn`, hands it to
`checking.check_proof` (the kernel's replay, then explanations), and attaches file, line and column to whatever comes back. Lemmas
(`by: theorem5`) are found as other proof files in the same folder or under `--lib`, and are
used only if the kernel checks them too; cycles are refused. Read next: `render.py`, `cli.py`.
"""
from __future__ import annotations

import os

import re
import time

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checking import check_proof
from .citations import RuleBook, normalize
from .kernel.replay import ProofIn, ProofResult, StepIn
from .kernel.errors import Limits, ProveError
from .kernel.expr import Sym, T, d, mul, Func
from .kernel.rules import Rule
from .kernel.parser import parse
from .kernel.shapes import SCALAR, Shape, VarInfo
from .rulebase import load_rulebook
from .source import Located, SourceError, load_yaml, read_text

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .models import ProofFile

def _text(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected an expression; quote it if it is meant as text")
    if isinstance(v, (int, float)):
        return str(v)
    return v


def _kind(*keys: str):
    """The models' discriminator: which kind a claim or a step is (`fastload` asks it too): the
    first key for an identity (or an `expr:` step), the second for a derivative, the third (when
    given) for a Hessian, which `hessian:` marks."""
    def pick(v: Any) -> str:
        if isinstance(v, dict):
            if len(keys) > 2 and "hessian" in v:
                return keys[2]
            return keys[1] if any(k in v for k in ("derivative", "wrt", "equals")) else keys[0]
        return keys[0]
    return pick


def decl_info(v) -> VarInfo:
    """A declared variable (`VarDecl`, or `fastload`'s plain one) as the kernel's `VarInfo`."""
    shape = SCALAR if v.shape == "scalar" else Shape(v.shape[0], v.shape[1])
    return VarInfo(shape, v.constant, v.symmetric, v.invertible)


# The pydantic models (VarDecl, IdentityClaim, DerivativeClaim, ExprStep, DerivativeStep, Assume,
# ProofFile, and the types Claim, Step, Citation, Dim) are in `models.py`, imported on first use
# of any of these names here: importing pydantic and building them costs `prove check` more than
# Z3 does, and a file they would take as it stands is read without them (`fastload.py`).
_MODELS = frozenset({"Dim", "VarDecl", "IdentityClaim", "DerivativeClaim", "HessianClaim", "Citation",
                     "ExprStep", "DerivativeStep", "HessianStep", "Claim", "Step", "Assume", "ProofFile"})


def __getattr__(name: str):
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}


def relation(text: str) -> tuple:
    """`m >= n` or `3 <= n` as (symbol, op, symbol or number), the symbol first."""
    m = re.fullmatch(r"\s*([A-Za-z]\w*|\d+)\s*(>=|<=|[<>≥≤])\s*([A-Za-z]\w*|\d+)\s*", text)
    if not m or m.group(1).isdigit() and m.group(3).isdigit():
        raise ValueError(f"{text!r} is not a relation between sizes: write m >= n, m > n, n >= 3 "
                         "(>=, >, <=, <)")
    a, op, b = m.group(1), {"≥": ">=", "≤": "<="}.get(m.group(2), m.group(2)), m.group(3)
    num = lambda x: int(x) if x.isdigit() else x  # noqa: E731
    rel = (b, _FLIP[op], num(a)) if a.isdigit() else (a, op, num(b))
    if isinstance(rel[2], int) and rel[1][0] == "<":
        raise ValueError(f"{text!r} bounds a size from above; only lower bounds (n >= 3) and "
                         "relations between two symbols (m >= n) can be assumed: an upper bound "
                         "would leave sizes the checker never reaches")
    return rel


@dataclass
class FileResult:
    """The outcome for one file: a kernel ProofResult plus where things are in the file."""

    path: str
    status: str  # valid | invalid | error
    claim: str = ""
    result: ProofResult | None = None
    message: str = ""
    line: int = 1
    col: int = 1
    width: int = 1
    help: str = ""
    lines: list[str] = field(default_factory=list)  # the file's text, for carets
    title: str = ""
    seconds: float = 0.0  # how long checking took (reports only; no verdict depends on it)
    # For a proof in a file that holds a list of proofs, `path` is `FILE#N` (the N-th proof,
    # from 1) and `file` is FILE; otherwise `file` is empty and `path` is the file.
    file: str = ""

    @property
    def steps(self):
        return self.result.steps if self.result else []

    def _repr_markdown_(self) -> str:
        """Jupyter shows the verdict, the claim, a table of the steps and the counterexamples."""
        from .display import file_markdown

        return file_markdown(self)

    def _repr_latex_(self) -> str:
        """The same as one `$$…$$` block of math (MathJax, KaTeX, LaTeX export)."""
        from .display import file_latex

        return file_latex(self)


def _data_path(loc: tuple, data: Any, keep_last: bool) -> list:
    """pydantic's error location with union tags and type names dropped: only the keys and
    indices that really lead through the data."""
    path: list = []
    node = data
    for i, x in enumerate(loc):
        if isinstance(node, dict) and x in node:
            path.append(x)
            node = node[x]
        elif isinstance(node, list) and isinstance(x, int) and 0 <= x < len(node):
            path.append(x)
            node = node[x]
        elif keep_last and i == len(loc) - 1:
            path.append(x)
    return path


def _pyd_error(exc: ValidationError, src: Located) -> SourceError:
    errs = exc.errors()
    # For a union (claim, steps) pydantic reports every branch; the most specific one wins.
    err = max(errs, key=lambda e: (e["type"] == "extra_forbidden", len(e["loc"])))
    loc = _data_path(err["loc"], src.data, err["type"] == "missing")
    where = ".".join(str(x) for x in loc) or "the file"
    if err["type"] == "extra_forbidden":
        line, col = src.key_pos(tuple(loc))
        allowed = _allowed(loc)
        return SourceError(f"unknown key {loc[-1]!r}", line, col,
                           f"allowed here: {allowed}" if allowed else "")
    if err["type"] == "missing":
        line, col = src.pos(tuple(loc[:-1]))
        return SourceError(f"missing key {loc[-1]!r} in {'.'.join(map(str, loc[:-1])) or 'the file'}",
                           line, col)
    line, col = src.pos(tuple(loc))
    return SourceError(f"{where}: {err['msg']}", line, col)


def _allowed(loc: list) -> str:
    if not loc:
        return ""
    top = ["theorem", "title", "source", "layout", "variables", "claim", "assume", "proof"]
    if len(loc) == 1:
        return ", ".join(top)
    if loc[0] == "claim":
        return "lhs, rhs (an identity), derivative, wrt, equals (a derivative) or hessian, wrt, equals (a Hessian)"
    if loc[0] == "proof":
        return "expr, derivative or hessian, and by"
    if loc[0] == "variables":
        return "shape, constant, symmetric, invertible"
    if loc[0] == "assume":
        return "sizes, invertible"
    return ""


# -- files that hold a list of proofs --------------------------------------------------------------
# A proof file holds one proof (a mapping) or a YAML list of them (docs/guide.md §1.1). Each proof
# of a list is checked and reported on its own, as `FILE#N` (N from 1), with the file's own line
# numbers; `prove check FILE#N` checks just that one.
_ITEM = re.compile(r"(.+)#([1-9][0-9]*)")


def split_item(path: Path | str) -> tuple[Path, int | None]:
    """`FILE#N` as (FILE, N) when FILE is a file and `FILE#N` itself is not; else (path, None)."""
    p = Path(path)
    m = _ITEM.fullmatch(str(path))
    if m and not p.exists() and Path(m.group(1)).is_file():
        return Path(m.group(1)), int(m.group(2))
    return p, None


def select_proof(src: Located, index: int | None) -> Located:
    """The proof a check is about: the whole file, or the index-th (from 1) proof of a list, as a
    `Located` of its own that keeps the file's line numbers."""
    data = src.data
    if isinstance(data, list) and not data:
        raise SourceError("the file holds an empty list (expected proofs)", *src.pos(()))
    if _steps_list(data):
        raise SourceError("a proof file is a YAML mapping (theorem:, variables:, claim:, proof:), "
                          "or a list of them; this list holds steps: put them under proof:", 1, 1)
    if index is None:
        if isinstance(data, list):
            raise SourceError(f"the file holds a list of {len(data)} proofs: name one of them "
                              f"as FILE#1 … FILE#{len(data)} (`prove check FILE` checks them all)",
                              1, 1)
        return src
    if not isinstance(data, list):
        raise SourceError(f"#{index}: the file holds one proof, not a list of proofs", 1, 1)
    if index > len(data):
        raise SourceError(f"#{index}: the file holds {len(data)} proof"
                          f"{'s' * (len(data) != 1)}", 1, 1)
    base = (index - 1,)
    item = data[index - 1]
    if not isinstance(item, dict):
        raise SourceError(f"item {index} of the list is not a proof: a proof is a YAML mapping "
                          "(theorem:, variables:, claim:, proof:)", *src.pos(base))
    return Located(item, {k[1:]: v for k, v in src.positions.items() if k[:1] == base},
                   {k[1:]: v for k, v in src.key_positions.items() if k[:1] == base}, src.text)


def _steps_list(data: Any) -> bool:
    """A list of proof steps where a proof belongs (a file holding only `- expr: …` items)."""
    return isinstance(data, list) and bool(data) and all(
        isinstance(x, dict) and x and set(x) <= {"expr", "by", "derivative", "hessian"} for x in data)


def _looks_like_list(text: str) -> bool:
    """Whether the first YAML content of a text is a sequence (so it is worth parsing to count)."""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("%") or s == "---":
            continue
        if s.startswith("--- "):
            s = s[4:].lstrip()
        return s.startswith("- ") or s == "-" or s.startswith("[")
    return False


def proof_count(path: Path) -> int | None:
    """How many proofs a file holds if it holds a non-empty list of them; None for a file that
    holds one proof, or cannot be read (checking it then says why)."""
    try:
        text = read_text(path)
        if not _looks_like_list(text):
            return None
        data = load_yaml(text).data
    except SourceError:
        return None
    return len(data) if isinstance(data, list) and data and not _steps_list(data) else None


def proof_entries(path: Path) -> list[Path]:
    """The checks a file makes: itself, or `FILE#1` … `FILE#N` for a list of N proofs."""
    n = proof_count(path)
    return [path] if n is None else [Path(f"{path}#{i}") for i in range(1, n + 1)]


def parse_proof(data: Any, src: Located) -> ProofFile:
    if not isinstance(data, dict):
        raise SourceError("a proof file is a YAML mapping (theorem:, variables:, claim:, proof:)",
                          1, 1)
    if isinstance(data.get("proof"), list) and len(data["proof"]) > Limits.max_steps:
        line, col = src.pos(("proof",))
        raise SourceError(f"the proof has {len(data['proof'])} steps; the limit is "
                          f"{Limits.max_steps}", line, col)
    from pydantic import ValidationError

    from .models import ProofFile

    try:
        pf = ProofFile.model_validate(data)
    except ValidationError as exc:
        raise _pyd_error(exc, src) from None
    check_kinds(pf, data, src)
    return pf


def read_proof(data: Any, src: Located):
    """What `parse_proof` gives, read without pydantic when the data is plainly valid
    (`fastload.plain_proof`: the same attributes); otherwise `parse_proof` itself. For the
    checker's own use (`to_kernel`, `lemma_rule`); callers that want the model call `parse_proof`."""
    from .fastload import plain_proof

    pf = plain_proof(data)
    if pf is None:
        return parse_proof(data, src)
    check_kinds(pf, data, src)
    return pf


def claim_kind(claim: Any) -> str:
    """"identity", "derivative" or "hessian": which kind a claim (model or plain) is."""
    return "hessian" if hasattr(claim, "hessian") else "derivative" if hasattr(claim, "wrt") else "identity"


def step_kind(item: Any) -> str:
    """"expr", "derivative" or "hessian": which kind a proof item (model or plain) is."""
    return "expr" if hasattr(item, "expr") else "hessian" if hasattr(item, "hessian") else "derivative"


_END = {"derivative": "derivative: G, by theorem-4 (derivative-from-differential)",
        "hessian": "hessian: H, by hessian-from-second-differential"}


def check_kinds(pf: Any, data: Any, src: Located) -> None:
    """What the models cannot say about a Hessian claim (docs/guide.md §5): it takes no
    `layout:` (a Hessian is the same in either layout), its proof ends with a `hessian:` step,
    never a `derivative:` one, and a `hessian:` step ends only a Hessian proof. A SourceError at
    the offending key."""
    kind = claim_kind(pf.claim)
    if kind == "hessian" and isinstance(data, dict) and "layout" in data:
        raise SourceError("layout: is for derivative claims; a Hessian claim takes none: the "
                          "Hessian is the same in either layout (k×k, k the entries of wrt)",
                          *src.key_pos(("layout",)), "remove the layout: line")
    for i, item in enumerate(pf.proof):
        step = step_kind(item)
        if step == "expr" or step == kind or step == "derivative" and kind == "identity":
            continue  # (a derivative: step in an identity proof is the kernel's step error)
        what = {"identity": "an identity", "derivative": "a derivative"}.get(kind, "a Hessian")
        raise SourceError(f"a {step}: step ends {'a Hessian' if step == 'hessian' else 'a derivative'} "
                          f"proof, and this claim is {what}", *src.key_pos(("proof", i, step)),
                          f"end the proof with {_END[kind]}" if kind != "identity" else
                          "an identity proof ends with its right-hand side (expr:); a Hessian claim "
                          "is claim: {hessian: f, wrt: x, equals: H}")


def kernel_claim(pf: ProofFile) -> dict[str, str]:
    """The claim as the kernel's `ProofIn` holds it (`to_kernel`)."""
    claim: dict[str, str]
    kind = claim_kind(pf.claim)
    if kind == "hessian":  # the kernel's Hessian claim has no layout (replay.ProofIn)
        claim = {"hessian": pf.claim.hessian, "wrt": pf.claim.wrt}
    elif kind == "derivative":
        claim = {"derivative": pf.claim.derivative, "wrt": pf.claim.wrt, "layout": pf.layout}
    else:
        claim = {"lhs": pf.claim.lhs, "rhs": pf.claim.rhs}
    if kind != "identity" and pf.claim.equals is not None:
        claim["equals"] = pf.claim.equals
    return claim


def to_kernel(pf: ProofFile, src: Located, base: tuple = ()) -> ProofIn:
    claim = kernel_claim(pf)
    steps = []
    for i, item in enumerate(pf.proof):
        key = step_kind(item)  # the final step (derivative: or hessian:) is the kernel's read-off
        by = item.by if isinstance(item.by, list) else ([item.by] if item.by else [])
        by_path = base + ("proof", i, "by")
        by_locs = ([src.pos(by_path + (j,)) for j in range(len(by))] if isinstance(item.by, list)
                   else [src.pos(by_path)] * len(by))
        steps.append(StepIn(getattr(item, key), by, key != "expr",
                            loc=src.pos(base + ("proof", i, key)), by_loc=by_locs))
    assume = {"sizes": [relation(t) for t in pf.assume.sizes],
              "invertible": pf.assume.invertible} if pf.assume else {}
    return ProofIn(pf.theorem, {n: v.info() for n, v in pf.variables.items()}, claim, steps,
                   assume=assume)


def load_proof_text(text: str) -> ProofIn:
    """A proof given as YAML text (for `prove derive`, which writes one and checks it)."""
    src = load_yaml(text)
    return to_kernel(parse_proof(src.data, src), src)


# -- lemmas -------------------------------------------------------------------------------------
def _where(path: Path | str) -> str:
    """A proof's file as one string whatever way it was named (`FILE#N` for an item of a list)."""
    return os.path.abspath(os.fspath(path))


class Library:
    """Finds lemma files by theorem name (same folder first, then --lib paths), checks each once,
    and refuses cycles. With `near=False` the proof's own folder is not searched: only `lib`
    (`prove serve`, whose texts name no folder)."""

    def __init__(self, book: RuleBook, lib: list[Path] | None = None, near: bool = True):
        self.book, self.lib, self.near = book, lib or [], near
        self.index: dict[str, Path] | None = None
        self.done: dict[tuple[str, str], tuple[Rule | None, str]] = {}  # by (name, file)
        self.active: list[tuple[str, str]] = []  # the proofs being checked: (name, file)
        self.shown: dict[str, str] = {}  # normalised name -> as written
        self.scanned: dict[Path, dict[str, Path]] = {}  # each folder read once (a file citing
        # 500 unknown names would otherwise read the whole folder 500 times)

    def _scan(self, folder: Path) -> dict[str, Path]:
        if folder not in self.scanned:
            self.scanned[folder] = self._read_folder(folder)
        return self.scanned[folder]

    def _read_folder(self, folder: Path) -> dict[str, Path]:
        out: dict[str, Path] = {}
        files = [folder] if folder.is_file() else sorted(
            f for f in folder.rglob("*.y*ml") if f.suffix in (".yaml", ".yml"))
        for f in files[:2000]:
            try:
                text = read_text(f)
            except SourceError:
                continue
            for line in text.splitlines()[:40]:
                if line.startswith("theorem:"):
                    name = line.split(":", 1)[1].strip().strip("'\"")
                    out.setdefault(normalize(name), f)
                    break
            else:
                if _looks_like_list(text):  # a list of proofs: each is a lemma, as FILE#N
                    try:
                        data = load_yaml(text).data
                    except SourceError:
                        continue
                    for i, item in enumerate(data if isinstance(data, list) else [], 1):
                        if isinstance(item, dict) and isinstance(item.get("theorem"), str):
                            out.setdefault(normalize(item["theorem"]), Path(f"{f}#{i}"))
        return out

    def resolver(self, here: Path):
        def resolve(name: str) -> tuple[Rule | None, str]:
            key = normalize(name)
            path = self._scan(here.parent).get(key) if self.near else None
            if path is None:
                for lib in self.lib:
                    path = self._scan(lib).get(key)
                    if path:
                        break
            if path is None:
                return None, ""
            self.shown[key] = name
            done = (key, _where(path))  # by file: two folders may each hold a `foo` of their own
            if done in self.active:
                chain = " → ".join(self.shown.get(k, k) for k, _ in self.active + [done])
                return None, f"lemma cycle: {chain}"
            if done not in self.done:
                self.active.append(done)
                try:
                    self.done[done] = self._lemma(path, name)
                finally:
                    self.active.pop()
            return self.done[done]

        return resolve

    def _lemma(self, path: Path, name: str) -> tuple[Rule | None, str]:
        fr = check_file(path, self.book, self)
        if fr.status != "valid":
            why = fr.message or next((f"step {s.index}: {s.message}" for s in fr.steps
                                      if s.status != "valid"), fr.status)
            return None, f"lemma {name!r} ({path.name}) does not check: {why}"
        file, index = split_item(path)
        src = select_proof(load_yaml(read_text(file)), index)
        return lemma_or_reason(read_proof(src.data, src), f"{name!r} ({path.name})")


def lemma_or_reason(pf: Any, name: str) -> tuple[Rule | None, str]:
    """A checked proof as a lemma: (its rule, "") or, for a Hessian claim, which is never a rule,
    (None, why not)."""
    if claim_kind(pf.claim) == "hessian":
        return None, (f"lemma {name} is a Hessian claim, and a Hessian cannot be cited as a "
                      "rule: only identities and derivatives can")
    return lemma_rule(pf), ""


def lemma_rule(pf: ProofFile) -> Rule:
    """A checked theorem as a rewrite rule: an identity as it stands, a derivative claim as
    d(f) = tr(G dX) with every other variable required constant. A Hessian claim is not a rule
    (the library refuses to cite one, `Library._lemma`): d(d(f)) = dx^T H dx would hold only
    where dx is the differential of the variable itself, which a pattern cannot say."""
    if claim_kind(pf.claim) == "hessian":
        raise ValueError(f"{pf.theorem} is a Hessian claim; a Hessian cannot be used as a rule")
    env = {n: v.info() for n, v in pf.variables.items()}
    names = set(env)
    scalar = frozenset(n for n, v in env.items() if v.shape == SCALAR)
    if not hasattr(pf.claim, "wrt"):  # an IdentityClaim
        lhs, rhs = parse(pf.claim.lhs, names), parse(pf.claim.rhs, names)
        constant = frozenset(n for n, v in env.items() if v.constant)
    else:
        wrt = pf.claim.wrt
        g = parse(pf.claim.equals or "0", names)
        if pf.layout == "denominator":
            g = T(g)
        lhs = d(parse(pf.claim.derivative, names))
        rhs = Func("tr", mul(g, d(Sym(wrt))))
        constant = frozenset(n for n in env if n != wrt)
    return Rule(pf.theorem, lhs, rhs, env, scalar, constant,
                frozenset(n for n, v in env.items() if v.invertible))


# -- the entry point ----------------------------------------------------------------------------
def check_file(path: Path | str, book: RuleBook | None = None, library: Library | None = None,
               lib: list[Path] | None = None, text: str | None = None,
               item: int | None = None) -> FileResult:
    """Check one proof file; never raises for bad input (the result says what is wrong).
    With `text`, that is the file's content and `path` only names it (`prove check -` passes
    standard input as `<stdin>`, whose lemmas are looked up in the current folder)."""
    # FILE#N (or `item` N with `text`): the N-th proof of a file that holds a list of proofs
    path, index = split_item(path) if text is None else (Path(path), item)
    if book is None:
        _, book = load_rulebook()
    library = library or Library(book, lib)
    shown = str(path) if index is None else f"{path}#{index}"
    item_of = "" if index is None else str(path)
    lines: list[str] = []
    try:
        text = read_text(path) if text is None else text
        lines = text.splitlines()
        src = select_proof(load_yaml(text), index)
        pf = read_proof(src.data, src)
        proof_in = to_kernel(pf, src)
    except SourceError as exc:
        return FileResult(shown, "error", message=exc.message, line=exc.line or 1,
                          col=exc.col or 1, help=exc.help, lines=lines, file=item_of)
    own = (normalize(pf.theorem), _where(path))
    pushed = own not in library.active
    if pushed:
        library.active.append(own)  # a lemma chain that comes back here is a cycle
        library.shown.setdefault(own[0], pf.theorem)
    t0 = time.perf_counter()
    try:
        result = check_proof(proof_in, book, library.resolver(path))
    except ProveError as exc:  # the kernel reports through results; this is a last resort
        return FileResult(shown, "error", message=exc.diag.message, lines=lines, file=item_of)
    except RecursionError:
        return FileResult(shown, "error", message="the proof nests too deeply to check", lines=lines, file=item_of)
    finally:
        if pushed:
            library.active.remove(own)
    fr = FileResult(shown, result.status, result.claim, result, result.message, lines=lines,
                    title=pf.title or "", help=result.help, file=item_of, seconds=time.perf_counter() - t0)
    if result.status == "error":
        where = tuple(result.where) or ("claim",)
        if where[-1] == "@key":
            fr.line, fr.col = src.key_pos(where[:-1])
        else:
            fr.line, fr.col = src.pos(where)
        if result.source_text and 0 < fr.line <= len(lines):
            at = lines[fr.line - 1].find(result.source_text, fr.col - 1)
            if at >= 0:
                fr.col = at + 1
                if result.span is not None and result.span.end > result.span.start:
                    fr.col += result.span.start
                    fr.width = result.span.end - result.span.start
                else:
                    fr.width = len(result.source_text)
    return fr


def collect(paths: list[str]) -> tuple[list[Path], list[FileResult]]:
    """Expand files and folders (every *.yaml and *.yml below) in a stable order; report missing
    paths."""
    files: list[Path] = []
    missing: list[FileResult] = []
    for p in paths:
        path = Path(p)
        try:
            if not p:  # Path("") is the current folder: an unset variable, not a request
                missing.append(FileResult(p, "error", message="an empty path names no file"))
            elif path.is_dir():
                files.extend(sorted(x for x in path.rglob("*.y*ml")
                                    if x.suffix in (".yaml", ".yml") and x.is_file()))
            elif path.exists():
                files.append(path)
            elif split_item(p)[1] is not None:  # FILE#N: one proof of a list
                files.append(path)
            else:
                missing.append(FileResult(p, "error", message="no such file or folder"))
        except OSError as exc:  # a name too long for the system, a loop of links, …
            missing.append(FileResult(p, "error", message=f"cannot read it: {exc.strerror or exc}"))
    return [e for f in files for e in (proof_entries(f) if _exists(f) else [f])], missing


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def check_path(path: Path | str, book: RuleBook | None = None, library: Library | None = None,
               lib: list[Path] | None = None, text: str | None = None) -> list[FileResult]:
    """Check every proof a file holds: one result for a file with one proof, one per proof (as
    `FILE#N`) for a file that holds a list of them. With `text`, as for `check_file`."""
    if book is None:
        _, book = load_rulebook()
    library = library or Library(book, lib)
    if text is None:
        return [check_file(p, book, library) for p in proof_entries(Path(path))]
    try:
        src = load_yaml(text) if _looks_like_list(text) else None
    except SourceError:
        src = None
    if src is None or not isinstance(src.data, list) or not src.data:
        return [check_file(path, book, library, text=text)]
    return [check_file(path, book, library, text=text, item=i)
            for i in range(1, len(src.data) + 1)]
