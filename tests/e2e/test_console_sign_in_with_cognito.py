"""The console in `cognito` mode (config.json, decision records 0031 and 0035) in Debian's Chromium: it signs
in with the authorization code flow and PKCE, exchanges the code with its verifier, lands signed in on the
page it was sent from, calls the API with the ID token, and signs out through the hosted UI's /logout.

Cognito's hosted UI cannot run offline, so a minimal OpenID authority served by this test stands in for it:
the discovery document, an authorize endpoint that signs the person in at once, and a token endpoint that
answers an ID token signed with the local user pool's key (infra/local/auth.py), which `make run`'s
gateway accepts as API Gateway's JWT authorizer accepts Cognito's."""

import base64
import hashlib
import html
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from infra.local import auth
from tests.support.browser import accessibility_problems, shoot
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

WAIT_MS = 20_000  # for a page to show what the stack answered, on a loaded machine
PERSON = {"sub": "cognito-pat", "email": "pat@cognito.example"}


class Authority(ThreadingHTTPServer):
    """Stands in for the user pool (its discovery document) and its hosted UI (authorize, token, logout),
    recording what the console sent each."""

    daemon_threads = True

    def __init__(self) -> None:
        self.authorized: list[dict[str, str]] = []
        self.exchanged: list[dict[str, str]] = []
        self.logged_out: list[dict[str, str]] = []
        self.codes: dict[str, dict[str, str]] = {}  # code -> the authorize request it answers
        super().__init__(("127.0.0.1", free_port()), _AuthorityHandler)
        self.url = f"http://127.0.0.1:{self.server_port}"


class _AuthorityHandler(BaseHTTPRequestHandler):
    server: Authority

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def _answer(
        self, status: int, body: dict | str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode() if body is not None else b""
        self.send_response(status)
        # The console fetches the discovery document and the token from its own origin, as from Cognito's.
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-headers", "*")
        for key, value in {"content-type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self):  # noqa: N802 - http.server's naming
        self._answer(204)

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        base = self.server.url
        if url.path == "/.well-known/openid-configuration":
            return self._answer(
                200,
                {
                    "issuer": auth.ISSUER,
                    "authorization_endpoint": f"{base}/oauth2/authorize",
                    "token_endpoint": f"{base}/oauth2/token",
                    "jwks_uri": f"{base}/.well-known/jwks.json",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if url.path == "/oauth2/authorize":
            # The hosted UI's page, where the person would type their password: here, one link back.
            self.server.authorized.append(query)
            code = secrets.token_urlsafe(16)
            self.server.codes[code] = query
            back = html.escape(
                f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            page = (
                f'<!doctype html><title>Hosted UI</title><a href="{back}">Continue as {PERSON["email"]}</a>'
            )
            return self._answer(200, page, {"content-type": "text/html"})
        if url.path == "/logout":
            self.server.logged_out.append(query)
            return self._answer(302, headers={"location": query["logout_uri"]})
        return self._answer(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/oauth2/token":
            return self._answer(404, {"error": "not_found"})
        self.server.exchanged.append(form)
        asked = self.server.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if (
            asked is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != asked["redirect_uri"]
            or form.get("client_id") != asked["client_id"]
            or challenge != asked.get("code_challenge")
        ):
            return self._answer(400, {"error": "invalid_grant"})
        token = auth.mint(PERSON["sub"], PERSON["email"], hours=1)
        return self._answer(
            200, {"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )


@pytest.fixture
def authority():
    server = Authority()
    threading.Thread(target=server.serve_forever, name="authority", daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def cognito_console(browser, stack, authority, **options):
    """A browser context in which `make run`'s console reads a `cognito` config.json, as a deployed one
    does (`make publish-console` writes it), and whose Content-Security-Policy lets it fetch from the
    authority, as the deployed policy lists Cognito's origins (template.yaml, ConsoleHeaders)."""
    # Chromium asks before a page reaches another loopback origin (Local Network Access); a console on the
    # internet calling Cognito's public endpoints is not asked.
    context = browser.new_context(permissions=["local-network-access"], **options)
    config = {
        "api_base_url": "",
        "sign_in": {
            "mode": "cognito",
            "authority": authority.url,
            "domain": authority.url,
            "client_id": auth.AUDIENCE,
            "redirect_uri": f"{stack.base}/",
        },
    }
    context.route(f"{stack.base}/config.json", lambda route: route.fulfill(json=config))

    def index_with_cognito_in_its_policy(route):
        answer = route.fetch()
        policy = answer.headers["content-security-policy"]
        assert "connect-src 'self';" in policy
        policy = policy.replace("connect-src 'self'", f"connect-src 'self' {authority.url}")
        route.fulfill(response=answer, headers={**answer.headers, "content-security-policy": policy})

    context.route(
        lambda url: url.startswith(f"{stack.base}/") and urlsplit(url).path == "/",
        index_with_cognito_in_its_policy,
    )
    return context


def test_the_console_signs_in_with_the_code_flow_and_pkce_and_lands_where_it_set_off(
    stack, browser, authority
):
    page = cognito_console(browser, stack, authority).new_page()

    # Given a person who opens their memberships, not signed in: the console asks them to sign in
    page.goto(f"{stack.base}/#/memberships")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Sign in as alice")).to_have_count(0)  # the local page: local only

    # When they sign in, with the keyboard
    page.get_by_role("button", name="Sign in", exact=True).focus()
    page.keyboard.press("Enter")

    # on the hosted UI's page
    page.get_by_role("link", name=f"Continue as {PERSON['email']}").click()

    # Then they are back, signed in, on the page they set off from, with no code left in the address
    expect(page.get_by_role("heading", name="My memberships")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(PERSON["email"])).to_be_visible()
    assert page.url == f"{stack.base}/#/memberships"
    # And the console asked for a code with an S256 challenge, and exchanged it with the verifier
    (asked,) = authority.authorized
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert asked["client_id"] == auth.AUDIENCE and asked["redirect_uri"] == f"{stack.base}/"
    assert set(asked["scope"].split()) == {"openid", "email"}
    assert len(asked["code_challenge"]) == 43  # a SHA-256, base64url: never the verifier itself
    (exchanged,) = authority.exchanged
    assert len(exchanged["code_verifier"]) >= 43 and exchanged["code_verifier"] != asked["code_challenge"]
    # And the API took its ID token: the page shows the API's answer, not a sign-in again
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('connections.id_token')").count(".") == 2

    # When they sign out: through the hosted UI's /logout, and back to the console's sign-in
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    (logged_out,) = authority.logged_out
    assert logged_out == {"client_id": auth.AUDIENCE, "logout_uri": f"{stack.base}/"}
    assert page.evaluate("sessionStorage.getItem('connections.id_token')") is None


def test_a_code_that_does_not_exchange_leaves_the_person_signed_out_and_told(stack, browser, authority):
    page = cognito_console(browser, stack, authority).new_page()
    page.goto(f"{stack.base}/#/memberships")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT_MS)

    # A forged answer: a state this tab never sent, a code the authority never issued
    page.goto(f"{stack.base}/?code=forged&state=forged")

    expect(page.get_by_role("alert")).to_contain_text("did not complete", timeout=WAIT_MS)
    assert page.url == f"{stack.base}/#/sign-in?failed=1"
    assert page.evaluate("sessionStorage.getItem('connections.id_token')") is None


def test_the_cognito_sign_in_page_passes_axe(stack, browser, authority):
    # bypass_csp: axe-core is injected inline
    page = cognito_console(browser, stack, authority, bypass_csp=True).new_page()
    page.goto(f"{stack.base}/#/sign-in")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=WAIT_MS)
    shoot(page, "sign-in-cognito")
    assert accessibility_problems(page) == []
