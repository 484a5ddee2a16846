"""Reports for CI systems (SPEC §6 `--format junit|github`). Untrusted: it only reads results.

Both writers take the same `list[FileResult]` as `render.json_report`, and agree with it (and with
the exit code) on which files fail: `render.file_status` decides, so `--strict` turns warnings into
failures here too. Every broken step becomes one problem with a location; `junit_report` writes
one test case per proof file with a `<failure>` per problem, `github_report` one workflow-command
annotation per problem, up to the number GitHub shows per step. A proof of a file that holds a
list of proofs (`FILE#N`) is a test case of its own, named `FILE#N`; `file` attributes and
annotations name FILE, from the repository root (`repo_path`). Read next: `cli.py`.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .cli_common import one_line
from .kernel.replay import StepResult
from .proofs import FileResult
from .render import (counterexample_line, file_status, file_warnings, step_diagnostic,
                     step_location, summary)

# GitHub shows at most this many annotations of one kind (error, warning, notice) per step;
# later ones are dropped without a word, so the writer stops here and says how many it left out.
GITHUB_ANNOTATION_LIMIT = 10


@dataclass
class Problem:
    """One reason a file fails: where it is, a one-line summary and the full explanation."""

    kind: str  # "error" (the file cannot be checked) or "failure" (the proof is not valid)
    status: str  # the verdict behind it: invalid, unjustified, error, warning, incomplete
    line: int
    col: int
    width: int
    title: str
    message: str  # first line: what is wrong; later lines: counterexample, help
    details: list[str] = field(default_factory=list)  # the text report's lines for it


def _step_message(s: StepResult, warnings_only: bool) -> str:
    if warnings_only:
        return "\n".join(f"warning: {w}" for w in s.warnings)
    out = [s.message or s.status]
    if s.counterexample is not None:
        out.append(counterexample_line(s.counterexample))
    if s.suggestion:
        out.append("help: cite " + ", ".join(s.suggestion))
    if s.help:
        out.append("help: " + s.help)
    out.extend(f"warning: {w}" for w in s.warnings)
    return "\n".join(out)


def _declaration_line(fr: FileResult, warning: str) -> int:
    """The line declaring the variable a file-level warning names, or 1. For a proof of a list,
    the search starts at that proof's item (the last `- ` at column 1 before its first step)."""
    start = 0
    if fr.file and fr.steps and fr.steps[0].loc:
        first = fr.steps[0].loc[0]
        start = max((i for i in range(first) if fr.lines[i].startswith("-")), default=0)
    m = re.match(r"variable (\S+) is declared", warning)
    if m:
        pat = re.compile(rf"^[\s-]+{re.escape(m.group(1))}\s*:")
        for i, line in enumerate(fr.lines[start:], start + 1):
            if pat.match(line):
                return i
    return 1


def problems(fr: FileResult, strict: bool = False) -> list[Problem]:
    """Every problem that makes this file fail (nothing for a file that passes)."""
    if fr.status == "error":
        msg = fr.message + (f"\nhelp: {fr.help}" if fr.help else "")
        return [Problem("error", "error", fr.line, fr.col, fr.width, "cannot check this file",
                        msg, [f"{fr.path}:{fr.line}:{fr.col}: error: {fr.message}"])]
    out: list[Problem] = []
    for s in fr.steps:
        broken = s.status != "valid"
        if not broken and not (strict and s.warnings):
            continue
        line, col, width = step_location(fr, s)
        status = s.status if broken else "warning"
        by = f" ({', '.join(s.by)})" if s.by else ""
        out.append(Problem("failure", status, line, col, width, f"step {s.index} {status}{by}",
                           _step_message(s, not broken), step_diagnostic(fr, s)))
    if fr.message:
        last = fr.steps[-1] if fr.steps else None
        line, col, width = step_location(fr, last) if last else (fr.line, fr.col, fr.width)
        out.append(Problem("failure", "incomplete", line, col, width,
                           "the proof stops short of the claim", fr.message,
                           [f"{fr.path}: {fr.message}"]))
    if strict:
        for w in file_warnings(fr):
            line = _declaration_line(fr, w)
            out.append(Problem("failure", "warning", line, 1, 1, "warning", w,
                               [f"{fr.path}:{line}: warning: {w}"]))
    if not out and file_status(fr, strict) != "valid":  # a failure with nothing to point at
        out.append(Problem("failure", fr.status, 1, 1, 1, f"proof {fr.status}",
                           fr.message or f"the proof is {fr.status}", []))
    return out


# -- where a file is ------------------------------------------------------------------------------
def repo_root() -> Path:
    """The repository root that CI paths are relative to: `$GITHUB_WORKSPACE` when it is set (a
    GitHub Actions job, even one that runs `prove` in a subfolder), else the working directory."""
    return Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())


def repo_path(path: str, root: Path | None = None) -> str:
    """A file's path from the repository root, with `/` separators, as GitHub matches
    annotations to files and JUnit readers link test cases to them. A relative path is taken
    from the working directory; a file outside the root keeps its absolute path."""
    root = root if root is not None else repo_root()
    p = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(root)), Path(root).resolve()):
        for q in (p, p.resolve()):
            try:
                return q.relative_to(base).as_posix()
            except ValueError:
                continue
    return p.as_posix()


def source_file(fr: FileResult) -> str:
    """The file a result is about: `FILE` for the proof `FILE#N` of a list."""
    return fr.file or fr.path


# -- JUnit XML ------------------------------------------------------------------------------------
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry at all (even escaped) are shown as \\xNN instead.
    ElementTree escapes the rest (& < > and quotes) itself."""
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _step_table(fr: FileResult) -> str:
    lines = [f"{fr.path}: {fr.claim}" + (f"  ({fr.title})" if fr.title else "")]
    for s in fr.steps:
        by = ", ".join(s.by) if s.by else ("start" if s.index == 0 else "")
        lines.append(f"  {s.index:>3}  {s.expr}  [{by}]  {s.status}")
    return "\n".join(lines)


def junit_report(results: list[FileResult], strict: bool = False) -> str:
    """JUnit XML: one <testcase> per proof file, a <failure> per broken step, an <error> for a
    file that cannot be checked. Counts are files: `failures` is the number of invalid files."""
    counts = summary(results, strict)
    total = 0.0
    root = ET.Element("testsuites", name="prove")
    suite = ET.SubElement(root, "testsuite", name="prove check")
    for fr in results:
        seconds = fr.seconds
        total += seconds
        case = ET.SubElement(suite, "testcase", classname="prove", name=_xml_text(fr.path),
                             file=_xml_text(repo_path(source_file(fr))), time=f"{seconds:.3f}")
        status = file_status(fr, strict)
        if status == "valid":
            continue
        probs = problems(fr, strict)
        if probs:
            case.set("line", str(probs[0].line))
        for p in probs:
            tag = "error" if p.kind == "error" else "failure"
            first = p.message.split("\n", 1)[0]
            el = ET.SubElement(case, tag, message=_xml_text(f"{p.title}: {first}"), type=p.status)
            body = "\n".join(p.details) if p.details else f"{fr.path}:{p.line}:{p.col}: {p.message}"
            el.text = _xml_text(body)
        if fr.steps:
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(_step_table(fr))
    for el in (root, suite):
        el.set("tests", str(counts["files"]))
        el.set("failures", str(counts["invalid"]))
        el.set("errors", str(counts["error"]))
        el.set("time", f"{total:.3f}")
    suite.set("skipped", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# -- GitHub Actions workflow commands -------------------------------------------------------------
def gh_data(text: str) -> str:
    """Escape the message of a workflow command (everything after the second `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: str) -> str:
    """Escape a property value (file=, title=, ...): as data, and also `:` and `,`."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(kind: str, path: str, p: Problem) -> str:
    """One workflow command; `path` is the file's path from the repository root."""
    props = [f"file={gh_property(path)}", f"line={p.line}", f"col={p.col}"]
    if p.width > 1:
        props.append(f"endColumn={p.col + p.width - 1}")
    props.append(f"title={gh_property('prove: ' + p.title)}")
    return f"::{kind} {','.join(props)}::{gh_data(p.message)}"


def github_report(results: list[FileResult], strict: bool = False,
                  limit: int = GITHUB_ANNOTATION_LIMIT) -> str:
    """Workflow commands: an `::error` annotation per problem, at most `limit` of them (GitHub
    drops the rest of a step's errors silently). The problems past the limit are printed as plain
    log lines, and one `::notice` says how many were not annotated. A plain line per file and the
    summary close the output."""
    out: list[str] = []
    shown = 0
    left: list[str] = []
    for fr in results:
        for p in problems(fr, strict):
            if shown < limit:
                out.append(annotation("error", repo_path(source_file(fr)), p))
                shown += 1
            else:
                first = p.message.split("\n", 1)[0]
                where = one_line(fr.path)
                where = "./" + where if where.startswith("::") else where  # not a command
                left.append(f"{where}:{p.line}:{p.col}: {p.title}: {one_line(first)}")
    if left:
        out.append(f"::notice title={gh_property('prove: more problems')}::"
                   + gh_data(f"{len(left)} more problem{'s' * (len(left) != 1)} not annotated: "
                             f"GitHub shows at most {limit} error annotations per step. They are "
                             "listed in the log; run `prove check` locally for the details."))
        out.extend(left)
    for fr in results:
        n = len(fr.steps)
        tail = f": {fr.message}" if fr.status == "error" else f" ({n} step{'s' * (n != 1)})"
        out.append(f"{file_status(fr, strict):<8} {one_line(fr.path)}{one_line(tail)}")
    counts = summary(results, strict)
    out.append(f"{counts['files']} file{'s' * (counts['files'] != 1)}: {counts['valid']} valid, "
               f"{counts['invalid']} invalid, {counts['error']} error")
    return "\n".join(out)
