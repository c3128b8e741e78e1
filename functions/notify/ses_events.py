"""SES's bounce and complaint events (the configuration set's SNS event destination) -> the suppression
list, so that nothing is sent to those addresses again."""

import json

from aws_lambda_powertools.utilities.data_classes import SNSEvent

from connections.email import ses
from connections.email.feedback import suppressions
from connections.platform.telemetry import logger


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    added = 0
    for record in SNSEvent(event).records:
        try:
            message = json.loads(record.sns.message)
        except ValueError:
            logger.warning("not an SES event; skipped", extra={"message_id": record.sns.message_id})
            continue
        for found in suppressions(message if isinstance(message, dict) else {}):
            if ses.suppress(found):
                added += 1
                logger.info("address suppressed", extra={"reason": found.reason})
    return {"suppressed": added}
