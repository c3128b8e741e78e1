"""Email over `make run`'s stack: requests, decisions and codes go through the API, the notify function
sends from the table's stream, and /_local/outbox shows what SES accepted, with both parts."""

import re
import uuid

import pytest

from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e

CODE = re.compile(r"\b([A-Z0-9]{4})-([A-Z0-9]{4})\b")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def outbox_to(stack, address: str) -> list[dict]:
    _, outbox, _ = stack.call("GET", "/_local/outbox")
    return [m for m in outbox["messages"] if address in m["to"]]


def emails_to(stack, address: str, count: int) -> list[dict]:
    """The first `count` emails to `address`, waiting for them (the stream is polled every 250 ms)."""
    found = wait_for(lambda: (m := outbox_to(stack, address)) and len(m) >= count and m, timeout=15)
    assert found, f"no email to {address}"
    return found


def given_connection(stack, admin: str, **fields) -> tuple[str, dict]:
    status, org, _ = stack.call("POST", "/organizations", user=admin, body={"name": "Acme <Fleet>"})
    assert status == 201, org
    status, connection, _ = stack.call(
        "POST",
        f"/organizations/{org['organization_id']}/connections",
        user=admin,
        body={"name": "Employees", "description": "Free charging for staff.", **fields},
    )
    assert status == 201, connection
    return org["organization_id"], connection


def ask(stack, driver: str, connection: dict, **body) -> dict:
    status, membership, _ = stack.call(
        "POST",
        f"/connections/{connection['connection_id']}/memberships",
        user=driver,
        body={"code": connection["code"], **body},
    )
    assert status == 201, membership
    return membership


def test_the_admin_hears_of_the_request_and_the_driver_of_the_approval(stack):
    admin, driver = unique("admin"), unique("driver")
    org, connection = given_connection(stack, admin)
    ask(stack, driver, connection, answers={})
    # The admin hears of the request at once
    (alert,) = emails_to(stack, f"{admin}@example.com", 1)
    assert alert["subject"] == "1 request to join Employees waits for you"
    assert f"{driver}@example.com" in alert["text"] and "Acme &lt;Fleet&gt;" in alert["html"]
    # When the admin approves, the driver gets one email with both parts
    path = f"/organizations/{org}/connections/{connection['connection_id']}/requests/{driver}/approve"
    assert stack.call("POST", path, user=admin)[0] == 200
    (approved,) = emails_to(stack, f"{driver}@example.com", 1)
    assert approved["subject"] == "You are in: Employees by Acme <Fleet>"
    assert approved["from"] == "no-reply@connections.example"
    assert "Free charging for staff." in approved["text"] and "Free charging for staff." in approved["html"]
    assert approved["html"].startswith("<!doctype html>")


def test_a_denied_driver_gets_the_organizations_message(stack):
    admin, driver = unique("admin"), unique("driver")
    org, connection = given_connection(stack, admin)
    ask(stack, driver, connection)
    message = "Please use your <badge> number."
    path = f"/organizations/{org}/connections/{connection['connection_id']}/requests/{driver}/deny"
    assert stack.call("POST", path, user=admin, body={"message": message})[0] == 200
    (denied,) = emails_to(stack, f"{driver}@example.com", 1)
    assert denied["subject"] == "Your request to join Employees was not approved"
    assert message in denied["text"]
    assert "Please use your &lt;badge&gt; number." in denied["html"]


def test_a_driver_confirms_a_work_address_with_the_emailed_code(stack):
    admin, driver = unique("admin"), unique("driver")
    work = f"{driver}@acme.example"
    _, connection = given_connection(
        stack, admin, approval_mode="email_domain", email_domains=["acme.example"]
    )
    membership = ask(stack, driver, connection, email=work)
    assert (membership["status"], membership["verifying_email"]) == ("pending", work)
    # The code reaches the work address, and the request stays pending until it is confirmed
    (email,) = emails_to(stack, work, 1)
    code = "".join(CODE.search(email["text"]).groups())
    assert code[:4] not in email["subject"]
    assert code in email["text"].replace("-", "") and code in email["html"].replace("-", "")
    mine = f"/me/memberships/{connection['connection_id']}"
    assert stack.call("GET", mine, user=driver)[1]["status"] == "pending"
    status, wrong, _ = stack.call("POST", f"{mine}/verification", user=driver, body={"code": "22222222"})
    assert status == 422 and wrong["error"] == "wrong_code"
    status, confirmed, _ = stack.call("POST", f"{mine}/verification", user=driver, body={"code": code})
    assert (status, confirmed["status"]) == (200, "active")
    # Then the driver is told at the sign-in address, and no admin was bothered
    (approved,) = emails_to(stack, f"{driver}@example.com", 1)
    assert approved["subject"].startswith("You are in: Employees")
    assert outbox_to(stack, f"{admin}@example.com") == []
