"""Fuzzing the checker (issue 6, deliverable 2). Not a test: it prints figures.

    python benchmarks/fuzz.py                  # the long run: ≥ 100,000 generated inputs
    python benchmarks/fuzz.py --scale 0.1      # a tenth of it
    python benchmarks/fuzz.py --only truth     # one target (truth, truth-z3, parser, yaml,
                                               # check-file, cli, grade-read, grade)

Targets, each driven by hypothesis with a fixed seed:

- `truth`: random well-shaped expressions e over a few declared variables, paired with e itself,
  a random true rewrite of e (transpose of a product, trace rotation, product rule, …) or a random
  mutant (see `mutation.py`); `check_equal(e, e')` (random points only) is compared with an
  independent float64 evaluation. A pair that is numerically false must never be `true` or
  `probable`; a pair that is numerically true should not be `false`.
- `truth-z3`: the same with the exact (Z3) stage on.
- `parser`: token soup, arbitrary text and damaged printed expressions through `parse`,
  `shape_of` and `show` (a parse must round-trip); only `ProveError` may come out.
- `yaml`: damaged proof files and arbitrary text through `load_yaml`, `parse_proof` and
  `to_kernel`; only `SourceError` may come out.
- `check-file`: damaged proof files and random bytes through `prover.proofs.check_file`, which
  must never raise, must answer within its time limit, and whose `valid` verdicts are re-checked
  numerically (a `valid` file whose claim is false would be a soundness failure).
- `cli`: `prove check --format json` on damaged files: exit code 0, 1 or 2 and no traceback.
- `grade-read`: `prove grade`'s reader (`prover.grade.read_submission`) never raises.
- `grade`: `prove grade` runs over classes of damaged or mutated submissions (examples/class):
  it finishes, grades every student on every problem, and credits no numerically false proof.

Every input runs under a wall-clock limit (a hang is a failure). The figures are printed at the
end; `tests/test_fuzz.py` runs a short version of each target.
"""
from __future__ import annotations

import argparse
import contextlib
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

from hypothesis import HealthCheck, Phase, given, seed as hyp_seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

import mutation as M  # noqa: E402

from prover.kernel.errors import ProveError  # noqa: E402
from prover.kernel.expr import (Add, Div, Expr, Func, Ident, Inv, Mul, Neg,  # noqa: E402
                                Num, Pow, Sym, T, add, mul, replace_at, subterms)
from prover.kernel.parser import parse  # noqa: E402
from prover.kernel.printer import show  # noqa: E402
from prover.kernel.shapes import Shape, VarInfo, shape_of  # noqa: E402

# =============================================================================================
# Well-shaped random expressions
# =============================================================================================

ENV: dict[str, VarInfo] = {
    "X": VarInfo(Shape("n", "n"), invertible=True),
    "A": VarInfo(Shape("n", "n"), constant=True),
    "B": VarInfo(Shape("n", "n"), constant=True),
    "S": VarInfo(Shape("n", "n"), constant=True, symmetric=True),
    "x": VarInfo(Shape("n", 1)),
    "a": VarInfo(Shape("n", 1), constant=True),
    "Y": VarInfo(Shape("n", "m")),
    "C": VarInfo(Shape("n", "m"), constant=True),
    "M": VarInfo(Shape("m", "m"), constant=True),
    "s": VarInfo(Shape(1, 1)),
    "c": VarInfo(Shape(1, 1), constant=True),
}
NAMES = set(ENV)
VARYING = {n for n, v in ENV.items() if not v.constant}
LEAVES: dict[tuple, list[str]] = {}
for _n, _v in ENV.items():
    LEAVES.setdefault((_v.shape.rows, _v.shape.cols), []).append(_n)
NUMS = [Fraction(1), Fraction(2), Fraction(3), Fraction(1, 2), Fraction(0)]
INNER = ["n", "m", 1]


def _leaf(draw, shape) -> Expr:
    r, c = shape
    names = LEAVES.get(shape, [])
    if shape == (1, 1) and draw(st.booleans()):
        return Num(draw(st.sampled_from(NUMS[:4])))
    if names:
        return Sym(draw(st.sampled_from(names)))
    if (c, r) in LEAVES:
        return T(Sym(draw(st.sampled_from(LEAVES[(c, r)]))))
    # no variable of this shape or its transpose (m×1, 1×m, m×n): a product through n
    return mul(_leaf(draw, (r, "n")), _leaf(draw, ("n", c)))


def _gen(draw, shape, depth: int, dleft: int) -> Expr:
    r, c = shape
    if depth <= 0 or draw(st.integers(0, 5)) == 0:
        return _leaf(draw, shape)
    ops = ["neg", "add", "mul", "mul", "scale", "T"]
    if r == c:
        ops += ["inv", "pow", "plus-I"]
    if shape == (1, 1):
        ops += ["tr", "tr", "det", "log", "div"]
    else:
        ops += ["div"]
    if dleft > 0:
        ops += ["d", "d"]
    op = draw(st.sampled_from(ops))
    sub = lambda s, dd=0: _gen(draw, s, depth - 1, dleft - dd)  # noqa: E731
    if op == "neg":
        return Neg(sub(shape))
    if op == "add":
        return add(sub(shape), sub(shape))
    if op == "mul":
        k = draw(st.sampled_from(INNER))
        return mul(sub((r, k)), sub((k, c)))
    if op == "scale":
        return mul(sub((1, 1)), sub(shape))
    if op == "T":
        return T(sub((c, r)))
    if op == "inv":
        return Inv(sub(shape))
    if op == "pow":
        return Pow(sub(shape), draw(st.sampled_from([0, 2, 3, -2])))
    if op == "plus-I":
        return add(sub(shape), Ident())
    if op == "tr":
        k = draw(st.sampled_from(["n", "m", 1]))
        return Func("tr", sub((k, k)))
    if op == "det":
        return Func("det", _gen(draw, ("n", "n"), min(depth - 1, 1), dleft))
    if op == "log":
        k = draw(st.sampled_from(["n", "m"]))
        q = _gen(draw, (k, 1), depth - 1, dleft)
        return Func("log", mul(T(q), q))  # positive almost everywhere
    if op == "div":
        return Div(sub(shape), sub((1, 1)))
    if op == "d":
        return Func("d", sub(shape, 1))
    raise AssertionError(op)


SHAPES = [("n", "n"), ("n", 1), (1, 1), ("n", "m"), (1, "n")]


@st.composite
def expressions(draw, max_depth: int = 5) -> Expr:
    """A well-shaped expression over ENV (re-read from its printed form, as a user would)."""
    shape = draw(st.sampled_from(SHAPES))
    e = _gen(draw, shape, draw(st.integers(2, max_depth)), 2)
    try:
        e = parse(show(e, NAMES), NAMES)
        shape_of(e, ENV)
    except ProveError:
        # an I or 0 that nothing sizes, or a flattened product whose 1×1 factors now group
        # differently (rare): draw again
        from hypothesis import reject

        reject()
    return e


# -- true rewrites ------------------------------------------------------------------------------
def true_rewrites(e: Expr) -> list[Expr]:
    """One law of matrix algebra or calculus applied at each position where it applies."""
    out = []
    for path, n in subterms(e):
        at = lambda new: replace_at(e, path, new)  # noqa: E731
        if isinstance(n, T) and isinstance(n.arg, Mul):
            out.append(at(mul(*(T(f) for f in reversed(n.arg.args)))))
        if isinstance(n, T) and isinstance(n.arg, Add):
            out.append(at(add(*(T(t) for t in n.arg.args))))
        if isinstance(n, T) and isinstance(n.arg, T):
            out.append(at(n.arg.arg))
        if isinstance(n, Func) and n.name == "tr":
            out.append(at(Func("tr", T(n.arg))))
            if isinstance(n.arg, Mul):
                args = n.arg.args
                for k in range(1, len(args)):
                    out.append(at(Func("tr", mul(*args[k:], *args[:k]))))
            if isinstance(n.arg, Add):
                out.append(at(add(*(Func("tr", t) for t in n.arg.args))))
        if isinstance(n, Func) and n.name == "d":
            a = n.arg
            if isinstance(a, Mul):
                terms = [mul(*a.args[:i], Func("d", a.args[i]), *a.args[i + 1:])
                         for i in range(len(a.args))]
                out.append(at(add(*terms)))
            if isinstance(a, Add):
                out.append(at(add(*(Func("d", t) for t in a.args))))
            if isinstance(a, Neg):
                out.append(at(Neg(Func("d", a.arg))))
            if isinstance(a, T):
                out.append(at(T(Func("d", a.arg))))
            if isinstance(a, Func) and a.name == "tr":
                out.append(at(Func("tr", Func("d", a.arg))))
            if isinstance(a, Inv):
                out.append(at(Neg(mul(a, Func("d", a.arg), a))))
            if isinstance(a, Func) and a.name == "det":
                out.append(at(mul(a, Func("tr", mul(Inv(a.arg), Func("d", a.arg))))))
            if isinstance(a, Func) and a.name == "log":
                out.append(at(Div(Func("d", a.arg), a.arg)))
            if isinstance(a, (Num, Ident)):
                out.append(at(Num(Fraction(0))))
        if isinstance(n, Mul):
            for i, f in enumerate(n.args):
                if isinstance(f, Add):  # distribute
                    out.append(at(add(*(mul(*n.args[:i], t, *n.args[i + 1:]) for t in f.args))))
                    break
        if isinstance(n, Neg) and isinstance(n.arg, Neg):
            out.append(at(n.arg.arg))
        if isinstance(n, Pow) and n.k >= 2:
            out.append(at(mul(*([n.arg] * n.k))))
        if isinstance(n, Sym):
            out.append(at(T(T(n))))
            out.append(at(add(n, Num(Fraction(0)))))
    return out


@st.composite
def pairs(draw, max_depth: int = 5) -> tuple[Expr, Expr, str]:
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
        ms = M.mutants(cur, ENV, NAMES)
        if ms:
            cur = ms[draw(st.integers(0, len(ms) - 1))][1]
    try:
        cur = parse(show(cur, NAMES), NAMES)
        s, t = shape_of(cur, ENV), shape_of(e, ENV)
    except ProveError:
        return e, e, "same"
    if (s.rows, s.cols) != (t.rows, t.cols):
        return e, e, "same"
    return e, cur, how


# =============================================================================================
# Text generators: token soup, damaged expressions, damaged proof files
# =============================================================================================

TOKENS = ["X", "A", "a", "x", "s", "Y", "Z", "dX", "dx", "da", "tr", "det", "log", "d", "I",
          "T", "0", "1", "2", "3.5", "1/2", "10", "99999999999999999999", "+", "-", "*", "/",
          "(", ")", "(", ")", "^", "^T", "'", "ᵀ", "^{T}", "^-1", "⁻¹", "^{", "}", "^2", "^17",
          "^-3", " ", " ", "  ", "\t", "1e5", "é", "∂", "·", "[", "]", ",", "\n", "^^", "X_1"]


@st.composite
def token_soup(draw) -> str:
    toks = draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=40))
    return "".join(t if draw(st.booleans()) else t + " " for t in toks)


def damage(text: str, rng: random.Random, extra: list[str]) -> str:
    """1–4 random edits: delete, duplicate or insert a span, swap two lines, re-indent."""
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


def _proof_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((ROOT / "proofs").glob("*.yaml"))] + \
        [p.read_text(encoding="utf-8", errors="replace")
         for p in sorted((ROOT / "tests" / "fail").glob("*.yaml"))]


PROOF_TEXTS: list[str] = []


def proof_texts() -> list[str]:
    if not PROOF_TEXTS:
        PROOF_TEXTS.extend(_proof_texts())
    return PROOF_TEXTS


RULE_NAMES = ["algebra", "theorem-1", "theorem-2", "theorem-3", "theorem-4", "index",
              "trace-cyclic", "trace-transpose", "trace-add", "trace-scale", "diff-product",
              "diff-constant", "diff-inverse", "diff-det", "diff-log-det", "diff-log",
              "diff-transpose", "diff-add", "diff-scale", "[diff-product, diff-constant, algebra]",
              "[trace-cyclic, trace-transpose]", "transpose-product"]


def semantic_damage(text: str, rng: random.Random) -> str:
    """A well-formed change to a proof that checks: one step's expression (or the claim's answer)
    replaced by a well-shaped mutant, or one citation replaced by another rule."""
    import json

    from prover.proofs import load_proof_text

    proof = load_proof_text(text)
    env = proof.variables
    names = set(env)
    lines = text.split("\n")
    if rng.randrange(4) == 0:  # a citation
        idx = [i for i, ln in enumerate(lines) if ln.strip().startswith("by:")]
        if idx:
            i = idx[rng.randrange(len(idx))]
            lines[i] = lines[i].split("by:")[0] + "by: " + rng.choice(RULE_NAMES)
            return "\n".join(lines)
    targets = [(st.text, "derivative:" if st.derivative else "expr:") for st in proof.steps[1:]]
    for key in ("equals", "rhs"):
        if key in proof.claim:
            targets.append((proof.claim[key], key + ":"))
    old, key = targets[rng.randrange(len(targets))]
    try:
        ms = M.mutants(parse(old, names), env, names)
    except ProveError:
        return text
    if not ms:
        return text
    new = ms[rng.randrange(len(ms))][2]
    for i, ln in enumerate(lines):
        if key in ln and old in ln:
            lines[i] = ln.replace(old, json.dumps(new, ensure_ascii=False), 1)
            break
    return "\n".join(lines)


GOOD_TEXTS: list[str] = []


def good_texts() -> list[str]:
    if not GOOD_TEXTS:
        GOOD_TEXTS.extend(p.read_text(encoding="utf-8")
                          for p in sorted((ROOT / "proofs").glob("*.yaml")))
    return GOOD_TEXTS


@st.composite
def damaged_proofs(draw) -> str:
    texts = proof_texts()
    base = texts[draw(st.integers(0, len(texts) - 1))]
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if draw(st.integers(0, 2)) == 0:  # a well-formed change to a proof that checks
        good = good_texts()
        return semantic_damage(good[draw(st.integers(0, len(good) - 1))], rng)
    if draw(st.integers(0, 4)) == 0:  # an expression swapped for token soup
        lines = base.split("\n")
        idx = [i for i, ln in enumerate(lines) if "expr:" in ln or "derivative:" in ln]
        if idx:
            i = idx[rng.randrange(len(idx))]
            key, _, _ = lines[i].partition(":")
            lines[i] = key + ": " + draw(token_soup()).replace("\n", " ")
            base = "\n".join(lines)
        return base
    return damage(base, rng, YAML_BITS)


def yaml_inputs():
    return st.one_of(damaged_proofs(), damaged_proofs(), damaged_proofs(),
                     st.text(max_size=300), st.binary(max_size=300).map(
                         lambda b: b.decode("utf-8", errors="replace")))


def file_inputs():
    return st.one_of(damaged_proofs().map(lambda t: t.encode("utf-8", errors="surrogatepass")),
                     damaged_proofs().map(lambda t: t.encode("utf-8", errors="surrogatepass")),
                     damaged_proofs().map(lambda t: t.encode("utf-8", errors="surrogatepass")),
                     st.binary(max_size=400))


def parser_inputs():
    def damaged_expr(e: Expr, r: int) -> str:
        return damage(show(e, NAMES), random.Random(r), TOKENS)

    return st.one_of(token_soup(), token_soup(), st.text(max_size=80),
                     st.builds(damaged_expr, expressions(), st.integers(0, 2**32 - 1)))


# =============================================================================================
# Properties (each returns an outcome label; a violated property raises Failure)
# =============================================================================================


class Failure(Exception):
    """A property was violated; the message holds a full reproduction."""


class Hang(BaseException):
    """Raised by time_limit. A BaseException, so no `except Exception` on the way swallows it."""


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


def prop_truth(e: Expr, e2: Expr, how: str, use_z3: bool = False) -> str:
    """check_equal against the numeric oracle."""
    from prover.kernel.truth import Context, check_equal

    ctx = Context(ENV, VARYING)
    try:
        verdict = check_equal(e, e2, ctx, use_z3=use_z3)
    except Exception:  # noqa: BLE001
        raise Failure(f"check_equal raised on\n  e  = {show(e, NAMES)}\n  e' = {show(e2, NAMES)}\n"
                      + traceback.format_exc()) from None
    num = M.compare(e, e2, ENV, VARYING, seed=zlib.crc32(show(e2, NAMES).encode()))
    if num.status == "false" and verdict.status in ("true", "probable"):
        raise Failure(f"SOUNDNESS: a false identity was called {verdict.status} "
                      f"[{', '.join(verdict.checked_by)}] ({how})\n"
                      f"  e  = {show(e, NAMES)}\n  e' = {show(e2, NAMES)}\n"
                      + M.show_witness(num.witness))
    if num.status == "true" and verdict.status == "false":
        cex = verdict.counterexample
        raise Failure(f"COMPLETENESS: a true identity was called false ({how})\n"
                      f"  e  = {show(e, NAMES)}\n  e' = {show(e2, NAMES)}\n"
                      f"  kernel: {verdict.note} {cex.to_json() if cex else ''}")
    return f"{num.status}/{verdict.status}"


def prop_parser(text: str) -> str:
    try:
        e = parse(text, NAMES)
    except ProveError as exc:
        if exc.diag.code not in ("parse-error", "limit"):
            raise Failure(f"parse({text!r}) raised ProveError code {exc.diag.code}") from None
        return exc.diag.code
    except Exception:  # noqa: BLE001
        raise Failure(f"parse({text!r}) raised\n" + traceback.format_exc()) from None
    try:
        printed = show(e, NAMES)
    except Exception:  # noqa: BLE001
        raise Failure(f"show(parse({text!r})) raised\n" + traceback.format_exc()) from None
    try:
        again = parse(printed, NAMES)
    except ProveError as exc:
        if exc.diag.code == "limit":
            return "parsed"
        raise Failure(f"round trip: {text!r} prints as {printed!r}, which does not parse: "
                      f"{exc.diag.message}") from None
    if again != e and {n.name for n in e.walk() if isinstance(n, Sym)} <= NAMES:
        # (with an undeclared name, d(Z) prints as dZ, which reads back as the name dZ: the
        # printer's shorthand is defined for declared variables only)
        raise Failure(f"round trip: {text!r} prints as {printed!r}, which reads back differently")
    try:
        shape_of(e, ENV)
    except ProveError:
        return "parsed, shape error"
    except Exception:  # noqa: BLE001
        raise Failure(f"shape_of(parse({text!r})) raised\n" + traceback.format_exc()) from None
    return "well-shaped"


def prop_yaml(text: str) -> str:
    from prover.proofs import parse_proof, to_kernel
    from prover.source import SourceError, load_yaml

    try:
        src = load_yaml(text)
        pf = parse_proof(src.data, src)
        to_kernel(pf, src)
    except SourceError as exc:
        if not exc.message:
            raise Failure(f"SourceError without a message for {text!r}") from None
        return "source-error"
    except Exception:  # noqa: BLE001
        raise Failure(f"the loader raised on {text!r}\n" + traceback.format_exc()) from None
    return "loaded"


_BOOK = None


def _book():
    global _BOOK
    if _BOOK is None:
        from prover.rulebase import load_rulebook

        _BOOK = load_rulebook()[1]
    return _BOOK


def prop_check_file(raw: bytes, folder: Path) -> str:
    """check_file never raises, answers in time, and a `valid` file's claim is numerically true."""
    from prover.proofs import check_file

    path = folder / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        fr = check_file(path, _book())
    except Exception:  # noqa: BLE001
        raise Failure(f"check_file raised on {raw!r}\n" + traceback.format_exc()) from None
    if fr.status not in ("valid", "invalid", "error"):
        raise Failure(f"check_file status {fr.status!r} on {raw!r}")
    if fr.status == "error" and not fr.message:
        raise Failure(f"an error without a message on {raw!r}")
    if fr.status == "valid":
        _recheck_valid(raw)
    return fr.status


def _recheck_valid(raw: bytes) -> None:
    """The whole pipeline's promise: a file called valid states a true claim, and every step of
    it is true. Judged by the independent numeric evaluator."""
    from prover.proofs import load_proof_text

    proof = load_proof_text(raw.decode("utf-8-sig"))
    env, varying = M._context(proof)
    names = set(env)
    c = proof.claim
    if "derivative" in c and not c.get("equals"):
        lhs = rhs = None  # no claimed answer: only the steps are re-checked
    elif "derivative" in c:
        g = parse(c["equals"], names)
        if c.get("layout") == "denominator":
            g = T(g)
        lhs = Func("d", parse(c["derivative"], names))
        rhs = Func("tr", mul(g, Func("d", Sym(c["wrt"]))))
    else:
        lhs, rhs = parse(c["lhs"], names), parse(c["rhs"], names)
    verdict = M.compare(lhs, rhs, env, varying, seed=1) if lhs is not None else M.Verdict("skip")
    if verdict.status == "false":
        raise Failure(f"SOUNDNESS: a file whose claim is false was called valid:\n"
                      f"{raw.decode('utf-8', 'replace')}\n" + M.show_witness(verdict.witness))
    exprs = [parse(s.text, names) for s in proof.steps if not s.derivative]
    for a, b in zip(exprs, exprs[1:]):
        v = M.compare(a, b, env, varying, seed=2)
        if v.status == "false":
            raise Failure(f"SOUNDNESS: a false step {show(a, names)} → {show(b, names)} in a "
                          f"file called valid:\n{raw.decode('utf-8', 'replace')}\n"
                          + M.show_witness(v.witness))


def prop_cli(raw: bytes, folder: Path) -> str:
    from click.testing import CliRunner

    from prover.cli import main

    path = folder / "fuzz.yaml"
    path.write_bytes(raw)
    r = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    if r.exit_code not in (0, 1, 2) or (r.exception is not None
                                        and not isinstance(r.exception, SystemExit)):
        tb = "".join(traceback.format_exception(*r.exc_info)) if r.exc_info else ""
        raise Failure(f"prove check exited {r.exit_code} on {raw!r}\n{r.output}\n{tb}")
    if "Traceback" in r.output:
        raise Failure(f"a traceback reached the user on {raw!r}\n{r.output}")
    return f"exit {r.exit_code}"


def prop_grade_read(raw: bytes) -> str:
    """`prove grade`'s reading stage: read_submission never raises for bad input."""
    from prover.grade import read_submission

    try:
        lf = read_submission(raw)
    except Exception:  # noqa: BLE001
        raise Failure(f"read_submission raised on {raw!r}\n" + traceback.format_exc()) from None
    return "error" if lf.error else f"{len(lf.proofs)} proofs"


GRADE_STATUSES = {"valid", "invalid", "incomplete", "rejected", "missing", "error"}


def grade_batch(rng: random.Random, students: int, folder: Path) -> tuple[Tally, float]:
    """One `prove grade` run over `students` damaged submissions (the examples' class, each file
    damaged or mutated): it must finish, grade every student on every problem with a known
    status, and every `valid` proof it credits must be numerically sound."""
    from prover.grade import grade, load_assignment

    tally = Tally()
    t0 = time.perf_counter()
    bases = sorted((ROOT / "examples" / "class").rglob("*.yaml"))
    subs = folder / f"class{rng.randrange(10**9)}"
    raws: dict[str, bytes] = {}
    for i in range(students):
        base = bases[rng.randrange(len(bases))]
        text = base.read_text(encoding="utf-8", errors="replace")  # one example is not UTF-8
        if rng.randrange(2) == 0:
            try:
                text = semantic_damage(text, rng)
            except Exception:  # noqa: BLE001 - a file of several proofs: damage its text instead
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
                raw = raws.get(sg.student, b"")
                try:
                    _recheck_valid(raw)
                except Failure as exc:
                    tally.failures.append(f"prove grade credited {sg.student}/{pg.id}: {exc}")
                except Exception:  # noqa: BLE001 - a list of proofs: not re-checked here
                    pass
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
    """Feed n generated inputs to prop, recording outcomes and failures (hypothesis, fixed seed,
    generation only: no shrinking, so every failure is kept as found)."""
    from hypothesis import assume

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
        assume(True)

    body()
    tally.seconds += time.perf_counter() - t0
    return tally


def well_shaped_pairs(max_depth: int = 5):
    def ok(p):
        try:
            shape_of(p[0], ENV)
            return True
        except ProveError:
            return False

    return pairs(max_depth).filter(ok)


TARGETS = {
    # name: (default count, strategy factory, property factory)
    "truth": 30_000,
    "truth-z3": 1_000,
    "parser": 40_000,
    "yaml": 25_000,
    "check-file": 4_000,
    "cli": 300,
    "grade-read": 8_000,
    "grade": 400,
}


def run_target(name: str, n: int, seed: int, folder: Path, stop_on_failure: bool = False) -> Tally:
    tally = Tally()
    if name == "truth":
        strat = _safe_pairs()
        run(strat, lambda p: prop_truth(*p, use_z3=False), n, seed, tally, stop_on_failure)
    elif name == "truth-z3":
        run(_safe_pairs(3), lambda p: prop_truth(*p, use_z3=True), n, seed, tally, stop_on_failure)
    elif name == "parser":
        run(parser_inputs(), prop_parser, n, seed, tally, stop_on_failure)
    elif name == "yaml":
        run(yaml_inputs(), prop_yaml, n, seed, tally, stop_on_failure)
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


def _safe_pairs(max_depth: int = 5):
    """pairs() with the rare unsized I or 0 filtered out."""
    @st.composite
    def strat(draw):
        try:
            return draw(pairs(max_depth))
        except ProveError:
            from hypothesis import reject

            reject()
    return strat()


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
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            n = max(1, int(TARGETS[name] * args.scale))
            tally = run_target(name, n, args.seed, Path(tmp))
            total += tally.inputs + len(tally.failures)
            failures += [(name, f) for f in tally.failures]
            top = ", ".join(f"{k}: {v}" for k, v in tally.outcomes.most_common(8))
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
