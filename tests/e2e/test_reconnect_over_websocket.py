"""A charger that reconnects without rebooting, against `make run`'s stack: it opens its WebSocket to the
local OCPP endpoint again, the endpoint announces it on `$aws/events/presence/connected/<id>`, and the
service asks its list version and sends what it missed while it was away, in the charger's version."""

import json
import statistics
import time
import uuid

import pytest

from infra.local.chargers import Charger
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["1.6", "2.0.1"])
def site(stack, request):
    """A members-only station whose charger (of either version) is online and holds its first Full."""
    admin = unique("admin")
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Depot"})
    org = org["organization_id"]
    _, connection, _ = stack.call(
        "POST",
        f"/organizations/{org}/connections",
        user=admin,
        body={"name": "Fleet", "public": True, "approval_mode": "auto"},
    )
    _, policy, _ = stack.call(
        "POST",
        f"/organizations/{org}/policies",
        user=admin,
        body={"name": "Depot bays", "connection_ids": [connection["connection_id"]]},
    )
    station_id = unique("CP").upper()
    stack.provision(station_id, org)
    body = {"station_id": station_id, "name": "Bay 1", "policy_id": policy["policy_id"]}
    status, _, _ = stack.call(
        "POST", f"/organizations/{org}/stations", user=admin, body={**body, "ocpp_version": request.param}
    )
    assert status == 201
    charger = Charger(station_id, stack.ocpp_url, ocpp_version=request.param).start()

    def view() -> dict:
        _, station, _ = stack.call("GET", f"/organizations/{org}/stations/{station_id}", user=admin)
        return station["sync"]

    assert wait_for(lambda: charger.snapshot()["listVersion"] >= 1 and view()["in_sync"], timeout=10)
    yield {"connection": connection, "charger": charger, "view": view}
    charger.stop()
    assert charger.violations() == []


def join(stack, connection: dict, driver: str, card: str) -> None:
    assert stack.call("POST", "/me/cards", user=driver, body={"id_tag": card})[0] == 201
    path = f"/connections/{connection['connection_id']}/memberships"
    assert stack.call("POST", path, user=driver, body={})[0] == 201


def calls_received(charger: Charger, since: int) -> list[str]:
    """The actions of the calls the charger received since frame `since`."""
    frames = [json.loads(raw) for direction, raw in charger.frames[since:] if direction == "received"]
    return [frame[2] for frame in frames if frame[0] == 2]


def test_a_charger_back_online_without_rebooting_gets_what_it_missed_within_seconds(stack, site):
    charger, caught_up = site["charger"], []
    for round_ in range(3):
        # Given the charger offline while a driver joins (the Differential is lost: nobody reads it)
        charger.go_offline()
        card = f"R{round_}{uuid.uuid4().hex[:8]}".upper()
        join(stack, site["connection"], unique("driver"), card)
        assert wait_for(lambda: site["view"]()["awaiting"] == "SendLocalList", timeout=5)
        assert charger.entry(card) is None

        # When it reconnects, without a BootNotification
        seen, back = len(charger.frames), time.monotonic()
        charger.go_online()

        # Then it is asked its version and gets the card, within seconds rather than at the next sweep
        assert wait_for(lambda card=card: (charger.entry(card) or {}).get("status") == "Accepted", timeout=5)
        caught_up.append(time.monotonic() - back)
        assert calls_received(charger, seen) == ["GetLocalListVersion", "SendLocalList"]
        assert wait_for(lambda: site["view"]()["in_sync"], timeout=2)
    p50, most = statistics.median(caught_up), max(caught_up)
    print(f"reconnect -> card on the list: p50 {p50:.3f} s, max {most:.3f} s")
    assert max(caught_up) < 2
