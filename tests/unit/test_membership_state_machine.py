"""The membership state machine: every action from every status, allowed or refused."""

from datetime import UTC, datetime, timedelta

import pytest

from connections.memberships.state_machine import (
    ENDED,
    Action,
    Membership,
    Status,
    TransitionRefused,
    expiry,
    request,
    transition,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

ALLOWED = {
    (Action.APPROVE, Status.PENDING): Status.ACTIVE,
    (Action.DENY, Status.PENDING): Status.DENIED,
    (Action.REMOVE, Status.ACTIVE): Status.REMOVED,
    (Action.WITHDRAW, Status.PENDING): Status.WITHDRAWN,
    (Action.LEAVE, Status.ACTIVE): Status.LEFT,
    (Action.EXPIRE, Status.ACTIVE): Status.EXPIRED,
    (Action.CONFIRM, Status.PENDING): Status.ACTIVE,
    (Action.CONFIRM, Status.ACTIVE): Status.ACTIVE,
}
DECIDED_ACTIONS = [a for a in Action if a is not Action.REQUEST]


@pytest.mark.parametrize("action", DECIDED_ACTIONS)
@pytest.mark.parametrize("status", list(Status))
def test_every_action_from_every_status(action, status):
    # Given a membership in `status`
    current = Membership(status)
    expected = ALLOWED.get((action, status))
    if expected:
        # When the action applies, Then it leads to the expected status
        assert transition(action, current, NOW) is expected
    else:
        # Otherwise it is refused as a conflict with a reason a person can act on
        with pytest.raises(TransitionRefused) as refused:
            transition(action, current, NOW)
        assert refused.value.status == 409
        assert refused.value.code == f"membership_{status}"
        assert refused.value.message.endswith(".")


@pytest.mark.parametrize("action", DECIDED_ACTIONS)
def test_no_membership_cannot_be_decided(action):
    with pytest.raises(TransitionRefused) as refused:
        transition(action, None, NOW)
    assert refused.value.code == "no_membership"


def test_request_is_not_decided_by_transition():
    with pytest.raises(ValueError, match="request"):
        transition(Action.REQUEST, None, NOW)


def test_driver_gets_a_hint_when_withdrawing_an_active_membership():
    with pytest.raises(TransitionRefused, match="leave it"):
        transition(Action.WITHDRAW, Membership(Status.ACTIVE), NOW)
    with pytest.raises(TransitionRefused, match="withdraw it"):
        transition(Action.LEAVE, Membership(Status.PENDING), NOW)


def test_approving_twice_says_the_driver_is_already_a_member():
    with pytest.raises(TransitionRefused, match="already an active member"):
        transition(Action.APPROVE, Membership(Status.ACTIVE), NOW)


@pytest.mark.parametrize("auto", [False, True])
def test_first_request_is_pending_or_active_by_approval(auto):
    outcome = request(None, auto_approved=auto, reverifies=False, now=NOW)
    assert outcome.status is (Status.ACTIVE if auto else Status.PENDING)
    assert not outcome.renews


@pytest.mark.parametrize("status", sorted(ENDED))
@pytest.mark.parametrize("auto", [False, True])
def test_request_again_after_an_ended_membership(status, auto):
    outcome = request(Membership(status), auto_approved=auto, reverifies=False, now=NOW)
    assert outcome.status is (Status.ACTIVE if auto else Status.PENDING)


@pytest.mark.parametrize("status", [Status.PENDING, Status.ACTIVE])
def test_request_while_pending_or_active_keeps_the_existing_membership(status):
    outcome = request(Membership(status), auto_approved=True, reverifies=False, now=NOW)
    assert outcome.status is None


def test_request_while_active_on_a_reverifying_connection_confirms_again():
    outcome = request(Membership(Status.ACTIVE), auto_approved=False, reverifies=True, now=NOW)
    assert outcome.status is Status.ACTIVE and outcome.renews


def test_request_while_pending_on_a_reverifying_connection_keeps_it():
    assert request(Membership(Status.PENDING), auto_approved=False, reverifies=True, now=NOW).status is None


def test_active_past_its_expiry_counts_as_expired():
    # Given an active membership whose re-verification date has passed
    lapsed = Membership(Status.ACTIVE, expires_at=NOW - timedelta(seconds=1))
    # Then it is expired: it can be requested again, but no longer removed or left
    assert lapsed.effective_status(NOW) is Status.EXPIRED
    assert request(lapsed, auto_approved=False, reverifies=True, now=NOW).status is Status.PENDING
    with pytest.raises(TransitionRefused, match="expired"):
        transition(Action.REMOVE, lapsed, NOW)


def test_a_lapsed_active_membership_can_be_recorded_as_expired():
    lapsed = Membership(Status.ACTIVE, expires_at=NOW - timedelta(seconds=1))
    assert transition(Action.EXPIRE, lapsed, NOW) is Status.EXPIRED
    with pytest.raises(TransitionRefused):
        transition(Action.EXPIRE, Membership(Status.EXPIRED), NOW)


def test_active_before_its_expiry_is_active():
    assert Membership(Status.ACTIVE, NOW + timedelta(days=1)).effective_status(NOW) is Status.ACTIVE
    assert Membership(Status.PENDING, NOW - timedelta(days=1)).effective_status(NOW) is Status.PENDING


def test_expiry_is_the_reverification_period_after_activation():
    assert expiry(NOW, 30) == NOW + timedelta(days=30)
    assert expiry(NOW, None) is None


@pytest.mark.parametrize("current", [None, *(Membership(s) for s in sorted(ENDED))])
def test_a_request_by_email_code_is_pending_and_sends_a_code(current):
    outcome = request(current, auto_approved=False, reverifies=False, now=NOW, by_code=True)
    assert (outcome.status, outcome.sends_code, outcome.renews) == (Status.PENDING, True, False)


def test_asking_again_while_pending_by_email_code_sends_a_new_code_and_keeps_the_request():
    outcome = request(
        Membership(Status.PENDING), auto_approved=False, reverifies=False, now=NOW, by_code=True
    )
    assert (outcome.status, outcome.sends_code) == (None, True)


def test_renewing_by_email_code_waits_for_the_code():
    # Given an active member of a connection that re-verifies by email domain
    outcome = request(Membership(Status.ACTIVE), auto_approved=False, reverifies=True, now=NOW, by_code=True)
    # Then the membership stands as it is until the code confirms it (Action.CONFIRM renews)
    assert (outcome.status, outcome.sends_code, outcome.renews) == (None, True, False)
    assert transition(Action.CONFIRM, Membership(Status.ACTIVE), NOW) is Status.ACTIVE


def test_an_active_member_of_a_connection_without_reverification_gets_no_code():
    outcome = request(Membership(Status.ACTIVE), auto_approved=False, reverifies=False, now=NOW, by_code=True)
    assert (outcome.status, outcome.sends_code) == (None, False)


def test_a_denied_request_cannot_be_confirmed_with_a_code():
    with pytest.raises(TransitionRefused, match="ask to join again"):
        transition(Action.CONFIRM, Membership(Status.DENIED), NOW)
