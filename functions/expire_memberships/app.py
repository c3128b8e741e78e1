"""Every minute: memberships past their re-verification date become Expired (unless the driver confirmed)."""

from connections.memberships.expiry import expire_lapsed_memberships
from connections.platform.telemetry import logger


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    expired = expire_lapsed_memberships()
    if expired:
        logger.info("memberships expired", extra={"expired": expired})
    return {"expired": expired}
