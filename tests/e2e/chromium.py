"""Headless Chromium driven over the DevTools protocol (websocket-client from Debian's
python3-websocket): navigate, click, type, evaluate, and run axe-core in the page. Started on a
debugging port the kernel picks, with its own profile directory; stopped by PID."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

AXE = pathlib.Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class Chromium:
    def __init__(self, width=1000, height=900):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise AssertionError("chromium is not installed (scripts/install-deps installs it)")
        self.profile = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = pathlib.Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise AssertionError("chromium did not open its debugging port")
            time.sleep(0.05)
        port = int(active.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.events = []
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for_event(self, name, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == name:
                    del self.events[: i + 1]
                    return e
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} event")
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            finally:
                self.ws.settimeout(30)
            if "method" in msg:
                self.events.append(msg)

    def navigate(self, url):
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression, await_promise=False):
        r = self.send("Runtime.evaluate", expression=expression, awaitPromise=await_promise, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click_and_wait(self, selector):
        """Clicks like a person (the element must be there) and waits for the page that follows."""
        self.events.clear()
        found = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                              f"if (!e) return false; e.click(); return true; }})()")
        if not found:
            raise AssertionError(f"nothing matches {selector} on {self.evaluate('location.href')}")
        self.wait_for_event("Page.loadEventFired")

    def type_into(self, selector, text):
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        for ch in text:
            self.send("Input.dispatchKeyEvent", type="keyDown", text=ch, key=ch)
            self.send("Input.dispatchKeyEvent", type="keyUp", key=ch)

    def press_tab(self):
        self.send("Input.dispatchKeyEvent", type="keyDown", key="Tab", code="Tab", windowsVirtualKeyCode=9)
        self.send("Input.dispatchKeyEvent", type="keyUp", key="Tab", code="Tab", windowsVirtualKeyCode=9)

    def axe_violations(self, tags=WCAG_21_AA):
        """axe-core's WCAG violations on the current page: [(rule, impact, [selectors])]."""
        if not AXE.exists():
            raise AssertionError(f"{AXE} is missing: run `npm ci --prefix tests/e2e/browser` (scripts/install-deps does)")
        # DevTools evaluations are not subject to the page's CSP, which forbids every script.
        self.evaluate(AXE.read_text())
        result = self.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: %s}, iframes: false})"
            ".then(r => r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' '))]))" % json.dumps(tags),
            await_promise=True)
        return [tuple(v) for v in result]

    def screenshot(self, path):
        import base64
        data = self.send("Page.captureScreenshot", format="png")["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.profile.cleanup()
