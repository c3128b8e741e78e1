"""What AWS runs is what the tests run: every function of template.yaml, as `sam build` lays it out, is
imported and invoked in a fresh interpreter whose path holds only the function's code and the packages the
layer ships (no dev packages), with tracing on and the invocation sampled as X-Ray does in AWS, on a real
event of its trigger. A runtime dependency missing from functions/shared/requirements.in fails here.

`make test` runs `sam build` first; tests/support/built.py says how the arm64 build runs here."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from ocpp.messages import MessageType

from connections.stations.items import ContinuationItem
from infra.local import outbox
from infra.local.filters import matches_any
from infra.local.functions import environment
from infra.local.iot import rule_event
from infra.local.schedules import scheduled_event
from infra.local.streams import StreamReader, mappings
from infra.template import resources, routes
from tests.support.aws import TABLES
from tests.support.built import code, layer_paths, new_trace, runtime_env
from tests.support.events import bounce, http_event, sns_event
from tests.support.memberships import ADA, given_active, given_connection, given_organization, sub_of
from tests.support.sessions import given_session
from tests.support.stations import OCPP, given_card, given_policy, given_station

SHARED_TABLES = True  # one world, made once (`world`), that every function is invoked against

FUNCTIONS = resources("AWS::Serverless::Function")
DEV_ONLY = ("moto", "pytest")  # in the dev environment, never in the layer
STATION = "CP-AS-DEPLOYED"
CARD = "TAG-AS-DEPLOYED"
MEMBER = sub_of(ADA)  # the admin, also a member: every read of the API is theirs to make

# The fresh interpreter (-I -S: no site-packages, no PYTHON* variables, no current directory on the path):
# sys.path as Lambda builds it, the handler imported and invoked once, what it returned written to a file.
CHILD = """
import importlib, importlib.util, json, sys, types
paths = {paths!r}
sys.path[:0] = paths
report = {{
    "foreign_paths": [p for p in sys.path if p not in paths and not p.startswith(sys.base_prefix)],
    "dev_packages": [name for name in {dev_only!r} if importlib.util.find_spec(name)],
}}
module, _, attribute = {handler!r}.rpartition(".")
handler = getattr(importlib.import_module(module), attribute)
context = types.SimpleNamespace(
    function_name={function!r},
    function_version="$LATEST",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:" + {function!r},
    aws_request_id="as-deployed",
    log_group_name="/aws/lambda/" + {function!r},
    log_stream_name="as-deployed",
    get_remaining_time_in_millis=lambda: 10_000,
)
with open({event_path!r}) as event:
    report["result"] = handler(json.load(event), context)
with open({report_path!r}, "w") as out:
    json.dump(report, out)
"""


@pytest.fixture(scope="module")
def world(shared_tables) -> dict:
    """An organization with a connection whose members charge at hours, a station of it in its own time
    zone, its admin a member with a card who charged there once; and the table's stream records that all
    of it made."""
    organization = given_organization()
    connection = given_connection(organization)
    # Members may charge at hours, which a station's list cannot hold: Authorize answers them online, in
    # the station's time zone.
    every_day = [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
    ]
    rules = {"members": {connection["connection_id"]: {"hours": every_day}}}
    policy = given_policy(organization, [connection["connection_id"]], "Depot", rules)
    station = given_station(
        organization,
        STATION,
        policy["policy_id"],
        time_zone="Europe/Berlin",
        latitude=52.52,
        longitude=13.405,
    )
    given_card(MEMBER, CARD)
    given_active(connection, MEMBER)
    session = given_session(organization, STATION, driver_id=MEMBER)
    return {
        "params": {
            "organization_id": organization,
            "connection_id": connection["connection_id"],
            "policy_id": policy["policy_id"],
            "station_id": STATION,
            "driver_id": MEMBER,
            "code": connection["code"],
            "session_id": session,
        },
        "station": station,
        "records": _stream_records(),
    }


def _stream_records() -> list[dict]:
    """Every record of the table's stream so far, as Lambda delivers them."""
    return StreamReader.of_table(TABLES["ConnectionsTable"]).read()


class Lambda:
    """Invokes the built functions as Lambda does at a cold start, on an invocation X-Ray samples; the
    X-Ray daemon is a UDP socket of the test's, which keeps what the functions' X-Ray SDK sends."""

    def __init__(self, paths: list[Path], folder: Path) -> None:
        self.paths, self.folder = [str(p) for p in paths], folder
        self.daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.daemon.bind(("127.0.0.1", 0))
        self.segments: dict[str, set[str]] = defaultdict(set)  # trace id -> names of its (sub)segments

    def invoke(self, function: str, event: dict) -> dict:
        trace = new_trace()
        endpoint = os.environ["AWS_ENDPOINT_URL"]  # moto's, as tests/conftest.py started it
        env = {
            **environment(function, {**TABLES, **outbox.PARAMETERS, "IotDataEndpoint": endpoint}),
            **runtime_env(function, trace, xray_daemon=":".join(map(str, self.daemon.getsockname()))),
            # moto stands in for AWS.
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        event_path, report_path = self.folder / f"{function}-event.json", self.folder / f"{function}.json"
        event_path.write_text(json.dumps(event))
        child = CHILD.format(
            paths=[str(code(function)), *self.paths],
            dev_only=DEV_ONLY,
            handler=FUNCTIONS[function]["Properties"]["Handler"],
            function=function,
            event_path=str(event_path),
            report_path=str(report_path),
        )
        done = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-I", "-S", "-c", child],
            cwd=code(function),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{function} failed as deployed:\n{done.stderr[-4000:]}"
        report = json.loads(report_path.read_text())
        assert report["foreign_paths"] == [], f"{function} saw more than its code and the layer: {report}"
        assert report["dev_packages"] == [], f"{function} could import dev packages: {report['dev_packages']}"
        report["trace"] = trace
        return report

    def traced(self, trace: str, until: Callable[[set[str]], bool], seconds: float = 10) -> set[str]:
        """The names of what the daemon received in `trace`, once `until` holds of them (or after `seconds`):
        on a loaded machine a datagram can reach the socket a moment after its sender exited."""
        deadline = time.monotonic() + seconds
        while not until(self.segments[trace]) and (left := deadline - time.monotonic()) > 0:
            self.daemon.settimeout(left)
            try:
                datagram = self.daemon.recv(65536)
            except TimeoutError:
                break
            _header, _, document = datagram.decode().partition("\n")  # {"format": "json", ...}\n{segment}
            segment = json.loads(document)
            self.segments[segment["trace_id"]].add(segment["name"])
        return self.segments[trace]

    def close(self) -> None:
        self.daemon.close()


@pytest.fixture(scope="module")
def aws_lambda(tmp_path_factory) -> Lambda:
    runtime = Lambda(layer_paths(), tmp_path_factory.mktemp("lambda"))
    yield runtime
    runtime.close()


# --- A real event of each trigger, and what the function must answer to it

type Check = Callable[[dict, Lambda], None]  # the function's report, and the Lambda that ran it


def _http(function: str, world: dict) -> tuple[dict, Check]:
    # One of the function's most specific reads (the world's ids in its path), by the admin who is a member.
    reads = [r.path for r in routes() if r.function == function and r.method == "GET"]
    path = max(reads, key=lambda p: (p.count("{"), -len(p))).format(**world["params"])
    event = http_event("GET", path, sub=MEMBER, email=ADA)

    def check(report: dict, runtime: Lambda) -> None:
        assert report["result"]["statusCode"] == 200, f"{function} GET {path}: {report['result']}"
        # The Tracer's subsegments reached the daemon, in the sampled trace: the handler's and DynamoDB's.
        traced = runtime.traced(report["trace"], until=_handler_and_dynamodb)
        assert _handler_and_dynamodb(traced), f"{function} sent X-Ray only {traced}"

    return event, check


def _handler_and_dynamodb(names: set[str]) -> bool:
    return "dynamodb" in names and any(n.startswith("## ") for n in names)  # "## <method>": capture_method


def _stream(function: str, world: dict) -> tuple[dict, Check]:
    (mapping,) = (m for m in mappings() if m.function == function)
    records = [r for r in world["records"] if matches_any(mapping.filter_criteria, r)]
    assert records, f"the world made no stream record that {function}'s filters let through"

    def check(report: dict, runtime: Lambda) -> None:
        assert report["result"] == {"batchItemFailures": []}, f"{function}: {report['result']}"

    return {"Records": records[: mapping.batch_size]}, check


def _iot_rule(function: str, world: dict) -> tuple[dict, Check]:
    (event_spec,) = (  # the frames' rule (the presence rule's event is a JSON object, handled alike)
        e
        for e in FUNCTIONS[function]["Properties"]["Events"].values()
        if e["Type"] == "IoTRule" and "FROM '+/in'" in e["Properties"]["Sql"]
    )
    frame = [MessageType.Call, uuid.uuid4().hex, "Authorize", {"idTag": CARD}]
    OCPP.check_from_station(frame)
    station = world["station"]
    station.take()  # what was published to the station before

    def check(report: dict, runtime: Lambda) -> None:
        answers = [f for f in station.take() if f[1] == frame[1]]
        assert [a[0] for a in answers] == [MessageType.CallResult], f"{function} answered {answers}"

    return rule_event(event_spec["Properties"]["Sql"], f"{STATION}/in", json.dumps(frame).encode()), check


def _schedule(function: str, world: dict) -> tuple[dict, Check]:
    def check(report: dict, runtime: Lambda) -> None:
        counts = report["result"]
        assert isinstance(counts, dict) and all(isinstance(n, int) for n in counts.values()), counts

    return scheduled_event(), check


def _sns(function: str, world: dict) -> tuple[dict, Check]:
    address = f"bounced-{uuid.uuid4().hex[:8]}@example.com"

    def check(report: dict, runtime: Lambda) -> None:
        assert report["result"] == {"suppressed": 1}, f"{function}: {report['result']}"

    return sns_event(bounce(address)), check


def _started(function: str, world: dict) -> tuple[dict, Check]:
    """StationFanOutFunction, which StationSyncFunction starts (Lambda's asynchronous invoke): a part of
    the world's policy, which it reaches and then deletes."""
    assert function == "StationFanOutFunction", f"{function}: no event here for what starts it"
    part = ContinuationItem.next(
        world["params"]["policy_id"], ContinuationItem.STATIONS, "deployed", 0, seq=1
    )
    part.save()

    def check(report: dict, runtime: Lambda) -> None:
        assert set(report["result"]) == {"publishes"}, f"{function}: {report['result']}"
        assert ContinuationItem.count(part.pk) == 0, f"{function} left its part"

    return {"part": part.serialize()}, check


def started_by_another(function: str) -> bool:
    """Whether another function of the template may invoke `function` (its LambdaInvokePolicy)."""
    return any(
        policy.get("LambdaInvokePolicy", {}).get("FunctionName") == {"Ref": function}
        for other in FUNCTIONS.values()
        for policy in other["Properties"].get("Policies", [])
        if isinstance(policy, dict)
    )


EVENTS = {"HttpApi": _http, "DynamoDB": _stream, "IoTRule": _iot_rule, "Schedule": _schedule, "SNS": _sns}
EVENTS["Started"] = _started


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_runs_as_deployed_on_an_event_of_its_trigger(function, world, aws_lambda):
    triggers = {e["Type"] for e in FUNCTIONS[function]["Properties"].get("Events", {}).values()}
    triggers |= {"Started"} if started_by_another(function) else set()
    assert triggers and triggers <= set(EVENTS), f"{function}: no event here for its trigger(s) {triggers}"
    for trigger in sorted(triggers):
        event, check = EVENTS[trigger](function, world)
        check(aws_lambda.invoke(function, event), aws_lambda)
