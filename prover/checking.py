"""Checking a proof as a user sees it: the kernel's verdicts (`kernel.replay.check_proof`, with
the search as its untrusted source of certificates), then the explanations (`explain`).
Everything outside the kernel calls this, never the replay directly."""
from __future__ import annotations

import difflib

from .explain import explain
from .kernel.replay import LemmaResolver, ProofIn, ProofResult, RuleBook, normalize
from .kernel.replay import check_proof as kernel_check
from .search import certificate


def closest(book: RuleBook, name: str) -> list[str]:
    """Rule ids whose names are close to a citation that names none."""
    found = difflib.get_close_matches(normalize(name), list(book.names), 3, 0.75)
    return list(dict.fromkeys(book.names[m] for m in found))


def check_proof(proof: ProofIn, book: RuleBook, lemmas: LemmaResolver | None = None) -> ProofResult:
    result = kernel_check(proof, book, lemmas, justifier=certificate)
    for r in result.steps:
        if r.status == "error" and r.message.startswith("unknown rule") and not r.help:
            name = r.message.split("'", 2)[1] if "'" in r.message else ""
            near = closest(book, name)
            r.help = ("did you mean " + " or ".join(near) + "?") if near else (
                "`prove rules` lists the rules; a lemma is another proof file's theorem name")
    return explain(proof, result, book, lemmas)
