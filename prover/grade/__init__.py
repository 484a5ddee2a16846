"""`prove grade` (SPEC §7): grade a class's proofs against an assignment, fairly and at scale.

Untrusted tooling around the kernel, as a pipeline whose stages are its modules:

1. `assignment` — the instructor's file becomes `Problem`s (claim, declarations, allowed rules,
   points, partial-credit policy); a bad file is an `AssignmentError` (exit 2). `key` checks
   each problem's answer key with the kernel before anyone is graded.
2. `submissions` — the parent lists the class: one `Student` per entry, names made safe, two
   entries of one student an error naming both. It never opens a submitted file.
3. `read` — in a worker: a file's bytes, within the limits (`limits`), become plain data.
4. `gate` — in a worker: proofs matched to problems; a changed claim or declaration, or a
   citation the problem does not allow, is `rejected`; the rest becomes a normalised payload.
5. `check` — in a worker: the kernel checks each payload; `grade_submission` is the whole of
   stages 3–5 for one submission, inside one time budget, in a process of `pool`. The workers
   of a run share their records (`shared`), so each distinct proof is checked once.
6. `score` — in the parent: statuses, points and partial credit (milestones).
7. `formats` and `feedback` — text, CSV, JSON, Gradescope, PrairieLearn and Markdown pages;
   one feedback model, one renderer per spelling; `safe` makes student text harmless.

`run.grade` ties them together. Statuses and error kinds are enums (`records`); errors carry
their file, line and column. Read next: `run.py`, then `cli_grade.py` for the command.
"""
from .assignment import (Assignment, AssignmentError, PartialCredit, Problem, canonical_claim,
                         load_assignment)
from .check import CheckRecord, StepView, check_submission, grade_submission
from .feedback import Feedback, feedback_of, num, render_markdown, render_text
from .formats import (csv_report, gradescope_data, json_data, markdown_feedback,
                      prairielearn_data, text_report)
from .gate import Outcome, gate_student
from .key import KeyCheck, check_key, check_keys
from .limits import (DEFAULT_TIMEOUT, MAX_CITATIONS_PER_FILE, MAX_CITATIONS_PER_STEP,
                     MAX_FILE_BYTES, MAX_FILES_PER_STUDENT)
from .read import LoadedFile, LoadedProof, prescan, read_path, read_submission
from .records import STATUSES, Fault, FileError, Status, TaskFailure
from .run import grade
from .safe import csv_cell, decoded, md_code, md_lines, md_text, visible
from .score import ProblemGrade, Report, StudentGrade, score_problem
from .submissions import Student, SubmittedFile, discover, safe_name

__all__ = [
    "Assignment", "AssignmentError", "PartialCredit", "Problem", "canonical_claim",
    "load_assignment", "CheckRecord", "StepView", "check_submission", "grade_submission",
    "Feedback", "feedback_of", "num", "render_markdown", "render_text", "csv_report",
    "gradescope_data", "json_data", "markdown_feedback", "prairielearn_data", "text_report",
    "Outcome", "gate_student", "KeyCheck", "check_key", "check_keys", "DEFAULT_TIMEOUT",
    "MAX_CITATIONS_PER_FILE", "MAX_CITATIONS_PER_STEP", "MAX_FILE_BYTES",
    "MAX_FILES_PER_STUDENT", "LoadedFile", "LoadedProof", "prescan", "read_path",
    "read_submission", "STATUSES", "Fault", "FileError", "Status", "TaskFailure", "grade",
    "csv_cell", "decoded", "md_code", "md_lines", "md_text", "visible", "ProblemGrade", "Report",
    "StudentGrade", "score_problem", "Student", "SubmittedFile", "discover", "safe_name",
]
