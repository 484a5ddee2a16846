"""`prove serve` (issue 15; docs/serve.md): the playground in the browser. This module reads the
options and runs uvicorn; the application is `serve/app.py`. Exit 2 when the extra is not
installed, the assignment cannot be used, or the address cannot be bound."""
from __future__ import annotations

import sys

from .cli_common import echo
from .cli_parser import Parser, float_range, int_range, path


def serve(host: str, port: int, assignment: str | None, lib: tuple[str, ...], workers: int,
          timeout: float, rate: float, max_bytes: int, forwarded_allow_ips: str | None,
          log_level: str, trust_key: bool = False) -> None:
    """Serve the playground: a page where a proof is checked line by line as it is typed, with
    a derive box, the rule reference and example proofs, and the JSON API behind it
    (docs/serve.md). With --assignment, the page shows the assignment's problems with their
    claims locked, and the score `prove grade` would give; its answer keys are checked first,
    as by `prove grade`."""
    try:
        import uvicorn

        from .serve.app import Settings, create_app
    except ImportError as exc:
        echo(f"prove serve needs the serve extra ({exc.name} is missing): "
             "pip install 'prove-matrix[serve]' (or pip install -e '.[serve]' in a checkout)",
             err=True)
        sys.exit(2)
    from .grade.assignment import AssignmentError
    from .source import SourceError

    if assignment:
        # the keys first, as `prove grade` does: a page must not score students against a wrong
        # answer (exit 2 with the right one, unless --trust-key)
        from .cli_grade import _check_keys
        from .grade.assignment import load_assignment

        try:
            _check_keys(load_assignment(assignment, list(lib)), assignment, trust_key)
        except (AssignmentError, SourceError) as exc:
            echo(f"prove serve: error: {getattr(exc, 'message', exc)}", err=True)
            sys.exit(2)
    settings = Settings(assignment=assignment, lib=lib, workers=workers, timeout=timeout,
                        rate=rate, max_bytes=max_bytes)
    try:
        app = create_app(settings)
    except (AssignmentError, SourceError) as exc:
        echo(f"prove serve: error: {getattr(exc, 'message', exc)}", err=True)
        sys.exit(2)
    echo(f"prove serve: the playground is at http://{host}:{port}/"
         + (f" (assignment {assignment})" if assignment else ""), err=True)
    server = uvicorn.Server(uvicorn_config(app, host, port, log_level, forwarded_allow_ips))
    try:
        server.run()
    except SystemExit:  # uvicorn's own exit when it cannot start (it has said why)
        if server.started:
            raise
    if not server.started:  # e.g. the address could not be bound
        sys.exit(2)


def uvicorn_config(app, host: str, port: int, log_level: str = "info",
                   forwarded_allow_ips: str | None = None, **guards):
    """uvicorn's settings for `prove serve`: its HTTP/1.1 protocol with the connection guards
    (`serve/conn.py`: a deadline for each request's head, connections per client and in all,
    JSON refusals; `guards` overrides their defaults), X-Forwarded-For believed only from
    `forwarded_allow_ips`, no server header."""
    import uvicorn

    from .serve.conn import protocol

    trusted = tuple(x.strip() for x in (forwarded_allow_ips or "").split(",") if x.strip())
    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          http=protocol(trusted=trusted, **guards),
                          proxy_headers=forwarded_allow_ips is not None,
                          forwarded_allow_ips=forwarded_allow_ips or "127.0.0.1",
                          server_header=False, timeout_keep_alive=5,
                          h11_max_incomplete_event_size=64 * 1024)


def add_serve(commands) -> Parser:
    p = commands.add_parser("serve", help="Serve the playground: check proofs in the browser.",
                            description=serve.__doc__)
    p.add_argument("--host", default="127.0.0.1",
                   help="The address to listen on. [default: 127.0.0.1, this machine only]")
    p.add_argument("--port", type=int_range(0, 65535), default=8000,
                   help="The port. [default: 8000]")
    p.add_argument("--assignment", type=path(dir_okay=False), metavar="FILE",
                   help="Assignment mode: the problems of this assignment file (as for "
                   "`prove grade`), their claims locked, each proof scored.")
    p.add_argument("--lib", action="append", default=[], type=path(), metavar="PATH",
                   help="More lemma folders for the assignment, as for `prove grade` "
                   "(repeatable).")
    p.add_argument("--trust-key", action="store_true",
                   help="Serve the assignment even if the kernel refutes one of its answer keys "
                   "(as for `prove grade`).")
    p.add_argument("--workers", type=int_range(0, 256), default=0,
                   help="Worker processes that check. [default: 0, one per core]")
    p.add_argument("--timeout", type=float_range(0.1, 600), default=10.0,
                   help="Seconds one request's work may run. [default: 10]")
    p.add_argument("--rate", type=float_range(0, 1e6), default=10.0,
                   help="Requests a second per client address, on average (bursts of 40); "
                   "0 turns the limit off. [default: 10]")
    p.add_argument("--max-bytes", type=int_range(1024, 1_000_000), default=256 * 1024,
                   help="The largest request body, in bytes. [default: 262144]")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="Behind a proxy or load balancer: its addresses (comma-separated), "
                   "whose X-Forwarded-For names the client for the rate limit.")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"],
                   default="info", help="uvicorn's logging. [default: info]")
    p.set_defaults(run=serve)
    return p
