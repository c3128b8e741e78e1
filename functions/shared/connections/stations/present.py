"""Stations' stored items as the API shows them, to admins and to drivers: the one place that turns them
into views."""

from connections.memberships.views import OrganizationRef
from connections.platform.table import Found
from connections.stations import access, views
from connections.stations.items import AllowListItem, CardItem, MapStation, PolicyItem, StationItem
from connections.stations.policy import Decision, Price


def policy_view(item: PolicyItem, sequence: int) -> views.Policy:
    """The policy as its admins see it; `sequence` is its list's (AllowListItem.sequence)."""
    rules = item.rules or {}
    return views.Policy(
        policy_id=item.policy_id,
        name=item.name,
        connection_ids=list(item.connection_ids),
        list_sequence=sequence,
        updated_at=item.updated_at,
        visible_to=list(item.visible_to) if item.visible_to is not None else None,
        members=rules.get("members") or {},
        everyone=rules.get("everyone"),
    )


def sync_status(station: StationItem, wanted: int) -> views.SyncStatus:
    """How far the station's list has got towards `wanted`, its policy's list sequence (0: no policy)."""
    online_only = not station.local_list_supported or station.policy_id is None
    # A station without a policy is in sync once the empty list that clears it is acknowledged.
    in_sync = not station.local_list_supported or (
        not station.needs_full
        and station.full_below is None
        and not station.in_flight_id
        and int(station.held_seq) >= wanted
    )
    return views.SyncStatus(
        wanted_sequence=wanted,
        held_sequence=int(station.held_seq),
        list_version=int(station.list_version),
        acknowledged_at=station.acked_at,
        in_sync=in_sync,
        awaiting=station.in_flight_action,
        online_only=online_only,
        failing=station.failing_since is not None,
        last_refusal=station.last_refusal,
        failing_since=station.failing_since,
        stale_since=station.stale_since,
    )


def station_view(station: StationItem, found: Found) -> views.Station:
    """The station as its admins see it, with the policy that applies there (from `found`, a batch_get
    that asked for AllowListItem.keys of its policy)."""
    policy = found.get(PolicyItem.key(station.policy_id)) if station.policy_id else None
    sequence = AllowListItem.sequence(found, station.policy_id) if policy else 0
    return views.Station(
        station_id=station.station_id,
        name=station.name,
        latitude=station.latitude,
        longitude=station.longitude,
        policy_id=station.policy_id,
        capabilities=views.Capabilities(
            local_list_supported=station.local_list_supported,
            local_auth_list_max_length=(
                None
                if station.local_auth_list_max_length is None
                else int(station.local_auth_list_max_length)
            ),
            send_local_list_max_length=int(station.send_local_list_max_length),
            bytes_per_message=None if station.bytes_per_message is None else int(station.bytes_per_message),
        ),
        ocpp_version=station.ocpp_version,
        sync=sync_status(station, sequence),
        time_zone=station.time_zone or "UTC",
        effective_policy=policy_view(policy, sequence) if policy else None,
    )


def card_view(card: CardItem) -> views.Card:
    return views.Card(
        id_tag=card.id_tag, label=card.label, id_token_type=card.id_token_type, created_at=card.created_at
    )


def price_view(price: Price | None) -> views.PriceView | None:
    if price is None:
        return None
    return views.PriceView(
        currency=price.currency,
        per_kwh=price.per_kwh,
        per_hour=price.per_hour,
        session_fee=price.session_fee,
        free=price.free,
        text=price.words(),
    )


def on_map(
    station: StationItem | MapStation, decision: Decision, distance: float | None
) -> views.StationOnMap:
    return views.StationOnMap(
        station_id=station.station_id,
        name=station.name,
        organization=OrganizationRef(
            organization_id=station.organization_id, name=station.organization_name or ""
        ),
        latitude=float(station.latitude),
        longitude=float(station.longitude),
        time_zone=station.time_zone or access.UTC_ZONE,
        distance_m=round(distance) if distance is not None else None,
        open_now=decision.open_now,
        status=decision.ocpp,
        price=price_view(decision.price),
    )
