"""Delivery when the organisation's mail server misbehaves, with the real `sinetti serve` and the
test mail server (tests/e2e/mailserver.py) on one port: first it answers 4xx, then nothing listens,
then a normal server comes back on the same port. Every message must arrive exactly once (counted
by Message-ID), the queue must end empty of pending entries, and a permanent 5xx must give exactly
one DSN (multipart/report to the original sender, null envelope sender, original headers only),
never one to <> and never one for a DSN. The retry schedule is within the configuration's bounds
(initial 1s, max 1m); the test makes waiting entries due with `sinetti queue retry ID`, the
operator's tool, rather than sleeping through the backoff."""
import hashlib
import os
import re
import smtplib
import tempfile
import time
import unittest

from mail_support import (NEUVONTA, NEUVONTA_BOX, TYONHAKU, GatewayProcess, MailServer,
                          gateway_config, queue_id, unique, wait_until)

CITIZEN = "kansalainen@example.com"
STAFF = "alice@tyollisyys.example.fi"
GONE = "poistunut@tyollisyys.example.fi"
GONE_BOX = "poistunut-tiimi@intra.example.fi"
BOUNCES_REFUSED = "ei-postia@example.com"
NO_CLIENT = "ei-ole@example.net"
EXTRA_TEAM = f"""
  - id: poistunut
    name: {{fi: Poistunut, sv: Nedlagd, en: Closed}}
    address: {GONE}
    mailbox: {GONE_BOX}"""
PERMANENT = [f"--rcpt-reply={GONE_BOX}=550 5.1.1 <{GONE_BOX}>: mailbox closed",
             f"--rcpt-reply={BOUNCES_REFUSED}=550 5.1.1 No such user",
             f"--rcpt-reply={NO_CLIENT}=550 5.1.1 No such user"]
IDENTITY_CODE = "010594Y9032"


def mail(subject, body, sender=CITIZEN, to=NEUVONTA, message_id=None):
    mid = message_id or f"{unique('fault')}@example.com"
    data = (f"From: <{sender or 'mailer-daemon@example.com'}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{mid}>\r\nDate: Mon, 02 Jun 2025 10:00:00 +0300\r\n\r\n{body}\r\n").encode()
    return mid, data


def from_null(m):
    """The envelope sender was <> (aiosmtpd reports it as "<>")."""
    return m.mail_from in ("", "<>")


def message_ids(server):
    """Message-ID -> how many times the server accepted a message with it."""
    counts = {}
    for m in server.messages():
        counts[m.message_id] = counts.get(m.message_id, 0) + 1
    return counts


class Faults(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.servers = []
        self.addCleanup(lambda: [s.stop() for s in self.servers])

    def mail_server(self, name, *args, port=0):
        s = MailServer(os.path.join(self.tmp.name, name), *args, port=port)
        self.servers.append(s)
        return s

    def gateway(self, relay_port):
        os.mkdir(os.path.join(self.tmp.name, "gw"))
        gw = GatewayProcess(os.path.join(self.tmp.name, "gw"),
                            gateway_config(relay_port, relay_tls="opportunistic", extra_teams=EXTRA_TEAM))
        self.addCleanup(gw.stop)
        self.inbound = gw.listening("inbound")
        self.submission = gw.listening("submission")
        gw.started()
        return gw

    def send(self, port, sender, recipients, data):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(sender)[0], 250)
            for r in recipients:
                self.assertEqual(s.rcpt(r)[0], 250, r)
            code, reply = s.data(data)
            self.assertEqual(code, 250, reply)
            return queue_id(reply)

    def pending(self, gw):
        return [e for e in gw.queue_entries() if e["state"] in ("queued", "leased")]

    def retry_all(self, gw):
        """`sinetti queue retry ID` for every waiting entry (a leased one is busy: skipped)."""
        for e in self.pending(gw):
            if e["state"] == "queued":
                gw.cli("queue", "retry", e["id"], check=False)

    def deferrals(self, gw, predicate):
        """entry id -> number of "deferred" log events that satisfy predicate."""
        out = {}
        for e in gw.select(lambda e: e.get("event") == "deferred" and predicate(e)):
            out[e["entry"]] = out.get(e["entry"], 0) + 1
        return out

    def check_dsn(self, dsn, sender, failed_recipient, subject, body_marker):
        self.assertTrue(from_null(dsn), f"a DSN has the null envelope sender, not {dsn.mail_from!r}")
        self.assertEqual(dsn.rcpt_tos, [sender])
        m = dsn.parsed()
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertEqual(m.get_param("report-type"), "delivery-status")
        types = [p.get_content_type() for p in m.iter_parts()]
        self.assertEqual(types, ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        status = dsn.raw.decode("ascii", "replace")
        self.assertIn(f"Final-Recipient: rfc822; {failed_recipient}", status)
        self.assertIn("Action: failed", status)
        self.assertIn("Status: 5.1.1", status)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1", status)
        headers = list(m.iter_parts())[2]
        original = headers.get_payload(decode=True).decode("utf-8", "replace")
        self.assertIn(f"Subject: {subject}", original)
        self.assertNotIn(body_marker, dsn.raw.decode("utf-8", "replace"), "never the original body")

    # ---------------------------------------------------------------------------------------------

    def test_refusing_then_down_then_back(self):
        busy = self.mail_server("busy-rcpt", "--rcpt-reply=*=450 4.2.1 Mailbox busy, try again later")
        port = busy.port
        gw = self.gateway(port)
        expected = []  # Message-IDs that must arrive, once each
        bodies = []
        for i in range(6):
            to = NEUVONTA if i % 2 == 0 else TYONHAKU
            mid, data = mail(f"Kysymys {i}", f"Kysymys numero {i} {unique('body')}", to=to)
            self.send(self.inbound, CITIZEN, [to], data)
            expected.append(mid)
        # Two protected messages: their notifications go through the same relay.
        protected = []
        for i in range(2):
            secret = unique("secret")
            bodies.append(secret)
            _, data = mail("x", secret, sender=STAFF, to=f"asiakas{i}@example.net.s")
            protected.append(self.send(self.submission, STAFF, [f"asiakas{i}@example.net.s"], data))
        # One to a closed mailbox: deferred like the others while the server is away, then 5xx.
        gone_subject = unique("gone-subject")
        gone_body = unique("gone-body")
        gone_mid, data = mail(gone_subject, gone_body, to=GONE)
        gone_qid = self.send(self.inbound, CITIZEN, [GONE], data)

        entries = wait_until(lambda: (e := gw.queue_entries()) and len(e) == 9 and e, 30, "nine queue entries")
        ids = {e["id"] for e in entries}
        notification_entries = [e for e in entries if e["kind"] == "notification"]
        self.assertEqual(len(notification_entries), 2)

        # (a) 4xx: every entry is deferred with the server's 450 to RCPT, then (another server on the
        # same port) twice with a 451 after the data.
        wait_until(lambda: ids <= set(self.deferrals(gw, lambda e: e.get("code") == 450)), 60,
                   "a 450 deferral for every entry")
        busy.stop()
        busy = self.mail_server("busy-data", "--data-reply=451 4.3.0 Mailbox busy, try again later", port=port)
        def two_451s():
            self.retry_all(gw)
            return ids <= {k for k, n in self.deferrals(gw, lambda e: e.get("code") == 451).items() if n >= 2}
        wait_until(two_451s, 90, "two 451 deferrals for every entry", interval=1)
        self.assertEqual(busy.messages(), [])
        busy.stop()

        # (b) nothing listens: connection refused, a local reason (no reply code), still deferred.
        refused_before = self.deferrals(gw, lambda e: e.get("code") == 0)
        down_since = time.monotonic()

        def refused_for_all():
            self.retry_all(gw)
            now = self.deferrals(gw, lambda e: e.get("code") == 0)
            return all(now.get(i, 0) >= refused_before.get(i, 0) + 2 for i in ids)
        wait_until(refused_for_all, 90, "two refused-connection deferrals for every entry", interval=1)
        time.sleep(max(0, 5 - (time.monotonic() - down_since)))  # down for a while, backing off
        self.assertEqual(len(self.pending(gw)), 9, "nothing given up while the server is away")
        self.assertEqual(gw.select(lambda e: e.get("event") == "bounced"), [])
        self.assertEqual(gw.query("SELECT count(*) AS n FROM messages WHERE kind = 'dsn'")[0]["n"], 0,
                         "no DSN while only deferring")

        # (c) a normal server comes back on the same port: everything is delivered, once.
        back = self.mail_server("back", *PERMANENT, port=port)

        def all_arrived():
            self.retry_all(gw)
            counts = message_ids(back)
            notified = [m for m in back.messages() if m.header("X-Sinetti-Notification") == "recipient"]
            return all(mid in counts for mid in expected) and len(notified) == 2 and not self.pending(gw)
        wait_until(all_arrived, 120, "every message at the recovered server and an empty queue", interval=1)
        time.sleep(2)  # anything sent twice would show up now
        counts = message_ids(back)
        for mid in expected:
            self.assertEqual(counts.get(mid), 1, mid)
        notified = [m for m in back.messages() if m.header("X-Sinetti-Notification") == "recipient"]
        self.assertEqual(sorted(m.rcpt_tos[0] for m in notified), ["asiakas0@example.net", "asiakas1@example.net"])
        self.assertEqual(len({m.header("Message-ID") for m in notified}), 2)
        for m in back.messages():
            for secret in bodies:
                self.assertNotIn(secret.encode(), m.raw)
        self.assertNotIn(gone_mid, counts)

        # The closed mailbox: exactly one DSN, to the sender, after all the deferrals.
        dsns = [m for m in back.messages() if from_null(m)]
        self.assertEqual(len(dsns), 1, [d.rcpt_tos for d in dsns])
        self.check_dsn(dsns[0], CITIZEN, GONE_BOX, gone_subject, gone_body)
        states = {e["id"]: e["state"] for e in gw.queue_entries()}
        self.assertEqual(sorted(states.values()).count("failed"), 1)
        self.assertEqual([e["state"] for e in gw.queue_entries() if e["message"] == gone_qid], ["failed"])
        self.assertEqual(sum(1 for s in states.values() if s == "done"), 8 + 1)  # 8 + the DSN's own entry
        listed = gw.cli("queue", "list").stdout
        self.assertNotRegex(listed, r"(?m)^\S+  (queued|leased)  ")
        attempts = {e["id"]: e["attempts"] for e in gw.queue_entries() if e["id"] in ids}
        self.assertTrue(all(n >= 6 for n in attempts.values()), attempts)  # 1 + 2 busy, 2 down, 1

    def test_permanent_failures_give_one_dsn_each_and_never_to_null(self):
        server = self.mail_server("server", *PERMANENT)
        gw = self.gateway(server.port)

        # One recipient refused: one DSN.
        subject, body = unique("subject"), unique("body")
        _, data = mail(subject, body, to=GONE)
        self.send(self.inbound, CITIZEN, [GONE], data)
        # Two teams, one of them refused: the other gets the message, the DSN names only the refused one.
        subject2, body2 = unique("subject"), unique("body")
        mid2, data2 = mail(subject2, body2, sender="toinen@example.com", to=GONE)
        self.send(self.inbound, "toinen@example.com", [NEUVONTA, GONE], data2)
        # The null sender: refused, but nothing is bounced to <>.
        subject3, body3 = unique("subject"), unique("body")
        _, data3 = mail(subject3, body3, sender="")
        null_qid = self.send(self.inbound, "", [GONE], data3)
        # A sender whose own address is refused: its DSN fails and is not bounced again.
        subject4, body4 = unique("subject"), unique("body")
        _, data4 = mail(subject4, body4, sender=BOUNCES_REFUSED)
        self.send(self.inbound, BOUNCES_REFUSED, [GONE], data4)

        dsns = server.wait_for(from_null, count=2, what="two DSNs")
        delivered = server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and body2.encode() in m.raw,
                                    what="the copy for the team that exists")
        self.assertEqual(len(delivered), 1)
        # Everything has ended: no queued or leased entries, four failures + the DSN that failed.
        wait_until(lambda: not self.pending(gw), 60, "an empty queue")
        gw.wait_for(lambda e: e.get("event") == "bounced" and e.get("dsn") is False and
                    e.get("id") == null_qid)
        time.sleep(2)  # a DSN too many would have arrived by now
        dsns = [m for m in server.messages() if from_null(m)]
        self.assertEqual(sorted(d.rcpt_tos[0] for d in dsns), sorted([CITIZEN, "toinen@example.com"]))
        by_rcpt = {d.rcpt_tos[0]: d for d in dsns}
        self.check_dsn(by_rcpt[CITIZEN], CITIZEN, GONE_BOX, subject, body)
        self.check_dsn(by_rcpt["toinen@example.com"], "toinen@example.com", GONE_BOX, subject2, body2)
        self.assertNotIn(NEUVONTA_BOX, by_rcpt["toinen@example.com"].raw.decode())
        self.assertEqual(by_rcpt["toinen@example.com"].raw.decode().count("Final-Recipient:"), 1)
        for m in server.messages():
            self.assertFalse(set(m.rcpt_tos) & {"", "<>"}, m.rcpt_tos)
            self.assertNotIn(body3.encode(), m.raw)
        entries = gw.queue_entries()
        dsn_entries = [e for e in entries if e["kind"] == "dsn"]
        self.assertEqual(sorted((e["recipient"], e["state"]) for e in dsn_entries),
                         sorted([(CITIZEN, "done"), ("toinen@example.com", "done"), (BOUNCES_REFUSED, "failed")]))
        self.assertTrue(all(e["sender"] == "" for e in dsn_entries))
        self.assertEqual(gw.query("SELECT count(*) AS n FROM messages WHERE kind = 'dsn'")[0]["n"], 3)
        failed = [e for e in entries if e["kind"] == "forward" and e["state"] == "failed"]
        self.assertEqual(sorted(e["sender"] for e in failed), sorted([CITIZEN, "toinen@example.com", "",
                                                                     BOUNCES_REFUSED]))

    def test_notification_bounces_reveal_no_token(self):
        server = self.mail_server("server", *PERMANENT)
        gw = self.gateway(server.port)
        # Staff -> a client address that does not exist: the notification bounces to the staff member.
        secret = unique("secret")
        _, data = mail(unique("subject"), secret, sender=STAFF, to=NO_CLIENT + ".s")
        staff_qid = self.send(self.submission, STAFF, [NO_CLIENT + ".s"], data)
        # A citizen's message with an identity code for a team whose mailbox refuses it: the team
        # notification bounces to the citizen.
        secret2 = unique("secret")
        _, data2 = mail(unique("subject"), f"{secret2} hetu {IDENTITY_CODE}", to=GONE)
        team_qid = self.send(self.inbound, CITIZEN, [GONE], data2)
        dsns = server.wait_for(from_null, count=2, what="two DSNs for the notifications")
        by_rcpt = {d.rcpt_tos[0]: d for d in dsns}
        self.assertEqual(sorted(by_rcpt), sorted([STAFF, CITIZEN]))
        tokens = [r["token_hash"] for r in gw.query("SELECT token_hash FROM read_tokens WHERE message_id IN (?, ?)",
                                                     staff_qid, team_qid)]
        self.assertEqual(len(tokens), 3)  # the client's read link; the team's read and reply links
        for d in dsns:
            text = d.raw.decode("utf-8", "replace")
            for s in (secret, secret2, IDENTITY_CODE):
                self.assertNotIn(s, text)
            # No link token of any kind: not in a read link, not in a reply+TOKEN address.
            self.assertNotRegex(text, r"/m/[A-Za-z0-9_-]{43}")
            self.assertNotRegex(text, r"reply\+[A-Za-z0-9_-]{43}@")
            for word in re.findall(r"[A-Za-z0-9_-]{43}", text):
                self.assertNotIn(hashlib.sha256(word.encode()).digest(), tokens, "a token in the DSN")
        self.assertIn(f"Final-Recipient: rfc822; {NO_CLIENT}", by_rcpt[STAFF].raw.decode())
        self.assertIn(f"Final-Recipient: rfc822; {GONE_BOX}", by_rcpt[CITIZEN].raw.decode())


if __name__ == "__main__":
    unittest.main()
