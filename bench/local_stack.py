"""`make run`'s stack under a bounded load from this (second) process, on loopback only.

    .venv/bin/python bench/local_stack.py   (about a minute)

1. Local gateway: requests per second and p50/p99 latency of a driver read (GET /me/memberships/{id}) and
   of an approval at 4 concurrent clients, and the share of that time spent in the handler and, within
   it, in moto (the baseline, same run: the handler's own time; the rest is the gateway and process hop).
2. Approval to stream: from an approval's HTTP response to the stream-triggered function being invoked
   with that change, p50/p99 over 200 approvals (target p99 < 1 s; Lambda polls every 250 ms).
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

CLIENTS, READS, APPROVALS = 4, 400, 200
APPROVE = "POST /organizations/{organization_id}/connections/{connection_id}/requests/{driver_id}/approve"


def setup(stack: Stack, drivers: int) -> tuple[str, str, list[str]]:
    _, org, _ = stack.call("POST", "/organizations", user="bench-admin", body={"name": "Bench"})
    org = org["organization_id"]
    body = {"name": "Bench", "public": True}
    _, connection, _ = stack.call("POST", f"/organizations/{org}/connections", user="bench-admin", body=body)
    cid = connection["connection_id"]
    names = [f"bench-driver-{i}" for i in range(drivers)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(
            pool.map(lambda d: stack.call("POST", f"/connections/{cid}/memberships", user=d, body={}), names)
        )
    return org, cid, names


def load(stack: Stack, label: str, route: str, calls: list) -> None:
    """The calls from CLIENTS threads: requests per second, latency, and the server's split of the time."""

    def timed(call):
        start = time.perf_counter()
        status, body, _ = stack.call(*call[0], **call[1])
        assert status < 300, (status, body)
        return (time.perf_counter() - start) * 1000

    since = len(stack.call("GET", "/_local/timings")[1]["requests"])
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = list(pool.map(timed, calls))
    rps = len(calls) / (time.perf_counter() - start)
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    print(f"  {label} {rps:6.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({len(calls)} requests)")
    _, timings, _ = stack.call("GET", "/_local/timings")
    rows = [t for t in timings["requests"][since:] if t["route"] == route]
    total, handler, aws, count = (
        statistics.median(t[k] for t in rows) for k in ("total_ms", "handler_ms", "aws_ms", "aws_calls")
    )
    print(
        f"    server side (median): total {total:.1f} ms = handler {handler:.1f} ms "
        f"({100 * handler / total:.0f}%, of which moto {aws:.1f} ms over {count:.0f} calls = "
        f"{100 * aws / handler:.0f}% of the handler) + gateway/process hop {total - handler:.1f} ms"
    )


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    recorder = workdir / "events.jsonl"
    stack = Stack(template_path=template_with_recorder(recorder, workdir))
    try:
        org, cid, drivers = setup(stack, APPROVALS * 2)
        print(f"Local gateway, {CLIENTS} concurrent clients on loopback")
        reads = [
            (("GET", f"/me/memberships/{cid}"), {"user": drivers[i % len(drivers)]}) for i in range(READS)
        ]
        load(stack, "driver read  GET /me/memberships/{id}:", "GET /me/memberships/{connection_id}", reads)
        base = f"/organizations/{org}/connections/{cid}/requests"
        approvals = [(("POST", f"{base}/{d}/approve"), {"user": "bench-admin"}) for d in drivers[:APPROVALS]]
        load(stack, "approval     POST .../approve:         ", APPROVE, approvals)

        print(
            f"Approval HTTP response -> stream-triggered function invoked with it ({APPROVALS}, one by one)"
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
        lags, missing = [1000 * (seen[d] - answered[d]) for d in seen], len(answered) - len(seen)
        p50, p99, worst = pct(lags, 50), pct(lags, 99), max(lags)
        print(f"  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  max {worst:6.1f} ms  missing {missing}  (p99 < 1 s)")
        return 0 if missing == 0 and p99 < 1000 else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
