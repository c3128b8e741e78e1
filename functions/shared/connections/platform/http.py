"""HTTP glue shared by the API functions: the resolver with its error mapping, the signed-in caller,
Idempotency-Key support and the Lambda handler with logging, metrics and tracing.

Errors are answered in one shape everywhere: {"error": code, "message": sentence, "fields": {...}}.
"""

import hashlib
import json
import os
from collections.abc import Callable
from functools import cache, wraps
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

from connections.platform.caller import Caller
from connections.platform.errors import Conflict, InvalidInput, NotSignedIn, ServiceError
from connections.platform.settings import settings
from connections.platform.telemetry import logger, metrics


def error_response(
    status: int, code: str, message: str, fields: dict | None = None, headers=None
) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message, "fields": fields or {}}),
        headers=headers,
    )


def _field_name(loc: tuple) -> str:
    # Pydantic locations look like ("body", "answers", "employee_id") or ("query", "limit").
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _read_json(text: str) -> Any:
    """The body as Python objects. A body that is JSON but that Python cannot hold (an integer of more
    digits than sys.get_int_max_str_digits(), nesting deeper than the recursion limit) is refused like any
    other invalid JSON: Powertools answers a JSONDecodeError with a validation error, anything else with
    a 500."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(str(error), text, 0) from None


def make_resolver() -> APIGatewayHttpResolver:
    # An answer that does not fit its own model is our bug: 500, never a 422 blamed on the client.
    app = APIGatewayHttpResolver(
        enable_validation=True,
        response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
        json_body_deserializer=_read_json,
    )

    @app.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return error_response(error.status, error.code, error.message, error.fields, headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        fields = {}
        for problem in error.errors():
            if problem.get("type") == "json_invalid":
                return error_response(400, "invalid_json", "The request body is not valid JSON.")
            fields[_field_name(tuple(problem.get("loc", ())))] = problem.get("msg", "invalid")
        return error_response(422, "invalid_input", "Some fields are missing or invalid.", fields)

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(404, "not_found", "There is no such resource.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        contention = _contention(error)
        if contention is not None:
            logger.warning("DynamoDB contention", extra={"cause": contention})
            if contention.startswith("TransactionConflict"):
                status, message = 409, "Someone else changed the same thing at this very moment; try again."
            else:
                status, message = 503, "The service is busier than it can answer right now; try again."
            return error_response(status, "busy", message, headers={"Retry-After": "1"})
        # A bug, never a client's fault: log it with the request and answer without internals.
        logger.exception("unexpected error")
        return error_response(500, "internal_error", "Something went wrong on our side; please try again.")

    return app


# DynamoDB's answers when an item is under another transaction at the same moment, or the table is
# throttled: nobody's bug, and the same request a moment later succeeds.
CONTENTION = {
    "TransactionConflict",
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


def _contention(error: Exception) -> str | None:
    """The contention `error` (a PynamoDB error) comes from, if that is what it is."""
    cause = getattr(error, "cause_response_code", None)
    if cause in CONTENTION:
        return cause
    reasons = {r.code for r in getattr(error, "cancellation_reasons", None) or [] if r}
    return next(iter(reasons & CONTENTION), None)


def caller(app: APIGatewayHttpResolver) -> Caller:
    context = app.current_event.request_context
    claims = (context.authorizer.jwt_claim or {}) if context.authorizer else {}
    sub = claims.get("sub")
    if not sub:
        raise NotSignedIn("Sign in first: send your ID token as 'Authorization: Bearer <token>'.")
    verified = str(claims.get("email_verified", "false")).lower() == "true"
    email = claims.get("email")
    return Caller(user_id=sub, email=email.lower() if email else None, email_verified=verified)


def source_ip(app: APIGatewayHttpResolver) -> str:
    return app.current_event.request_context.http.source_ip or "unknown"


def answers(
    model: type[BaseModel],
    *,
    created: bool = True,
    existing: bool = False,
    refusals: tuple[type[ServiceError], ...] = (),
) -> dict:
    """A route's answers for the OpenAPI document: its success (201 when it creates and, if `existing`, 200
    when the thing was there already; otherwise 200) and the refusals only some routes give. The error
    answers every route can give, and the shape of all of them, are added by infra/openapi.py."""
    content = {"application/json": {"model": model}}
    if not created:
        success = {200: {"description": "Successful Response", "content": content}}
    else:
        success = {201: {"description": "Created.", "content": content}}
        if existing:
            success[200] = {"description": "It existed already: the existing one.", "content": content}
    refused = {error.status: {"description": " ".join((error.__doc__ or "").split())} for error in refusals}
    return {**success, **refused}


def _jsonable(result: Any) -> tuple[Any, int]:
    body, status = result if isinstance(result, tuple) else (result, 200)
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return body, status


@cache
def _persistence():
    # Imported on first use: the idempotency layer pulls in boto3 (~150 ms), which the functions otherwise
    # never load, so only requests that carry an Idempotency-Key pay for it.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table_name)


def idempotent(app: APIGatewayHttpResolver) -> Callable:
    """Route decorator: a retried request with the same Idempotency-Key header (same caller, same route)
    gets the first result; the same key with a different body is refused."""

    def decorate(route: Callable) -> Callable:
        @wraps(route)
        def wrapper(*args, **kwargs):
            key = app.current_event.headers.get("idempotency-key")
            if key is None:
                return _as_response(_jsonable(route(*args, **kwargs)))
            if not 1 <= len(key) <= 100:
                raise InvalidInput(
                    "Idempotency-Key must be 1 to 100 characters.", fields={"Idempotency-Key": "length"}
                )
            return _as_response(_run_once(app, key, lambda: _jsonable(route(*args, **kwargs))))

        return wrapper

    return decorate


def _run_once(app: APIGatewayHttpResolver, key: str, run: Callable[[], tuple[Any, int]]) -> tuple[Any, int]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    event = app.current_event
    body = event.body or ""
    request = {
        "caller": caller(app).user_id,
        "key": key,
        "route": f"{event.request_context.http.method} {event.raw_path}",
        "body": hashlib.sha256(body.encode()).hexdigest(),
    }
    config = IdempotencyConfig(event_key_jmespath="[caller, key, route]", payload_validation_jmespath="body")
    # With the context, a record left "in progress" by a timed-out invocation expires with it, so a retry
    # is not refused for the record's whole lifetime.
    config.register_lambda_context(app.lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(), config=config)
    def once(request: dict) -> dict:
        body, status = run()
        return {"body": body, "status": status}

    try:
        result = once(request=request)
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry in a moment.",
            code="request_in_progress",
        ) from None
    except IdempotencyValidationError:
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request body; use a new key.",
            code="idempotency_key_reused",
        ) from None
    return result["body"], result["status"]


def _as_response(result: tuple[Any, int]) -> Response:
    # The body stays a dict: the resolver validates it against the route's return model and serializes it.
    body, status = result
    return Response(status_code=status, content_type="application/json", body=body)


def _traced(resolve: Callable) -> Callable:
    """Lambda's active tracing records every invocation without any SDK. Powertools Tracer (subsegments
    for each DynamoDB call) needs the X-Ray SDK, whose import costs ~180 ms, so it is loaded only on the
    first invocation that X-Ray samples and never on an unsampled cold start."""
    tracer = None

    @wraps(resolve)
    def run(event, context):
        nonlocal tracer
        # Lambda sets the trace header per invocation: it is the request's, not configuration.
        sampled = "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")
        if not sampled or settings().tracing_disabled:
            return resolve(event, context)
        if tracer is None:
            from aws_lambda_powertools import Tracer

            tracer = Tracer()
        return tracer.capture_method(resolve)(event, context)

    return run


def _refuse_non_json(event: dict) -> dict | None:
    """Every body this API takes is JSON. The resolver would read another content type as form fields and
    then report every field missing (or, for a change with only optional fields, change nothing), so a
    body of another type is refused up front with what to do."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").lower()
    if not event.get("body") or content_type.startswith("application/json"):
        return None
    body = {
        "error": "unsupported_media_type",
        "message": "Send the body as JSON, with the header 'Content-Type: application/json'.",
        "fields": {},
    }
    return {"statusCode": 415, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def lambda_handler(app: APIGatewayHttpResolver) -> Callable:
    resolve = _traced(app.resolve)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def handler(event: dict, context) -> dict:
        return _refuse_non_json(event) or resolve(event, context)

    return handler
