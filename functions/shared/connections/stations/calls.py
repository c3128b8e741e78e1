"""Answering the calls a charger makes, as its central system, in the words of its OCPP version
(dialects.py); delivery.py sends its lists and reads the answers to them.

Sessions are not recorded here (a later issue): a charger is answered as the specification requires, so
that it can operate. Online authorization, in Authorize and in the session calls that carry a card, is the
one decision of access.authorize."""

from pynamodb.expressions.update import Action

from connections.platform.table import now
from connections.stations import access, ocpp
from connections.stations.dialects import V16_VERSION, V201_VERSION, Dialect, dialect, iso
from connections.stations.items import StationItem, TransactionsItem

# How often a charger sends Heartbeat once accepted, and retries its boot while Pending (seconds).
HEARTBEAT_INTERVAL = 300
PENDING_INTERVAL = 60
# Reports answered with an empty CALLRESULT, as each version's specification requires.
ANSWERED_EMPTY = {
    V16_VERSION: {"StatusNotification", "MeterValues"},
    V201_VERSION: {"StatusNotification", "NotifyEvent"},
}


def answer(station: StationItem, frame: ocpp.Frame) -> list:
    """The answer to a call a charger made: a CALLRESULT, or a CALLERROR for what is not handled."""
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
            return _with_card(station, words, frame)
        case "StartTransaction" if v16:
            return _with_card(station, words, frame, start=True)
        case "StopTransaction" if v16:
            return _with_card(station, words, frame, optional=True)
        case "TransactionEvent" if not v16:
            return _with_card(station, words, frame, optional=True)
        case "DataTransfer" if v16:
            return ocpp.result(frame.unique_id, {"status": "UnknownVendorId"})  # we know no vendor's data
    return ocpp.error(frame.unique_id, "NotImplemented", f"{frame.action} is not handled by this service")


def _with_card(
    station: StationItem, words: Dialect, frame: ocpp.Frame, *, optional: bool = False, start: bool = False
) -> list:
    """The answer to a call that names a card: the online decision on it (`optional`: {} without a card),
    and for a 1.6 StartTransaction (`start`) a new transactionId."""
    if optional and words.card_field not in frame.payload:
        return ocpp.result(frame.unique_id, {})
    card = words.card_of(frame.payload)
    if card is None:
        return ocpp.error(
            frame.unique_id, words.format_error, f"the card's id must be 1 to {words.id_max} characters"
        )
    online = access.authorize(station, card, now(), why=words.says_why)
    answer: dict[str, object] = {
        words.info_field: words.id_token_info(online.status, online.until, online.message)
    }
    if start:
        answer["transactionId"] = _transaction_id(station)
    return ocpp.result(frame.unique_id, answer)


def pending(frame: ocpp.Frame) -> list:
    """The answer to the BootNotification of a charger provisioned for an organization that has not
    registered it yet: retry later (the same words in 1.6 and 2.0.1)."""
    return ocpp.result(frame.unique_id, _boot("Pending", PENDING_INTERVAL))


def _boot(status: str, interval: int) -> dict:
    return {"status": status, "currentTime": iso(now()), "interval": interval}


def _transaction_id(station: StationItem) -> int:
    """A new transactionId, unique for the station (docs/decisions/0028): the last one given it, plus one."""
    counter = TransactionsItem(*TransactionsItem.key(station.station_id))
    actions: list[Action] = [
        TransactionsItem.last.add(1),
        TransactionsItem.station_id.set(station.station_id),
        TransactionsItem.kind.set(TransactionsItem),
    ]
    counter.update(actions=actions)
    return int(counter.last)
