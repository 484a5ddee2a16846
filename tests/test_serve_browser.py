"""`prove serve`'s playground page in a real browser (issue 15): Debian's Chromium, headless,
driven by Playwright, against the real server started as `prove serve` in a subprocess.

What a student does: types Theorem 5 with a slip and sees that line marked invalid with its
counterexample, fixes it and sees it valid; derives tr(a^T X a) and loads the proof; shares a
link and opens it; in assignment mode, picks a problem whose claim cannot be edited and gets full
marks for a correct proof. And what must never happen: a title or message that holds HTML being
run as HTML, a Content-Security-Policy violation, a request to another origin.

Skipped, with the reason, where Playwright (pip install playwright) or Chromium (apt-get install
chromium) is missing; Playwright's own browser download is never used.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THEOREM5 = (ROOT / "proofs" / "theorem5.yaml").read_text(encoding="utf-8")
HW = ROOT / "examples" / "hw.yaml"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLIP_FROM, SLIP_TO = "d(tr(a a^T X))", "d(tr(a^T a X))"  # tr(aᵀXa) → tr(aᵀaX): false
WAIT = 20_000  # ms: the longest wait for one answer (the first check warms a worker up)

pytest.importorskip("starlette", reason="prove serve needs the serve extra (starlette)")
pytest.importorskip("uvicorn", reason="prove serve needs the serve extra (uvicorn)")
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser tests need Playwright for Python (pip install playwright; its browser "
    "download is not used)")


from serve_fixtures import chromium  # noqa: E402

CHROMIUM = chromium()
if CHROMIUM is None:
    pytest.skip("the browser tests need Chromium at /usr/bin/chromium (apt-get install -y "
                "chromium), or its path in PROVE_CHROMIUM", allow_module_level=True)


# -- the server ----------------------------------------------------------------------------------
def _free_port() -> int:
    ports = list(range(8765, 8800))
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`prove serve` in a subprocess (its own process group) on a free port of 127.0.0.1."""

    def __init__(self, *options: str):
        self.proc = None
        for _ in range(5):  # a port taken between the probe and the bind: another one
            self.port = _free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prover", "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", "2", "--rate", "0", "--log-level", "warning",
                 *options],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True)
            if self._wait_healthy(30):
                return
            self.stop()
        raise RuntimeError("prove serve did not start: " + self.output)

    def _wait_healthy(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if json.load(r).get("status") == "ok":
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    @property
    def output(self) -> str:
        if self.proc is None or self.proc.poll() is None or self.proc.stdout is None:
            return ""
        return self.proc.stdout.read().decode("utf-8", "replace")[-2000:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # uvicorn stops its workers on the way out
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test started
            self.proc.wait(5)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def hw_server():
    s = Server("--assignment", str(HW))
    yield s
    s.stop()


# -- the browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """What a page reports that it must not: console errors (a CSP violation is one), uncaught
    exceptions, dialogs (an injected alert), requests to another origin."""

    def __init__(self, page, origin: str):
        self.console, self.errors, self.dialogs, self.foreign, self.urls = [], [], [], [], []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        self.origin = origin

    def _dialog(self, d) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def _request(self, r) -> None:
        self.urls.append(r.url)
        if not (r.url.startswith(self.origin + "/") or r.url.startswith("data:")):
            self.foreign.append(r.url)

    def csp_violations(self) -> list[str]:
        return [t for _, t in self.console if "Content Security Policy" in t]

    def assert_clean(self, expected: tuple[str, ...] = ()) -> None:
        """Nothing went wrong; `expected`: console errors that were asked for (the browser logs
        a request answered 4xx, e.g. "status of 422")."""
        assert self.csp_violations() == []
        assert self.errors == []
        assert [t for kind, t in self.console
                if kind == "error" and not any(e in t for e in expected)] == []
        assert self.dialogs == []
        assert self.foreign == []


def open_page(browser, server, fragment: str = ""):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    watch = Watch(page, server.url)
    page.goto(server.url + "/" + fragment)
    page.wait_for_selector("body[data-ready]")
    return page, watch


def editor_text(page) -> str:
    return page.evaluate("""() => {
        const root = document.getElementById('editor').shadowRoot;
        return [...root.querySelectorAll('.cm-line')].map((l) => l.textContent).join('\\n');
    }""")


def replace_all(page, text: str) -> int:
    """Select the whole editor and put `text` there, as one input (a paste); the number of
    answers shown before (for `wait_status`)."""
    n = checks(page)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    return n


def wait_until(page, js: str, timeout: float = WAIT / 1000) -> None:
    """Poll `js` (a function's source) until it is true; page.wait_for_function would evaluate
    a string, which the page's CSP (no 'unsafe-eval') refuses."""
    end = time.monotonic() + timeout
    while not page.evaluate(js):
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + js)
        page.wait_for_timeout(50)


def checks(page) -> int:
    """How many check answers the page has shown so far."""
    return int(page.get_attribute("#status", "data-checks") or 0)


def wait_status(page, state: str, since: int = -1) -> None:
    """Wait until the status bar says `state` for an answer shown after the first `since`."""
    wait_until(page, f"""() => {{
        const s = document.getElementById('status');
        return s.dataset.state === '{state}' && Number(s.dataset.checks || 0) > {since};
    }}""")


def line(page, text: str):
    """The editor line that holds `text` (exactly one)."""
    loc = page.locator(".cm-line", has_text=text)
    assert loc.count() == 1, (text, loc.count())
    return loc


# -- the tests -----------------------------------------------------------------------------------
def test_a_slip_is_marked_invalid_with_its_counterexample_and_fixing_it_makes_it_valid(
        browser, server):
    page, watch = open_page(browser, server)
    wait_status(page, "valid")  # Theorem 5, loaded on a fresh visit
    assert "theorem: theorem5" in editor_text(page)

    n = replace_all(page, THEOREM5.replace(SLIP_FROM, SLIP_TO))
    wait_status(page, "invalid", n)
    slip = line(page, "expr: " + SLIP_TO)
    assert slip.get_attribute("data-verdict") == "invalid"
    assert slip.get_attribute("data-step") == "2"
    lineno = THEOREM5.splitlines().index("  - expr: " + SLIP_FROM) + 1
    mark = page.locator(f".verdict-mark[data-line='{lineno}']")
    assert mark.get_attribute("data-status") == "invalid" and mark.inner_text() == "✗"
    note = page.locator(".step-note.invalid").first
    text = note.inner_text()
    assert "step 2 invalid" in text and "this step is false" in text
    assert "Counterexample at n = 2" in text
    assert {b.get_attribute("data-var") for b in note.locator(".binding[data-var]").all()} == {
        "X", "a", "dX"}
    assert note.locator(".cex-sides .lhs").count() == 1 and note.locator(".cex-sides .rhs").count() == 1
    assert "line before" in text and "this line" in text
    assert "Hint:" in text and "d(tr(a a^T X))" in text  # what the cited rule gives
    assert "invalid" in page.inner_text("#status-verdict")
    assert "0 valid, 1 invalid" in page.inner_text("#status-detail")

    # fix it by typing: select the slip's a^T a and type a a^T
    n = checks(page)
    slip.click()
    page.keyboard.press("End")
    for _ in range(len("a^T a X))")):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.type("a a^T X))")
    wait_status(page, "valid", n)
    assert line(page, "expr: " + SLIP_FROM).get_attribute("data-verdict") == "valid"
    assert page.locator(".step-note").count() == 0
    assert page.locator(".verdict-mark[data-status=valid]").count() == 8
    assert page.inner_text("#status-verdict") == "valid: 8 steps"
    watch.assert_clean()
    page.context.close()


def test_derive_answers_and_loads_its_proof(browser, server):
    page, watch = open_page(browser, server)
    page.fill("#derive-function", "tr(a^T X a)")
    page.fill("#derive-wrt", "X")
    page.fill("#derive-variables", "a: n x 1 constant\nX: n x n")
    page.select_option("#derive-layout", "numerator")
    page.click("#derive-button")
    page.wait_for_selector("#derive-derivative")
    assert page.inner_text("#derive-derivative") == "a a^T"
    page.click("#derive-load")
    wait_until(page, "() => document.getElementById('status').dataset.state === 'valid' && "
               "document.getElementById('example-select').value === ''")
    text = editor_text(page)
    assert "derivative: tr(a^T X a)" in text and "- derivative: a a^T" in text
    # a function it cannot derive: the reason, as text
    page.fill("#derive-function", "tr(a^T Y a)")
    page.click("#derive-button")
    page.wait_for_selector("#derive-error:not([hidden])")
    assert page.inner_text("#derive-error")
    assert page.locator("#derive-result").is_hidden()
    watch.assert_clean(expected=("status of 422",))
    page.context.close()


def test_the_share_link_round_trips_and_stays_in_the_fragment(browser, server):
    page, watch = open_page(browser, server)
    wait_status(page, "valid")
    text = THEOREM5.replace("Derivative of a quadratic form", "Shared — ∂ of aᵀXa, ünïcödé")
    n = replace_all(page, text)
    wait_status(page, "valid", n)
    page.click("#share-button")
    page.wait_for_selector("#share-row:not([hidden])")
    link = page.input_value("#share-link")
    assert link.startswith(server.url + "/#") and ("z=" in link or "proof=" in link)
    page.context.close()

    other, watch2 = open_page(browser, server, link[len(server.url) + 1:])
    wait_status(other, "valid")
    assert editor_text(other) == text
    assert all("#" not in u and "z=" not in u and "proof=" not in u for u in watch2.urls)
    watch.assert_clean()
    watch2.assert_clean()
    other.context.close()


def test_an_unjustified_step_says_which_rule_would_justify_it(browser, server):
    page, watch = open_page(browser, server)
    wait_status(page, "valid")
    n = replace_all(page, THEOREM5.replace("    by: diff-constant", "    by: algebra"))
    wait_status(page, "invalid", n)
    step = line(page, "expr: tr(0 X + a a^T dX)")
    assert step.get_attribute("data-verdict") == "unjustified"
    assert page.locator(".verdict-mark[data-status=unjustified]").inner_text() == "?"
    note = page.locator(".step-note.unjustified")
    assert "step 5 unjustified" in note.inner_text()
    assert "Would justify it: diff-constant" in note.inner_text()
    assert "1 unjustified" in page.inner_text("#status-verdict")
    watch.assert_clean()
    page.context.close()


def test_rules_reference_is_one_click_away_and_filters(browser, server):
    page, watch = open_page(browser, server)
    page.click("#rules-button")
    page.wait_for_selector("#rules-list .rule")
    total = page.locator("#rules-list .rule").count()
    assert total > 20
    page.fill("#rules-filter", "cyclic")
    assert 0 < page.locator("#rules-list .rule").count() < total
    assert page.locator("#rules-list .rule[data-id=trace-cyclic]").count() == 1
    page.keyboard.press("Escape")
    assert not page.locator("#rules-dialog").is_visible()
    assert page.locator("#assignment-panel").is_hidden()  # not in assignment mode
    # and in the editor, rule names complete after by:
    line(page, "by: algebra").click()
    page.keyboard.press("End")
    for _ in range(len("algebra")):
        page.keyboard.press("Backspace")
    page.keyboard.type("trace-cy")
    page.wait_for_selector(".cm-tooltip-autocomplete")
    assert "trace-cyclic" in page.inner_text(".cm-tooltip-autocomplete")
    watch.assert_clean()
    page.context.close()


def test_markup_in_a_proof_stays_text(browser, server):
    page, watch = open_page(browser, server)
    wait_status(page, "valid")
    xss = "<img src=x onerror=alert(1)>"
    text = THEOREM5.replace("title: Derivative of a quadratic form", f'title: "{xss}"')
    text = text.replace("    by: algebra", f'    by: "{xss}"')  # an unknown rule, quoted back
    n = replace_all(page, text)
    wait_status(page, "invalid", n)
    note = page.locator(".step-note.error").first
    assert f"unknown rule '{xss}'" in note.inner_text()  # quoted back: shown literally
    assert line(page, f'title: "{xss}"').inner_text() == f'title: "{xss}"'
    # a file-level error names a key that is markup: shown at its line, as text
    bad = '"<b onmouseover=alert(2)>k</b>": 1'
    n = replace_all(page, THEOREM5.replace("proof:\n", bad + "\nproof:\n"))
    wait_status(page, "error", n)
    assert page.locator(".verdict-mark[data-status=error]").count() == 1
    assert "<b onmouseover=alert(2)>k</b>" in page.locator(".step-note.error").inner_text()
    assert "unknown key" in page.inner_text("#status-verdict")
    page.evaluate("document.querySelectorAll('*').forEach((e) => e.dispatchEvent("
                  "new MouseEvent('mouseover', {bubbles: true})))")
    injected = page.evaluate("""() => {
        const root = document.getElementById('editor').shadowRoot;
        const q = 'img, [onerror], [onmouseover]';
        return document.querySelectorAll(q).length + root.querySelectorAll(q).length;
    }""")
    assert injected == 0
    page.wait_for_timeout(200)
    watch.assert_clean()  # no dialog fired
    page.context.close()


def test_assignment_mode_locks_the_claim_and_scores_a_correct_proof(browser, hw_server):
    page, watch = open_page(browser, hw_server)
    assert page.locator("#assignment-panel").is_visible()
    page.select_option("#problem-select", "q1")
    page.wait_for_selector("#problem-info:not([hidden])")
    assert page.inner_text("#problem-claim") == "∂(a^T X a)/∂X = a a^T"
    before = editor_text(page)
    assert "theorem: q1" in before and before.rstrip().endswith("- expr: d(a^T X a)")
    assert page.locator(".lock-mark").count() >= 9

    # the claim cannot be edited: typing into it, or deleting everything, changes nothing there
    line(page, "equals: a a^T").click()
    page.keyboard.press("End")
    page.keyboard.type(" + X")
    page.keyboard.press("Backspace")
    assert editor_text(page) == before
    assert page.inner_text("#status-verdict").startswith("The assignment's claim")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    assert editor_text(page) == before

    # a line typed just below the locked lines is the student's, and stays editable
    line(page, "proof:").click()
    page.keyboard.press("Home")
    page.keyboard.insert_text("# my steps\n")  # (Enter would indent the next line)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("End")
    page.keyboard.type(":")
    assert editor_text(page) == before.replace("\nproof:", "\n# my steps:\nproof:")

    # a correct proof below it gets full marks
    rest = THEOREM5.split("  - expr: d(a^T X a)\n", 1)[1]
    n = checks(page)
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(rest)
    page.wait_for_selector("#grade-result:not([hidden])")
    wait_until(page, "() => document.getElementById('grade-score').textContent === '10 / 10'")
    assert page.inner_text("#grade-status") == "valid"
    assert page.evaluate("document.getElementById('grade-feedback').textContent").startswith(
        "q1: ")
    wait_status(page, "valid", n)
    assert page.locator(".verdict-mark[data-status=valid]").count() == 8
    done = editor_text(page)

    # the draft survives a reload; "Start over" goes back to the starter
    page.reload()
    page.wait_for_selector("body[data-ready]")
    page.select_option("#problem-select", "q1")
    wait_until(page, "() => document.getElementById('grade-score').textContent === '10 / 10'")
    assert editor_text(page) == done
    page.click("#start-over")
    assert editor_text(page) == before
    watch.assert_clean()
    page.context.close()


def test_no_csp_violation_with_the_servers_policy(browser, hw_server):
    """The page under the server's own Content-Security-Policy, every part of it used: the
    editor (CodeMirror's generated styles), the dialog, a failing step's note."""
    page, watch = open_page(browser, hw_server)
    csp = page.evaluate("fetch('/').then((r) => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
    wait_status(page, "valid")
    page.click("#rules-button")
    page.wait_for_selector("#rules-list .rule")
    page.keyboard.press("Escape")
    n = replace_all(page, THEOREM5.replace(SLIP_FROM, SLIP_TO))
    wait_status(page, "invalid", n)
    page.wait_for_selector(".step-note .matrix")
    # CodeMirror's styles are in force (the gutter has its background, lines their font)
    styled = page.evaluate("""() => {
        const root = document.getElementById('editor').shadowRoot;
        return getComputedStyle(root.querySelector('.cm-gutters')).display === 'flex'
            && root.adoptedStyleSheets.length > 0;
    }""")
    assert styled
    assert watch.csp_violations() == []
    watch.assert_clean()
    page.context.close()
