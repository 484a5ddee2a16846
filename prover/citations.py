"""Rules by name (untrusted): citations as students write them, resolved to rule objects.

Case, spaces, dashes and underscores are forgiven, `thm` abbreviates `theorem`, deprecated
aliases still resolve (with a warning), `index` asks for no rule, and a name that is no rule may
be a lemma (another proof file's theorem). The kernel confirms every rule it is handed before a
step rests on it, so a mistake here can refuse a step but never make a false one valid.
"""
from __future__ import annotations

import re

from .kernel.replay import Citer
from .kernel.rules import Rule


def normalize(name: str) -> str:
    """
    >>> normalize("Theorem 2") == normalize("thm-2") == normalize("theorem2")
    True
    """
    known = type(name) is str  # (anything else fails below, as it always did)
    if known and (hit := _NORMAL.get(name)) is not None:
        return hit
    n = re.sub(r"[\s\-_]+", "", name.strip().lower())
    n = re.sub(r"^thm(?=\d)", "theorem", n)
    if known:
        if len(_NORMAL) >= 4096:
            _NORMAL.clear()
        _NORMAL[name] = n
    return n


_NORMAL: dict[str, str] = {}  # a name as written -> normalize(name): a class repeats its names


class RuleBook:
    def __init__(self, rules: list[Rule], aliases: dict[str, str],
                 deprecated: dict[str, str] | None = None):
        self.rules = {r.id: r for r in rules}
        self.names = {normalize(r.id): r.id for r in rules}
        self.names.update({normalize(a): rid for a, rid in aliases.items()})
        self.deprecated = {normalize(k): v for k, v in (deprecated or {}).items()}

    def resolve(self, name: str) -> str | None:
        n = normalize(name)
        return self.names.get(n) or self.deprecated.get(n)

    def closest(self, name: str) -> list[str]:
        import difflib  # only for a name that is no rule: not at start-up

        found = difflib.get_close_matches(normalize(name), list(self.names), 3, 0.75)
        return list(dict.fromkeys(self.names[m] for m in found))


def citer(book: RuleBook, lemmas=None) -> Citer:
    """The kernel's view of the rule base (and of the lemmas, if any)."""
    def cite(name: str):
        rid = book.resolve(name)
        if rid is not None:
            warning = (f"{name!r} is a deprecated name for {rid}"
                       if normalize(name) in book.deprecated else "")
            return book.rules[rid], "", warning
        if normalize(name) == "index":
            return "index", "", ""
        if lemmas is not None:
            rule, reason = lemmas(name)
            return rule, reason, ""
        return None, "", ""
    return cite
