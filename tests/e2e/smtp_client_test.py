"""The outbound SMTP client against a real SMTP server (aiosmtpd through tests/e2e/mailserver.py):
STARTTLS policies and certificate checks, AUTH, pipelining, per-recipient outcomes, a 30 MB body
streamed in pieces, refused connections and timeouts; and the Maildir transport. The client is driven
through the sinetti_smtp_send test tool, which prints the DeliveryResult as JSON."""
import hashlib
import itertools
import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SEND = os.environ["SINETTI_SMTP_SEND"]
PYTHON = "/usr/bin/python3"


class MailServer:
    """tests/e2e/mailserver.py as a child process on 127.0.0.1, port 0."""

    started = itertools.count()

    def __init__(self, workdir, *args):
        self.out = pathlib.Path(workdir) / f"out{next(MailServer.started)}"
        self.proc = subprocess.Popen([PYTHON, str(HERE / "mailserver.py"), "--out", str(self.out), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("mail server did not start: " + self.proc.stderr.read().decode(errors="replace"))
        self.port = int(line)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def messages(self):
        if not self.out.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.out.glob("*.json"))]

    def message_bytes(self, n):
        return (self.out / f"{n:06d}.eml").read_bytes()


def send(port, *args, to=("rcpt@example.com",), sender="sender@example.fi", env=None):
    cmd = [SEND, "--host", "127.0.0.1", "--port", str(port), "--from", sender, "--helo", "gw.test"]
    for r in to:
        cmd += ["--to", r]
    cmd += list(args)
    done = subprocess.run(cmd, capture_output=True, timeout=60, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise AssertionError(f"{cmd} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def send_each(port, recipients, *args, sender="sender@example.fi", env=None):
    """One message per recipient, in turn, through one transport: a list of results."""
    cmd = [SEND, "--host", "127.0.0.1", "--port", str(port), "--from", sender, "--helo", "gw.test"]
    for r in recipients:
        cmd += ["--each", r]
    cmd += list(args)
    done = subprocess.run(cmd, capture_output=True, timeout=60, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise AssertionError(f"{cmd} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def outcomes(result):
    return {r["recipient"]: r["outcome"] for r in result["recipients"]}


class SmtpClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = pathlib.Path(cls.tmp.name)
        cls.tls_dir = cls.dir / "tls"
        cls.plain = MailServer(cls.dir)
        cls.tls = MailServer(cls.dir, "--tls-dir", str(cls.tls_dir), "--pipelining", "--auth", "alice:secret")
        cls.ca = str(cls.tls_dir / "ca.pem")

    @classmethod
    def tearDownClass(cls):
        cls.plain.stop()
        cls.tls.stop()
        cls.tmp.cleanup()

    def test_plain_delivery(self):
        before = len(self.plain.messages())
        r = send(self.plain.port, "--tls", "none")
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        self.assertEqual(r["recipients"][0]["reply_code"], 250)
        self.assertEqual(r["tls"], "none")
        m = self.plain.messages()[before]
        self.assertEqual(m["mail_from"], "sender@example.fi")
        self.assertEqual(m["rcpt_tos"], ["rcpt@example.com"])
        self.assertEqual(m["ehlo"], "gw.test")
        self.assertIsNone(m["tls"])
        self.assertIn("BODY=8BITMIME", m["mail_options"])

    def test_starttls_required_with_a_trusted_ca(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca)
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        self.assertTrue(r["tls"].endswith(" verified"), r["tls"])
        self.assertRegex(self.tls.messages()[before]["tls"], r"^TLSv1\.[23]$")

    def test_starttls_required_but_not_offered_defers(self):
        before = len(self.plain.messages())
        r = send(self.plain.port, "--tls", "require")
        rc = r["recipients"][0]
        self.assertEqual(rc["outcome"], "deferred")
        self.assertEqual(rc["status"], "4.7.4")
        self.assertEqual(len(self.plain.messages()), before)

    def test_untrusted_certificate_under_require_defers(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require")  # the system store does not know the test CA
        rc = r["recipients"][0]
        self.assertEqual(rc["outcome"], "deferred")
        self.assertEqual(rc["status"], "4.7.5")
        self.assertIn("certificate verification failed", rc["diagnostic"])
        self.assertEqual(len(self.tls.messages()), before)

    def test_certificate_for_another_name_under_require_defers(self):
        server = MailServer(self.dir, "--tls-dir", str(self.dir / "tls-other"), "--tls-names", "mail.example.test")
        try:
            r = send(server.port, "--tls", "require", "--ca-file", str(self.dir / "tls-other" / "ca.pem"))
            rc = r["recipients"][0]
            self.assertEqual(rc["outcome"], "deferred")
            self.assertIn("mismatch", rc["diagnostic"])
            self.assertEqual(server.messages(), [])
        finally:
            server.stop()

    def test_opportunistic_encrypts_without_verifying(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "opportunistic")
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        self.assertTrue(r["tls"].endswith(" unverified"), r["tls"])
        self.assertIsNotNone(self.tls.messages()[before]["tls"])
        r = send(self.plain.port, "--tls", "opportunistic")
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        self.assertEqual(r["tls"], "none")

    def test_tls_below_1_2_is_refused(self):
        server = MailServer(self.dir, "--tls-dir", str(self.tls_dir), "--tls-max-version", "1.1")
        try:
            r = send(server.port, "--tls", "require", "--ca-file", self.ca)
            rc = r["recipients"][0]
            self.assertEqual((rc["outcome"], rc["status"]), ("deferred", "4.7.5"))
            self.assertEqual(server.messages(), [])
            # Opportunistic: after the failed handshake, one more connection in the clear.
            r = send(server.port, "--tls", "opportunistic")
            self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
            self.assertEqual(r["tls"], "none")
            self.assertIsNone(server.messages()[0]["tls"])
        finally:
            server.stop()

    def test_auth_plain_over_verified_tls(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca, "--user", "alice", "--password-env", "PW",
                 env={"PW": "secret"})
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        self.assertEqual(self.tls.messages()[before]["auth_user"], "alice")
        self.assertIn(["AUTH"], self.tls.messages()[before]["packets"])

    def test_auth_login_when_plain_is_not_offered(self):
        server = MailServer(self.dir, "--tls-dir", str(self.tls_dir), "--auth", "alice:secret", "--auth-exclude", "PLAIN")
        try:
            r = send(server.port, "--tls", "require", "--ca-file", self.ca, "--user", "alice", "--password-env", "PW",
                     env={"PW": "secret"})
            self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
            self.assertEqual(server.messages()[0]["auth_user"], "alice")
        finally:
            server.stop()

    def test_wrong_password_defers(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca, "--user", "alice", "--password-env", "PW",
                 env={"PW": "wrong"})
        rc = r["recipients"][0]
        self.assertEqual(rc["outcome"], "deferred")
        self.assertEqual(rc["reply_code"], 535)
        self.assertEqual(len(self.tls.messages()), before)

    def test_auth_in_the_clear_only_to_loopback(self):
        server = MailServer(self.dir, "--auth", "alice:secret", "--auth-in-clear")
        try:
            r = send(server.port, "--tls", "none", "--user", "alice", "--password-env", "PW", env={"PW": "secret"})
            self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
            m = server.messages()[0]
            self.assertEqual(m["auth_user"], "alice")
            self.assertIsNone(m["tls"])
        finally:
            server.stop()

    def test_pipelining_sends_one_group(self):
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca, to=("a@example.com", "b@example.com"))
        self.assertEqual(outcomes(r), {"a@example.com": "delivered", "b@example.com": "delivered"})
        packets = self.tls.messages()[before]["packets"]
        self.assertEqual(packets[-1], ["MAIL", "RCPT", "RCPT", "DATA"])
        before += 1
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca, "--no-pipelining",
                 to=("a@example.com", "b@example.com"))
        packets = self.tls.messages()[before]["packets"]
        self.assertEqual(packets[-4:], [["MAIL"], ["RCPT"], ["RCPT"], ["DATA"]])

    def test_a_small_body_leaves_in_one_write_with_the_end_of_data(self):
        # Handed over in 100-byte pieces; on the wire one write, body and "." together (written
        # piece by piece, the last ones would wait under Nagle's algorithm for an ACK the server
        # delays until the "."). Dot-stuffing across piece boundaries still holds.
        body = self.dir / "small.eml"
        lines = [b"From: sender@example.fi", b"To: rcpt@example.com", b"Subject: small", b""]
        lines += [(b"." if i % 5 == 0 else b"") + b"line %03d " % i + b"y" * 40 for i in range(60)]
        content = b"\r\n".join(lines) + b"\r\n"
        body.write_bytes(content)
        before = len(self.plain.messages())
        r = send(self.plain.port, "--tls", "none", "--body", str(body), "--piece-size", "100")
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        m = self.plain.messages()[before]
        self.assertEqual(m["sha256"], hashlib.sha256(content).hexdigest())
        self.assertEqual(m["data_reads"], 1)

    def test_rcpt_replies_decide_each_recipient(self):
        server = MailServer(self.dir, "--pipelining", "--rcpt-reply", "nouser*=550 5.1.1 No such user here",
                            "--rcpt-reply", "busy*=450 4.2.1 Mailbox busy, try later")
        try:
            r = send(server.port, "--tls", "none", to=("ok@example.com", "nouser@example.com", "busy@example.com"))
            self.assertEqual(outcomes(r), {"ok@example.com": "delivered", "nouser@example.com": "failed",
                                           "busy@example.com": "deferred"})
            by = {x["recipient"]: x for x in r["recipients"]}
            self.assertEqual(by["nouser@example.com"]["status"], "5.1.1")
            self.assertEqual(by["nouser@example.com"]["diagnostic"], "550 5.1.1 No such user here")
            self.assertEqual(by["busy@example.com"]["status"], "4.2.1")
            self.assertEqual(server.messages()[0]["rcpt_tos"], ["ok@example.com"])
            r = send(server.port, "--tls", "none", to=("nouser@example.com",))
            self.assertEqual(outcomes(r), {"nouser@example.com": "failed"})
            self.assertEqual(len(server.messages()), 1)
        finally:
            server.stop()

    def test_data_replies_decide_the_message(self):
        for reply, outcome in (("451 4.3.0 Try again later", "deferred"), ("554 5.7.1 Rejected as spam", "failed")):
            server = MailServer(self.dir, "--data-reply", reply)
            try:
                r = send(server.port, "--tls", "none", to=("a@example.com", "b@example.com"))
                self.assertEqual(outcomes(r), {"a@example.com": outcome, "b@example.com": outcome})
                self.assertEqual(r["recipients"][0]["diagnostic"], reply)
            finally:
                server.stop()

    def test_30_megabyte_body_streams_intact(self):
        body = self.dir / "big.eml"
        h = hashlib.sha256()
        with body.open("wb") as f:
            head = b"From: sender@example.fi\r\nTo: rcpt@example.com\r\nSubject: big\r\n\r\n"
            f.write(head)
            h.update(head)
            size = len(head)
            i = 0
            while size < 30_000_000:
                # Lines of up to 989 characters and CRLF; every seventh starts with a dot (stuffed on the wire).
                line = (b"." if i % 7 == 0 else b"") + (b"%08d " % i) + b"x" * (900 + i % 80) + b"\r\n"
                f.write(line)
                h.update(line)
                size += len(line)
                i += 1
        before = len(self.tls.messages())
        r = send(self.tls.port, "--tls", "require", "--ca-file", self.ca, "--body", str(body), "--piece-size", "65521",
                 "--size", str(size))
        self.assertEqual(outcomes(r), {"rcpt@example.com": "delivered"})
        m = self.tls.messages()[before]
        self.assertEqual(m["size"], size)
        self.assertEqual(m["sha256"], h.hexdigest())
        self.assertIn(f"SIZE={size}", m["mail_options"])

    def test_connection_refused_defers(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
            r = send(s.getsockname()[1], "--tls", "none")
        rc = r["recipients"][0]
        self.assertEqual(rc["outcome"], "deferred")
        self.assertEqual(rc["status"], "4.4.1")
        self.assertIn("refused", rc["diagnostic"])

    def test_a_silent_server_times_out(self):
        server = MailServer(self.dir, "--stall-greeting")
        try:
            r = send(server.port, "--tls", "none", "--timeout", "1")
            rc = r["recipients"][0]
            self.assertEqual(rc["outcome"], "deferred")
            self.assertIn("timeout while waiting for the greeting", rc["diagnostic"])
        finally:
            server.stop()

    def test_a_slow_reply_to_the_final_dot_times_out(self):
        server = MailServer(self.dir, "--delay-data-reply", "5")
        try:
            r = send(server.port, "--tls", "none", "--timeout", "1")
            rc = r["recipients"][0]
            self.assertEqual(rc["outcome"], "deferred")
            self.assertIn("end of data", rc["diagnostic"])
        finally:
            server.stop()

    def test_messages_share_a_connection_with_its_tls_and_auth(self):
        before = len(self.tls.messages())
        rcpts = ["one@example.com", "two@example.com", "three@example.com"]
        results = send_each(self.tls.port, rcpts, "--tls", "require", "--ca-file", self.ca, "--user", "alice",
                            "--password-env", "PW", "--reuse-idle", "10", env={"PW": "secret"})
        self.assertEqual([outcomes(r) for r in results], [{r: "delivered"} for r in rcpts])
        self.assertTrue(all(r["tls"].endswith(" verified") for r in results), results)
        got = self.tls.messages()[before:]
        self.assertEqual([m["rcpt_tos"] for m in got], [[r] for r in rcpts])
        self.assertEqual(len({tuple(m["peer"]) for m in got}), 1, got)  # one client port: one connection
        self.assertTrue(all(m["auth_user"] == "alice" and m["tls"] for m in got), got)
        # Without reuse every message has a connection of its own.
        before = len(self.tls.messages())
        results = send_each(self.tls.port, rcpts[:2], "--tls", "require", "--ca-file", self.ca)
        self.assertEqual([outcomes(r) for r in results], [{r: "delivered"} for r in rcpts[:2]])
        got = self.tls.messages()[before:]
        self.assertEqual(len({tuple(m["peer"]) for m in got}), 2, got)

    def test_a_connection_the_server_closed_is_replaced(self):
        # The server drops connections idle for a second; the client keeps them for ten, so the
        # second message finds its parked connection closed, and goes out on a new one.
        server = MailServer(self.dir, "--pipelining", "--idle-timeout", "1")
        try:
            results = send_each(server.port, ["a@example.com", "b@example.com", "c@example.com"], "--tls", "none",
                                "--reuse-idle", "10", "--pause", "2")
            self.assertEqual([outcomes(r) for r in results],
                             [{"a@example.com": "delivered"}, {"b@example.com": "delivered"},
                              {"c@example.com": "delivered"}])
            got = server.messages()
            self.assertEqual([m["rcpt_tos"] for m in got], [["a@example.com"], ["b@example.com"], ["c@example.com"]])
            self.assertEqual(len({tuple(m["peer"]) for m in got}), 3, got)
        finally:
            server.stop()

    def test_a_connection_idle_too_long_is_not_used(self):
        # Kept for one second, the pause is two: the client closed the first connection itself.
        server = MailServer(self.dir, "--pipelining")
        try:
            results = send_each(server.port, ["a@example.com", "b@example.com"], "--tls", "none",
                                "--reuse-idle", "1", "--pause", "2")
            self.assertEqual([r["recipients"][0]["outcome"] for r in results], ["delivered", "delivered"])
            got = server.messages()
            self.assertEqual(len({tuple(m["peer"]) for m in got}), 2, got)
        finally:
            server.stop()

    def test_refused_recipients_do_not_spoil_the_next_message(self):
        server = MailServer(self.dir, "--pipelining", "--rcpt-reply", "nouser*=550 5.1.1 No such user here")
        try:
            results = send_each(server.port, ["ok1@example.com", "nouser@example.com", "ok2@example.com"],
                                "--tls", "none", "--reuse-idle", "10")
            self.assertEqual([outcomes(r) for r in results],
                             [{"ok1@example.com": "delivered"}, {"nouser@example.com": "failed"},
                              {"ok2@example.com": "delivered"}])
            got = server.messages()
            self.assertEqual([m["rcpt_tos"] for m in got], [["ok1@example.com"], ["ok2@example.com"]])
            # The refusal ended the transaction, not the connection: the next message's RSET reused it.
            self.assertEqual(len({tuple(m["peer"]) for m in got}), 1, got)
        finally:
            server.stop()

    def test_maildir_transport(self):
        md = self.dir / "maildir"
        r = json.loads(subprocess.run([SEND, "--maildir", str(md), "--from", "a@example.fi", "--to", "b@example.com",
                                       "--to", "c@example.com"], capture_output=True, check=True, timeout=30).stdout)
        self.assertEqual(outcomes(r), {"b@example.com": "delivered", "c@example.com": "delivered"})
        files = list((md / "new").iterdir())
        self.assertEqual(len(files), 1)
        self.assertEqual(list((md / "tmp").iterdir()), [])
        self.assertTrue((md / "cur").is_dir())
        self.assertEqual(files[0].stat().st_mode & 0o777, 0o600)
        text = files[0].read_bytes()
        self.assertTrue(text.startswith(b"Return-Path: <a@example.fi>\r\nDelivered-To: b@example.com\r\n"
                                        b"Delivered-To: c@example.com\r\nSubject: "), text)


if __name__ == "__main__":
    unittest.main()
