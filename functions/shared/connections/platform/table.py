"""The table: one DynamoDB table, several item types (single-table design), modelled with PynamoDB.

Every key of the design is built here and nowhere else; docs/access-patterns.md lists the access patterns.

    organization   pk ORG#<org>        sk ORG
    admin          pk ORG#<org>        sk ADMIN#<email>    gsi1 ADMIN#<email> / ORG#<org>
    connection     pk CONN#<conn>      sk CONN             gsi1 ORG#<org> / CONN#<name>#<conn>
                                                           gsi2 BROWSE / <name>#<conn>                 (*)
                                                           gsi3 BROWSE / <org name>#<name>#<conn>      (*)
    code           pk CODE#<CODE>      sk CODE
    membership     pk CONN#<conn>      sk MEMBER#<driver>  gsi1 DRIVER#<driver> / CONN#<conn>
                                                           gsi2 CONN#<conn>#<status> / <changed at>#<driver>
                                                           gsi3 EXPIRES / <expires at>#<conn>#<driver>  (***)
    lookup misses  pk MISSES#<who>     sk MISSES           (deleted by TTL on `expires`)
    policy         pk POLICY#<policy>  sk POLICY           gsi1 ORG#<org> / POLICY#<policy>
    unlock         pk CONN#<conn>      sk UNLOCKS#<policy> (which policies a connection unlocks)
    station        pk STATION#<id>     sk STATION          gsi1 ORG#<org> / STATION#<id>
                                                           gsi2 POLICY#<policy> / STATION#<id>
                                                           gsi3 INFLIGHT#<0-9> / <answer due>#<id>  (**)
                                                           gsi5 STALE / <org>#<id>           (*******)
    transactions   pk STATION#<id>     sk TRANSACTIONS     (a 1.6 station's last transactionId)
    session start  pk STATION#<id>     sk START#<connector>#<idTag>#<timestamp>#<meterStart>
    card           pk CARD#<idTag>     sk CARD             gsi1 DRIVER#<driver> / CARD#<idTag>
    allow list     pk POLICY#<policy>  sk LIST             (the list's sequence)
    allow entry    pk POLICY#<policy>  sk TAG#<idTag>      gsi2 TAG#<idTag> / POLICY#<policy>
    allow change   pk POLICYSEQ#<policy> sk <seq, 12 digits>   (the latest change of each idTag, by sequence)
    continuation   pk CONTINUE#<policy>#<work>#<run>#<part> sk CONTINUE (a part of large work; TTL `expires`)
    admin alert    pk CONN#<conn>      sk ALERT#<email>    gsi3 DIGEST / <window ends>#<conn>#<email>  (****)
    reminder       pk CONN#<conn>      sk REMIND#<driver>  gsi3 REMIND / <remind at>#<conn>#<driver>   (*****)
    verification   pk CONN#<conn>      sk VERIFY#<driver>  (deleted by TTL on `expires`)
    codes sent     pk CODESSENT#<email> sk CODESSENT       (deleted by TTL on `expires`)
    suppression    pk SUPPRESSED#<email> sk SUPPRESSED
    session        pk STATION#<id>     sk SESSION#<tx>     gsi1 DRIVER#<driver>#SESSIONS / SESSION#<started>#…
                                                           gsi2 ORG#<org>#SESSIONS / SESSION#<started>#…
    station        (on the map)                            gsi4 GEO#<geohash[:4]> / <geohash>#<id>  (******)

    (*) only while the connection is public and enabled: a sparse index is the browse list.
    (**) only while a message to the station awaits its answer: the sweep for unanswered ones reads it.
    (***) only while the membership is active and has a re-verification date: the expiry sweep reads it.
    (****) only while requests wait for the admin's next digest: the notify sweep reads it.
    (*****) only until the reminder is due: the notify sweep reads it.
    (******) only for stations with a place; gsi4 projects only what the map needs (see _Gsi4).
    (*******) only while the station's list is stale (`stale_since`): the stale-station reports read it.
"""

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, cast

from pynamodb.attributes import DiscriminatorAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import QueryError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from connections.platform.errors import InvalidInput
from connections.platform.settings import settings

# What the map index (gsi4) projects of a station; template.yaml lists the same names.
MAP_ATTRIBUTES = [
    "kind",
    "station_id",
    "organization_id",
    "name",
    "latitude",
    "longitude",
    "policy_id",
    "time_zone",
    "organization_name",
]


class _Gsi1(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _Gsi2(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class _Gsi3(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class _Gsi4(GlobalSecondaryIndex):
    """The map: stations by geohash (connections.stations.geo). It carries only what a search shows and
    filters on, not the station's allow-list state (a request in flight can be tens of KB)."""

    class Meta:
        index_name = "gsi4"
        projection = IncludeProjection(MAP_ATTRIBUTES)

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


class _Gsi5(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi5"
        projection = AllProjection()

    gsi5pk = UnicodeAttribute(hash_key=True)
    gsi5sk = UnicodeAttribute(range_key=True)


class Item(Model):
    class Meta:
        table_name = settings().table_name
        region = settings().region
        # Connections kept for reuse: as many as the station fan-out's threads (delivery.FAN_OUT), else
        # each call beyond botocore's default 10 opens and discards a connection (TLS each time).
        max_pool_connections = 32

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi1 = _Gsi1()
    gsi2 = _Gsi2()
    gsi3 = _Gsi3()
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    gsi4 = _Gsi4()
    gsi5pk = UnicodeAttribute(null=True)
    gsi5sk = UnicodeAttribute(null=True)
    gsi5 = _Gsi5()

    def index(self) -> None:
        """Set the sparse index keys the item's state calls for; kinds on a sparse index override it."""

    def update_returning_nothing(self, actions: list[Action], condition: Condition | None = None) -> None:
        """Model.update without the item back: PynamoDB's asks DynamoDB for the whole new item (ALL_NEW) and
        parses it into this one. For a caller that reads nothing of it (a station's claim: parsing the item
        it returned was the largest share of a fan-out's CPU, decision 0045). This object stays as read.
        Raises UpdateError as Model.update does."""
        hash_key, range_key = self._get_hash_range_key_serialized_values()
        self._get_connection().update_item(hash_key, range_key, actions=actions, condition=condition)


# PynamoDB types a list's items as its element's attribute class (list[UnicodeAttribute]); a list of scalars
# holds their values. These two say what the items are.
def strings(**options: Any) -> ListAttribute[str]:
    return cast(ListAttribute[str], ListAttribute(of=UnicodeAttribute, **options))


def integers(**options: Any) -> ListAttribute[int]:
    return cast(ListAttribute[int], ListAttribute(of=NumberAttribute, **options))


def now() -> datetime:
    return datetime.now(UTC)


@cache
def _connection() -> Connection:
    # One per process: a new one builds a botocore session and client, ~130 ms of CPU each time.
    return Connection(region=Item.Meta.region)


def transaction() -> TransactWrite:
    """A transaction on the table: every write in it happens, or none does."""
    return TransactWrite(connection=_connection())


class Key[T: Item](NamedTuple):
    """An item's key, typed by the kind it names: each kind's `key` builds one, and what a batch_get finds
    under it is read back as that kind (Found)."""

    pk: str
    sk: str


class Found:
    """What batch_get found, by key; missing items are absent."""

    def __init__(self, items: Iterable[Item] = (), asked: Iterable[Key] = ()) -> None:
        self._items = {(item.pk, item.sk): item for item in items}
        self._asked = frozenset(asked)

    def read(self, key: Key) -> bool:
        """Whether the key was read, its item found or not (absent from a batch_get that did not ask)."""
        return key in self._asked

    def get[T: Item](self, key: Key[T]) -> T | None:
        # A key's prefixes name one kind (the key table above), so the item stored under it is that kind.
        return cast(T | None, self._items.get(key))

    def __getitem__[T: Item](self, key: Key[T]) -> T:
        return cast(T, self._items[key])

    def pop[T: Item](self, key: Key[T]) -> T | None:
        return cast(T | None, self._items.pop(key, None))

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def of[T: Item](self, kind: type[T]) -> list[T]:
        """The items of one kind, in the order read."""
        return [item for item in self._items.values() if isinstance(item, kind)]


def of_kind[T: Item](kind: type[T], item: Item | None) -> T | None:
    """The item if it is of that kind (a stream record's other image has the same key), else None."""
    return item if isinstance(item, kind) else None


def batch_get(keys: Iterable[Key], consistent: bool = False) -> Found:
    """Several items of any kind in one round-trip, by key."""
    keys = list(dict.fromkeys(keys))
    return Found(Item.batch_get(keys, consistent_read=consistent or None), keys)


# Pagination cursors are DynamoDB's LastEvaluatedKey, opaque to clients. A cursor is accepted only for the
# query that made it: its keys must be that index's and its partition the one the server queries, so a
# forged or borrowed cursor can neither read elsewhere nor upset DynamoDB.


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def page(results, cursor: str | None) -> tuple[list, str | None]:
    """The items of one page of a query and the cursor of the next. A cursor made by another listing
    passes decode_cursor's check of its shape but not DynamoDB's of its keys: that is the caller's
    mistake (422), not ours."""
    try:
        items = list(results)
    except QueryError as error:
        if cursor and error.cause_response_code == "ValidationException":
            raise _bad_cursor() from None
        raise
    return items, encode_cursor(results.last_evaluated_key)


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "This cursor is not valid: use next_cursor from the previous page.", fields={"cursor": "invalid"}
    )


def decode_cursor(cursor: str | None, index: str | None, partition: str) -> dict | None:
    """The start key of the query on `index` (None: the table) over `partition`, from a next_cursor."""
    if not cursor:
        return None
    hash_key = f"{index}pk" if index else "pk"
    expected = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            isinstance(raw, dict)
            and set(raw) == expected
            and all(isinstance(v, dict) and isinstance(v.get("S"), str) for v in raw.values())
            and raw[hash_key]["S"] == partition
        ):
            return raw
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise _bad_cursor()


# The discriminator turns a stored item into its class only once that class is defined. Loading every
# feature's items with the base means a read of any kind (a batch of keys, an index query, a stream image)
# works whatever else a function imports. Last in the module: those modules import Item from here.
from connections.email import items as _email_items  # noqa: E402, F401
from connections.memberships import items as _memberships_items  # noqa: E402, F401
from connections.sessions import items as _sessions_items  # noqa: E402, F401
from connections.stations import items as _stations_items  # noqa: E402, F401
