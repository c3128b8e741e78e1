"""Starting another of the service's functions at once: Lambda's asynchronous invoke (the event queued,
202 at once, the function run in an environment of its own). Locally the stack's gateway answers it
(AWS_ENDPOINT_URL_LAMBDA)."""

import json
from functools import cache

from connections.platform.telemetry import logger


@cache
def _client():
    import boto3  # only the functions that start others pay for it
    from botocore.config import Config

    # One connection per thread of a fan-out (stations.delivery.FAN_OUT). A start refused or slow is not
    # tried again nor waited for long: whoever starts a function has the stream to fall back on, and a
    # stalled start would hold up the change that makes it.
    config = Config(
        max_pool_connections=32, retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2
    )
    return boto3.client("lambda", config=config)


def warm() -> None:
    """Create the client now (boto3 does not create clients safely from several threads)."""
    _client()


def start(function: str, event: dict) -> bool:
    """Queue `event` for `function`; whether Lambda took it. Refused (throttled, the queue unreachable,
    the function not found) is logged, not raised: every caller has another way to get the work done."""
    try:
        _client().invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode())
    except Exception:  # noqa: BLE001 - any refusal: the caller's other way does the work
        logger.warning("could not start %s", function, exc_info=True)
        return False
    return True
