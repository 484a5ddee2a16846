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
    data: dict[str, Any] = field(default_factory=dict)


class ProveError(Exception):
    """The single root error type. Raised inside the kernel, caught and reported at the edges."""

    def __init__(self, code: str, message: str, span: Span = NOSPAN, help: str = "", **data: Any):
        super().__init__(message)
        self.diag = Diagnostic(code, message, span, help, data=data)


class Limits:
    """Bounds on untrusted input (SPEC §8). One place, so docs and tests can quote them."""

    # characters and nodes of one expression, nesting depth, the largest exponent
    max_expr_chars, max_nodes, max_depth, max_exponent = 2000, 400, 60, 16
    # concrete integer dimensions in declarations, steps per proof, bytes per file, rule
    # applications in one step's certificate
    max_dimension, max_steps, max_file_bytes, max_applications = 8, 500, 1_000_000, 200
