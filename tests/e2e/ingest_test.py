"""What the real `sinetti serve` does with a message at the end of DATA, seen through its Maildir
transport (the development configuration): a forwarded enquiry arrives unchanged behind our
Received: field; a message whose recipients are partly refused is accepted for the others and the
sender gets one DSN naming the refused ones (original headers only, never the body); a protection
level that cannot be met is refused with the reason; the notification carries no content."""
import email
import email.policy
import pathlib
import smtplib
import time
import unittest

from serve_test import Gateway, dev_config

MARKER = "Salaisuus-7f3a9c"


class Ingest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(dev_config())
        ports = {}
        for name in ("inbound", "submission"):
            e = cls.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        cls.inbound, cls.submission = ports["inbound"], ports["submission"]
        cls.gw.wait_for(lambda e: e.get("event") == "started")
        cls.maildir = cls.gw.cwd / "var" / "mail" / "new"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def delivered(self, predicate, timeout=20):
        """Waits for a delivered file whose parsed message satisfies predicate; returns the message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.maildir.exists():
                for f in sorted(self.maildir.iterdir()):
                    msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                    if predicate(msg):
                        return msg, f.read_bytes()
            time.sleep(0.1)
        self.fail("no such delivery")

    def test_forwarded_enquiry_is_unchanged_behind_a_received_field(self):
        body = b"From: asiakas@example.com\r\nTo: neuvonta@tyollisyys.example.fi\r\nSubject: Aukiolo\r\n" \
               b"Message-ID: <fwd-1@example.com>\r\n\r\nMilloin olette auki?\r\n"
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            s.sendmail("asiakas@example.com", ["neuvonta@tyollisyys.example.fi"], body)
        msg, raw = self.delivered(lambda m: m.get("Message-ID") == "<fwd-1@example.com>")
        self.assertEqual(msg["Delivered-To"], "neuvonta-tiimi@intra.example.fi")
        self.assertIn("(Sinetti)", msg["Received"])
        self.assertTrue(raw.endswith(body), "the message follows our trace fields byte for byte")

    def test_partly_refused_recipients_get_one_dsn(self):
        body = ("From: asiakas@example.com\r\nSubject: Kaksi\r\nMessage-ID: <mixed-1@example.com>\r\n\r\n"
                f"{MARKER}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            refused = s.sendmail("asiakas@example.com",
                                 ["neuvonta@tyollisyys.example.fi", "ei-ketaan@tyollisyys.example.fi"], body)
        self.assertEqual(refused, {})  # accepted at RCPT; the rules decide after DATA
        self.delivered(lambda m: m.get("Message-ID") == "<mixed-1@example.com>")
        dsn, raw = self.delivered(lambda m: m.get_content_type() == "multipart/report")
        self.assertEqual(dsn["Delivered-To"], "asiakas@example.com")
        self.assertIn("Return-Path: <>", raw.decode(errors="replace"))
        parts = {p.get_content_type(): p for p in dsn.walk()}
        status = parts["message/delivery-status"].as_string()
        self.assertIn("Final-Recipient: rfc822; ei-ketaan@tyollisyys.example.fi", status)
        self.assertIn("Status: 5.1.1", status)
        self.assertIn("Message-ID: <mixed-1@example.com>", parts["text/rfc822-headers"].as_string())
        self.assertNotIn(MARKER, raw.decode(errors="replace"), "a DSN never carries the body")
        time.sleep(1)
        dsns = [f for f in self.maildir.iterdir() if b"multipart/report" in f.read_bytes()]
        self.assertEqual(len(dsns), 1)

    def test_a_level_that_cannot_be_met_is_refused_with_the_reason(self):
        body = b"From: virkailija@intra.example.fi\r\nSubject: x\r\nX-Sinetti-Protect: sms\r\n\r\nbody\r\n"
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=20) as s:
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail("virkailija@intra.example.fi", ["asiakas@example.com"], body)
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn(b"needs a phone number", cm.exception.smtp_error)

    def test_the_notification_carries_a_link_and_no_content(self):
        body = (f"From: virkailija@intra.example.fi\r\nSubject: [suojattu] {MARKER} otsikko\r\n"
                f"Message-ID: <prot-1@intra.example.fi>\r\n\r\n{MARKER} sisalto\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=20) as s:
            s.sendmail("virkailija@intra.example.fi", ["asiakas2@example.com.s"], body)
        note, raw = self.delivered(lambda m: m["To"] == "asiakas2@example.com")
        text = note.get_body(preferencelist=("plain",)).get_content()
        self.assertRegex(text, r"https://127\.0\.0\.1:8443/m/[A-Za-z0-9_-]{43}\?lang=fi")
        self.assertEqual(note["Auto-Submitted"], "auto-generated")
        self.assertEqual(note["Content-Language"], "fi")
        self.assertNotIn(MARKER, raw.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main()
