"""Whom an admin's preview by email address means (connections.stations.charging.driver_with_address),
pure: among the requests to the policy's connections, the driver who asked with that address."""

from datetime import UTC, datetime

from connections.memberships.items import MembershipItem
from connections.stations.charging import driver_with_address


def asked(driver_id: str, email: str | None, *, verified: bool = True, day: int = 1) -> MembershipItem:
    return MembershipItem(
        driver_id=driver_id,
        driver_email=email,
        driver_email_verified=verified,
        requested_at=datetime(2026, 12, day, tzinfo=UTC),
    )


def test_nobody_who_asked_with_the_address_is_nobody():
    assert driver_with_address("ann@example.com", []) is None
    assert driver_with_address("ann@example.com", [asked("bob", "bob@example.com"), asked("x", None)]) is None


def test_the_address_is_matched_whatever_its_case():
    assert driver_with_address("ann@example.com", [asked("ann", "Ann@Example.com")]) == "ann"


def test_a_verified_address_wins_over_a_claimed_one_then_the_latest_request():
    claimed = asked("impostor", "ann@example.com", verified=False, day=5)
    owner = asked("ann", "ann@example.com", day=1)
    newer_account = asked("ann-2", "ann@example.com", day=3)

    assert driver_with_address("ann@example.com", [claimed, owner]) == "ann"
    assert driver_with_address("ann@example.com", [owner, newer_account, claimed]) == "ann-2"
