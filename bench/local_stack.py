"""`make run`'s stack under a bounded load from this (second) process, on loopback only.

1. Local gateway: requests per second and p50/p99 latency of a driver read (GET /me/memberships/{id})
   and of an approval, at 4 concurrent clients; and the share of that time spent in the handler and,
   within it, in moto. The baseline in the same run is the handler's own time: the ratio says what the
   gateway and process hop add.
2. Approval to stream: time from an approval's HTTP response to the stream-triggered function being
   invoked with that change, p50/p99 over 200 approvals (target p99 < 1 s; Lambda polls every 250 ms).

Run: .venv/bin/python bench/local_stack.py   (about a minute)
"""

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import pct

from tests.e2e.conftest import recorded
from tests.e2e.stack import Stack, template_with_recorder

CLIENTS = 4
READS = 400
APPROVALS = 200


def load(stack: Stack, calls: list) -> tuple[float, list[float]]:
    def timed(call):
        start = time.perf_counter()
        status, body, _ = stack.call(*call[0], **call[1])
        assert status < 300, (status, body)
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = list(pool.map(timed, calls))
    return len(calls) / (time.perf_counter() - start), latencies


def setup(stack: Stack, drivers: int) -> tuple[str, str, list[str]]:
    _, org, _ = stack.call("POST", "/organizations", user="bench-admin", body={"name": "Bench"})
    org = org["organization_id"]
    _, connection, _ = stack.call(
        "POST",
        f"/organizations/{org}/connections",
        user="bench-admin",
        body={"name": "Bench", "public": True},
    )
    cid = connection["connection_id"]
    names = [f"bench-driver-{i}" for i in range(drivers)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(
            pool.map(lambda d: stack.call("POST", f"/connections/{cid}/memberships", user=d, body={}), names)
        )
    return org, cid, names


def shares(stack: Stack, route: str, since: int) -> str:
    _, timings, _ = stack.call("GET", "/_local/timings")
    rows = [t for t in timings["requests"][since:] if t["route"] == route]
    total = statistics.median(t["total_ms"] for t in rows)
    handler = statistics.median(t["handler_ms"] for t in rows)
    aws = statistics.median(t["aws_ms"] for t in rows)
    calls = statistics.median(t["aws_calls"] for t in rows)
    return (
        f"    server side (median): total {total:.1f} ms = handler {handler:.1f} ms "
        f"({100 * handler / total:.0f}%, of which moto {aws:.1f} ms over {calls:.0f} calls = "
        f"{100 * aws / handler:.0f}% of the handler) + gateway/process hop {total - handler:.1f} ms"
    )


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    recorder = workdir / "events.jsonl"
    stack = Stack(template_path=template_with_recorder(recorder, workdir))
    try:
        org, cid, drivers = setup(stack, APPROVALS * 2)
        count = lambda: len(stack.call("GET", "/_local/timings")[1]["requests"])  # noqa: E731

        print(f"Local gateway, {CLIENTS} concurrent clients on loopback")
        since = count()
        reads = [
            (("GET", f"/me/memberships/{cid}"), {"user": drivers[i % len(drivers)]}) for i in range(READS)
        ]
        rps, latencies = load(stack, reads)
        print(
            f"  driver read  GET /me/memberships/{{id}}: {rps:6.1f} req/s  p50 {pct(latencies, 50):6.1f} ms"
            f"  p99 {pct(latencies, 99):6.1f} ms  ({READS} requests)"
        )
        print(shares(stack, "GET /me/memberships/{connection_id}", since))

        since = count()
        base = f"/organizations/{org}/connections/{cid}/requests"
        approvals = [(("POST", f"{base}/{d}/approve"), {"user": "bench-admin"}) for d in drivers[:APPROVALS]]
        rps, latencies = load(stack, approvals)
        print(
            f"  approval     POST .../approve:          {rps:6.1f} req/s  p50 {pct(latencies, 50):6.1f} ms"
            f"  p99 {pct(latencies, 99):6.1f} ms  ({APPROVALS} requests)"
        )
        print(
            shares(
                stack,
                "POST /organizations/{organization_id}/connections/{connection_id}"
                "/requests/{driver_id}/approve",
                since,
            )
        )

        print(
            "Approval HTTP response -> stream-triggered function invoked with it"
            f" ({APPROVALS} approvals, one at a time)"
        )
        answered = {}
        for driver in drivers[APPROVALS:]:
            status, _, _ = stack.call("POST", f"{base}/{driver}/approve", user="bench-admin")
            assert status == 200
            answered[driver] = time.time()
        deadline = time.monotonic() + 10
        seen: dict[str, float] = {}
        while len(seen) < len(answered) and time.monotonic() < deadline:
            for entry in recorded(recorder):
                for record in entry["event"].get("Records", []):
                    image = record["dynamodb"].get("NewImage", {})
                    driver = image.get("driver_id", {}).get("S")
                    if driver in answered and image.get("status", {}).get("S") == "active":
                        seen.setdefault(driver, entry["at"])
            time.sleep(0.2)
        lags = [1000 * (seen[d] - answered[d]) for d in seen]
        missing = len(answered) - len(seen)
        print(
            f"  p50 {pct(lags, 50):6.1f} ms  p99 {pct(lags, 99):6.1f} ms  max {max(lags):6.1f} ms"
            f"  (missing: {missing}; target p99 < 1000 ms)"
        )
        return 0 if missing == 0 and pct(lags, 99) < 1000 else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
