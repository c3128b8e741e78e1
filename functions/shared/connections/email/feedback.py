"""What SES reports about sent email (bounces, complaints) and which addresses that puts on the
suppression list. Both shapes SES publishes to SNS are read: a configuration set's event destination
(`eventType`) and an identity's feedback notifications (`notificationType`)."""

from dataclasses import dataclass
from email.utils import parseaddr


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str  # bounce | complaint
    detail: str


def suppressions(event: dict) -> list[Suppression]:
    """The addresses to stop sending to. A permanent bounce (the address does not exist, or refuses us)
    and a complaint (the recipient marked the email as spam) suppress; a transient bounce (a full mailbox,
    a server down) does not, since the next email may well arrive."""
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType', '')}"
        recipients = bounce.get("bouncedRecipients") or []
        return [
            Suppression(a, "bounce", _text(r.get("diagnosticCode") or detail))
            for r in recipients
            if (a := _address(r))
        ]
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        detail = complaint.get("complaintFeedbackType") or "complaint"
        recipients = complaint.get("complainedRecipients") or []
        return [Suppression(a, "complaint", _text(detail)) for r in recipients if (a := _address(r))]
    return []


def _address(recipient: dict) -> str | None:
    address = recipient.get("emailAddress")
    plain = parseaddr(address)[1].lower() if isinstance(address, str) else ""
    return plain if "@" in plain else None


def _text(detail: object) -> str:
    return str(detail)[:500]
