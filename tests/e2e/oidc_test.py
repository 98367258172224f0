"""Strong identification end to end: a real OpenID provider (npm oidc-provider, tests/e2e/oidc/,
on loopback) as the FTN broker — private_key_jwt, signed request objects, ID tokens encrypted to
the gateway's key published at /auth/jwks.json, a `hetu` claim — and the real `sinetti serve`.
Staff mail marked with X-Sinetti-Identity arrives on the submission listener (swaks), the
notification lands in the Maildir, and a recipient's HTTP client follows the landing page's
"identify" link, signs in at the provider's login form and reads the message. A second citizen
is refused with a neutral page, and the refusal is in `sinetti message status`."""
import base64
import email
import email.policy
import hashlib
import http.client
import json
import os
import pathlib
import re
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from portal_test import Browser, delivered_mail, no_verify
from serve_test import BIN, Gateway

OIDC_DIR = pathlib.Path(__file__).parent / "oidc"
CITIZEN = "010594Y9032"
OTHER = "131052-308T"
PUBLIC = "https://127.0.0.1:8443"
STAFF_SECRET = "staff-client-secret-for-tests"  # instance.public_url; the client maps it to the real port

CONFIG = """
instance: {name: "Kaupungin työllisyyspalvelut", public_url: "%(public)s", data_dir: var,
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
notifications: {from: turvaposti@tyollisyys.example.fi}
oidc:
  providers:
    - id: ftn
      kind: citizen
      issuer: "http://127.0.0.1:%(provider_port)d"
      client_id: sinetti-portal
      client_auth: private_key_jwt
      signing_key_file: oidc/sig.pem
      encryption_key_file: oidc/enc.pem
      scopes: [openid, profile]
      acr_values: ["http://ftn.ficora.fi/2017/loa2"]
      identity_claim: hetu
      name: {fi: Pankkitunnukset, sv: Bankkoder, en: Bank ID}
    - id: staff
      kind: staff
      issuer: "http://127.0.0.1:%(staff_port)d"
      client_id: sinetti-staff
      client_auth: client_secret_basic
      client_secret_file: oidc/staff.secret
      scopes: [openid, profile]
      groups_claim: groups
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_keys(cwd):
    d = cwd / "oidc"
    d.mkdir()
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(d / "sig.pem")], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(d / "enc.pem")], check=True, capture_output=True)
    (d / "staff.secret").write_text(STAFF_SECRET + "\n")
    for f in ("sig.pem", "enc.pem", "staff.secret"):
        os.chmod(d / f, 0o600)


class Provider:
    """oidc-provider as a child process, stopped by its PID."""

    def __init__(self, config, port):
        self.tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({**config, "port": port}, self.tmp)
        self.tmp.close()
        self.proc = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs"), self.tmp.name], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("oidc-provider did not start: " + self.proc.stderr.read())
        info = json.loads(line)
        self.issuer, self.port = info["issuer"], info["port"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        os.unlink(self.tmp.name)


def start_ftn_broker(port, public_url, jwks):
    """The FTN broker: private_key_jwt with our published keys, signed request objects, ID tokens
    encrypted to our key, a `hetu` claim; accounts `citizen` (CITIZEN) and `other` (OTHER)."""
    return Provider({
        "clients": [{
            "client_id": "sinetti-portal",
            "redirect_uris": [public_url + "/auth/ftn/callback"],
            "response_types": ["code"], "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "request_object_signing_alg": "ES256",
            "id_token_signed_response_alg": "RS256",
            "id_token_encrypted_response_alg": "RSA-OAEP",
            "id_token_encrypted_response_enc": "A256GCM",
            "jwks": jwks,
        }],
        "scopes": {"profile": ["name", "hetu"]},
        "acr": "http://ftn.ficora.fi/2017/loa2",
        "accounts": {
            "citizen": {"sub": "c-1", "claims": {"name": "Maija Meikäläinen", "hetu": CITIZEN}},
            "other": {"sub": "c-2", "claims": {"name": "Matti Muukalainen", "hetu": OTHER}},
        },
    }, port)


class ProviderAgent:
    """The browser's side at the provider: plain HTTP on loopback with the provider's cookies."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, v = value.split(";", 1)[0].split("=", 1)
                self.cookies[k] = v
        conn.close()
        return r, data


class StrongIdentification(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise AssertionError(f"run `npm ci --prefix {OIDC_DIR}` (scripts/install-deps does)")
        provider_port, staff_port = free_port(), free_port()
        cls.gw = Gateway(CONFIG % {"public": PUBLIC, "provider_port": provider_port, "staff_port": staff_port},
                         before_start=make_keys)
        ports = {}
        for name in ("submission", "portal"):
            e = cls.gw.wait_for(lambda e, n=name: e.get("event") == "listening" and e.get("listener") == n)
            ports[name] = int(e["address"].rsplit(":", 1)[1])
        cls.submission, cls.portal = ports["submission"], ports["portal"]
        cls.gw.wait_for(lambda e: e.get("event") == "started")
        cls.var = cls.gw.cwd / "var"
        # Our public keys, as the broker would fetch them.
        conn = http.client.HTTPSConnection("127.0.0.1", cls.portal, context=no_verify(), timeout=30)
        conn.request("GET", "/auth/jwks.json")
        r = conn.getresponse()
        jwks = json.loads(r.read())
        conn.close()
        assert r.status == 200 and len(jwks["keys"]) == 2, jwks  # the staff provider adds no key
        assert all("d" not in k for k in jwks["keys"]), "a private member in the published JWKS"
        for k in jwks["keys"]:  # kid: the RFC 7638 thumbprint
            members = ("e", "kty", "n") if k["kty"] == "RSA" else ("crv", "kty", "x", "y")
            canonical = json.dumps({m: k[m] for m in members}, separators=(",", ":"), sort_keys=True)
            thumb = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
            assert k["kid"] == thumb, (k["kid"], thumb)
        assert {(k["use"], k["alg"]) for k in jwks["keys"]} == {("sig", "ES256"), ("enc", "RSA-OAEP")}, jwks
        cls.provider = start_ftn_broker(provider_port, PUBLIC, jwks)
        # The organisation's own IdP: a client secret, plain (signed, unencrypted) ID tokens, groups.
        cls.staff = Provider({
            "clients": [{
                "client_id": "sinetti-staff", "client_secret": STAFF_SECRET,
                "redirect_uris": [PUBLIC + "/auth/staff/callback"],
                "response_types": ["code"], "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "client_secret_basic",
                "id_token_signed_response_alg": "RS256",
            }],
            "scopes": {"profile": ["name", "email", "groups"]},
            "acr": "urn:example:password",
            "accounts": {"anna": {"sub": "emp-1", "claims": {"name": "Anna Aho", "email": "anna.aho@intra.example.fi",
                                                            "groups": ["neuvonta-staff", "all-staff"]}}},
        }, staff_port)
        cls.link = cls.send_personal()

    @classmethod
    def tearDownClass(cls):
        cls.staff.stop()
        cls.provider.stop()
        cls.gw.stop()

    @classmethod
    def send_personal(cls):
        msg = email.message.EmailMessage()
        msg["From"] = "Neuvonta <neuvonta-tiimi@intra.example.fi>"
        msg["To"] = "asiakas@example.net"
        msg["Subject"] = "Päätös"
        msg["X-Sinetti-Identity"] = CITIZEN
        msg.set_content("Hei,\n\nhenkilökohtainen päätös: myönteinen.\n")
        with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
            f.write(msg.as_bytes(policy=email.policy.SMTP))
            eml = f.name
        try:
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(cls.submission), "--timeout", "20",
                                "--from", "neuvonta-tiimi@intra.example.fi", "--to", "asiakas@example.net",
                                "--data", "@" + eml], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               timeout=60)
        finally:
            os.unlink(eml)
        assert "250 2.0.0 Ok: queued as" in r.stdout, r.stdout + r.stderr
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "no notification"
            for note in delivered_mail(cls.var):
                body = note.get_body(("plain",)).get_content()
                assert CITIZEN not in body
                m = re.search(r"https://[^/\s]+(/m/[A-Za-z0-9_-]{43})\?lang=(\w+)", body)
                if m:
                    return m.group(1)
            time.sleep(0.1)

    def identify(self, login):
        """Landing page → identify → provider login → callback; returns (browser, last response, body)."""
        b = Browser(self.portal)
        self.addCleanup(b.close)
        r, body = b.request("GET", self.link)
        self.assertEqual(r.status, 200)
        page = body.decode()
        m = re.search(r'href="(/auth/ftn/start\?[^"]+)"', page)
        self.assertIsNotNone(m, page)
        r, _ = b.request("GET", m.group(1).replace("&amp;", "&"))
        self.assertEqual(r.status, 303)
        location = r.getheader("Location")
        self.assertIn("request=", location)
        return self.sign_in(b, self.provider, "ftn", location, login)

    def sign_in(self, b, provider, provider_id, location, login):
        """From the provider's authorization URL through its login form back to our callback."""
        self.assertTrue(location.startswith(provider.issuer + "/auth?"), location)
        agent = ProviderAgent(provider.port)
        path = location[len(provider.issuer):]
        for _ in range(10):
            r, data = agent.request("GET", path)
            if r.status == 200 and b'name="login"' in data:
                action = re.search(r'action="([^"]+)"', data.decode()).group(1)
                r, data = agent.request("POST", action, {"login": login})
            self.assertIn(r.status, (302, 303), data[:500])
            location = r.getheader("Location")
            if location.startswith(PUBLIC):
                break
            path = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
        self.assertTrue(location.startswith(PUBLIC + f"/auth/{provider_id}/callback?"), location)
        self.assertIn("code=", location)
        r, body = b.request("GET", location[len(PUBLIC):])
        return b, r, body

    def message_status(self):
        mid = self.message_id()
        out = subprocess.run([BIN, "message", "status", mid, "--json", "--config", str(self.gw.config)],
                             cwd=self.gw.cwd, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def message_id(self):
        ids = [e.get("message") for e in self.gw.events if e.get("event") == "portal_unlock" and e.get("message")]
        self.assertTrue(ids, "no portal_unlock event")
        return ids[-1]

    def test_1_the_citizen_identifies_and_reads(self):
        b, r, _ = self.identify("citizen")
        self.assertEqual(r.status, 303, r.getheader("Location"))
        self.assertTrue(r.getheader("Location").startswith(self.link + "/read"), r.getheader("Location"))
        r, body = b.request("GET", r.getheader("Location"))
        self.assertEqual(r.status, 200)
        self.assertIn("henkilökohtainen päätös: myönteinen", body.decode())
        self.gw.wait_for(lambda e: e.get("event") == "portal_unlock" and e.get("outcome") == "ok")
        events = [e["event"] + ":" + e["outcome"] for e in self.message_status()["events"]]
        self.assertIn("unlock.identity:ok", events)
        citizens = [i for i in self.session_identities() if i["kind"] == "citizen"]
        self.assertTrue(citizens and all(len(i["key"]) == 64 for i in citizens), citizens)
        # The identity code is in no log line.
        self.assertFalse([e for e in self.gw.events if CITIZEN in json.dumps(e, ensure_ascii=False)])

    def test_2_another_citizen_is_refused_and_the_sender_can_see_it(self):
        b, r, body = self.identify("other")
        self.assertEqual(r.status, 403)
        page = body.decode()
        self.assertIn('role="alert"', page)
        self.assertNotIn("myönteinen", page)
        r, _ = b.request("GET", self.link + "/read")
        self.assertEqual(r.status, 303)  # not granted: back to the landing page
        self.gw.wait_for(lambda e: e.get("event") == "portal_unlock" and e.get("outcome") == "mismatch")
        events = [e["event"] + ":" + e["outcome"] for e in self.message_status()["events"]]
        self.assertIn("unlock.identity:mismatch", events)
        self.assertFalse([e for e in self.gw.events if OTHER in json.dumps(e, ensure_ascii=False)])

    def test_4_staff_sign_in_with_a_client_secret_and_groups(self):
        b = Browser(self.portal)
        self.addCleanup(b.close)
        r, _ = b.request("GET", "/auth/staff/start?next=/")
        self.assertEqual(r.status, 303)
        location = r.getheader("Location")
        self.assertNotIn("request=", location)  # no signing key: plain parameters
        self.assertIn("code_challenge_method=S256", location)
        b, r, _ = self.sign_in(b, self.staff, "staff", location, "anna")
        self.assertEqual(r.status, 303)
        self.assertEqual(r.getheader("Location"), "/")
        self.gw.wait_for(lambda e: e.get("event") == "auth_identified" and e.get("provider") == "staff"
                         and e.get("kind") == "staff")
        # The session holds the staff identity with the groups claim; no citizen's code anywhere.
        staff = [i for i in self.session_identities() if i["kind"] == "staff"]
        self.assertEqual(len(staff), 1, staff)
        self.assertEqual(staff[0]["sub"], "emp-1")
        self.assertEqual(staff[0]["groups"], ["neuvonta-staff", "all-staff"])
        self.assertEqual(staff[0]["email"], "anna.aho@intra.example.fi")

    def session_identities(self):
        db = sqlite3.connect(f"file:{self.var / 'sinetti.db'}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT identity FROM portal_sessions WHERE identity IS NOT NULL").fetchall()
        finally:
            db.close()
        out = []
        for (blob,) in rows:
            text = bytes(blob).decode()
            self.assertNotIn(CITIZEN, text)
            self.assertNotIn(OTHER, text)
            out.append(json.loads(text))
        return out

    def test_3_a_replayed_callback_is_refused(self):
        b = Browser(self.portal)
        self.addCleanup(b.close)
        # A callback with no sign-in under way in the session: a same-site step, then refused.
        r, _ = b.request("GET", "/auth/ftn/callback?code=x&state=y")
        self.assertEqual(r.status, 200)
        r, _ = b.request("GET", "/auth/ftn/callback?code=x&state=y&resumed=1")
        self.assertEqual(r.status, 403)


if __name__ == "__main__":
    unittest.main()
