"""The OCPP dialects: one planned list message or online answer, in 1.6 or 2.0.1 words, each valid against
the `ocpp` package's schemas for its version; and messages cut to a station's BytesPerMessage."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from jsonschema import FormatChecker
from ocpp.messages import MessageType, get_validator

from connections.stations import ocpp
from connections.stations.dialects import V16, V201, dialect
from connections.stations.local_list import (
    Entry,
    Send,
    StationList,
    TagStatus,
    TooLarge,
    UpdateType,
    message,
    need,
    within_bytes,
)

EXPIRY = datetime(2027, 1, 1, tzinfo=UTC)
LONG = "A" * 36  # a 2.0.1 idToken at its longest: more than a 1.6 idTag may be


def valid(version: str, action: str, payload: dict, kind=MessageType.Call) -> dict:
    get_validator(kind, action, version).evolve(format_checker=FormatChecker()).validate(payload)
    return payload


def entries() -> list[Entry]:
    return [
        Entry("CARD1", TagStatus.ACCEPTED, EXPIRY, 1),
        Entry("KEY-7", TagStatus.BLOCKED, None, 2, "KeyCode"),
        Entry(LONG, TagStatus.ACCEPTED, None, 3, "eMAID"),
        Entry("GONE", TagStatus.ONLINE, None, 4),
    ]


def test_a_differential_in_ocpp_16_words_leaves_out_a_card_longer_than_an_id_tag():
    send = Send(UpdateType.DIFFERENTIAL, 7, entries(), StationList(), deleted=("OLD1",))
    assert valid("1.6", "SendLocalList", V16.send_local_list(send)) == {
        "listVersion": 7,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "CARD1", "idTagInfo": {"status": "Accepted", "expiryDate": "2027-01-01T00:00:00Z"}},
            {"idTag": "KEY-7", "idTagInfo": {"status": "Blocked"}},
            {"idTag": "GONE"},
            {"idTag": "OLD1"},
        ],
    }


def test_a_card_deleted_from_a_201_list_is_named_with_its_own_type():
    send = Send(UpdateType.DIFFERENTIAL, 7, [], StationList(), ("OLD1", "KEY-9"), ("eMAID", "KeyCode"))
    assert valid("2.0.1", "SendLocalList", V201.send_local_list(send))["localAuthorizationList"] == [
        {"idToken": {"idToken": "OLD1", "type": "eMAID"}},
        {"idToken": {"idToken": "KEY-9", "type": "KeyCode"}},
    ]


def test_a_differential_in_ocpp_201_words_carries_each_cards_type():
    send = Send(UpdateType.DIFFERENTIAL, 7, entries(), StationList(), deleted=("OLD1",))
    assert valid("2.0.1", "SendLocalList", V201.send_local_list(send)) == {
        "versionNumber": 7,
        "updateType": "Differential",
        "localAuthorizationList": [
            {
                "idToken": {"idToken": "CARD1", "type": "ISO14443"},
                "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": "2027-01-01T00:00:00Z"},
            },
            {"idToken": {"idToken": "KEY-7", "type": "KeyCode"}, "idTokenInfo": {"status": "Blocked"}},
            {"idToken": {"idToken": LONG, "type": "eMAID"}, "idTokenInfo": {"status": "Accepted"}},
            {"idToken": {"idToken": "GONE", "type": "ISO14443"}},
            {"idToken": {"idToken": "OLD1", "type": "ISO14443"}},
        ],
    }


def test_a_full_leaves_out_the_cards_asked_about_online_in_both_versions():
    send = Send(UpdateType.FULL, 1, entries(), StationList())
    assert [
        e["idTag"] for e in valid("1.6", "SendLocalList", V16.send_local_list(send))["localAuthorizationList"]
    ] == [
        "CARD1",
        "KEY-7",
    ]
    listed = valid("2.0.1", "SendLocalList", V201.send_local_list(send))["localAuthorizationList"]
    assert [e["idToken"]["idToken"] for e in listed] == ["CARD1", "KEY-7", LONG]


def test_the_list_version_is_read_in_each_versions_words():
    assert V16.list_version({"listVersion": 4}) == 4
    assert V201.list_version({"versionNumber": 4}) == 4
    assert V16.list_version({"versionNumber": 4}) is None
    assert dialect("2.0.1") is V201 and dialect("1.6") is V16 and dialect(None) is V16


def test_a_refusal_online_says_why_on_a_201_charger_and_what_16_can_say():
    sentence = "This station is reserved for members of Employees at Acme Corp. " + "x" * 600
    info = V201.id_token_info("NotAtThisLocation", None, sentence)
    valid("2.0.1", "Authorize", {"idTokenInfo": info}, MessageType.CallResult)
    assert info["status"] == "NotAtThisLocation"
    assert info["personalMessage"] == {"format": "UTF8", "language": "en", "content": sentence[:512]}
    assert V16.id_token_info("NotAtThisLocation", None, sentence) == {"status": "Invalid"}
    assert V16.id_token_info("NotAtThisTime", None, sentence) == {"status": "Invalid"}
    assert V16.id_token_info("Expired", None, sentence) == {"status": "Expired"}


def test_an_acceptance_online_carries_until_when_in_each_versions_words():
    assert V16.id_token_info("Accepted", EXPIRY, None) == {
        "status": "Accepted",
        "expiryDate": "2027-01-01T00:00:00Z",
    }
    assert V201.id_token_info("Accepted", EXPIRY, None) == {
        "status": "Accepted",
        "cacheExpiryDateTime": "2027-01-01T00:00:00Z",
    }


# --- BytesPerMessage


def cards(count: int, length: int = 8) -> list[Entry]:
    return [Entry(f"{s:0{length}d}", TagStatus.ACCEPTED, None, s) for s in range(count, 0, -1)]


def framed_size(send: Send) -> int:
    return ocpp.size(ocpp.call("SendLocalList", V201.send_local_list(send))[1])


def planner(listed: list[Entry], station: StationList):
    """Plan the station's Full from `listed` (newest first, as read) with `chunk` entries a message."""

    def plan(chunk: int) -> Send | None:
        state = replace(station, chunk=chunk)
        wanted = need(state, listed[0].seq)
        return message(state, wanted, listed[: wanted.limit + 1], listed[0].seq)

    return plan


@pytest.mark.parametrize("limit", [220, 400, 1000, 5000])
def test_a_message_holds_as_many_entries_as_fit_the_stations_bytes(limit):
    plan = planner(cards(30), StationList(chunk=25))
    send = within_bytes(plan, 25, lambda s: framed_size(s) <= limit)
    assert isinstance(send, Send) and send.update_type is UpdateType.FULL
    assert framed_size(send) <= limit
    # and one entry more would not have fitted, unless the station's ItemsPerMessage stopped it first
    bigger = plan(len(send.entries) + 1)
    assert len(send.entries) == 25 or (bigger is not None and framed_size(bigger) > limit)
    assert send.then.full_below == send.entries[-1].seq  # the rest follows in Differentials


def test_an_entry_too_large_for_the_stations_bytes_is_refused_not_sent():
    plan = planner([Entry(LONG, TagStatus.ACCEPTED, EXPIRY, 1)], StationList(chunk=25))
    answer = within_bytes(plan, 25, lambda s: framed_size(s) <= 250)
    assert answer == TooLarge(LONG)


def test_nothing_to_send_is_nothing_whatever_the_bytes():
    station = StationList(needs_full=False, held_seq=5, version=3)
    assert within_bytes(lambda chunk: message(station, need(station, 5), [], 5), 25, lambda s: False) is None


def test_an_empty_full_clears_a_station_in_both_versions_without_an_empty_201_list():
    empty = Send(UpdateType.FULL, 1, [], StationList())
    assert valid("1.6", "SendLocalList", V16.send_local_list(empty))["localAuthorizationList"] == []
    assert valid("2.0.1", "SendLocalList", V201.send_local_list(empty)) == {
        "versionNumber": 1,
        "updateType": "Full",
    }
