"""The driver's map over HTTP against `make run`'s stack: a search around a point, a station hidden from
strangers, and the access check, through the local gateway and the StationMapFunction's own workers."""

import random
import uuid

import pytest

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_a_member_sees_a_hidden_station_a_stranger_does_not_and_each_is_told_why(stack):
    # Given an organization with a private connection, a station everyone sees and one only members see,
    # somewhere no other test puts stations
    admin, member, stranger = unique("admin"), unique("member"), unique("stranger")
    lat, lng = random.uniform(-40, -30), random.uniform(100, 110)
    status, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Map Org"})
    assert status == 201, org
    org_id = org["organization_id"]
    status, connection, _ = stack.call(
        "POST", f"/organizations/{org_id}/connections", user=admin, body={"name": "Crew", "public": False}
    )
    cid = connection["connection_id"]
    status, hidden, _ = stack.call(
        "POST",
        f"/organizations/{org_id}/policies",
        user=admin,
        body={"name": "Crew only", "connection_ids": [cid], "visible_to": [cid]},
    )
    assert status == 201, hidden
    open_id, hidden_id = unique("OPEN"), unique("HIDDEN")
    for station_id, policy_id, north in ((open_id, None, 0.001), (hidden_id, hidden["policy_id"], 0.002)):
        body = {"station_id": station_id, "name": station_id, "latitude": lat + north, "longitude": lng}
        if policy_id:
            body["policy_id"] = policy_id
        stack.provision(station_id, org_id)
        status, answer, _ = stack.call("POST", f"/organizations/{org_id}/stations", user=admin, body=body)
        assert status == 201, answer
    status, _, _ = stack.call(
        "POST", f"/connections/{cid}/memberships", user=member, body={"code": connection["code"]}
    )
    assert status == 201
    requests = f"/organizations/{org_id}/connections/{cid}/requests"
    assert stack.call("POST", f"{requests}/{member}/approve", user=admin)[0] == 200

    # When each searches 1 km around the point
    search = f"/stations?lat={lat}&lng={lng}&radius_km=1"
    _, for_member, _ = stack.call("GET", search, user=member)
    _, for_stranger, _ = stack.call("GET", search, user=stranger)

    # Then the member sees both, the stranger only the open one
    assert [s["station_id"] for s in for_member["items"]] == [open_id, hidden_id]
    assert [s["station_id"] for s in for_stranger["items"]] == [open_id]
    # and for the stranger the hidden station answers exactly like one that does not exist
    hidden_answer = stack.call("GET", f"/stations/{hidden_id}/access", user=stranger)[:2]
    missing_answer = stack.call("GET", "/stations/NO-SUCH-STATION/access", user=stranger)[:2]
    assert hidden_answer == missing_answer and hidden_answer[0] == 404
    # while the member is told what is missing: a card
    status, access, _ = stack.call("GET", f"/stations/{hidden_id}/access", user=member)
    assert status == 200 and (access["reason"], access["ocpp_status"]) == ("no_card", "Unknown")
