"""`prove grade` (SPEC §7): the command. The work is in `grade/`; this module only reads the
options, shows progress on a terminal, and writes the outputs. Exit 0 when the run completed
(whatever the scores), 2 when the assignment or the submissions folder cannot be used."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Optional

from .cli_common import UsageError, echo, use_color
from .cli_parser import Parser, add_color_option, float_range, int_range, path

if TYPE_CHECKING:
    from .grade import Report

# grade.limits.DEFAULT_TIMEOUT, repeated so that `prove --help` need not import the grader (a test
# keeps the two equal).
DEFAULT_TIMEOUT = 60.0
FORMATS = ["text", "csv", "json", "gradescope", "prairielearn"]
BAR_WIDTH = 36  # the progress bar's, in characters


def _progress(enabled: bool):
    """`progress(label, total)` for the grader: a bar `grading   [####----]  3/10` redrawn on
    standard error when it is a terminal; elsewhere the label alone, once."""
    if not enabled:
        return None

    def start(label: str, total: int):
        if total <= 0:
            return None
        head = f"{label:<9}"
        try:
            drawn = sys.stderr.isatty()
        except (AttributeError, ValueError):
            drawn = False
        count = [0]

        def draw() -> None:
            filled = BAR_WIDTH * count[0] // total
            echo(f"\r{head}  [{'#' * filled}{'-' * (BAR_WIDTH - filled)}]  {count[0]}/{total}",
                 nl=count[0] >= total, err=True, color=True)

        if drawn:
            draw()
        else:
            echo(head, err=True)

        def tick() -> None:
            count[0] += 1
            if drawn and count[0] <= total:
                draw()

        return tick

    return start


class WriteFailed(Exception):
    """An output could not be written after grading: `what` names it, `reason` says why."""

    def __init__(self, what: str, reason: str):
        super().__init__(f"cannot write {what}: {reason}")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _write(text: str, output: Optional[str]) -> None:
    from pathlib import Path

    if output:
        path = Path(output)
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:
            raise WriteFailed(output, _reason(exc)) from None
    else:
        echo(text, nl=not text.endswith("\n"))


def _platform(report: "Report", fmt: str, output: Optional[str]) -> None:
    import json
    from pathlib import Path

    from .grade import gradescope_data, prairielearn_data, safe_name

    make = gradescope_data if fmt == "gradescope" else prairielearn_data
    if len(report.students) == 1:
        _write(json.dumps(make(report, report.students[0]), ensure_ascii=False, indent=2), output)
        return
    if output:  # one results.json per student, under OUTPUT/<student>/
        for s in report.students:
            folder = Path(output) / safe_name(s.student)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "results.json").write_text(
                    json.dumps(make(report, s), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
            except OSError as exc:
                raise WriteFailed(str(folder / "results.json"), _reason(exc)) from None
        return
    _write(json.dumps({s.student: make(report, s) for s in report.students}, ensure_ascii=False,
                      indent=2), None)


def _blocker(target: str) -> Optional[str]:
    """The first existing path at or above `target` (a path that need not exist) when it is
    not a folder: `target` cannot be created under it. None when nothing is in the way."""
    parent = os.path.dirname(os.path.abspath(target))
    while True:
        if os.path.lexists(parent):
            return None if os.path.isdir(parent) else parent
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up


def _check_file_output(target: str, option: str) -> None:
    """`target` (a file to write) can be written as far as can be told before grading."""
    if os.path.isdir(target):
        raise UsageError(f"{option} {target}: is a folder; give a file to write")
    blocker = _blocker(target)
    if blocker:
        raise UsageError(f"{option} {target}: cannot be written: {blocker} is not a folder")


def _check_folder_output(target: str, option: str, why: str = "") -> None:
    """`target` (a folder to write into) is a folder or can be made one."""
    if os.path.lexists(target) and not os.path.isdir(target):
        raise UsageError(f"{option} {target}: is not a folder{why}")


def _student_count(submissions: str) -> int:
    """How many students the folder holds (listing it only, as the grader will)."""
    from pathlib import Path

    from .grade.submissions import discover

    try:
        return len(discover(Path(submissions)))
    except OSError:
        return 0  # the grader meets the same error and reports it


def _check_keys(a, assignment: str, trust_key: bool) -> None:
    """Every answer key is proved or refuted by the kernel before anyone is graded (see
    grade/key.py): a wrong one is exit 2 unless --trust-key; an unconfirmed one is a warning."""
    from .grade.key import check_keys

    checks = check_keys(a)
    for k in checks:
        if k.status == "unconfirmed":
            echo(f"warning: {assignment}: {k.message}; grading with the key as given", err=True)
        elif k.status == "confirmed" and not k.derived:
            echo(f"note: {assignment}: {k.message}: {k.note}", err=True)
    wrong = [k for k in checks if k.status == "wrong"]
    if not wrong:
        return
    if trust_key:
        for k in wrong:
            echo(f"warning: the answer key is wrong: {assignment}: {k.message}; grading "
                 "with the key as given (--trust-key)", err=True)
        return
    for k in wrong:
        echo(f"error: the answer key is wrong: {assignment}: {k.message}", err=True)
    echo("error: nobody was graded; correct the assignment, or pass --trust-key to grade "
         "with the key as given", err=True)
    sys.exit(2)


@contextlib.contextmanager
def _terminated_cleanly():
    """SIGTERM (a CI job's time limit, `kill`) while the class is graded ends the run as Ctrl-C
    does: the workers are stopped and the run's folder of shared records (in memory, under
    /dev/shm) is removed before the process exits with 143, writing no output."""
    def stop(signum, frame):
        echo("prove grade: terminated (SIGTERM): no output was written", err=True)
        raise SystemExit(128 + signum)

    try:
        before = signal.signal(signal.SIGTERM, stop)
    except (ValueError, OSError):  # not the main thread: leave signals as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def grade(submissions: Optional[str], assignment: Optional[str], fmt: str, output: Optional[str],
          feedback_dir: Optional[str], report_dir: Optional[str], jobs: int, timeout: float,
          single: bool, lib: tuple[str, ...], gradescope_mode: bool, autograder_root: Optional[str],
          trust_key: bool, progress: Optional[bool], color: str) -> None:
    """Grade a folder of submissions (one entry per student) against an assignment.

    Each student is a folder of proof files (matched to problems by `theorem:`, else by file
    name) or one YAML file holding a list of proofs."""
    import json
    from pathlib import Path

    from .grade import (AssignmentError, csv_report, grade as run_grade, json_data,
                        load_assignment, markdown_feedback, safe_name, text_report)

    if gradescope_mode:
        if autograder_root is None:  # the option, else the variable (if not empty), else this
            autograder_root = os.environ.get("PROVE_AUTOGRADER_ROOT") or "/autograder"
        root = Path(autograder_root)
        submissions = submissions or str(root / "submission")
        assignment = assignment or str(root / "source" / "assignment.yaml")
        output = output or str(root / "results" / "results.json")
        fmt, single = "gradescope", True
    if not submissions:
        raise UsageError("give the SUBMISSIONS folder (or --gradescope)")
    if not assignment:
        raise UsageError("give --assignment FILE")
    if not Path(submissions).exists():
        echo(f"error: {submissions}: no such file or folder", err=True)
        sys.exit(2)
    if not os.path.isdir(submissions) and not os.path.isfile(submissions):
        echo(f"error: {submissions}: not a folder or a regular file (give the folder of "
             "submissions, or one student's submission with --single)", err=True)
        sys.exit(2)
    # Outputs that cannot be written are refused now, before anyone is graded (SPEC §7).
    if output:
        platform = fmt in ("gradescope", "prairielearn")
        if platform and not single and _student_count(submissions) > 1:
            _check_folder_output(output, "-o", f" (with --format {fmt} and several students, "
                                 "-o is a folder: one <student>/results.json each)")
        else:
            _check_file_output(output, "-o")
    from .grade import pool

    pool.prestart()  # the workers' server imports the checker while the keys are checked
    try:
        a = load_assignment(assignment, lib)
    except AssignmentError as exc:
        echo(f"error: the assignment cannot be used: {exc.message}", err=True)
        if exc.excerpt:
            echo(exc.excerpt, err=True)
        sys.exit(2)
    _check_keys(a, assignment, trust_key)
    if progress is None:
        progress = sys.stderr.isatty()
    with _terminated_cleanly():
        report = run_grade(Path(submissions), a, jobs=jobs, timeout=timeout, single=single,
                           progress=_progress(progress))
    # Every output is attempted even when one fails; a failure is named on stderr, exit 2.
    failed = False

    def attempt(what: str, write) -> bool:
        nonlocal failed
        try:
            write()
            return True
        except BrokenPipeError:  # the reader of stdout left: `main` says nothing more
            raise
        except WriteFailed as exc:
            message = str(exc)
        except OSError as exc:
            message = f"cannot write {what}: {_reason(exc)}"
        echo(f"prove grade: error: {message}", err=True)
        failed = True
        return False

    if feedback_dir:
        def write_feedback() -> None:
            folder = Path(feedback_dir)
            folder.mkdir(parents=True, exist_ok=True)
            used: set[str] = set()
            for s in report.students:
                name = safe_name(s.student)
                while name in used:
                    name += "_"
                used.add(name)
                (folder / f"{name}.md").write_text(markdown_feedback(report, s),
                                                   encoding="utf-8")

        attempt(f"the feedback into {feedback_dir}", write_feedback)
    if report_dir:
        from .grade.report import write_report

        attempt(f"the class report into {report_dir}",
                lambda: write_report(report, Path(report_dir)))

    def main_output(to: Optional[str]) -> None:
        if fmt in ("gradescope", "prairielearn"):
            _platform(report, fmt, to)
        elif fmt == "csv":
            _write(csv_report(report), to)
        elif fmt == "json":
            _write(json.dumps(json_data(report), ensure_ascii=False, indent=2), to)
        else:
            on = not to and use_color(color)
            text = text_report(report, color=on)
            if to:
                _write(text, to)
            else:
                echo(text, nl=not text.endswith("\n"), color=on)

    if not attempt(output or "standard output", lambda: main_output(output)) and output \
            and not gradescope_mode:
        echo("prove grade: the grades are printed on standard output instead", err=True)
        main_output(None)
    if gradescope_mode and fmt in ("gradescope", "prairielearn"):
        echo(text_report(report))  # Gradescope keeps stdout for the instructor
    if failed:
        sys.exit(2)
    sys.exit(0)


def add_grade(commands) -> Parser:
    p = commands.add_parser("grade", help="Grade a folder of submissions (one entry per "
                            "student) against an assignment.", description=grade.__doc__)
    p.add_argument("submissions", nargs="?", metavar="SUBMISSIONS", type=path(),
                   help="The folder of submissions, one entry per student.")
    p.add_argument("-a", "--assignment", type=path(), metavar="FILE",
                   help="The assignment file (problems, points, allowed rules).")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="text",
                   help="text and csv and json for the class; gradescope and prairielearn write "
                   "each student's results file. [default: text]")
    p.add_argument("-o", "--output", type=path(), metavar="PATH", help="Write here instead of "
                   "standard output (for gradescope/prairielearn with several students: a "
                   "folder, one <student>/results.json each).")
    p.add_argument("--feedback", dest="feedback_dir", type=path(file_okay=False), metavar="DIR",
                   help="Write a Markdown feedback page per student into this folder.")
    p.add_argument("--report", dest="report_dir", type=path(file_okay=False), metavar="DIR",
                   help="Write a class report into this folder: report.md (score distributions, "
                   "the mistakes and steps the class gets wrong most, refusals per problem, "
                   "identical submissions) and PNG plots when matplotlib is installed.")
    p.add_argument("-j", "--jobs", default=1, type=int_range(1, 64), metavar="N",
                   help="Worker processes (1 to 64). [default: 1]")
    p.add_argument("--timeout", default=DEFAULT_TIMEOUT, type=float_range(1, 3600),
                   metavar="SECONDS", help="Seconds allowed for all the work on one submission "
                   "(reading, gating and checking it); over it, that submission is an error "
                   f"(1 to 3600). [default: {DEFAULT_TIMEOUT:g}]")
    p.add_argument("--single", action="store_true", help="SUBMISSIONS is one student's "
                   "submission (a folder of proof files or one file), not a folder of students.")
    p.add_argument("--lib", action="append", default=[], type=path(exists=True), metavar="DIR",
                   help="A folder of instructor lemma files (for problems with allow_lemmas: "
                   "true; repeatable).")
    p.add_argument("--gradescope", dest="gradescope_mode", action="store_true", help="Run as a "
                   "Gradescope autograder: grade AUTOGRADER_ROOT/submission, write "
                   "AUTOGRADER_ROOT/results/results.json.")
    p.add_argument("--autograder-root", type=path(), metavar="AUTOGRADER_ROOT",
                   help="The Gradescope folder (or set PROVE_AUTOGRADER_ROOT). "
                   "[default: /autograder]")
    p.add_argument("--trust-key", action="store_true", help="Grade with the assignment's answer "
                   "keys as given even where the kernel refutes one (a warning is printed). By "
                   "default a wrong key (an equals: that is not the derivative, or a false "
                   "identity) stops the run with exit 2 before anyone is graded.")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="A progress bar on standard error (default: when it is a terminal).")
    add_color_option(p)
    p.set_defaults(run=grade)
    return p
