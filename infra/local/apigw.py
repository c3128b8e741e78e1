"""API Gateway HTTP API, payload format 2.0: an HTTP request as the event Lambda receives, and the
function's answer as the HTTP response. The tests build their events here too, so there is one shape."""

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.template import Route

TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


def route_for(routes: list[Route], method: str, url_path: str) -> tuple[Route | None, str]:
    """The route a request's URL path (as sent, percent-encoded) takes, and the path its event carries.

    An HTTP API decodes the path once before it routes, and hands Lambda the decoded path in `rawPath`,
    `requestContext.http.path` and `pathParameters` (the query string stays encoded): `/a%2Fb` routes as
    `/a/b`, and `/pets/Chester%20Mall` arrives as `Chester Mall`. REST APIs and function URLs keep the
    encoding; this gateway plays the HTTP API. Seen in captured events: fastify/aws-lambda-fastify#169,
    honojs/hono#2156, aws-powertools/powertools-lambda-python#1098 (fixed by #1099 so that a decoded space
    routes), middleapi/standard-server#93 (citing hotsock/voker#8's captures of every API Gateway kind)."""
    path = unquote(url_path)
    return next((r for r in routes if r.match(method, path) is not None), None), path


def http_api_event(
    route: Route | None,
    method: str,
    path: str,
    query_string: str,
    headers: dict[str, str],
    body: bytes | None,
    claims: dict[str, str] | None,
    source_ip: str,
) -> dict:
    headers = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    route_key = route.route_key if route else "$default"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query_string:
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            params.setdefault(key, []).append(value)
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    path_parameters = route.match(method, path) if route else None
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if headers.get("content-type", "application/json").startswith(TEXT_TYPES):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def http_response(result) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a function's answer, by the payload 2.0 rules: a dict with a
    statusCode is a full response; anything else is a 200 JSON body."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        if result.get("cookies"):
            headers["set-cookie"] = ", ".join(result["cookies"])
        return int(result["statusCode"]), headers, raw
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()
