"""Every minute: send again the requests that stations have not answered in time, and the lists that
stations refused too often in a row once they are due for another try."""

from connections.platform.telemetry import logger
from connections.stations import delivery


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    done = delivery.Delivery()
    resent, retried = delivery.resend_unanswered(done), delivery.retry_refused(done)
    if resent or retried:
        logger.info("tried stations again", extra={"resent": resent, "retried": retried})
    return {"resent": resent, "retried": retried}
