"""A 2.0.1 Full of 500 entries: how many SendLocalList messages and bytes it takes at a station's
ItemsPerMessage (25) and BytesPerMessage (none, 4096, 2048, 1024), planned exactly as delivery plans it
(local_list.need / message, cut by local_list.within_bytes, worded by dialects.V201, framed by ocpp.call)
with the station accepting each message in turn. Pure planning: no moto, no network.

The cards are RFID UIDs (8 characters, ISO14443), one in ten an eMAID of 36 characters, one in four with
an expiry. Every frame is validated against the `ocpp` package's 2.0.1 schema. Exit 1 if a frame exceeds
the station's BytesPerMessage or the station does not end holding all 500 entries.
Run: .venv/bin/python bench/ocpp201_full.py  (about a second)"""

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import common  # first: it puts the repository on sys.path
from ocpp.messages import MessageType, get_validator

from connections.stations import local_list as ll
from connections.stations import ocpp
from connections.stations.dialects import V201
from connections.stations.local_list import Entry, Fetch, Send, StationList, TagStatus

ENTRIES, ITEMS = 500, 25
EXPIRY = datetime(2027, 6, 30, 18, tzinfo=UTC)


def card(seq: int) -> Entry:
    if seq % 10 == 0:
        return Entry(f"DE-ACM-C{seq:08d}-EMAID-ABCDEFGHIJK"[:36], TagStatus.ACCEPTED, None, seq, "eMAID")
    expires = EXPIRY + timedelta(days=seq) if seq % 4 == 0 else None
    return Entry(f"04{seq * 7919:06X}"[:8], TagStatus.ACCEPTED, expires, seq)


LIST = [card(s) for s in range(1, ENTRIES + 1)]  # the policy's entries, by sequence
VALIDATOR = get_validator(MessageType.Call, "SendLocalList", "2.0.1")


def read(wanted) -> list[Entry]:
    """What delivery's EntryReader reads for `wanted`, from LIST."""
    newest_first = sorted(LIST, key=lambda e: -e.seq)
    match wanted.fetch:
        case Fetch.TOP:
            return newest_first[: wanted.limit + 1]
        case Fetch.BELOW:
            return [e for e in newest_first if e.seq < wanted.below][: wanted.limit + 1]
    return []


def full(limit: int | None) -> tuple[int, int, int]:
    """(messages, bytes, largest frame) of the whole Full; checks each frame and what the station holds."""
    state, held, messages, total, largest = StationList(chunk=ITEMS), set(), 0, 0, 0

    def plan(chunk: int) -> Send | None:
        trial = replace(state, chunk=chunk)
        wanted = ll.need(trial, ENTRIES)
        return ll.message(trial, wanted, read(wanted), ENTRIES)

    def size(send: Send) -> int:
        return ocpp.size(ocpp.call("SendLocalList", V201.send_local_list(send))[1])

    while True:
        send = plan(ITEMS) if limit is None else ll.within_bytes(plan, ITEMS, lambda s: size(s) <= limit)
        if send is None:
            break
        assert isinstance(send, Send), send
        payload = V201.send_local_list(send)
        VALIDATOR.validate(payload)
        frame_bytes = size(send)
        if limit is not None and frame_bytes > limit:
            sys.exit(f"a frame of {frame_bytes} bytes exceeds BytesPerMessage {limit}")
        held |= {e["idToken"]["idToken"] for e in payload.get("localAuthorizationList", [])}
        messages, total, largest = messages + 1, total + frame_bytes, max(largest, frame_bytes)
        state = send.then
    if len(held) != ENTRIES:
        sys.exit(f"the station holds {len(held)} of {ENTRIES} entries")
    return messages, total, largest


def main() -> None:
    print(f"2.0.1 Full of {ENTRIES} entries, ItemsPerMessage {ITEMS}")
    rows = [(limit or "none", *full(limit)) for limit in (None, 4096, 2048, 1024)]
    common.table([("BytesPerMessage", "messages", "bytes", "largest frame"), *rows], right=True)


if __name__ == "__main__":
    main()
