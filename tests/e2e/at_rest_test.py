"""Nothing confidential at rest in plaintext (DESIGN "Decisions"), on the real `sinetti serve`:
protected mail (marked by subject tag, address suffix with a phone number, headers with a phone
number or a personal identity code), forwarded enquiries, an enquiry a detector protects, and the
notification and DSN copies the gateway makes itself, small and over 1 MiB (the streamed path), with a
unique marker in the subject, body, attachment names and attachment content. Every file under the
data directory (database, -wal, -shm, lock, keys, certificates and anything else there) is scanned for
the marker raw and in the encodings mail uses (base64 at every alignment, quoted-printable, percent
and RFC 2047 forms of the non-ASCII marker, UTF-16, hex), for the phone number and for the identity
codes: zero hits while the mail waits in the queue (the relay refuses it with 4xx), after delivery,
and after `sinetti purge` has crypto-shredded everything — then the shredded messages' wrapped data
keys are gone from every file too. The gateway's log never holds any of it. The same scanner finds
the marker in what the relay received, so the zero counts mean something."""
import base64
import email
import email.policy
import json
import os
import pathlib
import re
import secrets
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
from email.message import EmailMessage

from serve_test import Gateway

BIN = os.environ["SINETTI_BIN"]
HERE = pathlib.Path(__file__).resolve().parent
MAILSERVER = HERE / "mailserver.py"

PHONE_LOCAL = "0407654321"      # as staff write it in the address suffix
PHONE_E164 = "+358407654321"    # as in X-Sinetti-Sms
PHONE_CORE = "407654321"        # in every spelling of the number
IDENTITY_CODES = ("010594Y9032", "020516C903K")  # valid test codes (REFERENCES.md)

CONFIG = """
instance: {{name: "Sinetti (at rest)", public_url: "https://gw.example.fi", data_dir: var}}
listeners:
  - {{name: inbound, address: "127.0.0.1:0", role: inbound, domains: [tyollisyys.example.fi]}}
  - {{name: submission, address: "127.0.0.1:0", role: submission, allowed_networks: [127.0.0.0/8]}}
portal:
  address: "127.0.0.1:0"
  tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
admin: {{address: "127.0.0.1:0"}}
storage: {{backend: sqlite, sqlite: {{path: var/sinetti.db}}}}
keys: {{dir: var/keys, create_if_missing: true}}
delivery:
  relay: {{host: 127.0.0.1, port: {port}, tls: none}}
  retry: {{initial: 1s, max: 1m}}
teams:
  - {{id: neuvonta, name: Neuvonta, address: neuvonta@tyollisyys.example.fi, mailbox: neuvonta-tiimi@intra.example.fi}}
  - {{id: tyonhaku, name: Työnhaku, address: tyonhaku@tyollisyys.example.fi, mailbox: bounce-tiimi@intra.example.fi}}
routing:
  rules:
    - {{name: marked, when: {{role: submission, marked: true}}, action: {{protect: {{level: from_marks}}}}}}
    - {{name: identity-code, when: {{detector: finnish_identity_code}}, action: {{protect: {{level: letter}}}}}}
    - {{name: enquiries, when: {{recipient: {{team: any}}}}, action: {{forward: {{team: from_recipient}}}}}}
    - {{name: rest, when: {{}}, action: {{reject: {{code: 550, text: "5.1.1 No such recipient here"}}}}}}
sms: {{driver: file, file: {{path: sms.jsonl}}}}
notifications: {{from: turvaposti@tyollisyys.example.fi, include_subject: true}}
"""


# ---- what to look for -------------------------------------------------------------------------------

def base64_forms(data):
    """The base64 text of `data` at each of the three alignments it can have inside a longer stream:
    only the characters that depend on `data` alone."""
    forms = []
    for k in range(3):
        text = base64.b64encode(b"\0" * k + data + b"\0\0\0").decode()
        first = -(-8 * k // 6)
        last = (8 * (k + len(data)) - 6) // 6
        forms.append(text[first:last + 1].encode())
    return forms


def quoted_printable(data):
    return "".join(chr(b) if 33 <= b <= 126 and b != ord("=") else f"={b:02X}" for b in data).encode()


def needles(text):
    """Byte patterns under which `text` could be written into a file."""
    raw = text.encode()
    out = {raw, raw.lower(), raw.upper(), text.encode("utf-16-le"), raw.hex().encode(), raw.hex().upper().encode()}
    out.update(base64_forms(raw))
    if not text.isascii():
        out.add(quoted_printable(raw))                                    # quoted-printable, RFC 2047 Q
        out.add(quoted_printable(raw).replace(b"=", b"%"))                # RFC 2231 / percent-encoding
        try:
            out.add(text.encode("latin-1"))
            out.update(base64_forms(text.encode("latin-1")))
        except UnicodeEncodeError:
            pass
    return out


def hits(data, patterns):
    """Which patterns occur in `data`, also with line breaks removed (base64 and QP wrap lines)."""
    flat = data.replace(b"\r", b"").replace(b"\n", b"")
    unwrapped_qp = data.replace(b"=\r\n", b"").replace(b"=\n", b"")
    found = set()
    for p in patterns:
        if p in data or p in flat or p in unwrapped_qp:
            found.add(p)
    return found


def scan(root, patterns):
    """{relative path: patterns found} for every file under `root`, read as it is at this moment."""
    result = {}
    files = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        files += 1
        found = hits(path.read_bytes(), patterns)
        if found:
            result[str(path.relative_to(root))] = sorted(found)
    return result, files


# ---- the test ---------------------------------------------------------------------------------------

class MailServer:
    """tests/e2e/mailserver.py as the organisation's relay."""

    def __init__(self, out, *args, port=0):
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


def attachment_bytes(marker, size):
    """`size` bytes of noise with the marker in it here and there."""
    block = os.urandom(4096)
    out = bytearray()
    while len(out) < size:
        out += block + b" " + marker.encode() + b" "
    return bytes(out[:size - len(marker) - 2]) + b" " + marker.encode() + b" "


class AtRest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="sinetti-at-rest-")
        self.addCleanup(tmp.cleanup)
        self.tmp = pathlib.Path(tmp.name)
        self.marker = "Zq" + secrets.token_hex(10)        # ASCII: everywhere
        self.umarker = "Ääkkönen-" + secrets.token_hex(6)  # non-ASCII: subjects and text bodies
        self.relay_out = self.tmp / "relay"
        self.relay_out.mkdir()
        # Phase 1: the relay refuses every message at the end of DATA with 4xx, and one mailbox at RCPT
        # with 5xx (a DSN follows); everything else waits sealed in the queue.
        self.relay = MailServer(self.relay_out, "--data-reply", "451 4.3.0 Mailbox busy, try again later",
                                "--rcpt-reply", "bounce-*=550 5.1.1 No such user")
        self.addCleanup(lambda: self.relay.stop())
        self.gw = Gateway(CONFIG.format(port=self.relay.port))
        self.addCleanup(self.gw.stop)
        ports = {}
        for name in ("inbound", "submission"):
            e = self.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        self.inbound, self.submission = ports["inbound"], ports["submission"]
        self.gw.wait_for(lambda e: e.get("event") == "started")
        self.data = self.gw.cwd / "var"

    def sinetti(self, *args):
        r = subprocess.run([BIN, *args, "--config", str(self.gw.config)], cwd=self.gw.cwd, capture_output=True,
                           text=True, timeout=60)
        return r

    def queue(self):
        r = self.sinetti("queue", "list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
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

    # ---- messages ----

    def messages(self):
        m, u = self.marker, self.umarker
        big = attachment_bytes(m, 1_600_000)  # over IngestOptions::memory_limit (1 MiB): streamed

        out = []
        # 1. Protected by subject tag, SMS unlock by the address suffix's phone; large attachment.
        msg = EmailMessage()
        msg["From"] = "staff@tyollisyys.example.fi"
        msg["To"] = f"client@example.net.{PHONE_LOCAL}.s"
        msg["Subject"] = f"[secure] Päätös {m} {u}"
        msg.set_content(f"Hei,\n\npäätös {m} liitteenä. {u}\n", cte="quoted-printable")
        msg.add_attachment(big, maintype="application", subtype="pdf", filename=f"{m}-paatos.pdf")
        out.append(("submission", msg["From"], [msg["To"]], msg))

        # 2. Protected by header, identity-bound; text attachment and a non-ASCII attachment name.
        msg = EmailMessage()
        msg["From"] = "staff@tyollisyys.example.fi"
        msg["To"] = "asiakas@example.org"
        msg["Subject"] = f"Lausunto {m}"
        msg["X-Sinetti-Protect"] = "personal"
        msg["X-Sinetti-Identity"] = IDENTITY_CODES[0]
        msg.set_content(f"Lausunto {m} {u}\n", cte="8bit")
        msg.add_attachment(f"liite {m} {u}\n".encode(), maintype="text", subtype="plain", filename=f"{u}-{m}.txt")
        out.append(("submission", msg["From"], [msg["To"]], msg))

        # 3. Protected by X-Sinetti-Sms (E.164 spelling), base64 body.
        msg = EmailMessage()
        msg["From"] = "staff@tyollisyys.example.fi"
        msg["To"] = "toinen@example.org"
        msg["Subject"] = f"Kutsu {m}"
        msg["X-Sinetti-Sms"] = PHONE_E164
        msg.set_content(f"Kutsu {m} {u}\n", cte="base64")
        out.append(("submission", msg["From"], [msg["To"]], msg))

        # 4. A plain enquiry, forwarded: small, with an attachment.
        msg = EmailMessage()
        msg["From"] = "citizen@example.com"
        msg["To"] = "neuvonta@tyollisyys.example.fi"
        msg["Subject"] = f"Kysymys {m}"
        msg.set_content(f"Hei, kysyn {m} {u}\n", cte="8bit")
        msg.add_attachment(f"hakemus {m}".encode() * 20, maintype="application", subtype="octet-stream",
                           filename=f"hakemus-{m}.bin")
        out.append(("inbound", msg["From"], [msg["To"]], msg))

        # 5. A forwarded enquiry over 1 MiB.
        msg = EmailMessage()
        msg["From"] = "citizen@example.com"
        msg["To"] = "neuvonta@tyollisyys.example.fi"
        msg["Subject"] = f"Liitteet {m}"
        msg.set_content(f"Liitteet {m} {u}\n", cte="quoted-printable")
        msg.add_attachment(big, maintype="application", subtype="zip", filename=f"{m}-liitteet.zip")
        out.append(("inbound", msg["From"], [msg["To"]], msg))

        # 6. An enquiry holding an identity code: the detector protects it (team notification).
        msg = EmailMessage()
        msg["From"] = "citizen@example.com"
        msg["To"] = "neuvonta@tyollisyys.example.fi"
        msg["Subject"] = f"Tietoja {m}"
        msg.set_content(f"Henkilötunnukseni on {IDENTITY_CODES[1]}. {m} {u}\n", cte="quoted-printable")
        out.append(("inbound", msg["From"], [msg["To"]], msg))

        # 7. An enquiry to a team whose mailbox the relay refuses: a DSN with the original headers.
        msg = EmailMessage()
        msg["From"] = "citizen@example.com"
        msg["To"] = "tyonhaku@tyollisyys.example.fi"
        msg["Subject"] = f"Hakemus {m}"
        msg.set_content(f"Hakemus {m} {u}\n")
        out.append(("inbound", msg["From"], [msg["To"]], msg))
        return out

    def send_all(self):
        """Sends every message; returns the queue ids the gateway answered with. Before the last one
        (whose refusal by the relay leads to the first shredding, which truncates the WAL) the data
        directory is scanned as it is right after acceptance."""
        ids = []
        messages = self.messages()
        for n, (listener, sender, rcpts, msg) in enumerate(messages):
            if n == len(messages) - 1:
                self.assert_clean("accepted")
            port = self.inbound if listener == "inbound" else self.submission
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.ehlo("client.example")
                self.assertEqual(s.mail(sender, ["BODY=8BITMIME"])[0], 250)
                for r in rcpts:
                    self.assertEqual(s.rcpt(r)[0], 250, r)
                code, reply = s.data(msg.as_bytes(policy=email.policy.SMTP))
                self.assertEqual(code, 250, reply)
                ids.append(re.search(r"queued as (\w+)", reply.decode()).group(1))
        return ids

    # ---- checks ----

    def patterns(self):
        p = {}
        for name, text in [("marker", self.marker), ("umarker", self.umarker), ("phone", PHONE_CORE)] + \
                          [(f"identity{i}", c) for i, c in enumerate(IDENTITY_CODES)]:
            for n in needles(text):
                p[n] = name
        return p

    def assert_clean(self, stage):
        patterns = self.patterns()
        found, files = scan(self.data, patterns)
        self.assertGreaterEqual(files, 5, f"{stage}: the data directory holds the database, WAL, keys ...")
        self.assertEqual(found, {}, f"{stage}: confidential text in the data directory: "
                                    f"{ {f: sorted({patterns[p] for p in ps}) for f, ps in found.items()} }")
        with self.gw.cond:
            log = "\n".join(json.dumps(e, ensure_ascii=False) for e in self.gw.events).encode()
        self.assertGreater(len(log), 1000)
        leaked = hits(log, patterns)
        self.assertEqual(leaked, set(), f"{stage}: confidential text in the log: {sorted({patterns[p] for p in leaked})}")
        return files

    def db(self):
        return sqlite3.connect(f"file:{self.data / 'sinetti.db'}?mode=ro", uri=True, timeout=10)

    def test_nothing_confidential_at_rest(self):
        ids = self.send_all()
        self.assertEqual(len(set(ids)), 7)
        kinds = {"forward": 3, "notification": 4, "dsn": 1}

        # ---- while queued: every entry tried at least once and refused by the relay ----
        def waiting(entries):
            counts = {k: sum(1 for e in entries if e["kind"] == k) for k in kinds}
            return counts == kinds and all(e["attempts"] >= 1 for e in entries) and \
                sum(1 for e in entries if e["state"] == "failed") == 1
        entries = self.wait_queue(waiting, "every entry attempted, one refused for good")
        self.assertEqual(sorted(e["state"] for e in entries if e["state"] != "leased"),
                         ["failed"] + ["queued"] * (7 - sum(1 for e in entries if e["state"] == "leased")), entries)
        self.gw.wait_for(lambda e: e.get("event") == "deferred" and e.get("code") == 451)
        self.assertEqual(list(self.relay_out.glob("*.eml")), [], "the relay kept nothing in phase 1")
        with self.db() as db:
            kinds_stored = dict(db.execute("SELECT kind, COUNT(*) FROM messages GROUP BY kind").fetchall())
            wrapped = {row[0]: row[1] for row in db.execute(
                "SELECT id, wrapped_key FROM messages WHERE wrapped_key IS NOT NULL").fetchall()}
        self.assertEqual(kinds_stored.get("protected"), 4, kinds_stored)  # 1, 2, 3 and the detector's 6
        self.assertEqual(kinds_stored.get("notification"), 4, kinds_stored)
        self.assertEqual(kinds_stored.get("dsn"), 1, kinds_stored)
        self.assertEqual(kinds_stored.get("spool"), 3, kinds_stored)
        self.assert_clean("queued")

        # ---- delivered: the relay accepts now ----
        self.relay.stop()
        self.relay = MailServer(self.relay_out, "--rcpt-reply", "bounce-*=550 5.1.1 No such user",
                                port=self.relay.port)
        for e in self.queue():
            if e["state"] == "queued":
                # Due now; one the queue has just taken (or already delivered) is not retryable.
                r = self.sinetti("queue", "retry", e["id"])
                self.assertTrue(r.returncode == 0 or "that can be retried" in r.stderr or "being delivered now" in r.stderr, r.stderr)
        self.wait_queue(lambda es: sorted(e["state"] for e in es) == ["done"] * 7 + ["failed"], "all delivered")
        # What reached the relay holds the marker in the encodings mail uses, and the scanner finds it
        # there in every part that holds it: its zero counts above and below mean something.
        delivered = sorted(self.relay_out.glob("*.eml"))
        self.assertEqual(len(delivered), 7)
        patterns = self.patterns()
        seen = {"7bit": 0, "8bit": 0, "base64": 0, "quoted-printable": 0}
        for path in delivered:
            self.assertTrue(hits(path.read_bytes(), patterns), f"{path.name} holds no marker")
            for part in email.message_from_bytes(path.read_bytes(), policy=email.policy.default).walk():
                if part.is_multipart():
                    continue
                decoded = part.get_payload(decode=True) or b""
                encoded = part.get_payload(decode=False).encode("utf-8", "surrogateescape")
                for text, name in ((self.marker, "marker"), (self.umarker, "umarker")):
                    if text.encode() in decoded:
                        found = {patterns[p] for p in hits(encoded, patterns)}
                        self.assertIn(name, found, f"{path.name}: the scanner misses a {part['Content-Transfer-Encoding']} part")
                        seen[str(part.get("Content-Transfer-Encoding", "7bit")).lower()] += 1
        self.assertTrue(seen["base64"] and seen["quoted-printable"] and seen["8bit"], seen)
        self.gw.wait_for(lambda e: self.gw.count(lambda x: x.get("event") == "delivered") >= 7)
        with self.db() as db:
            spools = db.execute("SELECT state, wrapped_key IS NULL FROM messages WHERE kind != 'protected'").fetchall()
        self.assertEqual(sorted(spools), [("shredded", 1)] * 8, "delivered copies are shredded")
        self.assert_clean("delivered")

        # ---- purged: every protected message past its expiry, `sinetti purge` shreds it ----
        with sqlite3.connect(self.data / "sinetti.db", timeout=10) as db:
            db.execute("UPDATE messages SET expires_at = 1 WHERE state = 'stored'")
        r = self.sinetti("purge")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^expired 4 messages")
        with self.db() as db:
            left = db.execute("SELECT COUNT(*) FROM messages WHERE wrapped_key IS NOT NULL").fetchone()[0]
            chunks = db.execute("SELECT COUNT(*) FROM content_chunks").fetchone()[0]
        self.assertEqual((left, chunks), (0, 0))
        files = self.assert_clean("purged")
        # Crypto-shredding: no copy of any wrapped data key is left in any file (WAL included).
        # All twelve copies, but the refused enquiry's spool may already be shredded when they were read.
        self.assertGreaterEqual(len(wrapped), 11)
        remaining = {}
        for path in self.data.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for mid, key in wrapped.items():
                    if key in data:
                        remaining.setdefault(str(path.relative_to(self.data)), []).append(mid)
        self.assertEqual(remaining, {}, "wrapped data keys left after shredding")
        r = self.sinetti("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        print(f"\nat rest: {files} files scanned at each stage, {len(wrapped)} wrapped keys shredded",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
