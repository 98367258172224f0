"""Mail through a real `sinetti serve` end to end: clients (Python's smtplib, swaks, raw sockets) on
the inbound and submission listeners; the test mail server (tests/e2e/mailserver.py, aiosmtpd)
behind `delivery.relay` with STARTTLS verified against its own test CA, standing in for the
organisation's mail server. Checked: enquiries forwarded byte for byte; every marking convention
(address suffix, phone suffix, subject tags, X-Sinetti-* headers) giving a notification with a
read link whose token the store knows, and the protected content never leaving the gateway;
identity codes in attachments; 8BITMIME, pipelining, STARTTLS with AUTH; a 30 MB attachment; and
the operator's queue and message commands against the running gateway's store."""
import base64
import hashlib
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from mail_support import (NEUVONTA, NEUVONTA_BOX, NOTIFY_FROM, TYONHAKU, TYONHAKU_BOX, GatewayProcess, MailServer,
                          gateway_config, links, queue_id, token_sha256, unique, wait_until)
from mailserver import make_test_pki
from smtp_test import PASSWORD, argon2id_phc

STAFF = "alice@tyollisyys.example.fi"
CITIZEN = "kansalainen@example.com"
IDENTITY_CODE = "010594Y9032"  # valid (REFERENCES.md)
DAY_MS = 24 * 3600 * 1000
RECEIVED = re.compile(rb"\AReceived: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*")


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the gateway's development certificate is self-signed
    return ctx


def message(subject, body, sender=CITIZEN, to=NEUVONTA, extra_headers=(), message_id=None):
    headers = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}",
               f"Message-ID: <{message_id or unique('id')}@example.com>", "Date: Mon, 02 Jun 2025 10:00:00 +0300",
               "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", *extra_headers]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + (body.encode() if isinstance(body, str) else body)


class Mail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        pki = make_test_pki(os.path.join(root, "pki"))
        cls.server = MailServer(os.path.join(root, "received"), "--tls-dir", str(pki), "--require-tls",
                                "--pipelining")
        os.mkdir(os.path.join(root, "gw"))

        def write_users(cwd):
            users = cwd / "users"
            users.write_text("alice:" + argon2id_phc(PASSWORD) + "\n")
            users.chmod(0o600)

        cls.gw = GatewayProcess(os.path.join(root, "gw"),
                                gateway_config(cls.server.port, relay_tls="require", ca_file=str(pki / "ca.pem"),
                                               users_file=True),
                                before_start=write_users)
        try:
            cls.inbound = cls.gw.listening("inbound")
            cls.submission = cls.gw.listening("submission")
            cls.staff = cls.gw.listening("staff")
            cls.gw.started()
        except Exception:
            cls.gw.stop()
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    # ---- helpers -----------------------------------------------------------------------------------

    def send(self, port, sender, recipients, data, mail_options=(), tls=False, login=False):
        """One transaction; returns the queue id from "250 2.0.0 Ok: queued as ID"."""
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
            s.ehlo("client.example")
            if tls:
                s.starttls(context=no_verify())
                s.ehlo("client.example")
            if login:
                s.login("alice", PASSWORD)
            code, reply = s.mail(sender, list(mail_options))
            self.assertEqual(code, 250, reply)
            for r in recipients:
                code, reply = s.rcpt(r)
                self.assertEqual(code, 250, (r, reply))
            code, reply = s.data(data)
            self.assertEqual(code, 250, reply)
            return queue_id(reply)

    def protected_by(self, qid):
        rows = self.gw.query("SELECT * FROM messages WHERE id = ?", qid)
        self.assertEqual(len(rows), 1, qid)
        return rows[0]

    def notifications(self, qid, recipients, timeout=60):
        """The notification for each recipient: the mail whose envelope names only that recipient and
        whose text carries the protected message's id."""
        out = {}
        for r in recipients:
            hits = self.server.wait_for(lambda m, r=r: m.rcpt_tos == [r] and qid in m.text(), timeout=timeout,
                                        what=f"the notification of {qid} to {r}")
            self.assertEqual(len(hits), 1, f"one notification of {qid} to {r}")
            out[r] = hits[0]
        return out

    def assert_nowhere(self, *secrets):
        """Nothing the mail server received holds any of `secrets` (raw or decoded)."""
        for m in self.server.messages():
            for s in secrets:
                self.assertNotIn(s.encode(), m.raw, f"{m.path.name} holds {s!r}")
                self.assertNotIn(s, m.text(), f"{m.path.name} holds {s!r} (decoded)")

    def check_link(self, notification, qid, recipient, language):
        """The notification carries one link; the store knows its token's SHA-256 for this message."""
        found = links(notification.text())
        self.assertEqual(len(found), 1, notification.text())
        token, lang = found[0]
        self.assertEqual(lang, language)
        rows = self.gw.query("SELECT * FROM read_tokens WHERE token_hash = ?", token_sha256(token))
        self.assertEqual(len(rows), 1, "the link's token is in read_tokens")
        t = rows[0]
        self.assertEqual(t["message_id"], qid)
        self.assertEqual(t["purpose"], "read")
        self.assertEqual(t["recipient"], recipient)
        self.assertIsNone(t["revoked_at"])
        self.assertAlmostEqual(t["expires_at"] - t["created_at"], 30 * DAY_MS, delta=5000)  # unlock.link_ttl
        self.assertGreater(t["expires_at"], time.time() * 1000 + 29 * DAY_MS)
        return token

    def check_protected(self, qid, recipients, level, unlock, secrets, language="fi", subject=None,
                        sender=STAFF):
        """A protected message: stored sealed, one notification + one read link per recipient, the
        content nowhere at the mail server."""
        row = self.protected_by(qid)
        self.assertEqual(row["kind"], "protected")
        self.assertEqual(row["state"], "stored")
        self.assertEqual(row["protection"], level)
        self.assertEqual(row["unlock_kind"], unlock)
        self.assertIsNotNone(row["wrapped_key"])
        stored_recipients = [r["address"] for r in self.gw.query(
            "SELECT address FROM message_recipients WHERE message_id = ? ORDER BY position", qid)]
        self.assertEqual(stored_recipients, list(recipients))
        notes = self.notifications(qid, recipients)
        tokens = set()
        for r, n in notes.items():
            self.assertEqual(n.mail_from, sender)
            parsed = n.parsed()
            self.assertEqual(parsed["To"].addresses[0].addr_spec, r)
            self.assertEqual(parsed["From"].addresses[0].addr_spec, NOTIFY_FROM)
            self.assertEqual(parsed["X-Sinetti-Notification"], "recipient")
            self.assertEqual(parsed["Auto-Submitted"], "auto-generated")
            self.assertEqual(parsed["Content-Language"], language)
            if subject is not None:
                self.assertNotIn(subject, n.text())  # notifications.include_subject is off
                self.assertNotIn(subject.encode(), n.raw)
            tokens.add(self.check_link(n, qid, r, language))
        self.assertEqual(len(tokens), len(recipients), "one distinct token per recipient")
        self.assertEqual(len(self.gw.query("SELECT 1 FROM read_tokens WHERE message_id = ?", qid)), len(recipients))
        self.assert_nowhere(*secrets)
        # Nothing is ever addressed with the protection suffix still on.
        for m in self.server.messages():
            for rcpt in m.rcpt_tos:
                self.assertFalse(rcpt.endswith(".s"), rcpt)
        return notes, tokens

    # ---- general enquiries -------------------------------------------------------------------------

    def test_enquiry_forwarded_unchanged(self):
        body = f"Hyvä neuvonta,\r\nmilloin on seuraava infotilaisuus? {unique('body')}\r\n.leading dot\r\n"
        data = message("Kysymys infotilaisuudesta", body)
        qid = self.send(self.inbound, CITIZEN, [NEUVONTA], data)
        got = self.server.wait_for(lambda m: data in m.raw, what="the forwarded enquiry")[0]
        self.assertEqual(got.mail_from, CITIZEN)
        self.assertEqual(got.rcpt_tos, [NEUVONTA_BOX])
        self.assertEqual(got.meta["tls"] in ("TLSv1.2", "TLSv1.3"), True, got.meta)
        received = RECEIVED.match(got.raw)
        self.assertIsNotNone(received, got.raw[:300])
        self.assertEqual(got.raw[received.end():], data, "byte-identical after our Received: line")
        self.assertIn(f"id {qid}".encode(), received.group(0).replace(b"\r\n\t", b" "))
        self.assertIn(f"for <{NEUVONTA}>".encode(), received.group(0).replace(b"\r\n\t", b" "))
        # The spool copy is shredded once delivered; the row stays for the audit.
        row = wait_until(lambda: (r := self.protected_by(qid)) and r["state"] != "stored" and r, 30, "the shred")
        self.assertEqual(row["kind"], "spool")
        self.assertIsNone(row["wrapped_key"])
        self.assertEqual(self.gw.query("SELECT count(*) AS n FROM content_chunks WHERE message_id = ?", qid)[0]["n"], 0)

    def test_enquiry_with_swaks_to_two_teams(self):
        marker = unique("swaks")
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.inbound), "--timeout", "30",
                            "--from", CITIZEN, "--to", f"{NEUVONTA},{TYONHAKU}", "-tls",
                            "--header", f"Subject: {marker}", "--body", f"Kysymys {marker}\n"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=90)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        qid = queue_id(re.search(r"<~ +250 2\.0\.0 Ok: queued as \S+", r.stdout).group(0))
        got = self.server.wait_for(lambda m: marker.encode() in m.raw, count=2, what="two team copies")
        self.assertEqual(sorted(m.rcpt_tos[0] for m in got), sorted([NEUVONTA_BOX, TYONHAKU_BOX]))
        self.assertEqual(got[0].raw, got[1].raw)  # one spooled copy, delivered to each mailbox
        self.assertIn(b"with ESMTPS id " + qid.encode(), got[0].raw.replace(b"\r\n\t", b" "))

    def test_eight_bit_body(self):
        body = f"Hyvää päivää! Åbo, Vaasa — 100 € {unique('8bit')}\r\n".encode("utf-8") + b"\xe4 latin-1 too\r\n"
        data = message("Ääkköset", body).replace(b"Subject: \xc3\x84\xc3\xa4kk\xc3\xb6set",
                                                 "Subject: Ääkköset".encode("utf-8"))
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=60) as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("8bitmime"))
        self.send(self.inbound, CITIZEN, [NEUVONTA], data, mail_options=["BODY=8BITMIME"])
        got = self.server.wait_for(lambda m: data in m.raw, what="the 8-bit enquiry")[0]
        self.assertEqual(got.raw[RECEIVED.match(got.raw).end():], data)
        self.assertIn("BODY=8BITMIME", got.meta["mail_options"])

    def test_pipelined_transaction(self):
        marker = unique("pipe")
        data = message("Pipelined", f"Putkitettu {marker}\r\n")
        s = socket.create_connection(("127.0.0.1", self.inbound), timeout=30)
        self.addCleanup(s.close)
        f = s.makefile("rb")

        def reply():
            lines = []
            while True:
                line = f.readline()
                self.assertTrue(line, "connection closed")
                lines.append(line)
                if line[3:4] == b" ":
                    return int(line[:3]), b"".join(lines)

        self.assertEqual(reply()[0], 220)
        s.sendall(b"EHLO client.example\r\n")
        code, caps = reply()
        self.assertIn(b"PIPELINING", caps)
        # One write: MAIL, three RCPTs (one refused: relaying), DATA.
        s.sendall(f"MAIL FROM:<{CITIZEN}>\r\nRCPT TO:<{NEUVONTA}>\r\nRCPT TO:<someone@elsewhere.example>\r\n"
                  f"RCPT TO:<{TYONHAKU}>\r\nDATA\r\n".encode())
        self.assertEqual([reply()[0] for _ in range(5)], [250, 250, 550, 250, 354])
        s.sendall(data + b".\r\n")
        code, text = reply()
        self.assertEqual(code, 250, text)
        s.sendall(b"QUIT\r\n")
        self.assertEqual(reply()[0], 221)
        got = self.server.wait_for(lambda m: marker.encode() in m.raw, count=2, what="two pipelined copies")
        self.assertEqual(sorted(m.rcpt_tos[0] for m in got), sorted([NEUVONTA_BOX, TYONHAKU_BOX]))
        # The gateway's own client pipelines towards a server that offers it.
        self.assertIn(["MAIL", "RCPT", "DATA"], got[0].meta["packets"])

    def test_bare_lf_smuggling_never_reaches_the_mail_server(self):
        marker = unique("smuggle")
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=30) as s:
            s.ehlo("client.example")
            s.mail(CITIZEN)
            s.rcpt(NEUVONTA)
            self.assertEqual(s.docmd("DATA")[0], 354)
            s.send(f"Subject: {marker}\r\n\r\nline\n.\r\nMAIL FROM:<x@evil.example>\r\nRCPT TO:<{TYONHAKU}>\r\n"
                   f"DATA\r\nSubject: smuggled {marker}\r\n\r\nsmuggled\r\n.\r\n".encode())
            code, msg = s.getreply()
            self.assertEqual(code, 550, msg)
            # The session goes on; a proper message afterwards is forwarded.
            data = message("after", f"after {marker}\r\n")
            self.assertEqual(s.sendmail(CITIZEN, [NEUVONTA], data), {})
        got = self.server.wait_for(lambda m: marker.encode() in m.raw, what="the message after the refusal")
        self.assertEqual(len(got), 1)
        time.sleep(1)
        hits = [m for m in self.server.messages() if marker.encode() in m.raw]
        self.assertEqual([m.raw[RECEIVED.match(m.raw).end():] for m in hits], [data])

    # ---- marking conventions -----------------------------------------------------------------------

    def test_address_suffix(self):
        secret = unique("suffix-secret")
        subject = unique("suffix-subject")
        qid = self.send(self.submission, STAFF, ["asiakas.a@example.net.s"], message(subject, secret, sender=STAFF,
                                                                                      to="asiakas.a@example.net.s"))
        self.check_protected(qid, ["asiakas.a@example.net"], "letter", "device", [secret], subject=subject)

    def test_phone_suffix(self):
        secret = unique("sms-secret")
        subject = unique("sms-subject")
        qid = self.send(self.submission, STAFF, ["asiakas.b@example.net.0401234567.s"],
                        message(subject, secret, sender=STAFF, to="asiakas.b@example.net.0401234567.s"))
        notes, _ = self.check_protected(qid, ["asiakas.b@example.net"], "sms", "phone",
                                        [secret, "0401234567", "358401234567"], subject=subject)
        self.assertIn("päättyy 67", notes["asiakas.b@example.net"].text())  # only the last two digits
        row = self.protected_by(qid)
        self.assertNotIn(b"0401234567", row["unlock_phone"])  # sealed
        self.assertNotIn(b"358401234567", row["unlock_phone"])

    def test_subject_tags(self):
        for tag, language in (("[secure]", "en"), ("[suojattu]", "fi"), ("[skyddad]", "sv")):
            with self.subTest(tag=tag):
                secret = unique("tag-secret")
                subject = unique("tag-subject")
                to = f"asiakas.{language}@example.net"
                qid = self.send(self.submission, STAFF, [to],
                                message(f"Re: {tag} {subject}", secret, sender=STAFF, to=to))
                notes, _ = self.check_protected(qid, [to], "letter", "device", [secret], language=language,
                                                subject=subject)
                self.assertNotIn(tag, notes[to].text())

    def test_protect_headers(self):
        cases = [
            ("letter", ["X-Sinetti-Protect: letter"], "letter", "device", []),
            ("sms", ["X-Sinetti-Protect: sms", "X-Sinetti-Sms: +358 40 1234567"], "sms", "phone",
             ["401234567"]),
            ("sms-only", ["X-Sinetti-Sms: 0401234567"], "sms", "phone", ["401234567"]),
            ("identity", [f"X-Sinetti-Identity: {IDENTITY_CODE}"], "personal", "identity", [IDENTITY_CODE]),
            ("personal", ["X-Sinetti-Protect: personal", f"X-Sinetti-Identity: {IDENTITY_CODE.lower()}"],
             "personal", "identity", [IDENTITY_CODE, IDENTITY_CODE.lower()]),
        ]
        for name, headers, level, unlock, secrets in cases:
            with self.subTest(case=name):
                secret = unique("hdr-secret")
                to = f"asiakas.{name}@example.net"
                qid = self.send(self.submission, STAFF, [to], message(unique("hdr-subject"), secret, sender=STAFF,
                                                                      to=to, extra_headers=headers))
                self.check_protected(qid, [to], level, unlock, [secret, *secrets])
                row = self.protected_by(qid)
                if unlock == "identity":
                    self.assertEqual(len(row["unlock_identity"]), 32)  # a keyed hash, not the code
                    self.assertNotIn(IDENTITY_CODE.encode(), row["unlock_identity"])

    def test_identity_is_bound_consistently(self):
        # Two messages for the same person carry the same identity key (HMAC of the code).
        keys = []
        for _ in range(2):
            to = "asiakas.same@example.net"
            qid = self.send(self.submission, STAFF, [to], message("x", unique("same-secret"), sender=STAFF, to=to,
                                                                  extra_headers=[f"X-Sinetti-Identity: {IDENTITY_CODE}"]))
            keys.append(self.protected_by(qid)["unlock_identity"])
        self.assertEqual(keys[0], keys[1])

    def test_several_recipients_one_token_each(self):
        secret = unique("multi-secret")
        recipients = ["eka@example.net", "toka@example.org", "kolmas@example.com"]
        # Marked as a whole (a header), so the recipient named twice, with and without the suffix,
        # is protected both times — and gets one link.
        qid = self.send(self.submission, STAFF, ["eka@example.net.s", "toka@example.org", "kolmas@example.com.s",
                                                 "eka@example.net"],
                        message(unique("multi-subject"), secret, sender=STAFF, to="eka@example.net.s",
                                extra_headers=["X-Sinetti-Protect: letter"]))
        notes, tokens = self.check_protected(qid, recipients, "letter", "device", [secret])
        indexes = sorted(r["recipient_index"] for r in self.gw.query(
            "SELECT recipient_index FROM read_tokens WHERE message_id = ?", qid))
        self.assertEqual(indexes, [0, 1, 2])
        # One protected copy for all of them.
        self.assertEqual(len(self.gw.query("SELECT 1 FROM messages WHERE kind = 'protected' AND id = ?", qid)), 1)
        # None of the tokens is stored in the clear (the database and its write-ahead log).
        db = b"".join(p.read_bytes() for p in (self.gw.cwd / "var").glob("sinetti.db*"))
        self.assertGreater(len(db), 0)
        for t in tokens:
            self.assertNotIn(t.encode(), db)
            self.assertNotIn(token_sha256(t).hex().encode(), db)  # nor its hash as text
            self.assertIn(token_sha256(t), db)

    def test_recipient_refused_after_data_gets_a_dsn(self):
        # The client hears 250 for the message; a recipient that a rule refuses at the end of DATA
        # is reported to the sender in a DSN (never to <>), with the headers and not the body.
        qids, subjects = {}, {}
        for port, sender, accepted, refused in (
                (self.submission, STAFF, "asiakas.dsn@example.net.s", "ulkoinen@example.org"),
                (self.inbound, CITIZEN, NEUVONTA, "ei-tiimia@tyollisyys.example.fi")):
            with self.subTest(refused=refused):
                secret, subject = unique("dsn-secret"), unique("dsn-subject")
                qid = qids[refused] = self.send(port, sender, [accepted, refused],
                                                message(subject, secret, sender=sender, to=accepted))
                subjects[refused] = subject
                dsn = self.server.wait_for(lambda m: m.rcpt_tos == [sender] and subject.encode() in m.raw,
                                           what="the DSN for the refused recipient")[0]
                self.assertIn(dsn.mail_from, ("", "<>"))
                parsed = dsn.parsed()
                self.assertEqual(parsed.get_content_type(), "multipart/report")
                text = dsn.raw.decode("utf-8", "replace")
                self.assertIn(f"Final-Recipient: rfc822; {refused}", text)
                self.assertIn("Status: 5.1.1", text)
                self.assertIn("No such recipient here", text)
                self.assertEqual(text.count("Final-Recipient:"), 1)
                self.assertNotIn(secret, text)
                audit = self.gw.query("SELECT details FROM audit_log WHERE event = 'dsn.queued' AND message_id = ?",
                                      qid)
                self.assertEqual(len(audit), 1)
        # The accepted recipients were served as usual.
        self.notifications(qids["ulkoinen@example.org"], ["asiakas.dsn@example.net"])
        self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and
                             subjects["ei-tiimia@tyollisyys.example.fi"].encode() in m.raw, what="the forwarded copy")
        # From <>: refused recipients are not reported to anyone.
        subject = unique("null-subject")
        self.send(self.inbound, "", [NEUVONTA, "ei-tiimia@tyollisyys.example.fi"], message(subject, "x"))
        self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and subject.encode() in m.raw,
                             what="the copy for the team")
        time.sleep(1)
        self.assertEqual([m for m in self.server.messages() if subject.encode() in m.raw and
                          m.rcpt_tos != [NEUVONTA_BOX]], [])

    # ---- content rules -----------------------------------------------------------------------------

    def check_team_protected(self, qid, secrets):
        row = self.protected_by(qid)
        self.assertEqual(row["kind"], "protected")
        self.assertEqual(row["protection"], "letter")
        self.assertEqual(row["team_id"], "neuvonta")
        note = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and qid in m.text(),
                                    what="the team notification")[0]
        self.assertEqual(note.header("X-Sinetti-Notification"), "team")
        self.assertIn(CITIZEN, note.text())  # the team sees who wrote
        token, lang = links(note.text())[0]
        self.assertIn(f"/staff/m/{token}?lang=", note.text())  # the team's link needs staff sign-in
        t = self.gw.query("SELECT * FROM read_tokens WHERE token_hash = ?", token_sha256(token))
        self.assertEqual([(r["message_id"], r["purpose"], r["recipient"]) for r in t], [(qid, "read", NEUVONTA_BOX)])
        # A reply token goes with it (Reply-To: reply+TOKEN@...), also known only by its hash.
        reply_to = note.header("Reply-To").addresses[0].addr_spec
        reply_token = re.fullmatch(r"reply\+([A-Za-z0-9_-]{43})@.+", reply_to).group(1)
        t = self.gw.query("SELECT * FROM read_tokens WHERE token_hash = ?", token_sha256(reply_token))
        self.assertEqual([(r["message_id"], r["purpose"]) for r in t], [(qid, "reply")])
        self.assert_nowhere(*secrets)
        self.assertEqual([m for m in self.server.messages() if m.rcpt_tos == [NEUVONTA_BOX] and
                          any(s.encode() in m.raw for s in secrets)], [])

    def test_identity_code_in_base64_text_attachment(self):
        secret = unique("attachment-secret")
        attachment = f"Hakemus\r\nhenkilötunnus {IDENTITY_CODE}\r\n{secret}\r\n".encode()
        encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
        body = ("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLiitteenä hakemus.\r\n"
                "--b1\r\nContent-Type: text/plain; charset=utf-8; name=hakemus\r\n"
                "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                f"{encoded}--b1--\r\n")
        data = message("Hakemus", body).replace(b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
                                                b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n', 1)
        qid = self.send(self.inbound, CITIZEN, [NEUVONTA], data)
        self.check_team_protected(qid, [secret, IDENTITY_CODE, encoded.strip()])

    def test_identity_code_in_txt_file(self):
        secret = unique("txt-secret")
        attachment = f"{secret}\nhetu: {IDENTITY_CODE}\n".encode()
        encoded = base64.b64encode(attachment).decode()
        body = ("--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTerve, liitteenä tiedot.\r\n"
                "--b2\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: attachment; filename=\"tiedot.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                f"{encoded}\r\n--b2--\r\n")
        data = message("Tiedot", body).replace(b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
                                               b'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n', 1)
        qid = self.send(self.inbound, CITIZEN, [NEUVONTA], data)
        self.check_team_protected(qid, [secret, IDENTITY_CODE, encoded])

    # ---- STARTTLS and AUTH on submission -----------------------------------------------------------

    def test_starttls_and_auth_submission(self):
        with smtplib.SMTP("127.0.0.1", self.staff, timeout=30) as s:
            s.ehlo("staff.example")
            self.assertFalse(s.has_extn("auth"))
            self.assertEqual(s.docmd("MAIL", f"FROM:<{STAFF}>")[0], 530)  # require_tls
        secret = unique("auth-secret")
        qid = self.send(self.staff, STAFF, ["asiakas.auth@example.net.s"],
                        message("x", secret, sender=STAFF, to="asiakas.auth@example.net.s"), tls=True, login=True)
        self.check_protected(qid, ["asiakas.auth@example.net"], "letter", "device", [secret])
        received = self.gw.query("SELECT details FROM audit_log WHERE event = 'message.received' AND message_id = ?",
                                 qid)
        self.assertIn('"user":"alice"', received[0]["details"])
        # swaks with AUTH LOGIN: an unmarked staff mail to a team address is forwarded, and our
        # Received: line says it came over TLS from an authenticated client.
        marker = unique("swaks-auth")
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.staff), "--timeout", "30",
                            "--from", STAFF, "--to", NEUVONTA, "-tls", "-a", "LOGIN", "-au", "alice", "-ap", PASSWORD,
                            "--header", f"Subject: {marker}"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=90)
        self.assertIn("235 2.7.0 Authentication successful", r.stdout)
        got = self.server.wait_for(lambda m: marker.encode() in m.raw, what="the authenticated submission")[0]
        self.assertIn(b"with ESMTPSA id", got.raw.replace(b"\r\n\t", b" "))
        self.assertNotIn(PASSWORD, "".join(str(e) for e in self.gw.events))

    # ---- size --------------------------------------------------------------------------------------

    def test_30mb_attachment(self):
        payload = os.urandom(30 * 1000 * 1000)
        encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        marker = unique("big")
        data = (f"From: <{CITIZEN}>\r\nTo: <{NEUVONTA}>\r\nSubject: Iso liite {marker}\r\n"
                f"Message-ID: <{marker}@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n"
                "--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLiitteenä video.\r\n"
                "--big\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: attachment; filename=\"video.bin\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n").encode() + encoded + b"--big--\r\n"
        base = self.gw.reset_peak_rss()
        started = time.monotonic()
        qid = self.send(self.inbound, CITIZEN, [NEUVONTA], data)
        accepted = time.monotonic() - started
        got = self.server.wait_for(lambda m: m.rcpt_tos == [NEUVONTA_BOX] and marker.encode() in m.raw[:4096],
                                   timeout=150, what="the 30 MB message")[0]
        forwarded = time.monotonic() - started
        body = got.raw[RECEIVED.match(got.raw).end():]
        self.assertEqual(len(body), len(data))
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertIn(f"id {qid}".encode(), got.raw[:1024].replace(b"\r\n\t", b" "))
        hwm = self.gw.vm_hwm_kib()
        growth = hwm - base
        print(f"\n30 MB attachment ({len(data)} bytes on the wire): 250 after {accepted:.1f}s, "
              f"at the mail server after {forwarded:.1f}s; gateway VmHWM {hwm} KiB, "
              f"{growth / 1024:.1f} MiB above the {base / 1024:.1f} MiB it used before", flush=True)
        # The message is sealed and spooled piece by piece: the gateway never holds it whole. The
        # peak is measured from the resident size just before (a sanitizer build starts far higher).
        self.assertLess(growth * 1024, len(data), "peak RSS growth below the size of the message")

    # ---- the operator's commands -------------------------------------------------------------------

    def test_queue_list_and_message_status_and_revoke(self):
        secret = unique("cli-secret")
        to = "asiakas.cli@example.net"
        qid = self.send(self.submission, STAFF, [to + ".s"], message("x", secret, sender=STAFF, to=to + ".s"))
        notes = self.notifications(qid, [to])
        token, _ = links(notes[to].text())[0]
        # queue list: the notification's entry, done.
        notif_id = self.gw.query("SELECT details FROM audit_log WHERE event = 'notification.queued' AND message_id = ?",
                                 qid)[0]["details"]
        notif_id = re.search(r'"notification":"([0-9A-Z]{18})"', notif_id).group(1)
        entries = wait_until(lambda: [e for e in self.gw.queue_entries() if e["message"] == notif_id
                                      and e["state"] == "done"], 30, "the notification's entry done")
        self.assertEqual(len(entries), 1)
        self.assertEqual((entries[0]["kind"], entries[0]["recipient"], entries[0]["sender"]),
                         ("notification", to, STAFF))
        text = self.gw.cli("queue", "list").stdout
        self.assertRegex(text, rf"(?m)^{entries[0]['id']}  done  notification  <{STAFF}> -> <{to}>  attempts 1$")
        self.assertRegex(text, r"(?m)^\d+ entr(y|ies)$")
        # message status: stored, protected, notified, the notification delivered.
        status = self.gw.cli("message", "status", qid).stdout
        self.assertIn(f"message {qid}", status)
        self.assertRegex(status, r"state +stored")
        self.assertRegex(status, r"protection +letter \(unlock: device\)")
        self.assertIn(f"recipient   <{to}>", status)
        for event in ("message.received", "message.stored", "notification.queued"):
            self.assertRegex(status, rf"(?m)^  \S+  {re.escape(event)}  ")
        self.assertRegex(status, rf"(?m)^  \S+  delivery\.done  delivered  queue  \({notif_id}\)$")
        self.assertNotIn(secret, status)
        self.assertGreater(self.gw.query("SELECT count(*) AS n FROM content_chunks WHERE message_id = ?", qid)[0]["n"], 0)
        # message revoke: the content and its data key are gone; status says so.
        r = self.gw.cli("message", "revoke", qid)
        self.assertIn(f"{qid}: revoked", r.stdout)
        self.assertEqual(self.gw.query("SELECT count(*) AS n FROM content_chunks WHERE message_id = ?", qid)[0]["n"], 0)
        row = self.protected_by(qid)
        self.assertEqual(row["state"], "revoked")
        self.assertIsNone(row["wrapped_key"])
        status = self.gw.cli("message", "status", qid).stdout
        self.assertRegex(status, r"state +revoked at ")
        self.assertRegex(status, r"(?m)^  \S+  message\.revoked  ")
        # The read link no longer opens anything.
        t = self.gw.query("SELECT * FROM read_tokens WHERE token_hash = ?", token_sha256(token))
        self.assertTrue(t == [] or t[0]["revoked_at"] is not None, t)
        self.assertIn(f"{qid}: was already destroyed", self.gw.cli("message", "revoke", qid).stdout)
        self.assertEqual(self.gw.cli("message", "status", "NOSUCHMESSAGE00000", check=False).returncode, 1)


if __name__ == "__main__":
    unittest.main()
