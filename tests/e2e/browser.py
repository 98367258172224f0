"""Headless Chromium for the e2e tests, driven by npm playwright-core (tests/e2e/browser/driver.mjs)
in a Node process this class starts and stops by PID: navigate, click, type, evaluate, run axe-core
in the page, and see every request, dialog and console line the page caused."""
import base64
import json
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).parent / "browser"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class Chromium:
    def __init__(self):
        for needed in (HERE / "node_modules" / "playwright-core", HERE / "node_modules" / "axe-core"):
            if not needed.exists():
                raise AssertionError(f"{needed} is missing: run `npm ci --prefix tests/e2e/browser` (scripts/install-deps does)")
        chromium = shutil.which("chromium")
        if not chromium:
            raise AssertionError("chromium is not installed (scripts/install-deps installs it)")
        node = shutil.which("node")
        if not node:
            raise AssertionError("node is not installed (scripts/install-deps installs it)")
        self.proc = subprocess.Popen([node, str(HERE / "driver.mjs")], cwd=HERE, text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={"PATH": "/usr/bin:/bin", "SINETTI_CHROMIUM": chromium, "HOME": "/tmp"})

    def call(self, command, **args):
        self.proc.stdin.write(json.dumps({"command": command, **args}) + "\n")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the browser driver ended (exit {self.proc.wait()}) during {command}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"{command} {args}: {answer['error']}")
        return answer["value"]

    def navigate(self, url):
        return self.call("navigate", url=url)

    def evaluate(self, expression):
        return self.call("evaluate", expression=expression)

    def click_and_wait(self, selector):
        """Clicks like a person (the element must be there) and waits for the page that follows."""
        return self.call("click", selector=selector)

    def type_into(self, selector, text):
        self.call("type", selector=selector, text=text)

    def set_files(self, selector, files):
        """Chooses files for the file input `selector`: [(name, mime type, bytes)]."""
        self.call("setFiles", selector=selector,
                  files=[{"name": n, "mimeType": t, "base64": base64.b64encode(d).decode()} for n, t, d in files])

    def press_tab(self):
        self.call("press", key="Tab")

    def axe_violations(self, tags=WCAG_21_AA):
        """axe-core's WCAG violations on the current page: [(rule, impact, [selectors])]."""
        return [tuple(v) for v in self.call("axe", tags=tags)]

    def events(self):
        """Requests (URLs), dialogs and console lines since the last call."""
        return self.call("events")

    def frames(self):
        return self.call("frames")

    def screenshot(self, path):
        self.call("screenshot", path=str(path))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"command": "close"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if not pipe.closed:
                pipe.close()
