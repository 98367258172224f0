"""Staff replies by e-mail through a real `sinetti serve`: a citizen writes to a team, the team's
notification (at the test mail server, tests/e2e/mailserver.py, standing in for the organisation's
mail server) carries the thread's reply address in Reply-To; the staff member who claimed the
message replies to it through the submission listener and the reply becomes a protected message to
the citizen, bound to the citizen's identity, announced by a notification that carries no content
and none of the quoted notification (nor its read link). An unknown reply address, a member who did
not claim the message, a reply on the inbound listener and a reply nobody claimed are all refused.

The claim is made in the staff portal: the member signs in at a real staff identity provider (npm
oidc-provider, staff_support.py) from the team notification's /staff/m/ link and presses "Open"."""
import email
import email.policy
import os
import re
import smtplib
import tempfile
import unittest

from mail_support import (NEUVONTA, NEUVONTA_BOX, PUBLIC_URL, GatewayProcess, MailServer, gateway_config, links,
                          queue_id, token_sha256, unique)
from staff_support import StaffBrowser, free_port, staff_oidc_config, start_staff_provider, write_staff_secret

CITIZEN = "kansalainen@example.com"
IDENTITY_CODE = "010594Y9032"  # valid (REFERENCES.md)
ANNA = "anna.neuvoja@intra.example.fi"
BERTIL = "bertil.neuvoja@intra.example.fi"
ACCOUNTS = {
    "anna": {"sub": "staff-anna", "claims": {"name": "Anna Neuvoja", "email": ANNA, "groups": ["tyollisyys-neuvonta"]}},
    "bertil": {"sub": "staff-bertil", "claims": {"name": "Bertil Neuvoja", "email": BERTIL,
                                                 "groups": ["tyollisyys-neuvonta"]}},
}
REPLY = re.compile(r"reply\+([A-Za-z0-9_-]{43})@(.+)")


def mail(subject, body, sender, to, extra=()):
    headers = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}", f"Message-ID: <{unique('id')}@example.com>",
               "Date: Tue, 01 Dec 2026 10:00:00 +0200", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=utf-8", *extra]
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


class ThreadReply(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        cls.server = MailServer(os.path.join(root, "received"))
        os.mkdir(os.path.join(root, "gw"))
        staff_port = free_port()
        cls.gw = GatewayProcess(os.path.join(root, "gw"), gateway_config(cls.server.port) + staff_oidc_config(staff_port),
                                before_start=write_staff_secret)
        try:
            cls.inbound = cls.gw.listening("inbound")
            cls.submission = cls.gw.listening("submission")
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

    # ---- helpers -----------------------------------------------------------------------------------

    def write_to_team(self):
        """A citizen's protected message to the team (bound to the citizen's identity code by the
        X-Sinetti-Identity mark); returns (message id, team notification, reply address, read token)."""
        secret = unique("citizen-secret")
        data = mail(unique("kysymys"), f"Hei, asiani koskee tätä: {secret}\r\n", CITIZEN, NEUVONTA,
                    [f"X-Sinetti-Identity: {IDENTITY_CODE}"])
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=60) as s:
            s.ehlo("client.example")
            code, reply = s.mail(CITIZEN)
            self.assertEqual(code, 250, reply)
            self.assertEqual(s.rcpt(NEUVONTA)[0], 250)
            code, reply = s.data(data)
            self.assertEqual(code, 250, reply)
        qid = queue_id(reply)
        note = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and qid in m.text(),
                                    what="the team notification")[0]
        reply_to = note.parsed()["Reply-To"].addresses[0].addr_spec
        self.assertIsNotNone(REPLY.fullmatch(reply_to), reply_to)
        token = links(note.text())[0][0]
        return qid, note, reply_to, token, secret

    def claim(self, token, login):
        """The member signs in from the team notification's link and presses "Open" first."""
        b = StaffBrowser(self.portal, self.idp, PUBLIC_URL)
        self.addCleanup(b.close)
        page = f"/staff/m/{token}?lang=fi"
        self.assertEqual(b.sign_in(login, page).status, 303)
        r, _ = b.press(page, "claim")
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), f"/staff/m/{token}/read?lang=fi")

    def reply(self, port, sender, to, data):
        """(code, text) of the final reply to the transaction; a refused RCPT is returned as such."""
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo("mail.intra.example.fi")
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            code, text = s.rcpt(to)
            if code != 250:
                return "rcpt", code, text.decode()
            code, text = s.data(data)
            return "data", code, text.decode()

    def staff_reply_text(self, note, text):
        """A reply from a mail client: the staff member's text on top, the notification quoted below."""
        quoted = "".join("> " + line + "\r\n" for line in note.text().splitlines())
        return f"{text}\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Sinetti <turvaposti@tyollisyys.example.fi> wrote:\r\n{quoted}"

    # ---- tests -------------------------------------------------------------------------------------

    def test_a_thread_is_recorded_for_the_team_message(self):
        qid, _, reply_to, _, _ = self.write_to_team()
        thread = self.gw.query("SELECT * FROM threads WHERE id = ?", qid)
        self.assertEqual(len(thread), 1)
        self.assertEqual(thread[0]["team_id"], "neuvonta")
        self.assertEqual(thread[0]["client_address"], CITIZEN)
        self.assertEqual(thread[0]["state"], "open")
        self.assertEqual(len(thread[0]["client_identity"]), 32)  # the keyed hash, never the code
        self.assertNotIn(IDENTITY_CODE.encode(), thread[0]["client_identity"])
        reply_token = REPLY.fullmatch(reply_to).group(1)
        rows = self.gw.query("SELECT message_id, purpose FROM read_tokens WHERE token_hash = ?",
                             token_sha256(reply_token))
        self.assertEqual([(r["message_id"], r["purpose"]) for r in rows], [(qid, "reply")])

    def test_the_claiming_member_replies_by_mail(self):
        qid, note, reply_to, team_token, _ = self.write_to_team()
        self.claim(team_token, "anna")
        answer = unique("staff-answer")
        data = mail("Re: kysymys", self.staff_reply_text(note, f"Hei,\r\n\r\n{answer}\r\n\r\nAnna"), ANNA, reply_to)
        stage, code, text = self.reply(self.submission, ANNA, reply_to, data)
        self.assertEqual((stage, code), ("data", 250), text)
        reply_id = queue_id(text)

        # A protected message in the thread, bound to the citizen's identity.
        row = self.gw.query("SELECT * FROM messages WHERE id = ?", reply_id)[0]
        self.assertEqual(row["kind"], "protected")
        self.assertEqual(row["thread_id"], qid)
        self.assertEqual(row["team_id"], "neuvonta")
        self.assertEqual(row["protection"], "personal")
        self.assertEqual(row["unlock_kind"], "identity")
        thread = self.gw.query("SELECT client_identity FROM threads WHERE id = ?", qid)[0]
        self.assertEqual(row["unlock_identity"], thread["client_identity"])

        # The citizen's notification: a read link for the reply, no content, nothing quoted.
        client_note = self.server.wait_for(lambda m: m.rcpt_tos == [CITIZEN] and reply_id in m.text(),
                                           what="the citizen's notification")[0]
        self.assertEqual(client_note.parsed()["X-Sinetti-Notification"], "recipient")
        self.assertEqual(client_note.mail_from, ANNA)  # a bounce goes to the staff member
        found = links(client_note.text())
        self.assertEqual(len(found), 1)
        t = self.gw.query("SELECT message_id, recipient, purpose FROM read_tokens WHERE token_hash = ?",
                          token_sha256(found[0][0]))
        self.assertEqual([(r["message_id"], r["recipient"], r["purpose"]) for r in t], [(reply_id, CITIZEN, "read")])
        self.assertIn("vahva", client_note.text().lower())  # level personal: strong identification
        for m in self.server.messages():
            if CITIZEN in m.rcpt_tos:
                self.assertNotIn(answer.encode(), m.raw)     # the content never goes by mail
                self.assertNotIn(team_token.encode(), m.raw)  # nor the team's read link
        # The staff mail itself is not kept; the audit names the staff member and the thread.
        self.assertEqual(self.gw.query("SELECT id FROM messages WHERE sender = ? AND kind <> 'notification' AND id <> ?",
                                       ANNA, reply_id), [])
        audit = self.gw.query("SELECT * FROM audit_log WHERE event = 'thread.reply' AND message_id = ?", reply_id)
        self.assertEqual(len(audit), 1)
        self.assertEqual(audit[0]["actor"], "staff:staff-anna")
        self.assertIn(qid, audit[0]["details"])
        self.gw.wait_for(lambda e: e.get("event") == "staff_reply_accepted" and e.get("id") == reply_id)

    def test_an_unknown_reply_address_is_refused(self):
        domain = REPLY.fullmatch(self.write_to_team()[2]).group(2)
        unknown = f"reply+{'A' * 43}@{domain}"
        stage, code, text = self.reply(self.submission, ANNA, unknown, mail("Re: x", "text\r\n", ANNA, unknown))
        self.assertEqual((stage, code), ("data", 550), text)
        self.assertIn("5.1.1", text)
        # A malformed one is refused at RCPT already.
        malformed = f"reply+nothing@{domain}"
        stage, code, text = self.reply(self.submission, ANNA, malformed, b"")
        self.assertEqual((stage, code), ("rcpt", 550), text)
        self.assertIn("5.1.1", text)

    def test_a_member_who_did_not_claim_is_refused(self):
        qid, note, reply_to, team_token, _ = self.write_to_team()
        data = mail("Re: kysymys", self.staff_reply_text(note, "Vastaan heti."), BERTIL, reply_to)
        # Nobody has claimed it yet: nobody may reply.
        stage, code, text = self.reply(self.submission, BERTIL, reply_to, data)
        self.assertEqual((stage, code), ("data", 550), text)
        self.assertIn("5.7.1", text)
        self.claim(team_token, "anna")
        stage, code, text = self.reply(self.submission, BERTIL, reply_to, data)
        self.assertEqual((stage, code), ("data", 550), text)
        self.assertIn("5.7.1", text)
        self.assertEqual(self.gw.query("SELECT id FROM messages WHERE thread_id = ? AND kind = 'protected'"
                                       " AND id <> ?", qid, qid), [])

    def test_a_reply_on_the_inbound_listener_is_refused(self):
        qid, note, reply_to, team_token, _ = self.write_to_team()
        self.claim(team_token, "anna")
        stage, code, text = self.reply(self.inbound, ANNA, reply_to, mail("Re: x", "x\r\n", ANNA, reply_to))
        self.assertEqual((stage, code), ("rcpt", 550), text)
        self.assertIn("5.7.1", text)


if __name__ == "__main__":
    unittest.main()
