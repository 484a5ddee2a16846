"""What the workers' forkserver imports once (`pool.PRELOAD`): the checker, for every worker
forked from it, and a quiet end for a worker that starts as the run is ending.

When `prove grade` is stopped (SIGTERM, Ctrl-C) while the pool is starting a worker, the new
process finds its parent's pipes gone and fails before it can run anything; multiprocessing then
prints that failure's traceback on the terminal the run shared. Such a failure says nothing a
user can act on (the run has already said that it was stopped), so it ends silently. Any other
error is printed as usual, and a worker that fails in a live run is still reported by the pool.
"""
from __future__ import annotations

import sys

from . import check  # noqa: F401 - imported here once, for every worker forked from this server

_ORPHANED = (FileNotFoundError, EOFError, ConnectionError)
_default_hook = sys.excepthook


def _quiet_when_orphaned(kind, value, tb) -> None:
    if issubclass(kind, _ORPHANED):
        return
    _default_hook(kind, value, tb)


sys.excepthook = _quiet_when_orphaned
