"""What every benchmark shares: moto's server in this process with the functions pointed at it, DynamoDB
calls counted (tests/support/counting.py), the table's stream replayed to a function as Lambda does
(infra.local.streams.Replayer), publishes counted, and the report's helpers (the setup's items: seed.py).
Not a benchmark itself; each bench imports it first (it puts the repository on sys.path)."""

import contextlib
import io
import sys
import threading
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
SERVER: list = []  # moto's server, while `moto()` runs (OwnTime times its answers)


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
    SERVER[:] = [server]
    try:
        yield endpoint
    finally:
        SERVER.clear()
        server.stop()


class OwnTime:
    """What production would see of the functions' time, without moto's (decision 0045): wall time with
    every moment moto spends answering a request taken out, and a modelled latency waited on every call.

    moto answers in threads of this process (its server), DynamoDB one request at a time and the index
    queries by scanning the table: its own time grows with the table and says nothing of DynamoDB's. Each
    request's time inside moto's WSGI application (request body to response body) is added to `moto`, and
    `now()` is the wall clock minus it, frozen while moto answers. The GIL's switch interval is raised for
    the run, so that moto, once it answers, runs to its end before any function thread resumes: the
    functions' own CPU (botocore, pynamodb, frames, HTTP to the endpoint) is never hidden inside moto's
    time, and it runs one thread at a time, as on one vCPU. A latency is waited on this clock
    (`wait`), so moto's time does not shorten it: every DynamoDB call waits `dynamodb_ms`, every IoT publish
    `publish_ms`, every Lambda invoke `invoke_ms` (its 202; when the function starts is the caller's to
    model), releasing the GIL as a network round-trip does, so calls from threads overlap theirs.
    What is left out: the server's reading of a request's headers (counted as the functions', a few
    microseconds), and other processes of the machine (its load is printed beside the figures)."""

    def __init__(self, dynamodb_ms: float, publish_ms: float, invoke_ms: float = 20.0) -> None:
        from botocore.client import BaseClient

        (server,) = SERVER
        self.moto, self.requests = 0.0, 0
        self._answering, self._since = 0, 0.0  # requests moto is answering, and since when
        self._lock = threading.Lock()
        self.dynamodb_ms, self.publish_ms = dynamodb_ms, publish_ms
        application = server._server.app

        def timed(environ, start_response):
            # The request's body is read first, outside moto's time: reading a socket lets other threads run.
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            self._moto_answers(+1)
            try:
                return list(application(environ, start_response))  # the whole body, in moto's time
            finally:
                self._moto_answers(-1)

        server._server.app = timed
        sys.setswitchinterval(1.0)  # moto runs to its answer's end (see above); the default is 5 ms
        latencies = {"dynamodb": dynamodb_ms, "iot-data": publish_ms, "lambda": invoke_ms}
        original = BaseClient._make_api_call

        def waited(client, operation: str, params: dict):
            self.wait(latencies.get(client.meta.service_model.service_name, 0.0) / 1000)
            return original(client, operation, params)

        # The one method every botocore client calls (as tests/support/counting.py wraps it): clients
        # made before are slowed too.
        BaseClient._make_api_call = waited

    def _moto_answers(self, step: int) -> None:
        """moto's time: while at least one request is being answered (they seldom overlap, see above)."""
        with self._lock:
            at = time.perf_counter()
            if step > 0 and not self._answering:
                self._since = at
            elif step < 0 and self._answering == 1:
                self.moto += at - self._since
                self.requests += 1
            self._answering += step

    @contextlib.contextmanager
    def answering(self):
        """Time another AWS stand-in of this process spends answering (the Lambda Invoke API's), taken
        out as moto's is."""
        self._moto_answers(+1)
        try:
            yield
        finally:
            self._moto_answers(-1)

    def now(self) -> float:
        with self._lock:
            return (self._since if self._answering else time.perf_counter()) - self.moto

    def wait(self, seconds: float) -> None:
        until = self.now() + seconds
        while (left := until - self.now()) > 0:
            time.sleep(left)


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
