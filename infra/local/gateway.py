"""The local API gateway: routes HTTP requests by template.yaml's HttpApi events to the real handlers,
checks sign-in tokens as the JWT authorizer does, and serves a few local-only pages:

    GET  /openapi.json        the API description (docs/openapi.json)
    GET  /docs                Swagger UI on it
    GET  /_local/outbox       the emails SES accepted
    GET  /_local/failures     stream batches parked in the on-failure queue
    GET  /_local/timings      per request: total, handler and AWS (moto) milliseconds (for bench/)
    POST /_local/iot/topics/  the IoT data-plane publish API, delivered on the local MQTT broker
"""

import json
import mimetypes
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from infra import template
from infra.local.apigw import http_api_event, http_response, route_for
from infra.local.auth import Verifier
from infra.local.functions import LocalFunction
from infra.template import ROOT

IOT_PREFIX = "/_local/iot"


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

    def _local(self, path: str, query: str, body: bytes | None) -> bool:
        """Local-only routes; True when handled."""
        if self.command == "GET" and path == "/openapi.json":
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
        elif self.command == "POST" and path.startswith(f"{IOT_PREFIX}/topics/"):
            topic = unquote(path[len(f"{IOT_PREFIX}/topics/") :])
            qos = 1 if "qos=1" in query else 0
            self.server.publish(topic, body or b"", qos)
            self._json(200, {})
        else:
            return False
        return True

    def __getattr__(self, name: str):
        # Every method reaches the routes, as at API Gateway: one it has no route for answers 404 like an
        # unknown path, not http.server's 501 for a method without a do_<METHOD>.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)
