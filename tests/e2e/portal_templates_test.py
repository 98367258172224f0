"""Page templates are parsed once when the gateway loads them, not per request: a real `sinetti
serve` with an operator's templates directory (notifications.templates_dir) serves the overriding
page; after the file changes the page stays as loaded until SIGHUP, and after the reload it shows
the new text. A broken template on reload keeps the pages that were loaded."""
import http.client
import signal
import ssl
import time
import unittest

from serve_test import Gateway

CONFIG = """
instance: {name: "Kaupungin työllisyyspalvelut", public_url: "https://127.0.0.1:8443", data_dir: var,
           languages: [fi, sv, en], default_language: fi}
listeners:
  - {name: submission, address: "127.0.0.1:0", role: submission, allowed_networks: [127.0.0.0/8]}
portal:
  address: "127.0.0.1:0"
  tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
admin: {address: "127.0.0.1:0"}
delivery: {transport: "maildir:var/mail"}
keys: {dir: var/keys, create_if_missing: true}
routing:
  rules:
    - {name: rest, when: {}, action: {reject: {code: 550, text: "5.1.1 No such recipient here"}}}
notifications: {from: turvaposti@tyollisyys.example.fi, templates_dir: templates}
"""

PAGE = "Title: Accessibility statement\n\n<h1>{heading}</h1>\n<p>{{{{organisation}}}}</p>\n"


def write_page(gw, heading):
    (gw.cwd / "templates" / "accessibility.en.html").write_text(PAGE.format(heading=heading))


class PortalTemplates(unittest.TestCase):
    def setUp(self):
        def before_start(cwd):
            (cwd / "templates").mkdir()
            (cwd / "templates" / "accessibility.en.html").write_text(PAGE.format(heading="First statement"))
        self.gw = Gateway(CONFIG, before_start=before_start)
        e = self.gw.wait_for(lambda e: e.get("event") == "listening" and e.get("listener") == "portal")
        self.port = int(e["address"].rsplit(":", 1)[1])
        self.gw.wait_for(lambda e: e.get("event") == "started")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=20)

    def tearDown(self):
        self.conn.close()
        self.gw.stop()

    def page(self):
        self.conn.request("GET", "/accessibility?lang=en")
        r = self.conn.getresponse()
        body = r.read().decode()
        self.assertEqual(r.status, 200, body[:300])
        return body

    def reload(self):
        """SIGHUP, then wait for this reload's config_reloaded (logged after the portal reloaded)."""
        def reloads():
            return self.gw.count(lambda e: e.get("event") == "config_reloaded")
        seen = reloads()
        self.gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while reloads() == seen:
            self.assertLess(time.monotonic(), deadline, "no config_reloaded after SIGHUP")
            time.sleep(0.05)

    def test_a_changed_template_shows_after_sighup(self):
        for _ in range(3):  # rendered from the parsed template again and again
            body = self.page()
            self.assertIn("<h1>First statement</h1>", body)
            self.assertIn("Kaupungin työllisyyspalvelut", body)
        write_page(self.gw, "Second statement")
        self.assertIn("<h1>First statement</h1>", self.page(), "templates are read at load time only")
        self.reload()
        for _ in range(3):
            body = self.page()
            self.assertIn("<h1>Second statement</h1>", body)
            self.assertNotIn("First statement", body)

    def test_a_broken_template_on_reload_keeps_the_loaded_pages(self):
        self.assertIn("<h1>First statement</h1>", self.page())
        (self.gw.cwd / "templates" / "accessibility.en.html").write_text(
            "Title: Accessibility statement\n\n{{#never_closed}}\n")
        # The portal logs its failure while the reload runs, before that reload's config_reloaded:
        # waiting for the latter keeps it from being taken for the next reload's.
        self.reload()
        self.assertEqual(self.gw.count(lambda e: e.get("event") == "portal_reconfigure_failed"), 1)
        self.assertIn("<h1>First statement</h1>", self.page())
        write_page(self.gw, "Fixed statement")
        self.reload()
        self.assertIn("<h1>Fixed statement</h1>", self.page())


if __name__ == "__main__":
    unittest.main()
