"""A charger that reconnects without rebooting: how long after its connection does it hold what changed
while it was away?

`make run`'s stack in its own process (tests/e2e/stack.py, no demo seed, free loopback ports), driven over
HTTP as users would: an organization, a public connection that approves at once, a policy it unlocks, one
station registered through the API, and its charger at the OCPP gateway's MQTT end
(tests/support/mqtt_charger.py: its MQTT client connects with the charger's id, so the broker announces
each connection on `$aws/events/presence/connected/<id>`, as IoT Core does). 50 rounds: the charger goes
offline, a driver joins (the Differential is sent to nobody and stays in flight), then the charger
reconnects; measured from its connection (before CONNECT) to its local list holding the driver's card.
The path: broker's presence event -> topic rule -> StationMessagesFunction (GetLocalListVersion) -> the
charger's answer -> the same function (the Differential it missed) -> the charger.

Target: p99 < 2 s. Counted (deterministic): per reconnect, one GetLocalListVersion and one SendLocalList
(Differential). Exit 1 when the p99 is 2 s or more, a card is missing, or a frame is not valid OCPP 1.6.

Run: .venv/bin/python bench/reconnect.py                (about a minute)
"""

import sys
import time
import uuid
from collections import Counter

from common import pct

from tests.e2e.conftest import wait_for  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402
from tests.support.mqtt_charger import Charger  # noqa: E402

ROUNDS = 50
ADMIN = "bench-reconnect-admin"
STATION = "BENCH-RECONNECT-1"
WAIT_S = 5.0


def ok(answer: tuple, *expected: int) -> dict:
    status, body, _ = answer
    if status not in expected:
        raise SystemExit(f"unexpected answer {status}: {body}")
    return body


def main() -> int:
    print(
        "Starting the local stack (python -m infra.local, no seed, as `make run` starts it) ...", flush=True
    )
    stack = Stack(seed=False)
    try:
        org = ok(stack.call("POST", "/organizations", user=ADMIN, body={"name": "Reconnect bench"}), 201)
        org = org["organization_id"]
        body = {"name": "Depot staff", "public": True, "approval_mode": "auto"}
        connection = ok(stack.call("POST", f"/organizations/{org}/connections", user=ADMIN, body=body), 201)
        body = {"name": "Depot", "connection_ids": [connection["connection_id"]]}
        policy = ok(stack.call("POST", f"/organizations/{org}/policies", user=ADMIN, body=body), 201)
        stack.provision(STATION, org)
        body = {"station_id": STATION, "name": "Bay 1", "policy_id": policy["policy_id"]}
        ok(stack.call("POST", f"/organizations/{org}/stations", user=ADMIN, body=body), 201)
        charger = Charger(stack.mqtt_port, STATION)
        charger.online()

        def sync() -> dict:
            return ok(stack.call("GET", f"/organizations/{org}/stations/{STATION}", user=ADMIN), 200)["sync"]

        if not wait_for(lambda: charger.version >= 1 and sync()["in_sync"], timeout=30, every=0.05):
            raise SystemExit("the station's first Full never arrived")

        times, missing, received = [], 0, Counter()
        for n in range(ROUNDS):
            charger.offline()
            driver, card = f"bench-driver-{n}", f"RC{n:03d}{uuid.uuid4().hex[:6]}".upper()
            ok(stack.call("POST", "/me/cards", user=driver, body={"id_tag": card}), 201)
            path = f"/connections/{connection['connection_id']}/memberships"
            ok(stack.call("POST", path, user=driver, body={}), 201)
            if not wait_for(lambda: sync()["awaiting"] == "SendLocalList", timeout=WAIT_S, every=0.05):
                raise SystemExit("the driver's Differential was never sent")
            before = len(charger.received)
            connected_at = charger.online()
            if wait_for(lambda card=card: charger.status(card) == "Accepted", timeout=WAIT_S, every=0.005):
                times.append(time.monotonic() - connected_at)
            else:
                missing += 1
            received.update(charger.received[before:])
        charger.offline()
    finally:
        stack.stop()

    p50, p99 = pct(times, 50), pct(times, 99)
    print(f"{ROUNDS} reconnects without a boot -> the card missed meanwhile on the charger's list:")
    ms = {name: f"{value * 1000:.0f} ms" for name, value in (("p50", p50), ("p99", p99), ("max", max(times)))}
    print(f"  p50 {ms['p50']}, p99 {ms['p99']}, max {ms['max']} (target: p99 < 2 s)")
    print(f"  frames received: {dict(received)}; missing cards: {missing}")
    print(f"  frames not valid OCPP 1.6: {len(charger.violations)}")
    expected = {"GetLocalListVersion": ROUNDS, "SendLocalList": ROUNDS}
    failed = p99 >= 2 or missing or charger.violations or dict(received) != expected
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
