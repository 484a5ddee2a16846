"""The trusted kernel stays small and imports nothing from the untrusted rest (STYLE §1)."""
import ast
from pathlib import Path

KERNEL = Path(__file__).resolve().parent.parent / "prover" / "kernel"


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def test_kernel_imports_only_itself_and_libraries():
    for path in KERNEL.glob("*.py"):
        for mod in _imports(path):
            assert not mod.startswith(".."), f"{path.name} imports {mod}"
            assert not (mod.startswith("prover") and not mod.startswith("prover.kernel")), \
                f"{path.name} imports {mod}"


def test_kernel_does_not_evaluate_text():
    for path in KERNEL.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "compile"), path.name
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("sympify", "parse_expr", "load", "unsafe_load"), \
                    f"{path.name} uses .{node.attr}"


def test_soundness_is_not_guarded_by_assert():
    for path in KERNEL.glob("*.py"):
        tree = ast.parse(path.read_text())
        asserts = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        assert not asserts, f"{path.name} uses assert (stripped by python -O)"


def code_lines(path: Path) -> int:
    """Lines holding code: blank lines, comments and docstrings are not counted."""
    import io
    import tokenize

    src = path.read_text(encoding="utf-8")
    docs: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(getattr(node.body[0], "value", None), ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            docs.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    lines: set[int] = set()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER)
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docs)


def test_code_lines_counts_code_only(tmp_path):
    p = tmp_path / "m.py"
    p.write_text('"""doc\nstring"""\n# comment\n\nx = 1\n\n\ndef f():\n    """doc"""\n    return x\n')
    assert code_lines(p) == 3


def test_the_kernel_is_at_most_1500_lines_of_code():
    total = sum(code_lines(p) for p in KERNEL.glob("*.py"))
    assert total <= 1500, f"the trusted kernel has {total} lines of code"


def test_the_kernel_reads_no_clock_for_a_decision():
    for path in KERNEL.glob("*.py"):
        src = path.read_text()
        for word in ("time.time", "monotonic", "setitimer", "SIGALRM", '"timeout"', "TryFor"):
            assert word not in src, f"{path.name} uses {word}"
        assert "perf_counter" not in src, path.name  # how long a check took is measured outside


def test_the_kernel_keeps_no_cache_but_rule_confirmations():
    """A module-level dict or set that starts empty is a cache that outlives one check; only
    three are allowed: rule confirmations keyed by a rule's whole content, the answers of
    `decide` and `algebra_equal` keyed by the step and everything they read of its context (the
    next test keeps that key complete; tests/test_attacks6.py and test_attacks11.py attack it),
    and parsed trees keyed by the text, the declared names and the parser's limits (all a parse
    reads; test_attacks11.py). Tables of constants are fine."""
    found = []
    for path in KERNEL.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                value = node.value
                if (isinstance(value, ast.Dict) and not value.keys) or (
                        isinstance(value, ast.Call) and not value.args
                        and getattr(value.func, "id", "") in ("dict", "set")):
                    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                    found.append(f"{path.name}:{getattr(target, 'id', '?')}")
    assert sorted(found) == ["parser.py:_PARSED", "rules.py:_CONFIRMED", "truth.py:_DECIDED"], found


def test_decide_reads_nothing_of_a_context_outside_its_key():
    """Every attribute of a Context that `decide` (or `algebra_equal`, remembered the same way)
    reads is in `Context.key` or made from what is (or is the random draw, which a remembered
    answer may share). A new attribute that either reads fails here until it joins the key."""
    from prover.kernel.parser import parse
    from prover.kernel.shapes import Shape, VarInfo
    from prover.kernel import truth

    read: set[str] = set()

    class Watched(truth.Context):
        def __getattribute__(self, name):
            read.add(name)
            return object.__getattribute__(self, name)

    env = {"X": VarInfo(Shape("m", "n")), "A": VarInfo(Shape("n", "n"), symmetric=True),
           "B": VarInfo(Shape("n", "n"), constant=True)}
    names = set(env)
    steps = [("tr(A B)", "tr(B A)"), ("A B", "B A"), ("d(X^T X)", "d(X)^T X + X^T d(X)"),
             ("(X^T X)^-1 X^T X", "I"), ("det(A) det(B)", "det(A B)"), ("log(det(A))", "log(det(A))"),
             ("tr(A)/tr(B) tr(B)", "tr(A)")]
    for lhs, rhs in steps:
        e, e2 = parse(lhs, names), parse(rhs, names)
        truth._DECIDED.clear()
        truth.decide(e, e2, Watched(env, {"X", "A"}, (e, e2), (("m", ">=", "n"),), (parse("A", names),)))
        truth._DECIDED.clear()
        truth.algebra_equal(e, e2, Watched(env, {"X", "A"}, (e, e2), (("m", ">=", "n"),), (parse("A", names),)))
    methods = {n for n in read if callable(getattr(truth.Context, n, None))}
    # key: env, varying, relations, needs; made from them: dim_syms (env), _defined (relations,
    # needs, env); the random draw: field, points
    assert read - methods <= {"key", "env", "varying", "relations", "needs", "dim_syms", "_defined",
                              "field", "points"}, read - methods
