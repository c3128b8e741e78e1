"""Answering the calls a charger makes, as its central system, in the words of its OCPP version
(dialects.py); delivery.py sends its lists and reads the answers to them.

A transaction message is recorded as a session (sessions.recording) and answered as the specification
requires. Online authorization, in Authorize and in the session calls that carry a card, is the one
decision of access.authorize."""

from connections.platform.table import Found, Key, now
from connections.sessions import recording
from connections.sessions.items import SessionItem
from connections.stations import access, ocpp
from connections.stations.dialects import V16, V16_VERSION, V201, V201_VERSION, Dialect, dialect, iso
from connections.stations.items import StationItem

# How often a charger sends Heartbeat once accepted, and retries its boot while Pending (seconds).
HEARTBEAT_INTERVAL = 300
PENDING_INTERVAL = 60
# Reports answered with an empty CALLRESULT, as each version's specification requires.
ANSWERED_EMPTY = {
    V16_VERSION: {"StatusNotification"},
    V201_VERSION: {"StatusNotification", "NotifyEvent"},
}


# The calls that carry a card, whose item is read with the station's.
CARRYING = {"Authorize", "StartTransaction", "StopTransaction", "TransactionEvent"}


def reads(station_id: str, frame: ocpp.Frame) -> list[Key]:
    """The items a charger's message needs beside its station's, read in the same call (delivery.py): the
    session a transaction message names, the card a call carries, and a 1.6 StartTransaction's earlier
    self with the station's counter (docs/decisions/0039, 0044). The station, which says the version, is
    not read yet: each is looked for where either version puts it."""
    if frame.kind != ocpp.CALL or not isinstance(frame.payload, dict):
        return []
    keys: list[Key] = []
    named = recording.named_transaction(frame.action, frame.payload)
    if named is not None:
        keys.append(SessionItem.key(station_id, named))
    card = (V16.card_of(frame.payload) or V201.card_of(frame.payload)) if frame.action in CARRYING else None
    if card is not None:
        keys.append(access.card_key(card))
    if frame.action == "StartTransaction":
        keys += recording.start_keys(station_id, frame.payload)
    return keys


def answer(station: StationItem, frame: ocpp.Frame, read: Found) -> list:
    """The answer to a call a charger made (`read`: the items of `reads`): a CALLRESULT, or a CALLERROR
    for what is not handled."""
    words = dialect(station.ocpp_version)
    v16 = words.version == V16_VERSION
    match frame.action:
        case "BootNotification":
            return ocpp.result(frame.unique_id, _boot("Accepted", HEARTBEAT_INTERVAL))
        case "Heartbeat":
            return ocpp.result(frame.unique_id, {"currentTime": iso(now())})
        case action if action in ANSWERED_EMPTY[words.version]:
            return ocpp.result(frame.unique_id, {})
        case "Authorize":
            return _with_card(station, words, frame, read)
        case "StartTransaction" | "MeterValues" | "StopTransaction" if v16:
            return _transaction(station, words, frame, read)
        case "TransactionEvent" if not v16:
            return _transaction(station, words, frame, read)
        case "DataTransfer" if v16:
            return ocpp.result(frame.unique_id, {"status": "UnknownVendorId"})  # we know no vendor's data
    return ocpp.error(frame.unique_id, "NotImplemented", f"{frame.action} is not handled by this service")


def _transaction(station: StationItem, words: Dialect, frame: ocpp.Frame, read: Found) -> list:
    """A transaction message, recorded (sessions.recording) and answered; one the service cannot read is
    refused with the version's format error, and nothing is recorded."""
    try:
        report = recording.report(words.version, frame.action or "", frame.payload)
    except recording.Unreadable as error:
        return ocpp.error(frame.unique_id, words.format_error, str(error))
    if report is None:  # MeterValues outside a transaction: nothing to record
        return ocpp.result(frame.unique_id, {})
    if frame.action == "MeterValues":
        recording.record(station, report, None, read, why=False)
        return ocpp.result(frame.unique_id, {})
    return _with_card(station, words, frame, read, report, optional=frame.action != "StartTransaction")


def _with_card(
    station: StationItem,
    words: Dialect,
    frame: ocpp.Frame,
    read: Found,
    report: recording.Report | None = None,
    *,
    optional: bool = False,
) -> list:
    """The answer to a call that names a card (`optional`: {} without a card): the online decision on it,
    and for a transaction message (`report`) its recording; a 1.6 StartTransaction is answered its
    transactionId."""
    card = words.card_of(frame.payload) if words.card_field in frame.payload else None
    if card is None and (not optional or words.card_field in frame.payload):
        return ocpp.error(
            frame.unique_id, words.format_error, f"the card's id must be 1 to {words.id_max} characters"
        )
    if report is None:
        assert card is not None
        online: access.Online | None = access.authorize(station, card, now(), read, why=words.says_why)
    else:
        recorded = recording.record(station, report, card, read, why=words.says_why)
        online = recorded.online
    if online is None:
        return ocpp.result(frame.unique_id, {})
    answer: dict[str, object] = {
        words.info_field: words.id_token_info(online.status, online.until, online.message)
    }
    if report is not None and report.transaction_id is None:
        answer["transactionId"] = int(recorded.transaction_id)
    return ocpp.result(frame.unique_id, answer)


def pending(frame: ocpp.Frame) -> list:
    """The answer to the BootNotification of a charger provisioned for an organization that has not
    registered it yet: retry later (the same words in 1.6 and 2.0.1)."""
    return ocpp.result(frame.unique_id, _boot("Pending", PENDING_INTERVAL))


def _boot(status: str, interval: int) -> dict:
    return {"status": status, "currentTime": iso(now()), "interval": interval}
