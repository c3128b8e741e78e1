"""Chargers built on the `ocpp` package's ChargePoint, connected over a real WebSocket to `make run`'s OCPP
endpoint, keep their local lists from what the service sends, as real ones behind the AWS OCPP gateway
would. Every frame both ways is checked against the package's schemas for the charger's version."""

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from infra.local.chargers import Charger
from infra.local.station_check import ask
from infra.template import ROOT
from tests.e2e.conftest import wait_for
from tests.support.topics import Topics

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def site(stack, request):
    """An organization whose private connection unlocks a members-only station, whose 1.6 charger is
    online. A test parametrizing `site` sets what the station is registered with (and its charger holds)."""
    capabilities = getattr(request, "param", {})
    admin = unique("admin")
    _, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Depot"})
    org = org["organization_id"]
    _, connection, _ = stack.call(
        "POST", f"/organizations/{org}/connections", user=admin, body={"name": "Fleet", "public": False}
    )
    _, policy, _ = stack.call(
        "POST",
        f"/organizations/{org}/policies",
        user=admin,
        body={"name": "Depot bays", "connection_ids": [connection["connection_id"]]},
    )
    station_id = unique("CP").upper()
    stack.provision(station_id, org)
    charger = Charger(station_id, stack.ocpp_url, authorize_timeout=5.0, **capabilities).start()
    status, _, _ = stack.call(
        "POST",
        f"/organizations/{org}/stations",
        user=admin,
        body={"station_id": station_id, "name": "Bay 1", "policy_id": policy["policy_id"], **capabilities},
    )
    assert status == 201
    assert wait_for(lambda: charger.snapshot()["listVersion"] >= 1, timeout=5), "the first Full never arrived"
    yield {"admin": admin, "org": org, "connection": connection, "charger": charger, "policy": policy}
    charger.stop()
    # Every frame of the test, both ways, is valid OCPP 1.6
    assert charger.violations() == []


def on_list(charger: Charger, card: str) -> str | None:
    entry = charger.snapshot()["entries"].get(card)
    return entry["status"] if entry else None


def join(stack, site, driver: str, card: str) -> float:
    """The driver registers a card and requests; the admin approves. Returns when the approval answered."""
    connection = site["connection"]
    assert stack.call("POST", "/me/cards", user=driver, body={"id_tag": card})[0] == 201
    status, _, _ = stack.call(
        "POST",
        f"/connections/{connection['connection_id']}/memberships",
        user=driver,
        body={"code": connection["code"]},
    )
    assert status == 201
    path = f"/organizations/{site['org']}/connections/{connection['connection_id']}/requests/{driver}/approve"
    assert stack.call("POST", path, user=site["admin"])[0] == 200
    return time.monotonic()


def in_sync(stack, site) -> dict | None:
    _, stations, _ = stack.call("GET", f"/organizations/{site['org']}/stations", user=site["admin"])
    return stations if stations["out_of_sync"] == 0 else None


def test_an_approved_card_is_accepted_at_the_charger_within_a_second_and_refused_after_removal(stack, site):
    charger, driver, card = site["charger"], unique("driver"), unique("C")[:12].upper()
    # Given a driver whose card the charger does not know
    assert on_list(charger, card) is None
    # When the admin approves the driver's request
    approved_at = join(stack, site, driver, card)
    # Then within a second the charger's own list accepts the card
    assert wait_for(lambda: on_list(charger, card) == "Accepted", timeout=1.0), charger.snapshot()
    assert time.monotonic() - approved_at < 1.0
    assert charger.would_accept(card)[:2] == (True, "local_list")
    # And once the charger's answer is in, the driver sees that the access arrived at the station
    path = f"/me/memberships/{site['connection']['connection_id']}/stations"
    delivered = wait_for(
        lambda: stack.call("GET", path, user=driver)[1] == {"stations": 1, "delivered": 1}, 2
    )
    assert delivered, stack.call("GET", path, user=driver)
    # When the admin removes the driver
    path = f"/organizations/{site['org']}/connections/{site['connection']['connection_id']}/members/{driver}"
    assert stack.call("DELETE", path, user=site["admin"])[0] == 200
    removed_at = time.monotonic()
    # Then within a second the card is listed as Blocked (refused even offline), not just deleted
    assert wait_for(lambda: on_list(charger, card) == "Blocked", timeout=1.0), charger.snapshot()
    assert time.monotonic() - removed_at < 1.0
    assert charger.would_accept(card) == (False, "local_list", "Blocked")


def test_a_card_the_charger_does_not_know_is_authorized_online(stack, site):
    # A stranger's card is not on the list: the charger asks the service, which refuses it
    assert site["charger"].would_accept("UNKNOWN01") == (False, "online", "Invalid")


def test_the_admin_sees_the_station_in_sync(stack, site):
    driver, card = unique("driver"), unique("S")[:12].upper()
    join(stack, site, driver, card)
    assert wait_for(lambda: on_list(site["charger"], card) == "Accepted", timeout=2)
    stations = wait_for(lambda: in_sync(stack, site), timeout=2)
    assert stations, "the station never showed as in sync"
    sync = stations["items"][0]["sync"]
    assert sync["in_sync"] and sync["held_sequence"] == sync["wanted_sequence"] >= 1


def test_a_charger_that_lost_its_list_is_reconciled_when_it_reboots(stack, site):
    charger, driver, card = site["charger"], unique("driver"), unique("R")[:12].upper()
    join(stack, site, driver, card)
    assert wait_for(lambda: on_list(charger, card) == "Accepted", timeout=2)
    boots = charger.snapshot()["boots"]
    # When the charger reboots with an empty list (a replaced controller board) and says hello
    charger.reboot(lose_list=True)
    assert charger.snapshot()["entries"] == {}
    # Then the service asks for its list version, sees the mismatch and sends the whole list again
    assert wait_for(lambda: on_list(charger, card) == "Accepted", timeout=3), charger.snapshot()
    assert charger.snapshot()["registration"] == "Accepted" and charger.snapshot()["boots"] == boots + 1


def test_a_lost_answer_is_made_good_when_the_charger_next_boots(stack, site):
    charger, driver, card = site["charger"], unique("driver"), unique("L")[:12].upper()
    # Given the charger's answer to the approval's SendLocalList is lost on the way
    charger.lose_next_answer()
    join(stack, site, driver, card)
    assert wait_for(lambda: on_list(charger, card) == "Accepted", timeout=2)
    assert wait_for(lambda: any(d == "lost" for d, _ in charger.frames), timeout=2)
    # The service cannot know the charger holds it
    assert in_sync(stack, site) is None
    # When the charger reboots, the service asks its version and sees it holds the list
    charger.reboot()
    assert wait_for(lambda: in_sync(stack, site), timeout=5), "the station never showed as in sync"
    assert on_list(charger, card) == "Accepted"


@pytest.mark.parametrize(
    "site", [{"local_auth_list_max_length": 3, "send_local_list_max_length": 2}], indirect=True
)
def test_a_small_charger_holds_what_fits_and_authorizes_the_rest_online(stack, site):
    charger = site["charger"]
    cards = [unique("K")[:12].upper() for _ in range(5)]
    for card in cards:
        join(stack, site, unique("driver"), card)
    # The charger's list fills up to its capacity, never with more per message than it takes ...
    assert wait_for(lambda: len(charger.snapshot()["entries"]) == 3, timeout=5), charger.snapshot()
    sent = [json.loads(raw) for direction, raw in charger.frames if direction == "received"]
    lists = [frame[3] for frame in sent if frame[0] == 2 and frame[2] == "SendLocalList"]
    assert all(len(payload.get("localAuthorizationList", [])) <= 2 for payload in lists)
    assert not any('"Failed"' in raw for direction, raw in charger.frames if direction == "sent")
    # ... and every approved driver is accepted: from the list, or else by Authorize online
    answers = {card: charger.would_accept(card) for card in cards}
    assert all(accepted for accepted, _, _ in answers.values()), answers
    assert {source for _, source, _ in answers.values()} == {"local_list", "online"}


class CentralSystem(Topics):
    """The test as a 2.0.1 central system on the stack's broker: reads `<id>/in`, publishes on `<id>/out`;
    answers BootNotification, and Authorize with a refusal and its reason."""

    def __init__(self, port: int, charger_id: str):
        self.charger_id = charger_id
        super().__init__(port, f"{charger_id}/in", on_message=self._answer)

    def frames(self) -> list[list]:
        return [json.loads(payload) for payload in self.on(f"{self.charger_id}/in")]

    def _answer(self, _topic: str, payload: bytes) -> None:
        frame = json.loads(payload)
        if frame[0] == 2 and frame[2] == "BootNotification":
            self.send(
                [3, frame[1], {"status": "Accepted", "currentTime": "2026-12-06T10:00:00Z", "interval": 300}]
            )
        elif frame[0] == 2 and frame[2] == "Authorize":
            refused = {
                "status": "NotAtThisLocation",
                "personalMessage": {"format": "UTF8", "content": "Ask Acme Corp for their connection code."},
            }
            self.send([3, frame[1], {"idTokenInfo": refused}])

    def send(self, frame: list) -> None:
        self.publish(f"{self.charger_id}/out", json.dumps(frame))

    def call(self, action: str, payload: dict) -> list:
        unique_id = uuid.uuid4().hex
        self.send([2, unique_id, action, payload])
        answer = self.wait_for(
            lambda: next((f for f in self.frames() if f[1] == unique_id and f[0] != 2), None)
        )
        assert answer, f"no answer to {action}"
        return answer


def entry(card: str, status: str = "Accepted") -> dict:
    return {"idToken": {"idToken": card, "type": "ISO14443"}, "idTokenInfo": {"status": status}}


def test_a_2_0_1_charger_keeps_its_list_from_its_central_system(stack):
    charger_id = unique("EV").upper()
    stack.provision(charger_id, "org-of-the-installer")
    csms = CentralSystem(stack.mqtt_port, charger_id)
    charger = Charger(
        charger_id,
        stack.ocpp_url,
        ocpp_version="2.0.1",
        local_auth_list_max_length=3,
        send_local_list_max_length=2,
        bytes_per_message=350,
    ).start()
    try:
        # It boots in 2.0.1
        assert csms.wait_for(lambda: any(f[2:3] == ["BootNotification"] for f in csms.frames()))
        assert wait_for(lambda: charger.snapshot()["registration"] == "Accepted", timeout=5)
        # A Full and a Differential are taken, a stale Differential is a VersionMismatch
        full = {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [entry("AA01"), entry("BB02")],
        }
        assert csms.call("SendLocalList", full)[2]["status"] == "Accepted"
        more = {
            "versionNumber": 2,
            "updateType": "Differential",
            "localAuthorizationList": [entry("AA01", "Blocked")],
        }
        assert csms.call("SendLocalList", more)[2]["status"] == "Accepted"
        assert csms.call("SendLocalList", {**more, "versionNumber": 2})[2]["status"] == "VersionMismatch"
        assert csms.call("GetLocalListVersion", {})[2] == {"versionNumber": 2}
        assert charger.snapshot()["entries"] == {
            "AA01": {"status": "Blocked"},
            "BB02": {"status": "Accepted"},
        }
        # Its capacity: more items or bytes per message or more entries than it holds fail, changing nothing
        three = [entry(f"CC0{n}") for n in range(3)]
        too_many = {"versionNumber": 3, "updateType": "Differential", "localAuthorizationList": three}
        too_big = {**too_many, "localAuthorizationList": [entry("D" * 36), entry("E" * 36)]}
        too_full = {**too_many, "localAuthorizationList": three[:2]}
        for refused in (too_many, too_big, too_full):
            answer = csms.call("SendLocalList", refused)[2]
            assert answer["status"] == "Failed" and answer["statusInfo"]["additionalInfo"], answer
        assert charger.snapshot()["listVersion"] == 2
        # A card not on its list is asked online, and the reason is on its screen
        assert charger.would_accept("ZZ99") == (False, "online", "NotAtThisLocation")
        assert charger.screen == "Ask Acme Corp for their connection code."
        # And what it does not implement it says so
        assert csms.call("ClearCache", {})[2] == "NotImplemented"
    finally:
        charger.stop()
        csms.close()
    assert charger.violations() == []


def make_charger(stack, station_id: str, *options: str) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
        "OCPP_PORT": str(stack.ocpp_port),
        "MQTT_PORT": str(stack.mqtt_port),
    }
    return subprocess.Popen(  # noqa: S603 - our own make target
        ["make", "-s", "charger", f"STATION={station_id}", *options],  # noqa: S607 - make from PATH, as the reader's
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, which Ctrl-C reaches as a whole
    )


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_make_charger_runs_a_charger_of_either_version_until_ctrl_c(stack, version):
    charger_id = unique("MK").upper()
    stack.provision(charger_id, "org-of-the-installer")
    running = make_charger(stack, charger_id, f"OCPP={version}")
    try:
        assert running.stdout is not None
        assert f"OCPP {version} charger(s) {charger_id} connected" in running.stdout.readline()
        # It is there: it answers the local question about a card
        assert ask(charger_id, "04A2B3C4", stack.mqtt_port)["station"] == charger_id
    finally:
        os.killpg(running.pid, signal.SIGINT)  # Ctrl-C: the charger stops (make reports the signal)
        assert running.wait(15) in (0, -signal.SIGINT)


def test_make_charger_for_a_charger_that_is_not_provisioned_says_what_to_do(stack):
    running = make_charger(stack, "NOT-PROVISIONED")
    output, _ = running.communicate(timeout=30)
    assert running.returncode != 0
    assert "closed the connection (1008" in output and "make provision STATION=NOT-PROVISIONED" in output
