"""An access policy's rules for drivers, pure: hours of use in the station's time zone (day-of-week and
midnight boundaries), the best price, visibility, and every reason a driver may not charge, in words."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connections.memberships.state_machine import Membership, Status
from connections.stations.dialects import V16
from connections.stations.local_list import Entry, Send, StationList, TagStatus, UpdateType, access
from connections.stations.policy import (
    EVERYONE,
    ConnectionName,
    Group,
    Price,
    Reason,
    Rules,
    Window,
    best,
    decide,
    explain,
    is_open,
    opens_at,
    visible,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
EMPLOYEES, VISITORS = "employees", "visitors"
NAMES = {
    EMPLOYEES: ConnectionName("Employees", "Acme Corp", public=False),
    VISITORS: ConnectionName("Visitors", "Acme Corp", public=True),
}


def hours(*windows: tuple[list[str], str, str]) -> tuple[Window, ...]:
    return tuple(Window.parse({"days": d, "start": s, "end": e}) for d, s, e in windows)


def at(text: str, zone=BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


OFFICE = hours((WEEKDAYS, "08:00", "18:00"))
NIGHTS = hours((["fri"], "22:00", "06:00"))

# The issue's example: the public 08:00-18:00 on weekdays, employees always.
CAMPUS = Rules(
    (EMPLOYEES,),
    members={EMPLOYEES: Group(price=Price())},
    everyone=Group(OFFICE, Price("EUR", per_kwh=Decimal("0.45"))),
)


# --- Hours


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-23 07:59", False),  # Monday, before
        ("2026-11-23 08:00", True),  # the start is in
        ("2026-11-23 17:59", True),
        ("2026-11-23 18:00", False),  # the end is out
        ("2026-11-28 12:00", False),  # Saturday
    ],
)
def test_office_hours(moment, expected):
    assert is_open(OFFICE, at(moment)) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-27 21:59", False),  # Friday evening, before
        ("2026-11-27 22:00", True),
        ("2026-11-27 23:59", True),
        ("2026-11-28 00:00", True),  # across midnight into Saturday: the window started on Friday
        ("2026-11-28 05:59", True),
        ("2026-11-28 06:00", False),
        ("2026-11-28 22:30", False),  # Saturday night is not a Friday night
        ("2026-11-27 03:00", False),  # Friday morning belongs to Thursday night, which is not listed
    ],
)
def test_a_window_across_midnight_belongs_to_the_day_it_starts(moment, expected):
    assert is_open(NIGHTS, at(moment)) is expected


def test_sunday_to_monday_wraps_around_the_week():
    sunday_night = hours((["sun"], "20:00", "02:00"))
    assert is_open(sunday_night, at("2026-11-30 01:00"))  # Monday 01:00
    assert not is_open(sunday_night, at("2026-11-24 01:00"))  # Tuesday 01:00


def test_a_whole_day_ends_at_24_00():
    saturday = hours((["sat"], "00:00", "24:00"))
    assert is_open(saturday, at("2026-11-28 23:59"))
    assert not is_open(saturday, at("2026-11-29 00:00"))


def test_no_hours_means_always():
    assert is_open(None, at("2026-11-29 03:00"))


def test_hours_are_the_stations_local_time():
    # 07:30 UTC on a November Monday is 08:30 in Berlin (UTC+1) but 02:30 in New York
    moment = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert is_open(OFFICE, moment.astimezone(BERLIN))
    assert not is_open(OFFICE, moment.astimezone(ZoneInfo("America/New_York")))


def test_daylight_saving_time_keeps_local_hours():
    # 07:30 UTC is 09:30 in Berlin in summer (UTC+2) and 08:30 in winter
    summer = datetime(2026, 7, 6, 7, 30, tzinfo=UTC).astimezone(BERLIN)
    assert summer.hour == 9 and is_open(OFFICE, summer)


def test_the_next_opening_crosses_days_and_the_weekend():
    assert opens_at(OFFICE, at("2026-11-23 06:12")) == at("2026-11-23 08:00")
    assert opens_at(OFFICE, at("2026-11-23 18:30")) == at("2026-11-24 08:00")
    assert opens_at(OFFICE, at("2026-11-27 19:00")) == at("2026-11-30 08:00")  # Friday -> Monday


# --- Prices


def test_the_best_price_is_the_cheapest_for_a_reference_session():
    per_kwh = Price("EUR", per_kwh=Decimal("0.30"))  # 20 kWh: 6.00
    per_hour = Price("EUR", per_hour=Decimal("2.50"))  # 2 h: 5.00
    fee = Price("EUR", session_fee=Decimal("7"))
    assert best([per_kwh, per_hour, fee]) == per_hour
    assert best([per_kwh, Price(), None]) == Price()  # free wins
    assert best([None, None]) is None


def test_prices_in_words():
    assert Price().words() == "free"
    assert Price("EUR", per_kwh=Decimal("0.30"), session_fee=Decimal("1.00")).words() == (
        "0.30 EUR per kWh + 1.00 EUR per session"
    )


def test_rules_survive_storage():
    stored = CAMPUS.stored()
    assert Rules.parse(CAMPUS.connection_ids, stored, None) == CAMPUS


# --- Visibility


def test_a_station_visible_to_some_connections_is_visible_to_their_active_members_only():
    hidden = Rules((EMPLOYEES,), visible_to=frozenset({EMPLOYEES}))
    assert visible(hidden, {EMPLOYEES})
    assert not visible(hidden, set())
    assert not visible(hidden, {VISITORS})
    assert visible(Rules((EMPLOYEES,)), set())  # visible to everyone by default
    assert visible(None, set())  # no policy


# --- Decisions and reasons


def test_the_issue_example_employees_always_the_public_on_weekdays():
    # An employee at 06:00 on Sunday may charge, free
    employee = decide(CAMPUS, {EMPLOYEES: Status.ACTIVE}, True, at("2026-11-29 06:00"))
    assert employee.allowed and employee.price == Price() and employee.until is None
    # A stranger may charge on Monday at noon at the public price, until 18:00
    stranger = decide(CAMPUS, {}, True, at("2026-11-23 12:00"))
    assert stranger.allowed and stranger.price.per_kwh == Decimal("0.45")
    assert stranger.until == at("2026-11-23 18:00")
    # but not on Sunday
    sunday = decide(CAMPUS, {}, True, at("2026-11-29 12:00"))
    assert (sunday.reason, sunday.ocpp, sunday.ocpp16) == (Reason.CLOSED_NOW, "NotAtThisTime", "Invalid")
    assert sunday.opening_group == EVERYONE and sunday.opens_at == at("2026-11-30 08:00")
    assert explain(sunday, NAMES) == "Everyone may charge here from Monday 08:00; it is Sunday 12:00."


def test_members_closed_now_are_told_when_they_may_charge():
    early = Rules((EMPLOYEES,), members={EMPLOYEES: Group(hours((WEEKDAYS, "07:00", "19:00")))})
    decision = decide(early, {EMPLOYEES: Status.ACTIVE}, True, at("2026-11-23 06:12"))
    assert decision.reason is Reason.CLOSED_NOW
    assert explain(decision, NAMES) == "Members may charge here from 07:00; it is 06:12."


def test_a_driver_in_two_groups_gets_the_open_one_at_the_better_price():
    rules = Rules(
        (EMPLOYEES, VISITORS),
        members={
            EMPLOYEES: Group(OFFICE, Price("EUR", per_kwh=Decimal("0.10"))),
            VISITORS: Group(None, Price("EUR", per_kwh=Decimal("0.40"))),
        },
    )
    both = {EMPLOYEES: Status.ACTIVE, VISITORS: Status.ACTIVE}
    assert decide(rules, both, True, at("2026-11-23 12:00")).price.per_kwh == Decimal("0.10")
    # at night only Visitors is open: its price applies
    assert decide(rules, both, True, at("2026-11-23 23:00")).price.per_kwh == Decimal("0.40")


@pytest.mark.parametrize(
    ("memberships", "reason", "ocpp", "message"),
    [
        (
            {},
            Reason.MEMBERS_ONLY,
            "NotAtThisLocation",
            "This station is reserved for members of Employees at Acme Corp."
            " Ask Acme Corp for their connection code.",
        ),
        (
            {EMPLOYEES: Status.PENDING},
            Reason.REQUEST_PENDING,
            "NotAtThisLocation",
            "Your request to Employees is still pending. Acme Corp has not decided yet.",
        ),
        (
            {EMPLOYEES: Status.EXPIRED},
            Reason.MEMBERSHIP_EXPIRED,
            "Expired",
            "Your membership of Employees at Acme Corp has expired. Confirm it again in the app.",
        ),
        (
            {EMPLOYEES: Status.REMOVED},
            Reason.MEMBERSHIP_REMOVED,
            "Blocked",
            "Acme Corp ended your membership of Employees. Ask Acme Corp if you think this is a mistake.",
        ),
        (
            {EMPLOYEES: Status.DENIED},
            Reason.MEMBERS_ONLY,
            "NotAtThisLocation",
            "This station is reserved for members of Employees at Acme Corp."
            " Ask Acme Corp for their connection code.",
        ),
    ],
)
def test_every_reason_a_member_only_station_refuses(memberships, reason, ocpp, message):
    decision = decide(Rules((EMPLOYEES,)), memberships, True, at("2026-11-23 12:00"))
    assert (decision.allowed, decision.reason, decision.ocpp) == (False, reason, ocpp)
    assert explain(decision, NAMES) == message


def test_a_public_connection_is_suggested_rather_than_a_code():
    decision = decide(Rules((EMPLOYEES, VISITORS)), {}, True, at("2026-11-23 12:00"))
    assert explain(decision, NAMES) == (
        "This station is reserved for members of Employees or Visitors at Acme Corp."
        " Ask to join Visitors in the app."
    )


def test_a_driver_without_a_card_is_told_to_register_it():
    decision = decide(Rules((EMPLOYEES,)), {EMPLOYEES: Status.ACTIVE}, False, at("2026-11-23 12:00"))
    assert (decision.reason, decision.ocpp, decision.ocpp16) == (Reason.NO_CARD, "Unknown", "Invalid")
    assert decision.open_now and not decision.allowed
    assert explain(decision, NAMES).startswith("Your card is not registered.")
    assert decide(None, {}, False, at("2026-11-23 12:00")).reason is Reason.NO_CARD


def test_a_station_without_a_policy_takes_every_card():
    decision = decide(None, {}, True, at("2026-11-23 12:00"))
    assert decision.allowed and decision.price is None
    assert explain(decision, NAMES) == "You may charge here now."


def test_the_allowed_message_says_the_price():
    decision = decide(CAMPUS, {}, True, at("2026-11-23 12:00"))
    assert explain(decision, NAMES) == "You may charge here now. Price: 0.45 EUR per kWh."


# --- What the stations' lists hold under hours of use


ACTIVE = Membership(Status.ACTIVE)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_members_with_hours_and_everyone_else_are_left_to_online_authorization():
    # A member of a connection with hours cannot be listed Accepted: a list has no hours
    assert access([(EMPLOYEES, ACTIVE)], {EMPLOYEES}, NOW, limited={EMPLOYEES}).status is TagStatus.ONLINE
    # unless another connection lets them in at all hours
    both = [(EMPLOYEES, ACTIVE), (VISITORS, ACTIVE)]
    assert access(both, {EMPLOYEES, VISITORS}, NOW, limited={EMPLOYEES}).status is TagStatus.ACCEPTED
    # When everyone else may charge (at some hours), a former member is asked about online, not Blocked
    removed = [(EMPLOYEES, Membership(Status.REMOVED))]
    assert access(removed, {EMPLOYEES}, NOW, everyone=True).status is TagStatus.ONLINE
    assert access(removed, {EMPLOYEES}, NOW).status is TagStatus.BLOCKED


def test_an_entry_left_to_online_authorization_is_deleted_by_a_differential_and_left_out_of_a_full():
    entries = [Entry("A", TagStatus.ACCEPTED, None, 1), Entry("B", TagStatus.ONLINE, None, 2)]
    differential = Send(UpdateType.DIFFERENTIAL, 2, entries, StationList())
    assert V16.send_local_list(differential)["localAuthorizationList"] == [
        {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "B"},
    ]
    full = Send(UpdateType.FULL, 1, entries, StationList())
    assert V16.send_local_list(full)["localAuthorizationList"] == [
        {"idTag": "A", "idTagInfo": {"status": "Accepted"}}
    ]
