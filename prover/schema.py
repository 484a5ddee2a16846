"""The JSON Schema of proof files (`prove schema`, kept as docs/proof.schema.json) for editors and
CI validators. Untrusted: it only describes files; the loader (`proofs.py`) decides.

The schema is JSON Schema draft-07, the dialect the YAML language server and check-jsonschema both
implement in full, and it uses no keyword of a later draft (pydantic writes 2020-12's
`prefixItems` and `$defs`, which a draft-07 validator ignores). It is pydantic's schema of
`proofs.ProofFile`, rewritten so that it

- rejects what the checker rejects before any step is checked: a `shape` is `scalar` or exactly
  two dimensions, each a symbol (`checking.NAME`) or an integer from 1 to `Limits.max_dimension`;
  variable names are names and not reserved words; an expression may be written as a number
  (`rhs: 0`), as the loader allows;
- accepts a file holding one proof or a non-empty list of proofs (docs/guide.md §1.1);
- offers only real completions: the keys, `scalar`, the layouts, the rule ids and aliases (and
  `index`) for `by:`, and for each object one item that inserts its required keys, labelled in
  words (the YAML language server labels it with the object's `title`, which pydantic sets to
  the class name); no `null` alternatives or `default: null` for optional keys.

`ProofFile.model_json_schema()` returns this schema, so `prove schema` prints it. Read next:
`proofs.py` (the models), `cli.py` (`prove schema`).
"""
from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import model_json_schema

DIALECT = "http://json-schema.org/draft-07/schema#"
_REF = "#/definitions/{model}"

# The YAML language server offers, beside each key, one item that inserts all the required keys
# of an object at once, labelled with the object's title (pydantic's would be its class name).
_TITLES = {
    "ProofFile": "prove proof file",  # the root's title too (and `prove schema` sets it)
    "VarDecl": "a variable (shape)",
    "IdentityClaim": "an identity (lhs, rhs)",
    "DerivativeClaim": "a derivative (derivative, wrt)",
    "HessianClaim": "a Hessian (hessian, wrt)",
    "ExprStep": "a step (expr)",
    "DerivativeStep": "the final step (derivative)",
    "HessianStep": "the final step of a Hessian proof (hessian)",
}

# Hover text for the keys pydantic has no description for (pydantic's titles are dropped).
_DESCRIPTIONS = {
    "ProofFile": {
        "title": "a one-line description, printed next to the claim",
        "source": "where the result comes from (book, page, equation)",
        "layout": "numerator (the default) or denominator; matters only for derivative claims, "
                  "and a Hessian claim takes none",
        "variables": "every name the expressions use, with its shape and properties",
        "claim": "an identity {lhs, rhs}, a derivative {derivative, wrt, equals} or a Hessian "
                 "{hessian, wrt, equals}",
        "proof": "the chain of steps: the start (expr:), then each next expression with by:",
    },
    "VarDecl": {
        "constant": "held constant (its differential is 0)",
        "symmetric": "equal to its own transpose",
        "invertible": "square and invertible",
    },
    "IdentityClaim": {"lhs": "the left-hand side: the proof starts here",
                      "rhs": "the right-hand side: the proof ends here"},
    "DerivativeClaim": {"derivative": "the function f to differentiate",
                        "wrt": "the variable X: the claim is about ∂f/∂X",
                        "equals": "the derivative G that the claim asserts"},
    "HessianClaim": {"hessian": "the scalar function f whose Hessian is claimed",
                     "wrt": "the variable x (a column vector, a scalar, or a matrix X, read as vec(X))",
                     "equals": "the Hessian H that the claim asserts: symmetric, k×k for k entries of x"},
    "ExprStep": {"expr": "the next expression of the chain (the first one is the start)"},
    "DerivativeStep": {"derivative": "the final step: the derivative G read off tr(G dX)"},
    "HessianStep": {"hessian": "the final step of a Hessian proof: H = (G + G^T)/2 read off "
                               "dx^T G dx (vec(dX)^T G vec(dX) for a matrix)"},
}


def _expression_fields(model) -> set[str]:
    """The fields whose values are expressions: those the loader reads with `proofs._text`
    (which also accepts a number, `rhs: 0`)."""
    from .proofs import _text

    out: set[str] = set()
    for dec in model.__pydantic_decorators__.field_validators.values():
        if getattr(dec.func, "__func__", dec.func) is _text:
            out.update(dec.info.fields)
    return out


def _clean(node: Any, names: bool = False) -> Any:
    """Drop pydantic's titles, optional keys' `null` alternative and `default: null`, and write
    tuples the draft-07 way. `names`: node maps names to schemas (`properties`, `definitions`)."""
    if isinstance(node, list):
        return [_clean(x) for x in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _clean(v) for k, v in node.items()}
    node = {k: _clean(v, k in ("properties", "definitions", "$defs"))
            for k, v in node.items() if k != "title"}
    branches = node.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del node["anyOf"]
        if node.get("default", 0) is None:
            del node["default"]
        if len(rest) == 1 and "$ref" in rest[0]:  # draft-07 ignores a $ref's siblings
            node = {"allOf": rest, **node}
        elif len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
    if "prefixItems" in node:
        node["items"] = node.pop("prefixItems")
        node["additionalItems"] = False
    return node


def _definition_properties(name: str, schema: dict) -> dict:
    return schema["definitions"][name]["properties"]


def proof_schema() -> dict:
    """The proof-file JSON Schema (draft-07), with the rule ids and aliases offered for `by:`."""
    from .checking import NAME
    from .kernel.errors import Limits
    from .kernel.expr import RESERVED
    from .proofs import (Assume, DerivativeClaim, DerivativeStep, ExprStep, HessianClaim,
                         HessianStep, IdentityClaim, ProofFile, VarDecl)
    from .rulebase import load_rulebook

    raw = model_json_schema(ProofFile, ref_template=_REF)
    defs = raw.pop("$defs", {})
    defs["ProofFile"] = raw
    s: dict = {"$schema": DIALECT, "title": "prove proof file"}
    s["definitions"] = _clean(defs, names=True)
    models = {m.__name__: m for m in (ProofFile, VarDecl, IdentityClaim, DerivativeClaim,
                                      HessianClaim, ExprStep, DerivativeStep, HessianStep, Assume)}
    for name, model in models.items():
        props = _definition_properties(name, s)
        for field in _expression_fields(model):
            if field in props and props[field].get("type") == "string":
                props[field]["type"] = ["string", "number"]
        if name in _TITLES:
            s["definitions"][name]["title"] = _TITLES[name]
        for field, text in _DESCRIPTIONS.get(name, {}).items():
            props[field].setdefault("description", text)

    symbol = NAME.pattern
    dimension = {"oneOf": [
        {"type": "string", "pattern": symbol, "description": "a dimension symbol such as n"},
        {"type": "integer", "minimum": 1, "maximum": Limits.max_dimension,
         "description": f"a size from 1 to {Limits.max_dimension}"}]}
    s["definitions"]["Dimension"] = dimension
    var = _definition_properties("VarDecl", s)
    var["shape"] = {
        "description": "[rows, cols], each a dimension symbol (n) or a positive integer, or "
                       "scalar",
        "oneOf": [{"const": "scalar"},
                  {"type": "array", "minItems": 2, "maxItems": 2, "additionalItems": False,
                   "items": [{"$ref": "#/definitions/Dimension"}] * 2}]}
    variables = _definition_properties("ProofFile", s)["variables"]
    variables["propertyNames"] = {"pattern": symbol, "not": {"enum": sorted(RESERVED)}}

    sizes = _definition_properties("Assume", s)["sizes"]
    sizes["items"]["pattern"] = (r"^\s*([A-Za-z]\w*|\d+)\s*(>=|<=|[<>≥≤])\s*([A-Za-z]\w*|\d+)"
                                 r"\s*$")

    entries, _ = load_rulebook()
    names = sorted({n for e in entries for n in [e.model.id, *e.model.aliases]} | {"index"})
    s["definitions"]["Citation"] = {
        "description": "a rule id or alias (or a lemma's theorem name)",
        "anyOf": [{"enum": names}, {"type": "string"}]}
    cite = {"$ref": "#/definitions/Citation"}
    for step in ("ExprStep", "DerivativeStep", "HessianStep"):
        _definition_properties(step, s)["by"] = {
            "description": "the rule (or list of rules) that produces this line",
            "anyOf": [cite, {"type": "array", "minItems": 1, "items": cite}]}

    # A Hessian claim takes no layout (proofs.check_kinds); `type: object` keeps a list of
    # proofs (at the root) out of the condition.
    s["definitions"]["ProofFile"]["if"] = {
        "type": "object", "required": ["claim"],
        "properties": {"claim": {"type": "object", "required": ["hessian"]}}}
    s["definitions"]["ProofFile"]["then"] = {"not": {"required": ["layout"]}}

    # The root is a proof (object keywords) or a non-empty list of proofs (array keywords): each
    # keyword applies to its own type only, so no `anyOf` at the root, whose alternatives some
    # editors merge badly, and tools that read the root's `properties` still find them.
    root = copy.deepcopy(s["definitions"]["ProofFile"])
    s["description"] = ("A proof file of prove (docs/guide.md §1.1): one proof, or a list of "
                        "proofs that are checked and reported one by one.")
    s.update(root)
    s["type"] = ["object", "array"]
    s["minItems"] = 1
    s["items"] = {"$ref": "#/definitions/ProofFile"}
    return s
