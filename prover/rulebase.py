"""The rule base: `rules/*.yaml` read into kernel `Rule`s (SPEC §4.1).

Rule files are data: each rule has an id, aliases, a statement in the notation, pattern variables
with shapes, side conditions, a source and a summary. `verify_rule` confirms a rule's statement
semantically (Z3 at small dimensions plus random points), so a mistyped rule is reported rather
than used. Read next: `proofs.py`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .citations import RuleBook, normalize
from .fastload import plain_rule_file
from .kernel.rules import confirm_rule
from .kernel.errors import ProveError
from .kernel.expr import Expr
from .kernel.rules import Rule
from .kernel.parser import parse
from .kernel.shapes import SCALAR, Shape, VarInfo, shape_of
from .source import SourceError, load_yaml, read_text

if TYPE_CHECKING:
    from .models import RuleModel, RuleVar

# The pydantic models of rule files (RuleVar, RuleModel, RuleFile) are in `models.py`, imported on
# first use of these names here; `load_rule_files` reads a plainly valid file without them
# (`fastload.plain_rule_file`, which builds the same attributes) and defers any other to them.
_MODELS = frozenset({"RuleVar", "RuleModel", "RuleFile"})


def __getattr__(name: str):
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class RuleEntry:
    """One rule of a file: its model, and the kernel `Rule` built from its statement on first
    use (parsing every statement took about a tenth of a `prove check`'s start; a statement that
    does not parse is reported, with its place, when the rule is first used or verified)."""

    model: RuleModel
    built: Rule | None
    file: str
    where: str = ""  # "file:line:col" of the statement, for the error

    @property
    def rule(self) -> Rule:
        if self.built is None:
            try:
                self.built = build_rule(self.model)
            except ProveError as exc:
                raise SourceError(f"{self.where or self.file}: {self.model.id}: {exc.diag.message}") from None
        return self.built


class _Rules(dict):
    """The rule book's rules by id, each built from its entry on first access."""

    def __init__(self, entries: list["RuleEntry"]):
        super().__init__()
        self.entries = {e.model.id: e for e in entries}

    def __missing__(self, rid: str) -> Rule:
        if rid not in self.entries:
            raise KeyError(rid)
        rule = self[rid] = self.entries[rid].rule
        return rule

    def __contains__(self, rid: object) -> bool:
        return rid in self.entries

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, rid, default=None):
        return self[rid] if rid in self.entries else default

    def keys(self):
        return self.entries.keys()

    def values(self):
        return [self[r] for r in self.entries]

    def items(self):
        return [(r, self[r]) for r in self.entries]


def rules_dir() -> Path:
    """`rules/` beside the package (a checkout or editable install) or inside it (a wheel)."""
    env = os.environ.get("PROVE_RULES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here / "_rules", here.parent / "rules"):
        if cand.is_dir():
            return cand
    raise SourceError("the rule base (rules/*.yaml) is missing from this installation")


def _var_info(v: RuleVar) -> VarInfo:
    if v.shape == "scalar":
        shape = SCALAR
    elif v.shape is None:
        shape = Shape(None, None)
    else:
        shape = Shape(v.shape[0], v.shape[1])
    return VarInfo(shape, v.constant, v.symmetric, v.invertible)


def build_rule(m: RuleModel) -> Rule:
    env = {name: _var_info(v) for name, v in m.variables.items()}
    if m.kind != "rewrite":
        return Rule(m.id, Expr(), Expr(), env, kind=m.kind)
    if "=" not in m.statement:
        raise ProveError("rule", f"{m.id}: the statement needs one '='")
    left, right = m.statement.split("=", 1)
    lhs, rhs = parse(left.strip()), parse(right.strip())
    names = {n.name for e in (lhs, rhs) for n in e.walk() if hasattr(n, "name") and
             type(n).__name__ == "Sym"}
    for n in names:
        env.setdefault(n, VarInfo(Shape(None, None)))
    scalar = set(m.scalar) | {n for n, v in m.variables.items() if v.shape == "scalar"}
    for group in (m.constant, m.scalar, m.invertible):
        for n in group:
            if n not in names:
                raise ProveError("rule", f"{m.id}: side condition names {n!r}, which is not in "
                                 "the statement")
    return Rule(m.id, lhs, rhs, env, frozenset(scalar), frozenset(m.constant),
                frozenset(m.invertible))


def load_rule_files(folder: Path) -> list[RuleEntry]:
    entries: list[RuleEntry] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        src = load_yaml(read_text(path))
        rf = plain_rule_file(src.data) or _validate(src, path)
        for i, m in enumerate(rf.rules):
            for name in [m.id, *m.aliases, *m.deprecated_aliases]:
                key = normalize(name)
                if key in seen:
                    line, _ = src.pos(("rules", i))
                    raise SourceError(f"{path.name}:{line}: {name!r} also names {seen[key]}")
                seen[key] = m.id
            line, col = src.pos(("rules", i, "statement"))
            entries.append(RuleEntry(m, None, path.name, f"{path.name}:{line}:{col}"))
    return entries


def _validate(src, path: Path):
    """The rule file through its model (`models.RuleFile`), which words what is wrong."""
    from pydantic import ValidationError

    from .models import RuleFile

    try:
        return RuleFile.model_validate(src.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line, col = src.pos(err["loc"])
        raise SourceError(f"{path.name}:{line}:{col}: {'.'.join(map(str, err['loc']))}: "
                          f"{err['msg']}") from None


@lru_cache(maxsize=8)
def _cached(folder: str) -> tuple[list[RuleEntry], RuleBook]:
    entries = load_rule_files(Path(folder))
    aliases = {a: e.model.id for e in entries for a in e.model.aliases}
    deprecated = {a: e.model.id for e in entries for a in e.model.deprecated_aliases}
    book = RuleBook([], aliases, deprecated)
    book.rules = _Rules(entries)  # built on first use
    book.names.update({normalize(e.model.id): e.model.id for e in entries})
    return entries, book


def load_rulebook(folder: Path | None = None) -> tuple[list[RuleEntry], RuleBook]:
    return _cached(str((folder or rules_dir()).resolve()))


@dataclass
class RuleVerdict:
    id: str
    status: str  # "confirmed", "probable", "false", "skipped"
    detail: str = ""


def verify_rule(entry: RuleEntry) -> RuleVerdict:
    """Confirm a rewrite rule's statement at small dimensions (every pattern variable varies
    unless the rule says it is constant)."""
    try:
        r = entry.rule
    except SourceError as exc:  # the statement does not parse
        return RuleVerdict(entry.model.id, "false", exc.message)
    if r.kind != "rewrite":
        return RuleVerdict(r.id, "skipped", f"a {r.kind} rule has no equation to confirm")
    env = dict(r.vars)
    for name in r.scalar:
        env[name] = VarInfo(SCALAR, env[name].constant, env[name].symmetric, env[name].invertible)
    missing = [n for n, v in env.items() if v.shape.rows is None]
    if missing:
        return RuleVerdict(r.id, "false", "give the shape of " + ", ".join(sorted(missing))
                           + " under variables: so that the rule can be confirmed")
    try:
        shape_of(r.lhs, env), shape_of(r.rhs, env)
    except ProveError as exc:
        return RuleVerdict(r.id, "false", f"the statement does not shape-check: {exc.diag.message}")
    ev = confirm_rule(r, exact=True)
    sizes = "; ".join(", ".join(f"{k} = {v}" for k, v in d.items()) for d in ev.sizes[-2:])
    if ev.kind == "exact":
        return RuleVerdict(r.id, "confirmed", f"exact (Z3) at {sizes or 'the declared sizes'}")
    if ev.kind == "probabilistic":
        return RuleVerdict(r.id, "probable", ev.note)
    detail = ev.note
    if ev.witness:
        from .render import witness_json

        detail = f"counterexample: {witness_json(ev.witness)}"
    return RuleVerdict(r.id, "false", detail)


def rule_reference(entries: list[RuleEntry]) -> str:
    """The rule reference page (docs/rules.md), generated from rules/*.yaml."""
    out = ["# Rule reference", "",
           "Generated from `rules/*.yaml` by `prove rules --format markdown`; a test keeps this",
           "page in step with the rule files. Cite a rule by its id or any alias; case, spaces,",
           "dashes and underscores do not matter, and `thm` abbreviates `theorem`.", ""]
    by_file: dict[str, list[RuleEntry]] = {}
    for e in entries:
        by_file.setdefault(e.file, []).append(e)
    for file, group in by_file.items():
        out += [f"## {file[:-5].capitalize()} (`rules/{file}`)", ""]
        for e in group:
            m = e.model
            out.append(f"### `{m.id}`")
            out.append("")
            if m.aliases:
                out.append("Aliases: " + ", ".join(f"`{a}`" for a in m.aliases))
                out.append("")
            out.append(f"    {m.statement}")
            out.append("")
            conds = []
            for name, v in m.variables.items():
                shape = v.shape if v.shape is None or v.shape == "scalar" else f"{v.shape[0]}×{v.shape[1]}"
                flags = [f for f in ("constant", "symmetric", "invertible") if getattr(v, f)]
                if shape or flags:
                    conds.append(f"`{name}`: " + ", ".join(([str(shape)] if shape else []) + flags))
            conds += [f"`{n}` constant" for n in m.constant]
            conds += [f"`{n}` scalar" for n in m.scalar]
            conds += [f"`{n}` invertible" for n in m.invertible]
            if conds:
                out.append("Where: " + "; ".join(conds) + ".")
                out.append("")
            out.append(m.summary)
            out.append("")
            out.append(f"Source: {m.source}")
            out.append("")
    return "\n".join(out)
