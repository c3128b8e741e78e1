"""Publishing to stations through AWS IoT Core: what is published on `<stationId>/out` reaches the charger
(the convention of the public AWS OCPP gateway sample). The data-plane endpoint comes from
AWS_ENDPOINT_URL_IOT_DATA_PLANE (the account's iot:Data-ATS endpoint; the local stack's broker locally)."""

import json
from functools import cache


@cache
def _client():
    import boto3  # only the functions that talk to stations pay for it

    return boto3.client("iot-data")


def publish(station_id: str, frame: list) -> int:
    """Publish one OCPP-J frame to the station (QoS 1); returns the bytes sent."""
    body = json.dumps(frame, separators=(",", ":")).encode()
    _client().publish(topic=f"{station_id}/out", qos=1, payload=body)
    return len(body)
