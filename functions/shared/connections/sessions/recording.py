"""Sessions recorded from what chargers report: each transaction message (1.6 StartTransaction, MeterValues
with a transactionId, StopTransaction; 2.0.1 TransactionEvent) read as a Report, merged into the session's
item by pure rules (merge), and stored by a thin step (record) that answers the charger as Authorize does.

Chargers that were offline send their queued messages late, sometimes twice, and in any order; the merge
is written so that the session comes out the same whatever the order and repeats: 2.0.1 events already
applied (seqNo) are skipped, a meter reading replaces the last one only when it is newer, the start's data
only comes from a start, and an ended session keeps its end (a later message never rewrites it with older
data). Every write is conditional on the item's version (SessionItem.version): a message that lost a race
reads the item again and merges again. At most 3 DynamoDB calls a message (docs/decisions/0039)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from pynamodb.exceptions import PutError, TransactWriteError

from connections.platform.table import Found, Key, batch_get, now, transaction
from connections.sessions import pricing
from connections.sessions.items import NO_START, UNKNOWN_CARD, SessionItem, SessionPrice, StartItem
from connections.stations import access
from connections.stations.access import Admission, Online
from connections.stations.items import StationItem, TransactionsItem
from connections.stations.policy import Price

# A message whose timestamp is this much before its arrival was queued by a charger that was offline: it
# accepted the card on its own (OCPP's offline behaviour). More than a network's delay or a clock's drift.
OFFLINE_AFTER = timedelta(minutes=2)
ENERGY = "Energy.Active.Import.Register"  # the measurand a session's energy is read from (both versions)
# Writes that lost a race to another message of the same transaction are merged again, this many times.
TRIES = 5
START, UPDATE, END = "start", "update", "end"


@dataclass(frozen=True)
class Report:
    """What one transaction message says of its transaction; readings are (when, Wh) of the energy
    register."""

    transaction_id: str | None  # None: a 1.6 StartTransaction, whose id this service gives
    event: str  # START, UPDATE or END
    at: datetime  # the charger's timestamp of the message
    connector_id: int | None = None
    evse_id: int | None = None
    id_tag: str | None = None
    id_token_type: str | None = None
    readings: tuple[tuple[datetime, int], ...] = ()
    meter_start_wh: int | None = None  # a start's reading
    meter_stop_wh: int | None = None  # an end's reading
    stop_reason: str | None = None
    charging_state: str | None = None
    seq_no: int | None = None  # 2.0.1
    offline: bool = False  # 2.0.1: the charger says it was offline when the event happened


def _time(text: str) -> datetime:
    """A charger's time in UTC, as every stored time and index key is; OCPP requires an offset."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset")
    return at.astimezone(UTC)


# A 2.0.1 transactionId is the charger's own string (at most 36 characters, as the schema says).
TRANSACTION_ID_MAX = 36


def _transaction_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= TRANSACTION_ID_MAX:
        raise ValueError(f"transactionId must be a string of 1 to {TRANSACTION_ID_MAX} characters")
    return value


def _wh(sampled: dict) -> int | None:
    """The energy register's value in Wh, or None for another measurand or a phase's part."""
    if sampled.get("measurand", ENERGY) != ENERGY or sampled.get("phase"):
        return None
    unit = sampled.get("unit") or (sampled.get("unitOfMeasure") or {}).get("unit") or "Wh"
    multiplier = (sampled.get("unitOfMeasure") or {}).get("multiplier", 0)
    try:
        value = Decimal(str(sampled["value"])).scaleb(multiplier)
    except (ArithmeticError, KeyError, ValueError):
        return None  # SignedData, or unreadable: not a reading this service can use
    if unit.lower() == "kwh":
        value *= 1000
    elif unit.lower() != "wh":
        return None
    return int(value.to_integral_value())


def readings(meter_values: Iterable[dict]) -> tuple[tuple[datetime, int], ...]:
    """The energy register's readings in a list of MeterValue (either version), oldest first."""
    found = [
        (_time(value["timestamp"]), wh)
        for value in meter_values
        for sampled in value.get("sampledValue", [])
        if (wh := _wh(sampled)) is not None
    ]
    return tuple(sorted(found))


class Unreadable(ValueError):
    """A transaction message missing what its schema requires, or with a value of the wrong type."""


def named_transaction(action: str | None, payload: object) -> str | None:
    """The transactionId a message names, looked for where either version puts it (its station, which
    says its version, is read in the same call as the session: calls.reads), or None."""
    if not isinstance(payload, dict):
        return None
    if action in ("MeterValues", "StopTransaction"):  # 1.6 (2.0.1's MeterValues names none)
        named = payload.get("transactionId")
    elif action == "TransactionEvent":  # 2.0.1
        info = payload.get("transactionInfo")
        named = info.get("transactionId") if isinstance(info, dict) else None
    else:
        return None
    named = str(named) if isinstance(named, int | str) else None
    return named if named and len(named) <= TRANSACTION_ID_MAX else None


def report(version: str, action: str, payload: dict) -> Report | None:
    """A transaction message of an OCPP version ("1.6", "2.0.1") as a Report (None: about no
    transaction), or Unreadable, saying what is wrong: the service does not validate what chargers send
    against the schemas (stations/ocpp.py), so a malformed message fails here, before anything is written."""
    try:
        return report_16(action, payload) if version == "1.6" else report_201(payload)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
        raise Unreadable(f"{action} cannot be read: {type(error).__name__} {error}"[:200]) from None


def report_16(action: str, payload: dict) -> Report | None:
    """A 1.6 transaction message as a Report (None: not about a transaction, such as MeterValues without
    a transactionId)."""
    match action:
        case "StartTransaction":
            return Report(
                None,
                START,
                _time(payload["timestamp"]),
                connector_id=payload["connectorId"],
                id_tag=payload["idTag"],
                meter_start_wh=payload["meterStart"],
            )
        case "MeterValues" if payload.get("transactionId") is not None:
            found = readings(payload["meterValue"])
            return Report(
                str(payload["transactionId"]),
                UPDATE,
                found[-1][0] if found else now(),
                connector_id=payload["connectorId"] or None,  # 0: the main meter, not a connector
                readings=found,
            )
        case "StopTransaction":
            return Report(
                str(payload["transactionId"]),
                END,
                _time(payload["timestamp"]),
                id_tag=payload.get("idTag"),
                readings=readings(payload.get("transactionData", [])),
                meter_stop_wh=payload["meterStop"],
                stop_reason=payload.get("reason", "Local"),  # 1.6: absent means Local
            )
    return None


def report_201(payload: dict) -> Report:
    """A 2.0.1 TransactionEvent as a Report: Started's first reading is its meter start, Ended's last its
    meter stop."""
    info, token, evse = payload["transactionInfo"], payload.get("idToken") or {}, payload.get("evse") or {}
    event = {"Started": START, "Updated": UPDATE, "Ended": END}[payload["eventType"]]
    found = readings(payload.get("meterValue", []))
    return Report(
        _transaction_id(info["transactionId"]),
        event,
        _time(payload["timestamp"]),
        connector_id=evse.get("connectorId"),
        evse_id=evse.get("id"),
        id_tag=token.get("idToken"),
        id_token_type=token.get("type"),
        readings=found,
        meter_start_wh=found[0][1] if event == START and found else None,
        meter_stop_wh=found[-1][1] if event == END and found else None,
        stop_reason=info.get("stoppedReason", "Local") if event == END else None,  # absent means Local
        charging_state=info.get("chargingState"),
        seq_no=payload["seqNo"],
        offline=bool(payload.get("offline")),
    )


@dataclass(frozen=True)
class Card:
    """What the message's card says of the session: how it was let in and whose it is."""

    authorized_by: str
    driver_id: str | None
    applied: pricing.Applied | None = None  # the price, when this message fixes it
    flags: tuple[str, ...] = field(default=())


def merge(session: SessionItem, report: Report, card: Card | None) -> bool:
    """Apply one message to the session, whatever came before it; False when it changes nothing (a
    duplicate)."""
    before = session.serialize(null_check=False)
    if report.seq_no is not None:
        if report.seq_no in session.seq_nos:
            return False
        session.seq_nos = sorted([*session.seq_nos, report.seq_no])
    _identity(session, report)
    if card is not None:
        if session.authorized_by == "unknown" or report.event == START:
            session.authorized_by = card.authorized_by
        session.driver_id = session.driver_id or card.driver_id
        session.flags = sorted({*session.flags, *card.flags})
        # Fixed at the start; a session whose start has not come yet is priced at its end until it does.
        if card.applied is not None and (
            session.priced_at is None or (report.event == START and session.started_at is None)
        ):
            _fix_price(session, card.applied, report.at)
    ended = session.status == "ended"
    if report.event == START:
        session.started_at, session.flags = report.at, [f for f in session.flags if f != NO_START]
        if report.meter_start_wh is not None:
            session.meter_start_wh = report.meter_start_wh
    elif session.started_at is None and report.readings:
        # No start yet: the lowest reading stands for it until the start comes (the register only rises).
        lowest = min(wh for _, wh in report.readings)
        if session.meter_start_wh is None or lowest < session.meter_start_wh:
            session.meter_start_wh = lowest
    if not ended:
        for moment, wh in report.readings:
            if session.meter_last_at is None or moment > session.meter_last_at:
                session.meter_last_wh, session.meter_last_at = wh, moment
        if report.charging_state:
            session.charging_state = report.charging_state
    if report.event == END and not ended:
        session.status, session.ended_at, session.stop_reason = "ended", report.at, report.stop_reason
        if report.meter_stop_wh is not None:
            session.meter_last_wh, session.meter_last_at = report.meter_stop_wh, report.at
        if session.started_at is None:
            session.flags = sorted({*session.flags, NO_START})
    _account(session)
    return session.serialize(null_check=False) != before


def _identity(session: SessionItem, report: Report) -> None:
    session.connector_id = session.connector_id or report.connector_id
    session.evse_id = session.evse_id or report.evse_id
    session.id_tag = session.id_tag or report.id_tag
    session.id_token_type = session.id_token_type or report.id_token_type


def _fix_price(session: SessionItem, applied: pricing.Applied, at: datetime) -> None:
    session.price, session.everyone_price = _stored(applied.price), _stored(applied.everyone)
    session.group_connection_id, session.group_name = applied.group_connection_id, applied.group_name
    session.currency = (applied.price or applied.everyone or Price()).currency
    session.priced_at = at


def _stored(price: Price | None) -> SessionPrice | None:
    if price is None:
        return None
    return SessionPrice(
        currency=price.currency,
        per_kwh=str(price.per_kwh),
        per_hour=str(price.per_hour),
        session_fee=str(price.session_fee),
    )


def _price(stored: SessionPrice | None) -> Price | None:
    return Price.parse(stored.as_dict()) if stored is not None else None


def _account(session: SessionItem) -> None:
    """Energy from the readings; the cost once the session ended and its price is fixed."""
    if session.meter_start_wh is not None and session.meter_last_wh is not None:
        session.energy_wh = max(0, int(session.meter_last_wh) - int(session.meter_start_wh))
    if session.status != "ended" or session.priced_at is None or session.ended_at is None:
        return
    began = session.started_at or session.ended_at  # no start: its duration is not known, none is charged
    session.cost = str(pricing.cost(_price(session.price), session.energy_wh, began, session.ended_at))
    session.everyone_cost = (
        str(pricing.cost(_price(session.everyone_price), session.energy_wh, began, session.ended_at))
        if session.everyone_price is not None
        else None
    )


# --- Stored


@dataclass(frozen=True)
class Recorded:
    online: Online | None  # the answer about the message's card (None: it named none)
    transaction_id: str


def record(station: StationItem, report: Report, card_id: str | None, read: Found, *, why: bool) -> Recorded:
    """Record a transaction message and answer about its card: the session and the card, read with the
    station's item (`read`, calls.reads), the policy with the driver's memberships (access.admit), one
    conditional write."""
    arrived = now()
    admission = access.admit(station, card_id, arrived, read, why=why) if card_id is not None else None
    if report.transaction_id is None:
        assert admission is not None  # a 1.6 StartTransaction carries its card
        return _start_16(station, report, admission, read, arrived)
    key = SessionItem.key(station.station_id, report.transaction_id)
    stored = read.get(key) if read.read(key) else _read(key)
    for _ in range(TRIES):
        session = stored or _new(station, report.transaction_id)
        if not merge(session, report, _card(station, report, admission, arrived)):
            break
        try:
            _stamp(session).save()
            break
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        stored = _read(key)
    else:  # lost every race: the message fails (and the charger sends it again), never dropped unsaid
        raise RuntimeError(f"{station.station_id}: session {report.transaction_id} kept changing")
    return Recorded(admission.online if admission else None, report.transaction_id)


# After a start found its number taken, the sessions of this many numbers from it are read with the
# counter again, to skip those taken in one go.
AHEAD = 50


def start_keys(station_id: str, payload: dict) -> list[Key]:
    """What a 1.6 StartTransaction reads with its station (calls.reads): the same start seen before, and
    the station's counter; none for one that cannot be read (it is refused)."""
    try:
        started = report_16("StartTransaction", payload)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
        return []
    if started is None or None in (started.connector_id, started.id_tag, started.meter_start_wh):
        return []  # a field null: the message is refused when it is answered
    return [_start_key(station_id, started), TransactionsItem.key(station_id)]


def _start_key(station_id: str, report: Report) -> Key[StartItem]:
    assert report.connector_id is not None and report.id_tag is not None and report.meter_start_wh is not None
    return StartItem.key(
        station_id, report.connector_id, report.id_tag, report.at.isoformat(), report.meter_start_wh
    )


def _start_16(
    station: StationItem, report: Report, admission: Admission, read: Found, arrived: datetime
) -> Recorded:
    """A 1.6 StartTransaction: the id of the same start seen before, or the station's next one given in
    the transaction that writes the session (docs/decisions/0039: the same id for a repeat). A number
    already taken by a session this service never numbered (a charger moved from another system reports
    its own) is skipped, so that later starts are not refused. A foreign session reported only after its
    number was given here merges into that session, as it would have before (decision 0044)."""
    station_id = station.station_id
    start_key, counter_key = _start_key(station_id, report), TransactionsItem.key(station_id)
    found = read
    for _ in range(TRIES):
        known = found.get(start_key)
        if known is not None:
            return Recorded(admission.online, known.transaction_id)
        counter = found.get(counter_key)
        last = int(counter.last) if counter else 0
        number = next(n for n in count(last + 1) if SessionItem.key(station_id, str(n)) not in found)
        session = _new(station, str(number))
        merge(session, report, _card(station, report, admission, arrived))
        counted = TransactionsItem(*counter_key)
        try:
            with transaction() as write:
                write.update(
                    counted,
                    actions=[
                        TransactionsItem.last.set(number),
                        TransactionsItem.station_id.set(station_id),
                        TransactionsItem.kind.set(TransactionsItem),
                    ],
                    condition=(TransactionsItem.last == last)
                    if counter
                    else TransactionsItem.pk.does_not_exist(),
                )
                write.save(
                    StartItem(*start_key, station_id=station_id, transaction_id=str(number)),
                    condition=StartItem.pk.does_not_exist(),
                )
                write.save(_stamp(session), condition=SessionItem.pk.does_not_exist())
            return Recorded(admission.online, str(number))
        except TransactWriteError:
            # Another start took the number, this start arrived twice at once, or a session holds the number:
            # read them again, with the sessions of the numbers from it.
            ahead = [SessionItem.key(station_id, str(number + n)) for n in range(AHEAD)]
            found = batch_get([start_key, counter_key, *ahead], consistent=True)
    raise RuntimeError(f"{station_id}: no transactionId after {TRIES} tries")


def _card(
    station: StationItem, report: Report, admission: Admission | None, arrived: datetime
) -> Card | None:
    """How the message's card let the session in: offline by the charger (a late message, or 2.0.1's
    `offline`), from the station's list, or online by this service's answer now."""
    if admission is None or report.id_tag is None:
        return None
    if report.offline or arrived - report.at > OFFLINE_AFTER:
        how = "offline"
    else:
        how = "local_list" if admission.listed else "online"
    driver_id = admission.card.driver_id if admission.card else None
    applied = None
    if report.event != UPDATE:  # a start fixes the price; an end prices a session whose start never came
        who = admission.who.memberships if admission.who else {}
        names = {c: n.name for c, n in admission.names.items()}
        applied = pricing.applied(admission.rules, who, names, access.local_time(station, report.at))
    return Card(how, driver_id, applied, () if admission.card else (UNKNOWN_CARD,))


def _new(station: StationItem, transaction_id: str) -> SessionItem:
    return SessionItem(
        *SessionItem.key(station.station_id, transaction_id),
        station_id=station.station_id,
        organization_id=station.organization_id,
        transaction_id=transaction_id,
    )


def _stamp(session: SessionItem) -> SessionItem:
    session.updated_at = now()
    session.index()
    return session


def _read(key: Key[SessionItem]) -> SessionItem | None:
    try:
        return SessionItem.get(key.pk, key.sk, consistent_read=True)
    except SessionItem.DoesNotExist:
        return None
