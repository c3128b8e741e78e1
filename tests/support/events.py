"""Real API Gateway HTTP API (payload format 2.0) events, as the JWT authorizer passes them to Lambda."""

import json
import time
import uuid
from urllib.parse import urlencode

from infra.template import routes


def http_event(
    method: str,
    path: str,
    *,
    sub: str | None = "driver-1",
    email: str | None = None,
    email_verified: bool = True,
    body=None,
    query: dict | None = None,
    headers: dict | None = None,
    source_ip: str = "198.51.100.7",
) -> dict:
    route = next((r for r in routes() if r.match(method, path) is not None), None)
    request_headers = {"content-type": "application/json", "user-agent": "pytest", **(headers or {})}
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    claims = None
    if sub is not None:
        claims = {
            "sub": sub,
            "email": email or f"{sub}@example.com",
            "email_verified": "true" if email_verified else "false",
            "token_use": "id",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
        }
    event = {
        "version": "2.0",
        "routeKey": route.route_key if route else "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": request_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key if route else "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = {k: str(v) for k, v in query.items()}
    if route:
        params = route.match(method, path)
        if params:
            event["pathParameters"] = params
    if raw_body is not None:
        event["body"] = raw_body
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event
