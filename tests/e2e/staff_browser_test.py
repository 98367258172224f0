"""The staff pages in a real browser (Debian's headless Chromium driven by playwright-core) with
axe-core's WCAG 2.1 A and AA rules, in Finnish, Swedish and English: the staff sign-in offer, the
"Open" button, the message as its claimant reads it, and the page another member (here a team
lead, with the release and reassign forms) sees for a message someone else claimed. The browser
signs in itself at the real staff IdP (npm oidc-provider) and presses the buttons; pages work
without script. The portal's public URL is its real loopback address here, so that the provider's
redirect brings the browser back."""
import os
import re
import smtplib
import tempfile
import time
import unittest

from browser import Chromium
from mail_support import (NEUVONTA, NEUVONTA_BOX, PUBLIC_URL, GatewayProcess, MailServer, gateway_config, queue_id,
                          unique)
from staff_support import StaffBrowser, free_port, staff_oidc_config, start_staff_provider, write_staff_secret

LANGUAGES = ("fi", "sv", "en")
ACCOUNTS = {
    "liisa": {"sub": "emp-liisa", "claims": {"name": "Liisa Lehto", "email": "liisa.lehto@intra.example.fi",
                                             "groups": ["tyollisyys-neuvonta", "tyollisyys-neuvonta-leads"]}},
    "bertil": {"sub": "emp-bertil", "claims": {"name": "Bertil Berg", "email": "bertil.berg@intra.example.fi",
                                               "groups": ["tyollisyys-neuvonta"]}},
}


class StaffPagesInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        cls.server = MailServer(os.path.join(root, "received"))
        os.mkdir(os.path.join(root, "gw"))
        staff_port, portal_port = free_port(), free_port()
        cls.public = f"https://127.0.0.1:{portal_port}"
        text = gateway_config(cls.server.port)
        for old, new in ((f'public_url: "{PUBLIC_URL}"', f'public_url: "{cls.public}"'),
                         ('portal:\n  address: "127.0.0.1:0"', f'portal:\n  address: "127.0.0.1:{portal_port}"'),
                         ("    staff_group: tyollisyys-neuvonta\n",
                          "    staff_group: tyollisyys-neuvonta\n    lead_group: tyollisyys-neuvonta-leads\n")):
            assert old in text, old
            text = text.replace(old, new, 1)
        cls.gw = GatewayProcess(os.path.join(root, "gw"), text + staff_oidc_config(staff_port),
                                before_start=write_staff_secret)
        try:
            cls.inbound = cls.gw.listening("inbound")
            cls.portal = cls.gw.listening("portal")
            cls.gw.started()
            cls.idp = start_staff_provider(staff_port, cls.public, ACCOUNTS)
        except Exception:
            cls.gw.stop()
            cls.server.stop()
            raise
        try:
            cls.chrome = Chromium()
        except Exception:
            cls.idp.stop()
            cls.gw.stop()
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.chrome.close()
        cls.idp.stop()
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    def url(self, path):
        return f"https://127.0.0.1:{self.portal}{path}"

    def assert_accessible(self, what):
        c = self.chrome
        self.assertEqual(c.axe_violations(), [], what)
        self.assertIn(c.evaluate("document.documentElement.lang"), LANGUAGES, what)
        self.assertTrue(c.evaluate("document.title"), what)
        self.assertFalse(c.evaluate("document.scripts.length"), what)

    def in_every_language(self, path, what, expect=None):
        for lang in LANGUAGES:
            self.chrome.navigate(self.url(f"{path}?lang={lang}"))
            self.assertEqual(self.chrome.evaluate("document.documentElement.lang"), lang, what)
            if expect:
                self.assertTrue(self.chrome.evaluate(f"!!document.querySelector({expect!r})"), f"{what} ({lang})")
            self.assert_accessible(f"{what} ({lang})")

    def write_to_team(self):
        """A citizen's enquiry with a personal identity code: protected for the team; its token."""
        secret = unique("enquiry-secret")
        data = (f"From: <asiakas@example.com>\r\nTo: <{NEUVONTA}>\r\nSubject: Kysymys\r\n"
                f"Message-ID: <{unique('id')}@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Henkilötunnukseni on 010594Y9032. {secret}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=60) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("asiakas@example.com")[0], 250)
            self.assertEqual(s.rcpt(NEUVONTA)[0], 250)
            code, reply = s.data(data)
            self.assertEqual(code, 250, reply)
        qid = queue_id(reply)
        note = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and qid in m.text(),
                                    what="the team notification")[0]
        m = re.search(re.escape(self.public) + r"/staff/m/([A-Za-z0-9_-]{43})\?lang=", note.text())
        self.assertIsNotNone(m, note.text())
        return m.group(1), secret

    def wait_for_path(self, path):
        """The sign-in ends in a chain of redirects and one same-site step; wait until it lands."""
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.chrome.evaluate("document.readyState === 'complete' && location.pathname") == path:
                    return
            except AssertionError as e:  # evaluated while the page navigated on
                if "context was destroyed" not in str(e):
                    raise
            self.assertLess(time.monotonic(), deadline, "the sign-in did not come back to " + path)
            time.sleep(0.1)

    def test_staff_pages_have_no_accessibility_violations(self):
        c = self.chrome
        token, secret = self.write_to_team()
        page = f"/staff/m/{token}"
        self.in_every_language(page, "staff sign-in offer", "a[href^='/auth/staff/start']")

        # The browser signs in at the staff IdP's login form and comes back to the message's page.
        c.navigate(self.url(page + "?lang=fi"))
        c.click_and_wait("a[href^='/auth/staff/start']")
        c.type_into("#login", "liisa")
        c.click_and_wait("button[type=submit]")
        self.wait_for_path(page)
        self.in_every_language(page, "the Open button", f"form[action^='{page}/claim'] button")
        self.assertNotIn(secret, c.evaluate("document.body.innerText"))

        c.navigate(self.url(page + "?lang=en"))
        c.click_and_wait(f"form[action^='{page}/claim'] button")
        self.assertEqual(c.evaluate("location.pathname"), page + "/read")
        self.assertIn(secret, c.evaluate("document.body.innerText"))
        self.in_every_language(page + "/read", "the claimant reads", "#reply-text")

        # Another message, claimed by another member: who and when, no content; the lead's forms.
        other, other_secret = self.write_to_team()
        bertil = StaffBrowser(self.portal, self.idp, self.public)
        self.addCleanup(bertil.close)
        bertil.sign_in("bertil", f"/staff/m/{other}?lang=fi")
        r, _ = bertil.press(f"/staff/m/{other}?lang=fi", "claim")
        self.assertEqual(r.status, 303)
        self.in_every_language(f"/staff/m/{other}", "claimed by another member", "#member")
        self.assertIn("Bertil Berg", c.evaluate("document.body.innerText"))
        self.assertNotIn(other_secret, c.evaluate("document.body.innerText"))
        # The lead's release from the browser.
        c.click_and_wait(f"form[action^='/staff/m/{other}/release'] button")
        self.assertIn("done=released", c.evaluate("location.search"))
        self.assert_accessible("released")
        self.assertTrue(c.evaluate(f"!!document.querySelector(\"form[action^='/staff/m/{other}/claim']\")"))


if __name__ == "__main__":
    unittest.main()
