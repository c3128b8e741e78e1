"""Sessions recorded from chargers' transaction messages (StationMessagesFunction, sessions.recording):

1. DynamoDB calls per message, each transaction message beside messages that record nothing in the same
   run (Heartbeat, StatusNotification, Authorize), for 1.6 and 2.0.1 (target: at most 3 for recording).
2. A burst of 1,000 MeterValues from 100 chargers (10 each, interleaved, each in a running session),
   beside a burst of 1,000 StatusNotification from the same chargers: time to drain them one after the
   other through the handler (moto's time included: it is in this process) and the function's peak
   memory (tracemalloc's peak over the burst, a second pass with newer readings: tracing slows what it
   traces). moto runs in this process, so its time and allocations are in both figures: compare the two
   rows, not the figures with Lambda's.

    .venv/bin/python bench/sessions.py    (about 6 minutes, moto-bound)

The drivers are members whose cards are not on the stations' lists (the online path: their memberships
are read for the decision). Exit 1 when a transaction message costs more than 3 calls (the station's read
with the session and card the message names, the policy with the driver's memberships, the write) or the
sessions do not come out as expected. One more row: an Authorize at a station whose copy of its policy's
connections is missing (a station registered before the copy was kept, docs/decisions/0044)."""

import base64
import contextlib
import io
import json
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import common  # first: it puts the repository on sys.path
import seed
from common import DYNAMODB, invoke, moto, ops, table

ORG, CONN, POLICY = "ORG-S", "CONN-S", "POL-S"
CHARGERS, METER_VALUES = 100, 1_000
STALE = CHARGERS + 1  # the station without its copy of the policy's connections
RULES = {
    "members": {CONN: {"price": {"currency": "EUR", "per_kwh": "0.25", "session_fee": "0.50"}}},
    "everyone": {"price": {"currency": "EUR", "per_kwh": "0.45"}},
}
BEGIN = datetime.now(UTC).replace(microsecond=0)
MB = 1024 * 1024


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def setup() -> None:
    items = [
        seed.connection(ORG, CONN, name="Fleet", organization_name="Bench", code="BENCH1"),
        *seed.policy(ORG, POLICY, [CONN], name="Bays", rules=RULES),
    ]
    for n in range(CHARGERS + 1):  # 1 to CHARGERS speak 1.6, 0 2.0.1
        version = "2.0.1" if n == 0 else "1.6"
        items.append(
            seed.synced_station(ORG, station(n), POLICY, ocpp_version=version, policy_connections=[CONN])
        )
        items += [seed.card(f"driver-{n}", card(n)), seed.membership(ORG, CONN, f"driver-{n}")]
    items.append(seed.synced_station(ORG, station(STALE), POLICY))  # without the copy
    seed.write(items)


def station(n: int) -> str:
    return f"CP-S{n:03d}"


def card(n: int) -> str:
    return f"CARD{n:04d}"


class Messages:
    """StationMessagesFunction, as the IoT rule invokes it with a charger's frame."""

    def __init__(self) -> None:
        from functions.station_messages.app import handler

        self.handler = handler

    def send(self, station_id: str, action: str, payload: dict) -> list:
        """The answer the charger is published (found by its uniqueId among the published frames)."""
        unique = uuid.uuid4().hex
        frame = json.dumps([2, unique, action, payload]).encode()
        common.PUBLISHED.clear()
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metrics, kept off the report
            invoke(self.handler, {"station_id": station_id, "frame": base64.b64encode(frame).decode()})
        return next(p[2] for p in common.PUBLISHED if p[2][1] == unique)

    def counted(self, station_id: str, action: str, payload: dict) -> tuple[list, list[str]]:
        DYNAMODB.reset()
        answer = self.send(station_id, action, payload)
        return answer, DYNAMODB.operations()


def calls_per_message(messages: Messages) -> list[tuple]:
    rows = []
    cp16, cp201 = station(1), station(0)
    at = iso(BEGIN)

    def row(version: str, what: str, calls: list[str], records: bool) -> None:
        rows.append((version, what, "records" if records else "baseline", len(calls), ops(calls)))

    _, calls = messages.counted(cp16, "Heartbeat", {})
    row("1.6", "Heartbeat", calls, False)
    _, calls = messages.counted(
        cp16, "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
    )
    row("1.6", "StatusNotification", calls, False)
    _, calls = messages.counted(cp16, "Authorize", {"idTag": card(1)})
    row("1.6", "Authorize", calls, False)
    answer, calls = messages.counted(
        cp16, "StartTransaction", {"connectorId": 1, "idTag": card(1), "meterStart": 0, "timestamp": at}
    )
    row("1.6", "StartTransaction", calls, True)
    tid = answer[2]["transactionId"]
    _, calls = messages.counted(
        cp16, "StartTransaction", {"connectorId": 1, "idTag": card(1), "meterStart": 0, "timestamp": at}
    )
    row("1.6", "StartTransaction (again)", calls, True)
    meter = [{"timestamp": iso(BEGIN + timedelta(minutes=1)), "sampledValue": [{"value": "500"}]}]
    _, calls = messages.counted(
        cp16, "MeterValues", {"connectorId": 1, "transactionId": tid, "meterValue": meter}
    )
    row("1.6", "MeterValues", calls, True)
    stop = {"transactionId": tid, "meterStop": 1000, "timestamp": iso(BEGIN + timedelta(minutes=2))}
    _, calls = messages.counted(cp16, "StopTransaction", {**stop, "idTag": card(1)})
    row("1.6", "StopTransaction", calls, True)

    def event(kind: str, seq: int, wh: int) -> dict:
        moment = iso(BEGIN + timedelta(minutes=seq))
        return {
            "eventType": kind,
            "timestamp": moment,
            "triggerReason": "MeterValuePeriodic",
            "seqNo": seq,
            "transactionInfo": {"transactionId": "tx-bench"},
            "idToken": {"idToken": card(0), "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": moment, "sampledValue": [{"value": wh}]}],
        }

    _, calls = messages.counted(station(STALE), "Authorize", {"idTag": card(1)})
    row("1.6", "Authorize (no copy of the policy's connections)", calls, False)
    _, calls = messages.counted(station(STALE), "Authorize", {"idTag": card(1)})
    row("1.6", "Authorize (the copy corrected)", calls, False)

    _, calls = messages.counted(cp201, "Heartbeat", {})
    row("2.0.1", "Heartbeat", calls, False)
    for kind, seq, wh in (("Started", 0, 0), ("Updated", 1, 500), ("Ended", 2, 1000)):
        _, calls = messages.counted(cp201, "TransactionEvent", event(kind, seq, wh))
        row("2.0.1", f"TransactionEvent {kind}", calls, True)
    _, calls = messages.counted(cp201, "TransactionEvent", event("Updated", 1, 500))
    row("2.0.1", "TransactionEvent Updated (again)", calls, True)
    return rows


def burst(send: Callable[[int, int], None], rounds: range, traced: bool) -> tuple[float, float]:
    """(seconds, tracemalloc's peak MB) of a message from each charger in each round."""
    if traced:
        tracemalloc.start()
    began = time.perf_counter()
    for round_ in rounds:
        for n in range(1, CHARGERS + 1):
            send(n, round_)
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] / MB if traced else 0.0
    if traced:
        tracemalloc.stop()
    return seconds, peak


def main() -> int:
    with moto(counted=True):
        common.count_publishes()
        setup()
        messages = Messages()
        rows = calls_per_message(messages)
        print(
            "DynamoDB calls per message (the first, BatchGetItem, reads the station with the session and card"
            " named)"
        )
        table([("OCPP", "message", "kind", "calls", "operations"), *rows], indent="  ")
        worst = max(r[3] for r in rows if r[2] == "records")

        # The burst: each 1.6 charger in a session of its own
        tids = {}
        for n in range(1, CHARGERS + 1):
            start = {"connectorId": 1, "idTag": card(n), "meterStart": 0, "timestamp": iso(BEGIN)}
            tids[n] = messages.send(station(n), "StartTransaction", start)[2]["transactionId"]

        def meter(n: int, round_: int) -> None:
            reading = [
                {
                    "timestamp": iso(BEGIN + timedelta(seconds=60 * round_ + n)),
                    "sampledValue": [{"value": str(100 * (round_ + 1) + n)}],
                }
            ]
            messages.send(
                station(n), "MeterValues", {"connectorId": 1, "transactionId": tids[n], "meterValue": reading}
            )

        def status(n: int, _round: int) -> None:
            messages.send(
                station(n),
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
            )

        results = []
        for name, send in (("StatusNotification (baseline)", status), ("MeterValues (recorded)", meter)):
            rounds = METER_VALUES // CHARGERS
            DYNAMODB.reset()
            seconds, _ = burst(send, range(rounds), traced=False)
            calls = len(DYNAMODB.operations())
            _, peak = burst(send, range(rounds, 2 * rounds), traced=True)  # newer readings: each one written
            results.append(
                (
                    name,
                    f"{seconds:.1f}",
                    f"{METER_VALUES / seconds:.0f}",
                    f"{calls / METER_VALUES:.1f}",
                    f"{peak:.1f}",
                )
            )
        print(
            f"\nA burst of {METER_VALUES:,} messages from {CHARGERS} chargers, one after another through the"
            " handler"
        )
        table(
            [("messages", "drain s", "per s", "calls each", "peak MB (tracemalloc)"), *results],
            indent="  ",
            right=True,
        )

        from connections.sessions.items import SessionItem

        latest = SessionItem.get(*SessionItem.key(station(2), str(tids[2])), consistent_read=True)
        expected = 100 * 2 * (METER_VALUES // CHARGERS) + 2
        ok = worst <= 3 and latest.meter_last_wh == expected and latest.status == "active"
        print(
            f"\nSession of {station(2)}: last reading {latest.meter_last_wh} Wh (expected {expected}),"
            f" {latest.status}"
        )
        print(f"DynamoDB calls answered with an error: {common.refused(common.REFUSED + DYNAMODB.refused())}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
