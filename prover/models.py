"""The pydantic models of the two file formats: proof files (SPEC §3) and rule files (SPEC §4.1).

They are the formats' one description: the loaders validate with them (`proofs.parse_proof`,
`rulebase.load_rule_files`), the JSON Schema is generated from them (`schema.py`), and their
errors are the messages a user sees. Importing pydantic and building these models costs more
than importing Z3, so nothing imports this module until it is needed: `proofs` and `rulebase`
hand out these names on first use (PEP 562), and `prove check` reads a file that these models
would take as it stands without them (`fastload.py`, which defers every other file to them).
Read next: `fastload.py`, `schema.py`.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag, field_validator

from .kernel.errors import Limits
from .kernel.shapes import VarInfo
from .proofs import _kind, _text, decl_info, relation

Dim = Union[StrictInt, str]  # a YAML `true` is not the size 1


# -- proof files (prover/proofs.py reads them) -----------------------------------------------------
class VarDecl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shape: Union[Literal["scalar"], tuple[Dim, Dim]] = Field(
        description="[rows, cols] (dimension symbols or positive integers) or 'scalar'")
    constant: bool = False
    symmetric: bool = False
    invertible: bool = False

    def info(self) -> VarInfo:
        return decl_info(self)


class IdentityClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lhs: str
    rhs: str
    _t = field_validator("lhs", "rhs", mode="before")(_text)


class DerivativeClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    derivative: str
    wrt: str
    equals: Optional[str] = None
    _t = field_validator("derivative", "equals", mode="before")(_text)


class HessianClaim(BaseModel):
    """The Hessian of a scalar f in a column vector, scalar or matrix `wrt` (docs/guide.md §5):
    proved from d(d(f)) to dx^T H dx (vec(dX)^T H vec(dX) for a matrix), then read off."""

    model_config = ConfigDict(extra="forbid")
    hessian: str
    wrt: str
    equals: Optional[str] = None
    _t = field_validator("hessian", "equals", mode="before")(_text)


Citation = Union[str, list[str]]


class ExprStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expr: str
    by: Optional[Citation] = None
    _t = field_validator("expr", mode="before")(_text)


class DerivativeStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    derivative: str
    by: Optional[Citation] = None
    _t = field_validator("derivative", mode="before")(_text)


class HessianStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hessian: str
    by: Optional[Citation] = None
    _t = field_validator("hessian", mode="before")(_text)


Claim = Annotated[Union[Annotated[IdentityClaim, Tag("IdentityClaim")],
                        Annotated[DerivativeClaim, Tag("DerivativeClaim")],
                        Annotated[HessianClaim, Tag("HessianClaim")]],
                  Discriminator(_kind("IdentityClaim", "DerivativeClaim", "HessianClaim"))]
Step = Annotated[Union[Annotated[ExprStep, Tag("ExprStep")],
                       Annotated[DerivativeStep, Tag("DerivativeStep")],
                       Annotated[HessianStep, Tag("HessianStep")]],
                 Discriminator(_kind("ExprStep", "DerivativeStep", "HessianStep"))]


class Assume(BaseModel):
    """What the claim presumes (SPEC §3). It is part of what `valid` says, and is printed."""

    model_config = ConfigDict(extra="forbid")
    sizes: list[str] = Field(default_factory=list, max_length=20, description=(
        "relations between two dimension symbols (>=, >, <=, <: m >= n), or a lower bound on "
        "one (n >= 3); the claim is asserted only at sizes where they hold"))
    invertible: list[str] = Field(default_factory=list, max_length=20, description=(
        "square expressions the claim presumes invertible, e.g. X^T X; the claim is asserted "
        "only at sizes where they can be"))
    _t = field_validator("sizes", "invertible", mode="before")(
        lambda v: [_text(x) for x in v] if isinstance(v, list) else v)

    @field_validator("sizes")
    @classmethod
    def _relations(cls, v: list[str]) -> list[str]:
        for text in v:
            relation(text)
        return v


class ProofFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    theorem: str = Field(description="the theorem's name; other proofs cite it as a lemma")
    title: Optional[str] = None
    source: Optional[str] = None
    layout: Literal["numerator", "denominator"] = "numerator"
    variables: dict[str, VarDecl]
    claim: Claim
    assume: Optional[Assume] = Field(default=None, description=(
        "what the claim presumes about sizes or expressions; part of what `valid` says"))
    proof: list[Step] = Field(default_factory=list,
                                                         max_length=Limits.max_steps)


# -- rule files (prover/rulebase.py reads them) -------------------------------------------------------
class RuleVar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shape: Union[Literal["scalar"], tuple[Dim, Dim], None] = None
    constant: bool = False
    symmetric: bool = False
    invertible: bool = False


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="kebab-case rule id")
    aliases: list[str] = []
    deprecated_aliases: list[str] = []
    kind: Literal["rewrite", "algebra", "derivative", "hessian"] = "rewrite"
    statement: str
    variables: dict[str, RuleVar] = {}
    constant: list[str] = []
    scalar: list[str] = []
    invertible: list[str] = []
    source: str
    summary: str


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[RuleModel]
