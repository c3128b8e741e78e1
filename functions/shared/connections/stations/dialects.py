"""The two OCPP versions a station may speak, 1.6 and 2.0.1: the same planned list message
(local_list.Send) and the same online answer in each version's words. Pure; everything else about a
station is the same whichever it speaks.

An idTag is at most 20 characters in 1.6 and an idToken 36 in 2.0.1. A card longer than 20 cannot be
read, held nor asked about by a 1.6 charger, so it is left out of a 1.6 station's messages (a 2.0.1
station of the same policy holds it)."""

from datetime import UTC, datetime

from connections.stations.local_list import Entry, Send, TagStatus
from connections.stations.policy import OCPP_16

V16_VERSION, V201_VERSION = "1.6", "2.0.1"
# 2.0.1 personalMessage: MessageContentType.content is at most 512 characters.
MESSAGE_MAX = 512


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class V16Dialect:
    version = V16_VERSION
    id_max = 20
    format_error = "FormationViolation"  # the OCPP-J 1.6 code for a malformed payload
    card_field, info_field = "idTag", "idTagInfo"  # in Authorize, Start- and StopTransaction
    says_why = False  # a refusal is Invalid, Blocked or Expired, with no message for the driver

    def card_of(self, payload: dict) -> str | None:
        """The card's id a call names; None when malformed."""
        given = payload.get(self.card_field)
        return given if isinstance(given, str) and 0 < len(given) <= self.id_max else None

    def send_local_list(self, send: Send) -> dict:
        return {
            "listVersion": send.version,
            "updateType": str(send.update_type),
            "localAuthorizationList": [self._entry(e) for e in send.listed() if len(e.id_tag) <= self.id_max]
            + [{"idTag": t} for t in send.deleted if len(t) <= self.id_max],
        }

    @staticmethod
    def _entry(entry: Entry) -> dict:
        if entry.status is TagStatus.ONLINE:
            return {"idTag": entry.id_tag}  # no idTagInfo: deleted from the station's list
        info = {"status": str(entry.status)}
        if entry.expires_at and entry.status is TagStatus.ACCEPTED:
            info["expiryDate"] = iso(entry.expires_at)
        return {"idTag": entry.id_tag, "idTagInfo": info}

    @staticmethod
    def list_version(payload: dict) -> int | None:
        """GetLocalListVersion's answer (-1: the station keeps no local list)."""
        version = payload.get("listVersion")
        return version if isinstance(version, int) else None

    @staticmethod
    def id_token_info(status: str, until: datetime | None, message: str | None) -> dict:
        """idTagInfo from an online answer (`status` an OCPP 2.0.1 AuthorizationStatus): 1.6 cannot say
        why, nor show the driver a message."""
        info = {"status": OCPP_16[status]}
        if until and status == "Accepted":
            info["expiryDate"] = iso(until)
        return info


class V201Dialect:
    version = V201_VERSION
    id_max = 36
    format_error = "FormatViolation"  # renamed in OCPP-J 2.0.1
    card_field, info_field = "idToken", "idTokenInfo"  # in Authorize and TransactionEvent
    says_why = True  # the reason, and a personalMessage for the driver

    def card_of(self, payload: dict) -> str | None:
        token = payload.get(self.card_field)
        given = token.get("idToken") if isinstance(token, dict) else None
        return given if isinstance(given, str) and 0 < len(given) <= self.id_max else None

    def send_local_list(self, send: Send) -> dict:
        listed = [self._entry(e) for e in send.listed()]
        listed += [{"idToken": {"idToken": t, "type": kind}} for t, kind in send.deleted_tokens()]
        payload = {"versionNumber": send.version, "updateType": str(send.update_type)}
        # 2.0.1 wants the list absent rather than empty (an empty Full clears the station's list).
        return {**payload, "localAuthorizationList": listed} if listed else payload

    @staticmethod
    def _entry(entry: Entry) -> dict:
        token = {"idToken": entry.id_tag, "type": entry.token_type}
        if entry.status is TagStatus.ONLINE:
            return {"idToken": token}  # no idTokenInfo: deleted from the station's list
        info = {"status": str(entry.status)}
        if entry.expires_at and entry.status is TagStatus.ACCEPTED:
            info["cacheExpiryDateTime"] = iso(entry.expires_at)
        return {"idToken": token, "idTokenInfo": info}

    @staticmethod
    def list_version(payload: dict) -> int | None:
        version = payload.get("versionNumber")
        return version if isinstance(version, int) else None

    @staticmethod
    def id_token_info(status: str, until: datetime | None, message: str | None) -> dict:
        """idTokenInfo from an online answer: a refusal carries why, as GET /stations/{id}/access says it,
        for the charger to show the driver."""
        info: dict = {"status": status}
        if until and status == "Accepted":
            info["cacheExpiryDateTime"] = iso(until)
        if message and status != "Accepted":
            info["personalMessage"] = {"format": "UTF8", "language": "en", "content": message[:MESSAGE_MAX]}
        return info


V16, V201 = V16Dialect(), V201Dialect()
Dialect = V16Dialect | V201Dialect
DIALECTS: dict[str, Dialect] = {V16_VERSION: V16, V201_VERSION: V201}


def dialect(version: str | None) -> Dialect:
    """The dialect of a station's OCPP version (a station registered before versions were: 1.6)."""
    return DIALECTS[version or V16_VERSION]
