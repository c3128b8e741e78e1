"""The email functions' IAM policies in template.yaml grant what the functions do and no more: every AWS call
the notify function makes while it sends every kind of email (and the sweep while it makes them due) is
recorded and held against its policy; the bounce handler writes only suppression items, which is all its
policy's condition lets it write; and an SNS delivery it still fails on after Lambda's retries is kept."""

import fnmatch
from contextlib import contextmanager
from datetime import timedelta

import botocore.client
import pytest

import connections.email.dispatch as notify_use_case
from connections.email.items import AdminAlertItem, ReminderItem
from infra.template import load, resources
from tests.integration.notify import test_suppression
from tests.integration.notify.test_suppression import bounce, report
from tests.support import mail
from tests.support.mail import sent, sent_to
from tests.support.memberships import (
    BOB,
    DRIVER,
    decide,
    given_admin,
    given_connection,
    given_organization,
    given_pending,
    request_membership,
)
from tests.support.settings import TABLES
from tests.support.stations import given_policy, given_station

TABLE_KINDS = {TABLES["ConnectionsTable"]: "ConnectionsTable", TABLES["IdempotencyTable"]: "IdempotencyTable"}


@contextmanager
def aws_calls(monkeypatch, wrap: list[tuple[object, str]]):
    """Every AWS API call made while one of the handlers named in `wrap` ((module, attribute) pairs) runs,
    as (service, operation, parameters): botocore's clients, PynamoDB's included, all call _make_api_call."""
    calls, inside = [], []
    original = botocore.client.BaseClient._make_api_call

    def recorded(client, operation, params):
        if inside:
            calls.append((client.meta.service_model.service_name, operation, params))
        return original(client, operation, params)

    def running(handler):
        def run(*args, **kwargs):
            inside.append(True)
            try:
                return handler(*args, **kwargs)
            finally:
                inside.pop()

        return run

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    for module, name in wrap:
        monkeypatch.setattr(module, name, running(getattr(module, name)))
    yield calls


def iam_actions(calls) -> set[tuple[str, str]]:
    """(IAM action, resource kind) of each call: a table of the template, an index of it, or SES."""
    used = set()
    for service, operation, params in calls:
        if service == "dynamodb":
            tables = {params.get("TableName"), *params.get("RequestItems", {})}
            tables |= {
                op.get("TableName") for item in params.get("TransactItems", []) for op in item.values()
            }
            for table in tables - {None}:
                index = params.get("IndexName")
                used.add((f"dynamodb:{operation}", TABLE_KINDS[table] + (f"/index/{index}" if index else "")))
        elif service == "sesv2" and operation == "SendEmail":
            # SES authorizes its v2 SendEmail with Raw content as ses:SendRawEmail (an AccessDenied names that
            # action), Simple and Template content as ses:SendEmail.
            raw = "Raw" in params["Content"]
            used.add(("ses:SendRawEmail" if raw else "ses:SendEmail", "ses"))
        else:
            used.add((f"{service}:{operation}", "?"))
    return used


def _resource_kind(resource) -> str:
    """A statement's resource as iam_actions names what calls use: a table, `<table>/index/<name or *>`."""
    text = str(resource)
    for table in ("ConnectionsTable", "IdempotencyTable"):
        if table in text:
            return table + (text[text.index("/index/") :].rstrip("'\"}") if "/index/" in text else "")
    return "ses" if ":ses:" in text else text


def covers(grant: tuple[str, str], call: tuple[str, str]) -> bool:
    """The granted (action, resource pattern) allows the call's (action, resource)."""
    return grant[0] == call[0] and fnmatch.fnmatchcase(call[1], grant[1])


def uncovered(calls, grants) -> set[tuple[str, str]]:
    return {call for call in calls if not any(covers(grant, call) for grant in grants)}


def unused(grants, calls) -> set[tuple[str, str]]:
    return {grant for grant in grants if not any(covers(grant, call) for call in calls)}


def granted(function: str) -> dict[tuple[str, str], dict]:
    """(IAM action, resource kind) -> the statement's condition, for the function's inline statements."""
    found = {}
    for policy in resources("AWS::Serverless::Function")[function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                for target in targets:
                    found[(action, _resource_kind(target))] = statement.get("Condition", {})
    return found


def every_kind_of_email(notify) -> None:
    """Alerts and a digest, an approval naming stations with its reminder, a denial, a code and a reminder
    that came due, through the notify function; the sweep makes the digest and the reminder due."""
    organization = given_organization("Acme")
    given_admin(organization, BOB, signed_in=True)
    connection = given_connection(organization, name="Residents", reverify_days=30)
    policy = given_policy(organization, [connection["connection_id"]], name="Campus")
    given_station(organization, "HQ-1", policy["policy_id"], name="HQ garage")
    staff = given_connection(
        organization, name="Staff", public=True, approval_mode="email_domain", email_domains=["acme.example"]
    )
    for driver in (DRIVER, "driver-2", "driver-3"):
        given_pending(connection, driver)
        notify.drain()
    decide(connection, DRIVER, "approve")
    decide(connection, "driver-2", "deny", body={"message": "No."})
    request_membership(staff, "driver-4", body={"email": "pat@acme.example"})
    notify.drain()
    ends = AdminAlertItem.get(*AdminAlertItem.key(connection["connection_id"], BOB)).window_ends
    assert notify_use_case.send_due_emails(ends + timedelta(seconds=1))["digests"] == 2
    notify.drain()
    reminder = ReminderItem.get(*ReminderItem.key(connection["connection_id"], DRIVER))
    assert notify_use_case.send_due_emails(reminder.remind_at + timedelta(seconds=1))["reminders"] == 1
    notify.drain()
    subjects = {m["subject"].split(" before ")[0] for m in sent()}
    assert {"You are in: Residents by Acme", "Confirm your membership of Residents"} <= subjects
    assert len(sent_to(BOB)) == 2 and len(sent_to("pat@acme.example")) == 1


def test_the_notify_function_is_granted_what_it_does_on_the_table_and_no_more(notify, monkeypatch):
    with aws_calls(monkeypatch, [(mail, "notify_handler")]) as calls:
        every_kind_of_email(notify)
    used, allowed = iam_actions(calls), granted("NotifyFunction")
    assert not uncovered(used, allowed), uncovered(used, allowed)
    on_table = {grant for grant in allowed if grant[1].startswith("ConnectionsTable")}
    assert not unused(on_table, used), f"granted on the table but never used: {unused(on_table, used)}"
    assert allowed[("ses:SendRawEmail", "ses")] == {
        "StringEquals": {"ses:FromAddress": {"Ref": "SenderAddress"}}
    }


def test_the_notify_sweep_is_granted_what_it_does_and_no_more(notify, monkeypatch):
    with aws_calls(monkeypatch, [(notify_use_case, "send_due_emails")]) as calls:
        every_kind_of_email(notify)
    used, allowed = iam_actions(calls), granted("NotifySweepFunction")
    assert not uncovered(used, allowed), uncovered(used, allowed)
    assert not unused(allowed, used), f"granted but never used: {unused(allowed, used)}"


def test_the_bounce_handler_writes_only_suppressions_which_is_all_its_policy_allows(monkeypatch):
    with aws_calls(monkeypatch, [(test_suppression, "ses_events_handler")]) as calls:
        report(bounce("pat@acme.example"))
        report(bounce("pat@acme.example"))  # SNS delivers at least once
    used, allowed = iam_actions(calls), granted("EmailEventsFunction")
    assert used == {("dynamodb:PutItem", "ConnectionsTable")} and used <= set(allowed)
    leading = allowed[("dynamodb:PutItem", "ConnectionsTable")]["ForAllValues:StringLike"][
        "dynamodb:LeadingKeys"
    ]
    written = [params["Item"]["pk"]["S"] for _, _, params in calls]
    assert written and all(any(fnmatch.fnmatchcase(pk, p) for p in leading) for pk in written), written
    assert not any(fnmatch.fnmatchcase("ORG#acme", p) or fnmatch.fnmatchcase("CONN#c1", p) for p in leading)


@pytest.mark.parametrize("function", ["EmailEventsFunction"])
def test_an_sns_delivery_that_keeps_failing_is_kept_in_an_encrypted_queue(function):
    # SNS invokes the function asynchronously: without a destination, Lambda drops the event after 2 retries.
    config = resources("AWS::Serverless::Function")[function]["Properties"]["EventInvokeConfig"]
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue = load()["Resources"][on_failure["Destination"]["Fn::GetAtt"].removesuffix(".Arn")]
    assert queue["Type"] == "AWS::SQS::Queue" and queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
