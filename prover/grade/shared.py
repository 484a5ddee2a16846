"""The records of checked proofs, shared by the workers of one `prove grade` run.

A `CheckRecord` is a function of its payload alone (`check.check_submission(payload)`: the
normalised proof with the assigned claim, declarations, layout and assumptions, the student's
lemmas, the library and the problem's options — everything the verdict depends on), and its key
is the SHA-256 of that payload (`gate._digest`). So a proof that two students of a class wrote
the same way, or that two workers meet, needs the kernel once: the worker that checks it first
writes the record here, and any worker that meets the key afterwards reads it instead of
checking again. Two payloads that differ in anything have different keys (tests/
test_grade_shared.py attacks this).

The store is a private folder (mode 0700, made by the parent with `make_folder` and removed
when the run ends: in memory, under /dev/shm, where the machine has it — creating a file there
costs a tenth of what it costs on a disk — else in the system's temporary folder) holding one JSON file per record, written atomically (a temporary file, then
a rename): a worker killed mid-write leaves no record, a reader never sees half of one. It holds
data only (JSON, never pickle), no student writes to it, and it is bounded (`MAX_RECORD_BYTES`
per record, `MAX_STORE_BYTES` written per worker; past the bound records are simply not
shared). Only records the checker produced are shared, never a failure (out of memory, an
internal error): a failure is the submission's own. The parent neither reads nor writes it.
Read next: `check.py`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .check import CheckRecord

MAX_RECORD_BYTES = 256 * 1024  # a record larger than this is not shared (a 500-step proof)
MAX_STORE_BYTES = 64 * 1024 * 1024  # written by one worker over its life


PREFIX = "prove-grade-"


def make_folder() -> str:
    """A new private folder for one run's records: in a memory file system (/dev/shm) if there is
    one this process may write to, else in the system's temporary folder. Its name holds this
    process's id, so that a later run can remove what a killed run left (`sweep`)."""
    shm = "/dev/shm"
    places = [shm] if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else []
    for place in places + [None]:
        try:
            sweep(place or tempfile.gettempdir())
            return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=place)
        except OSError:
            continue
    raise OSError("no folder could be made for the run's shared records")


_RUN_FOLDER = re.compile(r"prove-grade-([0-9]{1,10})-[a-z0-9_]{8}")  # mkdtemp's 8 characters
_RUN_FILE = re.compile(r"[0-9a-f]{64}\.json|tmp[a-z0-9_]{8}\.part")  # records and half-written ones


def sweep(place: str) -> None:
    """Remove the folders of runs that were killed before they could remove their own: a folder
    is removed only if it is ours (same owner, private), named as `make_folder` names one, for a
    process that no longer exists, and holds nothing but files named as records are."""
    try:
        names = [n for n in os.listdir(place) if n.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        m = _RUN_FOLDER.fullmatch(name)
        if m is None:
            continue
        path = os.path.join(place, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
                continue
            os.kill(int(m.group(1)), 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass
        except (OSError, ValueError, OverflowError):
            continue
        try:
            with os.scandir(path) as it:
                if not all(_RUN_FILE.fullmatch(e.name) and e.is_file(follow_symlinks=False)
                           for e in it):
                    continue  # not a run's records: left alone
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def _plain(obj: Any) -> dict:
    """A record or step view as the dict `dataclasses.asdict` gives (fields in order), without
    its deep copy: the JSON written is the same."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def encode(rec: "CheckRecord") -> bytes:
    d = _plain(rec)
    d["steps"] = [_plain(s) for s in rec.steps]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes) -> "CheckRecord":
    from .check import CheckRecord, StepView

    d = json.loads(raw)
    d["steps"] = [StepView(**s) for s in d["steps"]]
    return CheckRecord(**d)


class Answers:
    """The explainer's side of a `Store` (`explain.SHARED`)."""

    def __init__(self, store: "Store"):
        self.store = store

    def get(self, kind: str, text: str) -> Any:
        return self.store.get_answer(kind, text)

    def put(self, kind: str, text: str, value: Any) -> None:
        self.store.put_answer(kind, text, value)


class Store:
    """One run's shared records, in `folder` (None: nothing is shared)."""

    def __init__(self, folder: Optional[str]):
        self.folder = folder
        self.written = 0

    def _path(self, key: str) -> Optional[str]:
        if not self.folder or len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            return None
        return os.path.join(self.folder, key + ".json")

    def get(self, key: str) -> Optional["CheckRecord"]:
        path = self._path(key)
        if path is None:
            return None
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_RECORD_BYTES + 1)
        except OSError:
            return None
        try:
            return decode(raw)
        except (ValueError, TypeError, KeyError):
            return None  # not a record this run wrote: check the proof instead

    def put(self, key: str, rec: "CheckRecord") -> None:
        try:
            raw = encode(rec)
        except (TypeError, ValueError):
            return
        self._write(self._path(key), raw)

    # -- answers of the explainer (`explain.SHARED`): text a person reads, never a verdict --
    def _answer_path(self, kind: str, text: str) -> Optional[str]:
        digest = hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()
        return self._path(digest)

    def get_answer(self, kind: str, text: str) -> Any:
        path = self._answer_path(kind, text)
        if path is None:
            return None
        try:
            with open(path, "rb") as fh:
                d = json.loads(fh.read(MAX_RECORD_BYTES + 1))
        except (OSError, ValueError):
            return None
        if not isinstance(d, dict) or d.get("kind") != kind or d.get("text") != text:
            return None
        return d.get("value")

    def put_answer(self, kind: str, text: str, value: Any) -> None:
        try:
            raw = json.dumps({"kind": kind, "text": text, "value": value},
                             ensure_ascii=False).encode()
        except (TypeError, ValueError):
            return
        self._write(self._answer_path(kind, text), raw)

    def _write(self, path: Optional[str], raw: bytes) -> None:
        if path is None or self.written > MAX_STORE_BYTES or len(raw) > MAX_RECORD_BYTES:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(raw)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            return
        self.written += len(raw)
