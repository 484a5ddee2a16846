"""Errors as values: every problem the kernel finds is a `Diagnostic` with a code, a message, a
source span and a help line. The one exception type, `ProveError`, carries a Diagnostic.

Where the text came from (file, line, column) is attached by the loader (`prover/proofs.py`);
drawing the caret is the job of `prover/render.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .expr import NOSPAN, Span


@dataclass
class Diagnostic:
    code: str  # kebab-case, e.g. "parse-error", "shape-error", "unknown-rule"
    message: str
    span: Span = NOSPAN  # offsets within `source`
    help: str = ""
    source: str = ""  # the text the span points into (one expression), if any
    data: dict[str, Any] = field(default_factory=dict)


class ProveError(Exception):
    """The single root error type. Raised inside the kernel, caught and reported at the edges."""

    def __init__(self, code: str, message: str, span: Span = NOSPAN, help: str = "", **data: Any):
        super().__init__(message)
        self.diag = Diagnostic(code, message, span, help, data=data)


class Limits:
    """Bounds on untrusted input (SPEC §8). One place, so docs and tests can quote them."""

    max_expr_chars = 2000
    max_nodes = 400
    max_depth = 60
    max_exponent = 16
    max_dimension = 8  # concrete integer dimensions in declarations
    max_steps = 500
    max_file_bytes = 1_000_000
    max_applications = 200  # rule applications in one step's certificate
