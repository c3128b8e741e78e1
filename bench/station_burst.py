"""A burst of 1,000 approvals across 1,000 stations: how long the station sync function takes to drain it in
batches of the template's BatchSize, how much memory it needs (target: under 256 MB), what it publishes.

    .venv/bin/python bench/station_burst.py [--approvals 1000] [--shape tenants|one-policy]
    (about 7 minutes, moto-bound; one-policy about 3; --approvals 100 for a quick look)

tenants: each approval its own connection, policy and station (a Monday-morning burst across tenants).
one-policy: one policy with all the stations; a batch's changes share their reads, each station gets the
first 25 and is then in flight. Stations start in sync with room for 500 entries. Approvals through the
admin handler; the stream replayed to StationSyncFunction until no record passes the filter. The parts a
batch starts at once (decision 0047: a policy of more than a part's 100 stations) are run after it through
StationFanOutFunction's handler, their calls and publishes counted as the batch's. The functions run in
their own spawned process: ru_maxrss (Lambda's Max Memory Used), VmHWM, tracemalloc's peak (every
other batch: it slows what it traces). Exit 1 at 256 MB, when a station does not get exactly its
Differential, or the drain runs past its time bound.
"""

import argparse
import multiprocessing
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import common
import seed
from common import DYNAMODB, api, count_publishes, measured, moto, moto_published, ops, pct, stream_to, table

from infra.local.lambda_api import LambdaServer

APPROVALS, TARGET_MB, MAX_WAVES, MB = 1_000, 256, 5, 1024 * 1024
# A guard against a hang, not a target: past it the drain stops and the bench fails, since an unfinished
# drain proves nothing. The time is moto's and follows the machine's load (350 s on a quiet machine, 496 s
# beside two test suites), so the bound leaves room for that; the function's own CPU is printed apart.
DRAIN_BOUND_S = 1_200
ADMIN = {"sub": "burst-admin", "email": "admin@burst.example"}
FAN_OUT = "StationFanOutFunction"


def tag(n: int) -> str:
    return f"{0x0CC00000 + n:08X}"


def peak_rss() -> int:
    """The process's peak resident set (VmHWM, bytes): unlike ru_maxrss it starts again at exec."""
    return int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) * 1024


def worker(pipe) -> None:
    """A Lambda worker: imports the handler once, then runs the batches it is sent, measuring each. Started
    before this bench grows (moto and its tables live in the parent): ru_maxrss is kept across fork and
    exec, so a child started later would report the parent's size as its own."""
    import resource
    import tracemalloc

    def maxrss() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux

    started = {"maxrss": maxrss(), "hwm": peak_rss()}
    os.environ.update(pipe.recv())  # the configuration, as Lambda's runtime gives it before the import
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    DYNAMODB.install()
    waited = [0.0]

    from botocore.endpoint import Endpoint

    send = Endpoint._send

    def timed(self, request):
        began = time.perf_counter()
        try:
            return send(self, request)
        finally:
            waited[0] += time.perf_counter() - began

    Endpoint._send = timed

    # Parts a batch starts at once (decision 0047) reach this Invoke API (real HTTP), queued, and run after
    # their batch through StationFanOutFunction's handler, their cost counted as the batch's.
    queued: list[dict] = []
    lambdas = LambdaServer(lambda _name, event: queued.append(event), {FAN_OUT}, queue=False).__enter__()
    os.environ |= {"AWS_ENDPOINT_URL_LAMBDA": lambdas.endpoint, "STATION_FAN_OUT_FUNCTION": FAN_OUT}
    from functions.station_sync import app, fan_out

    count_publishes()

    pipe.send({**started, "cold_maxrss": maxrss(), "cold_hwm": peak_rss()})
    while True:
        message = pipe.recv()
        if message is None:
            return
        records, trace = message
        waited[0] = 0.0
        if trace:
            tracemalloc.start()
        answer, cost = measured(app.handler, {"Records": records})
        cost.started = len(queued)
        while queued:
            _, part = measured(fan_out.handler, queued.pop(0))
            cost.seconds, cost.cpu = cost.seconds + part.seconds, cost.cpu + part.cpu
            cost.calls, cost.refused = cost.calls + part.calls, cost.refused + part.refused
            cost.publishes += part.publishes
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        tracemalloc.stop()  # does nothing when not tracing
        sent = {"answer": answer, "waited": waited[0], "peak": peak, "maxrss": maxrss(), "hwm": peak_rss()}
        pipe.send({**vars(cost), **sent})


def setup(approve_handler, shape: str, count: int) -> tuple[str, list[tuple[str, str]]]:
    """The data, written with BatchWriteItem; returns the organization and the (connection, driver) pairs
    to approve. tenants: `count` connections, each unlocking its own policy with one station CP-n, each with
    one pending driver; one-policy: one connection unlocking one policy with `count` stations and drivers."""
    answer = api(approve_handler, "POST", "/organizations", 201, **ADMIN, body={"name": "Burst"})
    org, approvals, items = answer["organization_id"], [], []
    for t in range(count if shape == "tenants" else 1):
        named = {"organization_name": "Burst", "name": f"Tenant {t}", "code": f"BURST{t:04d}"}
        items.append(seed.connection(org, f"conn-{t:04d}", **named))
        items += seed.policy(org, f"policy-{t:04d}", [f"conn-{t:04d}"], name=f"Site {t}")
    for n in range(count):
        t = n if shape == "tenants" else 0
        connection_id, driver = f"conn-{t:04d}", f"driver-{n:04d}"
        station = seed.synced_station(org, f"CP-{n:04d}", f"policy-{t:04d}", local_auth_list_max_length=500)
        items += [station, seed.card(driver, tag(n)), seed.membership(org, connection_id, driver, "pending")]
        approvals.append((connection_id, driver))
    seed.write(items)
    return org, approvals


def expected(shape: str, station_id: str, chunk: int = 25) -> list[dict]:
    """The one message each station should get from the drain. tenants: its own card. one-policy: the
    first SendLocalListMaxLength changes of the first batch (entries are numbered in idTag order); the rest
    waits for the station's answer, which does not come here (StationMessagesFunction would send it)."""
    tags = [tag(int(station_id[3:]))] if shape == "tenants" else [tag(n) for n in range(chunk)]
    return [{"idTag": t, "idTagInfo": {"status": "Accepted"}} for t in tags]


def describe_waves(waves: list[tuple[list[dict], int]]) -> None:
    """A line per wave (records, invocations, DynamoDB calls, publishes), then a table of its batches' time,
    untraced and traced apart."""
    names = ["the approvals", "the function's own writes coming back", "more", "more", "more"]
    times = [("wave", "batches", "p50 s", "max s", "sum s", "moto s", "moto %", "CPU s", "CPU ms/record")]
    for number, (runs, seen) in enumerate(waves, 1):
        records, calls = sum(r["records"] for r in runs), [c for r in runs for c in r["calls"]]
        print(
            f"  wave {number} ({names[number - 1]}): {seen} records read, {records} passed, {len(runs)}"
            f" invocations, {sum(r['started'] for r in runs)} parts started at once; DDB calls {len(calls)}"
            f" ({len(calls) / max(records, 1):.2f}/record): {ops(calls)};"
            f" publishes {sum(len(r['publishes']) for r in runs)}"
        )
        for label, traced in (("untraced", False), ("traced", True)):
            group = [r for r in runs if (r["peak"] is not None) == traced]
            if group:
                seconds, waited = [r["seconds"] for r in group], sum(r["waited"] for r in group)
                cpu, total = sum(r["cpu"] for r in group), sum(r["seconds"] for r in group)
                per_record = 1000 * cpu / max(sum(r["records"] for r in group), 1)
                times.append(
                    (f"{number} {label}", len(group), f"{pct(seconds, 50):.2f}", f"{max(seconds):.2f}")
                )
                times[-1] += (f"{total:.1f}", f"{waited:.1f}", f"{100 * waited / max(total, 1e-9):.0f}%")
                times[-1] += (f"{cpu:.1f}", f"{per_record:.1f}")
    table(times, indent="  ", right=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=APPROVALS, help="approvals, one station each")
    parser.add_argument("--shape", choices=("tenants", "one-policy"), default="tenants")
    args = parser.parse_args()
    count, shape = args.approvals, args.shape
    began = time.perf_counter()
    # The sync function's process first, while this one is small (see worker).
    context = multiprocessing.get_context("spawn")
    pipe, child_pipe = context.Pipe()
    child = context.Process(target=worker, args=(child_pipe,), name="station-sync", daemon=True)
    child.start()
    with moto() as endpoint:  # the worker is a daemon: it ends with this process
        from functions.approve import app as approve_app

        org, approvals = setup(approve_app.handler, shape, count)
        layout = f"{count:,} x (connection -> policy -> station)" if shape == "tenants" else "1 x (connection"
        layout += "" if shape == "tenants" else f" -> policy -> {count:,} stations)"
        took = time.perf_counter() - began
        print(
            f"Setup ({shape}): {layout}; {count:,} drivers, card + pending request: {took:.1f} s", flush=True
        )

        pipe.send(dict(os.environ))
        cold = pipe.recv()

        runs: list[dict] = []
        drain_began, bounded = time.perf_counter(), True

        def in_the_worker(event: dict) -> dict:
            """One batch in the sync function's process; tracemalloc on for every other batch."""
            if time.perf_counter() - drain_began > DRAIN_BOUND_S:
                raise TimeoutError
            pipe.send((event["Records"], len(runs) % 2 == 1))
            runs.append(pipe.recv())
            return runs[-1]["answer"]

        stream = stream_to("StationSyncFunction", in_the_worker, endpoint)
        step = time.perf_counter()
        for connection_id, driver in approvals:
            path = f"/organizations/{org}/connections/{connection_id}/requests/{driver}/approve"
            api(approve_app.handler, "POST", path, **ADMIN)
        print(f"Burst: {count:,} approvals through the admin handler in {time.perf_counter() - step:.1f} s")
        published_before = len(moto_published())

        waves: list[tuple[list[dict], int]] = []
        drain_began = time.perf_counter()
        for _wave in range(MAX_WAVES):
            before = len(runs)
            try:
                wave = stream.replay_new()
            except TimeoutError:
                bounded = False
                waves.append((runs[before:], 0))
                break
            if not wave.passed:
                break
            waves.append((runs[before:], wave.read))
        drained = time.perf_counter() - drain_began
        pipe.send(None)
        child.join(10)

        runs = [r for wave, _ in waves for r in wave]
        publishes = [p for r in runs for p in r["publishes"]]
        seen_by_moto = moto_published()[published_before:]
        per_station = Counter(s for s, _, _ in publishes)
        right = sum(
            frame[3]["updateType"] == "Differential"
            and frame[3]["localAuthorizationList"] == expected(shape, station_id)
            for station_id, _, frame in publishes
        )
        most_in_batch = common.most_to_one_station([r["publishes"] for r in runs])
        peak = max((r["peak"] for r in runs if r["peak"] is not None), default=0)
        maxrss = max((r["maxrss"] for r in runs), default=cold["cold_maxrss"])
        hwm = max((r["hwm"] for r in runs), default=cold["cold_hwm"])
        failures = sum(len(r["answer"].get("batchItemFailures") or []) for r in runs)

        print(f"\nDrain: StationSyncFunction in its own process, batches of {stream.mapping.batch_size}")
        describe_waves(waves)
        print(f"  total: {len(runs)} invocations, {drained:.1f} s wall; batch item failures: {failures}")
        sent, moto_bytes = sum(b for _, b, _ in publishes), sum(len(p) for _, p in seen_by_moto)
        print(
            f"\nPublishes: {len(publishes)} SendLocalList, {sent:,} bytes, to {len(per_station)} stations;"
            f" the expected Differential: {right} of {count}; most to a station in a batch: {most_in_batch};"
            f" moto's iot-data: {len(seen_by_moto)} ({moto_bytes:,} bytes)"
        )
        traced, start, imported = (
            sum(r["peak"] is not None for r in runs),
            cold["maxrss"],
            cold["cold_maxrss"],
        )
        print(
            f"\nMemory of the sync function's process (target < {TARGET_MB} MB): ru_maxrss"
            f" {start / MB:.1f} MB at start (inherited at fork), {imported / MB:.1f} after the imports,"
            f" {maxrss / MB:.1f} after the drain (+{(maxrss - imported) / MB:.1f}); VmHWM"
            f" {cold['cold_hwm'] / MB:.1f} MB after the imports, {hwm / MB:.1f} after the drain;"
            f" tracemalloc peak of one invocation ({traced} traced) {peak / MB:.1f} MB"
        )
        errors = common.refused([c for r in runs for c in r["refused"]])
        print(f"\nThe sync function's DynamoDB calls answered with an error: {errors}")
        print(f"Total time {time.perf_counter() - began:.1f} s")

        exact = right == len(publishes) == count and most_in_batch <= 1 and not failures
        problems = {
            f"the drain passed its {DRAIN_BOUND_S} s bound (moto too slow?)": not bounded,
            f"memory at or over {TARGET_MB} MB": max(maxrss, hwm, peak) >= TARGET_MB * MB,
            "not exactly one Differential, the expected one, per station": not exact,
            "moto's iot-data count differs from the wrapped publish": len(seen_by_moto) != len(publishes),
        }
        for problem in (p for p, failed in problems.items() if failed):
            print(f"FAIL: {problem}")
        return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
