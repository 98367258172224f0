"""The whole conversation in real browsers: the real `sinetti serve`, two real OpenID providers (npm
oidc-provider, tests/e2e/oidc/): the FTN broker for citizens (a `hetu` claim, encrypted ID tokens,
private_key_jwt) and the organisation's staff IdP (groups), and the test mail server
(tests/e2e/mailserver.py) as the organisation's mail server holding the team's mailbox and the
client's mailbox. Each person has their own headless Chromium (playwright-core): the citizen, staff
members A and B, and another citizen.

1. The citizen opens /new, identifies at the broker's login form, comes back (a cross-site
   redirect chain ending in the same-site step under SameSite=Strict), fills in team, subject,
   text and the notification address, attaches a file, sends, and sees the receipt naming the
   address.
2. The team notification arrives: no content, a /staff/m/ link, Reply-To the thread's reply address.
3. A opens the link, signs in at the staff IdP, presses "Open", reads the text and the file's name.
4. B opens the same link, signs in, sees that A holds it and no content; B's read URL sends B back.
5. A replies by e-mail through the submission listener from A's address, quoting the notification.
6. The client's notification arrives at the client's address: no content, a /m/ link.
7. The citizen follows it, identifies, reads A's reply without the quoted notification; /threads
   lists the thread and the thread shows both messages.
8. Another citizen follows the same link, identifies, and is refused neutrally.

axe-core finds no WCAG 2.1 A/AA violations on the form and the receipt."""
import http.client
import json
import pathlib
import re
import smtplib
import tempfile
import time
import unittest

import oidc_test
from browser import Chromium
from mail_support import NEUVONTA_BOX, GatewayProcess, MailServer, free_port, gateway_config, queue_id, unique
from portal_test import no_verify
from staff_support import staff_oidc_config, start_staff_provider, write_staff_secret

CLIENT_ADDRESS = "maija.meikalainen@kotiposti.example"
ANNA = "anna.neuvoja@intra.example.fi"
BERTIL = "bertil.neuvoja@intra.example.fi"
STAFF = {
    "anna": {"sub": "staff-anna", "claims": {"name": "Anna Neuvoja", "email": ANNA, "groups": ["tyollisyys-neuvonta"]}},
    "bertil": {"sub": "staff-bertil", "claims": {"name": "Bertil Neuvoja", "email": BERTIL,
                                                 "groups": ["tyollisyys-neuvonta"]}},
}
REPLY = re.compile(r"reply\+([A-Za-z0-9_-]{43})@(.+)")


class Walk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (oidc_test.OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise AssertionError(f"run `npm ci --prefix {oidc_test.OIDC_DIR}` (scripts/install-deps does)")
        cls.tmp = tempfile.TemporaryDirectory()
        root = pathlib.Path(cls.tmp.name)
        cls.server = MailServer(root / "received")
        # The portal's port is chosen first: the providers' redirect URIs name the address the
        # browsers really reach.
        cls.portal = free_port()
        cls.public = f"https://127.0.0.1:{cls.portal}"
        citizen_port, staff_port = free_port(), free_port()
        config = gateway_config(cls.server.port)
        for old, new in (('portal:\n  address: "127.0.0.1:0"', f'portal:\n  address: "127.0.0.1:{cls.portal}"'),):
            assert old in config, old
            config = config.replace(old, new, 1)
        config = re.sub(r'public_url: "[^"]*"', f'public_url: "{cls.public}"', config)
        config += staff_oidc_config(staff_port) + f"""    - id: ftn
      kind: citizen
      issuer: "http://127.0.0.1:{citizen_port}"
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

        def prepare(cwd):
            oidc_test.make_keys(cwd)
            write_staff_secret(cwd)

        cls.gw = GatewayProcess(root / "gw", config, before_start=prepare)
        cls.citizen_idp = cls.staff_idp = None
        cls.browsers = []
        try:
            assert cls.gw.listening("portal") == cls.portal
            cls.submission = cls.gw.listening("submission")
            cls.gw.started()
            conn = http.client.HTTPSConnection("127.0.0.1", cls.portal, context=no_verify(), timeout=30)
            conn.request("GET", "/auth/jwks.json")
            jwks = json.loads(conn.getresponse().read())
            conn.close()
            cls.citizen_idp = oidc_test.start_ftn_broker(citizen_port, cls.public, jwks)
            cls.staff_idp = start_staff_provider(staff_port, cls.public, STAFF)
            for _ in range(4):  # the citizen, staff A, staff B, the other citizen
                cls.browsers.append(Chromium())
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for b in cls.browsers:
            b.close()
        for p in (cls.staff_idp, cls.citizen_idp):
            if p is not None:
                p.stop()
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    # ---- helpers -----------------------------------------------------------------------------------

    def url(self, path):
        return self.public + path

    def assert_accessible(self, c, what):
        self.assertEqual(c.axe_violations(), [], what)
        self.assertTrue(c.evaluate("document.title"), what)

    def where(self, c):
        """(origin, path) of the page once it has loaded, or None while it navigates on."""
        try:
            return c.evaluate("document.readyState === 'complete' ? [location.origin, location.pathname] : null")
        except AssertionError as e:  # evaluated while the page navigated on
            if "context was destroyed" not in str(e) and "navigation" not in str(e):
                raise
            return None

    def sign_in(self, c, start_selector, issuer, login, back_to):
        """From the portal page's sign-in link through the provider's login form (typed into, when
        the provider asks) back to the portal at `back_to`, within a deadline."""
        c.click_and_wait(start_selector)
        deadline = time.monotonic() + 60
        typed = False
        while True:
            at = self.where(c)
            if at == [self.public, back_to]:
                return
            if at and at[0] == issuer and not typed and c.evaluate("!!document.getElementById('login')"):
                c.type_into("#login", login)
                c.click_and_wait("button[type=submit]")
                typed = True
                continue
            self.assertLess(time.monotonic(), deadline, f"the sign-in did not come back to {back_to} (at {at})")
            time.sleep(0.1)

    def text(self, c):
        return c.evaluate("document.body.innerText")

    # ---- the walk ----------------------------------------------------------------------------------

    def test_the_whole_conversation(self):
        citizen, anna, bertil, other = self.browsers
        marker = unique("CLIENT-SECRET")
        file_name = unique("liite") + ".txt"
        file_marker = unique("FILE-SECRET")
        subject = unique("Aihe")

        # 1. The citizen identifies at /new, writes, attaches, gives the address, gets a receipt.
        citizen.navigate(self.url("/new?lang=fi"))
        self.assertEqual(citizen.evaluate("document.forms.length"), 0)
        self.sign_in(citizen, "a[href^='/auth/ftn/start']", self.citizen_idp.issuer, "citizen", "/new")
        # Back from the broker's cross-site redirect: the Strict session cookie is in use (the form
        # is there, with its CSRF token), which a cross-site navigation alone would not send.
        self.assertEqual(citizen.evaluate("document.querySelectorAll('form select#new-team').length"), 1)
        self.assertTrue(citizen.evaluate("!!document.querySelector('input[name=csrf]').value"))
        self.assert_accessible(citizen, "the form")
        self.assertEqual(citizen.evaluate("document.querySelector('label[for=new-address]') !== null"), True)
        citizen.evaluate("document.getElementById('new-team').value = 'neuvonta'")
        citizen.type_into("#new-subject", subject)
        citizen.type_into("#new-text", f"Hei, tarvitsen apua hakemuksen kanssa. {marker}")
        citizen.type_into("#new-address", CLIENT_ADDRESS)
        citizen.set_files("#new-files", [(file_name, "text/plain", f"liite {file_marker}\n".encode())])
        citizen.click_and_wait("form button[type=submit]")
        m = re.fullmatch(r"/threads/([0-9A-Z]{18})/sent/([0-9A-Z]{18})", citizen.evaluate("location.pathname"))
        self.assertIsNotNone(m, citizen.evaluate("location.href"))
        thread_id, message_id = m.groups()
        receipt = self.text(citizen)
        self.assertIn(message_id, receipt)
        self.assertIn(CLIENT_ADDRESS, citizen.evaluate("document.getElementById('notifications').innerText"))
        self.assertNotIn(marker, receipt)
        self.assert_accessible(citizen, "the receipt")
        thread = self.gw.query("SELECT client_address FROM threads WHERE id = ?", thread_id)
        self.assertEqual([t["client_address"] for t in thread], [CLIENT_ADDRESS])

        # 2. The team notification: no content, the staff link, Reply-To the thread's reply address.
        note = self.server.wait_for(lambda n: n.rcpt_tos == [NEUVONTA_BOX] and message_id in n.text(),
                                    what="the team notification")[0]
        for secret in (marker, file_marker, file_name, subject):
            self.assertNotIn(secret.encode(), note.raw)
        found = re.findall(re.escape(self.public) + r"/staff/m/([A-Za-z0-9_-]{43})\?lang=(fi|sv|en)", note.text())
        self.assertEqual(len(found), 1, note.text())
        team_token = found[0][0]
        reply_to = note.parsed()["Reply-To"].addresses[0].addr_spec
        self.assertIsNotNone(REPLY.fullmatch(reply_to), reply_to)

        # 3. Staff A signs in from the link, presses "Open", reads the text and the file's name.
        page = f"/staff/m/{team_token}"
        anna.navigate(self.url(page + "?lang=fi"))
        self.assertNotIn(marker, self.text(anna))
        self.sign_in(anna, "a[href^='/auth/staff/start']", self.staff_idp.issuer, "anna", page)
        self.assertNotIn(marker, self.text(anna))  # a GET never claims nor shows content
        anna.click_and_wait(f"form[action^='{page}/claim'] button")
        self.assertEqual(anna.evaluate("location.pathname"), page + "/read")
        self.assertIn(marker, self.text(anna))
        self.assertIn(file_name, self.text(anna))

        # 4. Staff B: who holds it, no content; the read URL sends B back to the message's page.
        bertil.navigate(self.url(page + "?lang=fi"))
        self.sign_in(bertil, "a[href^='/auth/staff/start']", self.staff_idp.issuer, "bertil", page)
        shown = self.text(bertil)
        self.assertIn("Anna Neuvoja", shown)
        self.assertNotIn(marker, shown)
        self.assertNotIn(file_name, shown)
        self.assertFalse(bertil.evaluate(f"!!document.querySelector(\"form[action^='{page}/claim']\")"))
        bertil.navigate(self.url(page + "/read?lang=fi"))
        self.assertEqual(bertil.evaluate("location.pathname"), page)
        self.assertNotIn(marker, bertil.evaluate("document.documentElement.outerHTML"))

        # 5. A replies from the mail client to the Reply-To address, quoting the notification.
        answer = unique("STAFF-ANSWER")
        quoted = "".join("> " + line + "\r\n" for line in note.text().splitlines())
        body = (f"Hei,\r\n\r\n{answer}\r\n\r\nAnna\r\n\r\n"
                f"On Tue, 1 Dec 2026 at 10:00, Sinetti <turvaposti@tyollisyys.example.fi> wrote:\r\n{quoted}")
        data = (f"From: Anna Neuvoja <{ANNA}>\r\nTo: <{reply_to}>\r\nSubject: Re: notification\r\n"
                f"Message-ID: <{unique('id')}@intra.example.fi>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0200\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=60) as s:
            s.ehlo("mail.intra.example.fi")
            self.assertEqual(s.mail(ANNA)[0], 250)
            self.assertEqual(s.rcpt(reply_to)[0], 250)
            code, text = s.data(data)
            self.assertEqual(code, 250, text)
        reply_id = queue_id(text)

        # 6. The client's notification: to the client's address, a /m/ link, no content.
        client_note = self.server.wait_for(lambda n: n.rcpt_tos == [CLIENT_ADDRESS] and reply_id in n.text(),
                                           what="the client's notification")[0]
        for secret in (answer, marker, team_token):
            self.assertNotIn(secret.encode(), client_note.raw)
        found = re.findall(re.escape(self.public) + r"/m/([A-Za-z0-9_-]{43})\?lang=(fi|sv|en)", client_note.text())
        self.assertEqual(len(found), 1, client_note.text())
        self.assertNotIn("/staff/m/", client_note.text())
        link = f"/m/{found[0][0]}"

        # 7. The citizen follows the link, identifies, reads the reply without the quoted notification.
        citizen.navigate(self.url(link + "?lang=fi"))
        self.assertNotIn(answer, self.text(citizen))
        self.sign_in(citizen, "a[href^='/auth/ftn/start']", self.citizen_idp.issuer, "citizen", link + "/read")
        shown = self.text(citizen)
        self.assertIn(answer, shown)
        self.assertNotIn("wrote:", shown)
        self.assertNotIn(team_token, citizen.evaluate("document.documentElement.outerHTML"))
        for line in note.text().splitlines():  # nothing of the quoted team notification
            if len(line.strip()) > 30:
                self.assertNotIn(line.strip(), shown)
        citizen.navigate(self.url("/threads?lang=fi"))
        self.assertTrue(citizen.evaluate(f"!!document.querySelector(\"a[href^='/threads/{thread_id}']\")"))
        citizen.navigate(self.url(f"/threads/{thread_id}?lang=fi"))
        shown = self.text(citizen)
        self.assertIn(marker, shown)
        self.assertIn(answer, shown)

        # 8. Another citizen with the same link: identified, refused neutrally, nothing of the reply.
        other.navigate(self.url(link + "?lang=fi"))
        other.click_and_wait("a[href^='/auth/ftn/start']")
        deadline = time.monotonic() + 60
        while True:
            at = self.where(other)
            if at and at[0] == self.citizen_idp.issuer and other.evaluate("!!document.getElementById('login')"):
                break
            self.assertLess(time.monotonic(), deadline, f"no login form at the broker (at {at})")
            time.sleep(0.1)
        other.type_into("#login", "other")
        other.click_and_wait("button[type=submit]")
        deadline = time.monotonic() + 60
        while True:
            at = self.where(other)
            if at and at[0] == self.public:
                break
            self.assertLess(time.monotonic(), deadline, f"the other citizen did not come back (at {at})")
            time.sleep(0.1)
        self.assertNotEqual(other.evaluate("location.pathname"), link + "/read")
        page_html = other.evaluate("document.documentElement.outerHTML")
        self.assertNotIn(answer, page_html)
        self.assertNotIn(marker, page_html)
        self.assertTrue(other.evaluate("!!document.querySelector('[role=alert]')"))
        other.navigate(self.url(link + "/read?lang=fi"))
        self.assertNotIn(answer, other.evaluate("document.documentElement.outerHTML"))
        audit = self.gw.query("SELECT outcome FROM audit_log WHERE event = 'unlock.identity' AND message_id = ?", reply_id)
        self.assertEqual(sorted(a["outcome"] for a in audit), ["mismatch", "ok"])
        # Nothing the citizen wrote, nor the address, in the gateway's log.
        log = json.dumps(self.gw.events, ensure_ascii=False)
        for secret in (marker, file_marker, answer, CLIENT_ADDRESS, oidc_test.CITIZEN, oidc_test.OTHER):
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    unittest.main()
