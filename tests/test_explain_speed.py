"""The explainer's shortcuts must not change a word it says. Two of them skip the relaxed search
(`justify(..., relaxed=True)` then `unmet_conditions`: the side conditions a step would need):

- `explain._unmet` answers [] without the search when the cited rules have no side condition
  at all (`_conditionless`): `unmet_conditions` keeps only texts that name a condition;
- `_unjustified` does not ask at all when it has a rule list to name and no cited rule has an
  invertibility condition: the answer is then read only for an `assume: {invertible: …}` help.

Each is compared with the slow way on real steps (true steps cited with the wrong rules, false
steps, steps that need an invertible matrix), and each comparison is shown to catch a shortcut
taken where it must not be.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import prover.explain as E
from prover.checking import verdicts
from prover.kernel.shapes import Shape, VarInfo
from prover.kernel.truth import Context
from prover.proofs import load_proof_text
from prover.rulebase import load_rulebook
from prover.search import justify, unmet_conditions

ROOT = Path(__file__).resolve().parent.parent
_, BOOK = load_rulebook()
RULES = [r for r in BOOK.rules.values() if r.kind == "rewrite"]
VARS = ("variables: {a: {shape: [n, 1], constant: true}, X: {shape: [n, n]}, Y: {shape: [n, n]}, "
        "A: {shape: [n, n], constant: true}, c: {shape: [1, 1], constant: true}}")
# (line before, line, citation): true steps cited wrongly (unjustified), false steps, steps
# whose rule needs a matrix to be invertible that the proof does not declare
CASES = [
    ("tr(d(a a^T X))", "tr(d(a a^T) X + a a^T dX)", "diff-trace"),
    ("d(tr(a a^T X))", "tr(d(a a^T) X + a a^T dX)", "diff-product"),
    ("tr(d(a a^T X))", "tr(d(a a^T) X)", "diff-product"),
    ("d(X Y)", "X dY", "diff-constant"),
    ("d(X Y)", "dX Y + X dY", "diff-constant"),
    ("d(A X)", "A dX", "diff-constant"),
    ("d(c X)", "c dX", "diff-product"),
    ("d(det(X))", "det(X) tr(X^-1 dX)", "diff-det"),
    ("d(det(X Y))", "det(X Y) tr((X Y)^-1 d(X Y))", "diff-det"),
    ("d(det(X^T X))", "det(X^T X) tr((X^T X)^-1 d(X^T X))", "diff-det"),
    ("d(det(X Y))", "det(X Y) tr((X Y)^-1 (dX Y + X dY))", "[diff-det, diff-product]"),
    ("tr(A X Y)", "tr(Y A X)", "trace-transpose"),
    ("d(X^T X)", "dX^T X + X^T dX", "diff-transpose"),
    ("tr(c A X)", "c tr(X A)", "trace-cyclic"),
    ("tr(A X)", "tr(X A) + 1", "trace-cyclic"),
]


def _text(before: str, after: str, by: str) -> str:
    return (f"theorem: t\n{VARS}\nclaim: {{lhs: {before}, rhs: {after}}}\nproof:\n"
            f"  - expr: {before}\n  - expr: {after}\n    by: {by}\n")


def _slow_unmet(prev, cur, rules, ctx) -> list[str]:
    """What the explainer computed before the shortcut: always the relaxed search."""
    try:
        relaxed = justify(prev, cur, rules, ctx, max_apps=3, budget=1500, relaxed=True)
    except E._SEARCH_FAILS:
        relaxed = None
    return unmet_conditions(relaxed, rules, ctx) if relaxed else []


def _steps():
    """(line before, line, context, citation, is it one of CASES) of every case and every step
    of the shipped proofs."""
    out = []
    texts = [(_text(*c), True) for c in CASES]
    texts += [(p.read_text(), False) for p in sorted((ROOT / "proofs").glob("*.yaml"))]
    for text, case in texts:
        try:
            proof = load_proof_text(text)
        except Exception:  # a file this loader does not take (lemmas, another layout)
            continue
        result = verdicts(proof, BOOK)
        if result.context is None:
            continue
        for r in result.steps:
            if r.before_tree is not None and r.expr_tree is not None:
                out.append((r.before_tree, r.expr_tree, result.context, r.by, case))
    return out


STEPS = _steps()


def test_the_corpus_has_steps_of_every_kind():
    assert len(STEPS) >= 40


CONDITIONED = [r for r in RULES if not E._conditionless([r], Context({}, set()))]


def _rule_lists(by, case: bool):
    """The cited rules; on a case also each rule with a side condition alone, and a pair of
    condition-free rules."""
    cited = [BOOK.rules[b] for b in by if b in BOOK.rules]
    more = [[r] for r in CONDITIONED] + [[BOOK.rules["diff-trace"], BOOK.rules["diff-product"]]]
    return [cited] + (more if case else [])


def test_unmet_is_what_the_relaxed_search_gives():
    """On every step, with its cited rules (and on the cases each rule that has a side condition
    alone, and a condition-free pair): the same texts as the search, which is skipped often."""
    skipped = named = 0
    for prev, cur, ctx, by, case in STEPS:
        for rules in _rule_lists(by, case):
            slow = _slow_unmet(prev, cur, rules, ctx)
            assert E._unmet(prev, cur, rules, ctx) == slow, (prev, cur, [r.id for r in rules])
            skipped += E._conditionless(rules, ctx)
            named += bool(slow)
    assert skipped >= 40 and named >= 5


def test_the_unmet_comparison_catches_a_wrong_skip(monkeypatch):
    """A shortcut taken for rules with side conditions loses texts the search gives."""
    monkeypatch.setattr(E, "_conditionless", lambda *a, **k: True)
    lost = [1 for prev, cur, ctx, by, case in STEPS for rules in _rule_lists(by, case)
            if _slow_unmet(prev, cur, rules, ctx) != E._unmet(prev, cur, rules, ctx)]
    assert len(lost) >= 5


def test_conditionless_refuses_a_name_that_spells_needs():
    """A shape text names rules, pattern variables and declared names: if one of them spells
    "needs", `unmet_conditions` could keep such a text, so nothing is skipped."""
    plain = BOOK.rules["diff-trace"]
    ctx = Context({"X": VarInfo(Shape("n", "n"))}, {"X"})
    assert E._conditionless([plain], ctx)
    assert not E._conditionless([dataclasses.replace(plain, id="needs-more")], ctx)
    assert not E._conditionless([plain], Context({"needs": VarInfo(Shape("n", "n"))}, {"needs"}))
    assert not E._conditionless([plain], Context({"X": VarInfo(Shape("needs", "n"))}, {"X"}))
    assert not E._conditionless([BOOK.rules["diff-det"]], ctx)
    assert E._conditionless([BOOK.rules["diff-constant"]], ctx, ("invertible",))
    assert not E._conditionless([BOOK.rules["diff-det"]], ctx, ("invertible",))


def _explained(text: str, monkeypatch, conditionless=None) -> list:
    """Every text `explain` gives for the proof, with the memos emptied first; with
    `conditionless`, that function in place of the shortcut's test."""
    monkeypatch.setattr(E, "SHARED", None)
    E._EXPLAINED.clear()
    BOOK.__dict__.pop("_suggested", None)
    with monkeypatch.context() as m:
        if conditionless is not None:
            m.setattr(E, "_conditionless", conditionless)
        proof = load_proof_text(text)
        result = E.explain(proof, verdicts(proof, BOOK), BOOK)
    E._EXPLAINED.clear()
    BOOK.__dict__.pop("_suggested", None)
    return [result.message] + [(r.status, r.message, r.help, list(r.suggestion),
                                None if r.counterexample is None else
                                (r.counterexample.labels, r.counterexample.modulus))
                               for r in result.steps]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}:{c[0]}" for c in CASES])
def test_explanations_are_those_of_the_slow_way(case, monkeypatch):
    """`explain` with both shortcuts and with neither (the relaxed search always run, and its
    answer always read) says the same."""
    text = _text(*case)
    assert _explained(text, monkeypatch) == _explained(text, monkeypatch, lambda *a, **k: False)


def test_the_explanation_comparison_catches_a_wrong_skip(monkeypatch):
    """Skipping where a condition is wanted loses the `assume:` help of an unjustified step and
    the side-condition hint of a false one."""
    changed = []
    for case in CASES:
        text = _text(*case)
        if _explained(text, monkeypatch) != _explained(text, monkeypatch, lambda *a, **k: True):
            changed.append(case[2])
    assert "diff-det" in changed and "diff-constant" in changed


def test_the_relaxed_search_is_skipped_where_it_can_be(monkeypatch):
    """The unjustified steps cited with condition-free rules, and those with a rule list to
    name whose rules want no invertible matrix, run no relaxed search."""
    runs = []
    real = E.justify

    def counting(*a, **kw):
        if kw.get("relaxed"):
            runs.append(a[:2])
        return real(*a, **kw)

    monkeypatch.setattr(E, "justify", counting)
    for case in CASES[:2] + [("d(A X)", "A dX", "diff-constant"), ("tr(c A X)", "c tr(X A)", "trace-cyclic")]:
        _explained(_text(*case), monkeypatch)
    assert runs == []
    _explained(_text(*CASES[8]), monkeypatch)  # diff-det: an invertible matrix may be wanted
    assert runs
