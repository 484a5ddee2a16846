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
