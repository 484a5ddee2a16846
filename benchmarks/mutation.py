"""Mutation testing of the kernel, judged by the independent oracle. Not a test: it prints figures.

    python benchmarks/mutation.py                        # full campaign: proofs/ + derived proofs
    python benchmarks/mutation.py --per-step 10          # fewer mutants per step
    python benchmarks/mutation.py --jobs 8               # in parallel, one proof per task
    python benchmarks/mutation.py --min-false 5000       # keep going (new seeds) until at least
                                                         # 5,000 false mutants were judged
    python benchmarks/mutation.py --adversarial          # the adversarial campaign (adversarial.py)
    python benchmarks/mutation.py --adversarial --limit 20   # at most 20 claims per generator

Mutation campaign. Every step of every proof in `proofs/` and of the proofs `prove derive` writes
for a dozen goals is read by the oracle's own parser (`oracle.py`) and mutated on the oracle's
trees: a sign flipped, two factors swapped, a factor or term dropped or duplicated, a transpose
added or dropped, a constant changed, a variable replaced by another of its shape, a trace's
factors permuted non-cyclically, a `d( )` moved or dropped, an inverse dropped or turned into a
transpose, an exponent changed, `tr` and `det` swapped, a division dropped or inverted — and two
kinds aimed at a checker's shortcuts: a factor `(tr(I + V) - tr(V) - 1)` that is 1 at size 2
only (`size-factor`), and a literal ≡ 1 modulo 2^61 − 1 (`huge-literal`). A mutant is printed by
the oracle's printer, read back by the oracle's parser, and kept when it is well-shaped with the
original's shape.

Each mutant is judged
- by the oracle (exact rational evaluation at many sizes, see oracle.py): `true`, `false` or
  `undefined` (skipped). A `false` that shows only at a special size (a dimension at 1, or two
  symbols equal) is counted apart: the kernel reads dimension symbols as distinct sizes ≥ 2;
- by the kernel, through its stable API only: the proof, with that step replaced by the mutant
  and cut after it, is written to a file and checked with `prover.proofs.check_file`.

A false mutant must be `invalid` at that step; `valid` or `unjustified` is a soundness failure,
printed in full. A true mutant called `invalid` is listed (a completeness problem).

The adversarial campaign runs every claim of `adversarial.py` (each confirmed false by the oracle)
through `check_file` and reports per generator how many were made, refused and ACCEPTED (a file
`valid`), and how many of the oracle's false steps the kernel let through (`valid` or
`unjustified`).
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import oracle as O  # noqa: E402

# =============================================================================================
# The kernel, through its stable API only
# =============================================================================================


@dataclass
class KernelStep:
    index: int
    status: str
    message: str = ""
    checked_by: list[str] = field(default_factory=list)


@dataclass
class KernelResult:
    status: str  # valid | invalid | error | crash (check_file raised)
    steps: list[KernelStep] = field(default_factory=list)
    message: str = ""

    def step(self, i: int) -> KernelStep | None:
        for s in self.steps:
            if s.index == i:
                return s
        return None


class Kernel:
    """Writes a proof text to a file in a scratch copy of proofs/ (so lemmas resolve) and checks
    it with `prover.proofs.check_file`. An exception is reported as status `crash`."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="mutation-"))
        for p in (ROOT / "proofs").glob("*.yaml"):
            shutil.copy(p, self.dir / p.name)
        self._book = None
        self.calls = 0

    def book(self):
        if self._book is None:
            from prover.rulebase import load_rulebook

            self._book = load_rulebook()[1]
        return self._book

    def check(self, text: str) -> KernelResult:
        from prover.proofs import check_file

        self.calls += 1
        path = self.dir / "zz-candidate.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            fr = check_file(path, self.book())
        except Exception:  # noqa: BLE001 - the kernel is under test
            return KernelResult("crash", message=traceback.format_exc(limit=6))
        steps = [KernelStep(s.index, s.status, s.message, list(s.checked_by or []))
                 for s in (fr.steps or [])]
        return KernelResult(fr.status, steps, fr.message or "")

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# =============================================================================================
# Mutation operators on the oracle's trees
# =============================================================================================

P61_PLUS_1 = Fraction(2**61)  # ≡ 1 modulo 2^61 − 1


def _chain(e: O.Node) -> list[O.Node]:
    """The factors of a left-to-right product chain (mul nodes only)."""
    if e[0] == "mul":
        return _chain(e[1]) + [e[2]]
    return [e]


def _fold(factors: list[O.Node]) -> O.Node:
    acc = factors[0]
    for f in factors[1:]:
        acc = ("mul", acc, f)
    return acc


def _positions(e: O.Node, path: tuple = ()) -> Iterator[tuple[tuple, O.Node]]:
    yield path, e
    for i, c in enumerate(e[1:], start=1):
        if isinstance(c, tuple):
            yield from _positions(c, path + (i,))


def _replace(e: O.Node, path: tuple, new: O.Node) -> O.Node:
    if not path:
        return new
    i = path[0]
    return e[:i] + (_replace(e[i], path[1:], new),) + e[i + 1:]


def _is_d(e: O.Node) -> bool:
    return e[0] == "fn" and e[1] == "d"


def raw_mutants(e: O.Node, decls: dict[str, dict]) -> Iterator[tuple[str, O.Node]]:
    """Every single mutation of e (not yet shape-checked or deduplicated)."""
    by_shape: dict[tuple, list[str]] = {}
    for name, info in decls.items():
        by_shape.setdefault(info["shape"], []).append(name)
    squares = sorted(n for n, v in decls.items() if v["shape"][0] == v["shape"][1]
                     and v["shape"] != (1, 1))
    for path, node in _positions(e):
        def at(new: O.Node) -> O.Node:
            return _replace(e, path, new)

        k = node[0]
        yield "flip-sign", at(node[1] if k == "neg" else ("neg", node))
        if k == "T":
            yield "drop-transpose", at(node[1])
        elif k not in ("num", "I"):
            yield "add-transpose", at(("T", node))
        if k == "mul":
            fs = _chain(node)
            for i, j in itertools.combinations(range(len(fs)), 2):
                if fs[i] != fs[j]:
                    sw = list(fs)
                    sw[i], sw[j] = sw[j], sw[i]
                    yield "swap-factors", at(_fold(sw))
            if len(fs) > 2:
                for i in range(len(fs)):
                    yield "drop-factor", at(_fold(fs[:i] + fs[i + 1:]))
            for i, a in enumerate(fs):
                if _is_d(a):
                    for j, b in enumerate(fs):
                        if j != i and b[0] != "num":
                            mv = list(fs)
                            mv[i], mv[j] = a[2], ("fn", "d", b)
                            yield "move-d", at(_fold(mv))
        if k in ("add", "sub"):
            yield "drop-term", at(node[1])
            yield "drop-term", at(node[2] if k == "add" else ("neg", node[2]))
            yield "add-term", at(("add", node, node[2]))
            yield "swap-operation", at(("sub" if k == "add" else "add", node[1], node[2]))
        if k == "num":
            v = node[1]
            for w in {v + 1, v * 2, v / 2, v + Fraction(1, 2), Fraction(1) if v == 0 else Fraction(0)}:
                if w != v and w >= 0:
                    yield "change-constant", at(("num", w))
        if k == "var":
            for other in by_shape.get(decls[node[1]]["shape"], []):
                if other != node[1]:
                    yield "replace-variable", at(("var", other))
            yield "add-d", at(("fn", "d", node))
        if k == "fn":
            name, arg = node[1], node[2]
            if name == "tr" and arg[0] == "mul":
                fs = _chain(arg)
                if len(fs) >= 3:
                    rotations = {tuple(fs[i:] + fs[:i]) for i in range(len(fs))}
                    for perm in itertools.islice(itertools.permutations(fs), 24):
                        if perm not in rotations:
                            yield "permute-trace", at(("fn", "tr", _fold(list(perm))))
            if name == "d":
                yield "drop-d", at(arg)
                if arg[0] == "mul":
                    fs = _chain(arg)
                    for i in range(len(fs)):
                        yield "move-d", at(_fold(fs[:i] + [("fn", "d", fs[i])] + fs[i + 1:]))
                if arg[0] == "fn" and arg[1] in ("tr", "det", "log"):
                    yield "move-d", at(("fn", arg[1], ("fn", "d", arg[2])))
            elif arg[0] == "fn" and arg[1] == "d" and name != "tr":
                yield "move-d", at(("fn", "d", ("fn", name, arg[2])))
            if name in ("tr", "det"):
                yield "swap-function", at(("fn", "det" if name == "tr" else "tr", arg))
        if k == "pow":
            if node[2] == -1:
                yield "drop-inverse", at(node[1])
                yield "inverse-to-transpose", at(("T", node[1]))
            for p in (node[2] + 1, node[2] - 1):
                if p not in (-1, 0, 1) and abs(p) <= 8:
                    yield "change-exponent", at(("pow", node[1], p))
        if k == "div":
            yield "drop-division", at(node[1])
            yield "invert-division", at(("mul", node[1], node[2]))
        # aimed at shortcuts: a factor that is 1 at size 2 only, a literal ≡ 1 mod 2^61 − 1
        if k not in ("num", "I") and path == ():
            for v in squares[:2]:
                size = (("sub", ("sub", ("fn", "tr", ("add", ("I",), ("var", v))),
                                 ("fn", "tr", ("var", v))), ("num", Fraction(1))))
                yield "size-factor", at(("mul", size, node))
            yield "huge-literal", at(("mul", ("num", P61_PLUS_1), node))


def mutants(e: O.Node, decls: dict[str, dict]) -> list[tuple[str, O.Node, str]]:
    """Well-shaped mutants with e's shape, as (kind, tree, text), deduplicated. Each tree is the
    oracle's reading of the printed text (what the kernel will be given)."""
    names = frozenset(decls)
    try:
        want = O.shape_of(e, decls)
    except O.OracleError:
        return []
    seen = {e}
    out = []
    for kind, m in raw_mutants(e, decls):
        try:
            text = O.show(m, names)
            m2 = O.parse(text, names)
            s = O.shape_of(m2, decls)
        except (O.OracleError, ValueError, RecursionError):
            continue
        if m2 in seen or s != want:
            continue
        seen.add(m2)
        out.append((kind, m2, text))
    return out


def diverse(cands: list, limit: int) -> list:
    """Up to `limit` candidates, round-robin over the kinds so that rare kinds get their turn."""
    by_kind: dict[str, list] = {}
    for c in cands:
        by_kind.setdefault(c[0], []).append(c)
    queues = list(by_kind.values())
    out: list = []
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


# =============================================================================================
# Subjects: proofs to mutate
# =============================================================================================

DERIVE_GOALS = [
    ("a^T X a", "X", ["a: n x 1 constant", "X: n x n"]),
    ("tr(A X B)", "X", ["A: m x n", "X: n x p", "B: p x m"]),
    ("tr(X^T X)", "X", ["X: n x m"]),
    ("log(det(X))", "X", ["X: n x n invertible"]),
    ("tr(X^-1 A)", "X", ["X: n x n invertible", "A: n x n"]),
    ("x^T A x", "x", ["x: n x 1", "A: n x n"]),
    ("tr(X A X^T B)", "X", ["X: n x m", "A: m x m", "B: n x n"]),
    ("det(X)", "X", ["X: n x n invertible"]),
    ("tr(X X)", "X", ["X: n x n"]),
    ("log(det(X)) + tr(S X^-1)", "X", ["X: n x n invertible", "S: n x n"]),
    ("tr(X^3)", "X", ["X: n x n"]),
    ("a^T X^T X b", "X", ["a: m x 1", "b: m x 1", "X: n x m"]),
    ("(a^T X b) (a^T X b)", "X", ["a: n x 1", "b: m x 1", "X: n x m"]),
    ("log(x^T A x)", "x", ["x: n x 1", "A: n x n"]),
    ("x^T x / (x^T A x)", "x", ["x: n x 1", "A: n x n"]),
]


@dataclass
class Subject:
    name: str
    text: str  # the proof file
    data: dict = field(default_factory=dict)


def derived_proof(f: str, wrt: str, decls: list[str]) -> str | None:
    """The proof `prove derive` writes (through its command line, SPEC §6), or None."""
    import contextlib
    import io

    from prover.cli import main as cli

    args = ["derive", f, "--wrt", wrt, "--format", "json"]
    for v in decls:
        args += ["--var", v]
    output = io.StringIO()
    try:
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
                cli(args)
        except SystemExit as exc:
            if exc.code not in (0, None):
                return None
        return json.loads(output.getvalue())["proof"]
    except Exception:  # noqa: BLE001
        return None


def subjects(include_proofs: bool = True, include_derived: bool = True,
             goals: list | None = None, names: list[str] | None = None) -> list[Subject]:
    out = []
    if include_proofs:
        for p in sorted((ROOT / "proofs").glob("*.yaml")):
            if names is not None and p.name not in names:
                continue
            text = p.read_text(encoding="utf-8")
            out.append(Subject(p.name, text, yaml.safe_load(text)))
    if include_derived:
        for f, wrt, decls in (DERIVE_GOALS if goals is None else goals):
            text = derived_proof(f, wrt, decls)
            if text is not None:
                out.append(Subject(f"derive: {f} wrt {wrt}", text, yaml.safe_load(text)))
    return out


# =============================================================================================
# The campaign
# =============================================================================================


@dataclass
class Outcome:
    subject: str
    step: int
    kind: str
    original: str
    mutant: str
    verdict: O.Verdict
    kernel: str  # the kernel's status for that step (or the file's, when the step is missing)
    message: str = ""
    checked_by: list[str] = field(default_factory=list)
    file_text: str = ""

    @property
    def category(self) -> str:
        """false-rejected, FALSE-ACCEPTED, false-error, false-special-*, true-valid,
        true-unjustified, true-invalid, true-error, or skipped."""
        v = self.verdict
        if v.status == "false":
            if not v.generic:
                return "false-special-accepted" if self.kernel in ("valid", "unjustified") \
                    else "false-special-rejected"
            if self.kernel == "invalid":
                return "false-rejected"
            if self.kernel in ("valid", "unjustified"):
                return "FALSE-ACCEPTED"
            return "false-error"
        if v.status == "true":
            return f"true-{self.kernel}" if self.kernel in ("valid", "unjustified", "invalid") \
                else "true-error"
        return "skipped"


def _context(data: dict) -> tuple[dict, set[str]]:
    decls = O.read_variables(data.get("variables") or {})
    claim = data.get("claim") or {}
    if "derivative" in claim:
        return decls, {str(claim["wrt"])}
    return decls, {n for n, v in decls.items() if not v["constant"]}


def _step_text(st: dict) -> tuple[str, bool]:
    if "derivative" in st:
        return str(st["derivative"]), True
    return str(st.get("expr")), False


def mutated_file(data: dict, i: int, text: str) -> str:
    """The proof with step i's expression replaced by `text` and cut after step i; renamed so
    that it never shadows the original as a lemma."""
    d = copy.deepcopy(data)
    d["theorem"] = f"{d.get('theorem', 'proof')}-mutant"
    steps = d["proof"][: i + 1]
    key = "derivative" if "derivative" in steps[i] else "expr"
    steps[i][key] = text
    d["proof"] = steps
    return yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=10_000)


def mutate_subject(sub: Subject, kernel: Kernel, per_step: int = 40, seed: int = 0,
                   steps: list[int] | None = None, kinds: set[str] | None = None
                   ) -> list[Outcome]:
    """Mutate every step (but the start) of one proof; judge each mutant both ways."""
    data = sub.data
    try:
        decls, varying = _context(data)
    except O.OracleError:
        return []
    names = frozenset(decls)
    proof = data.get("proof") or []
    trees: list[O.Node | None] = []
    for st in proof:
        try:
            trees.append(O.parse(_step_text(st)[0], names))
        except O.OracleError:
            trees.append(None)
    out: list[Outcome] = []
    for i in range(1, len(proof)):
        if steps is not None and i not in steps:
            continue
        original, is_derivative = _step_text(proof[i])
        cur = trees[i]
        ref = cur if is_derivative else trees[i - 1]
        if cur is None or ref is None:
            continue
        cands = mutants(cur, decls)
        if kinds is not None:
            cands = [c for c in cands if c[0] in kinds]
        rng = random.Random(zlib.crc32(f"{seed}:{sub.name}:{i}".encode()))
        rng.shuffle(cands)
        for kind, m, text in diverse(cands, per_step):
            verdict = O.judge_trees(ref, m, decls, varying, seed=zlib.crc32(text.encode()) ^ seed)
            kstatus, msg, cb, ftext = "not-run", "", [], ""
            if verdict.status in ("true", "false"):
                ftext = mutated_file(data, i, text)
                res = kernel.check(ftext)
                ks = res.step(i)
                if ks is not None:
                    kstatus, msg, cb = ks.status, ks.message, ks.checked_by
                else:
                    kstatus, msg = f"file-{res.status}", res.message
            out.append(Outcome(sub.name, i, kind, original, text, verdict, kstatus, msg, cb,
                               ftext))
    return out


def describe_failure(o: Outcome) -> str:
    return "\n".join([
        f"SOUNDNESS FAILURE: {o.subject}, step {o.step}, mutation {o.kind}",
        f"  original: {o.original}",
        f"  mutant:   {o.mutant}",
        f"  kernel:   {o.kernel} [{', '.join(o.checked_by)}] {o.message[:300]}",
        "  oracle:   false" + ("" if o.verdict.generic else " (only at a special size)"),
        O.show_witness(o.verdict.witness),
        "  the proof file given to the kernel:",
        "    " + o.file_text.replace("\n", "\n    ")])


def _work(args):
    idx, per_step, seed = args
    kernel = Kernel()
    try:
        sub = subjects()[idx]
        return mutate_subject(sub, kernel, per_step=per_step, seed=seed)
    finally:
        kernel.close()


def run_mutation(args) -> int:
    t0 = time.perf_counter()
    subs = subjects()
    outcomes: list[Outcome] = []
    seed = args.seed
    rounds = 0
    while True:
        rounds += 1
        work = [(i, args.per_step, seed) for i in range(len(subs))]
        if args.jobs > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs) as pool:
                for res in pool.map(_work, work):
                    outcomes.extend(res)
        else:
            kernel = Kernel()
            try:
                for sub in subs:
                    outcomes.extend(mutate_subject(sub, kernel, per_step=args.per_step,
                                                   seed=seed))
            finally:
                kernel.close()
        n_false = sum(1 for o in outcomes if o.verdict.status == "false")
        if n_false >= args.min_false or rounds >= 20:
            break
        seed += 1  # a new seed draws other mutants (and other points) for the same steps
    elapsed = time.perf_counter() - t0
    cats = Counter(o.category for o in outcomes)
    failures = [o for o in outcomes if o.category == "FALSE-ACCEPTED"]
    for o in failures:
        print(describe_failure(o))
        print()
    n_false = sum(v for k, v in cats.items() if k.startswith("false") or k == "FALSE-ACCEPTED")
    n_true = sum(v for k, v in cats.items() if k.startswith("true"))
    print(f"mutation campaign: {len(subs)} proofs, {sum(len(s.data.get('proof') or []) - 1 for s in subs)} "
          f"steps, {rounds} round(s) of seeds, {len(outcomes)} mutants, {elapsed:.0f} s")
    print(f"  command: python benchmarks/mutation.py --per-step {args.per_step} --seed {args.seed}"
          f" --min-false {args.min_false} --jobs {args.jobs}")
    print("judged by the independent oracle (benchmarks/oracle.py)")
    print(f"false mutants: {n_false}")
    print(f"  rejected (invalid):                  {cats['false-rejected']}")
    print(f"  ACCEPTED (valid/unjustified):        {cats['FALSE-ACCEPTED']}")
    print(f"  error / crash (not a verdict):       {cats['false-error']}")
    print(f"  false only at a special size, rejected / accepted: "
          f"{cats['false-special-rejected']} / {cats['false-special-accepted']}")
    print(f"true mutants: {n_true}")
    print(f"  valid:                               {cats['true-valid']}")
    print(f"  unjustified:                         {cats['true-unjustified']}")
    print(f"  invalid (completeness):              {cats['true-invalid']}")
    print(f"  error / crash:                       {cats['true-error']}")
    print(f"skipped (the oracle could not decide): {cats['skipped']}")
    kinds = Counter((o.kind, o.verdict.status) for o in outcomes)
    print("by mutation kind (false / true / undefined):")
    for kind in sorted({k for k, _ in kinds}):
        print(f"  {kind:22s} {kinds[(kind, 'false')]:6d} {kinds[(kind, 'true')]:6d} "
              f"{kinds[(kind, 'undefined')]:6d}")
    wrong = [o for o in outcomes if o.category in ("true-invalid", "true-error", "false-error")]
    if wrong:
        print(f"true mutants called invalid, and errors ({len(wrong)}):")
        for o in wrong[: None if args.verbose else 15]:
            print(f"  [{o.category}] {o.subject} step {o.step} ({o.kind}): {o.original}  ->  "
                  f"{o.mutant}\n      {o.kernel}: {o.message[:200]}")
        if len(wrong) > 15 and not args.verbose:
            print(f"  … {len(wrong) - 15} more (--verbose lists them all)")
    return 1 if failures else 0


# =============================================================================================
# The adversarial campaign
# =============================================================================================


@dataclass
class AdversarialOutcome:
    generator: str
    name: str
    text: str
    file_status: str
    false_links: list[int]
    link_statuses: dict[int, str]
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.file_status == "valid"

    @property
    def steps_let_through(self) -> list[int]:
        return [i for i, s in self.link_statuses.items() if s in ("valid", "unjustified")]


def run_claim(c, kernel: Kernel) -> AdversarialOutcome:
    res = kernel.check(c.text)
    statuses = {}
    for i in c.false_links:
        ks = res.step(i)
        statuses[i] = ks.status if ks is not None else "missing"
    return AdversarialOutcome(c.generator, c.name, c.text, res.status, list(c.false_links),
                              statuses, res.message)


def run_adversarial(args) -> int:
    import adversarial as A

    t0 = time.perf_counter()
    kernel = Kernel()
    per: dict[str, Counter] = {g: Counter() for g in (args.only or A.GENERATORS)}
    accepted: list[AdversarialOutcome] = []
    noted: list[AdversarialOutcome] = []
    dropped: list = []
    try:
        for c in A.claims(args.only, args.limit, seed=args.seed, dropped=dropped):
            o = run_claim(c, kernel)
            t = per[c.generator]
            t["made"] += 1
            t[o.file_status] += 1
            t["false steps"] += len(o.false_links)
            t["false steps let through"] += len(o.steps_let_through)
            if o.accepted:
                accepted.append(o)
            elif o.steps_let_through or o.file_status == "crash":
                noted.append(o)
    finally:
        kernel.close()
    for o in noted[: None if args.verbose else 10]:
        what = "check_file RAISED" if o.file_status == "crash" else \
            f"false steps {o.steps_let_through} let through ({o.link_statuses})"
        print(f"NOTE: {o.generator}/{o.name}: file {o.file_status}, {what}")
        print("    " + o.text.replace("\n", "\n    "))
        if o.file_status == "crash":
            print("    " + o.message.strip().splitlines()[-1])
    for o in accepted:
        print(f"ACCEPTED: {o.generator}/{o.name} (the oracle's false links {o.false_links}: "
              f"{o.link_statuses})")
        print("    " + o.text.replace("\n", "\n    "))
    print(f"adversarial campaign: {time.perf_counter() - t0:.0f} s; every claim confirmed false "
          f"by the oracle ({len(dropped)} generated claims dropped as not confirmed)")
    print(f"  command: python benchmarks/mutation.py --adversarial --seed {args.seed}"
          + (f" --limit {args.limit}" if args.limit else ""))
    print(f"  {'generator':14s} {'made':>5s} {'refused':>8s} {'(invalid':>9s} {'error':>6s} "
          f"{'crash)':>7s} {'ACCEPTED':>9s} {'false steps':>12s} {'let through':>12s}")
    for g, t in per.items():
        refused = t["invalid"] + t["error"] + t["crash"]
        print(f"  {g:14s} {t['made']:5d} {refused:8d} {t['invalid']:9d} {t['error']:6d} "
              f"{t['crash']:7d} {t['valid']:9d} {t['false steps']:12d} "
              f"{t['false steps let through']:12d}")
    return 1 if accepted else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-step", type=int, default=40, help="mutants per step (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--min-false", type=int, default=0,
                    help="repeat with new seeds until this many false mutants were judged")
    ap.add_argument("--verbose", action="store_true", help="list every true mutant called invalid")
    ap.add_argument("--adversarial", action="store_true", help="run the adversarial campaign")
    ap.add_argument("--only", action="append", help="adversarial generators to run")
    ap.add_argument("--limit", type=int, default=None, help="adversarial claims per generator")
    args = ap.parse_args(argv)
    if args.adversarial:
        return run_adversarial(args)
    return run_mutation(args)


if __name__ == "__main__":
    sys.exit(main())
