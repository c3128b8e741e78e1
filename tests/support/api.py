"""Call a function's Lambda handler the way API Gateway does and read its answer."""

import json
from dataclasses import dataclass

from tests.support.events import http_event


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
    body: dict | list
    headers: dict

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


def call(handler, method: str, path: str, **kwargs) -> Answer:
    result = handler(http_event(method, path, **kwargs), FakeLambdaContext())
    body = json.loads(result["body"]) if result.get("body") else {}
    return Answer(
        result["statusCode"], body, {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    )
