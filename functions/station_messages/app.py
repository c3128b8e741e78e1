"""What stations publish on `<stationId>/in` (routed here by the IoT rule): answers to our requests,
online Authorize, BootNotification (then the station is reconciled) and the usual chatter; and IoT Core's
presence event when a charger connects (the Reconnected rule), after which it is reconciled too."""

import base64
from datetime import UTC, datetime

from connections.platform.telemetry import logger, metrics
from connections.stations import delivery


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> None:
    if event.get("eventType") == "connected":
        station_id, timestamp = event.get("clientId"), event.get("timestamp")
        if isinstance(station_id, str) and isinstance(timestamp, int):
            logger.append_keys(station_id=station_id)
            connected_at = datetime.fromtimestamp(timestamp / 1000, UTC)
            done = delivery.Delivery()
            delivery.reconcile_reconnected(station_id, connected_at, done)
            done.report()
        return
    station_id = event.get("station_id", "")
    raw = base64.b64decode(event.get("frame", ""))
    logger.append_keys(station_id=station_id)
    done = delivery.Delivery()
    delivery.answer_frame(station_id, raw, done)
    done.report()
