"""Stage 2 of `prove grade`: who submitted what. The parent process lists the submissions
folder — one entry per student, a folder of proof files or one YAML file — and never opens a
submitted file: reading the bytes (`read_bytes`, within the limits, never through a link) is
part of the work on that submission, in a worker. Names are shown, never used as paths:
invalid UTF-8 is replaced and control characters escaped (`safe.visible`), and two entries that
map to one student are one submission in error naming both. Read next: `read.py`.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .limits import MAX_FILE_BYTES, MAX_FILES_PER_STUDENT, MAX_FOLDER_DEPTH
from .records import Fault, FileError
from .safe import decoded, visible


@dataclass
class SubmittedFile:
    rel: str  # shown to people: student/q1.yaml
    stem: str  # the file name without its suffix, for matching a problem
    path: str  # where a worker reads it
    data: bytes | None = None  # the file's bytes, when they come with it (`prove serve`)


@dataclass
class Student:
    name: str
    files: list[SubmittedFile] = field(default_factory=list)
    single: bool = False  # one YAML file holding the student's proofs
    notes: list[str] = field(default_factory=list)
    entry: str = ""  # the submission as shown: maya/ or maya.yaml
    error: str = ""  # the whole submission cannot be graded (two entries map to this student)
    # Over MAX_FILES_PER_STUDENT: why the files past the limit were not read. A problem that no
    # read file answers is then `error` with this reason, not `missing` (its proof may be there).
    over_limit: str = ""


def read_bytes(path: Path) -> tuple[bytes, FileError | None]:
    """At most MAX_FILE_BYTES of a regular file; never follows a symlink or opens a device."""
    try:
        st = path.lstat()
    except OSError as exc:
        return b"", FileError(f"cannot read the file: {exc.strerror or exc}", Fault.FILE)
    if stat.S_ISLNK(st.st_mode):
        return b"", FileError("a symbolic link: not followed", Fault.FILE)
    if not stat.S_ISREG(st.st_mode):
        return b"", FileError("not a regular file", Fault.FILE)
    if st.st_size > MAX_FILE_BYTES:
        return b"", FileError(f"the file is {st.st_size:,} bytes; the limit for a submitted file "
                              f"is {MAX_FILE_BYTES:,}", Fault.FILE)
    try:
        with open(path, "rb", opener=_no_follow) as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return b"", FileError(f"cannot read the file: {exc.strerror or exc}", Fault.FILE)
    if len(raw) > MAX_FILE_BYTES:  # it grew after lstat
        return b"", FileError(f"the file is over the limit for a submitted file "
                              f"({MAX_FILE_BYTES:,} bytes)", Fault.FILE)
    return raw, None


def within_limit(raw: bytes) -> tuple[bytes, FileError | None]:
    """A file's bytes that came with the request (`prove serve`), within the same limit."""
    if len(raw) > MAX_FILE_BYTES:
        return b"", FileError(f"the file is {len(raw):,} bytes; the limit for a submitted file "
                              f"is {MAX_FILE_BYTES:,}", Fault.FILE)
    return raw, None


def _no_follow(path: str, flags: int) -> int:
    """open() that refuses a link put in place after lstat, and never blocks on a FIFO."""
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))


def _yaml_files(folder: Path, st: "Student", shown: str) -> list[Path]:
    """The first MAX_FILES_PER_STUDENT YAML files under `folder` (by name, folder by folder);
    over the limit, a note and `st.over_limit` say how many there were."""
    out: list[Path] = []
    skipped = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        depth = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_FOLDER_DEPTH \
            else []
        for f in sorted(files):
            if f.startswith(".") or not f.lower().endswith((".yaml", ".yml")):
                continue
            if len(out) >= MAX_FILES_PER_STUDENT:
                skipped += 1
                continue
            out.append(Path(root) / f)
    if skipped:
        st.notes.append(f"{skipped} more YAML file(s) under {shown} were not read (the limit is "
                        f"{MAX_FILES_PER_STUDENT} per student)")
        st.over_limit = (f"the folder has {len(out) + skipped} YAML files, over the limit of "
                         f"{MAX_FILES_PER_STUDENT} per student; only the first "
                         f"{MAX_FILES_PER_STUDENT} (by name) were read")
    return out


def discover(submissions: Path, single: bool = False) -> list[Student]:
    """One Student per entry of the folder (a folder of proof files, or one YAML file), or the
    whole path as one student with `single` (Gradescope's /autograder/submission)."""
    def one(name: str, path: Path) -> Student:
        name = visible(name)
        st = Student(name, entry=visible(path.name) + ("/" if path.is_dir() else ""))
        try:
            is_link = path.is_symlink()
        except OSError:
            is_link = True
        if is_link:
            st.notes.append("the submission is a symbolic link: not followed")
            return st
        if path.is_dir():
            for f in _yaml_files(path, st, name):
                rel = visible(f.relative_to(path).as_posix())
                st.files.append(SubmittedFile(f"{name}/{rel}", visible(f.stem), str(f)))
            if not st.files:
                st.notes.append("no YAML files (*.yaml, *.yml) in the submission")
        else:
            st.single = True
            st.files.append(SubmittedFile(visible(path.name), visible(path.stem), str(path)))
        return st

    if single or submissions.is_file():
        return [one(submissions.stem if submissions.is_file() else submissions.name, submissions)]
    students = []
    for entry in sorted(submissions.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and not entry.is_symlink() and \
                not entry.name.lower().endswith((".yaml", ".yml")):
            continue  # a README or a roster beside the submissions
        name = entry.stem if (entry.is_file() and not entry.is_symlink()) else entry.name
        students.append(one(name, entry))
    return one_entry_per_student(students)


def one_entry_per_student(students: list[Student]) -> list[Student]:
    """Two entries that map to one student (maya/ beside maya.yaml; `a b` beside `a_b`, whose
    output files would be one; names that differ only in bytes that are not UTF-8, or only in
    case) are one student whose submission is an error naming both: never two rows under one
    name, nor one results file written over another."""
    groups: dict[str, list[Student]] = {}
    for st in students:
        groups.setdefault(safe_name(st.name).casefold(), []).append(st)
    out = []
    for st in students:
        group = groups[safe_name(st.name).casefold()]
        if len(group) == 1:
            out.append(st)
        elif st is group[0]:
            both = " and ".join(g.entry or g.name for g in group)
            out.append(Student(st.name, entry=st.entry, error=(
                f"{len(group)} submissions map to the student {st.name}: {both}; "
                "submit one (rename or remove the others)")))
    return out


def safe_name(name: str) -> str:
    """A file or folder name for a student's output: letters and digits of any script, `.`,
    `_`, `-`; anything else becomes `_`. At most 150 bytes of UTF-8."""
    s = re.sub(r"[^\w.-]+", "_", decoded(name)).strip("._") or "student"
    return s.encode("utf-8")[:150].decode("utf-8", "ignore")
