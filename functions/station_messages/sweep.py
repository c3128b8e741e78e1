"""Every minute: send again the requests that stations have not answered in time."""

from connections import delivery
from connections.telemetry import logger


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    resent = delivery.resend_unanswered(delivery.Delivery())
    if resent:
        logger.info("resent unanswered requests", extra={"resent": resent})
    return {"resent": resent}
