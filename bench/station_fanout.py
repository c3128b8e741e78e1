"""Cost of ONE approval in a connection whose policy has 10,000 members and S stations (S = 1, 100, 1,000),
against the naive push of the whole list to every station on every change.

    .venv/bin/python bench/station_fanout.py   (2-4 minutes, moto-bound)

In this process: moto and the real handlers (approve, station sync, station messages); members and stations
(in sync, 25 per message) written directly. Per S: the approval, the stream replayed to StationSyncFunction
until no record passes the filter, every station answering Accepted. Targets: 100x fewer bytes; at most one
publish per station per batch, the new card; at full stations (500 held), one publish each within 10% of
the minimal Differential. Exit 1 if one is missed.
"""

import base64
import math
import sys
import time
from collections import Counter
from types import SimpleNamespace

import common
import seed
from common import DYNAMODB, count_publishes, measured, moto, moto_published, ops, stream_to, table

from connections.stations import ocpp

MEMBERS, SIZES, TARGET_RATIO, CHUNK, IOT_MESSAGE_LIMIT = 10_000, (1, 100, 1_000), 100.0, 25, 128 * 1024
FULL_STATIONS, FULL_CAPACITY, MAX_WAVES, MAX_ANSWER_ROUNDS = 2, 500, 5, 40


class Sync:
    """The stream replayed to the sync function, each invocation's calls, publishes and time noted."""

    def __init__(self, handler, endpoint: str) -> None:
        self.handler, self.invocations = handler, []
        self.replayer = stream_to("StationSyncFunction", self._invoke, endpoint)

    def _invoke(self, event: dict):
        answer, cost = measured(self.handler, event)
        self.invocations.append(cost)
        return answer

    def pump(self) -> SimpleNamespace:
        """Until no record passes the filter: the invocations, stream records read (seen) and passed."""
        self.invocations = []
        drained = self.replayer.drain(MAX_WAVES)
        return SimpleNamespace(invocations=self.invocations, seen=drained.read, passed=drained.passed)


def answer_all(handler, publishes: list[tuple[str, int, list]]) -> tuple[list[str], list, float]:
    """Every station answers its message Accepted, through StationMessagesFunction."""
    calls, sent, began = [], [], time.perf_counter()
    for station_id, _, frame in publishes:
        reply = ocpp.encode(ocpp.result(frame[1], {"status": "Accepted"}))
        _, cost = measured(handler, {"station_id": station_id, "frame": base64.b64encode(reply).decode()})
        calls += cost.calls
        sent += cost.publishes
    return calls, sent, time.perf_counter() - began


def tag(n: int) -> str:
    return f"{0x04A00000 + n:08X}"  # 4-byte card UIDs as 8 hex digits (MIFARE Classic style)


def pending_tag(n: int) -> str:
    return f"{0x0BB00000 + n:08X}"


def setup() -> SimpleNamespace:
    """An organization, a private connection and the policy it unlocks, through tests/support's Givens."""
    from tests.support.memberships import given_connection, given_organization
    from tests.support.stations import given_policy

    org = given_organization("Fanout")
    connection = given_connection(org, name="Members")
    policy = given_policy(org, [connection["connection_id"]], "Every site")["policy_id"]
    return SimpleNamespace(org=org, connection=connection, policy=policy)


def write_members(site: SimpleNamespace, pending: int) -> None:
    """The policy's members, each with a card and an Accepted entry; `pending` newcomers to approve."""
    from connections.stations.items import AllowChangeItem, AllowEntryItem, AllowListItem

    def items():
        for n in range(MEMBERS):
            driver = f"member-{n:05d}"
            listed = {"policy_id": policy, "id_tag": tag(n), "status": "Accepted", "seq": n + 1}
            yield from (seed.card(driver, tag(n)), seed.membership(site.org, connection, driver))
            yield seed.item(AllowEntryItem, (policy, tag(n)), driver_id=driver, **listed)
            yield AllowChangeItem(*AllowChangeItem.key(policy, n + 1), **listed)
        for n in range(pending):
            yield seed.card(f"newcomer-{n}", pending_tag(n))
            yield seed.membership(site.org, connection, f"newcomer-{n}", "pending")

    policy, connection = site.policy, site.connection["connection_id"]
    seed.write(items())
    AllowListItem(*AllowListItem.key(policy), policy_id=policy, seq=MEMBERS).save()


def write_stations(site: SimpleNamespace, ids: list[str], *, capacity: int | None, held: int) -> None:
    """Stations that acknowledged the policy's whole list as it stands (or its newest `capacity`)."""
    from connections.stations.delivery import policy_seq

    seq = policy_seq(site.policy)
    # The entries' sequences are 1..seq: a station holds the newest `held`.
    state = {"held_seq": seq, "held_count": held, "held_floor": max(1, seq - held + 1), "full_sent": held}
    state.update(local_auth_list_max_length=capacity)
    seed.write(seed.synced_station(site.org, i, site.policy, name=f"Bay {i}", **state) for i in ids)


def stations_of(policy: str) -> list:
    from connections.stations.items import StationItem

    return list(StationItem.gsi2.query(StationItem.policy_key(policy)))


def frame_bytes(version: int, update_type: str, entries: list[dict]) -> int:
    """A SendLocalList frame's size, as published (connections.stations.ocpp)."""
    payload = {"listVersion": version, "updateType": update_type, "localAuthorizationList": entries}
    return ocpp.size(ocpp.call("SendLocalList", payload)[1])


def full_push(tags: list[str], version: int, chunk: int | None) -> list[int]:
    """The frames' sizes of pushing the whole list: one Full, or a Full of `chunk` then Differentials."""
    entries = [{"idTag": t, "idTagInfo": {"status": "Accepted"}} for t in tags]
    if chunk is None:
        return [frame_bytes(version, "Full", entries)]
    parts = [entries[i : i + chunk] for i in range(0, len(entries), chunk)]
    return [
        frame_bytes(version + n, "Full" if n == 0 else "Differential", part) for n, part in enumerate(parts)
    ]


def approve(site: SimpleNamespace, n: int) -> list[str]:
    """Newcomer `n` approved through the admin handler; its DynamoDB calls."""
    from tests.support.memberships import decide

    common.fresh_counts()
    assert decide(site.connection, f"newcomer-{n}", "approve").status == 200
    return DYNAMODB.operations()


def in_sync(policy: str, ids=None) -> int:
    from connections.stations.delivery import policy_seq

    seq = policy_seq(policy)
    return sum(
        int(s.held_seq) == seq
        and not s.in_flight_id
        and (s.full_below is None if ids is not None else not s.needs_full)
        for s in stations_of(policy)
        if ids is None or s.station_id in ids
    )


def one_round(site: SimpleNamespace, n: int) -> SimpleNamespace:
    """Newcomer `n` approved at the policy's stations in sync; every figure of the round."""
    stations = stations_of(site.policy)
    versions = Counter(int(s.list_version) + 1 for s in stations)
    published_before = len(moto_published())
    site.stream.replayer.stream.skip_to_latest()
    r = SimpleNamespace(stations=len(stations), approve_calls=approve(site, n))
    r.sync = site.stream.pump()
    r.publishes = [p for i in r.sync.invocations for p in i.publishes]
    r.bytes = sum(b for _, b, _ in r.publishes)
    r.sync_calls = [c for i in r.sync.invocations for c in i.calls]
    r.answer_calls, answer_sent, r.answer_seconds = answer_all(site.messages, r.publishes)
    r.answer_publishes, r.answer_bytes = len(answer_sent), sum(b for _, b, _ in answer_sent)
    after = site.stream.pump()  # the answers' records: the filter should keep them all out
    if after.passed:
        raise SystemExit(f"the stations' answers invoked the sync function {len(after.invocations)} times")
    moto = moto_published()[published_before:]
    r.moto_publishes, r.moto_bytes = len(moto), sum(len(payload) for _, payload in moto)

    from connections.stations.items import AllowEntryItem

    pk, _ = AllowEntryItem.key(site.policy, "")
    found = AllowEntryItem.query(pk, AllowEntryItem.sk.startswith("TAG#"))
    tags = [e.id_tag for e in found if e.status == "Accepted"]
    r.list_size = len(tags)
    pushes = [(full_push(tags, v, None), full_push(tags, v, CHUNK), k) for v, k in versions.items()]
    r.baseline_bytes, r.baseline_publishes = sum(sum(w) * k for w, _, k in pushes), sum(k for *_, k in pushes)
    r.chunked_bytes = sum(sum(c) * k for _, c, k in pushes)
    r.chunked_publishes, r.biggest = sum(len(c) * k for _, c, k in pushes), max(w[0] for w, _, _ in pushes)
    wanted = [{"idTag": pending_tag(n), "idTagInfo": {"status": "Accepted"}}]
    r.right = sum(
        frame[2] == "SendLocalList"
        and frame[3]["updateType"] == "Differential"
        and frame[3]["localAuthorizationList"] == wanted
        for _, _, frame in r.publishes
    )
    r.in_sync = in_sync(site.policy)
    r.most_per_batch = common.most_to_one_station([i.publishes for i in r.sync.invocations])
    r.ratio = r.baseline_bytes / r.bytes if r.bytes else math.inf
    moto_agrees = (r.moto_publishes, r.moto_bytes) == (
        len(r.publishes) + r.answer_publishes,
        r.bytes + r.answer_bytes,
    )
    r.ok = r.ratio >= TARGET_RATIO and r.most_per_batch <= 1 and len(r.publishes) <= r.stations
    r.ok = r.ok and r.right == r.in_sync == r.stations and moto_agrees
    return r


def full_capacity(site: SimpleNamespace, n: int) -> bool:
    """The same approval at stations that hold their newest 500 entries (LocalAuthListMaxLength 500);
    reported, and whether it met its target."""
    ids = [f"FULL-{i}" for i in range(FULL_STATIONS)]
    write_stations(site, ids, capacity=FULL_CAPACITY, held=FULL_CAPACITY)
    site.stream.replayer.stream.skip_to_latest()
    calls = approve(site, n)
    sync = site.stream.pump()
    calls += [c for i in sync.invocations for c in i.calls]
    waiting = [p for i in sync.invocations for p in i.publishes]
    publishes, rounds = list(waiting), 0
    while waiting and rounds < MAX_ANSWER_ROUNDS:  # each station answers, then gets the next message
        answer_calls, waiting, _ = answer_all(site.messages, waiting)
        calls, publishes, rounds = calls + answer_calls, publishes + waiting, rounds + 1
    site.stream.pump()
    first: dict[str, tuple[str, int]] = {}
    for station_id, _, frame in publishes:
        first.setdefault(station_id, (frame[3]["updateType"], len(frame[3]["localAuthorizationList"])))
    # What the change needs at a full station: the new card, and the oldest card it holds deleted.
    oldest = tag(MEMBERS - FULL_CAPACITY)  # approximately: which one it is does not change the size
    new = {"idTag": pending_tag(n), "idTagInfo": {"status": "Accepted"}}
    minimal = frame_bytes(2, "Differential", [new, {"idTag": oldest}]) * len(ids)
    synced, sent = in_sync(site.policy, ids), sum(b for _, b, _ in publishes)
    entries = sum(len(f[3]["localAuthorizationList"]) for _, _, f in publishes)
    kinds = ", ".join(f"{kind} of {size} x{k}" for (kind, size), k in Counter(first.values()).items())
    print(
        f"\nInformational, {len(ids)} full stations (LocalAuthListMaxLength {FULL_CAPACITY}, holding"
        f" {FULL_CAPACITY}): {len(publishes)} publishes ({len(publishes) / len(ids):.0f}/station, {rounds}"
        f" answer rounds), {entries} entries, {sent:,} bytes, {len(calls)} DDB calls; first per station:"
        f" {kinds}; needed (one Differential: new card + oldest deleted) {len(ids)} publishes, {minimal:,}"
        f" bytes, sent/needed {sent / minimal:.2f}x; in sync {synced} of {len(ids)}"
    )
    return len(publishes) == len(ids) and sent <= 1.1 * minimal and synced == len(ids)


def report(rounds: list) -> None:
    """Two tables (service vs naive; checks) and a line per S (DynamoDB operations, time)."""
    print(f"\nOne approval, {MEMBERS:,} members on the policy's list, S stations in sync (service vs naive)")
    head = "S,list,publishes,bytes,DDB approve,DDB sync,DDB answers,naive publishes,naive bytes,ratio,target"
    rows = [
        (r.stations, f"{r.list_size:,}", len(r.publishes), f"{r.bytes:,}", len(r.approve_calls))
        + (f"{len(r.sync_calls)} ({len(r.sync.invocations)} inv.)", len(r.answer_calls))
        + (r.baseline_publishes, f"{r.baseline_bytes:,}", f"{r.ratio:,.0f}x", "ok" if r.ok else "FAIL")
        for r in rounds
    ]
    table([head.split(",")] + rows, indent="  ", right=True)
    print("  DDB: calls of approve, of the sync invocations, of the stations' answers (one each)")
    print("  naive: one Full of the list per station; chunked: a Full of 25, then Differentials of 25\n")
    head = "S,most/batch,new card,in sync,moto pub.,moto bytes,ours pub.,ours bytes,answers pub.,records read"
    head += ",passed,chunked pub.,chunked bytes,chunked/ours,one Full bytes"
    rows = [
        (r.stations, r.most_per_batch, f"{r.right}/{r.stations}", f"{r.in_sync}/{r.stations}")
        + (r.moto_publishes, f"{r.moto_bytes:,}", len(r.publishes) + r.answer_publishes)
        + (f"{r.bytes + r.answer_bytes:,}", r.answer_publishes, r.sync.seen, r.sync.passed)
        + (f"{r.chunked_publishes:,}", f"{r.chunked_bytes:,}", f"{r.chunked_bytes / r.bytes:,.0f}x")
        + (f"{r.biggest:,} ({'over' if r.biggest > IOT_MESSAGE_LIMIT else 'in'} 128 KB)",)
        for r in rounds
    ]
    table([head.split(",")] + rows, indent="  ", right=True)
    print("\n  DynamoDB operations and time (moto's, not DynamoDB's: its queries scan the whole table):")
    for r in rounds:
        invocations = ", ".join(f"{i.records} rec. {i.seconds:.2f} s" for i in r.sync.invocations)
        print(f"    S={r.stations:<5} sync: {ops(r.sync_calls)};  answers: {ops(r.answer_calls)};", end="")
        print(f"  sync invocations: {invocations};  {r.stations} answers {r.answer_seconds:.1f} s")


def main() -> int:
    began = time.perf_counter()
    with moto(counted=True) as endpoint:
        from functions.station_messages.app import handler as messages
        from functions.station_sync.app import handler as sync

        count_publishes()
        site = setup()
        write_members(site, pending=len(SIZES) + 1)
        site.messages, site.stream = messages, Sync(sync, endpoint)
        took = time.perf_counter() - began
        print(f"Setup: {MEMBERS:,} members (card, membership, entry): {took:.1f} s", flush=True)
        rounds, ids = [], []
        for n, size in enumerate(SIZES):
            step = time.perf_counter()
            new = [f"SITE-{i:04d}" for i in range(len(ids), size)]
            write_stations(site, new, capacity=None, held=MEMBERS + n)
            ids += new
            rounds.append(one_round(site, n))
            print(f"  S={size}: done in {time.perf_counter() - step:.1f} s", flush=True)
        report(rounds)

        from connections.stations.items import StationItem

        with StationItem.batch_write() as batch:
            for station_id in ids:
                batch.delete(StationItem(*StationItem.key(station_id)))
        full_ok = full_capacity(site, len(SIZES))

        errors = common.refused(common.REFUSED + DYNAMODB.refused())
        print(f"\nDynamoDB calls answered with an error, whole run: {errors}")
        print(f"Total time {time.perf_counter() - began:.1f} s")
        failed = [r.stations for r in rounds if not r.ok]
        if failed:  # targets: 100x fewer bytes, <= 1 publish per station per batch, the new card, in sync
            print(f"FAIL at S = {failed}: see the target column")
        if not full_ok:
            print("FAIL at full stations: one Differential each, within 10% of the minimal bytes, in sync")
        return 1 if failed or not full_ok else 0


if __name__ == "__main__":
    sys.exit(main())
