"""Local SES: the sender identity verified in moto, as SES must have it before anything is sent, and the
emails SES (moto) accepted, read from moto's in-process backend, with both parts of each."""

from email import message_from_string, policy

from moto.ses.models import RawMessage, ses_backends

# What `sam deploy` asks for, locally: the template's email parameters and the configuration set's name.
SENDER = "no-reply@connections.example"
PARAMETERS = {"SenderAddress": SENDER, "EmailConfigurationSet": "connections-local"}


def verify_sender(sesv2) -> None:
    """Verify the sender identity (a boto3 sesv2 client on moto): moto, like SES, refuses any other."""
    sesv2.create_email_identity(EmailIdentity=SENDER)
    sesv2.create_configuration_set(ConfigurationSetName=PARAMETERS["EmailConfigurationSet"])


def messages() -> list[dict]:
    found: list[dict] = []
    for account in ses_backends.values():
        for backend in account.values():
            found.extend(_describe(m) for m in backend.sent_messages)
    return found


def _describe(message) -> dict:
    if isinstance(message, RawMessage):
        parsed = message_from_string(message.raw_data, policy=policy.default)
        text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
        return {
            "id": message.id,
            "from": message.source or str(parsed["from"]),
            # moto records a raw message's recipients from both the call and the headers: once each.
            "to": list(dict.fromkeys(message.destinations)) or [str(parsed["to"])],
            "subject": str(parsed["subject"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "headers": {k: str(v) for k, v in parsed.items()},
        }
    body = getattr(message, "body", None)
    is_html = isinstance(body, str) and body.lstrip().startswith("<")
    return {
        "id": message.id,
        "from": message.source,
        "to": message.destinations.get("ToAddresses", []) if isinstance(message.destinations, dict) else [],
        "subject": getattr(message, "subject", None),
        "text": None if is_html else body,
        "html": body if is_html else None,
        "headers": {},
    }
