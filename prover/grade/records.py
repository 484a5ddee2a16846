"""The plain data that passes between the grader's stages: statuses and error kinds as enums,
errors with their place in a file, the failure of a worker task, and the facts of a graded proof
that the class report needs.

Statuses are `str` enums, so that JSON, CSV and text output write exactly the value (`"valid"`)
and comparisons with a plain string keep working. Read next: `assignment.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class _Text(str, Enum):
    """A `str` enum that prints as its value in every Python version (3.12 changed `format`)."""

    __str__ = str.__str__
    __format__ = str.__format__


class Status(_Text):
    """A problem's grade (SPEC §7), in the order reports count them."""

    VALID = "valid"  # full credit
    INVALID = "invalid"  # a step is wrong; partial credit may apply
    INCOMPLETE = "incomplete"  # every step checks, but the proof does not reach the claim
    NEEDS_REVIEW = "needs_review"  # credit for what checks, but a line could not be read
    REJECTED = "rejected"  # claim or declarations changed, a forbidden or self-made rule
    MISSING = "missing"  # no proof of the problem
    ERROR = "error"  # unreadable, over a limit, or the work on it did not finish


STATUSES = tuple(s.value for s in Status)


class Fault(_Text):
    """What kind of error made a file, a proof or a submission unusable."""

    FILE = "file"  # cannot be read: too large, a link, not a regular file, an I/O error
    TEXT = "text"  # not text: binary, not UTF-8
    SYNTAX = "syntax"  # not YAML, or not a proof
    LIMIT = "limit"  # over a bound: nesting, steps, citations
    RULE_FILE = "rule-file"  # a student's own rule file
    DUPLICATE = "duplicate"  # two submissions of one student, or two proofs of one problem
    TIME_LIMIT = "time-limit"  # the work on the submission ran over --timeout
    WORKER_DIED = "worker-died"  # the worker process died (out of memory, a signal)
    INTERNAL = "internal"  # a bug of the grader, reported for this submission only


@dataclass(frozen=True)
class FileError:
    """An error with its place: `file:line:column: context: message` when written out."""

    message: str
    kind: Fault = Fault.SYNTAX
    file: str = ""
    line: int = 0
    column: int = 0
    context: str = ""  # e.g. "proof 2 of the list"

    def in_file(self, file: str) -> "FileError":
        return replace(self, file=file)

    def __str__(self) -> str:
        pos = f"{self.line}:{self.column}" if self.line else ""
        where = ":".join(x for x in (self.file, pos) if x)
        body = (f"{self.context}: " if self.context else "") + self.message
        return f"{where}: {body}" if where else body


@dataclass(frozen=True)
class TaskFailure:
    """A worker task that did not finish: over its time limit, or its worker died."""

    reason: str
    kind: Fault = Fault.INTERNAL


@dataclass(frozen=True)
class ProofFacts:
    """What the class report (`report.py`) needs of one problem's graded proof, found by the
    worker while it grades, so that the parent never reads or parses a submission again. No
    other output prints it."""

    content: str = ""  # a digest of the normalised proof: the grader's own for a checked proof
    example: str = ""  # the example step as written: "the line before ⟶ the line  (by rules)"
    # (raw student text: the report blanks names in it, then escapes it, `safe.md_code`)
    example_wrong: bool = False  # False: the example is the last step of an incomplete proof
