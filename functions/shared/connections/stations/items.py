"""Stations' items: access policies and what each connection unlocks, stations, drivers' cards, each
policy's allow list with its entries and changes, and the map index's view of a station (keys:
platform.table)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from connections.platform.table import Found, Item, Key, strings
from connections.stations import geo
from connections.stations.local_list import DEFAULT_CARD_TYPE


class PolicyItem(Item, discriminator="policy"):
    """An access policy: which connections' members may use the stations that have it (a station group)."""

    policy_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    connection_ids = strings(default=list)
    # Not written any more: the list's sequence is an AllowListItem. A table written when it was the
    # policy's may still hold it here, and AllowListItem.sequence continues from it.
    seq = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # For drivers (connections.stations.policy.Rules): who sees its stations (None: everyone), and the hours
    # and price of each group.
    visible_to = strings(null=True)
    rules = JSONAttribute(null=True)

    @staticmethod
    def key(policy_id: str) -> Key["PolicyItem"]:
        return Key(f"POLICY#{policy_id}", "POLICY")

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"ORG#{self.organization_id}", f"POLICY#{self.policy_id}"

    def deciding(self) -> list[str]:
        """The connections whose memberships decide a driver's access and price at its stations: its
        connections, and those whose members see its stations."""
        return sorted({*self.connection_ids, *(self.visible_to or ())})


class UnlockItem(Item, discriminator="unlock"):
    """A connection unlocks a policy; carries the policy's connections so that one query of a connection
    tells every policy it unlocks and what else unlocks them. Written with the policy, in a transaction."""

    policy_id = UnicodeAttribute()
    connection_ids = strings(default=list)
    # Whose cards the list leaves to online authorization (hours of use): members of these connections,
    # and everyone else when the policy has a rule for them.
    limited_ids = strings(null=True)
    everyone = BooleanAttribute(null=True)

    @staticmethod
    def key(connection_id: str, policy_id: str) -> Key["UnlockItem"]:
        return Key(f"CONN#{connection_id}", f"UNLOCKS#{policy_id}")


class ContinuationItem(Item, discriminator="continuation"):
    """The next part of work too large for one invocation (decisions 0042, 0045): reaching a range of a
    policy's stations (STATIONS), or recomputing the entries of its next members after an edit (MEMBERS).
    Its stream record starts the part in the sync function; each part is idempotent and its key is the
    same when a retried batch writes it again and the first write wins (`start`), so a retry redoes its own
    part only. Each part has its own partition key, so that the stream's lanes (ParallelizationFactor 10,
    decision 0045) run the parts of one fan-out side by side. Gone by TTL in a day."""

    STATIONS, MEMBERS = "stations", "members"

    # Its policy, work, run (what started it: the sequence sent for STATIONS, the edit's time for MEMBERS)
    # and part are its key's (`key`), stored there only.
    seq = NumberAttribute(null=True)  # STATIONS: the policy's sequence the stations are brought to
    # MEMBERS: where the drivers to recompute are read from: the policy's entries (source 0), then the
    # active members of each of these connections (1...); `after` the last key read there
    sources = strings(null=True)
    source = NumberAttribute(default=0)
    after = JSONAttribute(null=True)
    until = UnicodeAttribute(null=True)  # STATIONS: the part's last station (gsi2sk); none: to the end
    put_off_times = NumberAttribute(default=0)  # by invocations that had reached as many parts as they may
    expires = TTLAttribute()
    # This write of the part (decision 0047): a retried change writes the same keys again once a split is done
    written = UnicodeAttribute(null=True)

    @staticmethod
    def key(policy_id: str, work: str, run: str, part: int) -> Key["ContinuationItem"]:
        return Key(f"CONTINUE#{policy_id}#{work}#{run}#{part:06d}", "CONTINUE")

    def _named(self) -> tuple[str, str, str, str]:
        """policy, work, run, part: the key's parts (a run may hold any character but none of the others).
        A part written before decision 0045 keeps work, run and part in its sort key."""
        if self.sk != "CONTINUE":
            work, rest = self.sk.split("#", 1)
            run, part = rest.rsplit("#", 1)
            return self.pk.removeprefix("CONTINUE#"), work, run, part
        policy_id, work, rest = self.pk.removeprefix("CONTINUE#").split("#", 2)
        run, part = rest.rsplit("#", 1)
        return policy_id, work, run, part

    @property
    def policy_id(self) -> str:
        return self._named()[0]

    @property
    def work(self) -> str:
        return self._named()[1]

    @property
    def run(self) -> str:
        return self._named()[2]

    @property
    def part(self) -> int:
        return int(self._named()[3])

    @classmethod
    def next(cls, policy_id: str, work: str, run: str, part: int, **fields) -> "ContinuationItem":
        """Part `part` of a run, kept a day (time enough for every retry)."""
        expires = datetime.now(UTC) + timedelta(days=1)
        return cls(*cls.key(policy_id, work, run, part), expires=expires, written=uuid.uuid4().hex, **fields)

    def as_written(self) -> Condition:
        """The part as this write of it left it (parts written before `written`: any)."""
        if self.written is None:
            return ContinuationItem.written.does_not_exist()
        return ContinuationItem.written == self.written

    def put_off(self) -> None:
        """Left to a later invocation: written again, so the stream brings it anew. Not reported failed, as
        each delivery again would count against the mapping's MaximumRetryAttempts and a shard with many
        parts would end in the failure queue. A retried batch that puts it off twice runs it twice, which
        its idempotence allows. One gone by TTL is left gone (an update would write it anew, keys only)."""
        try:
            self.update(
                actions=[ContinuationItem.put_off_times.add(1)], condition=ContinuationItem.pk.exists()
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def start(self) -> None:
        """Written once: a retried batch that writes the part again changes nothing (its `expires` would
        differ), so DynamoDB makes no second stream record and the part does not run twice."""
        try:
            self.save(condition=ContinuationItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise


class StationItem(Item, discriminator="station"):
    station_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    latitude = NumberAttribute(null=True)
    longitude = NumberAttribute(null=True)
    policy_id = UnicodeAttribute(null=True)  # none: usable by every driver with a registered card
    # A copy of its policy's PolicyItem.deciding(), so that a charger's message reads the driver's
    # memberships with the policy rather than after it (docs/decisions/0044). A hint, never trusted: what
    # the policy holds decides, and a message that finds the copy stale corrects it (stations.access).
    policy_connections = strings(null=True)
    local_list_supported = BooleanAttribute(default=True)
    local_auth_list_max_length = NumberAttribute(null=True)
    send_local_list_max_length = NumberAttribute(default=25)
    bytes_per_message = NumberAttribute(null=True)  # 2.0.1 LocalAuthListCtrlr.BytesPerMessage
    ocpp_version = UnicodeAttribute(default="1.6")  # the words it is spoken to in (stations.dialects)
    created_at = UTCDateTimeAttribute()
    # The station's list as of its last acknowledged message (stations.local_list.StationList).
    list_version = NumberAttribute(default=0)
    held_seq = NumberAttribute(default=0)
    held_count = NumberAttribute(default=0)
    needs_full = BooleanAttribute(default=True)
    full_below = NumberAttribute(null=True)
    full_sent = NumberAttribute(default=0)
    held_floor = NumberAttribute(default=0)
    acked_at = UTCDateTimeAttribute(null=True)
    failures = NumberAttribute(default=0)  # refusals in a row (Failed, VersionMismatch)
    # Since when it refuses (unset once it accepts a message again), and what it answered last time.
    failing_since = UTCDateTimeAttribute(null=True)
    last_refusal = UnicodeAttribute(null=True)
    # Since when its list is stale: since the first message it was sent and has not seen through (a change
    # not acknowledged, a refusal, no answer); unset once it has acknowledged everything its policy holds.
    stale_since = UTCDateTimeAttribute(null=True)
    # When its latest connection was announced (IoT Core's presence event), to tell repeated and late ones.
    connected_at = UTCDateTimeAttribute(null=True)
    config_version = NumberAttribute(default=0)  # raised when an admin changes its policy or capabilities
    # The one request awaiting the station's answer (OCPP-J allows one at a time).
    in_flight_id = UnicodeAttribute(null=True)
    in_flight_action = UnicodeAttribute(null=True)
    in_flight_frame = UnicodeAttribute(null=True)
    in_flight_then = JSONAttribute(null=True)
    in_flight_sent_at = UTCDateTimeAttribute(null=True)
    in_flight_config = NumberAttribute(null=True)  # config_version when the request was sent
    in_flight_resends = NumberAttribute(null=True)  # times sent again unanswered (the back-off's exponent)
    # The request's publish failed: whoever finds it in flight sends it again at once (decision 0047)
    in_flight_unsent = BooleanAttribute(null=True)
    # The mark: the changes of policy `pending_policy` up to sequence `pending_seq` must reach the station.
    # Raised by every claim of a SendLocalList and by a fan-out that finds a request in flight, never lowered;
    # the release returns it, so an answer plans its next message without reading the policy (decision 0046).
    pending_policy = UnicodeAttribute(null=True)
    pending_seq = NumberAttribute(null=True)
    # The map and hours of use: its IANA time zone (None: UTC), its organization's name, its geohash.
    time_zone = UnicodeAttribute(null=True)
    organization_name = UnicodeAttribute(null=True)
    geohash = UnicodeAttribute(null=True)

    @staticmethod
    def key(station_id: str) -> Key["StationItem"]:
        return Key(f"STATION#{station_id}", "STATION")

    @staticmethod
    def policy_key(policy_id: str | None) -> str:
        return f"POLICY#{policy_id or '-'}"

    # The stale stations' index (gsi5): one partition, sorted by organization.
    STALE = "STALE"

    @staticmethod
    def stale_key(organization_id: str, station_id: str = "") -> str:
        return f"{organization_id}#{station_id}"

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"ORG#{self.organization_id}", f"STATION#{self.station_id}"
        self.gsi2pk, self.gsi2sk = self.policy_key(self.policy_id), f"STATION#{self.station_id}"
        self.gsi4pk, self.gsi4sk = self.map_keys()

    def map_keys(self) -> tuple[str | None, str | None]:
        """The station's keys on the map index, from its place (none without one)."""
        if self.latitude is None or self.longitude is None:
            self.geohash = None
            return None, None
        self.geohash = geo.encode(float(self.latitude), float(self.longitude))
        return self.map_partition(self.geohash[: geo.PARTITION]), f"{self.geohash}#{self.station_id}"

    @staticmethod
    def map_partition(prefix: str) -> str:
        return f"GEO#{prefix}"


class CardItem(Item, discriminator="card"):
    """A driver's charging credential (an RFID card's idTag); the key makes it unique across the service."""

    id_tag = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    id_token_type = UnicodeAttribute(default=DEFAULT_CARD_TYPE)  # OCPP 2.0.1 IdTokenEnumType
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(id_tag: str) -> Key["CardItem"]:
        return Key(f"CARD#{id_tag}", "CARD")

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"DRIVER#{self.driver_id}", f"CARD#{self.id_tag}"


class TransactionsItem(Item, discriminator="transactions"):
    """The transactionIds given to a 1.6 station's StartTransactions: the last one, raised by one for each
    (docs/decisions/0028). An item of its own, so that a session starting does not touch the station
    item, whose changes the sync function's stream filter reads."""

    station_id = UnicodeAttribute()
    last = NumberAttribute(default=0)

    @staticmethod
    def key(station_id: str) -> Key["TransactionsItem"]:
        return Key(f"STATION#{station_id}", "TRANSACTIONS")


class AllowListItem(Item, discriminator="allow_list"):
    """A policy's allow list as a whole: its sequence, raised for every entry that changes, in the transaction
    that writes the entries. An item of its own rather than an attribute of the policy: the sync function's
    stream filter takes policy items (an admin's edit changes the list), and raising a sequence there made
    every change of the list invoke it a second time, to find nothing to do. Written by the list's first
    change; before it, the sequence is 0."""

    policy_id = UnicodeAttribute()
    seq = NumberAttribute()

    @staticmethod
    def key(policy_id: str) -> Key["AllowListItem"]:
        return Key(f"POLICY#{policy_id}", "LIST")

    @staticmethod
    def keys(policy_id: str) -> list[Key]:
        """What to read for the list's sequence (`sequence`): the policy and its list, in one batch_get."""
        return [PolicyItem.key(policy_id), AllowListItem.key(policy_id)]

    @staticmethod
    def sequence(found: Found, policy_id: str) -> int:
        """The list's sequence from a batch_get of `keys`. A table written when the sequence was the
        policy's keeps it there until the list's next change, which continues from it: the sequences that
        stations hold and the change items keyed by them stay valid, and no migration is needed."""
        head = found.get(AllowListItem.key(policy_id))
        if head is not None:
            return int(head.seq)
        policy = found.get(PolicyItem.key(policy_id))
        return int(policy.seq or 0) if policy is not None else 0


class AllowEntryItem(Item, discriminator="allow_entry"):
    """One idTag on one policy's allow list, stamped with the policy sequence of its last change."""

    policy_id = UnicodeAttribute()
    id_tag = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    status = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    seq = NumberAttribute()
    id_token_type = UnicodeAttribute(null=True)  # the card's (None: written before types, an ISO14443)
    # When what decided it was read (allow_entries._written_over; None: written before this was kept)
    decided_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(policy_id: str, id_tag: str) -> Key["AllowEntryItem"]:
        return Key(f"POLICY#{policy_id}", f"TAG#{id_tag}")

    def index(self) -> None:
        self.gsi2pk, self.gsi2sk = f"TAG#{self.id_tag}", f"POLICY#{self.policy_id}"


class AllowChangeItem(Item, discriminator="allow_change"):
    """The latest change of one idTag on a policy's list, keyed by its sequence number, so that what a
    station lacks ("every change after the sequence it holds") is one query of the base table, read with
    ConsistentRead: an index could lag and show a newer change before an older one. Written, and its
    predecessor for the same idTag deleted, in the transaction that writes the entry."""

    policy_id = UnicodeAttribute()
    id_tag = UnicodeAttribute()
    status = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    seq = NumberAttribute()
    id_token_type = UnicodeAttribute(null=True)  # as its entry's

    @staticmethod
    def key(policy_id: str, seq: int) -> Key["AllowChangeItem"]:
        return Key(AllowChangeItem.partition(policy_id), AllowChangeItem.sort(seq))

    @staticmethod
    def partition(policy_id: str) -> str:
        return f"POLICYSEQ#{policy_id}"

    @staticmethod
    def sort(seq: int) -> str:
        return f"{seq:012d}"


@dataclass(frozen=True)
class MapStation:
    """A station as the map index (gsi4) holds it: what a search shows and filters on."""

    station_id: str
    organization_id: str
    organization_name: str | None
    name: str
    latitude: float
    longitude: float
    policy_id: str | None
    time_zone: str | None


def map_stations(partition: str, low: str, high: str) -> Iterator[MapStation]:
    """The stations of one sort-key range of the map index, every page of it. Read as plain values rather
    than as StationItems: building a full item costs about as much as the rest of a search together
    (bench/station_map.py)."""

    def text(raw: dict, name: str) -> str | None:
        return raw[name]["S"] if name in raw else None

    table = Item._get_connection()
    start = None
    while True:
        page = table.query(
            StationItem.map_partition(partition),
            range_key_condition=Item.gsi4sk.between(low, high),
            index_name="gsi4",
            exclusive_start_key=start,
        )
        for raw in page.get("Items", []):
            yield MapStation(
                station_id=raw["station_id"]["S"],
                organization_id=raw["organization_id"]["S"],
                organization_name=text(raw, "organization_name"),
                name=raw["name"]["S"],
                latitude=float(raw["latitude"]["N"]),
                longitude=float(raw["longitude"]["N"]),
                policy_id=text(raw, "policy_id"),
                time_zone=text(raw, "time_zone"),
            )
        start = page.get("LastEvaluatedKey")
        if not start:
            return
