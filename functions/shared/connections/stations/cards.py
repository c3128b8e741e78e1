"""A driver's charging cards (OCPP idTags), and whether their access has reached the stations."""

from pynamodb.exceptions import DeleteError, PutError

from connections.memberships.changes import state
from connections.memberships.items import MembershipItem
from connections.memberships.state_machine import Status
from connections.platform.caller import Caller
from connections.platform.errors import Conflict, NotFound
from connections.platform.table import Item, batch_get, now
from connections.stations import access, present, views
from connections.stations.items import AllowEntryItem, CardItem, StationItem, UnlockItem
from connections.stations.local_list import TagStatus


def add_card(caller: Caller, new: views.NewCard) -> tuple[views.Card, int]:
    """Register a card (idTags are case-insensitive in OCPP: stored upper case). 201, or 200 when the
    caller had registered it already; 409 when another driver has."""
    card = CardItem(
        *CardItem.key(new.id_tag),
        id_tag=new.id_tag,
        driver_id=caller.user_id,
        label=new.label,
        id_token_type=new.id_token_type,
        created_at=now(),
    )
    card.index()
    try:
        card.save(condition=CardItem.pk.does_not_exist())
        return present.card_view(card), 201
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    existing = CardItem.get(*CardItem.key(new.id_tag), consistent_read=True)
    if existing.driver_id == caller.user_id:
        return present.card_view(existing), 200
    raise Conflict(
        "This card is registered to another account. If it is yours, contact support.",
        code="card_taken",
        fields={"id_tag": "registered to another account"},
    )


def my_cards(caller: Caller) -> list[views.Card]:
    return [
        present.card_view(c)
        for c in CardItem.gsi1.query(f"DRIVER#{caller.user_id}", CardItem.gsi1sk.startswith("CARD#"))
    ]


def remove_card(caller: Caller, id_tag: str) -> None:
    try:
        CardItem(*CardItem.key(id_tag.upper())).delete(condition=CardItem.driver_id == caller.user_id)
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound("You have no card with this id.") from None
        raise


def delivery(caller: Caller, connection_id: str) -> views.StationDelivery:
    """On how many of the stations this connection unlocks and shows the driver the driver's access has
    arrived: a station has it once its acknowledged list reflects the latest change of each of the
    driver's cards. Round-trips: the driver's memberships and cards (one query: they share the driver's
    key), the policies the connection unlocks, those policies with the cards' entries in all of them
    (BatchGetItem, 100 a call), and each shown policy's stations."""
    at = now()
    mine = list(Item.gsi1.query(f"DRIVER#{caller.user_id}"))
    who = access.driver_of(mine, at)
    if connection_id not in who.active:
        # The index lags the table by a moment: a membership approved just now is confirmed from the table.
        key = MembershipItem.key(connection_id, caller.user_id)
        membership = batch_get([key], consistent=True).get(key)
        if membership is None or state(membership).effective_status(at) is not Status.ACTIVE:
            raise NotFound("You have no active membership in this connection.")
    tags = [c.id_tag for c in mine if isinstance(c, CardItem)]
    unlocks = list(UnlockItem.query(f"CONN#{connection_id}", UnlockItem.sk.startswith("UNLOCKS#")))
    # Hours of use: those stations ask online (Authorize) rather than hold the cards; nothing to send.
    listed = [u.policy_id for u in unlocks if connection_id not in (u.limited_ids or ())]
    policies = access.Policies()
    entries = policies.read(
        (u.policy_id for u in unlocks), also=[AllowEntryItem.key(p, t) for p in listed for t in tags]
    )
    total = delivered = 0
    for unlock in access.shown(unlocks, policies, who.active | {connection_id}):
        if unlock.policy_id not in listed:
            count = sum(1 for _ in StationItem.gsi2.query(StationItem.policy_key(unlock.policy_id)))
            total += count
            delivered += count if tags else 0
            continue
        needed = max(
            (
                int(e.seq)
                for e in (entries.get(AllowEntryItem.key(unlock.policy_id, t)) for t in tags)
                if e is not None and e.status == TagStatus.ACCEPTED
            ),
            default=None,
        )
        for station in StationItem.gsi2.query(StationItem.policy_key(unlock.policy_id)):
            total += 1
            online = not station.local_list_supported
            # A chunked Full in progress holds the sequence of its first chunk, not yet every entry.
            arrived = int(station.held_seq) >= needed if needed is not None else False
            delivered += needed is not None and (online or (arrived and station.full_below is None))
    return views.StationDelivery(stations=total, delivered=delivered)
