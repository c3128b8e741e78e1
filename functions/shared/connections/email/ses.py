"""Sending email through SES (API v2): once per event, never to a suppressed address.

Each email is a raw MIME message with a plain text and an HTML part (SES v2 `Raw` content), sent from
SENDER_ADDRESS with the configuration set EMAIL_CONFIGURATION_SET (platform.settings.email_settings),
whose event destination reports bounces and complaints (functions/notify/ses_events.py puts those
addresses on the suppression list).

Exactly one email per event: `once` runs a send under a Powertools idempotency record keyed by the event
(the IdempotencyTable, apart from the main table's stream). A duplicated or retried stream record finds
the record completed and sends nothing; one that arrives while the first is still sending fails and is
retried. A failed send deletes the record, so the retry sends; one SES refuses for good (REFUSED_FOR_GOOD)
is dropped, so that it does not hold up the emails after it. The one window left is a crash after SES
accepted the email and before the record is marked complete: the record then expires with the
invocation's deadline and the retry sends again. SES has no idempotency token to close it, and a second
copy of an email is better than none.
"""

from collections.abc import Callable
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import PutError

from connections.email.addresses import sendable
from connections.email.feedback import Suppression
from connections.email.items import SuppressionItem
from connections.email.rendering import Rendered
from connections.platform.settings import email_settings, settings
from connections.platform.table import batch_get, now
from connections.platform.telemetry import logger, metrics

# What SES answers when this message can never be sent as it is (the recipient is refused, e.g. not verified
# in the sandbox, or the address or message is invalid): retrying would only hold up the stream's shard, so
# the email is dropped (logged, counted as EmailsRejected). Anything else (throttling, SES unavailable, the
# account paused or its sender not verified) affects every email alike: the record fails and is retried,
# then parked in NotifyFailures to be read again once fixed.
REFUSED_FOR_GOOD = frozenset({"MessageRejected", "BadRequestException"})
# Records outlive the stream's 24 hours, so no redelivery of a record can find its send forgotten.
REMEMBER_SECONDS = 2 * 24 * 3600
# SMTP's CRLF line ends, and RFC 5322's line limit: a subject (at most 150 characters) is never folded.
_MIME = policy.SMTP.clone(max_line_length=998)


def suppressed(addresses: list[str]) -> set[str]:
    """Which of the addresses are on the suppression list (one round-trip)."""
    keys = [SuppressionItem.key(a) for a in addresses]
    return {item.email for item in batch_get(keys).of(SuppressionItem)} if keys else set()


def mime(to: str, email: Rendered, sender: str) -> bytes:
    """The raw message from `sender`. EmailMessage refuses a header value with a line break; the subject has
    none (emails.one_line) and the address was checked (`sendable`)."""
    message = EmailMessage(policy=_MIME)
    message["From"] = Address("Connections", addr_spec=sender)
    message["To"] = to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message.as_bytes()


@cache
def _ses():
    import boto3  # only when an email is sent: the functions' cold start does not load boto3
    from botocore.config import Config

    return boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 4}))


def send(to: str, email: Rendered) -> str | None:
    """Send now, unless the address is suppressed or not one plain address; SES's message id, or None."""
    if not sendable(to):
        logger.warning("not an address we send to; email dropped", extra={"notice": email.notice})
        return None
    if suppressed([to]):
        logger.info("address suppressed; email not sent", extra={"notice": email.notice})
        return None
    from botocore.exceptions import ClientError  # loaded with boto3, by _ses()

    client, configured = _ses(), email_settings()
    try:
        answer = client.send_email(
            FromEmailAddress=configured.sender_address,
            Destination={"ToAddresses": [to]},
            Content={"Raw": {"Data": mime(to, email, configured.sender_address)}},
            ConfigurationSetName=configured.configuration_set,
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in REFUSED_FOR_GOOD:
            raise  # throttled, SES unavailable, the account paused: the record fails and is retried
        # The message says which address; the logs get the notice and SES's reason only.
        refused = {"notice": email.notice, "error": code}
        logger.warning("SES refused this email for good; not sent", extra=refused)
        metrics.add_metric(name="EmailsRejected", unit=MetricUnit.Count, value=1)
        return None
    metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
    return answer["MessageId"]


def suppress(found: Suppression) -> bool:
    """Put the address on the suppression list; False when it was there already (SES reports again)."""
    item = SuppressionItem(
        *SuppressionItem.key(found.email),
        email=found.email,
        reason=found.reason,
        detail=found.detail,
        reported_at=now(),
    )
    try:
        item.save(condition=SuppressionItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


@cache
def _persistence():
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table_name)


def once(key: str, work: Callable[[], str | None], lambda_context=None) -> None:
    """Run `work` (which sends one email) once for the event `key`, however often the event arrives."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="event", expires_after_seconds=REMEMBER_SECONDS)
    if lambda_context is not None:
        # A record left in progress by an invocation that died expires with it, so the retry may send.
        config.register_lambda_context(lambda_context)

    @idempotent_function(data_keyword_argument="event", persistence_store=_persistence(), config=config)
    def run(event: dict) -> dict:
        return {"message_id": work()}

    run(event={"event": key})
