"""Fuzzing the checker, judged by the independent oracle. Not a test: it prints figures.

    python benchmarks/fuzz.py                  # the long run: 101,700 generated inputs
    python benchmarks/fuzz.py --scale 0.1      # a tenth of it
    python benchmarks/fuzz.py --only truth     # one target (truth, parser, check-file, cli,
                                               # grade-read, grade)

Targets, each driven by hypothesis with a fixed seed. Every expression is generated as a tree of
the oracle (`oracle.py`), printed by the oracle's printer, and read back by the oracle's
grammar; truth is decided by the oracle alone (exact rational evaluation at many sizes), never
by the kernel's parser, shape checker or evaluator. The kernel is driven only through its stable
API, `prover.proofs.check_file` on a file written for the input (and, for `cli` and `grade`,
through `prove check` and `prove grade`).

- `truth`: random well-shaped expressions e over a few declared variables, paired with e itself,
  a chain of true rewrites of e (transpose of a product, trace rotation, product rule, …), or a
  mutant (see `mutation.py`). The pair becomes a one-step proof `e → e'` cited `by: index`
  (claim `e = e'`). If the oracle says false at a generic size, the kernel must call that step
  `invalid` (`valid` or `unjustified` is a soundness failure); if the oracle says true and the
  kernel calls it false, that is recorded (a completeness problem, not a failure).
- `parser`: token soup, arbitrary text and damaged printed expressions. The oracle's parser may
  only raise OracleError, and what it parses must print and read back to the same tree. The
  text is also given to the kernel as a one-line proof (`lhs = rhs = start = text`):
  `check_file` must not raise and must answer `valid`, `invalid` or `error`. Where the two
  parsers disagree (one reads the text, the other does not), the outcome is counted.
- `check-file`: damaged proof files (text edits, and well-formed changes: a step replaced by an
  oracle mutant, a citation changed) and random bytes through `check_file`, which must never
  raise and must answer in time. A file called `valid` is re-checked by the oracle: a claim or a
  link false at a generic size is a soundness failure.
- `cli`: `prove check --format json` on damaged files: exit code 0, 1 or 2, no traceback.
- `grade-read`: `prove grade`'s reader never raises.
- `grade`: `prove grade` over classes of damaged or mutated submissions (examples/class): it
  finishes, grades every student on every problem, and credits no proof the oracle refutes.

Every input runs under a wall-clock limit (a hang is a failure). The figures are printed at the
end; `tests/test_fuzz.py` runs a short version of each target.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, Phase, given, seed as hyp_seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "benchmarks")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mutation as M  # noqa: E402
import oracle as O  # noqa: E402

# =============================================================================================
# Well-shaped random expressions (oracle trees)
# =============================================================================================

VARIABLES: dict[str, dict] = {
    "X": {"shape": ["n", "n"], "invertible": True},
    "A": {"shape": ["n", "n"], "constant": True},
    "B": {"shape": ["n", "n"], "constant": True},
    "S": {"shape": ["n", "n"], "constant": True, "symmetric": True},
    "x": {"shape": ["n", 1]},
    "a": {"shape": ["n", 1], "constant": True},
    "Y": {"shape": ["n", "m"]},
    "C": {"shape": ["n", "m"], "constant": True},
    "M": {"shape": ["m", "m"], "constant": True},
    "s": {"shape": "scalar"},
    "c": {"shape": "scalar", "constant": True},
}
DECLS = O.read_variables(VARIABLES)
NAMES = frozenset(DECLS)
VARYING = {n for n, v in DECLS.items() if not v["constant"]}
LEAVES: dict[tuple, list[str]] = {}
for _n, _v in DECLS.items():
    LEAVES.setdefault(_v["shape"], []).append(_n)
NUMS = [Fraction(1), Fraction(2), Fraction(3), Fraction(1, 2)]
INNER = ["n", "m", 1]


def _mul(*fs: O.Node) -> O.Node:
    acc = fs[0]
    for f in fs[1:]:
        acc = ("mul", acc, f)
    return acc


def _leaf(draw, shape) -> O.Node:
    r, c = shape
    names = LEAVES.get(shape, [])
    if shape == (1, 1) and draw(st.booleans()):
        return ("num", draw(st.sampled_from(NUMS)))
    if names:
        return ("var", draw(st.sampled_from(sorted(names))))
    if (c, r) in LEAVES:
        return ("T", ("var", draw(st.sampled_from(sorted(LEAVES[(c, r)])))))
    return _mul(_leaf(draw, (r, "n")), _leaf(draw, ("n", c)))


def _gen(draw, shape, depth: int, dleft: int) -> O.Node:
    r, c = shape
    if depth <= 0 or draw(st.integers(0, 5)) == 0:
        return _leaf(draw, shape)
    ops = ["neg", "add", "sub", "mul", "mul", "scale", "T", "div"]
    if r == c:
        ops += ["inv", "pow", "plus-I"]
    if shape == (1, 1):
        ops += ["tr", "tr", "det", "log"]
    if dleft > 0:
        ops += ["d", "d"]
    op = draw(st.sampled_from(ops))

    def sub(s, dd=0):
        return _gen(draw, s, depth - 1, dleft - dd)

    if op == "neg":
        return ("neg", sub(shape))
    if op in ("add", "sub"):
        return (op, sub(shape), sub(shape))
    if op == "mul":
        k = draw(st.sampled_from(INNER))
        return ("mul", sub((r, k)), sub((k, c)))
    if op == "scale":
        return ("mul", sub((1, 1)), sub(shape))
    if op == "T":
        return ("T", sub((c, r)))
    if op == "inv":
        return ("pow", sub(shape), -1)
    if op == "pow":
        return ("pow", sub(shape), draw(st.sampled_from([0, 2, 3, -2])))
    if op == "plus-I":
        return ("add", sub(shape), ("I",))
    if op == "tr":
        k = draw(st.sampled_from(["n", "m", 1]))
        return ("fn", "tr", sub((k, k)))
    if op == "det":
        return ("fn", "det", _gen(draw, ("n", "n"), min(depth - 1, 1), dleft))
    if op == "log":
        k = draw(st.sampled_from(["n", "m"]))
        q = _gen(draw, (k, 1), depth - 1, dleft)
        return ("fn", "log", ("add", _mul(("T", q), q), ("num", Fraction(1))))  # positive
    if op == "div":
        den = sub((1, 1))
        return ("div", sub(shape), den)
    if op == "d":
        return ("fn", "d", sub(shape, 1))
    raise AssertionError(op)


SHAPES = [("n", "n"), ("n", 1), (1, 1), ("n", "m"), (1, "n")]


@st.composite
def expressions(draw, max_depth: int = 5) -> O.Node:
    """A well-shaped expression over VARIABLES, as the oracle reads its printed form."""
    from hypothesis import reject

    shape = draw(st.sampled_from(SHAPES))
    e = _gen(draw, shape, draw(st.integers(2, max_depth)), 2)
    try:
        e = O.parse(O.show(e, NAMES), NAMES)
        O.shape_of(e, DECLS)
    except O.OracleError:
        reject()  # an I or 0 that nothing sizes: draw again
    return e


def true_rewrites(e: O.Node) -> list[O.Node]:
    """One law of matrix algebra or calculus, applied at each position where it applies."""
    out = []
    for path, n in M._positions(e):
        def at(new):
            return M._replace(e, path, new)

        k = n[0]
        if k == "T":
            a = n[1]
            if a[0] == "mul":
                out.append(at(_mul(*(("T", f) for f in reversed(M._chain(a))))))
            if a[0] in ("add", "sub"):
                out.append(at((a[0], ("T", a[1]), ("T", a[2]))))
            if a[0] == "T":
                out.append(at(a[1]))
        if k == "fn" and n[1] == "tr":
            a = n[2]
            out.append(at(("fn", "tr", ("T", a))))
            if a[0] == "mul":
                fs = M._chain(a)
                for i in range(1, len(fs)):
                    out.append(at(("fn", "tr", _mul(*(fs[i:] + fs[:i])))))
            if a[0] in ("add", "sub"):
                out.append(at((a[0], ("fn", "tr", a[1]), ("fn", "tr", a[2]))))
        if k == "fn" and n[1] == "d":
            a = n[2]
            if a[0] == "mul":
                fs = M._chain(a)
                terms = [_mul(*(fs[:i] + [("fn", "d", fs[i])] + fs[i + 1:]))
                         for i in range(len(fs))]
                acc = terms[0]
                for t in terms[1:]:
                    acc = ("add", acc, t)
                out.append(at(acc))
            if a[0] in ("add", "sub"):
                out.append(at((a[0], ("fn", "d", a[1]), ("fn", "d", a[2]))))
            if a[0] == "neg":
                out.append(at(("neg", ("fn", "d", a[1]))))
            if a[0] == "T":
                out.append(at(("T", ("fn", "d", a[1]))))
            if a[0] == "fn" and a[1] == "tr":
                out.append(at(("fn", "tr", ("fn", "d", a[2]))))
            if a[0] == "pow" and a[2] == -1:
                out.append(at(("neg", _mul(a, ("fn", "d", a[1]), a))))
            if a[0] == "fn" and a[1] == "det":
                out.append(at(_mul(a, ("fn", "tr", _mul(("pow", a[2], -1), ("fn", "d", a[2]))))))
            if a[0] == "fn" and a[1] == "log":
                out.append(at(("div", ("fn", "d", a[2]), a[2])))
            if a[0] in ("num", "I"):
                out.append(at(("num", Fraction(0))))
        if k == "mul":
            fs = M._chain(n)
            for i, f in enumerate(fs):
                if f[0] in ("add", "sub"):
                    left = _mul(*(fs[:i] + [f[1]] + fs[i + 1:]))
                    right = _mul(*(fs[:i] + [f[2]] + fs[i + 1:]))
                    out.append(at((f[0], left, right)))
                    break
        if k == "neg" and n[1][0] == "neg":
            out.append(at(n[1][1]))
        if k == "pow" and n[2] >= 2:
            out.append(at(_mul(*([n[1]] * n[2]))))
        if k == "var":
            out.append(at(("T", ("T", n))))
            out.append(at(("add", n, ("num", Fraction(0)))))
    return out


@st.composite
def pairs(draw, max_depth: int = 5) -> tuple[O.Node, O.Node, str]:
    """(e, e', how): e' is e, a chain of true rewrites of e, or a mutant of either."""
    e = draw(expressions(max_depth))
    how = draw(st.sampled_from(["same", "rewrite", "rewrite", "mutant", "mutant", "mutant",
                                "rewrite+mutant"]))
    cur = e
    if how == "same":
        return e, e, how
    if how.startswith("rewrite"):
        for _ in range(draw(st.integers(1, 3))):
            options = true_rewrites(cur)
            if not options:
                break
            cur = options[draw(st.integers(0, len(options) - 1))]
    if how.endswith("mutant"):
        ms = M.mutants(cur, DECLS)
        if ms:
            cur = ms[draw(st.integers(0, len(ms) - 1))][1]
    try:
        cur = O.parse(O.show(cur, NAMES), NAMES)
        if O.shape_of(cur, DECLS) != O.shape_of(e, DECLS):
            return e, e, "same"
    except (O.OracleError, ValueError):
        return e, e, "same"
    return e, cur, how


# =============================================================================================
# Text generators: token soup, damaged expressions, damaged proof files
# =============================================================================================

TOKENS = ["X", "A", "a", "x", "s", "Y", "Z", "dX", "dx", "da", "tr", "det", "log", "d", "I",
          "T", "0", "1", "2", "3.5", "1/2", "10", "99999999999999999999", "+", "-", "*", "/",
          "(", ")", "(", ")", "^", "^T", "'", "ᵀ", "^{T}", "^-1", "⁻¹", "^{", "}", "^2", "^17",
          "^-3", " ", " ", "  ", "\t", "1e5", "é", "∂", "·", "[", "]", ",", "\n", "^^", "X_1",
          "exp", "⁻ᵀ", "^-T", "2305843009213693952"]


@st.composite
def token_soup(draw) -> str:
    toks = draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=40))
    return "".join(t if draw(st.booleans()) else t + " " for t in toks)


def damage(text: str, rng: random.Random, extra: list[str]) -> str:
    """1–4 random edits: a span deleted, duplicated or inserted, two lines swapped, a line
    re-indented, the text cut, or a random character inserted."""
    for _ in range(rng.randint(1, 4)):
        if not text:
            text = rng.choice(extra)
            continue
        op = rng.randrange(7)
        i = rng.randrange(len(text) + 1)
        j = min(len(text), i + rng.randint(1, 12))
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + text[i:j] + text[i:]
        elif op == 2:
            text = text[:i] + rng.choice(extra) + text[i:]
        elif op == 3:
            lines = text.split("\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        elif op == 4:
            lines = text.split("\n")
            a = rng.randrange(len(lines))
            lines[a] = " " * rng.randint(0, 6) + lines[a].lstrip()
            text = "\n".join(lines)
        elif op == 5:
            text = text[:i]
        else:
            text = text[:i] + chr(rng.randrange(0, 0x2FF)) + text[i:]
    return text


YAML_BITS = [": ", "- ", "&a ", "*a", "!!python/object:os.system ", "!!binary ", "{", "}", "[", "]",
             "'", '"', "\t", "\x00", "%YAML 1.1\n", "---\n", "? ", "...\n", "|\n", ">\n", "#",
             "by: index", "by: [algebra, theorem-2]", "by: nonsense", "expr: ", "derivative: ",
             "  - expr: tr(X)\n", "  - derivative: I\n    by: theorem-4\n", "shape: [n, n]",
             "shape: [9, 9]", "shape: scalar", "constant: true", "symmetric: true",
             "wrt: X", "equals: ", "lhs: ", "rhs: ", "layout: denominator", "theorem: t\n",
             "\ufeff", "\r\n", "<<: {a: 1}", "2X", "X^20", "(" * 70, "tr(" * 30,
             "a+" * 300, "proof: []", "variables: {}", "claim: {}", "null", "~", "0x10",
             "1_000", ".nan", "yes", "1e999"]

_TEXTS: dict[str, list[str]] = {}


def proof_texts() -> list[str]:
    """proofs/ and tests/fail/ (damage material)."""
    if "all" not in _TEXTS:
        _TEXTS["all"] = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "proofs")
                                                                          .glob("*.yaml"))] + \
            [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted((ROOT / "tests" / "fail").glob("*.yaml"))]
    return _TEXTS["all"]


def good_texts() -> list[str]:
    if "good" not in _TEXTS:
        _TEXTS["good"] = [p.read_text(encoding="utf-8")
                          for p in sorted((ROOT / "proofs").glob("*.yaml"))]
    return _TEXTS["good"]


RULE_NAMES = ["algebra", "theorem-1", "theorem-2", "theorem-3", "theorem-4", "index",
              "trace-cyclic", "trace-transpose", "trace-add", "trace-scale", "diff-product",
              "diff-constant", "diff-inverse", "diff-det", "diff-log-det", "diff-log",
              "diff-transpose", "diff-add", "diff-scale", "[diff-product, diff-constant, algebra]",
              "[trace-cyclic, trace-transpose]", "transpose-product"]


def semantic_damage(text: str, rng: random.Random) -> str:
    """A well-formed change to a proof that checks: a step's expression (or the claim's answer)
    replaced by an oracle mutant, or a citation replaced by another rule."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "proof" not in data:
        return text
    lines = text.split("\n")
    if rng.randrange(4) == 0:
        idx = [i for i, ln in enumerate(lines) if ln.strip().startswith("by:")]
        if idx:
            i = idx[rng.randrange(len(idx))]
            lines[i] = lines[i].split("by:")[0] + "by: " + rng.choice(RULE_NAMES)
            return "\n".join(lines)
    try:
        decls = O.read_variables(data.get("variables") or {})
    except O.OracleError:
        return text
    targets = []
    for stp in data["proof"][1:]:
        if isinstance(stp, dict):
            key = "derivative" if "derivative" in stp else "expr"
            targets.append((str(stp.get(key)), key + ":"))
    for key in ("equals", "rhs"):
        if key in (data.get("claim") or {}):
            targets.append((str(data["claim"][key]), key + ":"))
    if not targets:
        return text
    old, key = targets[rng.randrange(len(targets))]
    try:
        ms = M.mutants(O.parse(old, frozenset(decls)), decls)
    except O.OracleError:
        return text
    if not ms:
        return text
    new = ms[rng.randrange(len(ms))][2]
    for i, ln in enumerate(lines):
        if key in ln and old in ln:
            lines[i] = ln.replace(old, json.dumps(new, ensure_ascii=False), 1)
            break
    return "\n".join(lines)


@st.composite
def damaged_proofs(draw) -> str:
    texts = proof_texts()
    base = texts[draw(st.integers(0, len(texts) - 1))]
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if draw(st.integers(0, 2)) == 0:
        good = good_texts()
        return semantic_damage(good[draw(st.integers(0, len(good) - 1))], rng)
    if draw(st.integers(0, 4)) == 0:
        lines = base.split("\n")
        idx = [i for i, ln in enumerate(lines) if "expr:" in ln or "derivative:" in ln]
        if idx:
            i = idx[rng.randrange(len(idx))]
            key, _, _ = lines[i].partition(":")
            lines[i] = key + ": " + draw(token_soup()).replace("\n", " ")
            base = "\n".join(lines)
        return base
    return damage(base, rng, YAML_BITS)


def file_inputs():
    enc = lambda t: t.encode("utf-8", errors="surrogatepass")  # noqa: E731
    return st.one_of(damaged_proofs().map(enc), damaged_proofs().map(enc),
                     damaged_proofs().map(enc), st.binary(max_size=400))


def parser_inputs():
    def damaged_expr(e: O.Node, r: int) -> str:
        return damage(O.show(e, NAMES), random.Random(r), TOKENS)

    return st.one_of(token_soup(), token_soup(), st.text(max_size=80),
                     expressions().map(lambda e: O.show(e, NAMES)),
                     st.builds(damaged_expr, expressions(), st.integers(0, 2**32 - 1)))


# =============================================================================================
# Properties (each returns an outcome label; a violated property raises Failure)
# =============================================================================================


class Failure(Exception):
    """A property was violated; the message holds a full reproduction."""


class Hang(BaseException):
    """Raised by time_limit; a BaseException, so that no `except Exception` swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """A wall-clock limit (main thread only); exceeding it raises Hang."""
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_KERNEL: list[M.Kernel] = []


def kernel() -> M.Kernel:
    if not _KERNEL:
        _KERNEL.append(M.Kernel())
    return _KERNEL[0]


def pair_file(lhs: str, rhs: str, by: str | None = "index") -> str:
    """Claim lhs = rhs over VARIABLES, proved by the one step lhs → rhs cited `by` (with by
    None: a one-line proof, just lhs)."""
    lines = ["theorem: fuzz-pair", "variables:",
             *(f"  {n}: {json.dumps(v)}" for n, v in VARIABLES.items()),
             "claim:",
             f"  lhs: {json.dumps(lhs, ensure_ascii=False)}",
             f"  rhs: {json.dumps(rhs, ensure_ascii=False)}",
             "proof:",
             f"  - expr: {json.dumps(lhs, ensure_ascii=False)}"]
    if by is not None:
        lines += [f"  - expr: {json.dumps(rhs, ensure_ascii=False)}", f"    by: {by}"]
    return "\n".join(lines) + "\n"


def prop_truth(e: O.Node, e2: O.Node, how: str) -> str:
    """The kernel's verdict on the step e → e' against the oracle's."""
    lhs, rhs = O.show(e, NAMES), O.show(e2, NAMES)
    verdict = O.judge_trees(e, e2, DECLS, VARYING, seed=zlib.crc32(rhs.encode()))
    text = pair_file(lhs, rhs)
    res = kernel().check(text)
    if res.status == "crash":
        raise Failure(f"check_file raised on\n{text}\n{res.message}")
    step = res.step(1)
    ks = step.status if step is not None else f"file-{res.status}"
    if verdict.status == "false" and verdict.generic and ks in ("valid", "unjustified"):
        raise Failure(f"SOUNDNESS: a false step was called {ks} "
                      f"[{', '.join(step.checked_by)}] ({how})\n  e  = {lhs}\n  e' = {rhs}\n"
                      + O.show_witness(verdict.witness) + "\n  the file:\n" + text)
    if verdict.status == "true" and ks == "invalid" and "false" in (step.message or ""):
        return "true/called-false"
    return f"{verdict.status}/{ks}"


def prop_parser(text: str) -> str:
    """The oracle's parser and printer on `text`, and the kernel's reading of it."""
    try:
        e = O.parse(text, NAMES)
        ours = "parsed"
    except O.OracleError as exc:
        e, ours = None, f"oracle-{exc.kind}"
    except Exception:  # noqa: BLE001
        raise Failure(f"oracle.parse({text!r}) raised\n" + traceback.format_exc()) from None
    if e is not None:
        try:
            printed = O.show(e, NAMES)
            again = O.parse(printed, NAMES)
        except (O.OracleError, ValueError) as exc:
            raise Failure(f"oracle round trip: {text!r} prints as something unreadable: "
                          f"{exc}") from None
        if again != e:
            raise Failure(f"oracle round trip: {text!r} prints as {printed!r}, which reads "
                          f"back differently")
        try:
            O.shape_of(e, DECLS)
            ours = "well-shaped"
        except O.OracleError:
            ours = "shape-error"
    # the kernel: a one-line proof of text = text
    flat = text.replace("\n", " ")
    res = kernel().check(pair_file(flat, flat, by=None))
    if res.status == "crash":
        raise Failure(f"check_file raised on the one-line proof of {text!r}\n{res.message}")
    if res.status not in ("valid", "invalid", "error"):
        raise Failure(f"check_file answered {res.status!r} for {text!r}")
    theirs = "kernel-reads" if res.status == "valid" else "kernel-refuses"
    return f"{ours}/{theirs}"


def prop_check_file(raw: bytes, folder: Path | None = None) -> str:
    """check_file never raises, and a `valid` file survives the oracle's re-check."""
    k = kernel()
    path = k.dir / "zz-fuzz.yaml"
    path.write_bytes(raw)
    from prover.proofs import check_file

    try:
        fr = check_file(path, k.book())
    except Exception:  # noqa: BLE001
        raise Failure(f"check_file raised on {raw!r}\n" + traceback.format_exc()) from None
    if fr.status not in ("valid", "invalid", "error"):
        raise Failure(f"check_file status {fr.status!r} on {raw!r}")
    if fr.status == "error" and not fr.message:
        raise Failure(f"an error without a message on {raw!r}")
    if fr.status == "valid":
        recheck_valid(raw)
    return fr.status


def recheck_valid(raw: bytes) -> None:
    """A file called valid states a true claim and every link of it is true — by the oracle."""
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except Exception:  # noqa: BLE001 - the kernel read it; PyYAML may refuse some bytes
        return
    if not isinstance(data, dict):
        return
    v = O.judge_claim(data, seed=1)
    if v.status == "false" and v.generic:
        raise Failure("SOUNDNESS: a file whose claim is false was called valid:\n"
                      + raw.decode("utf-8", "replace") + "\n" + O.show_witness(v.witness))
    for i, lv in O.judge_links(data, seed=2):
        if lv.status == "false" and lv.generic:
            raise Failure(f"SOUNDNESS: link {i} is false in a file called valid:\n"
                          + raw.decode("utf-8", "replace") + "\n" + O.show_witness(lv.witness))


def prop_cli(raw: bytes, folder: Path) -> str:
    import contextlib
    import io

    from prover.cli import main

    path = folder / "fuzz.yaml"
    path.write_bytes(raw)
    output = io.StringIO()
    code, tb = None, ""
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            main(["check", "--format", "json", str(path)])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # noqa: BLE001 - reported below
        tb = traceback.format_exc()
    if code not in (0, 1, 2):
        raise Failure(f"prove check exited {code} on {raw!r}\n{output.getvalue()}\n{tb}")
    if "Traceback" in output.getvalue():
        raise Failure(f"a traceback reached the user on {raw!r}\n{output.getvalue()}")
    return f"exit {code}"


def prop_grade_read(raw: bytes) -> str:
    from prover.grade import read_submission

    try:
        lf = read_submission(raw)
    except Exception:  # noqa: BLE001
        raise Failure(f"read_submission raised on {raw!r}\n" + traceback.format_exc()) from None
    return "error" if lf.error else f"{len(lf.proofs)} proofs"


GRADE_STATUSES = {"valid", "invalid", "incomplete", "rejected", "missing", "error",
                  "needs_review"}


def grade_batch(rng: random.Random, students: int, folder: Path) -> tuple["Tally", float]:
    """One `prove grade` run over `students` damaged submissions (examples/class, each file
    damaged or mutated): it must finish, grade every student on every problem, and every
    credited `valid` proof must survive the oracle's re-check."""
    from prover.grade import grade, load_assignment

    tally = Tally()
    t0 = time.perf_counter()
    bases = sorted((ROOT / "examples" / "class").rglob("*.yaml"))
    subs = folder / f"class{rng.randrange(10**9)}"
    raws: dict[str, bytes] = {}
    for i in range(students):
        base = bases[rng.randrange(len(bases))]
        text = base.read_text(encoding="utf-8", errors="replace")
        if rng.randrange(2) == 0:
            try:
                text = semantic_damage(text, rng)
            except Exception:  # noqa: BLE001 - a file of several proofs: damage its text
                text = damage(text, rng, YAML_BITS)
        else:
            text = damage(text, rng, YAML_BITS)
        who = subs / f"s{i:04d}"
        who.mkdir(parents=True)
        raw = text.encode("utf-8", errors="surrogatepass")
        (who / base.name).write_bytes(raw)
        raws[f"s{i:04d}"] = raw
    try:
        assignment = load_assignment(ROOT / "examples" / "hw.yaml")
        with time_limit(60 + 3 * students):
            report = grade(subs, assignment, jobs=1, timeout=60)
    except Hang as exc:
        tally.failures.append(f"HANG: prove grade on {subs}: {exc}")
        return tally, time.perf_counter() - t0
    except Exception:  # noqa: BLE001
        tally.failures.append("prove grade raised\n" + traceback.format_exc())
        return tally, time.perf_counter() - t0
    ids = [p.id for p in assignment.problems]
    for sg in report.students:
        tally.inputs += 1
        got = [pg.id for pg in sg.problems]
        bad = [pg for pg in sg.problems if pg.status not in GRADE_STATUSES]
        if got != ids or bad:
            tally.failures.append(f"student {sg.student}: problems {got}, statuses "
                                  f"{[pg.status for pg in sg.problems]}")
            continue
        for pg in sg.problems:
            tally.outcomes[pg.status] += 1
            if pg.status == "valid" and pg.score > 0:
                try:
                    recheck_valid(raws.get(sg.student, b""))
                except Failure as exc:
                    tally.failures.append(f"prove grade credited {sg.student}/{pg.id}: {exc}")
    if len(report.students) != students:
        tally.failures.append(f"{students} students submitted, {len(report.students)} graded")
    return tally, time.perf_counter() - t0


# =============================================================================================
# Driving hypothesis
# =============================================================================================


@dataclass
class Tally:
    inputs: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run(strategy, prop: Callable[[Any], str], n: int, seed: int, tally: Tally,
        stop_on_failure: bool = False, per_input_seconds: float = 120.0) -> Tally:
    """Feed n generated inputs to prop, recording outcomes and failures (hypothesis with a fixed
    seed, generation only: no shrinking, so every failure is kept as found)."""
    t0 = time.perf_counter()

    @hyp_seed(seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(x):
        try:
            with time_limit(per_input_seconds):
                label = prop(x)
        except Failure as exc:
            tally.failures.append(str(exc))
            tally.outcomes["FAILURE"] += 1
            if stop_on_failure:
                raise
            return
        except Hang as exc:
            tally.failures.append(f"HANG on {x!r}: {exc}")
            tally.outcomes["HANG"] += 1
            if stop_on_failure:
                raise Failure(tally.failures[-1]) from None
            return
        tally.inputs += 1
        tally.outcomes[label] += 1

    body()
    tally.seconds += time.perf_counter() - t0
    return tally


TARGETS = {
    "truth": 8_000,
    "parser": 60_000,
    "check-file": 25_000,
    "cli": 300,
    "grade-read": 8_000,
    "grade": 400,
}


def run_target(name: str, n: int, seed: int, folder: Path, stop_on_failure: bool = False) -> Tally:
    tally = Tally()
    if name == "truth":
        run(pairs(), lambda p: prop_truth(*p), n, seed, tally, stop_on_failure)
    elif name == "parser":
        run(parser_inputs(), prop_parser, n, seed, tally, stop_on_failure)
    elif name == "check-file":
        run(file_inputs(), lambda raw: prop_check_file(raw, folder), n, seed, tally,
            stop_on_failure)
    elif name == "cli":
        run(file_inputs(), lambda raw: prop_cli(raw, folder), n, seed, tally, stop_on_failure)
    elif name == "grade-read":
        run(file_inputs(), prop_grade_read, n, seed, tally, stop_on_failure)
    elif name == "grade":
        rng = random.Random(seed)
        while tally.inputs + len(tally.failures) < n:
            part, secs = grade_batch(rng, min(50, n - tally.inputs), folder)
            tally.inputs += part.inputs
            tally.outcomes.update(part.outcomes)
            tally.failures += part.failures
            tally.seconds += secs
            if stop_on_failure and tally.failures:
                raise Failure(tally.failures[0])
            if not part.inputs and not part.failures:
                break
    else:
        raise SystemExit(f"unknown target {name!r}")
    return tally


def signature(failure: str) -> str:
    """What kind of failure: the exception and the innermost prover frame, or the first line."""
    import re

    if "Traceback" not in failure:
        return failure.splitlines()[0][:80]
    frames = re.findall(r'File "([^"]*prover[^"]*)", line (\d+)', failure)
    exc = [ln for ln in failure.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", ln)]
    where = f" at {Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else ""
    return (exc[-1].split(":")[0] if exc else "exception") + where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1)")
    ap.add_argument("--only", action="append", choices=list(TARGETS), help="run these targets")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args(argv)
    names = args.only or list(TARGETS)
    total, failures = 0, []
    print(f"command: python benchmarks/fuzz.py --scale {args.scale} --seed {args.seed}"
          + "".join(f" --only {n}" for n in (args.only or [])))
    print("truth judged by the independent oracle (benchmarks/oracle.py); the kernel driven "
          "through prover.proofs.check_file")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            n = max(1, int(TARGETS[name] * args.scale))
            tally = run_target(name, n, args.seed, Path(tmp))
            total += tally.inputs + len(tally.failures)
            failures += [(name, f) for f in tally.failures]
            top = ", ".join(f"{k}: {v}" for k, v in tally.outcomes.most_common(10))
            print(f"{name:10s} {tally.inputs + len(tally.failures):7d} inputs  "
                  f"{len(tally.failures):3d} failures  {tally.seconds:7.0f} s   {top}", flush=True)
    groups: dict[tuple, list[str]] = {}
    for name, f in failures:
        groups.setdefault((name, signature(f)), []).append(f)
    for (name, sig), fs in groups.items():
        print(f"\n--- {name}: {len(fs)} × {sig} (the first in full) ---\n{fs[0]}")
    print(f"\ntotal: {total} generated inputs, {len(failures)} failures "
          f"({sum(1 for _, f in failures if f.startswith('SOUNDNESS'))} soundness, "
          f"{sum(1 for _, f in failures if 'HANG' in f)} hangs, "
          f"{sum(1 for _, f in failures if 'Traceback' in f)} tracebacks)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())


# =============================================================================================
# Beyond the trace: random steps with ∘, ⊗, vec, diag, sum and entrywise functions, judged by
# the kernel and by the oracle (real functions, numeric), at once
# =============================================================================================

BEYOND_VARS = {"u": {"shape": ["n", 1]}, "v": {"shape": ["n", 1]}, "w": {"shape": ["m", 1]},
               "A": {"shape": ["n", "n"]}, "B": {"shape": ["m", "m"]}, "s": {"shape": "scalar"}}
_VEC = ["u", "v", "u - v", "A u", "diag(u) v", "u .* v", "exp(u)", "sqrt(u .* u + v .* v)", "tanh(v)",
        "sigmoid(A v)", "vec(u^T)", "exp(u - u)", "(I + A) u", "A^T v", "diag(v) exp(u)", "s u", "sum(u) v"]
_MAT = ["A", "A^T", "A .* A", "I .* A", "diag(u)", "u v^T", "exp(A)", "A A", "diag(exp(u))", "I + A",
        "tanh(A) .* A", "A .* (u v^T)"]
_SCAL = ["sum({v})", "{v}^T {w}", "tr({m})", "sum({m} .* {n})", "{v}^T {m} {w}", "sum(exp({v}))",
         "tr(kron({m}, B))", "vec({m})^T vec({n})", "sum(kron({v}, w))"]


# scalars that count a size with no variable left on the index (red-team round 9): each is n,
# written so that no I or literal is in sight in most of them
_COUNTS = ["tr(I + A) - tr(A)", "sum(exp(u - u)) / exp(s - s)", "sum(diag(u)^-1 u)", "tr(diag(u)^-1 diag(u))",
           "sum(diag(v)^-2 (v .* v))", "u^T diag(u)^-1 diag(v)^-1 v", "sum(kron(diag(u)^-1 u, w)) / sum(w)",
           "tr(diag(u .* v)^-1 diag(v) diag(u))", "sum(diag(u)^-1 d(u)) - sum(diag(u)^-1 du) + sum(diag(v)^-1 v)"]


def counting_steps(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Random false steps lhs = lhs + (N - k) t where N is a size-counting scalar (`_COUNTS`, n)
    and k a size: true at n = k only, so a kernel that holds one has checked a single size."""
    out = []
    for lhs, _ in beyond_steps(rng, count):
        n, k = rng.choice(_COUNTS), rng.randrange(2, 8)
        t = rng.choice(["s", "sum(u)", "exp(s)", "sum(w)", "u^T v", "(s + s) / s"])
        out.append((lhs, f"{lhs} + ({n} - {k}) {t}" if rng.random() < 0.5 else f"{lhs} + ({n}) {t} - {k} {t}"))
    return out


# scalars that count a size through other constructs (red-team round 10): an I beside a vec or
# a ⊗, a diagonal inverse inside a ⊗, a Hadamard product with an all-ones matrix
_COUNTS_MORE = ["sum(vec(I + A - A) .* vec(exp(A - A))) / exp(s - s)",
                "sum(kron(diag(u)^-1 u, diag(w)^-1 w)) / sum(diag(w)^-1 w)",
                "tr(kron(I + A, B) - kron(A, B)) / tr(B)", "sum(exp(u - u) .* (diag(v)^-1 v)) / exp(s - s)",
                "sum(vec(diag(u)^-1 diag(u)) .* vec(I + A - A))"]


def quotient_steps(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Random false steps lhs = lhs + R(N) t where R(N) = 5/(5N - 5k + 1) + 5/(5N - 5k - 2) - 5/2
    is a sum of two quotients by a size-counting scalar N (n): zero at n = k and n = k + 1 only
    (1/x + 1/y = 1/(x+1) + 1/(y+1) at x = 1/5, y = -2/5). Cleared, R is of degree two in n, where a
    count that takes a sum's largest term sees one loop: a corner of two sizes."""
    out = []
    for lhs, _ in beyond_steps(rng, count):
        n, k = rng.choice(_COUNTS + _COUNTS_MORE), rng.randrange(2, 14)
        t = rng.choice(["s", "sum(u)", "exp(s)", "sum(w)", "u^T v", "(s + s) / s"])
        r = f"(5/(5 ({n}) - {5 * k - 1}) + 5/(5 ({n}) - {5 * k + 2}) - 5/2)"
        out.append((lhs, f"{lhs} + {r} {t}" if rng.random() < 0.5 else f"{lhs} + {r} ({t})"))
    return out


def more_counting_steps(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """`counting_steps` with the counters of `_COUNTS_MORE`: false at every size but one."""
    out = []
    for lhs, _ in beyond_steps(rng, count):
        n, k = rng.choice(_COUNTS_MORE), rng.randrange(2, 14)
        t = rng.choice(["s", "sum(u)", "exp(s)", "sum(w)", "u^T v", "(s + s) / s"])
        out.append((lhs, f"{lhs} + ({n} - {k}) {t}"))
    return out


def beyond_steps(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Random scalar steps: a template filled twice, with the second filling often a small
    change of the first (swap two factors, transpose, a law of one function), so that true and
    false steps both come up."""
    out = []
    for _ in range(count):
        t = rng.choice(_SCAL)
        fill = {"v": rng.choice(_VEC), "w": rng.choice(_VEC), "m": rng.choice(_MAT), "n": rng.choice(_MAT)}
        lhs = t.format(**{k: f"({x})" for k, x in fill.items()})
        roll = rng.random()
        if roll < 0.3:
            fill2 = dict(fill, v=fill["w"], w=fill["v"])
            rhs = t.format(**{k: f"({x})" for k, x in fill2.items()})
        elif roll < 0.5:
            rhs = rng.choice(_SCAL).format(**{k: f"({x})" for k, x in fill.items()})
        elif roll < 0.7:
            rhs = f"{lhs} + sum(u)^2 - sum(u .* u) - 2 sum(u) sum(u) / (s + s) * s"
        else:
            fill2 = dict(fill, m=fill["m"] + "^T", n=fill["n"] + "^T")
            rhs = t.format(**{k: f"({x})" for k, x in fill2.items()})
        out.append((lhs, rhs))
    return out


def beyond_crosscheck(count: int = 60, seed: int = 0, counting: bool | str = False) -> dict[str, int]:
    """Kernel verdicts (truth.decide) against the oracle's on `count` random steps: the number of
    steps the kernel holds that the oracle finds false (soundness failures, must be 0), and the
    other tallies. `counting`: the steps of `counting_steps` (false at every size but one);
    "quotients": `quotient_steps` (false at every size but two); "more": `more_counting_steps`."""
    from prover.kernel.parser import parse
    from prover.kernel.shapes import SCALAR, Shape, VarInfo
    from prover.kernel.truth import Context, decide

    env = {n: VarInfo(SCALAR if v["shape"] == "scalar" else Shape(*v["shape"])) for n, v in BEYOND_VARS.items()}
    ctx = Context(env, set(env))
    tally = {"steps": 0, "kernel_holds": 0, "kernel_false": 0, "kernel_unknown": 0, "oracle_true": 0,
             "oracle_false": 0, "oracle_undefined": 0, "unsound": 0, "false_but_oracle_true": 0}
    bad: list[tuple[str, str]] = []
    gen = {"quotients": quotient_steps, "more": more_counting_steps}.get(counting) if isinstance(  # type: ignore[arg-type]
        counting, str) else counting_steps if counting else beyond_steps
    for lhs, rhs in gen(random.Random(seed), count):
        try:
            ev = decide(parse(lhs, set(env)), parse(rhs, set(env)), ctx)
        except Exception:  # noqa: BLE001  (a shape error: not a step)
            continue
        v = O.judge(lhs, rhs, BEYOND_VARS, sizes=[{"n": 2, "m": 3}, {"n": 3, "m": 2}, {"n": 4, "m": 2}], points=2)
        tally["steps"] += 1
        tally["kernel_holds" if ev.holds else "kernel_" + ev.kind] += 1
        tally["oracle_" + v.status] += 1
        if ev.holds and v.status == "false":
            tally["unsound"] += 1
            bad.append((lhs, rhs))
        if ev.kind == "false" and v.status == "true":
            tally["false_but_oracle_true"] += 1
            bad.append((lhs, rhs))
    tally["examples"] = bad[:5]  # type: ignore[assignment]
    return tally
