"""Attacks on `prove serve` (issue 15's promises, docs/serve.md): requests that make the server's
own process do the work or fail, connections that hold the server without sending a request,
limits a client could get around, the answer cache, grading that must give exactly the score
`prove grade` gives, and the page under hostile links. Each test states what must hold; each
was written against the server before its fix (or, where nothing broke, stands guard)."""
from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
import zlib

import pytest

pytest.importorskip("starlette", reason="prove serve needs the serve extra (starlette)")
pytest.importorskip("uvicorn", reason="prove serve needs the serve extra (uvicorn)")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import uvicorn  # noqa: E402

from prover.serve.app import CSP, Settings, create_app  # noqa: E402
from prover.serve.guard import FairShare, RateLimit  # noqa: E402

from serve_fixtures import HW, ROOT, SLIP, THEOREM5, chromium  # noqa: E402

ALICE = (ROOT / "examples" / "class" / "alice" / "q1.yaml").read_text()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(workers=1, assignment=HW, rate=0))) as c:
        yield c


def secure(headers) -> bool:
    return (headers.get("content-security-policy") == CSP
            and headers.get("x-content-type-options") == "nosniff"
            and headers.get("x-frame-options") == "DENY")


# -- driving the application's ASGI interface directly (a body that stalls, a forged header) ---
async def asgi(app, method: str, path: str, chunks=(), headers=(), client=("10.0.0.1", 5000),
               stall: asyncio.Event | None = None) -> tuple[int, dict, bytes]:
    """One request to `app`; `chunks` are sent one by one, then, if `stall` is given, the rest
    of the body waits until it is set (a slow client)."""
    queue = list(chunks)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "scheme": "http", "server": ("127.0.0.1", 8000), "client": client,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}
    sent: dict = {"status": 0, "headers": {}, "body": b""}

    async def receive():
        if queue:
            return {"type": "http.request", "body": queue.pop(0), "more_body": True}
        if stall is not None:
            await stall.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return sent["status"], sent["headers"], sent["body"]


# -- the server's own process never does the heavy work, and never fails with a 500 ------------
@pytest.mark.parametrize("path", ["/api/derive", "/api/grade"])
@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"f": ' * 30_000 + b"1" + b"}" * 30_000])
def test_deeply_nested_json_is_refused_with_a_400(client, path, body):
    """json.loads in the server's process raised RecursionError: a 500 instead of a 4xx."""
    t = time.monotonic()
    r = client.post(path, content=body)
    assert r.status_code == 400, r.text
    assert "nests too deeply" in r.json()["error"]
    assert secure(r.headers)
    assert time.monotonic() - t < 2
    assert client.post("/api/check", content=SLIP).json()["files"][0]["status"] == "invalid"


def test_an_error_message_never_echoes_a_request_at_length(client):
    """A 200 KB problem name, layout or field name was quoted back whole in the error."""
    huge = "x" * 200_000
    for path, body, status in (
            ("/api/grade", {"problem": huge, "text": ""}, 404),
            ("/api/derive", {"function": "tr(X)", "wrt": "X", "layout": huge}, 400),
            ("/api/derive", {"function": "tr(X)", "wrt": "X", huge: 1}, 400),
            ("/api/derive", {"function": "tr(X)", "wrt": "X",
                             **{f"f{i}": 1 for i in range(5000)}}, 400)):
        r = client.post(path, json=body)
        assert r.status_code == status
        assert len(r.content) < 600, (path, len(r.content))
        assert "xxxx" in r.text or "f0" in r.text  # still says which
    r = client.get("/" + "a" * 20_000)
    assert r.status_code == 404 and len(r.content) < 600


def test_a_content_length_of_thousands_of_digits_is_a_413():
    """int() of a 5,000-digit Content-Length raised ValueError in the server: a 500."""
    app = create_app(Settings(workers=1, rate=0))
    status, headers, body = asyncio.run(asgi(app, "POST", "/api/check", [b"x"],
                                             [("content-length", "9" * 5000)]))
    assert status == 413 and "limit" in json.loads(body)["error"]
    assert headers["content-security-policy"] == CSP
    status, _, _ = asyncio.run(asgi(app, "POST", "/api/check", [b"x"],
                                    [("content-length", "١٢")]))  # digits, not ASCII ones
    assert status == 400


def test_a_slow_body_is_refused_with_408_in_time():
    """A client that sends part of its body and then nothing held its request (and one of its
    places) for ever: now the body must arrive within the read deadline."""
    app = create_app(Settings(workers=1, rate=0, read_timeout=0.5))

    async def go():
        stall = asyncio.Event()
        t = time.monotonic()
        out = await asyncio.wait_for(asgi(app, "POST", "/api/check", [b"theorem: t\n"],
                                          [("content-length", "1000")], stall=stall), 5)
        return out, time.monotonic() - t
    (status, headers, body), took = asyncio.run(go())
    assert status == 408 and "did not arrive" in json.loads(body)["error"]
    assert headers["content-security-policy"] == CSP
    assert took < 2


def test_one_client_holds_at_most_its_in_flight_places_and_others_go_on():
    """Ten requests at once from one address, each stalling in its body: four are taken, six
    are refused at once with 429; another address is not affected."""
    app = create_app(Settings(workers=1, rate=100, burst=100, in_flight=4, read_timeout=5))

    async def go():
        stall = asyncio.Event()
        held = [asyncio.create_task(asgi(app, "POST", "/api/derive", [b"{"],
                                         stall=stall)) for _ in range(10)]
        await asyncio.sleep(0.2)
        refused = [t.result() for t in held if t.done()]
        other = await asgi(app, "POST", "/api/derive", [b"{"], client=("10.0.0.2", 1))
        stall.set()
        rest = await asyncio.gather(*held)
        return refused, other, rest
    refused, other, rest = asyncio.run(go())
    assert len(refused) == 6 and all(s == 429 for s, _, _ in refused)
    assert all("slow down" in json.loads(b)["error"] and h["retry-after"] for _, h, b in refused)
    assert other[0] == 400  # its own answer (not JSON), not a 429
    assert sorted(s for s, _, _ in rest) == [400] * 4 + [429] * 6


def test_ipv6_clients_are_counted_by_their_64():
    """One IPv6 network holds 2^64 addresses: counted one by one, a client got a fresh bucket
    (and four fresh in-flight places) with every request."""
    limit = RateLimit(rate=1.0, burst=2, in_flight=4, clock=lambda: 0.0)
    assert limit.admit("2001:db8:1:2::1") is None
    assert limit.admit("2001:db8:1:2::abcd") is None
    assert limit.admit("2001:db8:1:2:ffff::9") is not None  # the same /64: its burst is spent
    assert limit.admit("2001:db8:1:3::1") is None  # another network
    assert limit.admit("::ffff:10.1.2.3") is None and limit.admit("10.1.2.3") is None
    assert limit.admit("10.1.2.3") is not None  # an IPv4-mapped address is the IPv4 one


# -- a real server: uvicorn with `prove serve`'s settings, in a thread ------------------------
class Live:
    """uvicorn with the configuration `prove serve` uses (`uvicorn_config`), on a free port."""

    def __init__(self, settings: Settings, forwarded: str | None = None, **guards):
        from prover.cli_serve import uvicorn_config

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn_config(create_app(settings), "127.0.0.1", self.port, "critical",
                                forwarded, **guards)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        end = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < end and self.thread.is_alive(), "the server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5,
                                     source_address=(source, 0))
        return s

    def request(self, method: str, path: str, body: bytes = b"", headers=(),
                source: str = "127.0.0.1") -> tuple[int, dict, bytes]:
        s = self.connect(source)
        try:
            head = [f"{method} {path} HTTP/1.1", "Host: test", "Connection: close",
                    f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            return read_answer(s)
        finally:
            s.close()


def read_answer(s: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while True:
        try:
            got = s.recv(65536)
        except socket.timeout:
            break
        if not got:
            break
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {k.strip().lower(): v.strip() for k, v in
               (x.split(":", 1) for x in lines[1:] if ":" in x)}
    return status, headers, body


@pytest.fixture(scope="module")
def live():
    srv = Live(Settings(workers=2, rate=0, timeout=1.0, read_timeout=0.5),
               head_timeout=0.6, per_client=4)
    yield srv
    srv.stop()


def test_connections_that_send_nothing_cannot_take_the_server(live):
    """Idle connections (or a head sent a byte at a time) were kept for ever, and 512 of them
    from one address made uvicorn answer every other client 503 in plain text. Now one address
    holds at most `per_client` connections (one more is a JSON 429), and another address is
    served meanwhile."""
    idle = [live.connect() for _ in range(4)]
    try:
        extra = live.connect()
        extra.settimeout(3)
        status, headers, body = read_answer(extra)
        extra.close()
        assert status == 429 and "too many connections" in json.loads(body)["error"]
        assert secure(headers) and headers["retry-after"]
        status, headers, body = live.request("GET", "/healthz", source="127.0.0.2")
        assert status == 200 and json.loads(body)["status"] == "ok" and secure(headers)
    finally:
        for s in idle:
            s.close()


def test_a_request_head_that_never_ends_is_closed_by_its_deadline(live):
    """A slowloris: a head sent slowly and never finished. The connection is closed once the
    head deadline passes, and its place is free again."""
    slow = live.connect()
    slow.settimeout(5)
    t = time.monotonic()
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.2)
    slow.sendall(b"X-A: 1\r\n")
    assert slow.recv(100) == b""  # closed by the server, without an answer
    assert time.monotonic() - t < 3
    slow.close()
    # the same after a first answer on a kept-alive connection
    s = live.connect()
    s.settimeout(5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = s.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    t = time.monotonic()
    while s.recv(65536):
        pass
    assert time.monotonic() - t < 3
    s.close()


def test_a_slow_body_through_the_real_server_is_a_408(live):
    s = live.connect()
    s.settimeout(5)
    s.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\ntheorem: x\n")
    status, headers, body = read_answer(s)
    s.close()
    assert status == 408 and secure(headers)
    assert "did not arrive" in json.loads(body)["error"]


def test_what_is_not_http_gets_a_json_400_with_the_security_headers(live):
    for junk in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                 b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"):
        s = live.connect()
        s.settimeout(5)
        s.sendall(junk)
        status, headers, body = read_answer(s)
        s.close()
        assert status == 400 and secure(headers), junk[:20]
        assert "not an HTTP request" in json.loads(body)["error"]


def test_a_worker_stopped_at_its_deadline_harms_no_other_request(live):
    """One client's request over the deadline stops its worker; other clients' requests at the
    same time, on the other worker, get their answers."""
    # the machine-learning proofs, four times, each copy with its sizes renamed (`n` → `n2`):
    # the same work again, which no memo of the first copy answers (a fast machine checked one
    # copy within the 1 s deadline)
    sized = lambda text, i: re.sub(  # noqa: E731
        r"\[(\w+), (\w+)\]", lambda m: "[" + ", ".join(
            x if x.isdigit() else f"{x}{i}" for x in (m[1], m[2])) + "]", text)
    heavy = "\n".join("- " + sized(p.read_text(), i).replace("\n", "\n  ").rstrip()
                      for i in range(1, 5)
                      for p in sorted((ROOT / "proofs" / "ml").glob("*.yaml"))).encode()
    out: dict = {}

    def attack():
        out["heavy"] = live.request("POST", "/api/check", heavy, source="127.0.0.3")

    t = threading.Thread(target=attack)
    t.start()
    time.sleep(0.1)
    victims = []
    for i in range(3):
        text = SLIP.replace("title:", f"# victim {i}\ntitle:").encode()
        victims.append(live.request("POST", "/api/check", text, source="127.0.0.4"))
    t.join(30)
    assert out["heavy"][0] == 422 and "work limit" in json.loads(out["heavy"][2])["error"]
    for status, _, body in victims:
        assert status == 200 and json.loads(body)["files"][0]["status"] == "invalid"


def test_a_freed_worker_goes_to_the_client_with_the_fewest_running():
    """FairShare: a client holding both places and waiting for more does not get the next free
    place while another client waits with none; a wait given up keeps no place."""
    async def scenario():
        share = FairShare(2)
        await share.acquire("10.0.0.1")
        await share.acquire("10.0.0.1")  # A holds both
        order = []

        async def wait(client, tag):
            await share.acquire(client)
            order.append(tag)

        a3 = asyncio.ensure_future(wait("10.0.0.1", "A3"))
        await asyncio.sleep(0)
        b1 = asyncio.ensure_future(wait("10.0.0.2", "B1"))
        c1 = asyncio.ensure_future(wait("10.0.0.3", "C1"))
        await asyncio.sleep(0)
        c1.cancel()  # C gives up
        await asyncio.sleep(0)
        share.release("10.0.0.1")  # A: 1 running, B: 0 — B first, although A asked first
        await asyncio.sleep(0)
        assert order == ["B1"]
        share.release("10.0.0.1")
        await asyncio.sleep(0)
        assert order == ["B1", "A3"] and share.free == 0
        share.release("10.0.0.1")
        share.release("10.0.0.2")
        assert share.free == 2 and share.running == {} and not share._waiting
        await asyncio.gather(a3, b1)

    asyncio.run(scenario())


def test_one_client_with_slow_requests_cannot_hold_every_worker(live):
    """A client with four requests that each run to the deadline used to hold both workers for
    two deadlines in a row, so another student's check waited behind all four. Now a freed
    worker goes to the client with none running: the other student's answer comes before the
    slow client's third and fourth."""
    # the machine-learning proofs, four times, each copy with its sizes renamed (`n` → `n2`):
    # the same work again, which no memo of the first copy answers (a fast machine checked one
    # copy within the 1 s deadline)
    sized = lambda text, i: re.sub(  # noqa: E731
        r"\[(\w+), (\w+)\]", lambda m: "[" + ", ".join(
            x if x.isdigit() else f"{x}{i}" for x in (m[1], m[2])) + "]", text)
    heavy = "\n".join("- " + sized(p.read_text(), i).replace("\n", "\n  ").rstrip()
                      for i in range(1, 5)
                      for p in sorted((ROOT / "proofs" / "ml").glob("*.yaml"))).encode()
    done: dict = {}

    def slow(i):
        live.request("POST", "/api/check", heavy + f"\n# {i}".encode(), source="127.0.0.7")
        done[f"A{i}"] = time.monotonic()

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    text = SLIP.replace("title:", "# fair share\ntitle:").encode()
    status, _, body = live.request("POST", "/api/check", text, source="127.0.0.8")
    done["B"] = time.monotonic()
    for t in threads:
        t.join(30)
    assert status == 200 and json.loads(body)["files"][0]["status"] == "invalid"
    assert len(done) == 5
    last_two = sorted(done[f"A{i}"] for i in range(4))[2:]
    assert done["B"] < min(last_two), done


def test_x_forwarded_for_is_believed_only_from_the_named_proxies():
    """Without --forwarded-allow-ips a client cannot pick its own rate-limit bucket by naming
    an address in X-Forwarded-For; with it, the proxy's header names each client (and the proxy
    is not held to the connections-per-client limit)."""
    plain = Live(Settings(workers=1, rate=1, burst=3), head_timeout=2, per_client=3)
    try:
        codes = [plain.request("POST", "/api/derive", b"{",
                               [("X-Forwarded-For", f"203.0.113.{i}")])[0] for i in range(5)]
        assert codes[:3] == [400] * 3 and codes[3:] == [429, 429]
    finally:
        plain.stop()
    proxied = Live(Settings(workers=1, rate=1, burst=3), forwarded="127.0.0.1",
                   head_timeout=2, per_client=3)
    try:
        codes = [proxied.request("POST", "/api/derive", b"{",
                                 [("X-Forwarded-For", f"203.0.113.{i}")])[0] for i in range(5)]
        assert codes == [400] * 5
        held = [proxied.connect() for _ in range(5)]  # the proxy's connections: not limited
        status, _, _ = proxied.request("GET", "/healthz")
        for s in held:
            s.close()
        assert status == 200
    finally:
        proxied.stop()


# -- the answer cache -------------------------------------------------------------------------
def test_the_cache_answers_each_request_with_its_own_answer(client):
    """Answers keyed by kind and bytes: the same text for another problem, the same bytes to
    another endpoint, a JSON body with a field twice (refused) — each its own answer; the
    Content-Type, which the answer does not depend on, changes nothing."""
    q1 = client.post("/api/grade", json={"problem": "q1", "text": ALICE}).json()
    q3 = client.post("/api/grade", json={"problem": "q3", "text": ALICE}).json()
    assert (q1["problem"], q1["score"]) == ("q1", 10.0)
    assert q3["problem"] == "q3" and q3["score"] == 0
    body = json.dumps({"problem": "q1", "text": ALICE})
    dup = body[:-1] + ', "text": ' + json.dumps(ALICE.replace("equals: a a^T", "equals: a^T a"))
    refused = client.post("/api/grade", content=dup + "}")  # a field twice: refused, not cached
    assert refused.status_code == 400 and "appears twice" in refused.json()["error"]
    assert client.post("/api/grade", content=body).json()["score"] == 10.0
    as_check = client.post("/api/check", content=body).json()
    assert "files" in as_check and "score" not in as_check
    for kind in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
        r = client.post("/api/check", content=SLIP, headers={"content-type": kind})
        assert r.json()["files"][0]["status"] == "invalid"
        r = client.post("/api/check", content=THEOREM5, headers={"content-type": kind})
        assert r.json()["files"][0]["status"] == "valid"


# -- grading: exactly the score `prove grade` gives -------------------------------------------
def _item(text: str) -> str:
    return "- " + text.replace("\n", "\n  ").rstrip() + "\n"


LEMMA = ALICE.replace("theorem: q1", "theorem: mylemma").replace("# Alice: a complete, valid proof.\n", "")
CITING = (ALICE.split("proof:\n")[0] + "proof:\n  - expr: d(a^T X a)\n  - expr: tr(a a^T dX)\n"
          "    by: LEMMA\n  - derivative: a a^T\n    by: theorem-4\n")
GRADED = {
    "alice": ALICE,
    "changed-claim": ALICE.replace("equals: a a^T", "equals: a^T a"),
    "changed-wrt": ALICE.replace("wrt: X", "wrt: a"),
    "changed-shape": ALICE.replace("X: {shape: [n, n]}", "X: {shape: [n, m]}"),
    "added-assumption": ALICE.replace("proof:\n", "assume: {invertible: [X]}\nproof:\n"),
    "changed-layout": ALICE.replace("proof:\n", "layout: denominator\nproof:\n"),
    "non-constant": ALICE.replace("a: {shape: [n, 1], constant: true}", "a: {shape: [n, 1]}"),
    "other-problem": ALICE.replace("theorem: q1", "theorem: q2"),
    "two-proofs": _item(ALICE.replace("equals: a a^T", "equals: a^T a")) + _item(ALICE),
    "own-lemma": _item(LEMMA) + _item(CITING.replace("LEMMA", "mylemma")),
    "shipped-lemma": CITING.replace("LEMMA", "theorem5"),
    "lemma-by-path": CITING.replace("LEMMA", "../../proofs/theorem5.yaml"),
    "lemma-by-item": CITING.replace("LEMMA", str(ROOT / "proofs" / "theorem5.yaml") + "#1"),
    "disallowed-rule": ALICE.replace("by: theorem-1", "by: [theorem-1, transpose-scalar]"),
}


def test_grading_gives_the_score_prove_grade_gives(client, tmp_path):
    """Each text as a student's q1.yaml through `prove grade`, and through POST /api/grade:
    the same status and score. A changed claim, variable, layout or assumption, another
    problem's proof, a lemma from the shipped proofs or named by a path, a rule not allowed —
    none scores."""
    for name, text in GRADED.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "q1.yaml").write_text(text)
    out = subprocess.run([sys.executable, "-m", "prover", "grade", str(tmp_path), "-a", HW,
                          "--format", "json", "-j", "2"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    cli = {}
    for s in json.loads(out.stdout)["students"]:
        q1 = next(p for p in s["problems"] if p["id"] == "q1")
        cli[s.get("student") or s.get("name")] = (q1["status"], float(q1["score"]))
    assert set(cli) == set(GRADED)
    for name, text in GRADED.items():
        g = client.post("/api/grade", json={"problem": "q1", "text": text}).json()
        assert (g["status"], g["score"]) == cli[name], name
    scored = {n for n, (_, score) in cli.items() if score > 0}
    assert scored == {"alice", "non-constant"}  # (the gate checks with the assigned flags)


def test_the_line_marks_of_a_grade_use_the_grades_lemmas(client):
    """`prove grade` does not take the proofs shipped with the package as lemmas, so the line
    marks next to a grade must not either: a step citing `theorem5` is ✓ on the open playground
    but not in assignment mode, where the grade refuses it."""
    text = CITING.replace("LEMMA", "theorem5")
    free = client.post("/api/check", content=text).json()["files"][0]
    assert free["steps"][1]["status"] == "valid"
    g = client.post("/api/grade", json={"problem": "q1", "text": text}).json()
    assert g["score"] == 0
    marked = g["check"]["files"][0]
    assert marked["steps"][1]["status"] != "valid" and marked["status"] != "valid"


def test_a_lemma_named_by_a_path_reads_no_file(client):
    """A citation is a theorem's name among the shipped proofs, never a path: nothing outside
    the package is opened, whatever the citation says."""
    for cite in ("/etc/passwd", "../../../../etc/passwd", str(ROOT / "proofs" / "theorem5.yaml"),
                 "proofs/theorem5.yaml#1", "file:///etc/passwd", "~/.ssh/id_rsa"):
        text = CITING.replace("LEMMA", json.dumps(cite))
        f = client.post("/api/check", content=text).json()["files"][0]
        assert f["status"] != "valid", cite
        assert "root:" not in json.dumps(f)
    f = client.post("/api/check", content=CITING.replace("LEMMA", "theorem5")).json()["files"][0]
    assert f["status"] == "valid"  # the shipped proof, by its name


# -- the page under hostile links (headless Chromium, as in test_serve_browser.py) -------------
@pytest.fixture(scope="module")
def page_server():
    """`prove serve --assignment examples/hw.yaml` in a subprocess, and Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    binary = chromium()
    if binary is None:
        pytest.skip("needs Chromium at /usr/bin/chromium (or PROVE_CHROMIUM)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "prover", "serve", "--port", str(port),
                             "--workers", "1", "--rate", "0", "--log-level", "warning",
                             "--assignment", HW], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < end, "prove serve did not start"
                time.sleep(0.1)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=binary, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update"])
            yield browser, url
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _open(browser, url: str, fragment: str = ""):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = {"dialogs": [], "errors": [], "csp": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: "Content Security Policy" in m.text and seen["csp"].append(m.text))
    page.goto(url + "/" + fragment)
    page.wait_for_selector("body[data-ready]")
    return page, seen


def _editor(page) -> str:
    return page.evaluate("""() => [...document.getElementById('editor').shadowRoot
        .querySelectorAll('.cm-line')].map((l) => l.textContent).join('\\n')""")


def _until(page, js: str, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not page.evaluate(js):
        assert time.monotonic() < end, "timed out waiting for " + js
        page.wait_for_timeout(50)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


XSS = "<img src=x onerror=alert(1)>"


def test_a_hostile_link_runs_no_script_and_injects_no_html(page_server):
    browser, url = page_server
    text = THEOREM5.replace("title: Derivative of a quadratic form", f'title: "{XSS}"').replace(
        "    by: algebra", f'    by: "{XSS}"')
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    z = _b64(raw.compress(text.encode()) + raw.flush())
    for frag in (f"#proof={_b64(text.encode())}&problem={XSS}",
                 f"#z={z}&problem=%3Cscript%3Ealert(2)%3C/script%3E",
                 f"#z={z}&problem=q1", "#problem=<svg onload=alert(3)>&proof=%3Cb%3E"):
        page, seen = _open(browser, url, frag)
        _until(page, "() => ['invalid', 'error', 'valid', 'failed'].includes("
                     "document.getElementById('status').dataset.state)")
        page.evaluate("document.querySelectorAll('*').forEach((e) => e.dispatchEvent("
                      "new MouseEvent('mouseover', {bubbles: true})))")
        page.wait_for_timeout(200)
        injected = page.evaluate("""() => {
            const root = document.getElementById('editor').shadowRoot;
            const q = 'img, svg, script:not([src]), [onerror], [onload], [onmouseover]';
            return document.querySelectorAll(q).length + root.querySelectorAll(q).length;
        }""")
        assert injected == 0, frag
        assert seen == {"dialogs": [], "errors": [], "csp": []}, (frag, seen)
        if "problem=q1" in frag:  # the link's text under q1's locked claim, not its own
            assert page.input_value("#problem-select") == "q1"
            assert "theorem: q1" in _editor(page)
        page.context.close()


def test_a_link_that_inflates_to_gigabytes_is_refused_by_the_page(page_server):
    """A few kilobytes after #z= can inflate to gigabytes; the page inflated it all (and loaded
    it into the editor). Now it stops at the server's size limit and says so."""
    browser, url = page_server
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = raw.compress(b"a: " + b"x" * (256 << 20)) + raw.flush()  # 256 MB of text
    assert len(bomb) < 300_000
    page, seen = _open(browser, url, "#z=" + _b64(bomb))
    _until(page, "() => document.getElementById('status').dataset.state === 'failed'")
    assert "too large" in page.inner_text("#status-verdict")
    assert len(_editor(page)) < 1000
    damaged, seen2 = _open(browser, url, "#z=!!!!not-deflate")
    _until(damaged, "() => document.getElementById('status').dataset.state === 'failed'")
    assert "cannot be read" in damaged.inner_text("#status-verdict")
    assert seen["errors"] == [] and seen2["errors"] == []
    page.context.close()
    damaged.context.close()


def test_a_shared_link_does_not_bring_back_an_old_text_over_a_newer_draft(page_server):
    """After Share, the link's text stayed in the address: a reload (or another problem's work
    then a reload) loaded that old text over the problem, and the next key stroke made it the
    draft, losing what was written since. The fragment is dropped once the text changes."""
    browser, url = page_server
    page, seen = _open(browser, url)
    page.select_option("#problem-select", "q1")
    page.wait_for_selector("#problem-info:not([hidden])")
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  - expr: d(tr(a^T X a))\n    by: theorem-1\n")
    page.click("#share-button")
    page.wait_for_selector("#share-row:not([hidden])")
    shared, link = _editor(page), page.input_value("#share-link")
    assert page.evaluate("location.hash").startswith("#")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  - expr: d(tr(a a^T X))\n    by: theorem-2\n")
    latest = _editor(page)
    assert latest != shared
    assert page.evaluate("location.hash") == ""  # the address no longer names an older text
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert _editor(page) != shared
    page.select_option("#problem-select", "q1")
    _until(page, "() => document.getElementById('problem-select').value === 'q1'")
    assert _editor(page) == latest  # the draft, as it was last written
    # the link itself still gives its text; choosing another problem by hand drops it
    linked, seen2 = _open(browser, url, link[len(url) + 1:])
    _until(linked, "() => document.getElementById('problem-select').value === 'q1'")
    assert _editor(linked) == shared
    linked.select_option("#problem-select", "q2")
    assert linked.evaluate("location.hash") == ""
    assert seen["errors"] == [] == seen2["errors"] and seen["dialogs"] == [] == seen2["dialogs"]
    page.context.close()
    linked.context.close()
