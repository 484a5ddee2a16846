"""`prove serve`'s connections: uvicorn's HTTP/1.1 protocol (h11) with the guards an application
cannot add itself, since they act before a request reaches it (docs/serve.md, "Limits and guards").

- A request's head (its request line and headers) must arrive within `head_timeout` seconds of
  the connection opening, or of its first byte after the previous answer; uvicorn alone waits
  for it forever, so a client could hold every connection the server takes by sending nothing,
  or a byte now and then (slowloris). A connection over the deadline is closed.
- At most `per_client` connections open at once per client address (an IPv6 address by its
  /64, as the rate limit counts it); one more is answered 429 and closed. The proxies named by
  `--forwarded-allow-ips` carry many clients' connections and are not counted.
- At most `max_connections` in all; one more is answered 503 and closed (uvicorn's own limit
  answers in plain text).
- uvicorn's own refusals of what is not HTTP are JSON `{"error": …}` with the security headers,
  like every other answer.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import SECURITY_HEADERS
from .guard import client_key

HEAD_TIMEOUT = 10.0  # seconds for a request's head
PER_CLIENT = 32  # connections open at once per client address (a browser opens at most 6)
MAX_CONNECTIONS = 512  # connections open at once in all
REASONS = {400: "Bad Request", 408: "Request Timeout", 429: "Too Many Requests",
           503: "Service Unavailable"}


def raw_answer(status: int, message: str, headers: Optional[dict[str, str]] = None) -> bytes:
    """A whole HTTP/1.1 answer `{"error": message}` that closes the connection, with the
    security headers: what the protocol sends where no request has reached the application."""
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    fields = {"content-type": "application/json", "content-length": str(len(body)),
              "connection": "close", **{k.lower(): v for k, v in SECURITY_HEADERS.items()},
              **{k.lower(): v for k, v in (headers or {}).items()}}
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + body


def protocol(head_timeout: float = HEAD_TIMEOUT, per_client: int = PER_CLIENT,
             max_connections: int = MAX_CONNECTIONS, trusted: tuple[str, ...] = ()) -> type:
    """The protocol class for `uvicorn.Config(http=…)`; `trusted`: the addresses of the proxies
    (`--forwarded-allow-ips`), whose connections are not counted per client. Each class keeps
    its own count of connections, so each server its own."""
    open_by_client: dict[str, int] = {}
    trust_all = "*" in trusted

    class GuardedH11Protocol(H11Protocol):
        _head_timer: Optional[asyncio.TimerHandle] = None
        _counted: Optional[str] = None
        _refused = False

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else ""
            if len(self.connections) > max_connections:
                self._refuse(503, "the server has too many connections open; try again "
                             "shortly", {"Retry-After": "1"})
                return
            if host and not trust_all and host not in trusted:
                key = client_key(host)
                if open_by_client.get(key, 0) >= per_client:
                    self._refuse(429, f"too many connections from {host} (at most "
                                 f"{per_client} at once); close some and try again",
                                 {"Retry-After": "1"})
                    return
                open_by_client[key] = open_by_client.get(key, 0) + 1
                self._counted = key
            self._arm()

        def connection_lost(self, exc: Optional[Exception]) -> None:
            self._disarm()
            if self._counted is not None:
                left = open_by_client.get(self._counted, 1) - 1
                if left > 0:
                    open_by_client[self._counted] = left
                else:
                    open_by_client.pop(self._counted, None)
                self._counted = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            super().data_received(data)
            if self.cycle is None or self.cycle.response_complete:
                self._arm()  # between requests: the next head must come in time
            else:
                self._disarm()  # a request is in progress: the application's deadlines hold

        def send_400_response(self, msg: str) -> None:
            self._disarm()
            self.transport.write(raw_answer(400, "this is not an HTTP request the server "
                                            "reads: " + msg))
            self.transport.close()

        # -- the guards ---------------------------------------------------------------------
        def _refuse(self, status: int, message: str, headers: dict[str, str]) -> None:
            self._refused = True
            self.transport.write(raw_answer(status, message, headers))
            self.transport.close()

        def _arm(self) -> None:
            if self._head_timer is None and not self.transport.is_closing():
                self._head_timer = self.loop.call_later(head_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _too_slow(self) -> None:
            self._head_timer = None
            if (self.cycle is None or self.cycle.response_complete) \
                    and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol
