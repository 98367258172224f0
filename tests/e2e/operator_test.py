"""The operator's commands on a real store, next to a running `sinetti serve` (DESIGN "External
contract"): `keys init|list|rotate [--rewrap]` (files 0600, a readable private key refused by every
command with a one-line error naming the file), the key ring reloaded on SIGHUP so new messages are
wrapped to the new KEK while messages wrapped to the old one still deliver, rewrap moving every data
key so that the old private keys can go; `message status|revoke`; `audit verify` naming the first
altered record and `audit export` as JSON lines with no message content, token, identity code or
phone number in them; `sinetti purge` and the server's own retention run shredding an expired
message with the chain still verifying; `queue list|retry|drop`."""
import email
import email.policy
import hashlib
import json
import os
import pathlib
import re
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from email.message import EmailMessage

from serve_test import Gateway

BIN = os.environ["SINETTI_BIN"]
HERE = pathlib.Path(__file__).resolve().parent
MAILSERVER = HERE / "mailserver.py"

PHONE = "0407654329"
IDENTITY = "010594Y9032"

CONFIG = """
instance: {{name: "Sinetti (operator)", public_url: "https://gw.example.fi", data_dir: var}}
listeners:
  - {{name: inbound, address: "127.0.0.1:0", role: inbound, domains: [tyollisyys.example.fi]}}
  - {{name: submission, address: "127.0.0.1:0", role: submission, allowed_networks: [127.0.0.0/8]}}
portal:
  address: "127.0.0.1:0"
  tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
admin: {{address: "127.0.0.1:0"}}
keys: {{dir: var/keys}}
delivery:
  relay: {{host: 127.0.0.1, port: {port}, tls: none}}
  retry: {{initial: 1s, max: 1m}}
teams:
  - {{id: neuvonta, name: Neuvonta, address: neuvonta@tyollisyys.example.fi, mailbox: neuvonta-tiimi@intra.example.fi}}
routing:
  rules:
    - {{name: marked, when: {{role: submission, marked: true}}, action: {{protect: {{level: from_marks}}}}}}
    - {{name: enquiries, when: {{recipient: {{team: any}}}}, action: {{forward: {{team: from_recipient}}}}}}
    - {{name: rest, when: {{}}, action: {{reject: {{code: 550, text: "5.1.1 No such recipient here"}}}}}}
sms: {{driver: file, file: {{path: sms.jsonl}}}}
retention: {{protected_messages: 1d, interval: 1h}}
"""


def sinetti(config, *args):
    return subprocess.run([BIN, *args, "--config", str(config)], cwd=config.parent, capture_output=True, text=True,
                          timeout=120)


class MailServer:
    """tests/e2e/mailserver.py as the organisation's relay; `refuse` answers 451 to every message."""

    def __init__(self, out, refuse, port=0):
        args = ["--data-reply", "451 4.3.0 Try again later"] if refuse else []
        self.proc = subprocess.Popen([sys.executable, str(MAILSERVER), "--out", str(out), "--port", str(port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise AssertionError("mail server did not start: " + self.proc.stderr.read())
        self.port = int(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class Restartable(Gateway):
    """The Gateway helper, with a restart of `serve` in the same directory (same store and keys)."""

    def restart(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.reader.join(timeout=5)
        self.proc.stderr.close()
        with self.cond:
            self.events = []
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], cwd=self.cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()


def keys_init(cwd):
    r = subprocess.run([BIN, "keys", "init", "--config", str(cwd / "sinetti.yaml")], cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr


class Keys(unittest.TestCase):
    """The key ring commands without a server."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="sinetti-keys-")
        self.addCleanup(tmp.cleanup)
        self.cwd = pathlib.Path(tmp.name)
        self.config = self.cwd / "sinetti.yaml"
        self.config.write_text(CONFIG.format(port=25))
        self.keys = self.cwd / "var" / "keys"

    def test_init_list_rotate(self):
        r = sinetti(self.config, "keys", "list")
        self.assertEqual(r.returncode, 1)
        self.assertIn("keys init", r.stderr)
        r = sinetti(self.config, "keys", "init")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEK 1 active", r.stdout)
        self.assertEqual(self.keys.stat().st_mode & 0o777, 0o700)
        for f in self.keys.iterdir():
            self.assertEqual(f.stat().st_mode & 0o777, 0o600, f)
        self.assertEqual(sorted(f.name for f in self.keys.iterdir()),
                         ["active", "identity.secret", "kek-000001.key", "kek-000001.pub", "pin-mac.secret",
                          "session.secret"])
        again = sinetti(self.config, "keys", "init")
        self.assertEqual(again.returncode, 1)
        self.assertEqual(len(again.stderr.strip().splitlines()), 1, again.stderr)
        self.assertIn("not overwriting", again.stderr)
        r = sinetti(self.config, "keys", "rotate")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEK 2 is now active", r.stdout)
        r = sinetti(self.config, "keys", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertRegex(lines[0], r"^kek 1  created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(lines[1], r"^kek 2  created \S+  active$")
        # Each key ring action is an audit record.
        r = sinetti(self.config, "audit", "export")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([(e["event"], e["details"]) for e in events],
                         [("keys.initialized", {"kek": 1}), ("keys.rotated", {"kek": 2})])
        self.assertTrue(all(e["actor"].startswith("cli:") for e in events))

    def test_a_readable_private_key_is_refused_everywhere(self):
        self.assertEqual(sinetti(self.config, "keys", "init").returncode, 0)
        for name in ("kek-000001.key", "session.secret"):
            path = self.keys / name
            path.chmod(0o644)
            for command in (["keys", "list"], ["keys", "rotate"], ["serve"]):
                r = sinetti(self.config, *command)
                self.assertEqual(r.returncode, 1, (command, r.stdout, r.stderr))
                last = r.stderr.strip().splitlines()[-1]  # serve may log JSON lines before it gives up
                self.assertTrue(last.startswith("sinetti: "), r.stderr)
                self.assertIn(f"var/keys/{name}", last)
                self.assertIn("group or others", last)
                self.assertIn("chmod 600", last)
            path.chmod(0o600)
        self.assertEqual(sinetti(self.config, "keys", "list").returncode, 0)
        self.assertEqual(len(list(self.keys.glob("kek-*.pub"))), 1, "the refused rotations added nothing")


class WithServer(unittest.TestCase):
    """Commands beside a running gateway whose relay refuses mail at first (it waits in the queue)."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="sinetti-operator-")
        self.addCleanup(tmp.cleanup)
        self.relay_out = pathlib.Path(tmp.name)
        self.relay = MailServer(self.relay_out, refuse=True)
        self.addCleanup(lambda: self.relay.stop())
        self.gw = Restartable(CONFIG.format(port=self.relay.port), before_start=keys_init)
        self.addCleanup(self.gw.stop)
        self.wait_started()
        self.db_path = self.gw.cwd / "var" / "sinetti.db"

    def wait_started(self):
        ports = {}
        for name in ("inbound", "submission"):
            e = self.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        self.inbound, self.submission = ports["inbound"], ports["submission"]
        self.gw.wait_for(lambda e: e.get("event") == "started")

    def run_cli(self, *args, ok=True):
        r = sinetti(self.gw.config, *args)
        if ok:
            self.assertEqual(r.returncode, 0, f"{args}: {r.stdout}{r.stderr}")
        return r

    def db(self, sql, *params):
        with sqlite3.connect(self.db_path, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def send(self, listener, sender, rcpt, subject, body, headers=()):
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = rcpt
        msg["Subject"] = subject
        for k, v in headers:
            msg[k] = v
        msg.set_content(body)
        with smtplib.SMTP("127.0.0.1", self.inbound if listener == "inbound" else self.submission, timeout=60) as s:
            s.ehlo("client.example")
            s.mail(sender)
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, reply = s.data(msg.as_bytes(policy=email.policy.SMTP))
            self.assertEqual(code, 250, reply)
        return re.search(r"queued as (\w+)", reply.decode()).group(1)

    def enquiry(self, text):
        return self.send("inbound", "citizen@example.com", "neuvonta@tyollisyys.example.fi", "Kysymys", text)

    def protected(self, text, rcpt="client@example.net", headers=()):
        return self.send("submission", "staff@tyollisyys.example.fi", rcpt, "[secure] Päätös", text, headers)

    def kek_of(self, message_id):
        rows = self.db("SELECT kek_id FROM messages WHERE id = ?", message_id)
        self.assertEqual(len(rows), 1, message_id)
        return rows[0][0]

    def queue(self):
        r = self.run_cli("queue", "list", "--json")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def wait_queue(self, predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            entries = self.queue()
            if predicate(entries):
                return entries
            if time.monotonic() > deadline:
                self.fail(f"queue never reached: {what}; it is {entries}")
            time.sleep(0.3)

    def accept_mail(self, accept=True):
        """The relay starts accepting (or refusing again); every waiting entry is due now."""
        self.relay.stop()
        self.relay = MailServer(self.relay_out, refuse=not accept, port=self.relay.port)
        if not accept:
            return
        for e in self.queue():
            if e["state"] == "queued":
                # Due now; one the queue has just taken (or already delivered) is not retryable.
                r = self.run_cli("queue", "retry", e["id"], ok=False)
                self.assertTrue(r.returncode == 0 or "that can be retried" in r.stderr or "being delivered now" in r.stderr, r.stderr)

    def queue_action(self, action, entry, timeout=30):
        """`queue retry|drop ENTRY` once the entry is not being delivered: the relay refuses every
        attempt, so the queue takes the entry again every second or two, and while an attempt holds
        its lease the command is rightly refused (and changes nothing; it says "being delivered now",
        or "no entry ... that can be" when the queue took the entry between the command's look and
        its change)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.run_cli("queue", action, entry, ok=False)
            if r.returncode == 0:
                return r.stdout
            self.assertRegex(r.stderr, r"being delivered now|no entry \S+ that can be")
            if time.monotonic() > deadline:
                self.fail(f"queue {action} {entry}: still being delivered after {timeout} s")
            time.sleep(0.05)

    def status(self, message_id):
        return json.loads(self.run_cli("message", "status", message_id, "--json").stdout)

    def audit_events(self):
        return [json.loads(line) for line in self.run_cli("audit", "export").stdout.splitlines()]

    def sighup_and_wait_ring(self, kek):
        self.gw.proc.send_signal(signal.SIGHUP)
        e = self.gw.wait_for(lambda e: e.get("event") == "key_ring_reloaded" and e.get("kek") == kek)
        return e

    # ---- tests ----

    def test_rotate_reload_and_rewrap(self):
        f1 = self.enquiry("first, under KEK 1")
        p1 = self.protected("protected, under KEK 1")
        self.assertEqual((self.kek_of(f1), self.kek_of(p1)), (1, 1))
        self.assertIn("KEK 2 is now active", self.run_cli("keys", "rotate").stdout)
        f2 = self.enquiry("second, before the reload")
        self.assertEqual(self.kek_of(f2), 1, "the running gateway keeps its ring until SIGHUP")

        e = self.sighup_and_wait_ring(2)
        self.assertEqual((e["previous"], e["changed"]), (1, True))
        f3 = self.enquiry("third, after the reload")
        self.assertEqual(self.kek_of(f3), 2)
        events = self.audit_events()
        reloads = [x for x in events if x["event"] in ("config.reloaded", "keys.reloaded")]
        self.assertEqual([(x["event"], x["outcome"]) for x in reloads], [("config.reloaded", "ok"), ("keys.reloaded", "ok")])
        self.assertEqual(reloads[1]["details"], {"kek": 2, "previous": 1})

        # Messages wrapped to the old KEK still deliver, beside the new one's.
        self.accept_mail()
        self.wait_queue(lambda es: es and all(e["state"] == "done" for e in es), "everything delivered")
        bodies = [p.read_bytes() for p in sorted(self.relay_out.glob("*.eml"))]
        for text in ("first, under KEK 1", "second, before the reload", "third, after the reload"):
            self.assertEqual(sum(1 for b in bodies if text.encode() in b), 1, text)

        # Rewrap: every key still stored moves to KEK 3, and the old private halves can go.
        self.accept_mail(False)
        f4 = self.enquiry("fourth, waiting under KEK 2")
        self.assertEqual(self.kek_of(f4), 2)
        r = self.run_cli("keys", "rotate", "--rewrap")
        self.assertIn("KEK 3 is now active", r.stdout)
        m = re.search(r"rewrapped (\d+) data keys to KEK 3", r.stdout)
        self.assertTrue(m, r.stdout)
        holding = self.db("SELECT id, kek_id FROM messages WHERE wrapped_key IS NOT NULL")
        self.assertEqual(int(m.group(1)), len(holding))
        self.assertIn(p1, {row[0] for row in holding})
        self.assertIn(f4, {row[0] for row in holding})
        self.assertEqual({row[1] for row in holding}, {3})
        for name in ("kek-000001.key", "kek-000002.key"):
            (self.gw.cwd / "var" / "keys" / name).unlink()
        listed = self.run_cli("keys", "list").stdout
        self.assertEqual(listed.count("(public half only: cannot open)"), 2, listed)
        for message_id, _ in holding:
            st = self.status(message_id)
            self.assertEqual(st["content"], {"present": True, "kek": 3, "verified": True}, (message_id, st))
        text = self.run_cli("message", "status", p1).stdout
        self.assertIn("data key wrapped to KEK 3: opens and verifies", text)
        # The running gateway picks up KEK 3 and delivers the rewrapped message without KEK 1 or 2.
        self.sighup_and_wait_ring(3)
        self.accept_mail()
        self.wait_queue(lambda es: all(e["state"] == "done" for e in es), "the rewrapped message delivered")
        self.assertTrue(any(b"fourth, waiting under KEK 2" in p.read_bytes() for p in self.relay_out.glob("*.eml")))
        rewraps = [x for x in self.audit_events() if x["event"] in ("keys.rotated", "keys.rewrapped")]
        self.assertEqual([(x["event"], x["details"].get("kek")) for x in rewraps],
                         [("keys.rotated", 2), ("keys.rotated", 3), ("keys.rewrapped", 3)])
        self.assertEqual(rewraps[2]["details"]["rewrapped"], len(holding))
        self.run_cli("audit", "verify")

    def test_a_broken_config_reload_is_recorded(self):
        good = self.gw.config.read_text()
        self.gw.config.write_text(good.replace("interval: 1h", "interval: 1s"))  # below the minimum
        self.gw.proc.send_signal(signal.SIGHUP)
        self.gw.wait_for(lambda e: e.get("event") == "config_reload_failed")
        self.gw.wait_for(lambda e: e.get("event") == "key_ring_reloaded" and e.get("changed") is False)
        self.gw.config.write_text(good)
        self.gw.proc.send_signal(signal.SIGHUP)
        self.gw.wait_for(lambda e: e.get("event") == "config_reloaded")
        self.gw.wait_for(lambda e: self.gw.count(lambda x: x.get("event") == "key_ring_reloaded") >= 2)
        reloads = [x for x in self.audit_events() if x["event"] == "config.reloaded"]
        self.assertEqual([(x["outcome"], x["actor"]) for x in reloads], [("error", "admin"), ("ok", "admin")])
        self.assertEqual(reloads[0]["details"]["errors"], 1)

    def test_message_status_and_revoke(self):
        p = self.protected("revoke me", rcpt=f"client@example.net.{PHONE}.s")
        st = self.status(p)
        self.assertEqual((st["kind"], st["state"], st["protection"], st["unlock"]), ("protected", "stored", "sms", "phone"))
        self.assertEqual(st["recipients"], ["client@example.net"])
        self.assertEqual(st["content"], {"present": True, "kek": 1, "verified": True})
        self.assertEqual([e["event"] for e in st["events"]][:3], ["message.received", "message.stored",
                                                                    "notification.queued"])
        text = self.run_cli("message", "status", p).stdout
        self.assertIn(f"message {p}\n", text)
        self.assertRegex(text, r"state +stored")
        self.assertNotIn(PHONE, text)

        r = self.run_cli("message", "revoke", p)
        self.assertIn("revoked; its content and data key are destroyed", r.stdout)
        st = self.status(p)
        self.assertEqual(st["state"], "revoked")
        self.assertEqual(st["content"], {"present": False})
        self.assertEqual(self.db("SELECT wrapped_key IS NULL FROM messages WHERE id = ?", p), [(1,)])
        self.assertEqual(self.db("SELECT COUNT(*) FROM content_chunks WHERE message_id = ?", p), [(0,)])
        self.assertEqual(self.db("SELECT COUNT(*) FROM read_tokens WHERE message_id = ?", p), [(0,)])
        revoked = [e for e in st["events"] if e["event"] == "message.revoked"]
        self.assertEqual(len(revoked), 1)
        self.assertTrue(revoked[0]["actor"].startswith("cli:"))
        self.assertIn("was already destroyed", self.run_cli("message", "revoke", p).stdout)
        missing = self.run_cli("message", "status", "NOSUCHMESSAGE0000", ok=False)
        self.assertEqual(missing.returncode, 1)
        self.assertEqual(missing.stderr.strip(), "sinetti: message NOSUCHMESSAGE0000: no such message")
        self.run_cli("audit", "verify")

    def test_queue_retry_and_drop(self):
        f = self.enquiry("queued")
        entries = self.wait_queue(lambda es: len(es) == 1 and es[0]["attempts"] >= 1, "one attempt made")
        entry = entries[0]["id"]
        self.assertEqual(entries[0]["message"], f)
        listed = self.run_cli("queue", "list").stdout
        self.assertRegex(listed, re.escape(entry) + r"  (queued|leased)  forward  <citizen@example\.com> -> "
                                                   r"<neuvonta-tiimi@intra\.example\.fi>  attempts \d+")
        self.assertIn("1 entry", listed)
        self.assertIn(": due now", self.queue_action("retry", entry))
        self.assertIn(": dropped", self.queue_action("drop", entry))
        again = self.run_cli("queue", "drop", entry, ok=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("no entry", again.stderr)
        actions = [(e["event"], e["message"]) for e in self.audit_events() if e["event"].startswith("queue.")]
        self.assertEqual(actions, [("queue.retry", f), ("queue.drop", f)])

    def test_audit_verify_export_and_tamper(self):
        marker = "Zq" + hashlib.sha256(os.urandom(16)).hexdigest()[:20]
        self.protected(f"content {marker}", rcpt=f"client@example.net.{PHONE}.s")
        self.protected(f"content {marker}", headers=[("X-Sinetti-Protect", "personal"), ("X-Sinetti-Identity", IDENTITY)])
        self.enquiry(f"enquiry {marker}")
        self.accept_mail()
        self.wait_queue(lambda es: len(es) == 3 and all(e["state"] == "done" for e in es), "delivered")
        # The read links the notifications carry: their tokens must appear nowhere in the audit.
        tokens = set()
        for p in self.relay_out.glob("*.eml"):
            for part in email.message_from_bytes(p.read_bytes(), policy=email.policy.default).walk():
                if part.get_content_maintype() == "text":
                    tokens.update(re.findall(r"/m/([A-Za-z0-9_-]{43})", part.get_content()))
        self.assertEqual(len(tokens), 2)

        v = self.run_cli("audit", "verify")
        n = int(re.match(r"audit chain ok: (\d+) records, head (\d+) [0-9a-f]{64}$", v.stdout).group(1))
        exported = self.run_cli("audit", "export").stdout
        records = [json.loads(line) for line in exported.splitlines()]
        self.assertEqual(len(records), n)
        self.assertEqual(n, self.db("SELECT COUNT(*) FROM audit_log")[0][0])
        self.assertEqual([r["seq"] for r in records], list(range(1, n + 1)))
        for a, b in zip(records, records[1:]):
            self.assertEqual(b["prev_hash"], a["hash"])
        names = {r["event"] for r in records}
        for expected in ("message.received", "message.stored", "notification.queued", "message.forwarded",
                         "delivery.done", "message.shredded", "keys.initialized"):
            self.assertIn(expected, names)
        for secret in [marker, PHONE, PHONE[1:], IDENTITY, IDENTITY.lower()] + sorted(tokens):
            self.assertNotIn(secret, exported)
            self.assertNotIn(secret, self.run_cli("message", "status", records[1]["message"]).stdout)

        # One altered record: verify names it (and nothing before it is blamed). The store's triggers
        # refuse edits; someone with the file can drop them first.
        victim = n // 2
        with sqlite3.connect(self.db_path, timeout=10) as db:
            db.executescript("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_purge_only;")
        self.db("UPDATE audit_log SET outcome = 'denied' WHERE seq = ?", victim)
        r = self.run_cli("audit", "verify", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn(f"broken at record {victim}: record {victim} was altered", r.stderr)
        # Put back, it verifies again; a deleted record is named as missing.
        self.db("UPDATE audit_log SET outcome = ? WHERE seq = ?", records[victim - 1]["outcome"], victim)
        self.run_cli("audit", "verify")
        self.db("DELETE FROM audit_log WHERE seq = ?", victim)
        r = self.run_cli("audit", "verify", ok=False)
        self.assertIn(f"broken at record {victim}: record {victim} is missing", r.stderr)

    def test_purge_and_the_servers_retention_shred_expired_messages(self):
        p1 = self.protected("expires, purged by the operator")
        p2 = self.protected("expires, purged by the server")
        keep = self.protected("stays")
        self.wait_queue(lambda es: len(es) == 3, "three notifications queued")
        self.db("UPDATE messages SET expires_at = 1 WHERE id = ?", p1)
        r = self.run_cli("purge")
        self.assertRegex(r.stdout, r"^expired 1 messages, removed 0 finished queue entries, 0 sessions and 0 audit records; "
                                    r"0 threads, 0 claims and 0 staff members with nothing left$")
        self.assertEqual(self.status(p1)["state"], "expired")
        self.assertEqual(self.db("SELECT COUNT(*) FROM content_chunks WHERE message_id = ?", p1), [(0,)])
        self.run_cli("audit", "verify")
        runs = [e for e in self.audit_events() if e["event"] == "retention.run"]
        self.assertEqual(len(runs), 1)
        self.assertTrue(runs[0]["actor"].startswith("cli:"))
        self.assertEqual(runs[0]["details"]["expired"], 1)

        # The server runs retention itself: at start, then every retention.interval.
        self.db("UPDATE messages SET expires_at = 1 WHERE id = ?", p2)
        self.gw.restart()
        self.wait_started()
        e = self.gw.wait_for(lambda e: e.get("event") == "retention")
        self.assertEqual(e["expired"], 1)
        self.assertEqual(self.status(p2)["state"], "expired")
        self.assertEqual(self.status(keep)["state"], "stored")
        expired = [e for e in self.audit_events() if e["event"] == "message.expired"]
        self.assertEqual([(e["message"], e["actor"]) for e in expired], [(p1, "system"), (p2, "system")])
        runs = [e for e in self.audit_events() if e["event"] == "retention.run"]
        self.assertEqual([r["actor"] for r in runs][-1], "system")
        self.run_cli("audit", "verify")


if __name__ == "__main__":
    unittest.main()
