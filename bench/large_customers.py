"""Large customers (decisions 0042, 0045, 0047): one change to a policy of S stations (a city's 10,000)
against a baseline policy of B stations in the same run, and a policy edit over a connection of M members
(a university's 100,000) in one invocation and in parts.

    .venv/bin/python bench/large_customers.py [--stations 10000] [--baseline 1000] [--members 2000]
        [--latency-ms 5] [--publish-ms 20] [--invoke-ms 20] [--hop-s 1] [--start-s 1] [--stream-alone]

In this process: moto and the real handlers; the data written directly (seed.py), the stream replayed to
StationSyncFunction as Lambda does (its BatchSize, FilterCriteria, ParallelizationFactor's lanes,
batch item failures delivered again), round after round until no record passes the filter. The parts of a
large policy that an invocation starts at once (decision 0047) reach a Lambda Invoke API over real HTTP
(infra/local/lambda_api.py), which queues them; each is run after the invocation that started it, through
StationFanOutFunction's handler. `--stream-alone`: one more policy of S stations, changed with no part
started at once (the parts go by the stream alone, as before 0047), for the same run's comparison.

The times are the functions' own, not moto's (common.OwnTime): the wall time with every moment moto
spends answering taken out, so what is left is the function's CPU on this machine (one thread at a time,
as on one vCPU) plus the modelled waits: `--latency-ms` on every DynamoDB call, `--publish-ms` on every
IoT publish (IoT Core's HTTPS Publish within a Region: tens of milliseconds; 20 is an assumption, not a
published figure), `--invoke-ms` on every Lambda invoke (its 202: an assumption alike), overlapped as the
function's threads overlap them.

From the change to the last publish (the estimate): the invocations of each round (the records the
previous round wrote) run one after another in a lane and the lanes side by side; every round first waits
`--hop-s` for Lambda to see its records (Lambda polls a stream's shards four times a second, and DynamoDB
Streams publishes a record within about a second: 1 s, a figure for the usual case, seconds at worst; a
retried batch waits a hop too). A part started at once begins `--start-s` after the end of the invocation
that started it (conservative: it is started as soon as its split is written): Lambda's queue of events
(tens of milliseconds) and a cold start (the function imports boto3, PynamoDB and Powertools: about a
second is assumed; a warm environment starts at once), all parts side by side. "to the end": until the
last invocation ends, the stream's pass over parts already done included.

moto's s: the time moto spent answering (taken out); wall s: this run's wall time, moto's included.
Members: the time, invocations, the longest, and tracemalloc's peak of one invocation (the memory the
function's work allocates; target well under 512 MB); tracemalloc slows the members' invocations.
"""

import argparse
import contextlib
import io
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from types import SimpleNamespace

import common
import seed
from common import DYNAMODB, api, invoke, moto, stream_to, table

from infra.local.lambda_api import LambdaServer

ADMIN = {"sub": "large-admin", "email": "admin@large.example"}
MB = 1024 * 1024
ONE_INVOCATION = 10**9  # the members' baseline: a part as large as the whole


def tag(n: int) -> str:
    return f"{0x0DD00000 + n:08X}"


def load() -> str:
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


FAN_OUT = "StationFanOutFunction"


class Sync:
    """The stream replayed to the sync function, a round at a time; each invocation's own time (OwnTime),
    lane, DynamoDB calls, publishes and (if `traced`) tracemalloc's peak noted. The parts an invocation
    starts at once (Lambda's asynchronous invoke of StationFanOutFunction, decision 0047) are queued by the
    Invoke API it calls (real HTTP), then each run here after it, timed alike (`started`)."""

    def __init__(self, endpoint: str, clock: common.OwnTime, traced: bool) -> None:
        from functions.station_sync import app, fan_out

        self.handler, self.fan_out, self.clock, self.traced = app.handler, fan_out.handler, clock, traced
        self.replayer = stream_to("StationSyncFunction", self._invoke, endpoint)
        self.runs: list[SimpleNamespace] = []
        self.queued: list[dict] = []

    def _invoke(self, event: dict):
        run = self._timed(self.handler, event, lane=self.replayer.lane(event["Records"][0]))
        queued, self.queued = self.queued, []
        run.started = [self._timed(self.fan_out, e, lane=None) for e in queued]
        self.runs.append(run)
        return run.answer

    def _timed(self, handler, event: dict, lane: int | None) -> SimpleNamespace:
        common.fresh_counts()
        if self.traced:
            tracemalloc.start()
        began, moto = self.clock.now(), self.clock.moto
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metrics, kept off the report
            answer = invoke(handler, event)
        peak = tracemalloc.get_traced_memory()[1] if self.traced else 0
        tracemalloc.stop()
        return SimpleNamespace(
            answer=answer,
            seconds=self.clock.now() - began,
            moto=self.clock.moto - moto,
            lane=lane,
            peak=peak,
            calls=len(DYNAMODB.calls),
            publishes=len(common.PUBLISHED),
            started=[],
        )

    def queue(self, name: str, event: dict) -> None:
        """The Invoke API's `run` (lambda_api.LambdaServer): an Event queued, to run after its caller."""
        assert name == FAN_OUT, name
        self.queued.append(event)

    def rounds(self) -> list[list[SimpleNamespace]]:
        """Every round's invocations until no record passes the filter."""
        found = []
        while True:
            self.runs = []
            if not self.replayer.replay_new().passed:
                return found
            found.append(self.runs)


def estimate(rounds: list[list[SimpleNamespace]], hop: float, start: float) -> tuple[float, float]:
    """From the change to the last publish, and to the end of the last invocation: each round a hop, then
    its lanes side by side, each lane's invocations one after another; the parts an invocation started each
    `start` after its end (Lambda's queue and a cold start), all side by side."""
    total, last = 0.0, 0.0
    for runs in rounds:
        began, lanes = total + hop, {}
        for run in runs:
            end = began + lanes.get(run.lane, 0.0) + run.seconds
            lanes[run.lane] = end - began
            last = max(last, end if run.publishes else 0.0)
            for part in run.started:
                total = max(total, end + start + part.seconds)
                last = max(last, end + start + part.seconds if part.publishes else 0.0)
        total = max(total, began + max(lanes.values()))
    return last, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000, help="stations of the one policy")
    parser.add_argument("--baseline", type=int, default=1_000, help="stations of the baseline's policy")
    parser.add_argument("--members", type=int, default=2_000, help="members of the connection edited in")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="waited on every DynamoDB call")
    parser.add_argument("--publish-ms", type=float, default=20.0, help="waited on every IoT publish")
    parser.add_argument("--hop-s", type=float, default=1.0, help="the stream's hop before every round")
    parser.add_argument(
        "--invoke-ms", type=float, default=20.0, help="waited on every Lambda invoke (its 202)"
    )
    parser.add_argument(
        "--start-s", type=float, default=1.0, help="from a part's invoke to its start (queue, cold start)"
    )
    parser.add_argument(
        "--stream-alone", action="store_true", help="also the largest policy with no part started at once"
    )
    args = parser.parse_args()
    print(f"Started: {load()} (2 cores, shared)")
    sync: Sync | None = None
    with (
        moto(counted=True) as endpoint,
        LambdaServer(lambda *a: sync and sync.queue(*a), {FAN_OUT}, queue=False) as lambdas,
    ):
        os.environ |= {"AWS_ENDPOINT_URL_LAMBDA": lambdas.endpoint, "STATION_FAN_OUT_FUNCTION": FAN_OUT}
        from connections.platform.settings import fan_out_function
        from connections.stations import allow_entries
        from functions.approve import app as approve_app

        org = api(approve_app.handler, "POST", "/organizations", 201, **ADMIN, body={"name": "City"})
        org = org["organization_id"]
        began = time.perf_counter()
        items: list = []
        sizes = (args.baseline, args.stations) + ((args.stations,) if args.stream_alone else ())
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
        clock = common.OwnTime(args.latency_ms, args.publish_ms, args.invoke_ms)
        lambdas.answering = clock.answering
        common.count_publishes()
        print(
            f"Waited on this run's clock, moto's time taken out: {args.latency_ms:g} ms every DynamoDB call,"
            f" {args.publish_ms:g} ms every IoT publish, {args.invoke_ms:g} ms every Lambda invoke;"
            f" {args.hop_s:g} s each round's stream hop, {args.start_s:g} s from a part's invoke to its"
            " start\n"
        )

        sync = Sync(endpoint, clock, traced=False)
        rows = [("a change to a policy of", "to the last publish s", "x baseline", "to the end s", "rounds")]
        rows[0] += ("invocations", "started", "lanes", "longest s", "own s", "moto's s", "wall s", "calls")
        rows[0] += ("publishes",)
        figures = []
        for n, size in enumerate(sizes):
            alone = n == 2
            if alone:  # the parts go by the stream alone, as before decision 0047
                os.environ.pop("STATION_FAN_OUT_FUNCTION")
                fan_out_function.cache_clear()
            path = f"/organizations/{org}/connections/conn-{n}/requests/driver-{n}/approve"
            api(approve_app.handler, "POST", path, **ADMIN)
            wall = time.perf_counter()
            rounds = sync.rounds()
            wall = time.perf_counter() - wall
            runs = [r for found in rounds for r in found]
            every = runs + [p for r in runs for p in r.started]
            last, end = estimate(rounds, args.hop_s, args.start_s)
            figures.append(last)
            name = f"{size:,} stations" + (", the stream alone" if alone else "")
            rows.append(
                (name, f"{last:.2f}", f"{last / figures[0]:.1f}", f"{end:.2f}", len(rounds), len(runs))
                + (sum(len(r.started) for r in runs), max(len({r.lane for r in found}) for found in rounds))
                + (f"{max(r.seconds for r in every):.2f}", f"{sum(r.seconds for r in every):.1f}")
                + (f"{sum(r.moto for r in every):.1f}", f"{wall:.1f}", sum(r.calls for r in every))
                + (sum(r.publishes for r in every),)
            )
        table(rows, indent="  ", right=True)
        print(
            "\n  started: parts started at once (StationFanOutFunction), side by side; their stream records"
            " then find them done.\n  to the end: until the last invocation, a stream's pass over the"
            f" parts included. {load()}"
        )

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
                (
                    shape,
                    f"{args.members:,}",
                    f"{estimate(rounds, args.hop_s, args.start_s)[1]:.1f}",
                    len(runs),
                )
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
