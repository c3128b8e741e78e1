"""The benches' data, written directly to the table (thousands of items through the API would take longer
than what is measured), keyed and indexed as the service keys them; fields a bench does not name get a
plain default. After common (which puts the repository on sys.path), within `common.moto()`."""

from datetime import UTC, datetime

AT = datetime.now(UTC)


def write(items) -> None:
    """Items of any kind (they share the table), with BatchWriteItem."""
    from connections.stations.items import StationItem

    with StationItem.batch_write() as batch:
        for made in items:
            batch.save(made)


def item(cls, key: tuple, **fields):
    """An item keyed and indexed as the service does it, created (and updated, requested) now."""
    stamps = {a: AT for a in ("created_at", "updated_at", "requested_at") if a in cls.get_attributes()}
    made = cls(*cls.key(*key), **stamps, **fields)
    made.index()
    return made


def connection(org: str, connection_id: str, **fields):
    from connections.memberships.items import ConnectionItem

    fields = {"organization_id": org, "approval_mode": "manual", "version": 1, **fields}
    return item(ConnectionItem, (connection_id,), connection_id=connection_id, **fields)


def policy(org: str, policy_id: str, connection_ids: list[str], **fields) -> list:
    """The policy, and what each of its connections unlocks."""
    from connections.stations.items import PolicyItem, UnlockItem

    shared = {"policy_id": policy_id, "connection_ids": connection_ids}
    made = item(PolicyItem, (policy_id,), organization_id=org, **shared, **fields)
    return [made] + [UnlockItem(*UnlockItem.key(c, policy_id), **shared) for c in connection_ids]


def station(org: str, station_id: str, **fields):
    from connections.stations.items import StationItem

    fields = {"name": f"Charger {station_id}", "organization_id": org, **fields}
    return item(StationItem, (station_id,), station_id=station_id, **fields)


def synced_station(org: str, station_id: str, policy_id: str, **fields):
    """A station that has acknowledged its policy's list (list version 1) and waits for nothing."""
    synced = {"list_version": 1, "needs_full": False, "acked_at": AT}
    return station(org, station_id, policy_id=policy_id, **synced, **fields)


def membership(org: str, connection_id: str, driver: str, status: str = "active"):
    from connections.memberships.items import MembershipItem

    fields = {"organization_id": org, "driver_email": f"{driver}@example.com", "answers": {}, "version": 1}
    if status == "active":
        fields.update(decided_at=AT, decided_by="admin@bench.example")
    key = (connection_id, driver)
    return item(MembershipItem, key, connection_id=connection_id, driver_id=driver, status=status, **fields)


def card(driver: str, id_tag: str):
    from connections.stations.items import CardItem

    return item(CardItem, (id_tag,), id_tag=id_tag, driver_id=driver)
