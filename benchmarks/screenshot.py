"""The README's picture of the playground: docs/img/playground.png.

    python benchmarks/screenshot.py [--out docs/img/playground.png]

Starts `prove serve` on a free port of 127.0.0.1 (8765-8799), opens the page in Debian's headless
Chromium through Playwright (as tests/test_serve_browser.py does: pip install playwright,
apt-get install chromium; Playwright's own browser download is not used), loads Theorem 5 with
one slip typed in — a stray factor 2 in the answer, `derivative: 2 a a^T` — waits for the verdicts, and saves a
screenshot of the page. Exit 2 when Playwright or Chromium is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    for port in range(8765, 8800):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 8765-8799")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "playground.png"))
    ap.add_argument("--chromium", default=os.environ.get("PROVE_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright for Python: pip install playwright", file=sys.stderr)
        return 2
    if not os.access(args.chromium, os.X_OK):
        print(f"needs Chromium at {args.chromium}: apt-get install -y chromium", file=sys.stderr)
        return 2

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "prover", "serve", "--port", str(port),
                             "--workers", "1", "--log-level", "warning"], cwd=ROOT,
                            start_new_session=True)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("prove serve did not start") from None
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860},
                                    device_scale_factor=1)
            page.goto(url + "/")
            page.wait_for_selector("#status[data-state=valid]", timeout=30_000)
            # the slip: the classic stray factor 2 in the answer (one failing line)
            page.locator(".cm-line", has_text="- derivative: a a^T").click()
            page.keyboard.press("End")
            for _ in range(len("a a^T")):
                page.keyboard.press("ArrowLeft")
            page.keyboard.type("2 ")
            page.wait_for_selector("#status[data-state=invalid]", timeout=30_000)
            page.wait_for_selector(".step-note .matrix-wrap")
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(300)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
