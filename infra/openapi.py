"""The OpenAPI 3.1 document of the whole API, made from the routes and models the functions serve.

    python -m infra.openapi > docs/openapi.json      (what `make openapi` runs)

Both functions' routers are included in one resolver, so the document covers every route of template.yaml;
tests/unit/test_openapi.py fails when docs/openapi.json is stale or a route is missing on either side.
"""

import json
import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "functions" / "shared"

TITLE = "Connections API"
DESCRIPTION = (
    "Organizations decide which drivers may use their EV charging stations.\n\n"
    "Drivers browse connections, look one up by its code, ask to join and see or end their memberships. "
    "Organization admins manage their organizations, admins and connections, and approve, deny or remove "
    "drivers.\n\n"
    "Every request is signed in: send the ID token of the Cognito user pool as "
    "`Authorization: Bearer <token>`. Errors answer "
    '`{"error": code, "message": sentence, "fields": {...}}`. '
    "Every POST accepts an `Idempotency-Key` header (1 to 100 characters): a retry with the same key, "
    "by the same caller on the same route, gets the first answer."
)

# Importing the handlers reads configuration from the environment, as in Lambda; nothing here reaches AWS.
_DEFAULT_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "connections",
    "IDEMPOTENCY_TABLE_NAME": "connections-idempotency",
    "POWERTOOLS_SERVICE_NAME": "connections",
    "POWERTOOLS_METRICS_NAMESPACE": "Connections",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def _prepare() -> None:
    for name, value in _DEFAULT_ENV.items():
        os.environ.setdefault(name, value)
    for path in (str(SHARED), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def handler_modules() -> dict:
    """Each function's handler module (its `router` holds the routes), by module name."""
    _prepare()
    from functions.approve import app as approve
    from functions.request_connection import app as request_connection
    from functions.station_map import app as station_map
    from functions.stations import app as stations

    return {module.__name__: module for module in (request_connection, approve, stations, station_map)}


def document() -> dict:
    """The OpenAPI document as a dict."""
    _prepare()
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from connections.platform.http import make_resolver

    resolver = make_resolver()
    for module in handler_modules().values():
        router = module.router
        # include_router points the router at the resolver that includes it; the handler keeps its own.
        own = router.api_resolver
        resolver.include_router(router)
        router.api_resolver = own
    schema = resolver.get_openapi_json_schema(
        title=TITLE,
        version=version(),
        description=DESCRIPTION,
        security_schemes={
            "cognito": HTTPBearer(
                bearerFormat="JWT",
                description="An ID token of the service's Cognito user pool, checked by API Gateway.",
            )
        },
        security=[{"cognito": []}],
    )
    return _with_error_answers(json.loads(schema))


# Errors are mapped to answers in one place (connections.platform.http.make_resolver), not per route, so the
# document says so in one place too: every operation lists the error answers it can give, in the one
# shape they all have, instead of Powertools' default validation error.
_ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "No valid sign-in token.",
    "404": "No such resource, or not one the caller may see.",
    "409": "The resource changed or is not in a state that allows this; the message says why.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "Some fields are missing or invalid; `fields` has a message per field.",
    "429": "Too many connection codes that match nothing; see the Retry-After header.",
}
_GATEWAY = {
    "application/json": {
        "schema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
    }
}
_RATE_LIMITED = {  # code lookups, and anything that tries or chooses a code
    ("get", "/connections/by-code/{code}"),
    ("post", "/connections/{connection_id}/memberships"),
    ("post", "/organizations/{organization_id}/connections"),
    ("patch", "/organizations/{organization_id}/connections/{connection_id}"),
}


def _with_error_answers(schema: dict) -> dict:
    from connections.platform.views import ErrorBody

    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ErrorBody.model_json_schema()
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = ["401", "404", "422"]
            if method in ("post", "patch", "put"):
                codes += ["400", "415", "409"]
            if method == "delete":
                codes.append("409")
            if (method, path) in _RATE_LIMITED:
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses[code] = {"description": _ERRORS[code], "content": answer}
            # Without a valid token API Gateway answers itself, before any function, in its own shape.
            responses["401"] = {"description": _ERRORS["401"], "content": _GATEWAY}
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                        "description": "A retry with the same key (same caller, same route) gets the first"
                        " answer.",
                    }
                )
    return schema


def render() -> str:
    """The document as docs/openapi.json holds it: sorted keys, indent 2, trailing newline."""
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
