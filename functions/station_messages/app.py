"""What stations publish on `<stationId>/in` (routed here by the IoT rule): answers to our requests,
online Authorize, BootNotification (then the station is reconciled) and the usual chatter."""

import base64

from connections.platform.telemetry import logger, metrics
from connections.stations import delivery


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> None:
    station_id = event.get("station_id", "")
    raw = base64.b64decode(event.get("frame", ""))
    logger.append_keys(station_id=station_id)
    delivery.answer_frame(station_id, raw, delivery.Delivery())
