"""`grade()`: one run of `prove grade` (SPEC §7), the pipeline end to end.

The parent lists the class (`submissions.discover`) and hands each submission to a worker
(`pool.run`), where all the work on it — reading its files, gating, checking — happens within
one time budget (`check.grade_submission`). What comes back is only what scoring and the class
report need (the report is built from the grades: `report.py` never reads a submission); the
parent scores it at once (`score.score_problem`) and keeps the grades, so that it holds nothing
proportional to the class beyond them (file hashes and proof digests for the statistics). A
submission whose work does not finish — over the time limit, its worker dead — is `error` on
every problem, with the reason; no other student is affected. The workers share the records of
the proofs they check through a private folder the run makes and removes (`shared.py`): each
distinct proof of the class is checked once; the parent never reads it. Read next:
`formats.py`.
"""
from __future__ import annotations

import gc
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Optional

from . import pool
from .assignment import Assignment
from .check import SubmissionResult, grade_submission, start_worker
from .limits import DEFAULT_TIMEOUT
from .records import Fault, FileError, Status, TaskFailure
from .safe import visible
from .score import ProblemGrade, Report, StudentGrade, score_problem
from .shared import make_folder
from .submissions import Student, discover

PARENT_GC_THRESHOLDS = (10_000, 50, 100)  # while results come in (Python's default: 700, 10, 10)

# The task run for each submission, looked up when a run starts (a test may put a wrapper here).
SUBMISSION_TASK: Callable[[Student], SubmissionResult] = grade_submission


def _all_error(st: Student, a: Assignment, reason: str, kind: Fault) -> list[ProblemGrade]:
    """Every problem of a submission that could not be graded as a whole, saying why."""
    out = []
    for p in a.problems:
        pg = ProblemGrade(p.id, 0.0, p.points, Status.ERROR, visible(reason),
                          claim=p.claim_shown, error=FileError(reason, kind, st.entry))
        pg.problem = p
        out.append(pg)
    return out


def grade(submissions: Path | str, assignment: Assignment, jobs: int = 1,
          timeout: float = DEFAULT_TIMEOUT, single: bool = False,
          progress: Optional[Callable[[str, int], Any]] = None) -> Report:
    """Grade every student under `submissions` with `jobs` worker processes, each submission
    within `timeout` seconds. `progress(label, total)` may return a callback to call once per
    finished submission (for a progress bar). `jobs=1` is one worker: the same isolation and
    the same verdicts as any other number."""
    t0 = time.perf_counter()
    students = discover(Path(submissions), single)
    todo = [i for i, st in enumerate(students) if not st.error]
    grades: dict[int, list[ProblemGrade]] = {}
    notes: dict[int, list[str]] = {}
    stats = {"students": len(students), "files": sum(len(s.files) for s in students),
             "distinct_files": 0, "proofs": 0, "distinct_proofs": 0, "checks": 0}
    files_seen: set[str] = set()
    proofs_seen: set[str] = set()
    for i, st in enumerate(students):
        if st.error:
            grades[i] = _all_error(st, assignment, st.error, Fault.DUPLICATE)
    tick = progress("grading", len(todo)) if progress and todo else None
    shared = make_folder()  # the workers' shared records (shared.py)
    # The grades kept here are long-lived and hold no reference cycles: the garbage collector
    # need not walk them (and what came before) again as they pile up (about a fifth of this
    # process's CPU on a class of 1,000 otherwise). As it was once the loop ends.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*PARENT_GC_THRESHOLDS)
    try:
        for j, result in pool.run(SUBMISSION_TASK, [students[i] for i in todo], jobs=jobs,
                                  timeout=timeout, initializer=start_worker,
                                  initargs=(assignment, shared)):
            i = todo[j]
            st = students[i]
            if isinstance(result, TaskFailure):
                grades[i] = _all_error(st, assignment, f"the submission could not be graded: "
                                       f"{result.reason}", result.kind)
                notes[i] = list(st.notes)
            else:
                files_seen.update(d for d in result.digests if d)
                checked = [oc.key for oc in result.outcomes.values() if oc.status is None]
                proofs_seen.update(checked)
                stats["proofs"] += len(checked)
                stats["checks"] += result.checks
                grades[i] = [score_problem(p, result.outcomes[p.id],
                                           result.records.get(result.outcomes[p.id].key),
                                           result.facts.get(p.id))
                             for p in assignment.problems]
                notes[i] = result.notes
            if tick:
                tick()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    stats["distinct_files"], stats["distinct_proofs"] = len(files_seen), len(proofs_seen)
    out = [StudentGrade(visible(st.name), grades[i],
                        [visible(n) for n in notes.get(i, st.notes)])
           for i, st in enumerate(students)]
    return Report(assignment, out, time.perf_counter() - t0, stats)
