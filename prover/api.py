"""The Python API: what `prove check`, `prove derive` and `prove equiv` do, for scripts and
notebooks (docs/api.md).

Arguments are what the command line takes: paths, YAML text, expressions in the notation of
SPEC §2, and declarations written as for `--var` (`"X: n x n invertible"`). Results are the
types the command line prints from — `FileResult`, `Derivation`, `Equivalence` — and each shows
itself in Jupyter (`_repr_markdown_`, `_repr_latex_`; see `display.py`). Untrusted glue, like
`cli.py`: every verdict comes from the kernel.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence, Union, overload

if TYPE_CHECKING:
    from .derive import Derivation
    from .equiv import Equivalence
    from .kernel.shapes import VarInfo
    from .proofs import FileResult

PathLike = Union[str, "os.PathLike[str]"]
#: Declarations: a list of `--var` strings (`["a: n x 1 constant", "X: n x n"]`), one such
#: string, or a dict from names to `VarInfo` (what `parse_var` gives) or to the text after the
#: colon (`{"X": "n x n invertible"}`).
Variables = Union[str, Sequence[str], Mapping[str, Union[str, "VarInfo"]]]

__all__ = ["check", "check_text", "derive", "equiv", "variables", "CheckResults"]


class CheckResults(list):  # list[FileResult]
    """The results of `check` on a folder or several paths: a list of `FileResult`, in the
    order the paths were given (a folder's files sorted), with a summary and a notebook view."""

    @property
    def summary(self) -> dict[str, int]:
        """Counts as in the command line's last line: files, valid, invalid, error."""
        st = [r.status for r in self]
        return {"files": len(st), "valid": st.count("valid"), "invalid": st.count("invalid"),
                "error": st.count("error")}

    @property
    def status(self) -> str:
        """The worst file's, as the exit code reads it: "error" if any file is an error, else
        "invalid" if any is invalid, else "valid" (also for no files)."""
        st = {r.status for r in self}
        return "error" if "error" in st else "invalid" if "invalid" in st else "valid"

    @property
    def ok(self) -> bool:
        """True when there is at least one file and every file is valid."""
        return bool(self) and all(r.status == "valid" for r in self)

    def _repr_markdown_(self) -> str:
        from .display import results_markdown

        return results_markdown(self)

    def _repr_latex_(self) -> str:
        from .display import results_latex

        return results_latex(self)


def variables(spec: Variables | None) -> dict[str, "VarInfo"]:
    """Declarations in any of the accepted forms → the `{name: VarInfo}` the engine takes.

    Raises `ValueError` for a declaration that does not read (the message says how to write it).
    """
    from .derive import DeriveError, parse_var
    from .kernel.shapes import VarInfo

    if spec is None:
        return {}
    if isinstance(spec, str):
        spec = [spec]
    env: dict[str, VarInfo] = {}
    try:
        if isinstance(spec, Mapping):
            for name, v in spec.items():
                env[name] = v if isinstance(v, VarInfo) else parse_var(f"{name}: {v}")[1]
        else:
            for text in spec:
                name, info = parse_var(text)
                if name in env:
                    raise ValueError(f"{name} is declared twice")
                env[name] = info
    except DeriveError as exc:
        raise ValueError(str(exc).replace("--var ", "", 1)) from None
    return env


@overload
def check(paths: PathLike, *, lib: Iterable[PathLike] = ()) -> "FileResult | CheckResults": ...
@overload
def check(paths: Iterable[PathLike], *, lib: Iterable[PathLike] = ()) -> CheckResults: ...
def check(paths, *, lib=()):
    """Check proof files, like `prove check`.

    A file that holds one proof (or `FILE#N`, the N-th proof of a file holding a list) → its
    `FileResult` (`.status` is valid, invalid or error; `.steps` has each step's verdict,
    message and counterexample). A folder (every `*.yaml` and `*.yml` below it), a file that
    holds a list of proofs (one result each, as `FILE#N`) or a list of paths → `CheckResults`,
    a list of them. Never raises for a bad file: a missing or unreadable one is a result with
    status `error`. `lib`: more folders (or files) to look in for lemmas, besides each proof's
    own folder.
    """
    from .proofs import check_file, collect

    libs = [Path(p) for p in lib]
    single = isinstance(paths, (str, os.PathLike))
    out = CheckResults()
    for p in [paths] if single else paths:
        files, missing = collect([os.fspath(p)])
        out.extend(missing)
        out.extend(check_file(f, lib=libs) for f in files)
        if single and not Path(p).is_dir() and len(out) == 1 and out[0].path == os.fspath(p):
            return out[0]  # one file, one proof
    return out


def check_text(yaml_text: str | bytes, name: str = "<string>", *,
               lib: Iterable[PathLike] = ()) -> "FileResult | CheckResults":
    """Check a proof given as YAML text, like `prove check -` with the text on standard input.

    The result is a `FileResult` named `name` (its `.path`), or, for a text that holds a YAML
    list of proofs, `CheckResults` with one per proof (`name#1`, …); line numbers count from
    the text's first line.
    Lemmas are looked up in `name`'s folder (the current folder for a bare name), then in
    `lib`. The text gets a file's checks (size limit, no NUL, UTF-8); never raises for bad input.
    """
    from .kernel.errors import Limits
    from .proofs import FileResult, check_path

    raw = yaml_text.encode("utf-8") if isinstance(yaml_text, str) else bytes(yaml_text)
    if len(raw) > Limits.max_file_bytes:
        why = f"the text is {len(raw):,} bytes; the limit is {Limits.max_file_bytes:,}"
    elif b"\0" in raw:
        why = "this is binary, not YAML text"
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            why = f"the text is not UTF-8 (byte {exc.start})"
        else:
            results = check_path(Path(name), lib=[Path(p) for p in lib], text=text)
            if len(results) == 1 and results[0].path == name:
                return results[0]  # one proof
            return CheckResults(results)
    return FileResult(name, "error", message=why)


def derive(f: str, wrt: str, variables: Variables | None = None, layout: str = "numerator",
           theorem: str = "derived", *, check: bool = True) -> "Derivation":
    """∂f/∂wrt with a proof, like `prove derive`.

    `f` is a scalar expression, `wrt` a declared variable, `variables` the declarations (every
    variable other than `wrt` is held constant). `layout` is "numerator" (the default) or
    "denominator". Returns a `Derivation`: `.derivative` (an expression; `str()` prints it in
    the notation), `.steps` and `.proof_yaml()`, the proof file. With `check` (the default) the
    proof has been checked by the kernel, as the command line does before printing anything.
    Raises `DeriveError` when the engine cannot derive `f` (or the kernel refuses its proof),
    `ValueError` for a declaration that does not read.
    """
    from .derive import DeriveError, check_derivation
    from .derive import derive as run

    if layout not in ("numerator", "denominator"):
        raise ValueError(f"layout must be 'numerator' or 'denominator', not {layout!r}")
    dv = run(f, wrt, _variables(variables), layout, theorem)
    if check:
        result = check_derivation(dv)
        if result.status != "valid":
            bad = next((s for s in result.steps if s.status != "valid"), None)
            why = f"step {bad.index} ({bad.expr}): {bad.message}" if bad else result.message
            raise DeriveError(f"the engine's proof was not accepted by the checker: {why}")
    return dv


def equiv(a: str, b: str, variables: Variables | None = None) -> "Equivalence":
    """Are `a` and `b` the same function? Like `prove equiv`.

    Returns an `Equivalence`: `.status` is "equal", "transposed" (equal up to a transpose: a
    layout difference), "different" (with `.counterexample` where the shapes agree) or
    "undecided"; `.message` says why.
    """
    from .equiv import equivalent

    return equivalent(a, b, _variables(variables))


_variables = variables  # the functions above take a parameter of the same name
