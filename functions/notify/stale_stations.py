"""Every day: each organization's admins hear of its stations whose list has been stale too long."""

from connections.email.stale_stations import send_stale_station_digests
from connections.platform.telemetry import logger


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    done = send_stale_station_digests(context)
    if done["emails"]:
        logger.info("stale-station digests", extra=done)
    return done
