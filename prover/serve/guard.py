"""What keeps one client of `prove serve` from crowding out the others: a token bucket per client
address (`RateLimit`), a cap on each client's requests in progress, a fair share of the workers
(`FairShare`), and an answer cache that stays bounded (`AnswerCache`). All of it is the
parent's, in memory, per replica: nothing a client depends on, and nothing shared between
replicas (docs/serve.md).

The cache holds whole answers the kernel gave, keyed by a SHA-256 digest of the kind of request
and every byte of its body (`work.digest`): an answer is only ever served again for the very same
bytes, and checking is deterministic (SPEC §5: no wall-clock dependence), so it skips no check
that the same request would not have made the same way.
"""
from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Optional


def client_key(host: str) -> str:
    """The address a limit counts a client by: an IPv4 address as it is, an IPv6 address by its
    /64 prefix (one network holds a whole /64, so counting each of its addresses alone would let
    one client take a new bucket for every request)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class Bucket:
    tokens: float
    stamp: float
    busy: int = 0  # requests of this client in progress


@dataclass
class RateLimit:
    """`rate` requests a second per client on average, in bursts of at most `burst`, and at
    most `in_flight` in progress at once. `rate <= 0` turns the limit off (a benchmark's own
    server, or a replica behind a proxy that limits)."""

    rate: float = 10.0
    burst: int = 40
    in_flight: int = 4
    clients_kept: int = 10_000  # buckets remembered (least recently seen dropped first)
    clock: Callable[[], float] = time.monotonic
    _buckets: "OrderedDict[str, Bucket]" = field(default_factory=OrderedDict)

    def admit(self, client: str) -> Optional[float]:
        """None if `client` may go ahead (it then holds one of its in-flight places until
        `release`), else the seconds to wait before asking again."""
        if self.rate <= 0:
            return None
        client = client_key(client)
        now = self.clock()
        b = self._buckets.get(client)
        if b is None:
            b = self._buckets[client] = Bucket(float(self.burst), now)
            if len(self._buckets) > self.clients_kept:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        if b.busy >= self.in_flight:
            return 1.0
        if b.tokens < 1.0:
            return (1.0 - b.tokens) / self.rate
        b.tokens -= 1.0
        b.busy += 1
        return None

    def release(self, client: str) -> None:
        b = self._buckets.get(client_key(client))
        if b is not None and b.busy > 0:
            b.busy -= 1


class AnswerCache:
    """The last `size` answers by digest (least recently used dropped first)."""

    def __init__(self, size: int = 4096, max_bytes: int = 256 * 1024 * 1024):
        self.size, self.max_bytes = size, max_bytes
        self._items: "OrderedDict[str, tuple[int, bytes]]" = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, key: str) -> Optional[tuple[int, bytes]]:
        hit = self._items.get(key)
        if hit is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return hit

    def put(self, key: str, status: int, body: bytes) -> None:
        if self.size <= 0 or len(body) > self.max_bytes // 16:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
        self._items[key] = (status, body)
        self._bytes += len(body)
        while len(self._items) > self.size or self._bytes > self.max_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= len(dropped)


class FairShare:
    """The workers' places, handed out fairly between clients: a request takes a free place at
    once when nobody is waiting; otherwise it waits, and each place that frees goes to the
    waiting client with the fewest requests running (the one waiting longest among them). So one
    client with many slow requests holds at most its share while others wait, and a client alone
    (a class behind one address, say) still gets every place."""

    def __init__(self, places: int):
        self.free = places
        self.running: dict[str, int] = {}
        self._waiting: list[tuple[int, str, "asyncio.Future[None]"]] = []
        self._seq = 0

    async def acquire(self, client: str) -> None:
        """Wait for a place (cancel the wait to give up: no place is kept)."""
        client = client_key(client)
        if self.free > 0 and not self._waiting:
            self._take(client)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        entry = (self._seq, client, fut)
        self._waiting.append(entry)
        try:
            await fut
        except BaseException:
            if entry in self._waiting:
                self._waiting.remove(entry)
            elif fut.done() and not fut.cancelled():  # granted as the wait was given up
                self.release(client)
            raise

    def release(self, client: str) -> None:
        client = client_key(client)
        n = self.running.get(client, 0) - 1
        if n > 0:
            self.running[client] = n
        else:
            self.running.pop(client, None)
        self.free += 1
        self._grant()

    def _take(self, client: str) -> None:
        self.free -= 1
        self.running[client] = self.running.get(client, 0) + 1

    def _grant(self) -> None:
        while self.free > 0 and self._waiting:
            entry = min(self._waiting, key=lambda e: (self.running.get(e[1], 0), e[0]))
            self._waiting.remove(entry)
            _, client, fut = entry
            if fut.done():  # given up already
                continue
            self._take(client)
            fut.set_result(None)
