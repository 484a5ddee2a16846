"""Reading a submitted file quickly gives exactly what reading it carefully gives.

`read_submission` reads a short file without `_Scan` (the watcher called on every libyaml
event) when the data it builds shows that the watcher would have let every event pass
(`read._unwatched`); every other file is read watched, as before. These tests read the corpus,
hostile texts and thousands of mutations of both ways and compare the results whole (the same
data, errors, messages, lines and columns), check the new event loop of `source.fast_load`
against PyYAML's pure-Python composer (`_slow_load`), and check the per-process memos of
`read._head` and `source._plain`: results are fresh copies, and the memos are bounded.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml

from prover import source
from prover.grade import read as R
from prover.grade.limits import MAX_CITATIONS_PER_FILE, MAX_CITATIONS_PER_STEP, MAX_YAML_DEPTH
from prover.kernel.errors import Limits
from prover.source import Located, SourceError, _value, block_start, fast_load, fast_load_sized

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "examples").rglob("*.yaml")) + sorted((ROOT / "proofs").rglob("*.yaml"))

STEP = "  - expr: tr(A X)\n    by: {by}\n"
HEAD = ("theorem: t\nvariables:\n  A: {shape: [n, n], constant: true}\n  X: {shape: [n, n]}\n"
        "claim:\n  derivative: tr(A X)\n  wrt: X\n  equals: A^T\nproof:\n  - expr: d(tr(A X))\n")


def _cites(n: int, item: str = "r") -> str:
    return "[" + ", ".join([item] * n) + "]"


def _many_cites(per_step: int, steps: int, proofs: int) -> str:
    """A list of proofs whose steps cite `per_step` rules each (no list longer than 32 when
    every count is at most 32)."""
    proof = "{proof: [" + ",".join(["{by: [" + ",".join("a" * per_step) + "]}"] * steps) + "]}"
    text = "[" + ",".join([proof] * proofs) + "]\n"
    assert len(text) <= R.UNWATCHED_CHARS  # (short enough to be read unwatched)
    return text


# Texts each of which the watcher refuses (or that the loader refuses), with what they test.
HOSTILE = [
    "a: &x 1\nb: *x\n", "a: &x [1]\n", "a: !!str &x 1\n", "- &a [1]\n- *a\n", "&r {a: 1}\n",
    "*x\n", "a: *x\n", "a: 1\na: 2\n", "? [1]\n: 2\n", "? {a: 1}\n: 2\n", "a: 1\n---\nb: 2\n",
    "--- 1\n--- 2\n", "---\n...\n", "[" * 39 + "]" * 39, "[" * 40 + "]" * 40, "[" * 41 + "]" * 41,
    "[" * 60 + "]" * 60, "{a: " * 41 + "1" + "}" * 41, "- " * 45 + "x\n", "a: [\n", "a: 'b\n",
    "\ta: 1\n", "a: \x07\n", "a: b: c\n", "123\n", "null\n", "[]\n", "{}\n", "- 1\n- 2\n",
    "rules: []\n", "rules: [{id: a}, 3]\n", "rules: 3\n",
    HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP + 1)),
    HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP)),
    HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP + 1, "[r]")),
    HEAD + STEP.format(by="{a: 1, b: 2}"), HEAD + STEP.format(by="r\n    by: s"),
    HEAD + STEP.format(by="&c r"), HEAD + STEP.format(by="*c"),
    HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP + 1)) + "  - expr: [\n",
    HEAD + "  - expr: x\n    by: r\n  - {expr: x, by: r, by: s}\n"
    + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP + 1)),
    HEAD + STEP.format(by="r") * (Limits.max_steps + 1),
    HEAD + STEP.format(by="r") * (Limits.max_steps - 1),
    HEAD + STEP.format(by="r") * 40,
    "- theorem: t\n  proof:\n" + "  - {expr: x}\n" * (Limits.max_steps + 1),
    "x:\n  proof:\n" + "  - 1\n" * (Limits.max_steps + 1),
    "x:\n  y:\n    proof:\n" + "    - 1\n" * (Limits.max_steps + 1),
    "by: " + _cites(40, "s") + "\n", "a:\n  by: " + _cites(40, "s") + "\n",
    "proof: [{by: " + _cites(32) + "}]\nby: " + _cites(40, "s") + "\n",
    _many_cites(20, 32, 32),  # 20,480 citations, no list longer than 32
    _many_cites(20, 31, 32),  # 19,840
    _many_cites(32, 32, 20),  # 20,480 in longer lists
    "1: a\n", "true: a\n", "null: a\n", "? |\n  x\n: 1\n", "'a': 1\n'a': 2\n",
    "a: |\n  x\n  y\nb: >\n  z\n", "a: \"q\"\nb: 'r'\n", "%YAML 1.1\n---\na: 1\n",
    "%TAG !e! tag:e,2000:\n---\na: !e!int 12\n", "a: !!python/object:os.system x\n",
    "a: !!binary aGk=\n", "a: !!float 1.0\n", "a: 0x1F\nb: 1_000\nc: 0o7\nd: 1e3\nf: 0b11\n",
    "a: !foo 1\n", "a: ! 1\n", "a: ! true\n", "a: yes\nb: On\nc: ~\nd:\ne: NULL\n",
    "a: \u0085b\n", "a: \u2028\n", "\x1b[31m: 1\n", "a: \ufeffb\n", "- " + "9" * 5000 + "\n",
    "a: " + "x" * 300 + "\nb: " + "y" * 300 + "\n",
]

HOSTILE_BYTES = [b"", b"   \n", b"\0abc", b"\xff\xfe", b"a: \xe9\n", b"\xef\xbb\xbftheorem: x\n",
                 b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n", b"a: \xed\xa0\x80\n", b"a: \xc3\n"]


def _mutations(texts: list[bytes], n: int, seed: int) -> list[bytes]:
    """Deterministic mutations: anchors, aliases, keys twice, deep nesting, long citation
    lists, tabs, truncations, flipped bytes, second documents, keys that are not text, bad
    bytes, quotes and block scalars."""
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        raw = texts[rnd.randrange(len(texts))]
        lines = raw.split(b"\n")
        i = rnd.randrange(len(lines))
        op = k % 14
        if op == 0:
            lines[i] = lines[i].replace(b": ", b": &a ", 1)
        elif op == 1:
            lines.insert(i, lines[i].split(b":")[0] + b": *a")
        elif op == 2:
            lines.insert(i, lines[i])
        elif op == 3:
            d = rnd.choice([MAX_YAML_DEPTH - 2, MAX_YAML_DEPTH - 1, MAX_YAML_DEPTH,
                            MAX_YAML_DEPTH + 1, 60])
            lines.insert(i, b"zz: " + b"[" * d + b"1" + b"]" * d)
        elif op == 4:
            c = rnd.choice([MAX_CITATIONS_PER_STEP - 1, MAX_CITATIONS_PER_STEP,
                            MAX_CITATIONS_PER_STEP + 1, 50]) + 0
            lines = [x.replace(b"by: ", b"by: " + _cites(c).encode() + b" #", 1) for x in lines]
        elif op == 5:
            lines[i] = b"\t" + lines[i]
        elif op == 6:
            whole = b"\n".join(lines)
            out.append(whole[:rnd.randrange(len(whole) + 1)])
            continue
        elif op == 7:
            whole = bytearray(b"\n".join(lines))
            if whole:
                whole[rnd.randrange(len(whole))] = rnd.choice(b"[]{}:-,&*!|>'\"#?%@`\t\n ")
            out.append(bytes(whole))
            continue
        elif op == 8:
            lines.insert(i, b"---")
        elif op == 9:
            lines.insert(i, rnd.choice([b"[a]: 1", b"{a: 1}: 2", b"? - x\n: 1", b"1: 2", b"~: 3"]))
        elif op == 10:
            lines[i] += rnd.choice([b"\xff", b"\xc3", b"\x00", b"\x07", b"\xe2\x80\xa8"])
        elif op == 11:
            lines[i] = lines[i].replace(b": ", b": '", 1) + b"'"
        elif op == 12:
            lines[i] = lines[i].replace(b": ", b": |\n    ", 1)
        else:
            lines = [x.replace(b"by: ", b"by: [[[[[", 1) + (b"]]]]]" if b"by: " in x else b"")
                     for x in lines]
        out.append(b"\n".join(lines))
    return out


def _inputs() -> list[bytes]:
    corpus = [p.read_bytes() for p in CORPUS]
    hostile = [t.encode() for t in HOSTILE] + HOSTILE_BYTES
    return corpus + hostile + _mutations(corpus + hostile, 3000, 11)


INPUTS = _inputs()


@contextmanager
def _watched():
    """`read_submission` as it was: every file read with `_Scan` watching."""
    keep = R.UNWATCHED_CHARS
    R.UNWATCHED_CHARS = -1
    try:
        yield
    finally:
        R.UNWATCHED_CHARS = keep


def _both(raw: bytes) -> tuple:
    fast = R.read_submission(raw)
    with _watched():
        careful = R.read_submission(raw)
    return fast, careful


def test_the_corpus_is_read_unwatched():
    read = 0
    for path in CORPUS:
        if R.read_submission(path.read_bytes()).error is not None:  # (some are broken on purpose)
            continue
        text = path.read_text("utf-8-sig")
        got = fast_load_sized(text)
        assert got is not None
        # a proof longer than a step's citations may be is read watched (that costs a second
        # pass, nothing else); every other one is read unwatched
        assert (R._unwatched(text) is not None) == (got[1] <= MAX_CITATIONS_PER_STEP), path
        read += R._unwatched(text) is not None
    assert read > 20


@pytest.mark.parametrize("part", range(4))
def test_unwatched_gives_what_watched_gives(part):
    took = 0
    for raw in INPUTS[part::4]:
        fast, careful = _both(raw)
        assert fast == careful, raw[:300]
        assert repr(fast) == repr(careful), raw[:300]
        text = raw.decode("utf-8", "replace")
        took += text.strip() != "" and R._unwatched(text) is not None
    assert took > len(INPUTS[part::4]) // 4  # the fast way was taken, not only declined


@pytest.mark.parametrize("text,message,line,column", [
    (HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP + 1)), R.TOO_MANY_PER_STEP, 12, 9),
    (HEAD + STEP.format(by="r") * Limits.max_steps,  # (HEAD has a step)
     f"the proof has {Limits.max_steps + 1} steps; the limit is {Limits.max_steps}", 10, 3),
    (_many_cites(20, 32, 32), R.TOO_MANY_PER_FILE, 1, None),
    ("a: &x 1\n", "YAML anchors (&name) are not allowed here", 1, 4),
    ("a: [1]\nb: *x\n", "YAML aliases (*name) are not allowed here", 2, 4),
    ("[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1), "the YAML nests too deeply", 0, 0),
])
def test_the_limits_are_refused_where_the_watcher_refuses(text, message, line, column):
    assert R._unwatched(text) is None  # declined: read watched
    got = R.read_submission(text.encode())
    with _watched():
        want = R.read_submission(text.encode())
    assert got == want and got.error is not None and not got.proofs
    assert (got.error.message, got.error.line) == (message, line)
    if column is not None:
        assert got.error.column == column


def test_a_file_of_many_short_citation_lists_is_refused_at_the_citation():
    # no list is longer than a step's limit, so only the count of values and keys sends it to
    # the watcher, which refuses it at the 20,001st citation
    text = _many_cites(20, 32, 32)
    got = fast_load_sized(text)
    assert got is not None and got[1] == 32
    assert len(got[0].positions) + len(got[0].key_positions) > MAX_CITATIONS_PER_FILE
    error = R.read_submission(text.encode()).error
    assert error is not None and error.message == R.TOO_MANY_PER_FILE and error.column > 1


def test_a_file_under_the_limits_is_read_unwatched_and_whole():
    text = HEAD + STEP.format(by=_cites(MAX_CITATIONS_PER_STEP))
    assert R._unwatched(text) is not None
    lf = R.read_submission(text.encode())
    assert lf.error is None and lf.proofs[0].error is None
    assert len(lf.proofs[0].citations) == MAX_CITATIONS_PER_STEP
    assert lf.proofs[0].lines == [10, 11]


def test_the_fast_loader_reads_no_deeper_than_the_limit():
    # `_unwatched` relies on the loader giving up (None) wherever `_Scan` refuses the nesting
    assert source.MAX_DEPTH <= MAX_YAML_DEPTH
    deep = "[" * (source.MAX_DEPTH + 1) + "]" * (source.MAX_DEPTH + 1)
    assert fast_load(deep) is None
    assert fast_load("[" * source.MAX_DEPTH + "]" * source.MAX_DEPTH) is not None


def _answer(load, text: str):
    try:
        got = load(text)
    except SourceError as exc:
        return ("error", exc.message, exc.line, exc.col)
    if got is None:
        return None
    return repr(got.data), got.positions, got.key_positions, got.text == text


def test_the_event_loop_reads_as_it_did():
    """`fast_load` gives what the loop it replaces gave (data, positions of values and keys,
    errors, and None where that gave up) on every input."""
    answered = 0
    for raw in INPUTS:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        want = _answer(_reference_fast_load, text)
        assert _answer(fast_load, text) == want, text[:300]
        answered += want is not None
    assert answered > len(INPUTS) // 4


@pytest.mark.parametrize("text,longest", [
    ("a: 1\n", 1), ("[1, 2, 3]\n", 3), ("{a: [1, 2], b: {c: 1, d: 2, e: 3}}\n", 3),
    ("- [" + ", ".join(["x"] * 40) + "]\n- 1\n", 40), ("x\n", 0), ("[]\n", 0),
])
def test_the_longest_collection(text, longest):
    got = fast_load_sized(text)
    assert got is not None and got[1] == longest


def test_a_proofs_head_is_a_fresh_copy_each_time():
    raw = (HEAD + STEP.format(by="r")).encode()
    first = R.read_submission(raw).proofs[0]
    for part in (first.canonical, first.variables, first.dump["variables"]["A"],
                 first.dump["claim"]):
        part["poison"] = 1
    first.claim_names.append("poison")
    again = R.read_submission(raw).proofs[0]
    R._HEADS.clear()
    fresh = R.read_submission(raw).proofs[0]
    assert again == fresh and "poison" not in repr(again)


def test_the_head_memo_tells_one_and_true_apart_and_is_bounded():
    one = HEAD.replace("X: {shape: [n, n]}", "X: {shape: [n, 1]}")
    true = HEAD.replace("X: {shape: [n, n]}", "X: {shape: [n, true]}")
    for text in (one, true, one):
        R._HEADS.clear()
        want = R.read_submission(text.encode())
        assert R.read_submission(text.encode()) == want
    for k in range(R._HEADS_MAX + 10):
        R.read_submission(HEAD.replace("equals: A^T", f"equals: A^T + {k} A").encode())
        assert len(R._HEADS) <= R._HEADS_MAX


def test_the_plain_scalar_memo_is_bounded_and_keeps_only_short_texts():
    long = "z" * 500
    assert fast_load(f"a: {long}\n").data == {"a": long}
    assert long not in source._PLAIN
    for k in range(20_050):
        source._plain(f"v{k}")
        assert len(source._PLAIN) <= 20_000
    assert fast_load("a: 12\nb: yes\nc: ~\nd: '12'\ne: !!str 12\nf: 1_0\n").data == \
        {"a": 12, "b": True, "c": None, "d": "12", "e": "12", "f": 10}


# -- the event loop as it was (prover/source.py before the reading was made faster), word for
# word: the new loop must answer exactly as it did
_REF_FAST = getattr(yaml, "CSafeLoader", None)

_REF_RESOLVER = yaml.resolver.Resolver()
_REF_TAGS: dict[tuple, str] = {}  # plain scalars repeat across files: their resolved tags


def _ref_scalar(ev) -> Any:
    """A scalar event's value, converted as `_convert` converts a scalar node."""
    tag = ev.tag
    if tag is None or tag == "!":
        key = (ev.value, ev.implicit)
        tag = _REF_TAGS.get(key)
        if tag is None:
            tag = _REF_RESOLVER.resolve(yaml.ScalarNode, ev.value, ev.implicit)
            if len(_REF_TAGS) > 20_000:
                _REF_TAGS.clear()
            _REF_TAGS[key] = tag
    return _value(tag, ev.value)


def _reference_fast_load(text: str, watch: Optional[Callable[[Any], None]] = None) -> Optional[Located]:
    """One pass over libyaml's events, building the data and the positions as `_convert` builds
    them from the node tree (the same values, positions and errors), with `watch(event)` called
    on every event first (it may raise to stop the read). Returns None at the first doubt —
    an alias or an anchor, nesting deeper than 40, a YAML error, more than one document, no
    libyaml — and the caller then reads the text the slow way."""
    if _REF_FAST is None:
        return None
    out = Located(None, text=text)
    positions, key_positions = out.positions, out.key_positions
    # open collections: [the collection, its path, the pending key (a mapping) or None, its
    # key's mark], and the root when it is done
    stack: list[list] = []
    root: list = []
    docs = depth = 0
    failed: Optional[SourceError] = None  # raised once the whole text has been read
    loader = None
    try:
        loader = _REF_FAST(text)  # its events one by one, as `yaml.parse` gives them (faster)
        get_event = loader.get_event
        while (ev := get_event()) is not None:
            if watch is not None:
                watch(ev)
            cls = type(ev)
            if cls is yaml.AliasEvent or getattr(ev, "anchor", None):
                return None
            if cls is yaml.ScalarEvent or cls is yaml.MappingStartEvent \
                    or cls is yaml.SequenceStartEvent:
                if cls is not yaml.ScalarEvent:
                    depth += 1
                    if depth > 40:
                        return None
                if failed is not None:
                    continue
                mark = ev.start_mark
                if cls is yaml.ScalarEvent:
                    style = ev.style
                    # a block scalar's text starts under its indicator, at its indentation
                    # (source.block_start; the loop this replaced said column 1)
                    where = block_start(text, mark.line) if style in ("|", ">") else \
                        (mark.line + 1, mark.column + (2 if style in ("'", '"') else 1))
                else:
                    where = (mark.line + 1, mark.column + 1)
                if stack:
                    top = stack[-1]
                    into = top[0]
                    if type(into) is dict:
                        if top[2] is None:  # a key
                            if cls is not yaml.ScalarEvent:
                                failed = SourceError("a mapping key must be plain text", *where)
                                continue
                            key = ev.value
                            if key in into:
                                failed = SourceError(f"the key {key!r} appears twice", *where)
                                continue
                            top[2] = key
                            key_positions[top[1] + (key,)] = where
                            continue
                        path = top[1] + (top[2],)
                        key, top[2] = top[2], None
                    else:
                        path = top[1] + (len(into),)
                else:
                    path = ()
                positions[path] = where
                value = _ref_scalar(ev) if cls is yaml.ScalarEvent else \
                    {} if cls is yaml.MappingStartEvent else []
                if stack:
                    if type(into) is dict:
                        into[key] = value
                    else:
                        into.append(value)
                else:
                    root.append(value)
                if cls is not yaml.ScalarEvent:
                    stack.append([value, path, None])
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                depth -= 1
                if failed is None:
                    stack.pop()
            elif cls is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    return None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return None
    finally:
        if loader is not None:
            loader.dispose()
    if failed is not None:
        raise failed
    if len(root) != 1:
        return None
    out.data = root[0]
    return out


