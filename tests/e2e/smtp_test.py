"""The SMTP listeners of a real `sinetti serve` on loopback (port 0), driven by swaks and Python's
smtplib: EHLO capabilities, STARTTLS, AUTH only after TLS (a users file hashed here with the system's
libargon2), the open-relay refusal on inbound, bare LF and oversize refusals, STARTTLS command
injection; and what the end of DATA answers once the message is classified (250 queued, or the
rule's refusal)."""
import ctypes
import json
import os
import pathlib
import re
import smtplib
import socket
import ssl
import subprocess
import time
import unittest
import urllib.request
import warnings

from serve_test import Gateway

PASSWORD = "kissa-istuu-puussa"


def argon2id_phc(password, salt=b"sinetti-e2e-salt"):
    """A PHC string made by the reference libargon2 (ASVS floor parameters)."""
    lib = ctypes.CDLL("libargon2.so.1")
    fn = lib.argon2id_hash_encoded
    fn.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t,
                   ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    fn.restype = ctypes.c_int
    out = ctypes.create_string_buffer(256)
    pw = password.encode()
    rc = fn(2, 19456, 1, pw, len(pw), salt, len(salt), 32, out, len(out))
    assert rc == 0, rc
    return out.value.decode()


CONFIG = """
instance: {name: "Sinetti (e2e)", public_url: "https://gw.example.fi", data_dir: var}
listeners:
  - name: inbound
    address: "127.0.0.1:0"
    role: inbound
    domains: [tyollisyys.example.fi]
    tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
    max_message_size: 64KiB
  - name: submission
    address: "127.0.0.1:0"
    role: submission
    tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
    auth: {users_file: users}
portal:
  address: "127.0.0.1:0"
  tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
admin: {address: "127.0.0.1:0"}
delivery: {transport: "maildir:var/mail"}
keys: {dir: var/keys, create_if_missing: true}
teams:
  - id: neuvonta
    name: {fi: Neuvonta, sv: Rådgivning, en: Advice}
    address: neuvonta@tyollisyys.example.fi
    mailbox: neuvonta-tiimi@intra.example.fi
routing:
  rules:
    - {name: marked, when: {role: submission, marked: true}, action: {protect: {level: from_marks}}}
    - {name: enquiries, when: {recipient: {team: any}}, action: {forward: {team: from_recipient}}}
    - {name: rest, when: {}, action: {reject: {code: 550, text: "5.1.1 No such recipient here"}}}
"""


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the development certificate is self-signed
    return ctx


class Listeners(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(CONFIG, before_start=cls._write_users)
        ports = {}
        for name in ("inbound", "submission", "admin"):
            e = cls.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        cls.inbound, cls.submission, cls.admin = ports["inbound"], ports["submission"], ports["admin"]
        cls.gw.wait_for(lambda e: e.get("event") == "started")

    @staticmethod
    def _write_users(cwd):
        users = cwd / "users"
        users.write_text("# e2e\nalice:" + argon2id_phc(PASSWORD) + "\n")
        users.chmod(0o600)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def swaks(self, *args):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--timeout", "20", *args], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL,
                           timeout=60)
        return r.returncode, r.stdout + r.stderr

    def raw(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        return s

    @staticmethod
    def read_reply(sock):
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data.decode()
            data += chunk
            lines = data.split(b"\r\n")
            if len(lines) >= 2 and re.match(rb"^\d{3} ", lines[-2]):
                return data.decode()

    def test_ehlo_capabilities(self):
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            code, banner = s.ehlo("client.example")
            self.assertEqual(code, 250)
            for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "starttls"):
                self.assertTrue(s.has_extn(ext), ext)
            self.assertEqual(s.esmtp_features["size"], str(64 * 1024))
            self.assertFalse(s.has_extn("auth"))
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=20) as s:
            s.ehlo("staff.example")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))  # only after STARTTLS

    def test_starttls(self):
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            s.ehlo("client.example")
            code, _ = s.starttls(context=no_verify())
            self.assertEqual(code, 220)
            self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
        rc, out = self.swaks("--port", str(self.inbound), "--to", "neuvonta@tyollisyys.example.fi",
                             "--from", "citizen@example.com", "-tls")
        self.assertIn("TLS started with cipher", out)
        self.assertRegex(out, r"<~ +250 2\.0\.0 Ok: queued as [0-9A-Z]{18}")

    def test_old_tls_is_refused(self):
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            s.ehlo("client.example")
            ctx = no_verify()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # offering them is the point
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            with self.assertRaises((ssl.SSLError, OSError, smtplib.SMTPServerDisconnected)):
                s.starttls(context=ctx)

    def test_auth_only_after_tls(self):
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=20) as s:
            s.ehlo("staff.example")
            code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlAHg=")
            self.assertEqual(code, 502)
            code, msg = s.docmd("MAIL", "FROM:<alice@tyollisyys.example.fi>")
            self.assertEqual((code, msg), (530, b"5.7.0 Authentication required"))
            s.starttls(context=no_verify())
            s.ehlo("staff.example")
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login("alice", "wrong password")
            self.assertEqual(cm.exception.smtp_code, 535)
            s.login("alice", PASSWORD)
            refused = s.sendmail("alice@tyollisyys.example.fi", ["client@example.net.0401234567.s"],
                                 b"Subject: [secure] test\r\n\r\nhello\r\n")
            self.assertEqual(refused, {})
        rc, out = self.swaks("--port", str(self.submission), "--to", "client@example.net", "--from",
                             "alice@tyollisyys.example.fi", "-tls", "-a", "LOGIN", "-au", "alice", "-ap", PASSWORD)
        self.assertIn("235 2.7.0 Authentication successful", out)
        # Not marked, not a team: the catch-all rule refuses it after DATA.
        self.assertIn("550 5.1.1 No such recipient here", out)
        log = json.dumps(self.gw.events)
        self.assertNotIn(PASSWORD, log)
        deadline = time.monotonic() + 10  # the log is read by another thread
        while self.gw.count(lambda e: e.get("event") == "smtp_auth" and e.get("user") == "alice") < 2:
            self.assertLess(time.monotonic(), deadline, "two successful AUTH events")
            time.sleep(0.05)

    def test_open_relay_refused_on_inbound(self):
        rc, out = self.swaks("--port", str(self.inbound), "--to", "victim@gmail.com", "--from", "spammer@example.com")
        self.assertNotEqual(rc, 0)
        self.assertIn("<** 550 5.7.1 Relaying denied", out)
        self.assertNotRegex(out, r"(?m)^<[-~*]* *354")  # no server line granted DATA (the port may hold "354")
        rc, out = self.swaks("--port", str(self.inbound), "--to", "someone@tyollisyys.example.fi.evil.example",
                             "--from", "spammer@example.com", "-tls")
        self.assertRegex(out, r"<~\*+ 550 5.7.1 Relaying denied")  # "~": over TLS

    def test_bare_lf_and_oversize_are_refused(self):
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            s.ehlo("client.example")
            self.assertEqual(s.docmd("MAIL", "FROM:<a@example.com> SIZE=1000000")[0], 552)
            self.assertEqual(s.mail("a@example.com")[0], 250)
            self.assertEqual(s.rcpt("neuvonta@tyollisyys.example.fi")[0], 250)
            self.assertEqual(s.docmd("DATA")[0], 354)
            # Only CRLF.CRLF ends the data: the "\n.\r\n" inside is content, and refused as bare LF.
            s.send(b"Subject: smuggling\r\n\r\nline one\n.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n")
            code, msg = s.getreply()
            self.assertEqual(code, 550)
            self.assertIn(b"bare <LF>", msg)
            self.assertEqual(s.mail("a@example.com")[0], 250)
            self.assertEqual(s.rcpt("neuvonta@tyollisyys.example.fi")[0], 250)
            self.assertEqual(s.docmd("DATA")[0], 354)
            s.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 100 + b".\r\n")
            code, msg = s.getreply()
            self.assertEqual((code, msg), (552, b"5.3.4 Error: message size exceeds fixed limit"))

    def test_starttls_injection_is_discarded(self):
        s = self.raw(self.inbound)
        self.assertTrue(self.read_reply(s).startswith("220 "))
        s.sendall(b"EHLO client.example\r\n")
        self.assertIn("250 ", self.read_reply(s))
        s.sendall(b"STARTTLS\r\nRSET\r\n")  # one write: RSET must never be answered
        self.assertEqual(self.read_reply(s), "220 2.0.0 Ready to start TLS\r\n")
        t = no_verify().wrap_socket(s, server_hostname="localhost")
        self.addCleanup(t.close)
        t.sendall(b"NOOP\r\n")
        self.assertEqual(self.read_reply(t), "250 2.0.0 Ok\r\n")
        t.sendall(b"QUIT\r\n")
        self.assertEqual(self.read_reply(t), "221 2.0.0 Bye\r\n")

    def test_session_events_are_logged_and_counted(self):
        with smtplib.SMTP("127.0.0.1", self.inbound, timeout=20) as s:
            s.ehlo("client.example")
        ended = self.gw.wait_for(lambda e: e.get("event") == "smtp_session_ended" and e.get("listener") == "inbound")
        started = [e for e in self.gw.events if e.get("event") == "smtp_session_started"
                   and e.get("session") == ended["session"]]
        self.assertEqual(len(started), 1)
        self.assertEqual(started[0]["peer"].rsplit(":", 1)[0], "127.0.0.1")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        m = re.search(r'(?m)^sinetti_smtp_sessions_total\{listener="inbound"\} (\d+)$', metrics)
        self.assertIsNotNone(m, metrics)
        self.assertGreaterEqual(int(m.group(1)), 1)
        # The accepted-message counter agrees with the log of accepted messages (the other tests
        # of this class have sent some by now).
        deadline = time.monotonic() + 10
        while True:
            accepted = self.gw.count(lambda e: e.get("event") == "smtp_message" and e.get("listener") == "submission"
                                     and e.get("result") == "accepted")
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=10) as r:
                metrics = r.read().decode()
            m = re.search(r'(?m)^sinetti_messages_received_total\{listener="submission"\} (\d+)$', metrics)
            self.assertIsNotNone(m, metrics)
            if int(m.group(1)) == accepted or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(int(m.group(1)), accepted)


if __name__ == "__main__":
    unittest.main()
