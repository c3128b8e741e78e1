"""Hours of use at the stations themselves: a list cannot hold hours, so members whose only way in has
hours (and everyone else, when a policy has a rule for them) are left off the list and answered by online
Authorize, in the station's time zone; a member listed before their group got hours is deleted from it."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.support.memberships import as_driver, decide, given_active, given_connection, given_organization
from tests.support.stations import (
    as_station_admin,
    entries_of,
    given_auto_member,
    given_card,
    given_open_connection,
    given_policy,
    given_station,
    given_synced_station,
    list_payload,
    parse_time,
    settle,
)

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ZONE = "America/New_York"


def today(zone: str = ZONE) -> str:
    return DAYS[datetime.now(UTC).astimezone(ZoneInfo(zone)).weekday()]


def tomorrow(zone: str = ZONE) -> str:
    return DAYS[(datetime.now(UTC).astimezone(ZoneInfo(zone)).weekday() + 1) % 7]


def all_day(day: str) -> list[dict]:
    return [{"days": [day], "start": "00:00", "end": "24:00"}]


def policy_with(organization: str, connection_ids: list[str], **rules) -> dict:
    return given_policy(organization, connection_ids, "Hours", rules)


def test_members_with_hours_are_answered_online_in_the_stations_time_zone(sync):
    # Given members of "Day shift" may charge today only (New York time), "Night shift" tomorrow only,
    # and "Staff" always
    organization = given_organization()
    day = given_open_connection(organization, "Day shift")
    night = given_open_connection(organization, "Night shift")
    staff = given_open_connection(organization, "Staff")
    given_auto_member(day, "dana", "DANA0001")
    given_auto_member(night, "nick", "NICK0001")
    given_auto_member(staff, "sam", "SAM00001")
    ids = [c["connection_id"] for c in (day, night, staff)]
    policy = policy_with(
        organization,
        ids,
        members={
            day["connection_id"]: {"hours": all_day(today())},
            night["connection_id"]: {"hours": all_day(tomorrow())},
        },
    )

    # When the station, in New York, syncs
    station = given_station(organization, "NY-1", policy["policy_id"], time_zone=ZONE)
    settle(sync, station)

    # Then only the member without hours is on its list
    assert station.statuses() == {"SAM00001": "Accepted"}
    # and Authorize answers the others by their hours, the open one only until the end of its day
    dana = station.authorize("DANA0001")
    assert dana["status"] == "Accepted"
    end = parse_time(dana["expiryDate"]).astimezone(ZoneInfo(ZONE))
    assert (end.hour, end.minute) == (0, 0) and end > datetime.now(UTC)
    assert station.authorize("NICK0001") == {"status": "Invalid"}
    assert station.authorize("SAM00001") == {"status": "Accepted"}
    # and the members with hours see their access as arrived: there is nothing to deliver
    answer = as_driver("GET", f"/me/memberships/{day['connection_id']}/stations", sub="dana")
    assert answer.body == {"stations": 1, "delivered": 1}


def test_a_listed_member_whose_connection_gets_hours_is_deleted_from_the_list(sync):
    # Given a member on the station's list
    organization = given_organization()
    staff = given_connection(organization, name="Staff")
    given_card("sam", "SAM00001")
    given_active(staff, "sam")
    policy = policy_with(organization, [staff["connection_id"]])
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"SAM00001": "Accepted"}

    # When the admin limits Staff to tomorrow
    changed = as_station_admin(
        "PATCH",
        f"/organizations/{organization}/policies/{policy['policy_id']}",
        body={"members": {staff["connection_id"]: {"hours": all_day(tomorrow("UTC"))}}},
    )
    assert changed.status == 200, changed.body
    accepted = settle(sync, station)

    # Then a Differential deletes the card from the list, and Authorize refuses it today
    (frame,) = accepted
    assert list_payload(frame)[0] == "Differential" and list_payload(frame)[2] == {"SAM00001": None}
    assert station.statuses() == {}
    assert entries_of(policy["policy_id"])["SAM00001"][0] == "Online"
    assert station.authorize("SAM00001") == {"status": "Invalid"}

    # When the hours are lifted again, the card is listed again
    as_station_admin(
        "PATCH",
        f"/organizations/{organization}/policies/{policy['policy_id']}",
        body={"members": {}},
    )
    settle(sync, station)
    assert station.statuses() == {"SAM00001": "Accepted"}


def test_when_everyone_may_charge_a_removed_member_is_not_blocked_but_asked_about_online(sync):
    # Given a station open to everyone today, and to members of Staff always
    organization = given_organization()
    staff = given_connection(organization, name="Staff")
    given_card("sam", "SAM00001")
    given_card("stranger", "STRANGE1")
    given_active(staff, "sam")
    policy = policy_with(organization, [staff["connection_id"]], everyone={"hours": all_day(today("UTC"))})
    station = given_synced_station(sync, organization, "CP-1", policy["policy_id"])
    assert station.statuses() == {"SAM00001": "Accepted"}

    # When Sam is removed from Staff
    assert decide(staff, "sam", "remove").status == 200
    settle(sync, station)

    # Then Sam's card leaves the list (not Blocked: like anyone else, Sam may charge at public hours)
    assert station.statuses() == {}
    assert station.authorize("SAM00001")["status"] == "Accepted"
    assert station.authorize("STRANGE1")["status"] == "Accepted"
    assert station.authorize("NOT-A-CARD") == {"status": "Invalid"}
