"""Walking expression trees outside the kernel (the search and the derivation engine): every
subterm with its position, the path of child indices `kernel.expr.replace_at` takes."""
from __future__ import annotations

from typing import Iterator

from .kernel.expr import Expr, Path


def subterms(e: Expr, path: Path = ()) -> Iterator[tuple[Path, Expr]]:
    """Every subterm with its position (the child indices from the root), root first."""
    yield path, e
    for i, k in enumerate(e.children()):
        yield from subterms(k, path + (i,))
