"""Helpers for the mail end-to-end tests (mail_test, delivery_fault_test, kill_test): the test mail
server (mailserver.py) as a process, `sinetti serve` in a directory that survives restarts, the
gateway's configuration, the store opened read-only with sqlite3, and the operator's CLI."""
import email
import email.policy
import hashlib
import json
import os
import pathlib
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

BIN = os.environ["SINETTI_BIN"]
SRC = pathlib.Path(os.environ["SINETTI_SOURCE_DIR"])
HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"

TEAM_DOMAIN = "tyollisyys.example.fi"
NEUVONTA = "neuvonta@tyollisyys.example.fi"
NEUVONTA_BOX = "neuvonta-tiimi@intra.example.fi"
TYONHAKU = "tyonhaku@tyollisyys.example.fi"
TYONHAKU_BOX = "tyonhaku-tiimi@intra.example.fi"
NOTIFY_FROM = "turvaposti@tyollisyys.example.fi"
PUBLIC_URL = "https://gw.example.fi"


def free_port():
    """A port nobody listens on right now (for a server that must come back on the same port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Received:
    """One message the mail server accepted: its metadata (.json) and bytes (.eml)."""

    def __init__(self, meta, raw, path):
        self.meta = meta
        self.raw = raw
        self.path = path
        self.mail_from = meta["mail_from"]
        self.rcpt_tos = meta["rcpt_tos"]
        self.arrived = path.stat().st_mtime

    def parsed(self):
        if not hasattr(self, "_parsed"):
            self._parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        return self._parsed

    def header(self, name):
        return self.parsed()[name]

    @property
    def message_id(self):
        """The Message-ID without angle brackets ("" if none)."""
        if not hasattr(self, "_message_id"):
            self._message_id = (self.header("Message-ID") or "").strip().strip("<>")
        return self._message_id

    def text(self):
        """The decoded text of every text part (quoted-printable and base64 undone)."""
        if not hasattr(self, "_text"):
            out = []
            for part in self.parsed().walk():
                if part.get_content_maintype() == "text":
                    out.append(part.get_content())
            self._text = "\n".join(out)
        return self._text


class MailServer:
    """tests/e2e/mailserver.py as a process: the organisation's mail server."""

    def __init__(self, out_dir, *args, port=0):
        self.out = pathlib.Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([PYTHON, str(HERE / "mailserver.py"), "--out", str(self.out), "--port", str(port),
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise AssertionError(f"mailserver.py did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line)
        self._seen = {}

    def messages(self):
        """Every message accepted so far, in order."""
        out = []
        for meta_path in sorted(self.out.glob("[0-9]*.json")):
            r = self._seen.get(meta_path.name)
            if r is None:
                meta = json.loads(meta_path.read_text())
                r = Received(meta, meta_path.with_suffix(".eml").read_bytes(), meta_path)
                self._seen[meta_path.name] = r
            out.append(r)
        return out

    def wait_for(self, predicate, timeout=60, what="a message", count=1):
        """The first `count` messages that satisfy predicate (waits until there are that many)."""
        def found():
            hits = [m for m in self.messages() if predicate(m)]
            return hits if len(hits) >= count else None
        return wait_until(found, timeout, what)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class GatewayProcess:
    """`sinetti serve` in a directory that outlives the process (restart after SIGKILL), following
    its JSON log on stderr. `events` keeps every run's log; `run` counts the starts."""

    def __init__(self, directory, config_text, before_start=None):
        self.cwd = pathlib.Path(directory)
        self.config = self.cwd / "sinetti.yaml"
        self.config.write_text(config_text)
        if before_start:
            before_start(self.cwd)
        self.events = []
        self.cond = threading.Condition()
        self.proc = None
        self.run = 0
        self.start()

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        self.run += 1
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], cwd=self.cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.reader = threading.Thread(target=self._read, args=(self.proc, self.run), daemon=True)
        self.reader.start()

    def _read(self, proc, run):
        for line in proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "text", "line": line.rstrip("\n")}
            event["_run"] = run
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()
        proc.stderr.close()

    def wait_for(self, predicate, timeout=30, this_run=True):
        deadline = time.monotonic() + timeout
        run = self.run
        with self.cond:
            while True:
                for e in self.events:
                    if (not this_run or e["_run"] == run) and predicate(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    tail = [e for e in self.events if e["_run"] == run][-30:]
                    raise AssertionError(f"no such event (exit {self.proc.poll()}); log tail: {tail}")
                self.cond.wait(min(left, 0.2))

    def select(self, predicate):
        with self.cond:
            return [e for e in self.events if predicate(e)]

    def listening(self, name):
        e = self.wait_for(lambda e: e.get("event") == "listening" and e.get("listener") == name)
        return int(e["address"].rsplit(":", 1)[1])

    def started(self, timeout=60):
        return self.wait_for(lambda e: e.get("event") == "started", timeout=timeout)

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=5)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.reader.join(timeout=5)

    def vm_kib(self, field):
        """VmHWM (peak resident set size) or VmRSS of the running process, in KiB."""
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field}")

    def vm_hwm_kib(self):
        return self.vm_kib("VmHWM")

    def reset_peak_rss(self):
        """Starts a new peak (Linux: "5" to clear_refs sets VmHWM to the current RSS); returns the
        resident set size now, in KiB, the base the next peak is measured from."""
        pathlib.Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self.vm_kib("VmRSS")

    # ---- the operator's view ----------------------------------------------------------------------

    def cli(self, *args, check=True):
        r = subprocess.run([BIN, *args, "--config", str(self.config)], cwd=self.cwd, capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"sinetti {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r

    def queue_entries(self):
        out = self.cli("queue", "list", "--json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def db(self):
        """The store, read-only (the gateway keeps writing to it)."""
        path = self.cwd / "var" / "sinetti.db"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def query(self, sql, *params):
        db = self.db()
        try:
            return [dict(r) for r in db.execute(sql, params).fetchall()]
        finally:
            db.close()


def gateway_config(relay_port, relay_tls="none", ca_file=None, inbound_port=0, admin_port=0, extra_teams="",
                   retry="{initial: 1s, max: 1m}", workers=4, include_subject=False, users_file=False,
                   max_message_size="64MiB", extra_rules=""):
    """The gateway for the mail tests: an inbound listener for the team domain, a submission
    listener for staff on loopback (trusted network), optionally a second submission listener that
    demands STARTTLS and AUTH (users_file), delivery through the test mail server, the development
    configuration's teams and marking rules."""
    relay = f"{{host: 127.0.0.1, port: {relay_port}, tls: {relay_tls}"
    if ca_file:
        relay += f", ca_file: {ca_file}"
    relay += ", timeouts: {connect: 5s, greeting: 10s, command: 30s, data_init: 30s, data_block: 60s, data_end: 60s}}"
    staff = ""
    if users_file:
        staff = f"""
  - name: staff
    address: "127.0.0.1:0"
    role: submission
    tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
    require_tls: true
    auth: {{users_file: users}}
    max_message_size: {max_message_size}"""
    return f"""
instance:
  name: "Sinetti (e2e)"
  public_url: "{PUBLIC_URL}"
  data_dir: var
  languages: [fi, sv, en]
  default_language: fi
listeners:
  - name: inbound
    address: "127.0.0.1:{inbound_port}"
    role: inbound
    domains: [{TEAM_DOMAIN}]
    tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
    max_message_size: {max_message_size}
  - name: submission
    address: "127.0.0.1:0"
    role: submission
    allowed_networks: [127.0.0.0/8]
    tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
    max_message_size: {max_message_size}{staff}
portal:
  address: "127.0.0.1:0"
  tls: {{cert_file: var/tls/cert.pem, key_file: var/tls/key.pem, self_signed: true}}
admin: {{address: "127.0.0.1:{admin_port}"}}
storage: {{backend: sqlite, sqlite: {{path: var/sinetti.db}}}}
keys: {{dir: var/keys, create_if_missing: true}}
delivery:
  relay: {relay}
  retry: {retry}
  lifetime: 5d
  workers: {workers}
teams:
  - id: neuvonta
    name: {{fi: Neuvonta, sv: Rådgivning, en: Advice}}
    address: {NEUVONTA}
    mailbox: {NEUVONTA_BOX}
    staff_group: tyollisyys-neuvonta
  - id: tyonhaku
    name: {{fi: Työnhaku, sv: Arbetssökande, en: Job seeking}}
    address: {TYONHAKU}
    mailbox: {TYONHAKU_BOX}
    staff_group: tyollisyys-tyonhaku{extra_teams}
routing:
  rules:{extra_rules}
    - name: marked
      when: {{marked: true}}
      action: {{protect: {{level: from_marks}}}}
    - name: identity-code
      when: {{detector: finnish_identity_code}}
      action: {{protect: {{level: letter}}}}
    - name: enquiries
      when: {{recipient: {{team: any}}}}
      action: {{forward: {{team: from_recipient}}}}
    - name: rest
      when: {{}}
      action: {{reject: {{code: 550, text: "5.1.1 No such recipient here"}}}}
unlock:
  link_ttl: 30d
retention:
  protected_messages: 30d
notifications:
  from: {NOTIFY_FROM}
  include_subject: {"true" if include_subject else "false"}
"""


def unique(tag="m"):
    return f"{tag}-{os.getpid()}-{time.monotonic_ns()}-{hashlib.sha256(os.urandom(8)).hexdigest()[:10]}"


QUEUED = re.compile(rb"Ok: queued as ([0-9A-Z]{18})")


def queue_id(reply):
    m = QUEUED.search(reply if isinstance(reply, bytes) else reply.encode())
    assert m, reply
    return m.group(1).decode()


# A read link; a team copy's link is /staff/m/TOKEN (staff sign-in), a recipient's /m/TOKEN.
LINK = re.compile(re.escape(PUBLIC_URL) + r"(?:/staff)?/m/([A-Za-z0-9_-]{43})\?lang=(fi|sv|en)")


def links(text):
    return LINK.findall(text)


def token_sha256(token):
    return hashlib.sha256(token.encode()).digest()
