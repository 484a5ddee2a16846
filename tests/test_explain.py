"""Explanations (untrusted, never a verdict): did-you-mean for run-together names and other
spellings of the functions; they change help lines only."""
import pytest

from prover.proofs import check_file

DECLS = "  A: {shape: [n, n]}\n  X: {shape: [n, n]}\n  B: {shape: [n, n]}\n"


def proof(line: str) -> str:
    return (f"theorem: t\nvariables:\n{DECLS}claim: {{lhs: tr(A X B), rhs: tr(B A X)}}\n"
            f"proof:\n  - expr: tr(A X B)\n  - expr: {line}\n    by: trace-cyclic\n")


@pytest.mark.parametrize("line, help", [
    ("tr(BAX)", "did you mean B A X?"),
    ("trace(B A X)", "did you mean tr(…)?"),
    ("Tr(B A X)", "did you mean tr(…)?"),
    ("tr(B A inv(X^-1))", "did you mean X^-1? write (…)^-1"),
])
def test_did_you_mean(tmp_path, line, help):
    p = tmp_path / "p.yaml"
    p.write_text(proof(line))
    fr = check_file(p)
    s = fr.steps[1]
    assert s.status == "error" and help in s.help


def test_a_name_that_splits_no_way_keeps_the_declaration_help(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(proof("tr(B A Q)"))
    s = check_file(p).steps[1]
    assert s.status == "error" and "declare it under `variables:`" in s.help
