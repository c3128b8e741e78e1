"""What every benchmark shares: moto's server in this process with the functions pointed at it, DynamoDB
calls counted (tests/support/counting.py), the table's stream replayed to a function as Lambda does
(infra.local.streams.Replayer), publishes counted, and the report's helpers (the setup's items: seed.py).
Not a benchmark itself; each bench imports it first (it puts the repository on sys.path)."""

import contextlib
import io
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "functions" / "shared", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.support.counting import DynamoDBCalls  # noqa: E402

REGION = "us-east-1"
DYNAMODB = DynamoDBCalls()
PUBLISHED: list[tuple[str, int, list]] = []  # (station, bytes, frame), once count_publishes() ran
REFUSED: list[str] = []  # DynamoDB calls answered with an error (a retry inside the counts), whole run


@contextlib.contextmanager
def moto(counted: bool = False):
    """moto's server with fresh tables, the functions' environment pointed at it (before they are imported:
    they read it at import, as in Lambda); every DynamoDB call counted in DYNAMODB if `counted`."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    # connections.http does not register the Lambda context with the idempotency config (reported); the
    # warning says so on every keyed request and changes no count.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    from tests.support.aws import start_moto_for_functions

    server, endpoint = start_moto_for_functions()
    if counted:
        DYNAMODB.install()
    try:
        yield endpoint
    finally:
        server.stop()


def add_latency(ms: float) -> None:
    """A DynamoDB-like latency (the benches' `--latency-ms`): every DynamoDB call waits `ms` more, since
    moto answers in its own time, which says nothing of DynamoDB's. It wraps the one method every botocore
    client calls (as tests/support/counting.py does), so clients made before are slowed too; the wait
    releases the GIL, as a network round-trip does, so calls from threads overlap theirs."""
    if ms <= 0:
        return
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def slowed(client, operation: str, params: dict):
        if client.meta.service_model.service_name == "dynamodb":
            time.sleep(ms / 1000)
        return original(client, operation, params)

    BaseClient._make_api_call = slowed


def moto_busy() -> list[float]:
    """A running total of the seconds moto spends answering DynamoDB requests, which it does one at a
    time (decision 0009; the time its lock is held): when a bench's wall time is close to it, the time is
    moto's, not the service's."""
    from infra.local import moto_dynamodb

    busy, lock = [0.0], moto_dynamodb._one_at_a_time

    class Timed:
        def __enter__(self):
            lock.acquire()
            self.began = time.perf_counter()

        def __exit__(self, *_):
            busy[0] += time.perf_counter() - self.began
            lock.release()

    moto_dynamodb._one_at_a_time = Timed()  # type: ignore[assignment]
    return busy


def api(handler, method: str, path: str, expect: int = 200, **kwargs) -> dict:
    """A request through an API handler (payload 2.0, as tests/support/api.py builds it), that must answer
    `expect`; Powertools' metrics output kept off the report."""
    from tests.support.api import call

    with contextlib.redirect_stdout(io.StringIO()):
        answer = call(handler, method, path, **kwargs)
    if answer.status != expect:
        raise SystemExit(f"{method} {path}: expected {expect}, got {answer.status} {answer.body}")
    return answer.body


def invoke(handler, event: dict):
    from tests.support.api import FakeLambdaContext

    return handler(event, FakeLambdaContext())


def stream_to(function: str, invoke_with, endpoint: str, *, delivered: list | None = None):
    """The table's stream from now on, replayed to `function` (a logical id of template.yaml) through
    `invoke_with(event)`."""
    from infra.local.streams import Replayer, StreamReader, mapping_of
    from tests.support.aws import TABLES

    stream = StreamReader.of_table(TABLES["ConnectionsTable"], endpoint_url=endpoint, latest=True)
    return Replayer(mapping_of(function), stream, invoke_with, delivered=delivered)


def count_publishes() -> None:
    """Every publish to a station from now on, as (station, bytes, frame), appended to PUBLISHED."""
    from connections.stations import iot

    publish = iot.publish

    def counted(station_id: str, frame: list) -> int:
        sent = publish(station_id, frame)
        PUBLISHED.append((station_id, sent, frame))
        return sent

    iot.publish = counted


def fresh_counts() -> None:
    """DYNAMODB and PUBLISHED started afresh; the calls DynamoDB refused so far kept in REFUSED."""
    REFUSED.extend(DYNAMODB.refused())
    DYNAMODB.reset()
    PUBLISHED.clear()


def measured(handler, event: dict) -> tuple[object, SimpleNamespace]:
    """One invocation, counted afresh: its answer, and its records, seconds, CPU seconds, DynamoDB calls
    (and those answered with an error) and publishes."""
    fresh_counts()
    began, cpu = time.perf_counter(), time.process_time()
    answer = invoke(handler, event)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    cost = SimpleNamespace(records=len(event.get("Records", [])), seconds=seconds, cpu=cpu)
    cost.calls, cost.refused, cost.publishes = DYNAMODB.operations(), DYNAMODB.refused(), list(PUBLISHED)
    return answer, cost


def moto_published() -> list[tuple[str, bytes]]:
    """What moto's iot-data backend (in this process) accepted: (topic, payload)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iotdata.models import iotdata_backends

    return iotdata_backends[DEFAULT_ACCOUNT_ID][REGION].published_payloads


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ops(calls: list[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in Counter(calls).most_common()) or "-"


def most_to_one_station(batches: list[list[tuple]]) -> int:
    """The most publishes (station, bytes, frame) to one station in one batch."""
    return max((max(Counter(p[0] for p in batch).values(), default=0) for batch in batches), default=0)


def refused(calls: list[str]) -> str:
    """DynamoDB calls answered with an error, for the report."""
    return f"{len(calls)}{f' ({ops(calls)})' if calls else ''}; none expected, nothing else writes the table"


def table(rows: list[tuple], indent: str = "", right: bool = False) -> None:
    """Rows under a ruled header; with `right`, every column but the first aligned right."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for n, row in enumerate(cells):
        padded = [
            c.rjust(w) if right and i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print((indent + "  ".join(padded)).rstrip())
        if n == 0:
            print(indent + "  ".join("-" * w for w in widths))
