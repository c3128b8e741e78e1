"""The pure rules of sessions: reading what chargers report (sessions.recording), the price that applies
and what a session costs (sessions.pricing)."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connections.memberships.state_machine import Status
from connections.sessions import pricing, recording
from connections.sessions.items import NO_START, UNKNOWN_CARD, SessionItem
from connections.sessions.recording import (
    END,
    START,
    UPDATE,
    Card,
    Report,
    Unreadable,
    merge,
    report_16,
    report_201,
)
from connections.stations import calls, ocpp
from connections.stations.policy import Group, Price, Rules, Window

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
EUR = Price("EUR", per_kwh=Decimal("0.30"))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- Cost


@pytest.mark.parametrize(
    ("price", "wh", "minutes", "cost"),
    [
        (None, 12_345, 60, "0"),  # no price: free
        (Price("EUR"), 12_345, 60, "0"),  # a price of nothing: free
        (Price("EUR", per_kwh=Decimal("0.30")), 10_000, 60, "3.00"),
        (Price("EUR", per_kwh=Decimal("0.345")), 1_001, 5, "0.35"),  # 0.345345 rounds half up once
        (Price("EUR", per_kwh=Decimal("0.345")), 1_000, 5, "0.35"),  # 0.345 exactly: half up
        (Price("EUR", per_kwh=Decimal("0.3449")), 1_000, 5, "0.34"),
        (Price("EUR", session_fee=Decimal("1.50")), 0, 0, "1.50"),
        (Price("EUR", per_hour=Decimal("2")), 0, 90, "3.00"),  # hours from the duration
        (Price("EUR", per_hour=Decimal("1")), 0, 20, "0.33"),  # a third of an hour
        (Price("JPY", per_kwh=Decimal("35.5")), 7_300, 60, "259"),  # 259.15: no minor unit in yen
        (Price("JPY", session_fee=Decimal("100"), per_kwh=Decimal("30")), 16_650, 0, "600"),  # 599.5 up
        (Price("BHD", per_kwh=Decimal("0.0505")), 3_333, 0, "0.168"),  # three decimals
        (Price("EUR", Decimal("0.30"), Decimal("1.20"), Decimal("0.50")), 20_500, 75, "8.15"),
    ],
)
def test_a_cost_is_the_fee_plus_energy_plus_time_rounded_once_to_the_minor_unit(price, wh, minutes, cost):
    assert str(pricing.cost(price, wh, T0, at(minutes))) == cost


def test_rounding_happens_once_at_the_end_not_per_part():
    # Each part alone would round to 0.00 (0.004 + 0.004); together they make 0.01
    price = Price("EUR", per_kwh=Decimal("0.004"), per_hour=Decimal("0.004"))
    assert str(pricing.cost(price, 1000, T0, at(60))) == "0.01"


def test_a_session_ending_before_it_started_by_the_chargers_clock_lasts_no_time():
    assert str(pricing.cost(Price("EUR", per_hour=Decimal("3")), 0, at(10), T0)) == "0.00"


# --- The price that applies: the map's decision


def test_a_session_let_in_while_closed_is_priced_at_the_drivers_best_group_and_says_whose():
    staff = "conn-staff"
    evenings = (Window(frozenset(range(7)), 18 * 60, 22 * 60),)
    rules = Rules(
        (staff,),
        {staff: Group(hours=evenings, price=Price("EUR", per_kwh=Decimal("0.10")))},
        everyone=Group(hours=evenings, price=Price("EUR", per_kwh=Decimal("0.45"))),
    )
    morning = pricing.applied(rules, {staff: Status.ACTIVE}, {staff: "Staff"}, T0)  # 08:00: all closed

    assert (morning.group_connection_id, morning.group_name) == (staff, "Staff")
    assert morning.price == Price("EUR", per_kwh=Decimal("0.10"))
    assert morning.everyone == Price("EUR", per_kwh=Decimal("0.45"))


def test_the_price_is_the_best_of_the_drivers_open_groups_or_everyones_as_on_the_map():
    staff, guests = "conn-staff", "conn-guests"
    evenings = (Window(frozenset(range(7)), 18 * 60, 22 * 60),)
    rules = Rules(
        (staff, guests),
        {
            staff: Group(price=Price("EUR", per_kwh=Decimal("0.10"))),
            guests: Group(hours=evenings, price=Price()),
        },
        everyone=Group(price=Price("EUR", per_kwh=Decimal("0.45"))),
    )
    names = {staff: "Staff", guests: "Guests"}
    both = {staff: Status.ACTIVE, guests: Status.ACTIVE}

    morning = pricing.applied(rules, both, names, T0)
    evening = pricing.applied(rules, both, names, T0.replace(hour=19))
    stranger = pricing.applied(rules, {}, names, T0)
    lapsed = pricing.applied(rules, {staff: Status.EXPIRED}, names, T0)

    assert (morning.group_connection_id, morning.group_name, morning.price) == (
        staff,
        "Staff",
        rules.members[staff].price,
    )
    assert (evening.group_connection_id, evening.price) == (guests, Price())  # free beats 0.10
    assert morning.everyone == evening.everyone == Price("EUR", per_kwh=Decimal("0.45"))
    for outsider in (stranger, lapsed):
        assert (outsider.group_connection_id, outsider.price) == (None, Price("EUR", per_kwh=Decimal("0.45")))


def test_a_station_without_a_policy_or_a_price_is_free_and_members_only_has_no_everyone_price():
    assert pricing.applied(None, {}, {}, T0) == pricing.Applied(None, None)
    members_only = Rules(("c",), {"c": Group(price=EUR)})
    assert pricing.applied(members_only, {"c": Status.ACTIVE}, {"c": "Fleet"}, T0) == pricing.Applied(
        EUR, None, "c", "Fleet"
    )


# --- Reading what chargers report


def test_16_messages_read_as_reports_with_energy_in_wh():
    start = report_16(
        "StartTransaction",
        {"connectorId": 2, "idTag": "T1", "meterStart": 100, "timestamp": "2026-03-02T08:00:00Z"},
    )
    meter = report_16(
        "MeterValues",
        {
            "connectorId": 2,
            "transactionId": 7,
            "meterValue": [
                {
                    "timestamp": "2026-03-02T08:30:00Z",
                    "sampledValue": [
                        {"value": "1.5", "unit": "kWh"},
                        {"value": "230", "measurand": "Voltage", "unit": "V"},
                        {"value": "500", "phase": "L1"},
                    ],
                }
            ],
        },
    )
    no_transaction = report_16("MeterValues", {"connectorId": 1, "meterValue": []})
    stop = report_16(
        "StopTransaction", {"transactionId": 7, "meterStop": 2100, "timestamp": "2026-03-02T09:00:00Z"}
    )
    assert (start.event, start.transaction_id, start.connector_id, start.meter_start_wh) == (
        START,
        None,
        2,
        100,
    )
    assert (meter.event, meter.transaction_id, meter.readings) == (UPDATE, "7", ((at(30), 1500),))
    assert no_transaction is None
    assert (stop.event, stop.meter_stop_wh, stop.stop_reason, stop.id_tag) == (END, 2100, "Local", None)


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    [
        ("1.6", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": []}),
        ("1.6", "StopTransaction", {"transactionId": 7, "meterStop": 5, "timestamp": "2026-03-02T09:00:00Z"}),
        (
            "2.0.1",
            "TransactionEvent",
            {
                "eventType": "Updated",
                "timestamp": "2026-03-02T09:00:00Z",
                "triggerReason": "MeterValuePeriodic",
                "seqNo": 1,
                "transactionInfo": {"transactionId": "tx-1"},
            },
        ),
        (
            "1.6",
            "StartTransaction",
            {"connectorId": 1, "idTag": "T1", "meterStart": 0, "timestamp": "2026-03-02T09:00:00Z"},
        ),
        ("1.6", "MeterValues", {"connectorId": 1, "meterValue": []}),  # outside a transaction
    ],
)
def test_the_transaction_a_message_names_before_its_version_is_known_is_the_one_its_report_reads(
    version, action, payload
):
    # The session read with the station's item (calls.reads) is the one the message is recorded in
    read = recording.report(version, action, payload)
    named = recording.named_transaction
    assert named(action, payload) == (read.transaction_id if read else None)
    assert named("Heartbeat", {}) is None and named(action, "not a payload") is None


def test_a_message_reads_its_card_and_a_starts_earlier_self_and_counter_with_its_station():
    # What admit and a 1.6 start look up is read in the message's first call (calls.reads), whatever the
    # version: the card (upper case, as stored), the start item and counter
    def reads(action: str, payload: object) -> list[tuple[str, str]]:
        return [(k.pk, k.sk) for k in calls.reads("CP-1", ocpp.Frame(ocpp.CALL, "u1", action, payload))]

    start = {"connectorId": 1, "idTag": "tag-1", "meterStart": 5, "timestamp": "2026-03-02T08:00:00Z"}
    assert reads("StartTransaction", start) == [
        ("CARD#TAG-1", "CARD"),
        ("STATION#CP-1", "START#1#tag-1#2026-03-02T08:00:00+00:00#5"),
        ("STATION#CP-1", "TRANSACTIONS"),
    ]
    assert reads("StopTransaction", {"transactionId": 7, "idTag": "TAG-1"}) == [
        ("STATION#CP-1", "SESSION#7"),
        ("CARD#TAG-1", "CARD"),
    ]
    event = {"transactionInfo": {"transactionId": "tx"}, "idToken": {"idToken": "A" * 36, "type": "ISO14443"}}
    assert reads("TransactionEvent", event) == [("STATION#CP-1", "SESSION#tx"), (f"CARD#{'A' * 36}", "CARD")]
    assert reads("Authorize", {"idToken": {"idToken": "tag-2", "type": "ISO14443"}}) == [
        ("CARD#TAG-2", "CARD")
    ]
    # nothing for a card too long for either version, a start that cannot be read, or chatter
    assert reads("Authorize", {"idTag": "A" * 37}) == []
    assert reads("StartTransaction", {**start, "timestamp": "yesterday"}) == [("CARD#TAG-1", "CARD")]
    assert reads("Heartbeat", {}) == reads("DataTransfer", {"idTag": "TAG-1"}) == []


def test_201_events_read_as_reports_with_the_unit_of_measure_and_multiplier():
    event = report_201(
        {
            "eventType": "Ended",
            "timestamp": "2026-03-02T09:00:00Z",
            "triggerReason": "EVCommunicationLost",
            "seqNo": 4,
            "offline": True,
            "transactionInfo": {
                "transactionId": "tx-1",
                "stoppedReason": "EVDisconnected",
                "chargingState": "Idle",
            },
            "idToken": {"idToken": "T1", "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [
                {
                    "timestamp": "2026-03-02T09:00:00Z",
                    "sampledValue": [{"value": 2.4, "unitOfMeasure": {"unit": "kWh"}}],
                },
                {
                    "timestamp": "2026-03-02T08:59:00Z",
                    "sampledValue": [{"value": 23, "unitOfMeasure": {"multiplier": 2}}],
                },
            ],
        }
    )
    assert (event.event, event.transaction_id, event.seq_no, event.offline) == (END, "tx-1", 4, True)
    assert event.readings == ((at(59), 2300), (at(60), 2400)) and event.meter_stop_wh == 2400
    assert (event.stop_reason, event.charging_state, event.evse_id, event.id_token_type) == (
        "EVDisconnected",
        "Idle",
        1,
        "ISO14443",
    )


# --- Merging: the same session whatever the order and repeats

MEMBER = Card("online", "driver-a", pricing.Applied(EUR, Price("EUR", per_kwh=Decimal("0.45")), "c", "Fleet"))


def session() -> SessionItem:
    return SessionItem("STATION#CP", "SESSION#tx", station_id="CP", organization_id="o", transaction_id="tx")


def events() -> list[tuple[Report, Card | None]]:
    return [
        (
            Report(
                "tx",
                START,
                T0,
                evse_id=1,
                connector_id=1,
                id_tag="T1",
                readings=((T0, 1000),),
                meter_start_wh=1000,
                seq_no=0,
            ),
            MEMBER,
        ),
        (Report("tx", UPDATE, at(20), readings=((at(20), 4000),), seq_no=1, charging_state="Charging"), None),
        (
            Report("tx", UPDATE, at(40), readings=((at(40), 8000),), seq_no=2, charging_state="SuspendedEV"),
            None,
        ),
        (
            Report(
                "tx",
                END,
                at(60),
                id_tag="T1",
                readings=((at(60), 11000),),
                meter_stop_wh=11000,
                stop_reason="Local",
                seq_no=3,
            ),
            MEMBER,
        ),
    ]


def outcome(item: SessionItem) -> dict:
    fields = (
        "status",
        "started_at",
        "ended_at",
        "energy_wh",
        "meter_last_wh",
        "cost",
        "everyone_cost",
        "flags",
    )
    return {name: getattr(item, name) for name in fields} | {"group": item.group_connection_id}


def test_a_session_comes_out_the_same_whatever_the_order_and_repeats():
    expected = None
    for order in itertools.permutations(events()):
        for repeated in (order, order + order[:2], order[::-1] + order):
            item = session()
            for report, card in repeated:
                merge(item, report, card)
            expected = expected or outcome(item)
            assert outcome(item) == expected, order
    assert expected == {
        "status": "ended",
        "started_at": T0,
        "ended_at": at(60),
        "energy_wh": 10_000,
        "meter_last_wh": 11_000,
        "cost": "3.00",
        "everyone_cost": "4.50",
        "flags": [],
        "group": "c",
    }


def test_a_repeated_event_changes_nothing_and_says_so():
    item = session()
    start = events()[0]
    assert merge(item, *start) is True
    assert merge(item, *start) is False


def test_an_ended_session_is_not_rewritten_by_older_or_later_readings():
    item = session()
    for report, card in events():
        merge(item, report, card)
    late = Report("tx", UPDATE, at(90), readings=((at(90), 99_000),))  # 1.6 MeterValues carry no seqNo
    older = Report("tx", UPDATE, at(30), readings=((at(30), 5000),))
    again = Report("tx", END, at(120), meter_stop_wh=50_000, stop_reason="Other")
    for report in (late, older, again):
        assert merge(item, report, None) is False
    assert (item.ended_at, item.energy_wh, item.stop_reason, item.cost) == (at(60), 10_000, "Local", "3.00")


def test_a_stop_without_its_start_is_flagged_and_priced_at_its_end_until_the_start_comes():
    item = session()
    stop = Report(
        "tx", END, at(60), id_tag="T1", readings=((at(0), 1000), (at(60), 3000)), meter_stop_wh=3000
    )
    merge(item, stop, MEMBER)
    assert (item.flags, item.energy_wh, item.cost) == ([NO_START], 2000, "0.60")  # no duration known

    merge(item, Report("tx", START, T0, id_tag="T1", meter_start_wh=500), MEMBER)
    assert (item.flags, item.energy_wh, item.started_at, item.cost) == ([], 2500, T0, "0.75")


def test_an_unknown_card_accepted_offline_is_recorded_and_flagged():
    item = session()
    stranger = Card(
        "offline", None, pricing.Applied(Price("EUR", per_kwh=Decimal("0.45")), None), (UNKNOWN_CARD,)
    )
    merge(item, Report("tx", START, T0, id_tag="NOBODY", meter_start_wh=0), stranger)
    merge(item, Report("tx", END, at(60), meter_stop_wh=2000), None)
    assert (item.authorized_by, item.driver_id, item.flags, item.cost) == (
        "offline",
        None,
        [UNKNOWN_CARD],
        "0.90",
    )


def test_a_free_session_costs_zero():
    item = session()
    free = Card("local_list", "driver-a", pricing.Applied(None, None))
    merge(item, Report("tx", START, T0, id_tag="T1", meter_start_wh=0), free)
    merge(item, Report("tx", END, at(60), meter_stop_wh=7000), None)
    assert (item.cost, item.everyone_cost, item.price, item.authorized_by) == ("0", None, None, "local_list")


def test_a_chargers_time_is_kept_in_utc_and_one_without_an_offset_is_unreadable():
    event = {
        "eventType": "Started",
        "timestamp": "2026-03-02T10:00:00+02:00",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1"},
    }
    at = report_201(event).at
    assert (at, at.tzinfo) == (T0, UTC)  # 08:00 UTC, as every stored time and index key
    with pytest.raises(Unreadable):
        recording.report("2.0.1", "TransactionEvent", {**event, "timestamp": "2026-03-02T10:00:00"})


@pytest.mark.parametrize("transaction_id", [42, "", "x" * 37])
def test_a_201_transaction_id_other_than_a_short_string_is_unreadable(transaction_id):
    event = {
        "eventType": "Started",
        "timestamp": "2026-03-02T08:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id},
    }
    with pytest.raises(Unreadable):
        recording.report("2.0.1", "TransactionEvent", event)
