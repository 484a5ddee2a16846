"""Reading a proof file or a rule file that the pydantic models (`models.py`) would take as it
stands, without importing pydantic (which costs `prove check` more than Z3 does).

This is not a second description of the formats: it recognises only the plainest data (every
key one the model declares, every value already of the type the model would make of it, with the
models' own `_text`, `_kind` and `relation` applied), builds what the model would build, and
returns None at the first doubt, so that the model validates the data and words the error. So
it can only ever answer what the models answer, or decline. Anything the models change (a new
key, a new constraint) is declined here until it is taught here too; `tests/test_fastload.py`
checks the key sets, requirements and defaults here against the models' fields, and every file
of the corpus (and mutations of them) against the models' own reading.
Read next: `models.py`, `proofs.py` (`read_proof`), `rulebase.py` (`load_rule_files`).
"""
from __future__ import annotations

import re
from typing import Any

from .kernel.errors import Limits

# Field names, the required ones, and the defaults, as in models.py (a test compares them).
PROOF_KEYS = ("theorem", "title", "source", "layout", "variables", "claim", "assume", "proof")
PROOF_REQUIRED = ("theorem", "variables", "claim")
VAR_KEYS = ("shape", "constant", "symmetric", "invertible")
IDENTITY_KEYS = ("lhs", "rhs")
DERIVATIVE_KEYS = ("derivative", "wrt", "equals")
HESSIAN_KEYS = ("hessian", "wrt", "equals")
EXPR_STEP_KEYS = ("expr", "by")
DERIVATIVE_STEP_KEYS = ("derivative", "by")
HESSIAN_STEP_KEYS = ("hessian", "by")
ASSUME_KEYS = ("sizes", "invertible")
ASSUME_MAX = 20  # max_length of each list of Assume
LAYOUTS = ("numerator", "denominator")
RULE_FILE_KEYS = ("rules",)
RULE_KEYS = ("id", "aliases", "deprecated_aliases", "kind", "statement", "variables", "constant",
             "scalar", "invertible", "source", "summary")
RULE_REQUIRED = ("id", "statement", "source", "summary")
RULE_KINDS = ("rewrite", "algebra", "derivative", "hessian")
RULE_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # RuleModel.id's pattern, matched in full


class Plain:
    """What a model would have built: the same attributes (and `info()` for a variable)."""

    def __init__(self, **fields: Any):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return "Plain(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


class PlainVar(Plain):
    def info(self):
        from .proofs import decl_info

        return decl_info(self)


class _Decline(Exception):
    pass


def _mapping(v: Any, keys: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
    if type(v) is not dict or not set(v) <= set(keys) or not all(k in v for k in required):
        raise _Decline
    return v


def _str(v: Any) -> str:
    if type(v) is not str:
        raise _Decline
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _Decline
    return v


def _expr(v: Any) -> str:
    """A field the models read with `_text` first (a number is taken as its text)."""
    from .proofs import _text

    try:
        return _str(_text(v))
    except ValueError:
        raise _Decline from None


def _shape(v: Any, optional: bool = False):
    if v is None and optional:
        return None
    if v == "scalar" and type(v) is str:
        return v
    if type(v) is list and len(v) == 2 and all(type(x) in (int, str) for x in v):
        return (v[0], v[1])
    raise _Decline


def _str_list(v: Any) -> list[str]:
    if type(v) is not list:
        raise _Decline
    return [_str(x) for x in v]


def _var(v: Any, cls=Plain, optional_shape: bool = False) -> Plain:
    m = _mapping(v, VAR_KEYS, () if optional_shape else ("shape",))
    return cls(shape=_shape(m.get("shape"), optional_shape),
               constant=_bool(m.get("constant", False)), symmetric=_bool(m.get("symmetric", False)),
               invertible=_bool(m.get("invertible", False)))


def _variables(v: Any, cls=Plain, optional_shape: bool = False) -> dict:
    if type(v) is not dict:
        raise _Decline
    return {_str(k): _var(x, cls, optional_shape) for k, x in v.items()}


def _citation(v: Any):
    if v is None or type(v) is str:
        return v
    return _str_list(v)


def _claim(v: Any) -> Plain:
    from .proofs import _kind

    kind = _kind("identity", "derivative", "hessian")(v)
    if kind != "identity":
        m = _mapping(v, DERIVATIVE_KEYS if kind == "derivative" else HESSIAN_KEYS, (kind, "wrt"))
        eq = m.get("equals")
        return Plain(**{kind: _expr(m[kind])}, wrt=_str(m["wrt"]), equals=None if eq is None else _expr(eq))
    m = _mapping(v, IDENTITY_KEYS, IDENTITY_KEYS)
    return Plain(lhs=_expr(m["lhs"]), rhs=_expr(m["rhs"]))


def _step(v: Any) -> Plain:
    from .proofs import _kind

    kind = _kind("expr", "derivative", "hessian")(v)
    if kind != "expr":
        m = _mapping(v, DERIVATIVE_STEP_KEYS if kind == "derivative" else HESSIAN_STEP_KEYS, (kind,))
        return Plain(**{kind: _expr(m[kind])}, by=_citation(m.get("by")))
    m = _mapping(v, EXPR_STEP_KEYS, ("expr",))
    return Plain(expr=_expr(m["expr"]), by=_citation(m.get("by")))


def _assume(v: Any) -> Plain | None:
    from .proofs import relation

    if v is None:
        return None
    m = _mapping(v, ASSUME_KEYS)
    lists = {}
    for key in ASSUME_KEYS:
        items = m.get(key, [])
        if type(items) is not list or len(items) > ASSUME_MAX:
            raise _Decline
        lists[key] = [_expr(x) for x in items]
    try:
        for text in lists["sizes"]:
            relation(text)
    except ValueError:
        raise _Decline from None
    return Plain(**lists)


def plain_proof(data: Any) -> Plain | None:
    """`ProofFile.model_validate(data)`'s attributes when the data is plainly valid, else None."""
    try:
        m = _mapping(data, PROOF_KEYS, PROOF_REQUIRED)
        layout = m.get("layout", "numerator")
        if type(layout) is not str or layout not in LAYOUTS:
            raise _Decline
        proof = m.get("proof", [])
        if type(proof) is not list or len(proof) > Limits.max_steps:
            raise _Decline
        return Plain(theorem=_str(m["theorem"]), title=_opt_str(m.get("title")),
                     source=_opt_str(m.get("source")), layout=layout,
                     variables=_variables(m["variables"], PlainVar), claim=_claim(m["claim"]),
                     assume=_assume(m.get("assume")), proof=[_step(x) for x in proof])
    except _Decline:
        return None


def plain_rule_file(data: Any) -> Plain | None:
    """`RuleFile.model_validate(data)`'s attributes when the data is plainly valid, else None."""
    try:
        rules = _mapping(data, RULE_FILE_KEYS, RULE_FILE_KEYS)["rules"]
        if type(rules) is not list:
            raise _Decline
        out = []
        for r in rules:
            m = _mapping(r, RULE_KEYS, RULE_REQUIRED)
            if not RULE_ID.fullmatch(_str(m["id"])):
                raise _Decline
            kind = m.get("kind", "rewrite")
            if type(kind) is not str or kind not in RULE_KINDS:
                raise _Decline
            out.append(Plain(
                id=m["id"], aliases=_str_list(m.get("aliases", [])),
                deprecated_aliases=_str_list(m.get("deprecated_aliases", [])), kind=kind,
                statement=_str(m["statement"]),
                variables=_variables(m.get("variables", {}), optional_shape=True),
                constant=_str_list(m.get("constant", [])), scalar=_str_list(m.get("scalar", [])),
                invertible=_str_list(m.get("invertible", [])), source=_str(m["source"]),
                summary=_str(m["summary"])))
        return Plain(rules=out)
    except _Decline:
        return None
