"""Changing a connection (name, visibility, state, code, rules, questions) and the limit on choosing codes."""

from tests.support.memberships import (
    ADA,
    BOB,
    CODE_ALPHABET,
    admin_path,
    as_admin,
    as_driver,
    at_the_same_moment,
    browse,
    given_admin,
    given_connection,
    given_earlier_misses,
    given_organization,
    names,
    sub_of,
)


def create(organization_id: str, **fields):
    return as_admin(
        "POST", f"/organizations/{organization_id}/connections", body={"name": "Night shift", **fields}
    )


def change(connection: dict, admin: str = ADA, **changes):
    return as_admin("PATCH", admin_path(connection), email=admin, body=changes)


def look_up(code: str, driver: str = "driver-1"):
    return as_driver("GET", f"/connections/by-code/{code}", sub=driver)


def test_renaming_a_connection_changes_how_drivers_find_it():
    # Given
    connection = given_connection(given_organization(), name="Night shift", public=True)

    # When
    answer = change(connection, name="Day shift", description="From 6 to 18")

    # Then
    assert answer.status == 200
    assert answer.body["name"] == "Day shift" and answer.body["description"] == "From 6 to 18"
    assert answer.body["code"] == connection["code"]
    assert names(browse(name="day").body["items"]) == ["Day shift"]
    assert browse(name="night").body["items"] == []


def test_making_a_connection_private_hides_it_from_drivers_and_public_again_shows_it():
    # Given
    connection = given_connection(given_organization(), public=True)
    path = f"/connections/{connection['connection_id']}"

    # When
    private = change(connection, public=False)

    # Then
    assert private.status == 200 and private.body["public"] is False
    assert browse(name="night").body["items"] == []
    assert as_driver("GET", path).status == 404
    assert look_up(connection["code"]).status == 200  # the code still opens it

    # When
    public = change(connection, public=True)

    # Then
    assert public.body["public"] is True
    assert names(browse(name="night").body["items"]) == ["Night shift"]
    assert as_driver("GET", path).status == 200


def test_a_disabled_connection_cannot_be_found_until_it_is_enabled_again():
    # Given
    connection = given_connection(given_organization(), public=True)

    # When
    disabled = change(connection, enabled=False)

    # Then
    assert disabled.status == 200 and disabled.body["enabled"] is False
    assert browse(name="night").body["items"] == []
    assert look_up(connection["code"]).status == 404
    assert as_driver("GET", f"/connections/{connection['connection_id']}").status == 404

    # When
    enabled = change(connection, enabled=True)

    # Then
    assert enabled.body["enabled"] is True
    assert names(browse(name="night").body["items"]) == ["Night shift"]
    assert look_up(connection["code"]).status == 200


def test_a_changed_code_works_at_once_and_the_old_one_stops_working():
    # Given
    connection = given_connection(given_organization(), code="OLDCODE1")

    # When
    answer = change(connection, code="new-code-2")

    # Then
    assert answer.status == 200
    assert answer.body["code"] == "NEWCODE2"
    assert look_up("OLDCODE1").status == 404
    assert look_up("newcode2").body["connection_id"] == connection["connection_id"]


def test_a_freed_code_can_be_chosen_by_another_connection():
    # Given
    organization_id = given_organization()
    first = given_connection(organization_id, code="SHARED01")
    assert change(first, code="MOVED001").status == 200

    # When
    second = create(organization_id, name="Second", code="shared01")

    # Then
    assert second.status == 201
    assert look_up("SHARED01").body["connection_id"] == second.body["connection_id"]


def test_changing_to_a_code_that_is_taken_is_409_and_keeps_the_old_code():
    # Given
    organization_id = given_organization()
    given_connection(organization_id, name="First", code="TAKEN001")
    connection = given_connection(organization_id, name="Second", code="MINE0001")

    # When
    answer = change(connection, code="taken001")

    # Then
    assert answer.status == 409
    assert answer.error == "code_taken"
    assert as_admin("GET", admin_path(connection)).body["code"] == "MINE0001"
    assert look_up("MINE0001").body["connection_id"] == connection["connection_id"]


def test_a_regenerated_code_replaces_the_old_one():
    # Given
    connection = given_connection(given_organization(), code="OLDCODE1")

    # When
    answer = change(connection, regenerate_code=True)

    # Then
    assert answer.status == 200
    new_code = answer.body["code"]
    assert new_code != "OLDCODE1"
    assert len(new_code) == 10 and set(new_code) <= CODE_ALPHABET
    assert look_up("OLDCODE1").status == 404
    assert look_up(new_code).status == 200


def test_reverification_is_set_and_cleared():
    # Given
    connection = given_connection(given_organization(), reverify_days=30)
    assert connection["reverify_days"] == 30

    # When
    changed = change(connection, reverify_days=7)
    cleared = change(connection, clear_reverify=True)

    # Then
    assert changed.body["reverify_days"] == 7
    assert cleared.status == 200
    assert cleared.body["reverify_days"] is None
    assert as_admin("GET", admin_path(connection)).body["reverify_days"] is None


def test_changing_to_email_domain_approval_without_domains_is_422_and_changes_nothing():
    # Given
    connection = given_connection(given_organization())

    # When
    answer = change(connection, approval_mode="email_domain", name="Renamed")

    # Then
    assert answer.status == 422
    assert "email_domains" in answer.body["fields"]
    assert as_admin("GET", admin_path(connection)).body["name"] == "Night shift"


def test_questions_can_be_replaced_but_not_with_duplicate_ids():
    # Given
    connection = given_connection(given_organization())
    question = {"id": "plate", "label": "Licence plate"}

    # When
    duplicate = change(connection, questions=[question, question])
    replaced = change(connection, questions=[question])

    # Then
    assert duplicate.status == 422
    assert replaced.status == 200
    assert [q["id"] for q in replaced.body["questions"]] == ["plate"]


def test_a_second_admin_manages_the_same_connections():
    # Given
    organization_id = given_organization()
    given_admin(organization_id, BOB)
    connection = given_connection(organization_id)

    # When
    answer = change(connection, admin=BOB, name="Bob's name")

    # Then
    assert answer.status == 200
    assert as_admin("GET", admin_path(connection)).body["name"] == "Bob's name"


def test_choosing_codes_that_are_taken_is_limited_like_guessing_codes():
    # Given: nine earlier tries of taken codes by Ada, then a tenth
    organization_id = given_organization()
    given_connection(organization_id, name="Holder", code="TAKEN0001")
    given_earlier_misses(9, user=sub_of(ADA))
    assert create(organization_id, code="taken0001").status == 409

    # When
    chosen = create(organization_id, code="FREECODE01")
    generated = create(organization_id)

    # Then
    assert chosen.status == 429
    assert int(chosen.headers["retry-after"]) > 0
    assert generated.status == 201


def test_codes_that_match_nothing_and_codes_that_are_taken_share_one_limit():
    # Given ten codes that matched nothing, looked up by Ada from her address
    organization_id = given_organization()
    for n in range(10):
        lookup = as_driver("GET", f"/connections/by-code/WRONG{n:05d}", sub=sub_of(ADA))
        assert lookup.status == 404, lookup.body

    # When she then chooses a code for a new connection
    chosen = create(organization_id, code="FREECODE01")

    # Then she may not try more: either way of trying tells whether a code exists
    assert chosen.status == 429
    assert create(organization_id).status == 201


def test_a_burst_of_new_connections_sent_at_once_cannot_try_more_chosen_codes_than_the_limit_allows():
    # Given codes taken by other connections, and nine earlier tries by Ada: one more code may be tried
    organization_id = given_organization()
    taken = [f"TAKEN{n:04d}" for n in range(5)]
    for code in taken:
        given_connection(organization_id, name=code, code=code)
    given_earlier_misses(9, user=sub_of(ADA))

    # When ten new connections, with five taken codes and five free ones, are asked for at the same moment
    codes = taken + [f"FREE{n:04d}" for n in range(5)]
    answers = at_the_same_moment(*[lambda code=code: create(organization_id, code=code) for code in codes])

    # Then at most one more taken code was tried; every other one answers 429, which says nothing about
    # it (a free code may have been tried before or after it, as it misses nothing)
    statuses = [a.status for a in answers]
    assert statuses[:5].count(409) <= 1 and statuses[:5].count(429) >= 4, statuses
    assert set(statuses[5:]) <= {201, 429}, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)


def test_a_burst_of_code_changes_sent_at_once_cannot_try_more_chosen_codes_than_the_limit_allows():
    # Given codes taken by other connections, ten connections of Ada's, and nine earlier tries by Ada
    organization_id = given_organization()
    taken = [f"TAKEN{n:04d}" for n in range(5)]
    for code in taken:
        given_connection(organization_id, name=code, code=code)
    mine = [given_connection(organization_id, name=f"Mine {n}") for n in range(10)]
    given_earlier_misses(9, user=sub_of(ADA))

    # When each of them is given a code at the same moment, five taken codes and five free ones
    codes = taken + [f"FREE{n:04d}" for n in range(5)]
    answers = at_the_same_moment(
        *[
            lambda connection=connection, code=code: change(connection, code=code)
            for connection, code in zip(mine, codes, strict=True)
        ]
    )

    # Then at most one more taken code was tried; every other one answers 429 (a free code may have been
    # tried before or after it), and a connection whose change answered 429 keeps its code
    statuses = [a.status for a in answers]
    assert statuses[:5].count(409) <= 1 and statuses[:5].count(429) >= 4, statuses
    assert set(statuses[5:]) <= {200, 429}, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)
    for connection, answer in zip(mine, answers, strict=True):
        if answer.status == 429:
            assert as_admin("GET", admin_path(connection)).body["code"] == connection["code"]


def test_a_new_code_racing_another_change_of_the_connection_answers_connection_changed_not_code_taken():
    # Given a connection two admins manage
    organization_id = given_organization()
    given_admin(organization_id, BOB)
    connection = given_connection(organization_id)

    for round_ in range(10):  # the race goes either way: ten rounds let each side lose a few times
        # When Ada gives it a free code while Bob renames it
        ada, bob = at_the_same_moment(
            lambda r=round_: change(connection, code=f"FREECODE{r:02d}"),
            lambda r=round_: change(connection, admin=BOB, name=f"Renamed {r}"),
        )

        # Then both were written one after the other, or the loser hears that the connection changed
        assert sorted([ada.status, bob.status]) in ([200, 200], [200, 409]), (round_, ada.body, bob.body)
        for loser in (a for a in (ada, bob) if a.status == 409):
            assert loser.error == "connection_changed", (round_, loser.body)
