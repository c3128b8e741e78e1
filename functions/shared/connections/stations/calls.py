"""Answering the calls a charger makes as its central system (Authorize, BootNotification and the usual
chatter); delivery.py sends its lists and reads the answers to them."""

from datetime import datetime

from connections.platform.table import now
from connections.stations import access, ocpp
from connections.stations.items import AllowEntryItem, CardItem, StationItem
from connections.stations.local_list import TagStatus


def answer(station: StationItem, frame: ocpp.Frame) -> list:
    """The answer to a call a charger made (Authorize, BootNotification and the usual chatter)."""
    at = now()
    match frame.action:
        case "Authorize":
            id_tag = frame.payload.get("idTag")
            if isinstance(id_tag, str) and 0 < len(id_tag) <= 20:
                reply = ocpp.result(frame.unique_id, {"idTagInfo": authorize(station, id_tag)})
            else:
                reply = ocpp.error(frame.unique_id, "FormationViolation", "idTag must be 1 to 20 characters")
        case "BootNotification":
            reply = ocpp.result(
                frame.unique_id, {"status": "Accepted", "currentTime": _iso(at), "interval": 300}
            )
        case "Heartbeat":
            reply = ocpp.result(frame.unique_id, {"currentTime": _iso(at)})
        case "StatusNotification" | "MeterValues" | "DataTransfer":
            reply = ocpp.result(
                frame.unique_id, {} if frame.action != "DataTransfer" else {"status": "Rejected"}
            )
        case _:
            reply = ocpp.error(
                frame.unique_id, "NotImplemented", f"{frame.action} is not handled by this service"
            )
    return reply


def authorize(station: StationItem, id_tag: str) -> dict:
    """Online authorization: the same decision the station's allow list encodes."""
    at, id_tag = now(), id_tag.upper()  # idTags are case-insensitive; cards are stored upper case
    if not station.policy_id:
        try:
            CardItem.get(*CardItem.key(id_tag))
            return {"status": "Accepted"}
        except CardItem.DoesNotExist:
            return {"status": "Invalid"}
    try:
        entry = AllowEntryItem.get(*AllowEntryItem.key(station.policy_id, id_tag))
    except AllowEntryItem.DoesNotExist:
        entry = None
    if entry is None or entry.status == TagStatus.ONLINE:
        return access.authorize_online(station, id_tag, at)  # hours of use, everyone else's rule
    if entry.status != TagStatus.ACCEPTED:
        return {"status": "Blocked"}
    if entry.expires_at and entry.expires_at <= at:
        return {"status": "Expired"}
    info = {"status": "Accepted"}
    if entry.expires_at:
        info["expiryDate"] = _iso(entry.expires_at)
    return info


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
