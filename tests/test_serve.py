"""`prove serve`'s API (issue 15): what each endpoint answers, the same verdicts as the command
line, and the guards — size limit, rate limit, deadline, a dead worker, the answer cache, the
security headers, no file outside the package. The page itself is tested in a real browser in
`test_serve_browser.py`."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="prove serve needs the serve extra (starlette)")
pytest.importorskip("uvicorn", reason="prove serve needs the serve extra (uvicorn)")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from prover.serve.app import CSP, Refused, Server, Settings, create_app  # noqa: E402
from prover.serve.guard import AnswerCache, RateLimit  # noqa: E402

from serve_fixtures import HW, ROOT, SLIP, THEOREM5  # noqa: E402
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(workers=1, assignment=HW, rate=0))) as c:
        yield c


def cli_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "prover", "check", str(path), "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


# -- the answers -----------------------------------------------------------------------------
def test_check_answers_what_prove_check_prints(client):
    for path in (ROOT / "proofs" / "theorem5.yaml", ROOT / "examples" / "theorem5-slip.yaml"):
        r = client.post("/api/check", content=path.read_text())
        assert r.status_code == 200
        got, want = r.json(), cli_json(path)
        for f in want["files"]:
            f["path"] = "proof.yaml"
        assert got == want


def test_a_slip_is_invalid_at_its_line_with_a_counterexample(client):
    f = client.post("/api/check", content=SLIP).json()["files"][0]
    assert f["status"] == "invalid"
    bad = [s for s in f["steps"] if s["status"] == "invalid"]
    assert bad and bad[0]["line"] == 14
    assert "counterexample" in bad[0] and bad[0]["counterexample"]["values"]
    assert bad[0].get("suggestion") or bad[0].get("help")


def test_an_unreadable_text_is_an_error_at_its_line_and_column(client):
    f = client.post("/api/check", content=THEOREM5.replace("a a^T X))", "a a^T X)) )", 1)
                    ).json()["files"][0]
    assert f["status"] == "error" or any(s["status"] == "error" for s in f["steps"])
    broken = "theorem: t\nclaim: [\n"
    f = client.post("/api/check", content=broken).json()["files"][0]
    assert f["status"] == "error" and f["line"] >= 1 and f["column"] >= 1


def test_derive_answers_with_a_proof_the_checker_accepts(client):
    r = client.post("/api/derive", json={"function": "tr(a^T X a)", "wrt": "X",
                                         "variables": ["a: n x 1 constant", "X: n x n"]})
    assert r.status_code == 200
    d = r.json()
    assert d["derivative"] == "a a^T" and d["layout"] == "numerator" and d["wrt"] == "X"
    again = client.post("/api/check", content=d["proof"]).json()
    assert again["files"][0]["status"] == "valid"


@pytest.mark.parametrize("body, status, words", [
    ({"function": "tr(X)", "wrt": "Y", "variables": ["X: n x n"]}, 422, "not a declared"),
    ({"function": "tr(X)", "wrt": "X", "variables": ["X n x n"]}, 422, "variables"),
    ({"function": "tr(X)", "wrt": "X"}, 422, "not a declared"),
    ({"function": "tr(X)"}, 400, "'wrt' is missing"),
    ({"function": "tr(X)", "wrt": "X", "variables": "X: n x n"}, 400, "list of strings"),
    ({"function": "tr(X)", "wrt": "X", "shell": "rm"}, 400, "unknown field"),
    ({"function": "tr(X)", "wrt": "X", "variables": ["X: n x n"], "layout": "up"}, 400, "layout"),
])
def test_derive_refuses_a_bad_request_with_a_clear_message(client, body, status, words):
    r = client.post("/api/derive", json=body)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_derive_refuses_what_is_not_json(client):
    r = client.post("/api/derive", content=b"function=tr(X)")
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    r = client.post("/api/derive", content=b"[1, 2]")
    assert r.status_code == 400 and "object" in r.json()["error"]
    r = client.post("/api/check", content=b"\xff\xfe theorem")
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]


# -- assignment mode -------------------------------------------------------------------------
def test_assignment_lists_problems_with_starters_that_keep_the_claim(client):
    a = client.get("/api/assignment").json()
    assert [p["id"] for p in a["problems"]] == ["q1", "q2", "q3"]
    q1 = a["problems"][0]
    assert q1["points"] == 10 and "a a^T" in q1["claim"]
    assert "theorem-4" in q1["allowed_rules"]
    lines = q1["starter"].splitlines()
    first, last = q1["locked_lines"]
    locked = "\n".join(lines[first - 1:last])
    assert "claim:" in locked and "variables:" in locked and "proof:" not in locked
    assert lines[last] == "proof:"


def test_a_correct_submission_gets_full_marks_and_a_changed_claim_gets_none(client):
    alice = (ROOT / "examples" / "class" / "alice" / "q1.yaml").read_text()
    g = client.post("/api/grade", json={"problem": "q1", "text": alice}).json()
    assert (g["status"], g["score"], g["points"]) == ("valid", 10.0, 10.0)
    assert g["check"]["files"][0]["status"] == "valid"
    changed = alice.replace("equals: a a^T", "equals: a^T a")
    g = client.post("/api/grade", json={"problem": "q1", "text": changed}).json()
    assert g["status"] == "rejected" and g["score"] == 0 and "claim" in g["reason"]


def test_a_starter_alone_earns_nothing(client):
    q1 = client.get("/api/assignment").json()["problems"][0]
    g = client.post("/api/grade", json={"problem": "q1", "text": q1["starter"]}).json()
    assert g["status"] == "incomplete" and g["score"] == 0


def test_grading_names_the_problems_it_has(client):
    r = client.post("/api/grade", json={"problem": "q9", "text": THEOREM5})
    assert r.status_code == 404 and "q1, q2, q3" in r.json()["error"]


def test_without_an_assignment_there_is_nothing_to_grade():
    with TestClient(create_app(Settings(workers=1, rate=0))) as c:
        assert c.get("/api/assignment").status_code == 404
        r = c.post("/api/grade", json={"problem": "q1", "text": THEOREM5})
        assert r.status_code == 404 and "assignment mode" in r.json()["error"]
        assert c.get("/api/info").json()["assignment"] is False


# -- what the page needs ---------------------------------------------------------------------
def test_examples_rules_info_and_health(client):
    ex = client.get("/api/examples").json()["examples"]
    assert any(e["name"] == "theorem5" and e["text"] == THEOREM5 for e in ex)
    rules = client.get("/api/rules").json()["rules"]
    assert any(r["id"] == "trace-cyclic" for r in rules)
    assert client.get("/api/info").json()["assignment"] is True
    assert client.get("/healthz").json()["status"] == "ok"


def test_every_answer_carries_the_security_headers(client):
    for r in (client.get("/healthz"), client.get("/nowhere"), client.get("/api/check"),
              client.post("/api/check", content=THEOREM5), client.get("/static/nothing.js"),
              client.post("/api/derive", content=b"{")):
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CSP.split("script-src")[1].split(";")[0]


def test_the_page_and_its_scripts_are_revalidated_after_an_upgrade(client):
    """A browser keeps the page's files but asks again before using them, so a new version of
    the package is never run with an old app.js."""
    for path in ("/", "/static/app.js"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    etag = client.get("/static/app.js").headers["etag"]
    assert client.get("/static/app.js", headers={"if-none-match": etag}).status_code == 304


def test_unknown_places_and_methods_are_json_errors(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and "nothing at /nowhere" in r.json()["error"]
    r = client.get("/api/check")
    assert r.status_code == 405 and "GET" in r.json()["error"]


# -- no file outside the package --------------------------------------------------------------
def test_static_files_never_leave_the_package(client):
    for path in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/work.py",
                 "/static//etc/passwd", "/static/../../../../etc/passwd"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert b"import" not in r.content and b"root:" not in r.content


def test_a_lemma_is_never_looked_up_in_the_working_folder(tmp_path, monkeypatch):
    lemma = tmp_path / "secret.yaml"
    lemma.write_text(THEOREM5.replace("theorem: theorem5", "theorem: secretlemma"))
    text = THEOREM5.replace("theorem: theorem5", "theorem: uses").replace(
        "  - derivative: a a^T\n    by: theorem-4", "  - derivative: a a^T\n    by: theorem-4")
    citing = ("theorem: citing\nvariables:\n  a: {shape: [n, 1], constant: true}\n"
              "  X: {shape: [n, n]}\nclaim:\n  lhs: d(a^T X a)\n  rhs: tr(a a^T dX)\n"
              "proof:\n  - expr: d(a^T X a)\n  - expr: tr(a a^T dX)\n    by: secretlemma\n")
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app(Settings(workers=1, rate=0))) as c:
        f = c.post("/api/check", content=citing).json()["files"][0]
        assert f["status"] != "valid"
        assert "secretlemma" in json.dumps(f)
        assert c.post("/api/check", content=text).json()["files"][0]["status"] == "valid"


# -- the guards -------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_before_it_is_read():
    with TestClient(create_app(Settings(workers=1, rate=0, max_bytes=4096))) as c:
        r = c.post("/api/check", content=b"x" * 5000)
        assert r.status_code == 413 and "4,096" in r.json()["error"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"y" * 1000
        r = c.post("/api/check", content=chunks())
        assert r.status_code == 413
        assert c.post("/api/check", content=THEOREM5).status_code == 200


def test_a_client_over_its_rate_gets_429_and_others_are_served():
    clock = [0.0]
    limit = RateLimit(rate=1.0, burst=3, in_flight=2, clock=lambda: clock[0])
    assert [limit.admit("a") for _ in range(2)] == [None, None]
    assert limit.admit("a") == 1.0  # two in progress: the third waits
    limit.release("a")
    limit.release("a")
    assert limit.admit("a") is None
    limit.release("a")
    wait = limit.admit("a")
    assert wait is not None and wait > 0  # the burst of three is spent
    assert limit.admit("b") is None  # another client is not affected
    clock[0] += 1.0
    assert limit.admit("a") is None  # a token came back


def test_the_rate_limit_answers_429_with_retry_after():
    with TestClient(create_app(Settings(workers=1, rate=0.5, burst=2))) as c:
        codes = [c.post("/api/check", content=THEOREM5).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes[2:]
        r = c.post("/api/check", content=THEOREM5)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "slow down" in r.json()["error"]


def test_work_over_the_deadline_is_refused_and_the_next_request_is_served():
    heavy = "\n".join("- " + p.read_text().replace("\n", "\n  ").rstrip()
                      for p in sorted((ROOT / "proofs" / "ml").glob("*.yaml")))
    with TestClient(create_app(Settings(workers=1, rate=0, timeout=0.2))) as c:
        r = c.post("/api/check", content=heavy)
        assert r.status_code == 422 and "work limit" in r.json()["error"]
        assert c.post("/api/check", content=SLIP).json()["files"][0]["status"] == "invalid"


def test_a_worker_that_dies_fails_its_request_only():
    server = Server(Settings(workers=1, rate=0))
    server.start()
    try:
        async def go():
            with pytest.raises(Refused) as died:
                await server.run(os.abort)
            assert died.value.status == 422
            from prover.serve import work
            return await server.run(work.check, SLIP)
        out = asyncio.run(go())
        assert out["files"][0]["status"] == "invalid"
    finally:
        server.stop()


def test_a_full_queue_says_busy():
    server = Server(Settings(workers=1, rate=0, queue=0))
    server.start()
    try:
        async def go():
            with pytest.raises(Refused) as busy:
                await server.run(len, "x")
            return busy.value
        busy = asyncio.run(go())
        assert busy.status == 503 and busy.headers["Retry-After"]
    finally:
        server.stop()


# -- the answer cache -------------------------------------------------------------------------
def test_the_cache_never_answers_for_different_bytes(client):
    """The cache is keyed by every byte: a one-character slip, a trailing space, the same text
    sent to another endpoint — each is checked afresh."""
    ok = client.post("/api/check", content=THEOREM5).json()
    assert ok["files"][0]["status"] == "valid"
    slip = THEOREM5.replace("tr(a a^T dX)", "tr(a^T a dX)")
    assert client.post("/api/check", content=slip).json()["files"][0]["status"] == "invalid"
    assert client.post("/api/check", content=THEOREM5).json() == ok
    spaced = THEOREM5.replace("by: theorem-2", "by: theorem-5")
    assert client.post("/api/check", content=spaced).json() != ok
    g = client.post("/api/grade", json={"problem": "q1", "text": THEOREM5}).json()
    assert "status" in g and "files" not in g


def test_the_cache_stays_within_its_bounds():
    cache = AnswerCache(size=3, max_bytes=1000)
    for i in range(10):
        cache.put(str(i), 200, b"x" * 50)
    assert cache.get("0") is None and cache.get("9") is not None
    assert len(cache._items) == 3
    cache.put("big", 200, b"x" * 900)  # over a sixteenth of the budget: not kept
    assert cache.get("big") is None


# -- the command ------------------------------------------------------------------------------
def test_serve_refuses_an_unusable_assignment(tmp_path):
    bad = tmp_path / "hw.yaml"
    bad.write_text("assignment: x\nproblems:\n  - id: q1\n    points: 1\n")
    out = subprocess.run([sys.executable, "-m", "prover", "serve", "--assignment", str(bad),
                          "--port", "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "needs claim" in out.stderr and "Traceback" not in out.stderr


def test_serve_checks_the_answer_key_before_serving(tmp_path):
    """A page that scores against a wrong key misleads a whole class: as `prove grade`, the
    server refuses it with the right answer, and serves it only with --trust-key."""
    wrong = tmp_path / "hw.yaml"
    text = Path(HW).read_text()
    assert "equals: a a^T}" in text
    wrong.write_text(text.replace("equals: a a^T}", "equals: 2 a a^T}").replace(
        "from: problems/", f"from: {ROOT / 'examples' / 'problems'}/"))
    out = subprocess.run([sys.executable, "-m", "prover", "serve", "--assignment", str(wrong),
                          "--port", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "answer key is wrong" in out.stderr and "q1" in out.stderr
    assert "a a^T" in out.stderr and "Traceback" not in out.stderr
    proc = subprocess.Popen([sys.executable, "-m", "prover", "serve", "--assignment", str(wrong),
                             "--trust-key", "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        said = []
        for line in proc.stderr:
            said.append(line)
            if "the playground is at" in line or len(said) > 50:
                break
        assert any("--trust-key" in x and "q1" in x for x in said), said
        assert any("the playground is at" in x for x in said), said
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_on_a_port_in_use_is_exit_2():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "prover", "serve", "--port", str(port),
                              "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "address already in use" in out.stderr and "Traceback" not in out.stderr


def test_serve_without_the_extra_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "uvicorn.py"
    blocker.write_text("raise ImportError('blocked for this test', name='uvicorn')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "prover", "serve"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 2
    assert "[serve]" in out.stderr and "Traceback" not in out.stderr
