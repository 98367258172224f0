"""Client-initiated protected messages end to end: the real `sinetti serve`, a real OpenID provider
(npm oidc-provider, tests/e2e/oidc/) as the FTN broker with encrypted ID tokens and a `hetu` claim,
and the test mail server (tests/e2e/mailserver.py) as the team's mailbox. A citizen is offered
identification at /new, identifies, writes to a team with an attachment, gets a receipt; the team
notification arrives without content, with a link and the thread's reply address in Reply-To; the
store holds the message sealed (a marker in the text and the file is nowhere in the data
directory); /threads shows the thread to the same citizen only — a second citizen (another hetu)
gets the same 404 as for a thread that does not exist. In headless Chromium (playwright-core) with
axe-core: the identification offer, the form, its error state, the receipt and /threads in fi, sv
and en have no WCAG 2.1 A/AA violations, and the citizen signs in at the provider in the browser."""
import http.client
import json
import os
import pathlib
import re
import tempfile
import time
import unittest
import urllib.parse
import uuid

import oidc_test
from browser import Chromium
from mail_support import NEUVONTA_BOX, GatewayProcess, MailServer, free_port, gateway_config, unique
from portal_test import Browser, field, no_verify

CITIZEN = oidc_test.CITIZEN
OTHER = oidc_test.OTHER
REPLY = re.compile(r"reply\+([A-Za-z0-9_-]{43})@(.+)")


def multipart(fields, files):
    """A multipart/form-data body as a browser sends it: (content type, bytes)."""
    boundary = "----sinetti" + uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode() + value.encode() + b"\r\n"
    for name, ctype, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", out


class ClientMessages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (oidc_test.OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise AssertionError(f"run `npm ci --prefix {oidc_test.OIDC_DIR}` (scripts/install-deps does)")
        cls.tmp = tempfile.TemporaryDirectory()
        root = pathlib.Path(cls.tmp.name)
        cls.server = MailServer(root / "received")
        # The portal's port is chosen first so that the public URL (the provider's redirect URI) is
        # the address the browser really reaches.
        cls.portal = free_port()
        cls.public = f"https://127.0.0.1:{cls.portal}"
        provider_port = free_port()
        config = gateway_config(cls.server.port)
        config = config.replace('portal:\n  address: "127.0.0.1:0"', f'portal:\n  address: "127.0.0.1:{cls.portal}"')
        config = re.sub(r'public_url: "[^"]*"', f'public_url: "{cls.public}"', config)
        config += f"""oidc:
  providers:
    - id: ftn
      kind: citizen
      issuer: "http://127.0.0.1:{provider_port}"
      client_id: sinetti-portal
      client_auth: private_key_jwt
      signing_key_file: oidc/sig.pem
      encryption_key_file: oidc/enc.pem
      scopes: [openid, profile]
      acr_values: ["http://ftn.ficora.fi/2017/loa2"]
      identity_claim: hetu
      name: {{fi: Pankkitunnukset, sv: Bankkoder, en: Bank ID}}
"""
        (root / "gw").mkdir()
        cls.gw = GatewayProcess(root / "gw", config, before_start=oidc_test.make_keys)
        cls.provider = None
        cls.chrome = None
        try:
            assert cls.gw.listening("portal") == cls.portal
            cls.gw.started()
            conn = http.client.HTTPSConnection("127.0.0.1", cls.portal, context=no_verify(), timeout=30)
            conn.request("GET", "/auth/jwks.json")
            jwks = json.loads(conn.getresponse().read())
            conn.close()
            cls.provider = oidc_test.start_ftn_broker(provider_port, cls.public, jwks)
            cls.chrome = Chromium()
        except Exception:
            cls.tearDownClass()
            raise
        cls.sent = None

    @classmethod
    def tearDownClass(cls):
        if cls.chrome is not None:
            cls.chrome.close()
        if cls.provider is not None:
            cls.provider.stop()
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    # ---- helpers -----------------------------------------------------------------------------------

    def identify(self, login, next_path):
        """A citizen's HTTP client: the page at next_path offers identification; through the
        provider's login form and back; returns the client, now identified."""
        b = Browser(self.portal)
        self.addCleanup(b.close)
        r, body = b.request("GET", next_path)
        self.assertEqual(r.status, 200)
        page = body.decode()
        self.assertNotIn("<form", page)
        m = re.search(r'href="(/auth/ftn/start\?[^"]+)"', page)
        self.assertIsNotNone(m, page)
        r, _ = b.request("GET", m.group(1).replace("&amp;", "&"))
        self.assertEqual(r.status, 303)
        location = r.getheader("Location")
        self.assertTrue(location.startswith(self.provider.issuer + "/auth?"), location)
        agent = oidc_test.ProviderAgent(self.provider.port)
        path = location[len(self.provider.issuer):]
        for _ in range(10):
            r, data = agent.request("GET", path)
            if r.status == 200 and b'name="login"' in data:
                action = re.search(r'action="([^"]+)"', data.decode()).group(1)
                r, data = agent.request("POST", action, {"login": login})
            self.assertIn(r.status, (302, 303), data[:500])
            location = r.getheader("Location")
            if location.startswith(self.public):
                break
            path = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
        self.assertTrue(location.startswith(self.public + "/auth/ftn/callback?"), location)
        r, _ = b.request("GET", location[len(self.public):])
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), next_path)
        return b

    def write(self, b, text, files, subject="Hakemus"):
        r, body = b.request("GET", "/new?lang=fi")
        self.assertEqual(r.status, 200)
        csrf = field(body.decode(), "csrf")
        self.assertTrue(csrf)
        ctype, data = multipart({"csrf": csrf, "team": "neuvonta", "subject": subject, "text": text}, files)
        return b.request("POST", "/new?lang=fi", headers={"Content-Type": ctype}, raw_body=data)

    def send_once(self):
        """The citizen's message (sent by the first test that needs it)."""
        cls = type(self)
        if cls.sent is None:
            marker = unique("CLIENT-SECRET")
            file_marker = unique("FILE-SECRET").encode()
            b = self.identify("citizen", "/new?lang=fi")
            r, _ = self.write(b, f"Hei, tarvitsen apua: {marker}\n", [("liite.txt", "text/plain", b"liite " + file_marker)])
            self.assertEqual(r.status, 303)
            m = re.fullmatch(r"/threads/([0-9A-Z]{18})/sent/([0-9A-Z]{18})\?lang=fi", r.getheader("Location"))
            self.assertIsNotNone(m, r.getheader("Location"))
            cls.sent = {"browser": b, "thread": m.group(1), "message": m.group(2), "marker": marker,
                        "file_marker": file_marker, "receipt": r.getheader("Location")}
        return cls.sent

    def url(self, path):
        return f"{self.public}{path}"

    def assert_accessible(self, what):
        c = self.chrome
        self.assertEqual(c.axe_violations(), [], what)
        self.assertIn(c.evaluate("document.documentElement.lang"), ("fi", "sv", "en"), what)
        self.assertTrue(c.evaluate("document.title"), what)
        self.assertFalse(c.evaluate("document.scripts.length"), what)

    def wait_for_path(self, path, timeout=30):
        """Waits until the browser is at `path` (through redirects and the same-site step)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                here = self.chrome.evaluate("location.pathname")
                if here == path and self.chrome.evaluate("document.readyState") == "complete":
                    return
            except AssertionError:
                pass  # the page is navigating
            if time.monotonic() > deadline:
                raise AssertionError(f"the browser did not reach {path}: {self.chrome.evaluate('location.href')}")
            time.sleep(0.2)

    # ---- tests -------------------------------------------------------------------------------------

    def test_1_the_citizen_writes_to_the_team_and_gets_a_receipt(self):
        s = self.send_once()
        r, body = s["browser"].request("GET", s["receipt"])
        self.assertEqual(r.status, 200)
        page = body.decode()
        self.assertIn(s["message"], page)
        self.assertIn("Neuvonta", page)
        self.assertNotIn(s["marker"], page)
        self.gw.wait_for(lambda e: e.get("event") == "portal_client_message" and e.get("message") == s["message"])
        threads = self.gw.query("SELECT * FROM threads WHERE id = ?", s["thread"])
        self.assertEqual(len(threads), 1)
        self.assertEqual(threads[0]["team_id"], "neuvonta")
        self.assertEqual(threads[0]["client_address"], "")
        self.assertEqual(len(threads[0]["client_identity"]), 32)  # the keyed hash, never the code
        audit = {(a["event"], a["actor"]) for a in self.gw.query("SELECT * FROM audit_log WHERE message_id = ?", s["message"])}
        self.assertIn(("message.stored", "client"), audit)
        self.assertIn(("thread.created", "client"), audit)
        self.assertIn(("notification.queued", "client"), audit)

    def test_2_the_team_notification_carries_no_content(self):
        s = self.send_once()
        note = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and s["message"] in m.text(),
                                    what="the team notification")[0]
        text = note.text()
        self.assertNotIn(s["marker"], text)
        self.assertNotIn(s["file_marker"].decode(), text)
        self.assertNotIn("Hakemus", text)  # notifications.include_subject is off
        self.assertNotIn(CITIZEN, text)
        self.assertIsNotNone(re.search(re.escape(self.public) + r"/(staff/)?m/[A-Za-z0-9_-]{43}", text), text)
        reply_to = note.parsed()["Reply-To"].addresses[0].addr_spec
        self.assertIsNotNone(REPLY.fullmatch(reply_to), reply_to)
        self.assertEqual(note.parsed()["Auto-Submitted"], "auto-generated")

    def test_3_the_content_is_sealed_at_rest_and_not_in_the_log(self):
        s = self.send_once()
        self.gw.wait_for(lambda e: e.get("event") == "portal_client_message" and e.get("message") == s["message"])
        needles = [s["marker"].encode(), s["file_marker"], CITIZEN.encode()]
        for path in (self.gw.cwd / "var").rglob("*"):
            if not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # renamed or removed since the listing (a delivery's tmp/ file, a journal)
            for needle in needles:
                self.assertNotIn(needle, data, f"{needle!r} in {path}")
        log = json.dumps(self.gw.events, ensure_ascii=False)
        for needle in needles:
            self.assertNotIn(needle.decode(), log)

    def test_4_threads_shows_the_thread_to_the_same_citizen_only(self):
        s = self.send_once()
        b = self.identify("citizen", "/threads?lang=en")
        r, body = b.request("GET", "/threads?lang=en")
        self.assertEqual(r.status, 200)
        self.assertIn(f"/threads/{s['thread']}", body.decode())
        r, body = b.request("GET", f"/threads/{s['thread']}?lang=en")
        self.assertEqual(r.status, 200)
        page = body.decode()
        self.assertIn(s["marker"], page)
        download = re.search(r'href="(/threads/[^"]+/attachment/[^"]+/0)"', page)
        self.assertIsNotNone(download, page)
        r, data = b.request("GET", download.group(1))
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"liite " + s["file_marker"])
        self.assertIn("attachment", r.getheader("Content-Disposition"))

        other = self.identify("other", "/threads?lang=en")
        r, body = other.request("GET", "/threads?lang=en")
        self.assertEqual(r.status, 200)
        self.assertNotIn(s["thread"], body.decode())
        r, foreign = other.request("GET", f"/threads/{s['thread']}?lang=en")
        self.assertEqual(r.status, 404)
        r, unknown = other.request("GET", "/threads/00000000000000000Z?lang=en")
        self.assertEqual(r.status, 404)
        self.assertEqual(foreign.decode().replace(s["thread"], "ID"), unknown.decode().replace("00000000000000000Z", "ID"))
        self.assertNotIn(s["marker"], foreign.decode())
        r, _ = other.request("GET", download.group(1))
        self.assertEqual(r.status, 404)
        self.assertFalse([e for e in self.gw.events if OTHER in json.dumps(e, ensure_ascii=False)])

    def test_5_in_a_browser_the_pages_have_no_accessibility_violations(self):
        c = self.chrome
        for lang in ("fi", "sv", "en"):
            c.navigate(self.url(f"/new?lang={lang}"))
            self.assertEqual(c.evaluate("document.documentElement.lang"), lang)
            self.assertEqual(c.evaluate("document.forms.length"), 0)
            self.assert_accessible(f"identification offer ({lang})")
        # Identification in the browser itself, at the provider's login form (the second citizen,
        # who has no thread yet).
        c.navigate(self.url("/new?lang=en"))
        c.click_and_wait("a[href^='/auth/ftn/start']")
        c.type_into("#login", "other")
        c.click_and_wait("button[type=submit]")
        self.wait_for_path("/new")
        for lang in ("fi", "sv", "en"):
            c.navigate(self.url(f"/new?lang={lang}"))
            self.assertEqual(c.evaluate("document.querySelectorAll('form select#new-team').length"), 1, lang)
            self.assert_accessible(f"the form ({lang})")
            # Sent empty: every field's error tied to it.
            c.click_and_wait("form button[type=submit]")
            self.assertEqual(c.evaluate("document.getElementById('new-text').getAttribute('aria-invalid')"), "true")
            self.assertEqual(c.evaluate("document.getElementById('new-text').getAttribute('aria-describedby')"), "text-error")
            self.assertEqual(c.evaluate("document.getElementById('new-team').getAttribute('aria-describedby')"), "team-error")
            self.assertEqual(c.evaluate("document.getElementById('new-subject').getAttribute('aria-describedby')"),
                             "subject-hint subject-error")
            self.assert_accessible(f"the form with errors ({lang})")
            # Filled in: the receipt.
            c.evaluate("document.getElementById('new-team').value = 'neuvonta'")
            c.type_into("#new-subject", f"Kysymys {lang}")
            c.type_into("#new-text", f"Viesti selaimesta ({lang}).")
            c.click_and_wait("form button[type=submit]")
            self.assertIsNotNone(re.fullmatch(r"/threads/[0-9A-Z]{18}/sent/[0-9A-Z]{18}", c.evaluate("location.pathname")))
            self.assertEqual(c.evaluate("document.documentElement.lang"), lang)
            self.assert_accessible(f"the receipt ({lang})")
            c.click_and_wait("main ul a[href^='/threads/']")
            self.assertIn(f"Viesti selaimesta ({lang}).", c.evaluate("document.body.innerText"))
            self.assert_accessible(f"the thread ({lang})")
            c.navigate(self.url(f"/threads?lang={lang}"))
            self.assertGreaterEqual(c.evaluate("document.querySelectorAll('table.threads tbody tr').length"), 1)
            self.assert_accessible(f"the thread list ({lang})")
        self.assertEqual(c.evaluate("document.querySelectorAll('table.threads tbody tr').length"), 3)


if __name__ == "__main__":
    unittest.main()
