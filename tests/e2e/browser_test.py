"""The portal in a real browser (headless Chromium over the DevTools protocol) with axe-core's
WCAG 2.1 A and AA rules on every page a recipient meets: the landing page, the language switch,
ordering and typing the PIN (with a wrong one first, whose error must be tied to the field), the
message, a reply, the accessibility statement and the page for a dead link. Keyboard: the first
Tab reaches the skip link. Pages work without script (the CSP forbids all of it), so the browser
gets there by clicking and typing only."""
import re
import unittest

from chromium import Chromium
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


if __name__ == "__main__":
    unittest.main()
