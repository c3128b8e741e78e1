"""Stations in AWS IoT Core: what is published on `<stationId>/out` reaches the charger (the convention of
the public AWS OCPP gateway sample), and each charger is an IoT thing named after its station id. The
data-plane endpoint comes from AWS_ENDPOINT_URL_IOT_DATA_PLANE (the account's iot:Data-ATS endpoint; the
local stack's broker locally)."""

from functools import cache

from connections.stations import ocpp

# The thing attribute that says which organization a charger was provisioned for.
OWNER_ATTRIBUTE = "organization_id"


@cache
def _client():
    import boto3  # only the functions that talk to stations pay for it
    from botocore.config import Config

    # A connection kept for each of a fan-out's threads (delivery.FAN_OUT), as the table's clients do. A
    # publish takes tens of milliseconds: one that hangs is given up within seconds, not botocore's minute
    # a try, so that a fan-out stays within its function's timeout; it stands unsent, and is sent again by
    # whoever finds it next, or by the sweep (delivery._publish).
    config = Config(
        max_pool_connections=32,
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return boto3.client("iot-data", config=config)


def warm() -> None:
    """Create the publishing client now (boto3 does not create clients safely from several threads)."""
    _client()


@cache
def _registry():
    import boto3

    return boto3.client("iot")


def owner(station_id: str) -> str | None:
    """The organization the charger `station_id` was provisioned for (its IoT thing's attribute), or None
    when there is no such thing or it names no organization."""
    registry = _registry()
    try:
        thing = registry.describe_thing(thingName=station_id)
    except registry.exceptions.ResourceNotFoundException:
        return None
    return thing.get("attributes", {}).get(OWNER_ATTRIBUTE)


def publish(station_id: str, frame: list) -> int:
    """Publish one OCPP-J frame to the station (QoS 1); returns the bytes sent."""
    body = ocpp.encode(frame)
    _client().publish(topic=f"{station_id}/out", qos=1, payload=body)
    return len(body)
