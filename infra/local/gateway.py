"""The local API gateway: routes HTTP requests by template.yaml's HttpApi events to the real handlers,
checks sign-in tokens as the JWT authorizer does, and serves a few local-only pages:

    GET  /openapi.json        the API description (docs/openapi.json)
    GET  /docs                Swagger UI on it
    GET  /_local/outbox       the emails SES accepted
    GET  /_local/failures     stream batches parked in the on-failure queue
    GET  /_local/timings      per request: total, handler and AWS (moto) milliseconds (for bench/)
    GET  /                    the web console (web/dist, built by `make run`), its /assets/ and /config.json
    GET  /_local/people       the demo's people, for the console's local sign-in page
    POST /_local/sign-in      {sub, email} -> {token}: a local ID token, as the user pool would issue
    POST /_local/iot/topics/  the IoT data-plane publish API, delivered on the local MQTT broker
    POST /_local/lambda/...   Lambda's Invoke API, on the functions (a function starting another)
"""

import json
import mimetypes
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from infra import template
from infra.local import lambda_api, seed
from infra.local.apigw import http_api_event, http_response, route_for
from infra.local.auth import Verifier, mint
from infra.local.functions import LocalFunction
from infra.template import ROOT

IOT_PREFIX = "/_local/iot"
CONSOLE = ROOT / "web" / "dist"
# The console's settings for this stack (decision record 0031): the API on the same origin, local sign-in.
CONSOLE_CONFIG = {"api_base_url": "", "sign_in": {"mode": "local"}}
# The console's own files only: its scripts, styles and API calls come from this origin, nothing inline.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
USER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _swagger_assets() -> Path:
    # Swagger UI 5 or later: earlier ones cannot read an OpenAPI 3.1 document. swagger-ui-py ships its dist.
    from swagger_ui.utils import SWAGGER_UI_PY_ROOT

    return SWAGGER_UI_PY_ROOT / "static"


SWAGGER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Connections API (local)</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>"""


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    # Callers at once (a fan-out starts its parts 32 at a time; a browser opens six): with socketserver's
    # backlog of 5, connections beyond it were dropped and tried again a second later.
    request_queue_size = 128

    def __init__(self, port: int, functions: dict[str, LocalFunction], outbox, failures, publish):
        self.routes = template.routes()
        self.functions = functions
        self.verifier = Verifier()
        self.outbox, self.failures, self.publish = outbox, failures, publish
        self.timings: list[dict] = []  # per request: total, handler and AWS time (bench/local_gateway.py)
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet: the functions log
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        for key, value in headers.items():
            if key not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data, default=str, indent=2).encode())

    def _dispatch(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        path = url.path
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        if self._local(path, url.query, body):
            return
        route, path = route_for(self.server.routes, self.command, path)
        if route is None:
            return self._json(404, {"message": "Not Found"})
        claims = None
        if route.authorized:
            claims = self.server.verifier.claims(self.headers.get("authorization"))
            if claims is None:
                return self._send(401, b'{"message":"Unauthorized"}', {"www-authenticate": "Bearer"})
        event = http_api_event(
            route,
            self.command,
            path,
            url.query,
            dict(self.headers.items()),
            body,
            claims,
            self.client_address[0],
        )
        invocation = self.server.functions[route.function].invoke(event)
        if invocation.error:
            print(f"[{route.function}] failed:\n{invocation.error}")
            return self._json(500, {"message": "Internal Server Error"})
        status, headers, raw = http_response(invocation.result)
        self._send(status, raw, headers)
        self.server.timings.append(
            {
                "route": route.route_key,
                "total_ms": (time.perf_counter() - started) * 1000,
                "handler_ms": invocation.handler_ms,
                "aws_ms": invocation.aws_ms,
                "aws_calls": invocation.aws_calls,
            }
        )
        del self.server.timings[:-10_000]

    def _console(self, path: str) -> None:
        """The built console: index.html at /, its content-hashed assets, and this stack's config.json."""
        if path == "/config.json":
            return self._send(200, json.dumps(CONSOLE_CONFIG).encode(), {"cache-control": "no-store"})
        # The file's name only: a path can never reach outside web/dist/assets.
        file = CONSOLE / "index.html" if path == "/" else CONSOLE / "assets" / Path(path).name
        if not file.is_file():
            message = (
                "The console is not built: `make run` builds it (or `make console`)." if path == "/" else ""
            )
            return self._send(404, message.encode(), {"content-type": "text/plain; charset=utf-8"})
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if file.suffix in (".html", ".css", ".js"):
            kind += "; charset=utf-8"
        # Assets are named by their content, so they never change; index.html names the current ones.
        cache = "no-cache" if path == "/" else "public, max-age=31536000, immutable"
        headers = {"content-type": kind, "cache-control": cache, "x-content-type-options": "nosniff"}
        if path == "/":
            headers["content-security-policy"] = CONSOLE_CSP
        self._send(200, file.read_bytes(), headers)

    def _sign_in(self, body: bytes | None) -> None:
        """Local only, as the user pool's sign-in would: a token for whoever is named."""
        try:
            person = json.loads(body or b"{}")
            sub, email = person["sub"], person.get("email") or f"{person['sub']}@example.com"
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"error": "invalid_input", "message": "Send {sub, email}.", "fields": {}})
        fields = {}
        if not isinstance(sub, str) or not USER_NAME.fullmatch(sub):
            fields["sub"] = "Letters, digits, dots, dashes or underscores (at most 64)."
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            fields["email"] = "An email address, like erin@example.com."
        if fields:
            return self._json(
                422, {"error": "invalid_input", "message": "Check the fields.", "fields": fields}
            )
        self._json(200, {"token": mint(sub, email)})

    def _local(self, path: str, query: str, body: bytes | None) -> bool:
        """Local-only routes; True when handled."""
        if self.command in ("GET", "HEAD") and (path in ("/", "/config.json") or path.startswith("/assets/")):
            self._console(path)
        elif self.command == "GET" and path == "/_local/people":
            self._json(200, {"people": seed.people()})
        elif self.command == "POST" and path == "/_local/sign-in":
            self._sign_in(body)
        elif self.command == "GET" and path == "/openapi.json":
            self._send(200, (ROOT / "docs" / "openapi.json").read_bytes())
        elif self.command == "GET" and path in ("/docs", "/docs/"):
            self._send(200, SWAGGER_PAGE.encode(), {"content-type": "text/html; charset=utf-8"})
        elif self.command == "GET" and path.startswith("/docs/static/"):
            asset = _swagger_assets() / Path(path).name
            if not asset.is_file():
                self._json(404, {"message": "Not Found"})
            else:
                kind = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
                self._send(200, asset.read_bytes(), {"content-type": kind})
        elif self.command == "GET" and path == "/_local/outbox":
            self._json(200, {"messages": self.server.outbox()})
        elif self.command == "GET" and path == "/_local/failures":
            self._json(200, {"batches": self.server.failures()})
        elif self.command == "GET" and path == "/_local/timings":
            self._json(200, {"requests": self.server.timings})
        elif self.command == "POST" and (name := lambda_api.function_of(path)):
            invocation_type = self.headers.get("x-amz-invocation-type")
            self._send(*lambda_api.invoke(name, invocation_type, body, self._run, self.server.functions))
        elif self.command == "POST" and path.startswith(f"{IOT_PREFIX}/topics/"):
            topic = unquote(path[len(f"{IOT_PREFIX}/topics/") :])
            qos = 1 if "qos=1" in query else 0
            self.server.publish(topic, body or b"", qos)
            self._json(200, {})
        else:
            return False
        return True

    def _run(self, name: str, event: dict) -> object:
        invocation = self.server.functions[name].invoke(event)
        if invocation.error:
            raise RuntimeError(invocation.error)
        return invocation.result

    def __getattr__(self, name: str):
        # Every method reaches the routes, as at API Gateway: one it has no route for answers 404 like an
        # unknown path, not http.server's 501 for a method without a do_<METHOD>.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)
