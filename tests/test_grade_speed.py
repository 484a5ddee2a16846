"""The speed work of issue 12 (`prove grade` on 1,000 students) adds shortcuts that must not
change a single verdict, explanation or grade. Each is attacked here the way it could go wrong:

- the search skips a rule at a line when no node of the line has a head its pattern can match
  (`search.match._candidates`): a count that is too small would skip a rule that applies, and a
  certificate (or a suggestion) would be lost. Every rewrite rule, in both directions, on the
  lines of every shipped proof and on lines built to sit at the edges of the count (a sign on a
  product, a sum one term short, a power, a function of another name), gives the same rewrites
  with and without the skip; and the comparison is shown to catch a count that is off;
- `rewrite_everywhere` reads the outermost matches off the tree's list of subterms instead of
  walking the tree again: the same moves as the walk, on the same corpus;
- `safe.visible` returns ASCII printable text as it is: the same as escaping it, character by
  character;
- a grade's step views are made visible as copies (never the record's own views), with the
  texts escaping every character would give;
- a record is encoded for the workers' store without `dataclasses.asdict`: the same bytes.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from prover.grade import safe
from prover.grade.check import CheckRecord, StepView
from prover.grade.score import _neutralise
from prover.grade.shared import decode, encode
from prover.kernel.errors import ProveError
from prover.kernel.expr import Add, Func, Mul, Neg, Pow, Sym
from prover.kernel.parser import parse
from prover.kernel.shapes import Shape, VarInfo
from prover.proofs import load_proof_text
from prover.rulebase import load_rulebook
from prover.search import match as M

ROOT = Path(__file__).resolve().parent.parent
_, BOOK = load_rulebook()
RULES = [r for r in BOOK.rules.values() if r.kind == "rewrite"]

SQ = {n: VarInfo(Shape("n", "n")) for n in ("X", "Y", "A", "B", "C")}
SQ.update({"a": VarInfo(Shape("n", 1)), "b": VarInfo(Shape("n", 1)),
           "s": VarInfo(Shape(1, 1)), "c": VarInfo(Shape(1, 1), constant=True)})
# lines at the edges of the count: a sign on a product (a product pattern matches -(A B)), sums
# of one, two and three terms (a pattern of k terms needs at least k), powers, functions
EDGES = ["-(A B)", "-(A B) + C", "-A B C", "A B + C", "A + B", "A + B + C", "-(A + B)",
         "tr(-(A X))", "tr(A B) + tr(B A)", "X^2", "X^3 + X^2", "(A B)^2", "d(X^2)",
         "det(A B)", "log(det(X))", "tr(d(X) X)", "d(X^T)", "(A^T)^T", "(A B)^T", "X^-1 X",
         "d(X^-1)", "tr(s A)", "s c X", "-(s X)", "d(s X)", "a^T X a", "-(a^T X b)",
         "tr(a a^T dX)", "d(A X B)", "tr(d(A X) B + A X dB)", "exp(X) + exp(-X)",
         "X .* (A + B)", "kron(A, B + C)", "vec(A X B)", "diag(a)", "sum(X)", "-tr(X)", "-X",
         "tr(-X)", "d(-X)", "-det(X)", "-d(tr(X))"]


def _corpus() -> list[tuple[object, dict]]:
    """(line, declarations) for every line of the shipped proofs, and the edge lines."""
    out = []
    for path in sorted((ROOT / "proofs").rglob("*.yaml")):
        try:
            pin = load_proof_text(path.read_text())
        except Exception:  # noqa: BLE001 - a list of proofs or a lemma library: skipped
            continue
        names = set(pin.variables)
        for st in pin.steps:
            try:
                out.append((parse(st.text, names), pin.variables))
            except ProveError:
                pass
    for text in EDGES:
        try:
            out.append((parse(text, set(SQ)), SQ))
        except ProveError:
            pass
    return out


CORPUS = _corpus()


def _all_rewrites(line, env) -> list:
    facts = M.Facts(env, set(env))
    got = []
    for rule in RULES:
        got.append(list(M.rewrites(line, rule, facts, limit=50)))
        for only in (None, "->", "<-"):
            got.append(list(M.rewrite_everywhere(line, rule, facts, only=only)))
    return got


def _differences(monkeypatch, count) -> int:
    """Lines of the corpus whose rewrites differ between `count` and no skipping at all."""
    off = 0
    for line, env in CORPUS:
        monkeypatch.setattr(M, "_candidates", count)
        with_skip = _all_rewrites(line, env)
        monkeypatch.setattr(M, "_candidates", lambda *a: 10 ** 9)
        without = _all_rewrites(line, env)
        off += with_skip != without
    return off


def _everywhere_as_before(e, rule, facts, only=None):
    """`rewrite_everywhere` as it was before the speed work: every direction scanned, a node's
    children searched recursively unless it matched."""
    from prover.kernel.rules import Application, Move, instantiate
    from prover.kernel.expr import replace_at

    for direction, lhs, rhs in M._directions(rule):
        if only is not None and (direction != only or isinstance(lhs, Sym)):
            continue
        found = []

        def scan(x, path, lhs=lhs, found=found):
            for b, _ in (M.match(lhs, x, rule, facts, {}, {}) if M._could_match(lhs, x, rule)
                         else ()):
                found.append((path, b))
                return
            for i, k in enumerate(x.children()):
                scan(k, path + (i,), lhs, found)

        scan(e, ())
        if not (len(found) > 1 or (only is not None and found)):
            continue
        moves, tree = [], e
        for path, b in sorted(found, key=lambda pb: pb[0], reverse=True):
            moves.append(Move(Application(rule.id, direction, path, dict(b)), tree))
            tree = replace_at(tree, path, instantiate(rhs, b))
        yield tree, moves


def test_rewriting_everywhere_finds_the_moves_it_found_before():
    """The outermost matches read off the preorder list of subterms are the moves the recursive
    scan found, in the same order, for every rule and direction on every line of the corpus."""
    for line, env in CORPUS:
        facts = M.Facts(env, set(env))
        for rule in RULES:
            for only in (None, "->", "<-"):
                assert list(M.rewrite_everywhere(line, rule, facts, only=only)) == \
                    list(_everywhere_as_before(line, rule, facts, only)), (rule.id, line)


def test_the_corpus_reaches_the_heads_the_count_distinguishes():
    heads = set()
    for line, _ in CORPUS:
        heads |= set(M._heads(line))
    assert {Mul, Neg} <= heads
    assert {h[0] for h in heads if isinstance(h, tuple)} >= {Add, Func, Pow}
    assert len(CORPUS) > 100


def test_skipping_a_rule_by_the_heads_of_a_line_changes_no_rewrite(monkeypatch):
    assert _differences(monkeypatch, M._candidates) == 0


def _no_sign(pat, rule, e):
    if isinstance(pat, Mul):
        return M._heads(e).get(Mul, 0)
    return real(pat, rule, e)


def _sums_too_strict(pat, rule, e):
    if isinstance(pat, Add):
        return M._heads(e).get((Add, len(pat.args) + 1), 0)
    return real(pat, rule, e)


def _variables_once(pat, rule, e):
    if isinstance(pat, Sym) and pat.name in rule.vars:
        return 1
    return real(pat, rule, e)


def _any_function(pat, rule, e):
    if isinstance(pat, Func):
        return M._heads(e).get((Func, "tr"), 0)
    return real(pat, rule, e)


real = M._candidates


@pytest.mark.parametrize("broken", [_no_sign, _sums_too_strict, _variables_once, _any_function])
def test_the_comparison_catches_a_count_that_is_too_small(monkeypatch, broken):
    """Each way the count could undercount (a product under a sign, a sum as long as the
    pattern, a pattern variable that matches everywhere, a function by another name) makes the
    comparison above fail on this corpus."""
    assert _differences(monkeypatch, broken) > 0


def test_the_heads_kept_on_a_tree_are_its_own():
    e = parse("tr(-(A B)) + X^2", set(SQ))
    assert M._heads(e) == {(Add, 1): 1, (Add, 2): 1, (Func, "tr"): 1, Neg: 1, Mul: 1, Sym: 3,
                           (Pow, 2): 1, M._MUL_OR_NEG: 2, M._ANY: 8}
    f = parse("tr(-(A B)) + X^3", set(SQ))  # another tree: its own count
    assert (Pow, 3) in M._heads(f) and (Pow, 2) not in M._heads(f)


def test_visible_text_is_the_same_as_escaping_every_character():
    def slow(t):
        return safe._UNSAFE.sub(safe._escape, safe.decoded(t)) if t else t

    chars = [chr(i) for i in range(0x300)] + ["\u200b", "\u202e", "\u2028", "\ufeff", "∂", "≠",
                                              "\udcff", "\ud800"]
    for c in chars:
        for t in (c, f"a{c}b", f"tr(X){c}"):
            assert safe.visible(t) == slow(t), repr(t)
    assert safe.visible("") == ""


def _record() -> CheckRecord:
    steps = [StepView(0, "d(a^T X a)", [], "valid"),
             StepView(1, "tr(X\x1b[2J)", ["theorem-1\n"], "invalid", "this step is false\u202e",
                      "at n = 1", "did you mean\r", ["trace-cyclic\t"]),
             StepView(2, "a a^T", ["theorem-4"], "valid", derivative=True)]
    return CheckRecord("invalid", "m", steps, "trace_form", 1, [], "", "")


def test_grade_step_views_are_visible_copies():
    from prover.grade.score import ProblemGrade

    rec = _record()
    before = copy_views = [dataclasses.replace(s) for s in rec.steps]
    pg = ProblemGrade("q1", 0.0, 10.0, "invalid", "", "", "", steps=rec.steps)
    _neutralise(pg)
    assert rec.steps == before  # the record's own views are unchanged
    want = [dataclasses.replace(
        s, expr=safe.visible(s.expr), by=[safe.visible(b) for b in s.by],
        message=safe.visible(s.message), counterexample=safe.visible(s.counterexample),
        help=safe.visible(s.help), suggestion=[safe.visible(x) for x in s.suggestion])
        for s in copy_views]
    assert pg.steps == want
    assert all(a is not b for a, b in zip(pg.steps, rec.steps))
    assert "\x1b" not in pg.steps[1].expr
    assert pg.steps[1].by == ["theorem-1\\n"] and pg.steps[1].suggestion == ["trace-cyclic\\t"]


def test_a_record_encodes_as_asdict_does():
    rec = _record()
    want = json.dumps(dataclasses.asdict(rec), ensure_ascii=False,
                      separators=(",", ":")).encode()
    assert encode(rec) == want and decode(encode(rec)) == rec


def test_a_remembered_citation_name_is_the_name_normalised():
    """`citations.normalize` remembers names as written: keyed by the exact text, so two names
    that differ anywhere (case, a space, `thm`) are each normalised on their own."""
    import re

    from prover import citations

    def slow(n):
        return re.sub(r"^thm(?=\d)", "theorem", re.sub(r"[\s\-_]+", "", n.strip().lower()))

    names = ["Theorem 2", "theorem-2", "thm2", "THM 2", "thm-x", "trace_cyclic", "trace cyclic ",
             "Trace-Cyclic", "thmm2", "theorem 2\n", "diff-product", "Diff_Product", "ab", "a b"]
    for _ in range(2):
        for n in names + names[::-1]:
            assert citations.normalize(n) == slow(n), n
    with pytest.raises(AttributeError):
        citations.normalize(3)  # type: ignore[arg-type]
    citations._NORMAL.update({f"x{i}": "y" for i in range(5000)})  # past the bound: starts afresh
    assert citations.normalize("Theorem 22") == "theorem22" and len(citations._NORMAL) < 4096
    citations._NORMAL.clear()


def _claims_as_before(text: str) -> list[str]:
    """Each proof's claim as the grader showed it before: through the kernel's `ProofIn`."""
    from prover.checking import claim_text
    from prover.proofs import parse_proof, to_kernel
    from prover.source import Located, load_yaml

    src = load_yaml(text)
    items = src.data if isinstance(src.data, list) else [src.data]
    out = []
    for item in items:
        try:
            pf = parse_proof(item, Located(item))
        except Exception:  # noqa: BLE001 - not a proof: no claim shown
            out.append(None)
            continue
        try:
            out.append(claim_text(to_kernel(pf, Located(None)).claim))
        except Exception:  # noqa: BLE001
            out.append("")
    return out


def test_the_claim_a_grade_shows_is_the_kernels_claim():
    """The reader shows a proof's claim without building the kernel's whole `ProofIn`: the same
    text on every shipped proof and example, and with assumptions, equals and a Hessian."""
    from prover.grade.read import read_submission

    paths = sorted((ROOT / "proofs").rglob("*.yaml")) + sorted((ROOT / "examples").rglob("*.yaml"))
    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    texts.append("theorem: t\nvariables: {X: {shape: [m, n]}}\nassume: {sizes: [m >= n]}\n"
                 "claim: {derivative: tr(X^T X), wrt: X, equals: 2 X}\nproof:\n"
                 "  - expr: d(tr(X^T X))\n")
    texts.append("theorem: h\nvariables: {x: {shape: [n, 1]}}\nclaim: {hessian: x^T x, wrt: x}\n"
                 "proof:\n  - expr: d(d(x^T x))\n")
    texts.append("theorem: u\nvariables: {X: {shape: [m, n]}}\nassume: {sizes: [m <= 3]}\n"
                 "claim: {lhs: X, rhs: X}\nproof:\n  - expr: X\n")
    seen = 0
    for text in texts:
        try:
            want = _claims_as_before(text)
        except Exception:  # noqa: BLE001 - not YAML the loader reads
            continue
        lf = read_submission(text.encode())
        got = [lp.claim_shown if lp.error is None else None for lp in lf.proofs]
        for g, w in zip(got, want):
            if g is not None and w is not None:
                assert g == w
                seen += 1
    assert seen > 20
