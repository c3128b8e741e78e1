"""What an organization's admins do with stations: access policies (which connections' members may use a
group of stations) and the stations themselves, with how far each one's allow list has got."""

import uuid

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from connections.memberships.admins import as_admin
from connections.memberships.items import ConnectionItem, OrganizationItem
from connections.platform.caller import Caller
from connections.platform.errors import Conflict, InvalidInput, NotFound
from connections.platform.table import Found, batch_get, decode_cursor, now, page, transaction
from connections.stations import iot, present, stale, views
from connections.stations.allow_entries import list_terms
from connections.stations.items import AllowListItem, PolicyItem, StationItem, UnlockItem
from connections.stations.policy import Rules

NO_SUCH_POLICY = "There is no such access policy in this organization."
NO_SUCH_STATION = "There is no such station in this organization."


def _driver_rules(
    given: views.DriverRules,
    connection_ids: list[str],
    found: Found,
    organization_id: str,
    check_visible=True,
):
    """The rules to store from what an admin gave: (visible_to, rules), checked against the policy's
    connections and the organization's."""
    strangers = [c for c in given.members if c not in connection_ids]
    if strangers:
        raise InvalidInput(
            "A rule per connection is for a connection of the policy.",
            fields={"members": "not connections of this policy: " + ", ".join(strangers)},
        )
    if given.visible_to is not None and check_visible:
        _check_connections(found, organization_id, given.visible_to, field="visible_to")
    prices = [g.price for g in [*given.members.values(), given.everyone] if g and g.price]
    currencies = {p.currency for p in prices if p.currency}
    if len(currencies) > 1:
        raise InvalidInput(
            "Give every price of a policy in one currency.", fields={"price": "currencies differ"}
        )
    stored = {
        "members": {c: g.model_dump(mode="json") for c, g in given.members.items()},
        "everyone": given.everyone.model_dump(mode="json") if given.everyone else None,
    }
    visible_to = list(dict.fromkeys(given.visible_to)) if given.visible_to is not None else None
    return visible_to, Rules.parse(connection_ids, stored, visible_to).stored()


def _check_connections(
    found: Found, organization_id: str, connection_ids: list[str], field: str = "connection_ids"
) -> None:
    strangers = [
        c
        for c in connection_ids
        if getattr(found.get(ConnectionItem.key(c)), "organization_id", None) != organization_id
    ]
    if strangers:
        raise InvalidInput(
            "Every connection of a policy must be one of this organization's.",
            fields={field: "not connections of this organization: " + ", ".join(strangers)},
        )


def create_policy(caller: Caller, organization_id: str, new: views.NewPolicy) -> views.Policy:
    connection_ids = list(dict.fromkeys(new.connection_ids))
    keys = [ConnectionItem.key(c) for c in dict.fromkeys(connection_ids + (new.visible_to or []))]
    found = as_admin(caller, organization_id, *keys)
    _check_connections(found, organization_id, connection_ids)
    visible_to, rules = _driver_rules(new, connection_ids, found, organization_id)
    at, policy_id = now(), uuid.uuid4().hex
    policy = PolicyItem(
        *PolicyItem.key(policy_id),
        policy_id=policy_id,
        organization_id=organization_id,
        name=new.name,
        connection_ids=connection_ids,
        created_at=at,
        updated_at=at,
        visible_to=visible_to,
        rules=rules,
    )
    policy.index()
    with transaction() as write:
        write.save(policy, condition=PolicyItem.pk.does_not_exist())
        for connection_id in connection_ids:
            write.save(_unlock(connection_id, policy))
    return present.policy_view(policy, 0)


def _unlock(connection_id: str, policy: PolicyItem) -> UnlockItem:
    _, limited, everyone = list_terms(policy)
    return UnlockItem(
        *UnlockItem.key(connection_id, policy.policy_id),
        policy_id=policy.policy_id,
        connection_ids=list(policy.connection_ids),
        limited_ids=sorted(limited),
        everyone=everyone,
    )


def _policy_of(found: Found, organization_id: str, policy_id: str) -> PolicyItem:
    policy = found.get(PolicyItem.key(policy_id))
    if policy is None or policy.organization_id != organization_id:
        raise NotFound(NO_SUCH_POLICY)
    return policy


def update_policy(
    caller: Caller, organization_id: str, policy_id: str, changes: views.PolicyChanges
) -> views.Policy:
    wanted = list(dict.fromkeys(changes.connection_ids)) if changes.connection_ids else None
    named = dict.fromkeys((wanted or []) + (changes.visible_to or []))
    found = as_admin(
        caller, organization_id, *AllowListItem.keys(policy_id), *[ConnectionItem.key(c) for c in named]
    )
    policy = _policy_of(found, organization_id, policy_id)
    if wanted is not None:
        _check_connections(found, organization_id, wanted)
    seen, old = policy.updated_at, list(policy.connection_ids)
    policy.name = changes.name or policy.name
    policy.connection_ids = wanted if wanted is not None else old
    policy.updated_at = now()
    policy.visible_to, policy.rules = _changed_rules(changes, policy, found, organization_id)
    try:
        with transaction() as write:
            write.update(
                policy,
                actions=[
                    PolicyItem.name.set(policy.name),
                    PolicyItem.connection_ids.set(policy.connection_ids),
                    PolicyItem.updated_at.set(policy.updated_at),
                    PolicyItem.rules.set(policy.rules),
                    PolicyItem.visible_to.set(policy.visible_to)
                    if policy.visible_to is not None
                    else PolicyItem.visible_to.remove(),
                ],
                condition=PolicyItem.updated_at == seen,
            )
            for connection_id in set(old) - set(policy.connection_ids):
                write.delete(UnlockItem(*UnlockItem.key(connection_id, policy_id)))
            for connection_id in policy.connection_ids:
                write.save(_unlock(connection_id, policy))
    except TransactWriteError as error:
        if "ConditionalCheckFailed" not in [r.code if r else None for r in error.cancellation_reasons or []]:
            raise
        raise Conflict(
            "Someone else changed this policy at the same time; reload it and apply your change again.",
            code="policy_changed",
        ) from None
    return present.policy_view(policy, AllowListItem.sequence(found, policy_id))


def _changed_rules(changes: views.PolicyChanges, policy: PolicyItem, found: Found, organization_id: str):
    """The policy's (visible_to, rules) after a change: fields the change does not give stay as they
    are, and the rules of connections the policy no longer has are dropped."""
    current = present.policy_view(policy, 0)  # only its rules are read
    given = changes.model_fields_set
    merged = views.DriverRules(
        visible_to=changes.visible_to if "visible_to" in given else current.visible_to,
        members=changes.members
        if "members" in given
        else {c: g for c, g in current.members.items() if c in policy.connection_ids},
        everyone=changes.everyone if "everyone" in given else current.everyone,
    )
    return _driver_rules(
        merged, list(policy.connection_ids), found, organization_id, check_visible="visible_to" in given
    )


def list_policies(caller: Caller, organization_id: str) -> list[views.Policy]:
    as_admin(caller, organization_id)
    policies = list(PolicyItem.gsi1.query(f"ORG#{organization_id}", PolicyItem.gsi1sk.startswith("POLICY#")))
    # Their lists' sequences: one BatchGetItem per 100 policies.
    lists = batch_get([AllowListItem.key(p.policy_id) for p in policies]) if policies else Found()
    found = Found([*lists.of(AllowListItem), *policies])
    return [present.policy_view(p, AllowListItem.sequence(found, p.policy_id)) for p in policies]


def get_policy(caller: Caller, organization_id: str, policy_id: str) -> views.Policy:
    found = as_admin(caller, organization_id, *AllowListItem.keys(policy_id))
    return present.policy_view(
        _policy_of(found, organization_id, policy_id), AllowListItem.sequence(found, policy_id)
    )


# --- Stations


def register_station(caller: Caller, organization_id: str, new: views.NewStation) -> views.Station:
    found = as_admin(
        caller,
        organization_id,
        OrganizationItem.key(organization_id),
        *(AllowListItem.keys(new.policy_id) if new.policy_id else []),
    )
    policy = _policy_of(found, organization_id, new.policy_id) if new.policy_id else None
    if iot.owner(new.station_id) != organization_id:
        # Whoever registers a charger decides who may charge there and receives its messages: only the
        # organization it was provisioned for may (an unknown charger and another's answer alike).
        raise InvalidInput(
            f"The charger {new.station_id} is not provisioned for this organization. Check its id, or ask"
            f" whoever installed it to provision it in AWS IoT Core for organization {organization_id}.",
            fields={"station_id": "not provisioned for this organization"},
        )
    organization = found.get(OrganizationItem.key(organization_id))
    station = StationItem(
        *StationItem.key(new.station_id),
        station_id=new.station_id,
        organization_id=organization_id,
        name=new.name,
        latitude=new.latitude,
        longitude=new.longitude,
        policy_id=new.policy_id,
        policy_connections=policy.deciding() if policy else None,
        local_list_supported=new.local_list_supported,
        local_auth_list_max_length=new.local_auth_list_max_length,
        send_local_list_max_length=new.send_local_list_max_length,
        bytes_per_message=new.bytes_per_message,
        ocpp_version=new.ocpp_version,
        created_at=now(),
        time_zone=new.time_zone,
        organization_name=organization.name if organization else None,
    )
    station.index()
    try:
        station.save(condition=StationItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(
                f"A station with the id {new.station_id} is already registered.",
                code="station_exists",
                fields={"station_id": "already registered"},
            ) from None
        raise
    return present.station_view(station, found)


def _station_of(found: Found, organization_id: str, station_id: str) -> StationItem:
    station = found.get(StationItem.key(station_id))
    if station is None or station.organization_id != organization_id:
        raise NotFound(NO_SUCH_STATION)
    return station


def update_station(
    caller: Caller, organization_id: str, station_id: str, changes: views.StationChanges
) -> views.Station:
    if changes.policy_id and changes.usable_by_everyone:
        raise InvalidInput("Either give a policy or make the station usable by everyone, not both.")
    keys = [StationItem.key(station_id)] + ([PolicyItem.key(changes.policy_id)] if changes.policy_id else [])
    found = as_admin(caller, organization_id, *keys)
    station = _station_of(found, organization_id, station_id)
    policy_id = None if changes.usable_by_everyone else (changes.policy_id or station.policy_id)
    policy = _policy_of(found, organization_id, changes.policy_id) if changes.policy_id else None
    given = changes.model_dump(exclude_unset=True, exclude={"policy_id", "usable_by_everyone"})
    actions = [getattr(StationItem, k).set(v) for k, v in given.items() if v is not None]
    capabilities = {
        "local_list_supported",
        "local_auth_list_max_length",
        "send_local_list_max_length",
        "bytes_per_message",
        "ocpp_version",  # spoken to in other words: it gets its whole list in them
    }
    if policy_id != station.policy_id or capabilities & {k for k, v in given.items() if v is not None}:
        # Another list, or another way to hold it: the station gets its whole list again.
        actions += [
            StationItem.needs_full.set(True),
            StationItem.failures.set(0),
            StationItem.config_version.add(1),
        ]
    if policy_id != station.policy_id:
        actions += [
            StationItem.policy_id.set(policy_id) if policy_id else StationItem.policy_id.remove(),
            StationItem.policy_connections.set(policy.deciding())
            if policy
            else StationItem.policy_connections.remove(),
            StationItem.gsi2pk.set(StationItem.policy_key(policy_id)),
        ]
    actions += _place_actions(station, given)
    if actions:
        try:
            station.update(actions=actions, condition=StationItem.organization_id == organization_id)
        except UpdateError:
            raise NotFound(NO_SUCH_STATION) from None
    return present.station_view(station, station_policy(station))


def _place_actions(station: StationItem, given: dict) -> list:
    """A moved station moves on the map too (its geohash and map index keys)."""
    if given.get("latitude") is None and given.get("longitude") is None:
        return []
    for field in ("latitude", "longitude"):
        if given.get(field) is not None:
            setattr(station, field, given[field])
    partition, sort = station.map_keys()
    geohash = station.geohash
    if partition is None or sort is None or geohash is None:  # all or none: a station without a place
        return []
    return [
        StationItem.geohash.set(geohash),
        StationItem.gsi4pk.set(partition),
        StationItem.gsi4sk.set(sort),
    ]


def list_stations(caller: Caller, organization_id: str, *, limit: int, cursor: str | None) -> views.Stations:
    as_admin(caller, organization_id)
    found = StationItem.gsi1.query(
        f"ORG#{organization_id}",
        StationItem.gsi1sk.startswith("STATION#"),
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, "gsi1", f"ORG#{organization_id}"),
    )
    stations, next_cursor = page(found, cursor)
    policy_keys = [k for s in stations if s.policy_id for k in AllowListItem.keys(s.policy_id)]
    policies = batch_get(policy_keys) if policy_keys else Found()
    items = [present.station_view(s, policies) for s in stations]
    out_of_sync_total, stale_count = stale.out_of_sync_counts(organization_id)
    return views.Stations(
        items=items,
        out_of_sync=sum(1 for s in items if not s.sync.in_sync),
        out_of_sync_total=out_of_sync_total,
        stale_count=stale_count,
        next_cursor=next_cursor,
    )


def get_station(caller: Caller, organization_id: str, station_id: str) -> views.Station:
    found = as_admin(caller, organization_id, StationItem.key(station_id))
    station = _station_of(found, organization_id, station_id)
    return present.station_view(station, station_policy(station))


def station_policy(station: StationItem) -> Found:
    """The station's policy and its list (AllowListItem.keys) as batch_get answers: one round-trip."""
    return batch_get(AllowListItem.keys(station.policy_id)) if station.policy_id else Found()
