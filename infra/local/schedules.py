"""Scheduled functions: each `Schedule` event of template.yaml with a `rate(...)` expression invokes its
function on that rate, with an EventBridge scheduled event, as EventBridge does."""

import re
import threading
import uuid
from datetime import UTC, datetime

from infra import template
from infra.local.functions import LocalFunction

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedules() -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                rate = _RATE.match(event["Properties"]["Schedule"])
                if rate:
                    found.append((name, int(rate.group(1)) * _SECONDS[rate.group(2).rstrip("s")]))
    return found


def scheduled_event() -> dict:
    """The event EventBridge invokes a scheduled function with."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


class Scheduler:
    def __init__(self, functions: dict[str, LocalFunction]):
        self._stop = threading.Event()
        for name, seconds in schedules():
            threading.Thread(target=self._run, args=(functions[name], seconds), daemon=True).start()

    def _run(self, function: LocalFunction, seconds: float) -> None:
        while not self._stop.wait(seconds):
            invocation = function.invoke(scheduled_event())
            if invocation.error:
                print(f"[{function.name}] scheduled run failed:\n{invocation.error}")

    def stop(self) -> None:
        self._stop.set()
