"""Finding a connection by its code, and the limit on codes that match nothing (no guessing codes)."""

import pytest

from connections.memberships import tries
from connections.memberships.items import LookupMissesItem
from connections.platform.errors import TooManyRequests
from connections.platform.table import batch_get
from tests.support.memberships import (
    admin_path,
    as_admin,
    as_driver,
    at_the_same_moment,
    given_connection,
    given_earlier_misses,
    given_organization,
    request_membership,
)

ADDRESS = "203.0.113.10"


def look_up(code: str, driver: str = "driver-1", source_ip: str = ADDRESS):
    return as_driver("GET", f"/connections/by-code/{code}", sub=driver, source_ip=source_ip)


# Codes that match nothing: well-formed ones and ones no code could ever be (both are misses).
WRONG_CODES = [
    "WRONG00001",
    "x",
    "WRONG00002",
    "$$$$$$$$",
    "WRONG00003",
    "A" * 21,
    "WRONG00004",
    "ab-cd",
    "WRONG5",
    "-",
]


def miss(times: int, driver: str = "driver-1", source_ip: str = ADDRESS) -> None:
    for i in range(times):
        answer = look_up(WRONG_CODES[i % len(WRONG_CODES)], driver, source_ip)
        assert answer.status == 404, answer.body


def test_a_code_finds_its_connection_whatever_the_case_and_dashes():
    # Given
    connection = given_connection(given_organization(), code="NIGHTSHIFT7", description="Depot chargers")

    # When
    answers = [look_up("NIGHTSHIFT7"), look_up("nightshift7"), look_up("Night-Shift-7")]

    # Then
    assert [a.status for a in answers] == [200, 200, 200]
    found = answers[0].body
    assert all(a.body == found for a in answers)
    assert found["connection_id"] == connection["connection_id"]
    assert found["name"] == "Night shift" and found["description"] == "Depot chargers"
    assert found["public"] is False
    assert "code" not in found and "enabled" not in found


def test_a_code_with_a_space_as_a_url_carries_it_finds_its_connection_and_is_no_miss():
    # Given a connection with code ACME-2026 and nine earlier misses: one more miss would lock the driver out
    connection = given_connection(given_organization(), code="ACME-2026")
    given_earlier_misses(9, user="driver-1")

    # When the driver's app sends "acme 2026" (codes ignore spaces), percent-encoded as in any URL
    answer = look_up("acme%202026")

    # Then it finds the connection, and was not counted as a miss: the right code still answers
    assert answer.status == 200, answer.body
    assert answer.body["connection_id"] == connection["connection_id"]
    assert look_up("ACME-2026").status == 200


def test_a_disabled_connections_code_answers_exactly_like_a_code_that_does_not_exist():
    # Given
    connection = given_connection(given_organization(), code="DISABLED1")
    assert as_admin("PATCH", admin_path(connection), body={"enabled": False}).status == 200

    # When
    disabled = look_up("DISABLED1")
    unknown = look_up("NOSUCHCODE")

    # Then
    assert disabled.status == unknown.status == 404
    assert disabled.body == unknown.body
    assert disabled.body["error"] == "not_found"


def test_after_ten_misses_even_a_right_code_answers_429_with_retry_after_but_others_may_look_up():
    # Given: nine misses, malformed codes among them, still let a right code through
    given_connection(given_organization(), code="RIGHTCODE1")
    miss(9)
    assert look_up("rightcode1").status == 200
    miss(1)

    # When
    blocked = look_up("RIGHTCODE1")

    # Then
    assert blocked.status == 429
    assert blocked.error == "too_many_requests"
    retry_after = blocked.headers["retry-after"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 15 * 60
    assert retry_after in blocked.body["message"]
    assert look_up("WRONG99999").status == 429
    assert look_up("RIGHTCODE1", driver="driver-2").status == 200


def test_a_wrong_or_missing_code_in_a_request_for_a_private_connection_counts_as_a_miss():
    # Given: eight earlier misses, then a request with a wrong code and one without a code
    connection = given_connection(given_organization(), code="PRIVATE01")
    given_earlier_misses(8, user="driver-1")
    assert request_membership(connection, code="WRONG00001", source_ip=ADDRESS).status == 404
    assert look_up("PRIVATE01").status == 200
    assert request_membership(connection, body={"answers": {}}, source_ip=ADDRESS).status == 404

    # When
    lookup = look_up("PRIVATE01")
    request = request_membership(connection, code="PRIVATE01", source_ip=ADDRESS)

    # Then
    assert lookup.status == 429
    assert request.status == 429
    assert int(request.headers["retry-after"]) > 0


def test_one_address_is_limited_to_a_hundred_misses_across_many_users():
    # Given: 95 misses from people behind one address (a NAT), then four more from four other people
    given_connection(given_organization(), code="RIGHTCODE1")
    given_earlier_misses(95, address=ADDRESS)
    for person in range(4):
        miss(1, driver=f"nat-user-{person}")
    assert look_up("RIGHTCODE1", driver="nat-newcomer").status == 200

    # When: a fifth person misses once, the hundredth miss of the address
    miss(1, driver="nat-user-4")

    # Then
    newcomer = look_up("RIGHTCODE1", driver="nat-newcomer")
    assert newcomer.status == 429
    assert int(newcomer.headers["retry-after"]) > 0
    assert look_up("RIGHTCODE1", driver="nat-newcomer", source_ip="198.51.100.99").status == 200


def test_a_burst_of_lookups_sent_at_once_cannot_try_more_codes_than_the_limit_allows():
    # Given nine misses: one more code may be tried
    given_earlier_misses(9, user="driver-1")

    # When twenty wrong codes are sent at the same moment
    answers = at_the_same_moment(*[lambda n=n: look_up(f"WRONG{n:05d}") for n in range(20)])

    # Then at most one was tried; every other one answers 429, which says nothing about its code
    statuses = [a.status for a in answers]
    assert statuses.count(404) <= 1 and statuses.count(429) >= 19, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)


def test_a_burst_of_requests_with_codes_sent_at_once_cannot_try_more_codes_than_the_limit_allows():
    # Given a private connection, and nine misses: one more code may be tried
    connection = given_connection(given_organization(), code="PRIVATE01")
    given_earlier_misses(9, user="driver-1")

    # When nineteen wrong codes and the right one are sent at the same moment
    codes = [f"WRONG{n:05d}" for n in range(19)] + ["PRIVATE01"]
    answers = at_the_same_moment(
        *[lambda code=code: request_membership(connection, code=code, source_ip=ADDRESS) for code in codes]
    )

    # Then at most one more wrong code was tried; every other one answers 429, and so does the right code
    # unless it was tried, so a 429 says nothing about a code
    statuses = [a.status for a in answers]
    wrong, right = statuses[:19], statuses[19]
    assert wrong.count(404) <= 1 and wrong.count(429) >= 18, statuses
    assert right in (201, 429), statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)


def test_many_people_behind_one_address_may_use_the_right_code_at_the_same_moment():
    # Given a private connection whose code was just announced to twenty colleagues behind one NAT
    connection = given_connection(given_organization(), code="ALLHANDS1")

    # When they all look it up and request it at the same moment
    lookups = at_the_same_moment(
        *[lambda n=n: look_up("ALLHANDS1", driver=f"colleague-{n}") for n in range(20)]
    )
    requests = at_the_same_moment(
        *[
            lambda n=n: request_membership(connection, f"colleague-{n}", code="ALLHANDS1", source_ip=ADDRESS)
            for n in range(20)
        ]
    )

    # Then nobody is told to wait: only a person's own tries are decided one at a time (moto runs requests
    # one at a time; DynamoDB could still refuse two transactions on the address at the very same moment)
    assert [a.status for a in lookups] == [200] * 20
    assert [a.status for a in requests] == [201] * 20


def test_a_burst_from_many_people_behind_one_address_cannot_pass_its_limit():
    # Given an address with room for three more misses
    connection = given_connection(given_organization(), code="RIGHTCODE1")
    given_earlier_misses(97, address=ADDRESS)

    # When twenty people behind it send wrong codes at the same moment
    answers = at_the_same_moment(
        *[lambda n=n: look_up(f"WRONG{n:05d}", driver=f"nat-user-{n}") for n in range(20)]
    )

    # Then three were tried and the others refused, with the time until a miss leaves the window
    statuses = [a.status for a in answers]
    assert statuses.count(404) == 3 and statuses.count(429) == 17, statuses
    assert all(int(a.headers["retry-after"]) > 1 for a in answers if a.status == 429)
    # and once it is full, the right code answers 429 too, so a 429 says nothing about a code
    assert look_up("RIGHTCODE1", driver="nat-newcomer").status == 429
    assert request_membership(connection, "nat-newcomer", code="RIGHTCODE1", source_ip=ADDRESS).status == 429


def test_tries_that_read_a_list_due_for_a_trim_are_answered_alike_whatever_their_code():
    # Given an address with 250 misses older than the window (its list is due for a trim), read by two
    # people's tries at the same moment: a wrong code and the right one
    given_earlier_misses(250, address=ADDRESS, seconds_ago=20 * 60)
    wrong_keys, right_keys = tries.keys("nat-user-1", ADDRESS), tries.keys("nat-user-2", ADDRESS)
    wrong = tries.Attempt(batch_get(list(wrong_keys), consistent=True), wrong_keys)
    right = tries.Attempt(batch_get(list(right_keys), consistent=True), right_keys)

    # When the wrong code's try is recorded first (it trims the list), then the right code's
    wrong.record(missed=True)
    with pytest.raises(TooManyRequests) as refused:
        right.record(missed=False)

    # Then the right code is refused as any code would be, and the wrong one is counted
    assert refused.value.retry_after == 1
    (address_key,) = set(wrong_keys) & set(right_keys)
    assert len(LookupMissesItem.get(*address_key, consistent_read=True).misses) == 1


def test_a_burst_on_an_address_whose_old_misses_are_trimmed_answers_no_try_without_counting_it():
    # Given an address with 250 misses older than the window (its list is due for a trim) and a right code
    given_connection(given_organization(), code="RIGHTCODE1")
    given_earlier_misses(250, address=ADDRESS, seconds_ago=20 * 60)

    # When twenty people behind it send wrong codes and one the right code at the same moment
    codes = [f"WRONG{n:05d}" for n in range(20)] + ["RIGHTCODE1"]
    answers = at_the_same_moment(
        *[lambda n=n, code=code: look_up(code, driver=f"nat-user-{n}") for n, code in enumerate(codes)]
    )

    # Then every wrong code that was answered is among the address's misses now, and the old ones are gone
    statuses = [a.status for a in answers]
    assert statuses.count(404) + statuses.count(429) >= 20, statuses
    (address_key,) = set(tries.keys("a", ADDRESS)) & set(tries.keys("b", ADDRESS))
    assert len(LookupMissesItem.get(*address_key, consistent_read=True).misses) == statuses.count(404)


def test_a_lookup_answers_the_connection_as_it_is_now():
    # Given a connection whose admin renames it and disables it, then enables it again
    connection = given_connection(given_organization(), code="RENAMED01")
    assert as_admin("PATCH", admin_path(connection), body={"name": "Night crew"}).status == 200
    renamed = look_up("RENAMED01")
    assert as_admin("PATCH", admin_path(connection), body={"enabled": False}).status == 200
    disabled = look_up("RENAMED01")
    assert as_admin("PATCH", admin_path(connection), body={"enabled": True}).status == 200

    # When
    enabled = look_up("RENAMED01")

    # Then
    assert (renamed.status, renamed.body["name"]) == (200, "Night crew")
    assert disabled.status == 404
    assert (enabled.status, enabled.body["name"]) == (200, "Night crew")
