"""Email under Lambda's at-least-once delivery, and the admins' digest under a burst of requests.

    .venv/bin/python bench/notify_emails.py   (about a minute)

In this process: moto, the API handlers (tests/support's Givens) and the notify function fed the table's
stream as its mapping does; SES calls counted and checked against moto's outbox.
1. 40 events (12 approvals, 10 denials with a message, 6 removals, 10 codes for work addresses, the first
   request's alert to each of 2 admins) delivered once, then on fresh tables each batch twice over,
   reversed, and every record again. Target: one email per event. Baseline: one email per delivery.
2. A burst of 500 requests to one connection with 2 admins, and the digest at the 15-minute window's end.
   Target: at most one SES call per admin per batch, 2 per admin over the window. Baseline: an email per
   admin per request (1,000). Exit 1 if a target is missed.
"""

import contextlib
import io
import os
import random
import sys
import time
from datetime import timedelta

from common import invoke, moto, stream_to

ADMINS = ("ada@fleet.example", "bob@fleet.example")  # tests/support/memberships.py's ADA and BOB
BURST, APPROVED, DENIED, REMOVED, CODES = 500, 12, 10, 6, 10
EVENTS = APPROVED + DENIED + REMOVED + CODES + len(ADMINS)


class CountedSes:
    """The notify function's SES client, counting send_email calls."""

    def __init__(self, real) -> None:
        self.real, self.calls = real, 0

    def send_email(self, **kwargs):
        self.calls += 1
        return self.real.send_email(**kwargs)


def given_organization() -> str:
    """An organization with two admins; Bob has signed in, so he is alerted too."""
    from tests.support import memberships as given

    org = given.given_organization()
    given.given_admin(org, ADMINS[1], signed_in=True)
    return org


def scenario() -> list:
    """The 40 events of part 1, through the API, in two phases (the stream is read after each): the
    requests, then the decisions and the codes."""
    from tests.support.memberships import decide, given_connection, given_pending, request_membership

    org = given_organization()
    manual = given_connection(org, public=True)
    staff = given_connection(org, public=True, approval_mode="email_domain", email_domains=["fleet.example"])
    decided = [("approve", n) for n in range(APPROVED)] + [("deny", n) for n in range(APPROVED, 22)]

    def requests() -> None:
        for _, n in decided:
            given_pending(manual, f"driver-{n}")

    def decisions() -> None:
        deny = {"message": "Use your badge number."}
        answers = [decide(manual, f"driver-{n}", a, body=deny if a == "deny" else None) for a, n in decided]
        answers += [decide(manual, f"driver-{n}", "remove") for n in range(REMOVED)]
        code = [
            request_membership(staff, f"staff-{n}", body={"email": f"staff-{n}@fleet.example"})
            for n in range(CODES)
        ]
        assert all(a.status in (200, 201) for a in answers + code), [a.body for a in answers + code]

    return [requests, decisions]


def duplicating(notify_handler, deliveries: list[int], duplicated: bool):
    """The notify function as a retrying, duplicating Lambda might invoke it with each batch (with
    `duplicated`): the batch with each record twice, then reversed; each record delivered is counted."""

    def invoke_with(event: dict) -> dict:
        batch = event["Records"]
        for attempt in [batch + batch, list(reversed(batch))] if duplicated else [batch]:
            answer = invoke(notify_handler, {"Records": attempt})
            assert answer == {"batchItemFailures": []}, answer
            deliveries.append(len(attempt))
        return answer

    return invoke_with


def run(endpoint: str, notify_handler, ses: CountedSes, duplicated: bool) -> tuple[int, int]:
    """The scenario, each phase followed by the stream until quiet (windows' alerts follow their own
    records); with `duplicated`, every record once more at the end. Returns (SES calls, records
    delivered)."""
    deliveries: list[int] = []
    invoke_with = duplicating(notify_handler, deliveries, duplicated)
    notify = stream_to("NotifyFunction", invoke_with, endpoint, delivered=[])
    ses.calls = 0
    for phase in scenario():
        phase()
        notify.drain(10)
    if duplicated:  # and every record once more, late
        late = [record for batch in notify.delivered for record in batch]
        random.Random(7).shuffle(late)
        for batch in notify.batches(late):
            duplicating(notify_handler, deliveries, False)({"Records": batch})
    return ses.calls, sum(deliveries)


def burst(endpoint: str, notify_handler, ses: CountedSes) -> tuple[list[tuple[int, int]], int]:
    """Part 2: 500 requests to one connection; (records, SES calls) per batch, and the digest's calls."""
    from connections.email import dispatch
    from connections.email.items import AdminAlertItem
    from connections.platform.table import now
    from tests.support.memberships import given_connection, given_pending

    target = given_connection(given_organization(), public=True)
    per_batch = []

    def counted(event: dict) -> dict:
        ses.calls = 0
        answer = invoke(notify_handler, event)
        per_batch.append((len(event["Records"]), ses.calls))
        return answer

    stream = stream_to("NotifyFunction", counted, endpoint)
    # The requests keep arriving while the first ones are handled: a batch's worth, then the stream.
    size = stream.mapping.batch_size
    for first in range(0, BURST, size):
        for n in range(first, first + size):
            given_pending(target, f"burst-{n}")
        stream.replay_new()
    stream.replay_new()
    # The window ends: the sweep claims each admin's digest, and the notify function sends it.
    alerts = [AdminAlertItem.get(*AdminAlertItem.key(target["connection_id"], a)) for a in ADMINS]
    swept = dispatch.send_due_emails(max(max(a.window_ends for a in alerts), now()) + timedelta(seconds=1))
    assert swept["digests"] == len(ADMINS), swept
    digest = len(per_batch)
    stream.replay_new()
    return per_batch[:digest], sum(calls for _, calls in per_batch[digest:])


def main() -> int:
    # Powertools prints the metrics it keeps every 100 values, disabled or not: not this report's.
    with contextlib.redirect_stdout(io.StringIO()):
        report = io.StringIO()
        code = measure(report)
    print(report.getvalue(), end="")
    return code


def measure(out) -> int:
    def say(line: str) -> None:
        print(line, file=out)

    from infra.local.streams import mapping_of
    from tests.support.aws import reset_tables

    began = time.perf_counter()
    with moto() as endpoint:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        from connections.email import ses as sending
        from functions.notify.app import handler as notify_handler
        from infra.local import outbox

        ses = CountedSes(sending._ses())
        sending._ses = lambda: ses
        results = {}
        for duplicated in (False, True):
            reset_tables(endpoint)
            before = len(outbox.messages())
            calls, delivered = run(endpoint, notify_handler, ses, duplicated)
            assert len(outbox.messages()) - before == calls, "SES calls and moto's outbox disagree"
            results[duplicated] = (calls, delivered)
        (single, once), (duplicated_calls, deliveries) = results[False], results[True]
        per_event, naive = duplicated_calls / EVENTS, deliveries / once  # naive: an email per delivery
        say(f"1. Emails per event: {EVENTS} events; delivered once: {single} emails ({once} records)")
        say(f"   delivered {deliveries} times ({deliveries / once:.1f}x: batches twice, every record again):")
        say(f"   {duplicated_calls} emails, {per_event:.2f} per event (target 1.00)")
        say(f"   baseline without the idempotency key: {naive:.2f} per event, ratio {naive / per_event:.1f}x")

        reset_tables(endpoint)
        per_batch, digest = burst(endpoint, notify_handler, ses)
        calls = [c for _, c in per_batch]
        total = sum(calls) + digest
        naive_total, naive_batch = BURST * len(ADMINS), mapping_of("NotifyFunction").batch_size * len(ADMINS)
        say(f"2. SES calls per stream batch, {BURST} requests to one connection, {len(ADMINS)} admins:")
        say("   (records, SES calls) per batch: " + ", ".join(f"{r} {c}" for r, c in per_batch))
        say(f"   digest at the window's end: {digest}; max per batch: {max(calls)} (baseline {naive_batch})")
        say(f"   over the window: {total} (baseline {naive_total}, {naive_total / total:.0f}x fewer)")
        ok = single == duplicated_calls == EVENTS and max(calls) <= len(ADMINS) and total <= 2 * len(ADMINS)
        say(f"targets {'met' if ok else 'MISSED'} ({time.perf_counter() - began:.0f} s)")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
