"""`prove serve` under load, on this machine, against 127.0.0.1 only (issue 15's speed targets).

    python benchmarks/serve_bench.py [--clients 16] [--requests 400] [--strict]

It starts `prove serve` as a user would (default settings: one worker per core, the rate limit
on) on a free port of 127.0.0.1, waits for /healthz, and measures three things:

1. **one student typing** — a single client checks Theorem 5 again and again, each text new
   (a counter in a comment, so the server's answer cache never answers), and every other one
   with a new slip in its last line (refuted with a counterexample): the latency of a typical
   proof's verdicts. Target: p95 under 200 ms.
2. **a class, fresh texts** — `--clients` clients at once send `--requests` checks in all of the
   proofs in `proofs/` (round robin, each client from its own offset), every text made new the
   same way: nothing is answered from the cache, every request is checked by the kernel.
3. **a class, texts as they are** — the same, the texts unchanged: repeated texts are answered
   from the cache, as when a class starts from the same example.

Each client sends from its own loopback address (127.0.0.2, 127.0.0.3, …) so that it has its
own rate-limit bucket, as 16 students on 16 machines would. Target for 2 and 3: p95 under 1 s,
no request failing. Bounded: at most `--requests` requests a phase, and the whole run stops after
`--deadline` seconds. Prints the figures; exit 0, or with --strict 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, extra: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "prover", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    until = time.monotonic() + 60
    while time.monotonic() < until:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server did not start: " + proc.stderr.read().decode())
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not answer /healthz within 60 s")


def quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
    return {"n": len(xs), "p50": statistics.median(xs), "p95": pick(0.95), "max": xs[-1]}


def show(name: str, q: dict[str, float], failed: int, seconds: float, target: float) -> bool:
    ok = failed == 0 and q["p95"] < target
    print(f"{name:<28} {q['n']:>4} requests in {seconds:5.1f} s ({q['n'] / seconds:5.1f}/s): "
          f"p50 {q['p50'] * 1000:6.0f} ms, p95 {q['p95'] * 1000:6.0f} ms, "
          f"max {q['max'] * 1000:6.0f} ms, failed {failed}   "
          f"[target p95 < {target * 1000:.0f} ms: {'met' if ok else 'MISSED'}]")
    return ok


async def one_student(base: str, n: int) -> tuple[list[float], int]:
    """Theorem 5 as a student edits it: every other text has a new slip in its last line (a
    coefficient never seen before, so that step is refuted afresh with its counterexample)."""
    text = (ROOT / "proofs" / "theorem5.yaml").read_text()
    assert "  - derivative: a a^T\n" in text
    times: list[float] = []
    failed = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        for i in range(n):
            slip = i % 2 == 1
            body = (text.replace("  - derivative: a a^T\n", f"  - derivative: {i + 2} a a^T\n")
                    if slip else f"# typing {i}\n{text}")
            t0 = time.perf_counter()
            r = await c.post("/api/check", content=body)
            times.append(time.perf_counter() - t0)
            want = "invalid" if slip else "valid"
            failed += r.status_code != 200 or r.json()["files"][0]["status"] != want
            await asyncio.sleep(0.05)
    return times, failed


async def a_class(base: str, texts: list[str], clients: int, requests: int, fresh: bool,
                  tag: str) -> tuple[list[float], int, float]:
    times: list[float] = []
    failed = [0]
    per = [requests // clients + (i < requests % clients) for i in range(clients)]

    async def client(k: int) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + k}")
        async with httpx.AsyncClient(base_url=base, timeout=60, transport=transport) as c:
            for j in range(per[k]):
                i = (k * 7 + j) % len(texts)
                body = (f"# {tag} client {k} request {j}\n" if fresh else "") + texts[i]
                t0 = time.perf_counter()
                try:
                    r = await c.post("/api/check", content=body)
                    bad = r.status_code != 200
                except httpx.HTTPError:
                    bad = True
                times.append(time.perf_counter() - t0)
                failed[0] += bad

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return times, failed[0], time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--typing", type=int, default=40, help="requests of the one-student phase")
    ap.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("server_options", nargs="*", help="passed to prove serve (after --)")
    args = ap.parse_args()
    texts = [p.read_text() for p in sorted((ROOT / "proofs").rglob("*.yaml"))]
    port = free_port()
    proc = start_server(port, args.server_options)
    base = f"http://127.0.0.1:{port}"
    print(f"prove serve on {base}, {os.cpu_count()} cores; {len(texts)} proofs from proofs/; "
          f"{args.clients} clients")
    ok = True
    try:
        async def run() -> None:
            nonlocal ok
            times, failed = await one_student(base, args.typing)
            ok &= show("one student typing", quantiles(times), failed, sum(times), 0.2)
            for fresh, name in ((True, "a class, fresh texts"), (False, "a class, texts as they are")):
                times, failed, secs = await a_class(base, texts, args.clients, args.requests,
                                                    fresh, "load")
                ok &= show(name, quantiles(times), failed, secs, 1.0)

        asyncio.run(asyncio.wait_for(run(), args.deadline))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
