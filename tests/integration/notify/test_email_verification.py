"""Approval by email domain: the driver names an address in one of the connection's domains, gets a
one-time code there, and the membership turns Active when the code is confirmed; an unconfirmed one stays
Pending. Codes are stored hashed, expire, work once and for 5 tries, and may be asked 3 times in 15
minutes."""

from datetime import timedelta

import pytest

from connections.email import ses
from connections.email.feedback import Suppression
from connections.memberships import one_time_codes
from connections.memberships.items import MembershipItem, VerificationItem
from connections.memberships.verify_email import NOTHING_TO_CONFIRM
from connections.platform.table import now
from tests.support.aws import CONSOLE_URL
from tests.support.mail import code_in, failed, sent, sent_to
from tests.support.memberships import (
    ADA,
    BOB,
    DRIVER,
    admin_path,
    as_admin,
    as_driver,
    decide,
    given_connection,
    given_organization,
    my_membership,
    request_membership,
    requests_of,
)
from tests.support.stations import move_expiry, run_expiry

WORK = "pat@acme.example"


def given_by_domain(**fields) -> dict:
    """Acme's public connection "Staff", approving whoever confirms an address at acme.example."""
    return given_connection(
        given_organization("Acme"),
        name="Staff",
        public=True,
        approval_mode="email_domain",
        email_domains=["acme.example"],
        **fields,
    )


@pytest.fixture
def by_domain() -> dict:
    return given_by_domain()


@pytest.fixture
def renewable() -> dict:
    """The same connection, whose members renew by confirming their address again every 30 days."""
    return given_by_domain(reverify_days=30)


def confirm(connection: dict, code: str, driver: str = DRIVER, **kwargs):
    return as_driver(
        "POST",
        f"/me/memberships/{connection['connection_id']}/verification",
        sub=driver,
        body={"code": code},
        **kwargs,
    )


def ask(connection: dict, email: str = WORK, driver: str = DRIVER):
    return request_membership(connection, driver, body={"email": email})


def test_the_code_sent_to_the_work_address_makes_the_driver_a_member(notify, by_domain):
    # When the driver asks with a work address in the domain
    answer = ask(by_domain)
    assert answer.status == 201
    assert (answer.body["status"], answer.body["verifying_email"]) == ("pending", WORK)
    notify.drain()
    # Then a code goes to that address, and only a hash of it is stored
    (email,) = sent_to(WORK)
    code = code_in(email)
    assert code in email["text"].replace("-", "") and "Staff" in email["subject"]
    # with the link that opens the console's Verify page, which confirms it
    verify = f"{CONSOLE_URL}/#/memberships/{by_domain['connection_id']}/verify?code={code[:4]}-{code[4:]}"
    assert verify in email["text"] and f'href="{verify}"' in email["html"]
    stored = VerificationItem.get(*VerificationItem.key(by_domain["connection_id"], DRIVER))
    assert code not in stored.code_hash and stored.email == WORK
    assert stored.code_hash == one_time_codes.hash_code(code, stored.salt)
    # And the request stays pending until the code is confirmed (in any case, with the dash)
    assert my_membership(by_domain).body["status"] == "pending"
    confirmed = confirm(by_domain, f"{code[:4].lower()}-{code[4:]}")
    assert confirmed.status == 200, confirmed.body
    assert (confirmed.body["status"], confirmed.body["verifying_email"]) == ("active", None)
    # And the admins see who confirmed what; the driver gets the approval
    (member,) = requests_of(by_domain, "active")
    assert member["decided_by"] == f"automatic: confirmed {WORK}"
    notify.drain()
    (approved,) = sent_to(f"{DRIVER}@example.com")
    assert approved["subject"] == "You are in: Staff by Acme"
    assert f'href="{CONSOLE_URL}/#/memberships"' in approved["html"]
    # And the code worked once
    assert confirm(by_domain, code).status == 404


def test_a_code_reaches_neither_the_subject_nor_the_logs(notify, by_domain, monkeypatch, logs):
    # A subject shows on lock screens and in SES's event payloads; logs are read by more people than codes
    monkeypatch.setattr(one_time_codes, "new_code", lambda: "ABCD2345")
    ses.suppress(Suppression("lee@acme.example", "bounce", "smtp; 550 5.1.1"))
    ask(by_domain)
    ask(by_domain, "lee@acme.example", driver="driver-2")  # suppressed: the send is logged, not made
    notify.drain()
    (email,) = sent_to(WORK)
    assert "ABCD-2345" in email["text"] and "ABCD-2345" in email["html"]
    assert "ABCD" not in email["subject"]
    logged = logs()
    assert "address suppressed" in logged and "'notice': 'verify_email'" in logged
    assert "ABCD" not in logged, logged


def test_the_sign_in_address_is_used_when_none_is_given(notify, by_domain):
    answer = request_membership(by_domain, email="dee@acme.example")
    assert (answer.status, answer.body["verifying_email"]) == (201, "dee@acme.example")
    notify.drain()
    assert len(sent_to("dee@acme.example")) == 1


def test_a_sign_in_address_outside_the_domains_waits_for_an_admin(notify, by_domain):
    answer = request_membership(by_domain, email="dee@gmail.example")
    assert (answer.status, answer.body["status"], answer.body["verifying_email"]) == (201, "pending", None)
    notify.drain()
    assert sent_to("dee@gmail.example") == [] and len(sent_to(ADA)) == 1


@pytest.mark.parametrize(
    "email",
    ["pat@other.example", "pat@mail.acme.example", "pat@acme.example.evil.example", "a,b@acme.example"],
)
def test_a_given_address_outside_the_domains_is_refused(by_domain, email):
    answer = ask(by_domain, email)
    assert answer.status == 422 and "email" in answer.body["fields"]
    assert my_membership(by_domain).status == 404


def test_a_wrong_code_counts_and_five_wrong_ones_end_the_code(notify, by_domain):
    ask(by_domain)
    notify.drain()
    code = code_in(sent_to(WORK)[0])
    wrong = "22222222" if code != "22222222" else "33333333"
    for left in (4, 3, 2, 1, 0):
        answer = confirm(by_domain, wrong)
        assert (answer.status, answer.body["error"]) == (422, "wrong_code")
        assert f"{left} tries left" in answer.body["message"]
    answer = confirm(by_domain, code)
    assert (answer.status, answer.body["error"]) == (409, "too_many_attempts")
    assert my_membership(by_domain).body["status"] == "pending"


def test_an_expired_code_does_not_confirm(notify, by_domain):
    ask(by_domain)
    notify.drain()
    code = code_in(sent_to(WORK)[0])
    stored = VerificationItem.get(*VerificationItem.key(by_domain["connection_id"], DRIVER))
    stored.update(actions=[VerificationItem.expires_at.set(now() - timedelta(seconds=1))])
    answer = confirm(by_domain, code)
    assert (answer.status, answer.body["error"]) == (409, "code_expired")
    assert my_membership(by_domain).body["status"] == "pending"


def test_asking_again_sends_a_new_code_and_the_old_one_no_longer_works(notify, by_domain, monkeypatch):
    codes = iter(["ABCD2345", "WXYZ6789"])  # two different codes, whatever chance would draw
    monkeypatch.setattr(one_time_codes, "new_code", lambda: next(codes))
    ask(by_domain)
    notify.drain()
    assert code_in(sent_to(WORK)[0]) == "ABCD2345"
    again = ask(by_domain)
    assert (again.status, again.body["status"]) == (200, "pending")
    notify.drain()
    assert code_in(sent_to(WORK)[1]) == "WXYZ6789"
    assert confirm(by_domain, "ABCD2345").body["error"] == "wrong_code"
    assert confirm(by_domain, "WXYZ6789").body["status"] == "active"


def test_codes_may_be_asked_three_times_in_15_minutes(notify, by_domain):
    for _ in range(3):
        assert ask(by_domain).status in (200, 201)
    refused = ask(by_domain)
    assert refused.status == 429 and int(refused.headers["retry-after"]) > 800
    notify.drain()
    assert len(sent_to(WORK)) == 3


def test_an_address_gets_at_most_five_codes_an_hour_whoever_asks_and_wherever(notify, by_domain):
    # Given a second connection of another organization, in the same domain
    other = given_connection(
        given_organization("Acme Visitors", admin=BOB),
        admin=BOB,
        name="Guests",
        public=True,
        approval_mode="email_domain",
        email_domains=["acme.example"],
    )
    # When three accounts ask for codes to one address, five times in all
    for connection, driver in [
        (by_domain, DRIVER),
        (by_domain, DRIVER),
        (other, DRIVER),
        (other, "driver-2"),
    ]:
        assert ask(connection, driver=driver).status in (200, 201)
    assert ask(by_domain, driver="driver-3").status == 201
    # Then a sixth is refused for about an hour, saying why, and changes nothing
    refused = ask(other, driver="driver-4")
    assert (refused.status, refused.body["error"]) == (429, "too_many_requests")
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    assert WORK in refused.body["message"] and "hour" in refused.body["message"]
    assert my_membership(other, "driver-4").status == 404
    # And the address received five codes, not six
    notify.drain()
    assert len(sent_to(WORK)) == 5
    # While another address is not held up by it
    assert ask(other, "lee@acme.example", driver="driver-4").status == 201


def test_a_record_delivered_again_does_not_replace_the_code_that_was_sent(notify, by_domain):
    ask(by_domain)
    records = notify.new_records()
    assert failed(notify.deliver(records)) == [] and failed(notify.deliver(records)) == []
    (email,) = sent_to(WORK)
    assert confirm(by_domain, code_in(email)).body["status"] == "active"


def test_a_code_before_it_is_sent_or_for_no_request_is_refused(notify, by_domain):
    assert confirm(by_domain, "ABCD2345").status == 404  # no membership
    ask(by_domain)
    answer = confirm(by_domain, "ABCD2345")  # the notify function has not sent it yet
    assert (answer.status, answer.body["error"]) == (409, "no_valid_code")


def test_an_admin_may_still_decide_and_the_code_then_confirms_nothing(notify, by_domain):
    ask(by_domain)
    notify.drain()
    code = code_in(sent_to(WORK)[0])
    decide(by_domain, DRIVER, "deny", body={"message": "Contractors use the Visitors connection."})
    assert confirm(by_domain, code).status == 404
    assert my_membership(by_domain).body["status"] == "denied"


@pytest.mark.parametrize(
    "change",
    [{"email_domains": ["acme.example"]}, {"approval_mode": "manual"}, {"approval_mode": "auto"}],
    ids=["domain removed", "manual approval", "automatic approval"],
)
def test_a_code_sent_before_the_organization_changed_the_approval_no_longer_approves(notify, change):
    connection = given_connection(
        given_organization("Acme"),
        name="Staff",
        public=True,
        approval_mode="email_domain",
        email_domains=["acme.example", "contractor.example"],
    )
    ask(connection, "pat@contractor.example")
    notify.drain()
    code = code_in(sent_to("pat@contractor.example")[0])
    # When an admin changes how the connection approves before the driver types the code
    assert as_admin("PATCH", admin_path(connection), body=change).status == 200
    # Then the code is refused with what happened, and the request still waits
    answer = confirm(connection, code)
    assert (answer.status, answer.body["error"]) == (409, "approval_changed")
    assert "pat@contractor.example" in answer.body["message"]
    assert my_membership(connection).body["status"] == "pending"


def test_renewing_by_email_domain_sends_a_code_and_the_code_renews(notify, renewable):
    ask(renewable)
    notify.drain()
    assert confirm(renewable, code_in(sent_to(WORK)[0])).status == 200
    before = MembershipItem.get(*MembershipItem.key(renewable["connection_id"], DRIVER)).expires_at
    # When the member asks again to renew, the membership stays active and a code is sent
    again = ask(renewable)
    assert (again.status, again.body["status"], again.body["verifying_email"]) == (200, "active", WORK)
    notify.drain()
    renewal = sent_to(WORK)[1]
    assert "confirm again" in renewal["text"]
    # And confirming it renews the membership
    renewed = confirm(renewable, code_in(renewal))
    assert renewed.status == 200 and renewed.body["expires_at"] > before.isoformat()[:19]


def stored_code_request(connection: dict) -> tuple:
    stored = MembershipItem.get(
        *MembershipItem.key(connection["connection_id"], DRIVER), consistent_read=True
    )
    return stored.status, stored.verify_email, stored.verify_requested_at


def test_withdrawing_a_request_ends_its_wait_for_a_code(notify, by_domain):
    ask(by_domain)
    notify.drain()
    code = code_in(sent_to(WORK)[0])
    assert as_driver("DELETE", f"/me/memberships/{by_domain['connection_id']}").status == 200
    assert stored_code_request(by_domain) == ("withdrawn", None, None)
    answer = confirm(by_domain, code)
    assert (answer.status, answer.body["message"]) == (404, NOTHING_TO_CONFIRM)


@pytest.mark.parametrize("ends", ["leaves", "lapses"])
def test_a_member_who_leaves_or_lapses_while_renewing_waits_for_no_code(notify, renewable, ends):
    ask(renewable)
    notify.drain()
    assert confirm(renewable, code_in(sent_to(WORK)[0])).status == 200
    ask(renewable)  # to renew: a code goes to the address, the membership stays active meanwhile
    notify.drain()
    renewal = code_in(sent_to(WORK)[1])
    if ends == "leaves":
        assert as_driver("DELETE", f"/me/memberships/{renewable['connection_id']}").status == 200
    else:
        move_expiry(renewable["connection_id"], DRIVER, now() - timedelta(seconds=1))
        assert run_expiry() == {"expired": 1}
    assert stored_code_request(renewable) == ("left" if ends == "leaves" else "expired", None, None)
    answer = confirm(renewable, renewal)
    assert (answer.status, answer.body["message"]) == (404, NOTHING_TO_CONFIRM)


def test_confirm_needs_a_code(by_domain):
    answer = as_driver("POST", f"/me/memberships/{by_domain['connection_id']}/verification", body={})
    assert answer.status == 422 and "code" in answer.body["fields"]
    assert sent() == []
