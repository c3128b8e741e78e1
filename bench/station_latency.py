"""Approval -> card on the charger's list, and reconnect -> in sync, over OCPP-J WebSocket, per version.

    .venv/bin/python bench/station_latency.py   (about 5 minutes)

`make run`'s stack in its own process (tests/e2e/stack.py, no seed, free ports), driven over HTTP. One
policy unlocks a private connection (manual approval) and a public one (automatic); it covers two stations
(500 entries, 25 per message), OCPP 1.6 and 2.0.1, each with its charger on the `ocpp` package's
ChargePoint (infra.local.chargers.Charger). The path: approve -> table -> stream pump (250 ms polls) ->
StationSyncFunction -> MQTT -> endpoint -> WebSocket -> charger (its answer back through the IoT rule).
1. 200 approvals one at a time, each after a seeded pause of 0-250 ms (back to back, each would meet the
   pump at the same phase of its poll), from the HTTP response to the card Accepted on the charger's list
   (polled every 5 ms, at most 5 s). Target p99 < 0.5 s. Counted: SendLocalList received and each final
   list (the 200 cards); p50 by quarter shows whether the emulator's cost grows with the table's history.
2. 50 reconnects: both chargers go offline, a driver joins the public connection, both reconnect (each
   round once both are in sync: a charger dropped before its answer left loses it); from `go_online` to
   the card Accepted. Target p99 < 2 s; per reconnect one GetLocalListVersion and one SendLocalList.
Exit 1 past a target, on a missing card or a wrong list, or a frame not valid for the charger's version.
"""

import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from common import pct

from infra.local.chargers import Charger
from tests.e2e.conftest import wait_for
from tests.e2e.stack import Stack

DRIVERS, RECONNECTS = 200, 50
ADMIN, CODE = "bench-latency-admin", "LATENCY01"
CAPACITY, CHUNK = 500, 25
APPROVAL_TARGET_S, RECONNECT_TARGET_S, WAIT_S = 0.5, 2.0, 5.0
PAUSE_S, SEED = 0.25, 7
VERSIONS = ("1.6", "2.0.1")


def ok(answer: tuple, *expected: int) -> dict:
    status, body, _ = answer
    if status not in expected:
        raise SystemExit(f"unexpected answer {status}: {body}")
    return body


def calls(charger: Charger, since: int = 0) -> list[tuple[dict, str]]:
    """(CALL frame, the charger's answer status) for each CALL it received from frame `since`."""
    frames = [(d, json.loads(raw)) for d, raw in charger.frames[since:]]
    answers = {f[1]: f[2].get("status", "?") if f[0] == 3 else f[2] for d, f in frames if d == "sent"}
    return [(f, answers.get(f[1], "none")) for d, f in frames if d == "received" and f[0] == 2]


def held(charger: Charger, card: str) -> bool:
    return (charger.entry(card) or {}).get("status") == "Accepted"


def timed(chargers: dict[str, Charger], card: str, since: dict[str, float]) -> dict[str, float | None]:
    """Per version, seconds from since[version] until its charger holds the card (None: not within WAIT_S)."""
    found: dict[str, float | None] = dict.fromkeys(chargers)
    deadline = time.perf_counter() + WAIT_S
    while any(v is None for v in found.values()) and time.perf_counter() < deadline:
        for version, charger in chargers.items():
            if found[version] is None and held(charger, card):
                found[version] = time.perf_counter() - since[version]
        time.sleep(0.005)
    return found


def figures(label: str, seconds: list[float], wanted: int, target: float) -> bool:
    ms = {p: pct(seconds, p) * 1000 for p in (50, 99, 100)} if seconds else dict.fromkeys((50, 99, 100), 0.0)
    print(
        f"  {label}: p50 {ms[50]:6.1f} ms   p99 {ms[99]:6.1f} ms   max {ms[100]:6.1f} ms   measured"
        f" {len(seconds)}/{wanted}   (target p99 < {target * 1000:.0f} ms)"
    )
    return len(seconds) == wanted and ms[99] < target * 1000


def setup(stack: Stack) -> tuple[str, dict, dict[str, Charger]]:
    def post(path: str, body: dict) -> dict:
        return ok(stack.call("POST", path, user=ADMIN, body=body), 201)

    org = post("/organizations", {"name": "Latency bench"})["organization_id"]
    private = {"name": "Depot staff", "public": False, "code": CODE, "approval_mode": "manual"}
    public = {"name": "Visitors", "public": True, "approval_mode": "auto"}
    connections = {
        k: post(f"/organizations/{org}/connections", v)["connection_id"]
        for k, v in [("private", private), ("public", public)]
    }
    depot = {"name": "Depot", "connection_ids": list(connections.values())}
    policy = post(f"/organizations/{org}/policies", depot)
    chargers, capacity = {}, {"local_auth_list_max_length": CAPACITY, "send_local_list_max_length": CHUNK}
    for version in VERSIONS:
        station = f"BENCH-LAT-{version}".replace(".", "")
        stack.provision(station, org)
        body = {"station_id": station, "name": f"Bay {version}", "policy_id": policy["policy_id"]}
        post(f"/organizations/{org}/stations", {**body, **capacity, "ocpp_version": version})
        chargers[version] = Charger(station, stack.ocpp_url, ocpp_version=version, **capacity).start()
    for charger in chargers.values():
        if not wait_for(lambda c=charger: c.snapshot()["listVersion"] >= 1, timeout=20):
            raise SystemExit(f"{charger.station_id} did not get its first list within 20 s")

    def enrol(n: int) -> None:
        driver = f"lat-driver-{n:03d}"
        ok(stack.call("POST", "/me/cards", user=driver, body={"id_tag": f"LAT{n:05d}"}), 201)
        path, body = f"/connections/{connections['private']}/memberships", {"code": CODE, "answers": {}}
        ok(stack.call("POST", path, user=driver, body=body), 201)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(enrol, range(DRIVERS)))
    return org, connections, chargers


def approvals(stack: Stack, org: str, connection: str, chargers: dict[str, Charger]) -> bool:
    before = {v: len(c.frames) for v, c in chargers.items()}
    lags: dict[str, list[float]] = {v: [] for v in VERSIONS}
    pauses = random.Random(SEED)
    for n in range(DRIVERS):
        time.sleep(pauses.uniform(0, PAUSE_S))
        path = f"/organizations/{org}/connections/{connection}/requests/lat-driver-{n:03d}/approve"
        ok(stack.call("POST", path, user=ADMIN), 200)
        answered = time.perf_counter()
        for version, lag in timed(chargers, f"LAT{n:05d}", dict.fromkeys(VERSIONS, answered)).items():
            if lag is not None:
                lags[version].append(lag)
    print(f"\nApproval HTTP response -> card Accepted in the charger's local list ({DRIVERS}, sequential)")
    passed = all([figures(f"OCPP {v:5}", lags[v], DRIVERS, APPROVAL_TARGET_S) for v in VERSIONS])
    wanted = sorted(f"LAT{n:05d}" for n in range(DRIVERS))
    for version, charger in chargers.items():
        sent = [(f[3], answer) for f, answer in calls(charger, before[version]) if f[2] == "SendLocalList"]
        entries = Counter(len(p.get("localAuthorizationList") or []) for p, _ in sent)
        snapshot = charger.snapshot()
        accepted = sorted(t for t, info in snapshot["entries"].items() if info.get("status") == "Accepted")
        quarters = [lags[version][i : i + DRIVERS // 4] for i in range(0, len(lags[version]), DRIVERS // 4)]
        print(
            f"  OCPP {version} SendLocalList: {len(sent)} for {DRIVERS} approvals; kinds"
            f" {dict(Counter(p['updateType'] for p, _ in sent))}; entries per message {dict(entries)};"
            f" answers {dict(Counter(a for _, a in sent))}\n"
            f"    final list: version {snapshot['listVersion']}, {len(snapshot['entries'])} entries,"
            f" {len(accepted)} Accepted ({'' if accepted == wanted else 'NOT '}the {DRIVERS} cards);"
            f" p50 by quarter: {', '.join(f'{statistics.median(q) * 1000:.0f} ms' for q in quarters if q)}"
        )
        passed &= accepted == wanted
    return passed


def reconnects(stack: Stack, org: str, connection: str, chargers: dict[str, Charger]) -> bool:
    caught_up: dict[str, list[float]] = {v: [] for v in VERSIONS}
    received: dict[str, Counter] = {v: Counter() for v in VERSIONS}

    def synced(wanted) -> bool:
        stations = ok(stack.call("GET", f"/organizations/{org}/stations", user=ADMIN), 200)["items"]
        return all(wanted(s["sync"]) for s in stations)

    for n in range(RECONNECTS):
        # Each charger's last answer processed first: dropped with it, its answer would be lost instead.
        if not wait_for(lambda: synced(lambda s: s["in_sync"]), timeout=WAIT_S, every=0.05):
            raise SystemExit("the stations did not get back in sync")
        for charger in chargers.values():
            charger.go_offline()
        driver, card = f"rc-driver-{n}", f"RC{n:03d}{uuid.uuid4().hex[:6]}".upper()
        ok(stack.call("POST", "/me/cards", user=driver, body={"id_tag": card}), 201)
        ok(stack.call("POST", f"/connections/{connection}/memberships", user=driver, body={}), 201)

        if not wait_for(
            lambda: synced(lambda s: s["awaiting"] == "SendLocalList"), timeout=WAIT_S, every=0.05
        ):
            raise SystemExit("the driver's Differentials were never sent")
        since, before = {}, {v: len(c.frames) for v, c in chargers.items()}
        for version, charger in chargers.items():
            since[version] = time.perf_counter()
            charger.go_online()
        for version, lag in timed(chargers, card, since).items():
            if lag is not None:
                caught_up[version].append(lag)
            received[version].update(f[2] for f, _ in calls(chargers[version], before[version]))
    print(f"\n{RECONNECTS} reconnects without a boot -> the card missed meanwhile on the charger's list")
    passed = True
    for version in VERSIONS:
        passed &= figures(f"OCPP {version:5}", caught_up[version], RECONNECTS, RECONNECT_TARGET_S)
        print(f"    CALLs received: {dict(received[version])}")
        passed &= dict(received[version]) == {"GetLocalListVersion": RECONNECTS, "SendLocalList": RECONNECTS}
    return passed


def main() -> int:
    started = time.perf_counter()
    print("Starting the local stack (python -m infra.local, no seed, as `make run` does) ...", flush=True)
    stack, chargers = Stack(seed=False), {}
    try:
        org, connections, chargers = setup(stack)
        # The setup's stream records (cards, pending requests) change no list; let the sync function finish
        # them so that the first approvals do not queue behind them.
        time.sleep(3)
        took = time.perf_counter() - started
        print(f"Setup: 2 stations, {DRIVERS} drivers, card + pending request: {took:.1f} s", flush=True)
        passed = approvals(stack, org, connections["private"], chargers)
        passed &= reconnects(stack, org, connections["public"], chargers)
        failures = ok(stack.call("GET", "/_local/failures"), 200)["batches"]
        bad = {v: c.violations() for v, c in chargers.items()}
        print(
            f"\nParked stream batches: {len(failures)}; frames not valid for the charger's version: "
            + ", ".join(f"{v} {len(found)}" for v, found in bad.items())
        )
        passed &= not failures and not any(bad.values())
    finally:
        for charger in chargers.values():
            charger.stop()
        code = stack.stop()
    print(
        f"Total {time.perf_counter() - started:.0f} s (stack exit status {code}){'' if passed else '; FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
