"""`prove serve`'s web application (Starlette): the playground page, its static files, and the
JSON API the page is a client of. Untrusted glue: every verdict comes from the kernel, in a worker
process (`work.py`), through the functions the command line uses.

The parent holds no state a client depends on — only a bounded cache of answers and the rate
limit's buckets (`guard.py`) — so any number of replicas can run behind a load balancer.

Every answer carries the same headers (`SECURITY_HEADERS`): a Content-Security-Policy that allows
scripts, styles and requests from this origin only (no inline script, nothing from elsewhere),
no framing, no MIME sniffing, no referrer. Every error is JSON `{"error": message}` with a 4xx
status when the request is at fault, 503 when the server is too busy to take it.
"""
from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import BrokenExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import work
from .guard import AnswerCache, FairShare, RateLimit

STATIC = Path(__file__).resolve().parent / "static"
_CLIENT: ContextVar[str] = ContextVar("client", default="?")  # the request's client address
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
WORKER_MEMORY = 1 << 30  # each worker's memory beyond its start (`grade.pool.limit_memory`)
WORKER_MAX_TASKS = 2000  # a worker is replaced after this many requests
PRELOAD = ["prover.serve.work", "prover.proofs", "prover.checking", "prover.render",
           "prover.rulebase"]


@dataclass
class Settings:
    """What `prove serve`'s options set (docs/serve.md)."""

    assignment: Optional[str] = None  # an assignment file: assignment mode
    workers: int = 0  # worker processes; 0: one per core
    timeout: float = 10.0  # seconds a request's work may run
    wait: float = 20.0  # seconds a request may wait for a worker before the server says busy
    read_timeout: float = 10.0  # seconds a request's body may take to arrive (a slow sender: 408)
    max_bytes: int = work.MAX_BYTES  # the largest request body
    queue: int = 64  # requests waiting for a worker, beyond which the server says it is busy
    rate: float = 10.0  # requests a second per client (0: no limit)
    burst: int = 40
    in_flight: int = 4  # requests in progress per client
    cache: int = 4096  # answers kept
    lib: tuple[str, ...] = ()  # more lemma folders for the assignment (as for `prove grade`)


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def error(status: int, message: str, headers: Optional[dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers={**SECURITY_HEADERS, **(headers or {})})


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace")


def cut(text: str, limit: int = 60) -> str:
    """A client's string as an error message names it: cut to `limit` characters (a message
    never echoes a request back at its full size)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def shown(value: Any, limit: int = 60) -> str:
    """A client's value quoted (`repr`) in an error message, cut to `limit` characters."""
    return cut(repr(value), limit)


class Server:
    """The pool of workers and the guards around it, for one app."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.assignment = None
        if settings.assignment:
            from ..grade.assignment import load_assignment

            self.assignment = load_assignment(settings.assignment, list(settings.lib))
        self.limit = RateLimit(settings.rate, settings.burst, settings.in_flight)
        self.cache = AnswerCache(settings.cache)
        self.pool: Any = None  # pebble.ProcessPool once started
        self.workers = settings.workers or max(1, os.cpu_count() or 1)
        self.share = FairShare(self.workers)  # kept across a restart of the pool
        self.waiting = 0  # requests scheduled and not finished
        self.examples = work.examples()
        self.rules = _rules()
        self.assignment_view = (work.assignment_view(self.assignment)
                                if self.assignment is not None else None)

    # -- the pool --------------------------------------------------------------------------
    def start(self) -> None:
        from pebble import ProcessPool

        from ..grade.pool import _start_worker, context

        ctx = context()
        if hasattr(ctx, "set_forkserver_preload"):
            ctx.set_forkserver_preload(PRELOAD)
        self.pool = ProcessPool(max_workers=self.workers, max_tasks=WORKER_MAX_TASKS,
                                initializer=_start_worker,
                                initargs=(WORKER_MEMORY, work.start_worker, (self.assignment,)),
                                context=ctx)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool.join()
            self.pool = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in a worker within the deadline; a `Refused` for what did not return."""
        from pebble import ProcessExpired

        if self.pool is None:
            raise Refused(503, "the server is starting or stopping; try again")
        if self.waiting >= self.s.queue:
            raise Refused(503, f"the server is busy ({self.waiting} requests waiting); "
                          "try again shortly", {"Retry-After": "1"})
        self.waiting += 1
        client = _CLIENT.get()
        try:
            try:  # a worker's place, shared fairly between the clients waiting (guard.FairShare)
                await asyncio.wait_for(self.share.acquire(client), self.s.wait)
            except asyncio.TimeoutError:
                raise Refused(503, "the server is too busy to answer in time; try again "
                              "shortly", {"Retry-After": "2"}) from None
            try:
                fut = self.pool.schedule(fn, args=args, timeout=self.s.timeout)
                try:
                    # the run has its own limit (pebble's, from its start); this one also
                    # bounds a wait for a worker being replaced
                    return await asyncio.wait_for(asyncio.wrap_future(fut),
                                                  self.s.wait + self.s.timeout)
                except asyncio.TimeoutError:  # the same class as pebble's from 3.11
                    if fut.done() and not fut.cancelled() and isinstance(fut.exception(),
                                                                          TimeoutError):
                        raise  # the work's own limit: below
                    fut.cancel()
                    raise Refused(503, "the server is too busy to answer in time; try again "
                                  "shortly", {"Retry-After": "2"}) from None
            finally:
                self.share.release(client)
        except TimeoutError:
            raise Refused(422, f"over the work limit: this took longer than the server "
                          f"allows ({self.s.timeout:g} s)") from None
        except ProcessExpired:
            raise Refused(422, "over the work limit: the worker ran out of memory on this "
                          "request") from None
        except MemoryError:
            raise Refused(422, "over the work limit: out of memory") from None
        except RecursionError:
            raise Refused(422, "over the work limit: the input nests too deeply") from None
        except work.Refusal as exc:
            raise Refused(exc.status, exc.message) from None
        except BrokenExecutor:  # every worker gone at once: start afresh
            self.stop()
            self.start()
            raise Refused(503, "the server's workers were restarting; try again",
                          {"Retry-After": "1"}) from None
        finally:
            self.waiting -= 1

    # -- requests ------------------------------------------------------------------------------
    async def body(self, request: Request) -> bytes:
        """The request's body, refused past the size limit before it is all read, and refused
        (408) when it does not arrive within `read_timeout` seconds: a client that sends a byte
        now and then holds no connection for long."""
        try:
            return await asyncio.wait_for(self._read(request), self.s.read_timeout)
        except asyncio.TimeoutError:
            raise Refused(408, f"the request's body did not arrive within "
                          f"{self.s.read_timeout:g} s", {"Connection": "close"}) from None

    async def _read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        limit = self.s.max_bytes
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise Refused(400, "Content-Length is not a number")
            if len(declared) > 18:  # (int() of thousands of digits is refused, or slow)
                raise Refused(413, f"the request is over the limit of {limit:,} bytes")
            if int(declared) > limit:
                raise Refused(413, f"the request is {int(declared):,} bytes; the limit is "
                              f"{limit:,}")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(413, f"the request is over the limit of {limit:,} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            raise Refused(400, "the client went away before sending the whole request") from None
        return b"".join(chunks)

    async def guarded(self, request: Request, answer: Callable[[], Any]) -> Response:
        """Rate limit, then `answer()`; any `Refused` becomes its JSON error."""
        client = request.client.host if request.client else "?"
        _CLIENT.set(client)
        wait = self.limit.admit(client)
        if wait is not None:
            secs = max(1, int(wait + 0.999))
            return error(429, f"too many requests from {client}: slow down (try again in "
                         f"{secs} s)", {"Retry-After": str(secs)})
        try:
            return await answer()
        except Refused as exc:
            return error(exc.status, exc.message, exc.headers)
        finally:
            self.limit.release(client)

    async def cached(self, kind: str, body: bytes, fn: Callable[..., Any], *args: Any
                     ) -> Response:
        key = work.digest(kind, body)
        hit = self.cache.get(key)
        if hit is None:
            data = await self.run(fn, *args)
            hit = (200, json_bytes(data))
            self.cache.put(key, *hit)
        return Response(hit[1], hit[0], media_type="application/json",
                        headers=SECURITY_HEADERS)


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    from ..cli import DIST_NAME

    try:
        return dist_version(DIST_NAME)
    except PackageNotFoundError:
        return "unknown"


def _rules() -> list[dict[str, Any]]:
    from ..rulebase import load_rulebook

    entries, _ = load_rulebook()
    return [{"id": e.model.id, "aliases": e.model.aliases, "kind": e.model.kind,
             "statement": e.model.statement, "summary": e.model.summary,
             "source": e.model.source} for e in entries]


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(400, f"the body is not UTF-8 text (byte {exc.start})") from None


def _json_object(body: bytes, fields: dict[str, type], optional: dict[str, type]
                 ) -> dict[str, Any]:
    """A JSON object with exactly these fields (and maybe the optional ones), of these types."""
    def one_key_once(pairs: list) -> dict:  # {"text": a, "text": b} is refused, not read as b
        out: dict = {}
        for k, v in pairs:
            if k in out:
                raise Refused(400, f"the field {cut(k, 40)!r} appears twice")
            out[k] = v
        return out

    try:
        data = json.loads(_text(body), object_pairs_hook=one_key_once)
    except Refused:
        raise
    except ValueError as exc:
        if "int_max_str_digits" in str(exc) or "digits" in str(exc):
            raise Refused(400, "the body holds a number too long to read") from None
        raise Refused(400, f"the body is not JSON: {exc}") from None
    except RecursionError:  # [[[[…: refused here, in the server's own process, cheaply
        raise Refused(400, "the body is not JSON this server reads: it nests too deeply") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body must be a JSON object")
    extra = sorted(set(data) - set(fields) - set(optional))
    if extra:
        named = ", ".join(cut(x, 40) for x in extra[:5])
        raise Refused(400, "unknown field" + "s" * (len(extra) > 1) + ": " + named
                      + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
                      + "; the fields are " + ", ".join([*fields, *optional]))
    for name, kind in {**fields, **optional}.items():
        if name not in data:
            if name in fields:
                raise Refused(400, f"the field {name!r} is missing")
            continue
        value = data[name]
        ok = (isinstance(value, list) and all(isinstance(x, str) for x in value)
              if kind is list else isinstance(value, kind))
        if not ok:
            want = "a list of strings" if kind is list else "a string"
            raise Refused(400, f"the field {name!r} must be {want}")
    return data


def create_app(settings: Optional[Settings] = None) -> Starlette:
    """The application; its workers start with the app (its lifespan) and stop with it."""
    server = Server(settings or Settings())
    __version__ = version()
    # the answers that never change, serialised once: a GET costs the server no work
    examples_json = json_bytes({"examples": server.examples})
    rules_json = json_bytes({"rules": server.rules})
    assignment_json = (json_bytes(server.assignment_view)
                       if server.assignment_view is not None else None)

    def answer_bytes(data: bytes) -> Response:
        return Response(data, 200, media_type="application/json", headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={**SECURITY_HEADERS,
                                                            "Cache-Control": "no-cache"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__}, headers=SECURITY_HEADERS)

    async def info(request: Request) -> Response:
        return JSONResponse({"version": __version__, "assignment": server.assignment is not None,
                             "limits": {"max_bytes": server.s.max_bytes,
                                        "timeout": server.s.timeout}},
                            headers=SECURITY_HEADERS)

    async def examples(request: Request) -> Response:
        return answer_bytes(examples_json)

    async def rules(request: Request) -> Response:
        return answer_bytes(rules_json)

    async def assignment(request: Request) -> Response:
        if assignment_json is None:
            return error(404, "the server is not in assignment mode (start it with "
                         "--assignment FILE)")
        return answer_bytes(assignment_json)

    async def check(request: Request) -> Response:
        async def answer() -> Response:
            body = await server.body(request)
            return await server.cached("check", body, work.check, _text(body))
        return await server.guarded(request, answer)

    async def derive(request: Request) -> Response:
        async def answer() -> Response:
            body = await server.body(request)
            data = _json_object(body, {"function": str, "wrt": str},
                                {"variables": list, "layout": str})
            layout = data.get("layout", "numerator")
            if layout not in ("numerator", "denominator"):
                raise Refused(400, "layout must be 'numerator' or 'denominator', not "
                              + shown(layout))
            return await server.cached("derive", body, work.derive, data["function"],
                                       data["wrt"], data.get("variables", []), layout)
        return await server.guarded(request, answer)

    async def grade(request: Request) -> Response:
        async def answer() -> Response:
            if server.assignment is None:
                raise Refused(404, "the server is not in assignment mode (start it with "
                              "--assignment FILE)")
            body = await server.body(request)
            data = _json_object(body, {"problem": str, "text": str}, {})
            if not any(p.id == data["problem"] for p in server.assignment.problems):
                raise Refused(404, f"no problem {shown(data['problem'])}; the problems are "
                              + ", ".join(p.id for p in server.assignment.problems))
            return await server.cached("grade", body, work.grade, data["problem"], data["text"])
        return await server.guarded(request, answer)

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, f"nothing at {cut(request.url.path, 200)}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, f"{cut(request.method, 20)} is not allowed at "
                     f"{cut(request.url.path, 200)}")

    async def failed(request: Request, exc: Exception) -> Response:
        return error(500, "internal error: the server could not answer this request")

    @asynccontextmanager
    async def lifespan(app: Starlette):
        server.start()
        try:
            yield
        finally:
            server.stop()

    routes = [
        Route("/", index), Route("/healthz", healthz), Route("/api/info", info),
        Route("/api/examples", examples), Route("/api/rules", rules),
        Route("/api/assignment", assignment),
        Route("/api/check", check, methods=["POST"]), Route("/api/derive", derive, methods=["POST"]),
        Route("/api/grade", grade, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed, 500: failed})
    app.add_middleware(_Headers)
    app.state.server = server
    return app


class _Headers:
    """The security headers on every answer, static files and errors included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                         if k.lower().encode() not in have]
                if b"cache-control" not in have:
                    # the page and its scripts change with the installed version: a browser
                    # may keep them, but asks (ETag / Last-Modified) before using them again
                    extra.append((b"cache-control", b"no-cache"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, sending)
