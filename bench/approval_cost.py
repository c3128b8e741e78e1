"""What ONE approval costs on AWS, counted: a driver with a card asks to join a connection (the admins may
hear of it), an admin approves, the table's stream reaches StationSyncFunction (the card to the
organization's one station, which accepts) and NotifyFunction (the driver's email). docs/cost.md prices
these counts.

    .venv/bin/python bench/approval_cost.py   (about 30 s)

In this process: moto and the real handlers (tests/support's Givens, the stream replayed as Lambda's
mappings do, the station played by tests/support/stations.Station). Counted per function: invocations,
handler seconds (wall, against moto in this process: an upper bound of DynamoDB's few milliseconds), DynamoDB
calls by operation with the items each wrote or read, publishes and their bytes, SES sends. Rounds: ROUNDS
approvals, each of a new driver; the medians are printed.
"""

import statistics
import sys
import time
from collections import Counter, defaultdict

from common import DYNAMODB, PUBLISHED, count_publishes, moto, stream_to, table

ROUNDS = 9


def counted(counts: dict, act) -> None:
    """Run `act` (which says how many invocations it made), adding what it cost to `counts`."""
    DYNAMODB.reset()
    PUBLISHED.clear()
    began = time.perf_counter()
    counts["invocations"] += act()
    counts["seconds"] += time.perf_counter() - began
    for op in DYNAMODB.operations():
        counts[op] += 1
    counts["items read"] += DYNAMODB.items_read()
    counts["publishes"] += len(PUBLISHED)
    counts["bytes"] += sum(size for _, size, _ in PUBLISHED)


def main() -> int:
    with moto(counted=True) as endpoint:
        from functions.notify.app import handler as notify_handler
        from tests.support.api import FakeLambdaContext
        from tests.support.mail import clear_outbox, sent
        from tests.support.memberships import decide, given_connection, given_organization, request_membership
        from tests.support.stations import given_card, given_policy, given_synced_station, sync_stream

        count_publishes()
        organization = given_organization()
        connection = given_connection(organization, approval_mode="manual", public=True)
        policy = given_policy(organization, [connection["connection_id"]])
        sync = sync_stream()
        station = given_synced_station(sync, organization, "CP-COST", policy["policy_id"])
        notify = stream_to(
            "NotifyFunction", lambda e: notify_handler(e, FakeLambdaContext()), endpoint, delivered=[]
        )
        notify.drain()

        def deliver(replayer) -> int:
            before = len(replayer.delivered)
            replayer.drain()
            return len(replayer.delivered) - before

        def answer_station() -> int:
            frames = station.take()
            for frame in frames:
                station.accept(frame)
            return len(frames)

        def one(verb: str, *args) -> int:
            answer = request_membership(*args) if verb == "request" else decide(*args, "approve")
            assert answer.status in (200, 201), answer.body
            return 1

        per_round: list[dict[str, dict]] = []
        for n in range(ROUNDS):
            driver, card = f"driver-{n}", f"TAG-COST-{n:03d}"
            given_card(driver, card)
            clear_outbox()
            counts: dict[str, dict] = defaultdict(lambda: defaultdict(float))
            for phase, steps in (
                ("request", [("RequestConnectionFunction", lambda d=driver: one("request", connection, d))]),
                ("approve", [("ApproveFunction", lambda d=driver: one("approve", connection, d))]),
            ):
                steps += [("StationSyncFunction (stream)", lambda: deliver(sync))]
                if phase == "approve":
                    steps += [("StationMessagesFunction (answer)", answer_station)]
                steps += [("NotifyFunction (stream)", lambda: deliver(notify))]
                for function, act in steps:
                    counted(counts[f"{phase}: {function}"], act)
                counts[f"{phase}: NotifyFunction (stream)"]["SES emails"] = len(sent())
                clear_outbox()
            assert card.casefold() in station.entries, "the card did not reach the station"
            per_round.append(counts)

        print(f"One approval, one station in sync: median of {ROUNDS} approvals (each of a new driver)")
        functions = list(per_round[0])
        keys = sorted({k for r in per_round for f in r.values() for k in f} - {"seconds", "invocations"})
        rows = [("function", "invocations", "handler ms", *keys)]
        for function in functions:
            median = {k: statistics.median(r[function].get(k, 0) for r in per_round) for k in keys}
            rows.append(
                (
                    function,
                    f"{statistics.median(r[function]['invocations'] for r in per_round):g}",
                    f"{statistics.median(r[function]['seconds'] for r in per_round) * 1000:.0f}",
                    *(f"{median[k]:g}" for k in keys),
                )
            )
        table(rows, indent="  ")
        totals = Counter()
        for function in functions:
            for k in keys:
                totals[k] += statistics.median(r[function].get(k, 0) for r in per_round)
        print("  total:", ", ".join(f"{k} {v:g}" for k, v in sorted(totals.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
