"""Every minute: send again the requests that stations have not answered in time, and the lists that
stations refused too often in a row once they are due for another try; and count the stations whose list
has stayed stale too long (the `StaleStations` metric, for an alarm)."""

from aws_lambda_powertools.metrics import MetricUnit

from connections.platform.telemetry import logger, metrics
from connections.stations import delivery, stale


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    done = delivery.Delivery()
    resent, retried = delivery.resend_unanswered(done), delivery.retry_refused(done)
    done.report()
    if resent or retried:
        logger.info("tried stations again", extra={"resent": resent, "retried": retried})
    stale_stations = stale.stale_count()
    metrics.add_metric(name="StaleStations", unit=MetricUnit.Count, value=stale_stations)
    return {"resent": resent, "retried": retried, "stale": stale_stations}
