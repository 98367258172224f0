"""The portal in a real browser (Debian's headless Chromium driven by playwright-core) with axe-core's
WCAG 2.1 A and AA rules on every page a recipient meets: the landing page, the language switch,
ordering and typing the PIN (with a wrong one first, whose error must be tied to the field), the
message, a reply, the accessibility statement and the page for a dead link. Keyboard: the first
Tab reaches the skip link. Pages work without script (the CSP forbids all of it), so the browser
gets there by clicking and typing only."""
import http.server
import re
import threading
import time
import unittest
from email.message import EmailMessage

from browser import Chromium
from portal_test import PortalBase


class InBrowser(PortalBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.chrome = Chromium()
        except Exception:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.chrome.close()
        super().tearDownClass()

    def url(self, path):
        return f"https://127.0.0.1:{self.portal}{path}"

    def assert_accessible(self, what):
        c = self.chrome
        self.assertEqual(c.axe_violations(), [], what)
        self.assertIn(c.evaluate("document.documentElement.lang"), ("fi", "sv", "en"), what)
        self.assertTrue(c.evaluate("document.title"), what)
        self.assertFalse(c.evaluate("document.scripts.length"), what)

    def test_a_recipient_unlocks_reads_and_replies_without_accessibility_violations(self):
        c = self.chrome
        link = self.links["asiakas@example.net"]
        sms_before = len(self.sms_lines())
        c.navigate(self.url(link))
        self.assert_accessible("landing")
        c.press_tab()
        self.assertEqual(c.evaluate("document.activeElement.className"), "skip")
        c.click_and_wait("a[hreflang=sv]")
        self.assertEqual(c.evaluate("document.documentElement.lang"), "sv")
        self.assertIn("Skyddat meddelande", c.evaluate("document.body.innerText"))
        self.assert_accessible("landing in Swedish")
        c.click_and_wait("a[hreflang=en]")
        self.assertEqual(len(self.sms_lines()), sms_before, "looking sends nothing")

        c.click_and_wait("form[action*='/pin'] button")
        pin = re.search(r"\b(\d{6})\b", self.wait_for_sms(1, "+358401234567")["text"]).group(1)
        self.assert_accessible("code sent")
        c.type_into("#pin", "000000" if pin != "000000" else "111111")
        c.click_and_wait("form[action*='/unlock'] button")
        self.assertEqual(c.evaluate("document.getElementById('pin').getAttribute('aria-describedby')"), "pin-hint pin-error")
        self.assertEqual(c.evaluate("document.getElementById('pin').getAttribute('aria-invalid')"), "true")
        self.assertIn("The code is wrong", c.evaluate("document.getElementById('pin-error').innerText"))
        self.assert_accessible("wrong code")
        c.type_into("#pin", pin)
        c.click_and_wait("form[action*='/unlock'] button")
        self.assertTrue(c.evaluate("location.pathname").endswith("/read"), c.evaluate("location.href"))
        self.assertIn("päätös on liitteenä", c.evaluate("document.body.innerText"))
        self.assert_accessible("the message")

        c.type_into("#reply-text", "Kiitos, sain päätöksen.")
        c.click_and_wait("form[action*='/reply'] button")
        self.assertIn("replied=1", c.evaluate("location.search"))
        self.assert_accessible("reply sent")

        c.navigate(self.url("/accessibility?lang=fi"))
        self.assert_accessible("accessibility statement")
        c.navigate(self.url("/m/" + "A" * 43))
        self.assert_accessible("dead link")

    def test_the_checker_sees_a_violation(self):
        c = self.chrome
        c.navigate(self.url("/accessibility?lang=en"))
        c.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', "
                   "'<img src=\"/static/portal.css\"><a href=\"/\"></a>')")
        rules = {v[0] for v in c.axe_violations()}
        self.assertIn("image-alt", rules)
        self.assertIn("link-name", rules)


HOSTILE = """<html><head>
<meta http-equiv="refresh" content="0;url={canary}/refresh">
<link rel="stylesheet" href="{canary}/style.css">
<script>fetch("{canary}/script"); alert("script");</script>
</head><body onload="fetch('{canary}/onload')">
<p>Hei, päätös on valmis.</p>
<img src="{canary}/remote.png" alt="etäkuva">
<img src="x" onerror="fetch('{canary}/onerror')" alt="">
<a href="javascript:fetch('{canary}/javascript')">avaa</a>
<div style="background-image: url({canary}/background.png)">tausta</div>
<iframe src="{canary}/frame"></iframe>
<object data="{canary}/object"></object>
<form action="{canary}/form"><button>lähetä</button></form>
<svg><script>fetch("{canary}/svg")</script><image href="{canary}/svg.png"/></svg>
</body></html>"""


class Canary(http.server.BaseHTTPRequestHandler):
    """Records every request: anything the message's HTML makes the browser fetch."""
    hits = []

    def do_GET(self):
        Canary.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"fetched")

    do_POST = do_GET

    def log_message(self, *args):
        pass


class HostileHtml(PortalBase):
    """An HTML message with script, event handlers, a javascript: link, a refresh, and remote
    images, styles, frames and objects (all pointing at a loopback server that counts what is
    fetched), read in the browser: no script runs, nothing remote loads, and the text is there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.canary = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
        threading.Thread(target=cls.canary.serve_forever, daemon=True).start()
        canary = f"http://127.0.0.1:{cls.canary.server_address[1]}"
        msg = EmailMessage()
        msg["From"] = "Neuvonta <neuvonta-tiimi@intra.example.fi>"
        msg["To"] = "kolmas@example.net"
        msg["Subject"] = "[suojattu] HTML"
        msg.set_content("Hei, päätös on valmis.\n")
        msg.add_alternative(HOSTILE.format(canary=canary), subtype="html")
        cls.html_link = cls.send_mail(msg, {"kolmas@example.net": "0405556667"})["kolmas@example.net"]
        try:
            cls.chrome = Chromium()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "chrome", None):
            cls.chrome.close()
        cls.canary.shutdown()
        cls.canary.server_close()
        super().tearDownClass()

    def test_no_script_runs_and_nothing_remote_loads(self):
        c = self.chrome
        origin = f"https://127.0.0.1:{self.portal}"
        c.navigate(origin + self.html_link)
        c.click_and_wait("form[action*='/pin'] button")
        pin = re.search(r"\b(\d{6})\b", self.wait_for_sms(1, "+358405556667")["text"]).group(1)
        c.type_into("#pin", pin)
        c.events()
        c.click_and_wait("form[action*='/unlock'] button")
        self.assertTrue(c.evaluate("location.pathname").endswith("/read"), c.evaluate("location.href"))
        time.sleep(2)  # a refresh or a late handler would have fired by now
        frame = c.evaluate("(() => { const f = document.querySelector('iframe'); "
                           "return f ? [f.getAttribute('sandbox'), f.srcdoc] : null; })()")
        self.assertIsNotNone(frame, "the HTML body is shown in a frame")
        sandbox, srcdoc = frame
        self.assertNotIn("allow-scripts", sandbox)
        self.assertIn("päätös on valmis", srcdoc)
        events = c.events()
        self.assertEqual(Canary.hits, [], "the message's HTML made the browser fetch something")
        self.assertEqual(events["dialogs"], [])
        outside = [u for u in events["requests"] if not (u.startswith(origin + "/") or u.startswith(("data:", "about:")))]
        self.assertEqual(outside, [])
        self.assertTrue(c.evaluate("location.pathname").endswith("/read"), "the page stayed where it was")
        self.assertEqual(c.axe_violations(), [], "the read page with an HTML body")

    def test_the_canary_sees_a_fetch(self):
        # The check above can fail: a page that does fetch the canary is seen.
        c = self.chrome
        before = len(Canary.hits)
        c.navigate(f"http://127.0.0.1:{self.canary.server_address[1]}/direct")
        self.assertIn("/direct", Canary.hits[before:])


if __name__ == "__main__":
    unittest.main()
