"""A part of a large policy's fan-out, started at once by the invocation that split the change
(delivery._dispatch, decision 0047) instead of a stream hop later in one of the stream's ten lanes. The
part's item stays the durable copy: if this fails, the part's stream record brings the stations it did not
claim to StationSyncFunction, and the sweep sends again what it claimed but could not publish."""

from connections.platform.telemetry import logger, metrics
from connections.stations import delivery


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    done = delivery.reach_part(event["part"])
    done.report()
    return {"publishes": done.publishes}
