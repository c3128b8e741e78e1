"""Large customers (decision 0042): one change to a policy of S stations (a city's 10,000), and a policy edit
over a connection of M members (a university's 100,000), each done in parts of the station sync function
and against a baseline in the same run: the same work in one invocation, as before the parts.

    .venv/bin/python bench/large_customers.py [--stations 10000] [--members 2000] [--latency-ms 5]

In this process: moto and the real handlers; the data written directly (seed.py), the stream replayed to
StationSyncFunction as Lambda does, part after part, until no record passes the filter. `--latency-ms`
adds a DynamoDB-like latency to every DynamoDB call (common.add_latency): the times below include it.
moto answers one request at a time (decision 0009) and scans the whole table for every index query, so
its own time grows with the table, not with the service: the members' figures are per part (each part
handles MEMBERS_PER_PART drivers whatever M is), and M = 100,000 is M / MEMBERS_PER_PART such parts.

moto's s: the time moto spent answering, one request at a time: a time close to it is moto's own.
Stations: the time from the approval to the last station's message published (target < 5 s at 10,000),
the invocations and the longest. Members: the time, invocations, the longest, and tracemalloc's peak of
one invocation (the memory the function's work allocates; target well under 512 MB).
"""

import argparse
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from types import SimpleNamespace

import common
import seed
from common import DYNAMODB, api, invoke, moto, stream_to, table

ADMIN = {"sub": "large-admin", "email": "admin@large.example"}
MB = 1024 * 1024
ONE_INVOCATION = 10**9  # the baseline: a part as large as the whole


def tag(n: int) -> str:
    return f"{0x0DD00000 + n:08X}"


class Sync:
    """The stream replayed to the sync function; each invocation timed, its DynamoDB calls and peak noted."""

    def __init__(self, endpoint: str, traced: bool) -> None:
        from functions.station_sync import app

        self.handler, self.traced, self.runs = app.handler, traced, []
        self.replayer = stream_to("StationSyncFunction", self._invoke, endpoint)

    def _invoke(self, event: dict):
        common.fresh_counts()
        if self.traced:
            tracemalloc.start()
        began = time.perf_counter()
        answer = invoke(self.handler, event)
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] if self.traced else 0
        tracemalloc.stop()
        self.runs.append(SimpleNamespace(seconds=seconds, peak=peak, calls=len(DYNAMODB.calls)))
        return answer

    def drain(self) -> list[SimpleNamespace]:
        self.runs = []
        self.replayer.drain(rounds=1_000)
        return self.runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000, help="stations of the one policy")
    parser.add_argument("--members", type=int, default=2_000, help="members of the connection edited in")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added to every DynamoDB call")
    args = parser.parse_args()
    with moto(counted=True) as endpoint:
        from connections.stations import allow_entries, delivery, iot
        from functions.approve import app as approve_app

        org = api(approve_app.handler, "POST", "/organizations", 201, **ADMIN, body={"name": "City"})
        org = org["organization_id"]
        began = time.perf_counter()
        items: list = []
        shapes = ("one invocation", "in parts")
        for n, _ in enumerate(shapes):
            items.append(
                seed.connection(
                    org, f"conn-{n}", organization_name="City", name=f"Residents {n}", code=f"CITY{n:04d}"
                )
            )
            items += seed.policy(org, f"city-{n}", [f"conn-{n}"], name=f"City {n}")
            items += [
                seed.card(f"driver-{n}", tag(n)),
                seed.membership(org, f"conn-{n}", f"driver-{n}", "pending"),
            ]
            for s in range(args.stations):
                items.append(seed.synced_station(org, f"CP-{n}-{s:05d}", f"city-{n}"))
            items += seed.policy(org, f"campus-{n}", [], name=f"Campus {n}")
        items.append(
            seed.connection(org, "university", organization_name="City", name="University", code="UNIV0001")
        )
        for m in range(args.members):
            driver = f"student-{m:06d}"
            items += [seed.card(driver, tag(1_000_000 + m)), seed.membership(org, "university", driver)]
        seed.write(items)
        del items
        print(
            f"Setup: {len(shapes)} x (connection -> policy -> {args.stations:,} synced stations), a"
            f" connection of {args.members:,} members with a card: {time.perf_counter() - began:.1f} s"
        )
        common.add_latency(args.latency_ms)
        print(
            f"Every DynamoDB call waits {args.latency_ms:g} ms more (--latency-ms, a DynamoDB-like latency)\n"
        )

        publish, last = iot.publish, [0.0]

        def noted(station_id: str, frame: list) -> int:
            sent = publish(station_id, frame)
            last[0] = time.perf_counter()
            return sent

        iot.publish = noted
        busy = common.moto_busy()
        sync = Sync(endpoint, traced=False)
        rows = [("a change to a policy of", "stations", "to the last publish s", "moto's s", "invocations")]
        rows[0] += ("longest s", "calls")
        parts = delivery.STATIONS_PER_PART
        for n, shape in enumerate(shapes):
            delivery.STATIONS_PER_PART = ONE_INVOCATION if n == 0 else parts
            path = f"/organizations/{org}/connections/conn-{n}/requests/driver-{n}/approve"
            api(approve_app.handler, "POST", path, **ADMIN)
            start, moto_before = time.perf_counter(), busy[0]
            runs = sync.drain()
            rows.append(
                (
                    shape,
                    f"{args.stations:,}",
                    f"{last[0] - start:.1f}",
                    f"{busy[0] - moto_before:.1f}",
                    len(runs),
                )
                + (f"{max(r.seconds for r in runs):.1f}", sum(r.calls for r in runs))
            )
        table(rows, indent="  ", right=True)

        sync = Sync(endpoint, traced=True)
        rows = [("an edit over members", "members", "time s", "moto's s", "invocations", "longest s")]
        rows[0] += ("peak MB/inv.", "calls")
        per_part = allow_entries.MEMBERS_PER_PART
        for n, shape in enumerate(shapes):
            allow_entries.MEMBERS_PER_PART = ONE_INVOCATION if n == 0 else per_part
            edited = seed.policy(org, f"campus-{n}", ["university"], name=f"Campus {n}")
            edited[0].updated_at = datetime.now(UTC)
            start, moto_before = time.perf_counter(), busy[0]
            seed.write(edited)
            runs = sync.drain()
            took, moto_took = time.perf_counter() - start, busy[0] - moto_before
            rows.append(
                (shape, f"{args.members:,}", f"{took:.1f}", f"{moto_took:.1f}", len(runs))
                + (f"{max(r.seconds for r in runs):.1f}", f"{max(r.peak for r in runs) / MB:.1f}")
                + (sum(r.calls for r in runs),)
            )
        print()
        table(rows, indent="  ", right=True)
        print(
            f"\n  parts: {parts:,} stations or {per_part:,} members per invocation; 100,000 members are"
            f" {100_000 // per_part} parts of the 'in parts' row's invocations"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
