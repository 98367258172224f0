"""The HTTPS portal of a real `sinetti serve` on loopback (port 0): staff mail marked
`.0401234567.s` arrives on the submission listener (swaks), the notification lands in the Maildir,
and a recipient follows its link over TLS with Python's http.client (the development certificate
is self-signed, so no verification): the landing page sends no SMS, the PIN is ordered with the
page's CSRF token and cookie, read from the SMS file, and opens the message; a binary attachment
downloads byte for byte; another recipient's link does not open with the first one's session; GETs
on every page change nothing; a reply with a file reaches the team mailbox. Also the HTTP layer itself: TLS 1.2+, keep-alive, 431 and 413, the
security headers. And guessing PINs: codes die, are rate limited, and the message locks."""
import concurrent.futures
import email
import email.policy
import glob
import http.client
import json
import os
import pathlib
import random
import re
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings
from email.message import EmailMessage

from serve_test import Gateway

CONFIG = """
instance: {name: "Kaupungin työllisyyspalvelut", public_url: "https://127.0.0.1:8443", data_dir: var,
           languages: [fi, sv, en], default_language: fi}
listeners:
  - name: submission
    address: "127.0.0.1:0"
    role: submission
    allowed_networks: [127.0.0.0/8]
    tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
portal:
  address: "127.0.0.1:0"
  tls: {cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}
  max_header_size: 8KiB
  max_body_size: 1MiB
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
    - {name: rest, when: {}, action: {reject: {code: 550, text: "5.1.1 No such recipient here"}}}
unlock: {link_ttl: 30d, pin: {length: 6, ttl: 10m, max_attempts: 5, max_per_hour: 5, max_failures: 100}}
sms: {driver: file, file: {path: var/sms.jsonl}, sender: Sinetti}
notifications: {from: turvaposti@tyollisyys.example.fi}
"""

ATTACHMENT = bytes((i * 7919 + (i >> 8)) & 0xFF for i in range(300_000))  # crosses several 64 KiB chunks


def delivered_mail(var):
    """The messages the maildir transport has finished delivering under var/mail.

    Only new/ and cur/: a file in tmp/ is still being written and is renamed
    into new/ once complete, so it may vanish between listing and opening."""
    out = []
    for sub in ("new", "cur"):
        for path in sorted(glob.glob(str(pathlib.Path(var) / "mail" / sub / "*"))):
            with open(path, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
    return out


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the development certificate is self-signed
    return ctx


class Browser:
    """One recipient's browser: a keep-alive HTTPS connection and a cookie jar."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.conn = None

    def request(self, method, path, form=None, headers=None, raw_body=None):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=no_verify(), timeout=30)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = raw_body
        if form is not None:
            body = "&".join(f"{k}={v}" for k, v in form.items())
            h["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, v = value.split(";", 1)[0].split("=", 1)
                self.cookies[k] = v
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r, data

    def close(self):
        if self.conn is not None:
            self.conn.close()


def field(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


class PortalBase(unittest.TestCase):
    CONFIG = CONFIG

    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(cls.CONFIG)
        ports = {}
        for name in ("submission", "portal"):
            e = cls.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        cls.submission, cls.portal = ports["submission"], ports["portal"]
        cls.gw.wait_for(lambda e: e.get("event") == "started")
        cls.var = cls.gw.cwd / "var"
        cls.links = cls.send_protected()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    @staticmethod
    def staff_message(to, subject, body, attachment, subtype, filename):
        """A message from the team's staff address with one application/SUBTYPE attachment."""
        msg = EmailMessage()
        msg["From"] = "Neuvonta <neuvonta-tiimi@intra.example.fi>"
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        msg.add_attachment(attachment, maintype="application", subtype=subtype, filename=filename)
        return msg

    @classmethod
    def send_protected(cls):
        """One message to two recipients with their own phones; returns {recipient: read path}."""
        msg = cls.staff_message(
            "asiakas@example.net, toinen@example.org", "[suojattu] Päätös <1234>",
            "Hei,\n\npäätös on liitteenä. Ohjeet: https://example.fi/ohje?x=1&y=2\n<script>alert(1)</script>\n",
            ATTACHMENT, "pdf", "päätös.pdf")
        return cls.send_mail(msg, {"asiakas@example.net": "0401234567", "toinen@example.org": "0409876543"})

    @classmethod
    def send_mail(cls, msg, phones):
        """Sends msg through the submission listener with swaks, each recipient marked with its phone
        (`.PHONE.s`); returns {recipient: read path} from the notifications in the Maildir."""
        with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
            f.write(msg.as_bytes(policy=email.policy.SMTP))
            eml = f.name
        try:
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(cls.submission), "--timeout", "20",
                                "--from", "neuvonta-tiimi@intra.example.fi",
                                "--to", ",".join(f"{r}.{p}.s" for r, p in phones.items()),
                                "--data", "@" + eml], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               timeout=60)
        finally:
            os.unlink(eml)
        assert "250 2.0.0 Ok: queued as" in r.stdout, r.stdout + r.stderr
        links = {}
        deadline = time.monotonic() + 30
        while len(links) < len(phones):
            assert time.monotonic() < deadline, f"notifications: {links}"
            for note in delivered_mail(cls.var):
                to = str(note["To"] or "")
                body = note.get_body(("plain",)).get_content()
                m = re.search(r"https://[^/\s]+(/m/[A-Za-z0-9_-]{43})\?lang=(\w+)", body)
                if m:
                    for r in phones:
                        if r in to and r not in links:
                            links[r] = m.group(1)
            time.sleep(0.1)
        return links

    def browser(self):
        b = Browser(self.portal)
        self.addCleanup(b.close)
        return b

    def sms_lines(self):
        path = self.var / "sms.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def pin_challenges(self):
        db = sqlite3.connect(f"file:{self.var / 'sinetti.db'}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM pin_challenges").fetchone()[0]
        finally:
            db.close()

    def wait_for_sms(self, count, to):
        deadline = time.monotonic() + 10
        while True:
            lines = [l for l in self.sms_lines() if l["to"] == to]
            if len(lines) >= count:
                return lines[-1]
            self.assertLess(time.monotonic(), deadline, "the PIN text message")
            time.sleep(0.05)

    def mail_files(self):
        return delivered_mail(self.var)


class Portal(PortalBase):
    def test_get_changes_nothing_then_a_pin_opens_the_message(self):
        link = self.links["asiakas@example.net"]
        other = self.links["toinen@example.org"]
        b = self.browser()
        sms_before, pins_before = len(self.sms_lines()), self.pin_challenges()
        # A mail scanner (or the recipient) fetching every page: nothing is sent or changed.
        for path in (link, link + "?lang=en", link + "/read", link + "/attachment/0", link + "/pin", link + "/unlock",
                     other, "/accessibility", "/static/portal.css", "/"):
            r, _ = b.request("GET", path)
            self.assertIn(r.status, (200, 303, 405), path)
            self.assertIsNotNone(r.getheader("Strict-Transport-Security"), path)
            self.assertIn("frame-ancestors 'none'", r.getheader("Content-Security-Policy"), path)
            self.assertEqual(r.getheader("X-Content-Type-Options"), "nosniff", path)
            self.assertEqual(r.getheader("Referrer-Policy"), "no-referrer", path)
        self.assertEqual(len(self.sms_lines()), sms_before)
        self.assertEqual(self.pin_challenges(), pins_before)

        r, page = b.request("GET", link + "?lang=en")
        page = page.decode()
        self.assertEqual(r.status, 200)
        self.assertIn('<html lang="en">', page)
        self.assertIn("Kaupungin työllisyyspalvelut", page)
        self.assertIn("<strong>67</strong>", page)
        self.assertNotIn("401234567", page)
        self.assertEqual(r.getheader("Cache-Control"), "no-store")
        csrf = field(page, "csrf")
        self.assertTrue(csrf)
        self.assertIn("__Host-sinetti", b.cookies)

        r, page = b.request("POST", link + "/pin?lang=en", {"csrf": csrf})
        self.assertEqual(r.status, 200, page)
        sms = self.wait_for_sms(1, "+358401234567")
        pin = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
        self.assertEqual(self.pin_challenges(), pins_before + 1)

        session_before = b.cookies["__Host-sinetti"]
        r, page = b.request("POST", link + "/unlock?lang=en", {"csrf": csrf, "pin": pin})
        self.assertEqual(r.status, 303, page)
        self.assertEqual(r.getheader("Location"), link + "/read?lang=en")
        self.assertNotEqual(b.cookies["__Host-sinetti"], session_before, "a new session id at unlock")

        r, page = b.request("GET", link + "/read?lang=en")
        page = page.decode()
        self.assertEqual(r.status, 200)
        self.assertIn("Päätös &lt;1234&gt;", page)
        self.assertNotIn("[suojattu]", page)
        self.assertIn("päätös on liitteenä", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertNotIn("<script>", page)
        self.assertIn('<a href="https://example.fi/ohje?x=1&amp;y=2" rel="noopener noreferrer nofollow">', page)
        self.assertIn("päätös.pdf", page)

        r, data = b.request("GET", link + "/attachment/0")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/pdf")
        self.assertTrue(r.getheader("Content-Disposition").startswith("attachment;"))
        self.assertIn("filename*=UTF-8''p%C3%A4%C3%A4t%C3%B6s.pdf", r.getheader("Content-Disposition"))
        self.assertEqual(len(data), len(ATTACHMENT))
        self.assertEqual(data, ATTACHMENT)
        # The keep-alive connection still works after a streamed (chunked) body.
        r, _ = b.request("GET", "/accessibility?lang=sv")
        self.assertEqual(r.status, 200)

        # The second recipient's link has its own copy and its own unlock: this session does not open it.
        r, _ = b.request("GET", other + "/read")
        self.assertEqual(r.status, 303)
        r, _ = b.request("GET", other + "/attachment/0")
        self.assertEqual(r.status, 303)
        r, page = b.request("GET", other)
        r, page = b.request("POST", other + "/unlock", {"csrf": field(page.decode(), "csrf"), "pin": pin})
        self.assertNotEqual(r.status, 303)

        status = subprocess.run([os.environ["SINETTI_BIN"], "message", "--config", str(self.gw.config), "status",
                                 "--json", self.message_id(link)], cwd=self.gw.cwd, capture_output=True, text=True)
        self.assertEqual(status.returncode, 0, status.stderr)
        events = [(e["event"], e["outcome"]) for e in json.loads(status.stdout)["events"]]
        for expected in [("unlock.pin_issued", "issued"), ("unlock.sms", "ok"), ("unlock.pin", "accepted"),
                         ("message.viewed", "ok"), ("message.downloaded", "ok")]:
            self.assertIn(expected, events)

        log = json.dumps(self.gw.events)
        self.assertNotIn(pin, log)
        self.assertNotIn(link.rsplit("/", 1)[1], log)
        self.assertNotIn("401234567", log)

    def message_id(self, link):
        db = sqlite3.connect(f"file:{self.var / 'sinetti.db'}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT message_id FROM pin_challenges ORDER BY created_at DESC").fetchall()
        finally:
            db.close()
        self.assertTrue(rows)
        return rows[0][0]

    def db_counts(self):
        db = sqlite3.connect(f"file:{self.var / 'sinetti.db'}?mode=ro", uri=True, timeout=10)
        try:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("pin_challenges", "device_bindings", "audit_log", "queue_entries")} | {
                "states": db.execute("SELECT group_concat(state) FROM (SELECT state FROM messages ORDER BY id)").fetchone()[0]}
        finally:
            db.close()

    def test_a_link_scanner_changes_nothing(self):
        """A mail security scanner: follows every link of the notification and of every page it
        reaches, and fetches every form's action too (GET and HEAD), with and without cookies."""
        start = [self.links["asiakas@example.net"] + "?lang=fi", self.links["toinen@example.org"]]
        before = (len(self.sms_lines()), self.db_counts())
        seen, queue = set(), list(start)
        with_cookies, without = self.browser(), self.browser()
        while queue and len(seen) < 60:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            for b in (with_cookies, without):
                for method in ("GET", "HEAD"):
                    r, page = b.request(method, path, headers={"User-Agent": "Mozilla/5.0 (compatible; LinkScanner)"})
                    self.assertNotEqual(r.status, 500, path)
                    if r.status == 303:
                        queue.append(r.getheader("Location"))
                    for target in re.findall(r'(?:href|action)="([^"#]*)"', page.decode(errors="replace")):
                        if target.startswith("/"):
                            queue.append(target.replace("&amp;", "&"))
        self.assertGreater(len(seen), 8, seen)
        self.assertTrue(any(p.endswith("/pin?lang=fi") for p in seen), seen)
        self.assertEqual((len(self.sms_lines()), self.db_counts()), before)

    def test_posts_without_the_csrf_token_do_nothing(self):
        link = self.links["toinen@example.org"]
        b = self.browser()
        r, page = b.request("GET", link)
        sms_before = len(self.sms_lines())
        r, _ = b.request("POST", link + "/pin", {"csrf": "x" * 43})
        self.assertEqual(r.status, 403)
        fresh = self.browser()
        r, _ = fresh.request("POST", link + "/pin", {"csrf": field(page.decode(), "csrf")})
        self.assertEqual(r.status, 403)
        self.assertEqual(len(self.sms_lines()), sms_before)

    def test_unknown_links_get_the_same_page(self):
        b = self.browser()
        r1, p1 = b.request("GET", "/m/" + "A" * 43)
        r2, p2 = b.request("GET", "/m/short")
        self.assertEqual((r1.status, r2.status), (404, 404))
        # The same page but for the language switch, which links to the page's own path.
        self.assertEqual(p1.replace(b"A" * 43, b"TOKEN"), p2.replace(b"short", b"TOKEN"))
        # 10,000 random tokens of the real length and alphabet: all the same page, nothing opens.
        reference = p1.replace(b"A" * 43, b"TOKEN")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        rng = random.SystemRandom()

        def guess(count):
            mine, wrong = self.browser(), []
            for _ in range(count):
                token = "".join(rng.choice(alphabet) for _ in range(43))
                r, page = mine.request("GET", "/m/" + token)
                if r.status != 404 or page.replace(token.encode(), b"TOKEN") != reference:
                    wrong.append((token, r.status))
            return wrong

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            differing = [w for part in pool.map(guess, [2_500] * 4) for w in part]
        self.assertEqual(differing, [])

    def test_reply_reaches_the_sender(self):
        link = self.links["toinen@example.org"]
        b = self.browser()
        r, page = b.request("GET", link + "?lang=fi")
        csrf = field(page.decode(), "csrf")
        r, _ = b.request("POST", link + "/pin?lang=fi", {"csrf": csrf})
        self.assertEqual(r.status, 200)
        pin = re.search(r"\b(\d{6})\b", self.wait_for_sms(1, "+358409876543")["text"]).group(1)
        r, _ = b.request("POST", link + "/unlock?lang=fi", {"csrf": csrf, "pin": pin})
        self.assertEqual(r.status, 303)
        r, page = b.request("GET", link + "/read?lang=fi")
        csrf = field(page.decode(), "csrf")
        upload = bytes(range(256)) * 40
        boundary = "----e2eBoundary7MA4YWxkTrZu0gW"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n"
                "Kiitos päätöksestä.\r\nTerveisin Toinen\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"hakemus.pdf\"\r\n"
                "Content-Type: application/pdf\r\n\r\n").encode() + upload + f"\r\n--{boundary}--\r\n".encode()
        r, _ = b.request("POST", link + "/reply?lang=fi", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                         raw_body=body)
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), link + "/read?lang=fi&replied=1")
        deadline = time.monotonic() + 30
        reply = None
        while reply is None:
            self.assertLess(time.monotonic(), deadline, "the reply in the team mailbox")
            for m in delivered_mail(self.var):
                if m["X-Sinetti-Reply"]:
                    reply = m
            time.sleep(0.1)
        self.assertEqual(str(reply["To"]), "neuvonta-tiimi@intra.example.fi")
        self.assertEqual(str(reply["Subject"]), "Re: Päätös <1234>")
        self.assertIn("Kiitos päätöksestä.", reply.get_body(("plain",)).get_content())
        files = [p for p in reply.iter_attachments()]
        self.assertEqual([p.get_filename() for p in files], ["hakemus.pdf"])
        self.assertEqual(files[0].get_content(), upload)

    def test_tls_and_http_limits(self):
        with socket.create_connection(("127.0.0.1", self.portal), timeout=10) as raw:
            with no_verify().wrap_socket(raw, server_hostname="localhost") as t:
                self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))
        old = no_verify()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that is the point: TLS 1.1 must fail
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with socket.create_connection(("127.0.0.1", self.portal), timeout=10) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                old.wrap_socket(raw, server_hostname="localhost")
        b = self.browser()
        r, _ = b.request("GET", "/accessibility")
        sock = b.conn.sock
        r, _ = b.request("GET", "/accessibility?lang=en")
        self.assertIs(b.conn.sock, sock, "keep-alive")
        r, _ = b.request("GET", "/", headers={"X-Big": "y" * 9000})
        self.assertEqual(r.status, 431)
        b2 = self.browser()
        r, _ = b2.request("POST", self.links["asiakas@example.net"] + "/pin", headers={"Content-Length": str(2 * 1024 * 1024)})
        self.assertEqual(r.status, 413)
        b3 = self.browser()
        r, body = b3.request("HEAD", "/accessibility")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, b"")
        head_length = int(r.getheader("Content-Length"))
        sock = b3.conn.sock
        r, body = b3.request("GET", "/accessibility")  # the HEAD sent no body: the connection is still in step
        self.assertEqual(r.status, 200)
        self.assertIs(b3.conn.sock, sock, "keep-alive after HEAD")
        self.assertEqual(head_length, len(body))


class BruteForce(PortalBase):
    """Guessing PINs against the real binary: a code dies after unlock.pin.max_attempts wrong tries,
    codes are rate limited per hour, and unlock.pin.max_failures wrong tries in all lock the
    message for good (the right PIN no longer opens it) and tell the sender."""
    CONFIG = CONFIG.replace("pin: {length: 6, ttl: 10m, max_attempts: 5, max_per_hour: 5, max_failures: 100}",
                            "pin: {length: 6, ttl: 10m, max_attempts: 3, max_per_hour: 3, max_failures: 7}")

    def order(self, b, link, csrf):
        r, page = b.request("POST", link + "/pin?lang=en", {"csrf": csrf})
        return r.status, page.decode()

    def test_guessing_locks_the_message_and_tells_the_sender(self):
        self.assertIn("max_failures: 7", self.CONFIG)
        link = self.links["asiakas@example.net"]
        b = self.browser()
        r, page = b.request("GET", link + "?lang=en")
        csrf = field(page.decode(), "csrf")
        guesses = 0
        last_pin = None
        for round_ in range(3):
            status, page = self.order(b, link, csrf)
            self.assertEqual(status, 200, page)
            last_pin = re.search(r"\b(\d{6})\b", self.wait_for_sms(round_ + 1, "+358401234567")["text"]).group(1)
            for attempt in range(3):
                if guesses == 7:
                    break
                wrong = "000000" if last_pin != "000000" else "111111"
                r, page = b.request("POST", link + "/unlock?lang=en", {"csrf": csrf, "pin": wrong})
                guesses += 1
                self.assertIn(r.status, (422, 403), page)
        self.assertEqual(guesses, 7)
        self.assertIn(b"This message is locked", page)
        # Locked for good: the right PIN of the last code, and new codes, are refused.
        sms_before = len(self.sms_lines())
        r, page = b.request("POST", link + "/unlock?lang=en", {"csrf": csrf, "pin": last_pin})
        self.assertEqual(r.status, 403)
        status, _ = self.order(b, link, csrf)
        self.assertEqual(status, 403)
        self.assertEqual(len(self.sms_lines()), sms_before)
        r, _ = b.request("GET", link + "/read")
        self.assertEqual(r.status, 303)
        # The sender hears of it.
        deadline = time.monotonic() + 30
        notices = lambda: [m for m in self.mail_files() if m["X-Sinetti-Notification"] == "sender"]
        while not notices():
            self.assertLess(time.monotonic(), deadline, "the locked notice to the sender")
            time.sleep(0.1)
        notice = notices()[0]
        self.assertIn("on lukittu", str(notice["Subject"]))  # instance.default_language: fi
        self.assertEqual(str(notice["To"]), "neuvonta-tiimi@intra.example.fi")
        self.assertNotIn(last_pin, notice.get_body(("plain",)).get_content())

    def test_codes_are_rate_limited(self):
        link = self.links["toinen@example.org"]
        b = self.browser()
        r, page = b.request("GET", link)
        csrf = field(page.decode(), "csrf")
        for i in range(3):
            self.assertEqual(self.order(b, link, csrf)[0], 200)
        before = len(self.sms_lines())
        status, page = self.order(b, link, csrf)
        self.assertEqual(status, 429)
        self.assertIn("Too many codes", page)
        self.assertEqual(len(self.sms_lines()), before)


class WriteDeadline(PortalBase):
    """portal.write_timeout: a client that stops reading a download is cut off once a write has
    waited that long; the portal goes on serving."""
    CONFIG = CONFIG.replace("  max_body_size: 1MiB\n", "  max_body_size: 1MiB\n  write_timeout: 2s\n")
    LARGE = bytes((i * 40503 + (i >> 11)) & 0xFF for i in range(12 * 1024 * 1024))  # beyond the socket buffers

    @classmethod
    def send_protected(cls):
        msg = cls.staff_message("asiakas@example.net", "[suojattu] Iso liite", "Hei,\n\nliitteenä aineisto.\n",
                                cls.LARGE, "octet-stream", "aineisto.bin")
        return cls.send_mail(msg, {"asiakas@example.net": "0401234567"})

    def test_a_download_that_is_not_read_is_cut_off_after_the_write_timeout(self):
        self.assertIn("write_timeout: 2s", self.CONFIG)
        link = self.links["asiakas@example.net"]
        b = self.browser()
        r, page = b.request("GET", link + "?lang=en")
        csrf = field(page.decode(), "csrf")
        r, page = b.request("POST", link + "/pin?lang=en", {"csrf": csrf})
        self.assertEqual(r.status, 200, page)
        pin = re.search(r"\b(\d{6})\b", self.wait_for_sms(1, "+358401234567")["text"]).group(1)
        r, page = b.request("POST", link + "/unlock?lang=en", {"csrf": csrf, "pin": pin})
        self.assertEqual(r.status, 303, page)

        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # a small window, set before connecting
        raw.settimeout(15)
        raw.connect(("127.0.0.1", self.portal))
        with no_verify().wrap_socket(raw) as conn:
            cookie = "; ".join(f"{k}={v}" for k, v in b.cookies.items())
            conn.sendall(f"GET {link}/attachment/0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
            self.gw.wait_for(lambda e: e.get("event") == "portal_request" and e.get("route") == "attachment")
            time.sleep(6)  # not reading: the server's writes stall, the 2 s deadline passes
            received = 0
            try:
                while chunk := conn.recv(65536):
                    received += len(chunk)
            except (ConnectionResetError, ssl.SSLError):
                pass
        self.assertGreater(received, 0)  # the head and what the buffers held
        self.assertLess(received, len(self.LARGE))  # not the whole download: the connection was closed
        r, data = b.request("GET", link + "/attachment/0")  # a client that reads gets all of it
        self.assertEqual(r.status, 200)
        self.assertEqual(data, self.LARGE)


if __name__ == "__main__":
    unittest.main()
