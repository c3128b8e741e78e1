"""A driver's charging cards (/me/cards) and whether the driver's access has reached the stations of a
connection (/me/memberships/{id}/stations)."""

from connections.memberships.items import MembershipItem
from tests.support.memberships import (
    DRIVER,
    OTHER_DRIVER,
    as_driver,
    decide,
    given_active,
    given_connection,
    given_organization,
    given_pending,
)
from tests.support.stations import (
    add_card,
    given_auto_member,
    given_card,
    given_policy,
    given_station,
    remove_card,
)


def my_cards(driver: str = DRIVER) -> list[str]:
    answer = as_driver("GET", "/me/cards", sub=driver)
    assert answer.status == 200, answer.body
    return [card["id_tag"] for card in answer.body]


def delivery(connection: dict, driver: str = DRIVER):
    return as_driver("GET", f"/me/memberships/{connection['connection_id']}/stations", sub=driver)


def test_a_card_is_stored_upper_case_and_adding_it_again_is_harmless():
    # When
    first = add_card(DRIVER, "04a1b2c3", label="Blue fob")
    again = add_card(DRIVER, "04A1B2C3")

    # Then
    assert first.status == 201
    assert first.body["id_tag"] == "04A1B2C3" and first.body["label"] == "Blue fob"
    assert again.status == 200
    assert again.body == first.body
    assert my_cards() == ["04A1B2C3"]


def test_another_drivers_card_cannot_be_registered():
    # Given
    given_card(DRIVER, "04A1B2C3")

    # When
    taken = add_card(OTHER_DRIVER, "04a1b2c3")

    # Then
    assert taken.status == 409
    assert taken.error == "card_taken"
    assert my_cards(OTHER_DRIVER) == []
    assert my_cards(DRIVER) == ["04A1B2C3"]


def test_a_card_id_must_be_an_ocpp_id_tag():
    # When
    answers = [add_card(DRIVER, bad) for bad in ("A" * 37, "has space", "", "é")]

    # Then
    assert [a.status for a in answers] == [422] * 4
    assert my_cards() == []
    assert add_card(DRIVER, "A" * 36).status == 201  # an OCPP 2.0.1 idToken's most


def test_a_driver_lists_only_their_own_cards():
    # Given
    given_card(DRIVER, "CARD-1")
    given_card(DRIVER, "CARD-2")
    given_card(OTHER_DRIVER, "CARD-3")

    # Then
    assert sorted(my_cards()) == ["CARD-1", "CARD-2"]
    assert my_cards(OTHER_DRIVER) == ["CARD-3"]


def test_a_removed_card_is_gone_and_someone_elses_cannot_be_removed():
    # Given
    given_card(DRIVER, "CARD-1")
    given_card(OTHER_DRIVER, "CARD-2")

    # When
    removed = remove_card(DRIVER, "card-1")
    not_mine = remove_card(DRIVER, "CARD-2")
    twice = remove_card(DRIVER, "CARD-1")

    # Then
    assert removed.status == 200 and removed.body == {"removed": "CARD-1"}
    assert my_cards() == []
    assert (not_mine.status, not_mine.error) == (404, "not_found")
    assert my_cards(OTHER_DRIVER) == ["CARD-2"]
    assert twice.status == 404
    # and the removed id is free again
    assert add_card(OTHER_DRIVER, "CARD-1").status == 201


def test_station_delivery_counts_the_stations_that_acknowledged_the_drivers_card(sync):
    # Given a connection unlocking a policy of two stations, and a member with a card
    organization = given_organization()
    connection = given_connection(organization)
    policy = given_policy(organization, [connection["connection_id"]])
    first = given_station(organization, "CP-1", policy["policy_id"])
    second = given_station(organization, "CP-2", policy["policy_id"])
    sync.drain()
    first.accept(first.take_one("SendLocalList"))  # both hold the (empty) list
    second.accept(second.take_one("SendLocalList"))
    given_card(DRIVER, "CARD-1")
    given_active(connection, DRIVER)

    # When the service has sent the change but no station has acknowledged it
    sync.drain()
    to_first, to_second = first.take_one("SendLocalList"), second.take_one("SendLocalList")

    # Then
    assert delivery(connection).body == {"stations": 2, "delivered": 0}

    # When one station acknowledges, then the other
    first.accept(to_first)
    after_one = delivery(connection).body
    second.accept(to_second)
    after_both = delivery(connection).body

    # Then
    assert after_one == {"stations": 2, "delivered": 1}
    assert after_both == {"stations": 2, "delivered": 2}


def test_station_delivery_counts_only_the_stations_the_driver_may_see(sync):
    # Given a connection that unlocks an open station and one shown only to members of Staff
    organization = given_organization()
    connection, staff = given_connection(organization), given_connection(organization, name="Staff")
    shown = given_policy(organization, [connection["connection_id"]])
    hidden = given_policy(
        organization, [connection["connection_id"]], "Staff only", {"visible_to": [staff["connection_id"]]}
    )
    given_station(organization, "CP-1", shown["policy_id"])
    given_station(organization, "CP-2", hidden["policy_id"])
    # and two members: one not on Staff, one who is
    given_active(connection, DRIVER)
    given_active(connection, OTHER_DRIVER)
    given_active(staff, OTHER_DRIVER)

    # Then each counts the stations it sees on the map
    assert delivery(connection, DRIVER).body == {"stations": 1, "delivered": 0}
    assert delivery(connection, OTHER_DRIVER).body == {"stations": 2, "delivered": 0}


def test_station_delivery_is_only_for_an_active_membership_of_ones_own(sync):
    # Given a driver whose request is pending
    organization = given_organization()
    connection = given_connection(organization)
    given_policy(organization, [connection["connection_id"]])
    given_pending(connection, DRIVER)

    # Then neither that driver nor another learns anything of the connection's stations
    assert (delivery(connection, DRIVER).status, delivery(connection, OTHER_DRIVER).status) == (404, 404)

    # When the driver is approved, the driver (only) sees them
    assert decide(connection, DRIVER, "approve").status == 200
    mine, not_mine = delivery(connection, DRIVER), delivery(connection, OTHER_DRIVER)
    assert mine.status == 200 and mine.body == {"stations": 0, "delivered": 0}
    assert (not_mine.status, not_mine.error) == (404, "not_found")


def test_station_delivery_answers_a_membership_approved_a_moment_ago_that_the_index_does_not_show_yet(sync):
    # Given a driver approved a moment ago, whose membership the driver index does not show yet (DynamoDB
    # indexes lag their table; moto's do not, so the index keys are taken off the item)
    organization = given_organization()
    connection = given_connection(organization)
    given_policy(organization, [connection["connection_id"]])
    given_pending(connection, DRIVER)
    assert decide(connection, DRIVER, "approve").status == 200
    membership = MembershipItem.get(*MembershipItem.key(connection["connection_id"], DRIVER))
    membership.update(actions=[MembershipItem.gsi1pk.remove(), MembershipItem.gsi1sk.remove()])

    # When the driver asks where their access has arrived
    answer = delivery(connection)

    # Then the table, read consistently, says they are a member
    assert answer.status == 200 and answer.body == {"stations": 0, "delivered": 0}, answer.body


def test_station_delivery_waits_for_the_chunk_that_holds_the_drivers_card(sync):
    # Given a member who joined before another, and a station that takes one entry per message
    organization = given_organization()
    connection = given_connection(organization, public=True, approval_mode="auto")
    policy = given_policy(organization, [connection["connection_id"]])
    given_auto_member(connection, DRIVER, "TAG-OLD")
    sync.drain()
    given_auto_member(connection, OTHER_DRIVER, "TAG-NEW")
    sync.drain()
    station = given_station(organization, "CP-1", policy["policy_id"], send_local_list_max_length=1)
    sync.drain()

    # When the station accepts the Full's first chunk, which holds the newest entry only
    first = station.take_one("SendLocalList")
    station.accept(first)
    assert station.statuses() == {"TAG-NEW": "Accepted"}

    # Then the older member's card has not arrived yet
    assert delivery(connection, DRIVER).body == {"stations": 1, "delivered": 0}

    # When the next chunk is accepted
    station.accept(station.take_one("SendLocalList"))

    # Then it has
    assert station.statuses() == {"TAG-NEW": "Accepted", "TAG-OLD": "Accepted"}
    assert delivery(connection, DRIVER).body == {"stations": 1, "delivered": 1}
