"""Call a function's Lambda handler the way API Gateway does and read its answer."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from infra.template import routes
from tests.support.events import http_event

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


class FakeLambdaContext:
    function_name = "connections-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:connections-test"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@dataclass
class Answer:
    status: int
    body: dict | list | str  # str: an answer that is not JSON (a CSV export)
    headers: dict

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


@cache
def _documented() -> dict[tuple[str, str], set[str]]:
    """The statuses docs/openapi.json gives each operation, by (method, path template)."""
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return {(m.upper(), p): set(o["responses"]) for p, ops in paths.items() for m, o in ops.items()}


def call(handler, method: str, path: str, **kwargs) -> Answer:
    result = handler(http_event(method, path, **kwargs), FakeLambdaContext())
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    json_body = headers.get("content-type", "application/json").startswith("application/json")
    body = (json.loads(result["body"]) if json_body else result["body"]) if result.get("body") else {}
    # Every answer any test sees must be one the API document promises for that route.
    route = next((r for r in routes() if r.match(method, path) is not None), None)
    if route is not None:
        documented = _documented().get((route.method, route.path), set())
        assert str(result["statusCode"]) in documented, (
            f"{route.route_key} answered {result['statusCode']}, which docs/openapi.json does not document"
            f" for it ({sorted(documented)}): {body}"
        )
    return Answer(result["statusCode"], body, headers)
