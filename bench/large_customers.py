"""Large customers (decisions 0042, 0045): one change to a policy of S stations (a city's 10,000) against a
baseline policy of B stations in the same run, and a policy edit over a connection of M members (a
university's 100,000) in one invocation and in parts.

    .venv/bin/python bench/large_customers.py [--stations 10000] [--baseline 1000] [--members 2000]
        [--latency-ms 5] [--publish-ms 20] [--hop-s 1]

In this process: moto and the real handlers; the data written directly (seed.py), the stream replayed to
StationSyncFunction as Lambda does (its BatchSize, FilterCriteria, ParallelizationFactor's lanes,
batch item failures delivered again), round after round until no record passes the filter.

The times are the functions' own, not moto's (common.OwnTime): the wall time with every moment moto
spends answering taken out, so what is left is the function's CPU on this machine (one thread at a time,
as on one vCPU) plus the modelled waits: `--latency-ms` on every DynamoDB call, `--publish-ms` on every
IoT publish (IoT Core's HTTPS Publish within a Region: tens of milliseconds; 20 is an assumption, not a
published figure), overlapped as the function's threads overlap them.

From the change to the last publish (the estimate): the invocations of each round (the records the
previous round wrote) run one after another in a lane and the lanes side by side; every round first waits
`--hop-s` for Lambda to see its records (Lambda polls a stream's shards four times a second, and DynamoDB
Streams publishes a record within about a second: 1 s, a figure for the usual case, seconds at worst; a
retried batch waits a hop too). Conservative: a round lasts until its slowest lane's last invocation ends.

moto's s: the time moto spent answering (taken out); wall s: this run's wall time, moto's included.
Members: the time, invocations, the longest, and tracemalloc's peak of one invocation (the memory the
function's work allocates; target well under 512 MB); tracemalloc slows the members' invocations.
"""

import argparse
import os
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
ONE_INVOCATION = 10**9  # the members' baseline: a part as large as the whole


def tag(n: int) -> str:
    return f"{0x0DD00000 + n:08X}"


def load() -> str:
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


class Sync:
    """The stream replayed to the sync function, a round at a time; each invocation's own time (OwnTime),
    lane, DynamoDB calls, publishes and (if `traced`) tracemalloc's peak noted."""

    def __init__(self, endpoint: str, clock: common.OwnTime, traced: bool) -> None:
        from functions.station_sync import app

        self.handler, self.clock, self.traced = app.handler, clock, traced
        self.replayer = stream_to("StationSyncFunction", self._invoke, endpoint)
        self.runs: list[SimpleNamespace] = []

    def _invoke(self, event: dict):
        common.fresh_counts()
        if self.traced:
            tracemalloc.start()
        began, moto = self.clock.now(), self.clock.moto
        answer = invoke(self.handler, event)
        peak = tracemalloc.get_traced_memory()[1] if self.traced else 0
        tracemalloc.stop()
        self.runs.append(
            SimpleNamespace(
                seconds=self.clock.now() - began,
                moto=self.clock.moto - moto,
                lane=self.replayer.lane(event["Records"][0]),
                peak=peak,
                calls=len(DYNAMODB.calls),
                publishes=len(common.PUBLISHED),
            )
        )
        return answer

    def rounds(self) -> list[list[SimpleNamespace]]:
        """Every round's invocations until no record passes the filter."""
        found = []
        while True:
            self.runs = []
            if not self.replayer.replay_new().passed:
                return found
            found.append(self.runs)


def estimate(rounds: list[list[SimpleNamespace]], hop: float) -> float:
    """From the change to the end of the last invocation: each round a hop, then its slowest lane."""
    total = 0.0
    for runs in rounds:
        lanes: dict[int, float] = {}
        for run in runs:
            lanes[run.lane] = lanes.get(run.lane, 0.0) + run.seconds
        total += hop + max(lanes.values())
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000, help="stations of the one policy")
    parser.add_argument("--baseline", type=int, default=1_000, help="stations of the baseline's policy")
    parser.add_argument("--members", type=int, default=2_000, help="members of the connection edited in")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="waited on every DynamoDB call")
    parser.add_argument("--publish-ms", type=float, default=20.0, help="waited on every IoT publish")
    parser.add_argument("--hop-s", type=float, default=1.0, help="the stream's hop before every round")
    args = parser.parse_args()
    print(f"Started: {load()} (2 cores, shared)")
    with moto(counted=True) as endpoint:
        from connections.stations import allow_entries
        from functions.approve import app as approve_app

        org = api(approve_app.handler, "POST", "/organizations", 201, **ADMIN, body={"name": "City"})
        org = org["organization_id"]
        began = time.perf_counter()
        items: list = []
        sizes = (args.baseline, args.stations)
        for n, size in enumerate(sizes):
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
            for s in range(size):
                items.append(seed.synced_station(org, f"CP-{n}-{s:05d}", f"city-{n}"))
        items.append(
            seed.connection(org, "university", organization_name="City", name="University", code="UNIV0001")
        )
        shapes = ("one invocation", "in parts")
        for n, _ in enumerate(shapes):
            items += seed.policy(org, f"campus-{n}", [], name=f"Campus {n}")
        for m in range(args.members):
            driver = f"student-{m:06d}"
            items += [seed.card(driver, tag(1_000_000 + m)), seed.membership(org, "university", driver)]
        seed.write(items)
        del items
        print(
            f"Setup: connection -> policy -> {' and '.join(f'{s:,}' for s in sizes)} synced stations, a"
            f" connection of {args.members:,} members with a card: {time.perf_counter() - began:.1f} s"
        )
        clock = common.OwnTime(args.latency_ms, args.publish_ms)
        common.count_publishes()
        print(
            f"Waited on this run's clock, moto's time taken out: {args.latency_ms:g} ms every DynamoDB call,"
            f" {args.publish_ms:g} ms every IoT publish, {args.hop_s:g} s each round's stream hop\n"
        )

        sync = Sync(endpoint, clock, traced=False)
        rows = [("a change to a policy of", "to the last publish s", "x baseline", "rounds", "invocations")]
        rows[0] += ("lanes", "longest s", "own s", "moto's s", "wall s", "calls", "publishes")
        figures = []
        for n, size in enumerate(sizes):
            path = f"/organizations/{org}/connections/conn-{n}/requests/driver-{n}/approve"
            api(approve_app.handler, "POST", path, **ADMIN)
            wall = time.perf_counter()
            rounds = sync.rounds()
            wall = time.perf_counter() - wall
            runs = [r for found in rounds for r in found]
            figures.append(estimate(rounds, args.hop_s))
            rows.append(
                (f"{size:,} stations", f"{figures[-1]:.2f}", f"{figures[-1] / figures[0]:.1f}", len(rounds))
                + (len(runs), max(len({r.lane for r in found}) for found in rounds))
                + (f"{max(r.seconds for r in runs):.2f}", f"{sum(r.seconds for r in runs):.1f}")
                + (f"{sum(r.moto for r in runs):.1f}", f"{wall:.1f}", sum(r.calls for r in runs))
                + (sum(r.publishes for r in runs),)
            )
        table(rows, indent="  ", right=True)
        print(f"\n  {load()}")

        sync = Sync(endpoint, clock, traced=True)
        rows = [("an edit over members", "members", "time s", "invocations", "longest s", "peak MB/inv.")]
        rows[0] += ("moto's s", "calls")
        per_part = allow_entries.MEMBERS_PER_PART
        for n, shape in enumerate(shapes):
            allow_entries.MEMBERS_PER_PART = ONE_INVOCATION if n == 0 else per_part
            edited = seed.policy(org, f"campus-{n}", ["university"], name=f"Campus {n}")
            edited[0].updated_at = datetime.now(UTC)
            seed.write(edited)
            rounds = sync.rounds()
            runs = [r for found in rounds for r in found]
            rows.append(
                (shape, f"{args.members:,}", f"{estimate(rounds, args.hop_s):.1f}", len(runs))
                + (f"{max(r.seconds for r in runs):.1f}", f"{max(r.peak for r in runs) / MB:.1f}")
                + (f"{sum(r.moto for r in runs):.1f}", sum(r.calls for r in runs))
            )
        print()
        table(rows, indent="  ", right=True)
        print(
            f"\n  {per_part:,} members per invocation; 100,000 members are {100_000 // per_part} parts of the"
            f" 'in parts' row's invocations. {load()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
