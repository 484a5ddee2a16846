#!/usr/bin/env python3
"""PrairieLearn's external-grader entrypoint for questions graded by prove (docs/grading.md §6).

PrairieLearn mounts /grade with the student's files in /grade/student/, the question's data in
/grade/data/data.json and its tests/ folder in /grade/tests/, runs this script, and reads
/grade/results/results.json. This script:

1. reads data.json; a file PrairieLearn uploaded that is not in /grade/student/ is taken from
   data.json's `submitted_answers._files` (base64), by its base name only;
2. runs `prove grade /grade/student --single --format prairielearn` with the question's
   assignment (/grade/tests/assignment.yaml, else /grade/serverFilesCourse/prove/assignment.yaml)
   within a time budget under PrairieLearn's 30 s limit;
3. writes `gradable: false` with the reason, so that the attempt does not count against the
   student, when there is nothing to grade (no upload, or nothing in it could be read as a proof:
   prove itself says so), when the assignment cannot be used, or when grading runs out of time.

Standard library only. PROVE_GRADE_ROOT moves /grade (the tests use a temporary folder), PROVE
names the prove command, PROVE_BUDGET the seconds allowed (default 20).
"""
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(os.environ.get("PROVE_GRADE_ROOT", "/grade"))
PROVE = shlex.split(os.environ.get("PROVE", "prove"))
BUDGET = float(os.environ.get("PROVE_BUDGET", "20"))
MAX_UPLOAD_BYTES = 256 * 1024  # prove's limit for one submitted file


def write(results: dict) -> None:
    out = ROOT / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def not_gradable(message: str) -> None:
    write({"gradable": False, "score": 0, "message": message, "output": "", "tests": []})


def uploaded_files(data: dict, folder: Path) -> int:
    """Copy the files in data.json's submitted_answers._files into `folder` (base names only,
    within the size limit); returns how many were written."""
    answers = data.get("submitted_answers") if isinstance(data, dict) else None
    files = answers.get("_files") if isinstance(answers, dict) else None
    written = 0
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, dict):
            continue
        name = Path(str(item.get("name", ""))).name
        if not name or name.startswith("."):
            continue
        try:
            raw = base64.b64decode(str(item.get("contents", "")), validate=True)
        except ValueError:
            continue
        if len(raw) <= MAX_UPLOAD_BYTES:
            (folder / name).write_bytes(raw)
            written += 1
    return written


def main() -> int:
    try:
        data = json.loads((ROOT / "data" / "data.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    student = ROOT / "student"
    with tempfile.TemporaryDirectory() as tmp:
        if not (student.is_dir() and any(student.iterdir())):
            student = Path(tmp) / "student"
            student.mkdir()
            if not uploaded_files(data, student):
                not_gradable("No file was uploaded: nothing to grade. This attempt does not count.")
                return 0
        assignment = ROOT / "tests" / "assignment.yaml"
        if not assignment.is_file():
            assignment = ROOT / "serverFilesCourse" / "prove" / "assignment.yaml"
        results = ROOT / "results" / "results.json"
        results.parent.mkdir(parents=True, exist_ok=True)
        cmd = PROVE + ["grade", str(student), "--single", "--assignment", str(assignment),
                       "--format", "prairielearn", "-o", str(results), "--jobs", "1",
                       "--timeout", str(max(1.0, BUDGET * 0.8)), "--no-progress"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUDGET)
        except subprocess.TimeoutExpired:
            not_gradable(f"Grading took longer than {BUDGET:g} s and was stopped. This attempt "
                         "does not count; please submit again, or ask your instructor.")
            return 0
        except OSError as exc:
            not_gradable(f"The grader could not run prove ({exc}). This attempt does not count.")
            return 0
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0 or not results.is_file():
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            not_gradable("The question's grader is not set up correctly (tell your instructor): "
                         f"{why}. This attempt does not count.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
