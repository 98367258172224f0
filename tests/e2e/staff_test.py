"""Shared team mailboxes end to end: the real `sinetti serve`, the test mail server
(mailserver.py) as the organisation's mail server, and a real OpenID provider (npm oidc-provider)
as the organisation's staff IdP with groups. A citizen's general enquiry that holds a personal
identity code is protected and the team is notified with a /staff/m/ link; staff member A signs
in and claims it; staff member B signs in and sees "claimed by A" without any content; A reads;
the team lead releases it; B claims and reads it, A no longer can; B replies in the portal and the
citizen is notified. Audited at each step; GETs never claim."""
import os
import smtplib
import tempfile
import unittest

from mail_support import (NEUVONTA, NEUVONTA_BOX, PUBLIC_URL, GatewayProcess, MailServer, gateway_config, links,
                          queue_id, unique)
from portal_test import field
from staff_support import StaffBrowser, free_port, staff_oidc_config, start_staff_provider, write_staff_secret

CITIZEN = "kansalainen@example.com"
IDENTITY_CODE = "010594Y9032"  # valid (REFERENCES.md)
ACCOUNTS = {
    "anna": {"sub": "emp-anna", "claims": {"name": "Anna Aho", "email": "anna.aho@intra.example.fi",
                                           "groups": ["tyollisyys-neuvonta", "all-staff"]}},
    "bertil": {"sub": "emp-bertil", "claims": {"name": "Bertil Berg", "email": "bertil.berg@intra.example.fi",
                                               "groups": ["tyollisyys-neuvonta"]}},
    "liisa": {"sub": "emp-liisa", "claims": {"name": "Liisa Lehto", "email": "liisa.lehto@intra.example.fi",
                                             "groups": ["tyollisyys-neuvonta", "tyollisyys-neuvonta-leads"]}},
    "olli": {"sub": "emp-olli", "claims": {"name": "Olli Ulko", "email": "olli@intra.example.fi",
                                           "groups": ["tyollisyys-tyonhaku"]}},
}


def staff_gateway_config(relay_port, staff_port):
    text = gateway_config(relay_port)
    lead = "    staff_group: tyollisyys-neuvonta\n"
    assert lead in text
    text = text.replace(lead, lead + "    lead_group: tyollisyys-neuvonta-leads\n", 1)
    return text + staff_oidc_config(staff_port)


class StaffMailbox(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        cls.server = MailServer(os.path.join(root, "received"))
        os.mkdir(os.path.join(root, "gw"))
        staff_port = free_port()
        cls.gw = GatewayProcess(os.path.join(root, "gw"), staff_gateway_config(cls.server.port, staff_port),
                                before_start=write_staff_secret)
        try:
            cls.inbound = cls.gw.listening("inbound")
            cls.portal = cls.gw.listening("portal")
            cls.gw.started()
            cls.idp = start_staff_provider(staff_port, PUBLIC_URL, ACCOUNTS)
        except Exception:
            cls.gw.stop()
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    def browser(self):
        b = StaffBrowser(self.portal, self.idp, PUBLIC_URL)
        self.addCleanup(b.close)
        return b

    def write_to_team(self):
        """A citizen's general enquiry with a personal identity code in it: protected for the team."""
        secret = unique("enquiry-secret")
        body = f"Hei, henkilötunnukseni on {IDENTITY_CODE}. Asiani: {secret}\r\n"
        data = (f"From: <{CITIZEN}>\r\nTo: <{NEUVONTA}>\r\nSubject: Kysymys\r\nMessage-ID: <{unique('id')}@example.com>\r\n"
                "Date: Tue, 01 Dec 2026 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=60) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(CITIZEN)[0], 250)
            self.assertEqual(s.rcpt(NEUVONTA)[0], 250)
            code, reply = s.data(data)
            self.assertEqual(code, 250, reply)
        qid = queue_id(reply)
        note = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and qid in m.text(),
                                    what="the team notification")[0]
        self.assertEqual(note.header("X-Sinetti-Notification"), "team")
        token, lang = links(note.text())[0]
        self.assertIn(f"{PUBLIC_URL}/staff/m/{token}?lang={lang}", note.text())
        self.assertNotIn(secret, note.text())
        return qid, token, secret

    def claim_row(self, qid):
        rows = self.gw.query("SELECT staff_subject, staff_name, staff_email FROM message_claims WHERE message_id = ?", qid)
        return rows[0] if rows else None

    def audits(self, qid, event):
        return [(r["actor"], r["outcome"]) for r in
                self.gw.query("SELECT actor, outcome FROM audit_log WHERE message_id = ? AND event = ?", qid, event)]

    def test_claim_refusal_release_and_reclaim(self):
        qid, token, secret = self.write_to_team()
        page = f"/staff/m/{token}"

        # Not signed in: the staff sign-in offer; the client's path sends staff here; nothing opens.
        anon = self.browser()
        r, body = anon.page(page + "?lang=fi")
        self.assertEqual(r.status, 200)
        self.assertIn("/auth/staff/start?next=", body)
        self.assertNotIn(secret, body)
        r, _ = anon.page(f"/m/{token}")
        self.assertEqual(r.status, 303)
        self.assertTrue(r.getheader("Location").startswith(page + "?lang="), r.getheader("Location"))

        # A signs in and sees the "Open" button; looking claims nothing.
        a = self.browser()
        r = a.sign_in("anna", page + "?lang=fi")
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), page + "?lang=fi")
        r, body = a.page(page + "?lang=fi")
        self.assertEqual(r.status, 200)
        self.assertIn(f'action="{page}/claim?lang=fi"', body)
        self.assertNotIn(secret, body)
        r, _ = a.page(page + "/read")
        self.assertEqual(r.status, 303)
        self.assertIsNone(self.claim_row(qid))

        # B opens the page too, before anyone claims (B's form has its CSRF token).
        b = self.browser()
        b.sign_in("bertil", page + "?lang=fi")
        r, b_before = b.page(page + "?lang=fi")
        self.assertIn("/claim", b_before)

        # A claims.
        r, _ = a.press(page + "?lang=fi", "claim")
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), page + "/read?lang=fi")
        self.assertEqual(dict(self.claim_row(qid)), {"staff_subject": "emp-anna", "staff_name": "Anna Aho",
                                                     "staff_email": "anna.aho@intra.example.fi"})
        self.assertEqual(self.audits(qid, "claim.claimed"), [("staff:emp-anna", "ok")])

        # B: "claimed by Anna Aho", no content, no read, no second claim.
        r, body = b.page(page + "?lang=en")
        self.assertEqual(r.status, 200)
        self.assertIn("Anna Aho", body)
        self.assertNotIn(secret, body)
        self.assertNotIn("/claim", body)
        r, body = b.page(page + "/read?lang=en")
        self.assertEqual(r.status, 303)
        self.assertNotIn(secret, body)
        r, _ = b.request("POST", page + "/claim", {"csrf": field(b_before, "csrf")})
        self.assertEqual(r.status, 409)
        self.assertEqual(self.claim_row(qid)["staff_subject"], "emp-anna")

        # A reads the message and its text.
        r, body = a.page(page + "/read?lang=fi")
        self.assertEqual(r.status, 200)
        self.assertIn(secret, body)

        # Someone outside the team: refused and audited; B (no lead) cannot release.
        o = self.browser()
        o.sign_in("olli", page + "?lang=fi")
        r, body = o.page(page + "?lang=fi")
        self.assertEqual(r.status, 403)
        self.assertNotIn(secret, body)
        self.assertIn(("staff:emp-olli", "denied"), self.audits(qid, "staff.access"))
        r, _ = b.request("POST", page + "/release", {"csrf": field(b_before, "csrf")})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.claim_row(qid)["staff_subject"], "emp-anna")

        # The lead sees who holds it and releases it.
        lead = self.browser()
        lead.sign_in("liisa", page + "?lang=fi")
        r, body = lead.page(page + "?lang=fi")
        self.assertEqual(r.status, 200)
        self.assertIn("Anna Aho", body)
        self.assertIn(f'action="{page}/release?lang=fi"', body)
        self.assertNotIn(secret, body)
        r, _ = lead.press(page + "?lang=fi", "release")
        self.assertEqual(r.status, 303)
        self.assertIsNone(self.claim_row(qid))
        self.assertEqual(self.audits(qid, "claim.released"), [("staff:emp-bertil", "denied"), ("staff:emp-liisa", "ok")])

        # B claims now and reads; A no longer can.
        r, _ = b.press(page + "?lang=fi", "claim")
        self.assertEqual(r.status, 303)
        self.assertEqual(self.claim_row(qid)["staff_subject"], "emp-bertil")
        r, body = b.page(page + "/read?lang=fi")
        self.assertEqual(r.status, 200)
        self.assertIn(secret, body)
        r, body = a.page(page + "/read?lang=fi")
        self.assertEqual(r.status, 303)
        self.assertNotIn(secret, body)

        # B replies in the portal: a protected message in the thread, the citizen is notified.
        answer = unique("portal-answer")
        r, _ = b.press(page + "/read?lang=fi", "reply", {"text": answer})
        self.assertEqual(r.status, 303, _)
        self.assertEqual(r.getheader("Location"), page + "/read?lang=fi&replied=1")
        rows = self.gw.query("SELECT id, protection, unlock_kind FROM messages WHERE thread_id = ? AND kind = 'protected'"
                             " AND id <> ?", qid, qid)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["protection"], "letter")  # the citizen did not identify strongly
        reply_id = rows[0]["id"]
        self.assertEqual(self.audits(reply_id, "thread.reply"), [("staff:emp-bertil", "ok")])
        note = self.server.wait_for(lambda m: m.rcpt_tos == [CITIZEN] and reply_id in m.text(),
                                    what="the citizen's notification")[0]
        self.assertNotIn(answer, note.text())
        self.assertNotIn(token, note.text())


if __name__ == "__main__":
    unittest.main()
