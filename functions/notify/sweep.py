"""Every minute: admins' digests of the requests that arrived while their alert window was open, and
reminders before re-verification dates that came due (the notify function sends both from the stream)."""

from connections.email import dispatch
from connections.platform.telemetry import logger


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    done = dispatch.send_due_emails()
    if any(done.values()):
        logger.info("email sweep", extra=done)
    return done
