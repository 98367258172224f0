"""Staff sign-in for the end-to-end tests: the organisation's own IdP (npm oidc-provider,
tests/e2e/oidc/provider.mjs, on loopback) with staff accounts and their groups, the gateway's
`oidc` section for it, and a staff member's HTTP client that signs in at the portal from a team
message's page (/staff/m/TOKEN) and presses "Open"."""
import html
import os
import re
import urllib.parse

from oidc_test import OIDC_DIR, Provider, ProviderAgent, free_port  # noqa: F401 (re-exported)
from portal_test import Browser, field

STAFF_SECRET = "staff-client-secret-for-tests"


def staff_oidc_config(port):
    """The gateway's `oidc` section: one staff provider `staff` at 127.0.0.1:PORT."""
    return f"""
oidc:
  providers:
    - id: staff
      kind: staff
      issuer: "http://127.0.0.1:{port}"
      client_id: sinetti-staff
      client_auth: client_secret_basic
      client_secret_file: oidc/staff.secret
      scopes: [openid, profile]
      groups_claim: groups
      name: {{fi: Työtunnus, sv: Arbetskonto, en: Work account}}
"""


def write_staff_secret(cwd):
    d = cwd / "oidc"
    d.mkdir(exist_ok=True)
    (d / "staff.secret").write_text(STAFF_SECRET + "\n")
    os.chmod(d / "staff.secret", 0o600)


def start_staff_provider(port, public_url, accounts):
    """accounts: {login: {"sub": ..., "claims": {"name", "email", "groups"}}}."""
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        raise AssertionError(f"run `npm ci --prefix {OIDC_DIR}` (scripts/install-deps does)")
    return Provider({
        "clients": [{
            "client_id": "sinetti-staff", "client_secret": STAFF_SECRET,
            "redirect_uris": [public_url + "/auth/staff/callback"],
            "response_types": ["code"], "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }],
        "scopes": {"profile": ["name", "email", "groups"]},
        "acr": "urn:example:password",
        "accounts": accounts,
    }, port)


class StaffBrowser(Browser):
    """One staff member's HTTP client at the portal (cookies kept), signing in at `provider`."""

    def __init__(self, portal_port, provider, public_url):
        super().__init__(portal_port)
        self.provider = provider
        self.public_url = public_url

    def sign_in(self, login, page):
        """From the sign-in offer on `page` (a /staff path) through the provider's login form back
        to our callback; returns the callback's response (a redirect back to `page`)."""
        r, body = self.request("GET", page)
        assert r.status == 200, (r.status, body[:300])
        m = re.search(r'href="(/auth/staff/start\?[^"]+)"', body.decode())
        assert m, body.decode()
        r, _ = self.request("GET", html.unescape(m.group(1)))
        assert r.status == 303, r.status
        location = r.getheader("Location")
        assert location.startswith(self.provider.issuer + "/auth?"), location
        agent = ProviderAgent(self.provider.port)
        path = location[len(self.provider.issuer):]
        for _ in range(10):
            r, data = agent.request("GET", path)
            if r.status == 200 and b'name="login"' in data:
                action = re.search(r'action="([^"]+)"', data.decode()).group(1)
                r, data = agent.request("POST", action, {"login": login})
            assert r.status in (302, 303), (r.status, data[:500])
            location = r.getheader("Location")
            if location.startswith(self.public_url):
                break
            path = urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()
        assert location.startswith(self.public_url + "/auth/staff/callback?code="), location
        r, _ = self.request("GET", location[len(self.public_url):])
        return r

    def page(self, path):
        r, body = self.request("GET", path)
        return r, body.decode()

    def press(self, page_path, action, extra=None):
        """POSTs the form `action` (claim, release, reassign, reply) with the page's CSRF token."""
        r, body = self.page(page_path)
        csrf = field(body, "csrf")
        assert csrf, body
        form = {"csrf": csrf, **(extra or {})}
        base = page_path.split("?")[0]
        if base.endswith("/read"):
            base = base[:-len("/read")]
        r, data = self.request("POST", base + "/" + action, form)
        return r, data.decode()
