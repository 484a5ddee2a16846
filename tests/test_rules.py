"""The rule base is data, and every rule in it is confirmed before anyone relies on it."""
import shutil
from pathlib import Path

import pytest

from prover.rulebase import (build_rule, load_rule_files, load_rulebook, rule_reference, RuleModel,
                             verify_rule)
from prover.source import SourceError

ROOT = Path(__file__).resolve().parent.parent
SEED = {"trace-scalar": "theorem-1", "trace-add": "trace-property-1", "trace-scale": "trace-property-2",
        "trace-transpose": "trace-property-3", "trace-cyclic": "theorem-2", "diff-trace": "theorem-3",
        "diff-constant": "differential-property-1", "diff-scale": "differential-property-2",
        "diff-add": "differential-property-3", "diff-product": "differential-property-4",
        "derivative-from-differential": "theorem-4"}


def test_seed_rules_and_aliases(book):
    for rid, alias in SEED.items():
        assert book.resolve(rid) == rid
        assert book.resolve(alias) == rid
    assert book.resolve("algebra") == "algebra"
    # citations forgive case, spaces and dashes
    for spelling in ("Theorem 2", "theorem2", "thm-2", "trace-cyclic", "TRACE_CYCLIC",
                     "trace-property-4"):
        assert book.resolve(spelling) == "trace-cyclic"
    assert book.resolve("product-rule") == "diff-product"
    assert book.resolve("theorem-9") is None


@pytest.mark.parametrize("entry", load_rulebook()[0], ids=lambda e: e.model.id)
def test_every_rule_is_confirmed(entry):
    """Polynomial rules exactly (Z3 at sizes that cover their degree); rules with det, inverses,
    entrywise functions, or ∘, ⊗ and vec at sizes past Z3's reach (the labels of their entries),
    at random points of every size up to the bound their operators need."""
    v = verify_rule(entry)
    text = entry.model.statement if hasattr(entry.model, "statement") else ""
    if any(op in text for op in ("det(", "^-1", "log(", "exp(", "sqrt(", "sigmoid(", "tanh(", "∘", "kron(",
                                 "vec(")):
        assert v.status in ("confirmed", "probable"), v
    else:
        assert v.status in ("confirmed", "skipped"), v


@pytest.mark.parametrize("statement, variables", [
    ("tr(A B) = tr(A) tr(B)", {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]}}),
    ("(A B)^T = A^T B^T", {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]}}),
    ("d(X X) = 2 X d(X)", {"X": {"shape": ["n", "n"]}}),
    ("A B = B A", {"A": {"shape": ["n", "n"]}, "B": {"shape": ["n", "n"]}}),
])
def test_a_false_rule_is_reported_never_used(statement, variables):
    m = RuleModel(id="bad-rule", statement=statement, variables=variables, source="a typo",
                  summary="wrong on purpose")
    from prover.rulebase import RuleEntry

    v = verify_rule(RuleEntry(m, build_rule(m), "bad.yaml"))
    assert v.status == "false"
    assert "counterexample" in v.detail


def test_cli_verify_fails_on_a_false_rule(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    (folder / "zz-bad.yaml").write_text(
        "rules:\n  - id: trace-product\n    statement: tr(A B) = tr(A) tr(B)\n"
        "    variables: {A: {shape: [n, n]}, B: {shape: [n, n]}}\n"
        "    source: nowhere\n    summary: false on purpose\n")
    monkeypatch.setenv("PROVE_RULES", str(folder))
    from helpers import run_cli

    r = run_cli(["rules", "--verify"])
    assert r.exit_code == 1
    assert "trace-product" in r.output and "verified: false" in r.output
    assert "1 not confirmed" in r.output


def test_rule_file_errors_name_the_place(tmp_path):
    (tmp_path / "r.yaml").write_text("rules:\n  - id: x\n    statment: d(A) = 0\n"
                                     "    source: s\n    summary: s\n")
    with pytest.raises(SourceError) as info:
        load_rule_files(tmp_path)
    assert "r.yaml:" in info.value.message


def test_duplicate_names_are_refused(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: a-rule\n    aliases: [theorem-1]\n    statement: X = X\n"
        "    source: s\n    summary: s\n  - id: b-rule\n    aliases: [Theorem 1]\n"
        "    statement: X = X\n    source: s\n    summary: s\n")
    with pytest.raises(SourceError, match="also names a-rule"):
        load_rule_files(tmp_path)


def test_rule_reference_is_in_sync():
    entries, _ = load_rulebook()
    assert (ROOT / "docs" / "rules.md").read_text() == rule_reference(entries), \
        "regenerate with: prove rules --format markdown > docs/rules.md"


def test_a_rule_whose_statement_does_not_parse_is_reported_with_its_place(tmp_path):
    """Rules are built from their statements on first use (start-up): a statement that does not
    parse is still reported, with file, line and column — as `false` by `prove rules --verify`,
    and as an error (exit 2) by a command that uses it — never a traceback."""

    from tests.helpers import run_cli

    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    diff = folder / "differential.yaml"
    diff.write_text(diff.read_text().replace("statement: d(tr(X)) = tr(d(X))", "statement: d(tr(X)) = tr(d(X)"))
    env = {"PROVE_RULES": str(folder)}
    r = run_cli(["rules", "--verify"], env=env)
    assert r.exit_code == 1 and "verified: false — differential.yaml:6:16: diff-trace: expected ')'" in r.output
    r = run_cli(["derive", "tr(X)", "--wrt", "X", "--var", "X: n x n"], env=env)
    assert r.exit_code == 2 and "differential.yaml:6:16: diff-trace" in r.output
    assert "Traceback" not in r.output
