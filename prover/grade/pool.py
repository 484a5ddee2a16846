"""Worker processes for `prove grade`: isolation by design (SPEC §7: one submission never hurts
another).

The pool is pebble's `ProcessPool` (a well-kept library: a time limit per task, a dead or
overrunning worker replaced without failing the others' tasks). Its workers are started by a
*forkserver* — a small process started afresh, which has imported the checker and nothing of the
class — never forked from the parent, which may have grown while listing a large class (`spawn`
where there is no forkserver). Each worker limits its own memory to what it had at its start
plus `WORKER_MEMORY_BUDGET`, and is replaced after `WORKER_MAX_TASKS` submissions (its caches
are bounded each, so it may live long: a fresh worker starts with cold caches). A task over its time limit is killed with its worker, and a
worker that dies fails its own task only: either is a `TaskFailure` with the reason, for that
submission alone. Read next: `run.py`.
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import signal
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any, Callable, Iterator, Optional, Sequence

from .limits import WORKER_MAX_TASKS, WORKER_MEMORY_BUDGET
from .records import Fault, TaskFailure

PRELOAD = ["prover.grade.forkserved"]  # what the forkserver imports once: the checker (forkserved.py)
GC_THRESHOLDS = (2000, 20, 100)  # a worker's garbage collector (Python's default: 700, 10, 10)
IN_FLIGHT_PER_WORKER = 4  # tasks handed to the pool ahead of the results, per worker


def context():
    """The start method: a forkserver (workers are forked from a small, fresh process), else
    spawn (a fresh interpreter per worker). Never `fork` from the parent."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


def prestart() -> None:
    """Start the forkserver now, if there is one: it imports the checker in its own process
    while the parent goes on (reading the assignment, checking its keys, listing the class),
    instead of after. The pool started later forks its workers from this same server."""
    if context().get_start_method() != "forkserver":
        return
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    except (OSError, ValueError):
        pass  # the pool starts it when it needs it (and reports what is wrong then)


def address_space() -> Optional[int]:
    """This process's virtual memory size in bytes (Linux), or None where it cannot be read."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError, ImportError):
        return None


def limit_memory(budget: int) -> None:
    """Limit this process's address space to what it uses now plus `budget` (never raising a
    lower limit already set): beyond it an allocation fails (MemoryError), and the submission
    being graded is an `error`."""
    now = address_space()
    if now is None:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = now + budget
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def _start_worker(budget: int, initializer: Optional[Callable[..., Any]], initargs: tuple) -> None:
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    except (ValueError, OSError):
        pass
    if initializer is not None:
        initializer(*initargs)
    # What the setup made (the checker's modules, the rule base) lives as long as the worker, so
    # the garbage collector need not go through it again; and a worker's memories (bounded each)
    # are most of what it holds, which a full collection would walk every few submissions: it
    # collects young objects less often and old ones rarely (GC_THRESHOLDS; about half the
    # collector's time on the benchmark class, for a few MB more at the peak).
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    limit_memory(budget)  # after the setup: the budget is for the work itself


def failure(exc: BaseException, timeout: float) -> TaskFailure:
    """Why a task did not return: the exception its future raised."""
    from pebble import ProcessExpired

    if isinstance(exc, TimeoutError):
        return TaskFailure(f"over the time limit ({timeout:g} s)", Fault.TIME_LIMIT)
    if isinstance(exc, ProcessExpired):
        code = exc.exitcode
        return TaskFailure("the worker grading it died" + (f" (signal {-code})" if code and
                                                           code < 0 else "")
                           + ", probably out of memory", Fault.WORKER_DIED)
    if isinstance(exc, MemoryError):
        return TaskFailure("ran out of memory (over the worker's memory limit)", Fault.LIMIT)
    if isinstance(exc, RecursionError):
        return TaskFailure("nests too deeply to process", Fault.LIMIT)
    return TaskFailure(f"internal error: {type(exc).__name__}: {exc}", Fault.INTERNAL)


def run(task: Callable[[Any], Any], items: Sequence[Any], *, jobs: int, timeout: float,
        initializer: Optional[Callable[..., Any]] = None, initargs: tuple = (),
        budget: int = WORKER_MEMORY_BUDGET, max_tasks: int = WORKER_MAX_TASKS
        ) -> Iterator[tuple[int, Any]]:
    """`task(item)` for every item, in `jobs` worker processes, each within `timeout` seconds;
    yields `(index, result)` as they finish, a `TaskFailure` as the result of a task that did
    not return. At most a few tasks per worker are handed over ahead of time, so that the
    parent holds little beyond the results."""
    if not items:
        return
    from pebble import ProcessPool

    workers = max(1, min(jobs, len(items)))
    pool = ProcessPool(max_workers=workers, max_tasks=max_tasks, initializer=_start_worker,
                       initargs=(budget, initializer, tuple(initargs)), context=context())
    try:
        pending: dict[Any, int] = {}
        upcoming = iter(range(len(items)))
        ahead = workers * IN_FLIGHT_PER_WORKER
        while True:
            while len(pending) < ahead:
                i = next(upcoming, None)
                if i is None:
                    break
                pending[pool.schedule(task, args=(items[i],), timeout=timeout)] = i
            if not pending:
                break
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    value = fut.result()
                except BaseException as exc:  # noqa: BLE001 - the task's failure, for it alone
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    value = failure(exc, timeout)
                yield i, value
        pool.close()
    except BaseException:
        pool.stop()
        raise
    finally:
        pool.join()
