"""Answering the calls a charger makes, as its central system, in the words of its OCPP version
(dialects.py); delivery.py sends its lists and reads the answers to them.

Sessions are not recorded here (a later issue): a charger is answered as the specification requires, so
that it can operate. Online authorization, in Authorize and in the session calls that carry a card, is the
one decision of access.authorize."""

from pynamodb.expressions.update import Action

from connections.platform.table import now
from connections.stations import access, ocpp
from connections.stations.dialects import V201_VERSION, Dialect, dialect, iso
from connections.stations.items import StationItem, TransactionsItem

# How often a charger sends Heartbeat once accepted, and retries its boot while Pending (seconds).
HEARTBEAT_INTERVAL = 300
PENDING_INTERVAL = 60


def answer(station: StationItem, frame: ocpp.Frame) -> list:
    """The answer to a call a charger made: a CALLRESULT, or a CALLERROR for what is not handled."""
    words = dialect(station.ocpp_version)
    payload = frame.payload
    match frame.action:
        case "BootNotification":
            return ocpp.result(frame.unique_id, _boot("Accepted", HEARTBEAT_INTERVAL))
        case "Heartbeat":
            return ocpp.result(frame.unique_id, {"currentTime": iso(now())})
        case "StatusNotification":
            return ocpp.result(frame.unique_id, {})
        case "Authorize":
            card = _card(
                words, payload.get("idToken") if words.version == V201_VERSION else payload.get("idTag")
            )
            if card is None:
                return _malformed(words, frame)
            return ocpp.result(frame.unique_id, {_info_field(words): _authorize(station, words, card)})
    if words.version == V201_VERSION:
        return _v201(station, words, frame)
    return _v16(station, words, frame)


def _v16(station: StationItem, words: Dialect, frame: ocpp.Frame) -> list:
    payload = frame.payload
    match frame.action:
        case "StartTransaction":
            card = _card(words, payload.get("idTag"))
            if card is None:
                return _malformed(words, frame)
            info = _authorize(station, words, card)
            return ocpp.result(
                frame.unique_id, {"idTagInfo": info, "transactionId": _transaction_id(station)}
            )
        case "StopTransaction":
            if "idTag" not in payload:
                return ocpp.result(frame.unique_id, {})
            card = _card(words, payload.get("idTag"))
            if card is None:
                return _malformed(words, frame)
            return ocpp.result(frame.unique_id, {"idTagInfo": _authorize(station, words, card)})
        case "MeterValues":
            return ocpp.result(frame.unique_id, {})
        case "DataTransfer":
            return ocpp.result(frame.unique_id, {"status": "UnknownVendorId"})  # we know no vendor's data
    return _not_implemented(frame)


def _v201(station: StationItem, words: Dialect, frame: ocpp.Frame) -> list:
    payload = frame.payload
    match frame.action:
        case "TransactionEvent":
            if "idToken" not in payload:
                return ocpp.result(frame.unique_id, {})
            card = _card(words, payload.get("idToken"))
            if card is None:
                return _malformed(words, frame)
            return ocpp.result(frame.unique_id, {"idTokenInfo": _authorize(station, words, card)})
        case "NotifyEvent":
            return ocpp.result(frame.unique_id, {})
    return _not_implemented(frame)


def pending(frame: ocpp.Frame) -> list:
    """The answer to the BootNotification of a charger provisioned for an organization that has not
    registered it yet: retry later (the same words in 1.6 and 2.0.1)."""
    return ocpp.result(frame.unique_id, _boot("Pending", PENDING_INTERVAL))


def _boot(status: str, interval: int) -> dict:
    return {"status": status, "currentTime": iso(now()), "interval": interval}


def _card(words: Dialect, given) -> str | None:
    """The card's id from an idTag (1.6) or an idToken (2.0.1); None when malformed."""
    if words.version == V201_VERSION:
        given = given.get("idToken") if isinstance(given, dict) else None
    return given if isinstance(given, str) and 0 < len(given) <= words.id_max else None


def _info_field(words: Dialect) -> str:
    return "idTokenInfo" if words.version == V201_VERSION else "idTagInfo"


def _authorize(station: StationItem, words: Dialect, card: str) -> dict:
    online = access.authorize(station, card, now(), why=words.version == V201_VERSION)
    return words.id_token_info(online.status, online.until, online.message)


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


def _malformed(words: Dialect, frame: ocpp.Frame) -> list:
    return ocpp.error(
        frame.unique_id, words.format_error, f"the card's id must be 1 to {words.id_max} characters"
    )


def _not_implemented(frame: ocpp.Frame) -> list:
    return ocpp.error(frame.unique_id, "NotImplemented", f"{frame.action} is not handled by this service")
