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
    from functions.manage_stations import app as stations
    from functions.request_connection import app as request_connection
    from functions.sessions import app as sessions
    from functions.station_map import app as station_map

    return {
        module.__name__: module for module in (request_connection, approve, stations, station_map, sessions)
    }


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
# document says so in one place too: every operation lists the error answers every route can give, in the
# one shape they all have, instead of Powertools' default validation errors. Refusals only some routes give
# are declared with the route (connections.platform.http.answers).
_ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "No valid sign-in token (API Gateway answers before any function runs).",
    "404": "No such resource, or not one the caller may see; API Gateway's own for a path it does not have.",
    "409": "The resource changed or is not in a state that allows this, the message says why; or `busy`: "
    "another transaction on the same item won, retry after the Retry-After header.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "Some fields are missing or invalid; `fields` has a message per field.",
    "500": "A bug on our side; the request may be retried.",
    "503": "`busy`: DynamoDB is throttled at this moment; retry after the Retry-After header.",
}
# What API Gateway answers itself, before any function: no token, no such route, or a function that failed.
_GATEWAY = {"401", "404", "500"}
_WRITES = {"post", "put", "patch", "delete"}


def _error_statuses(method: str, operation: dict) -> set[str]:
    """The error answers any route of this kind can give, whatever its use case."""
    statuses = {"401", "404", "415", "422", "500", "503"}  # 415: any body not sent as JSON
    if "requestBody" in operation:
        statuses.add("400")
    if method in _WRITES:
        statuses.add("409")  # a lost transaction (busy), or a state that does not allow the change
    return statuses


def _with_error_answers(schema: dict) -> dict:
    from connections.platform.views import ErrorBody

    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for default in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(default, None)
    schemas["Error"] = ErrorBody.model_json_schema()
    schemas["GatewayError"] = {
        "title": "GatewayError",
        "description": 'What API Gateway answers itself, e.g. `{"message": "Unauthorized"}`.',
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    }
    error = {"$ref": "#/components/schemas/Error"}
    gateway = {"anyOf": [error, {"$ref": "#/components/schemas/GatewayError"}]}
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                responses[status] = {"description": _ERRORS[status]}
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    answer = gateway if status in _GATEWAY else error
                    response["content"] = {"application/json": {"schema": answer}}
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
