"""`fastload` reads a file without pydantic only when it would read it exactly as the models do:
its tables agree with the models' fields, and on every file of the corpus and thousands of
mutations of them it either declines or gives the model's own attributes."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from prover import fastload
from prover.fastload import Plain, plain_proof, plain_rule_file
from prover.models import (Assume, DerivativeClaim, DerivativeStep, ExprStep, HessianClaim,
                           HessianStep, IdentityClaim, ProofFile, RuleFile, RuleModel, RuleVar,
                           VarDecl)
from prover.source import SourceError, load_yaml, read_text

ROOT = Path(__file__).resolve().parent.parent


def _fields(model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model.model_fields
    return tuple(fields), tuple(n for n, f in fields.items() if f.is_required())


@pytest.mark.parametrize("model,keys,required", [
    (ProofFile, fastload.PROOF_KEYS, fastload.PROOF_REQUIRED),
    (VarDecl, fastload.VAR_KEYS, ("shape",)),
    (RuleVar, fastload.VAR_KEYS, ()),
    (IdentityClaim, fastload.IDENTITY_KEYS, fastload.IDENTITY_KEYS),
    (DerivativeClaim, fastload.DERIVATIVE_KEYS, ("derivative", "wrt")),
    (ExprStep, fastload.EXPR_STEP_KEYS, ("expr",)),
    (DerivativeStep, fastload.DERIVATIVE_STEP_KEYS, ("derivative",)),
    (HessianClaim, fastload.HESSIAN_KEYS, ("hessian", "wrt")),
    (HessianStep, fastload.HESSIAN_STEP_KEYS, ("hessian",)),
    (Assume, fastload.ASSUME_KEYS, ()),
    (RuleFile, fastload.RULE_FILE_KEYS, fastload.RULE_FILE_KEYS),
    (RuleModel, fastload.RULE_KEYS, fastload.RULE_REQUIRED),
])
def test_the_tables_are_the_models_fields(model, keys, required):
    assert _fields(model) == (keys, required)


def test_the_defaults_and_constraints_are_the_models():
    assert ProofFile.model_fields["layout"].default == "numerator"
    assert set(ProofFile.model_fields["layout"].annotation.__args__) == set(fastload.LAYOUTS)
    assert set(RuleModel.model_fields["kind"].annotation.__args__) == set(fastload.RULE_KINDS)
    assert RuleModel.model_fields["kind"].default == "rewrite"
    for name in fastload.ASSUME_KEYS:
        assert [m.max_length for m in Assume.model_fields[name].metadata] == [fastload.ASSUME_MAX]
    pattern = next(m.pattern for m in RuleModel.model_fields["id"].metadata if hasattr(m, "pattern"))
    assert pattern == "^" + fastload.RULE_ID.pattern + "$"


def _plain(x):
    """A model or a Plain as nested builtins, keeping tuple apart from list."""
    if isinstance(x, BaseModel):
        return {k: _plain(getattr(x, k)) for k in type(x).model_fields}
    if isinstance(x, Plain):
        return {k: _plain(v) for k, v in vars(x).items()}
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return (type(x).__name__, x)


def _agrees(model, fast, data) -> bool:
    """False when fastload read data the model refuses, or read it differently."""
    got = fast(data)
    if got is None:
        return True
    try:
        want = model.model_validate(copy.deepcopy(data))
    except ValidationError:
        return False
    if _plain(got) != _plain(want):
        return False
    if model is ProofFile:
        return all(got.variables[n].info() == v.info() for n, v in want.variables.items())
    return True


def _yaml_data(paths) -> list:
    out = []
    for path in paths:
        try:
            data = load_yaml(read_text(path)).data
        except SourceError:
            continue
        out.extend(data if isinstance(data, list) else [data])
    return out


PROOF_FILES = sorted(p for p in ROOT.glob("**/*.y*ml") if ".venv" not in p.parts
                     and "rules" not in p.parts and p.suffix in (".yaml", ".yml"))
RULE_FILES = sorted((ROOT / "rules").glob("*.yaml"))
PALETTE = [None, True, False, 0, 3, -1, 1.5, "", "x", "scalar", "n >= 3", "m < 2", [], {}, ["a"],
           [1, 2], [2, "n"], ["n", True], {"a": 1}, ["x", 1]]


def _mutations(data):
    """The data with one value replaced (by each of PALETTE), one key dropped or one added."""
    if isinstance(data, dict):
        for k in list(data):
            for v in PALETTE:
                yield {**data, k: v}
            yield {x: y for x, y in data.items() if x != k}
            for sub in _mutations(data[k]):
                yield {**data, k: sub}
        yield {**data, "extra": 1}
        yield {**data, "wrt": "X"}
    elif isinstance(data, list):
        for i, item in enumerate(data):
            for sub in _mutations(item):
                yield data[:i] + [sub] + data[i + 1:]
        if data:
            yield data[:-1]
            yield data + [data[-1]]


def test_the_corpus_is_read_as_the_models_read_it():
    data = _yaml_data(PROOF_FILES)
    assert len(data) > 50
    fast = 0
    for d in data:
        assert _agrees(ProofFile, plain_proof, d), d
        fast += plain_proof(d) is not None
    assert fast > 40  # the shipped proofs are read without pydantic


def test_mutated_proofs_are_read_as_the_models_read_them_or_declined():
    shipped = _yaml_data(sorted((ROOT / "proofs").glob("*.yaml")))[:12]
    n = 0
    for d in shipped:
        for m in _mutations(d):
            n += 1
            assert _agrees(ProofFile, plain_proof, m), m
    assert n > 1000


def test_rule_files_are_read_as_the_models_read_them_or_declined():
    data = _yaml_data(RULE_FILES)
    assert data and all(plain_rule_file(d) is not None for d in data)
    for d in data:
        assert _agrees(RuleFile, plain_rule_file, d)
        one = {"rules": d["rules"][:3]}
        for m in _mutations(one):
            assert _agrees(RuleFile, plain_rule_file, m), m


def test_a_rule_id_with_a_trailing_newline_is_left_to_the_model():
    rule = {"id": "ab\n", "statement": "a = a", "source": "s", "summary": "s"}
    assert plain_rule_file({"rules": [rule]}) is None
    with pytest.raises(ValidationError):
        RuleFile.model_validate({"rules": [rule]})
