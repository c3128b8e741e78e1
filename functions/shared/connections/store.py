"""The items of every feature (platform.table has the base and the key conventions)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from connections.domain import geo
from connections.platform.table import Item

BROWSE = "BROWSE"
EXPIRES = "EXPIRES"
DIGEST = "DIGEST"
REMIND = "REMIND"


class OrganizationItem(Item, discriminator="organization"):
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    admin_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()

    @staticmethod
    def key(organization_id: str) -> tuple[str, str]:
        return f"ORG#{organization_id}", "ORG"


class AdminItem(Item, discriminator="admin"):
    organization_id = UnicodeAttribute()
    email = UnicodeAttribute()
    added_at = UTCDateTimeAttribute()
    added_by = UnicodeAttribute()
    new_request_alerts = BooleanAttribute(default=True)  # the admin may turn the emails off
    # When someone signed in with this address (verified) first used the organization: until then nobody
    # has shown the address is right, and no email with drivers' details goes to it.
    signed_in_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(organization_id: str, email: str) -> tuple[str, str]:
        return f"ORG#{organization_id}", f"ADMIN#{email.lower()}"

    @classmethod
    def new(
        cls, organization_id: str, email: str, added_by: str, now: datetime, signed_in: bool = False
    ) -> "AdminItem":
        pk, sk = cls.key(organization_id, email)
        return cls(
            pk,
            sk,
            organization_id=organization_id,
            email=email.lower(),
            added_at=now,
            added_by=added_by,
            signed_in_at=now if signed_in else None,
            gsi1pk=f"ADMIN#{email.lower()}",
            gsi1sk=f"ORG#{organization_id}",
        )


class ConnectionItem(Item, discriminator="connection"):
    connection_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    organization_name = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    public = BooleanAttribute(default=False)
    enabled = BooleanAttribute(default=True)
    code = UnicodeAttribute()
    questions = JSONAttribute(default=list)
    approval_mode = UnicodeAttribute()
    email_domains = ListAttribute(of=UnicodeAttribute, default=list)
    reverify_days = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", "CONN"

    def index(self) -> None:
        """Set the index keys from the attributes: listed under its organization always, browsable only
        while public and enabled."""
        name = self.name.lower()
        self.gsi1pk, self.gsi1sk = f"ORG#{self.organization_id}", f"CONN#{name}#{self.connection_id}"
        if self.public and self.enabled:
            self.gsi2pk, self.gsi2sk = BROWSE, f"{name}#{self.connection_id}"
            self.gsi3pk, self.gsi3sk = BROWSE, f"{self.organization_name.lower()}#{name}#{self.connection_id}"
        else:
            self.gsi2pk = self.gsi2sk = self.gsi3pk = self.gsi3sk = None


class CodeItem(Item, discriminator="code"):
    """Makes a connection code unique across the service and maps it to its connection. It also carries
    what a lookup answers (the driver's view of the connection, and whether it is enabled), written in
    the same transaction as every change of the connection, so that a lookup reads it together with the
    caller's limits and records the attempt before answering, in two round-trips."""

    code = UnicodeAttribute()
    connection_id = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    view = JSONAttribute(null=True)

    @staticmethod
    def key(code: str) -> tuple[str, str]:
        return f"CODE#{code}", "CODE"


class MembershipItem(Item, discriminator="membership"):
    connection_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    driver_email = UnicodeAttribute(null=True)
    driver_email_verified = BooleanAttribute(default=False)
    status = UnicodeAttribute()
    answers = MapAttribute(default=dict)
    message = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # An address in the connection's email domains that a code was sent to, while it is not confirmed.
    verify_email = UnicodeAttribute(null=True)
    verify_requested_at = UTCDateTimeAttribute(null=True)
    verify_sends = ListAttribute(of=NumberAttribute, default=list)  # when codes were asked for (limit)
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str, driver_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", f"MEMBER#{driver_id}"

    @staticmethod
    def status_key(connection_id: str, status: str) -> str:
        return f"CONN#{connection_id}#{status}"

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"DRIVER#{self.driver_id}", f"CONN#{self.connection_id}"
        self.gsi2pk = self.status_key(self.connection_id, self.status)
        self.gsi2sk = f"{self.updated_at.isoformat()}#{self.driver_id}"
        if self.status == "active" and self.expires_at:
            self.gsi3pk = EXPIRES
            self.gsi3sk = f"{self.expires_at.isoformat()}#{self.connection_id}#{self.driver_id}"
        else:
            self.gsi3pk = self.gsi3sk = None


class LookupMissesItem(Item, discriminator="lookup_misses"):
    """Recent misses of one caller (a user or an address) trying connection codes, for the limits: codes
    that matched nothing (lookups, requests) or were taken (codes chosen by admins)."""

    misses = ListAttribute(of=NumberAttribute, default=list)
    attempts = NumberAttribute(null=True)  # a user's: raised by every try, the tries' optimistic lock
    trims = NumberAttribute(null=True)  # an address's: raised by every trim of its misses
    expires = TTLAttribute(null=True)

    @staticmethod
    def key(who: str) -> tuple[str, str]:
        return f"MISSES#{who}", "MISSES"


class PolicyItem(Item, discriminator="policy"):
    """An access policy: which connections' members may use the stations that have it (a station group)."""

    policy_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    connection_ids = ListAttribute(of=UnicodeAttribute, default=list)
    # Not written any more: the list's sequence is an AllowListItem. A table written when it was the
    # policy's may still hold it here, and AllowListItem.sequence continues from it.
    seq = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # For drivers (connections.domain.policy.Rules): who sees its stations (None: everyone), and the hours
    # and price of each group.
    visible_to = ListAttribute(of=UnicodeAttribute, null=True)
    rules = JSONAttribute(null=True)

    @staticmethod
    def key(policy_id: str) -> tuple[str, str]:
        return f"POLICY#{policy_id}", "POLICY"

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"ORG#{self.organization_id}", f"POLICY#{self.policy_id}"


class UnlockItem(Item, discriminator="unlock"):
    """A connection unlocks a policy; carries the policy's connections so that one query of a connection
    tells every policy it unlocks and what else unlocks them. Written with the policy, in a transaction."""

    policy_id = UnicodeAttribute()
    connection_ids = ListAttribute(of=UnicodeAttribute, default=list)
    # Whose cards the list leaves to online authorization (hours of use): members of these connections,
    # and everyone else when the policy has a rule for them.
    limited_ids = ListAttribute(of=UnicodeAttribute, null=True)
    everyone = BooleanAttribute(null=True)

    @staticmethod
    def key(connection_id: str, policy_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", f"UNLOCKS#{policy_id}"


class StationItem(Item, discriminator="station"):
    station_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    latitude = NumberAttribute(null=True)
    longitude = NumberAttribute(null=True)
    policy_id = UnicodeAttribute(null=True)  # none: usable by every driver with a registered card
    local_list_supported = BooleanAttribute(default=True)
    local_auth_list_max_length = NumberAttribute(null=True)
    send_local_list_max_length = NumberAttribute(default=25)
    created_at = UTCDateTimeAttribute()
    # The station's list as of its last acknowledged message (domain.allowlist.StationList).
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
    config_version = NumberAttribute(default=0)  # raised when an admin changes its policy or capabilities
    # The one request awaiting the station's answer (OCPP-J allows one at a time).
    in_flight_id = UnicodeAttribute(null=True)
    in_flight_action = UnicodeAttribute(null=True)
    in_flight_frame = UnicodeAttribute(null=True)
    in_flight_then = JSONAttribute(null=True)
    in_flight_sent_at = UTCDateTimeAttribute(null=True)
    in_flight_config = NumberAttribute(null=True)  # config_version when the request was sent
    in_flight_resends = NumberAttribute(null=True)  # times sent again unanswered (the back-off's exponent)
    # The map and hours of use: its IANA time zone (None: UTC), its organization's name, its geohash.
    time_zone = UnicodeAttribute(null=True)
    organization_name = UnicodeAttribute(null=True)
    geohash = UnicodeAttribute(null=True)

    @staticmethod
    def key(station_id: str) -> tuple[str, str]:
        return f"STATION#{station_id}", "STATION"

    @staticmethod
    def policy_key(policy_id: str | None) -> str:
        return f"POLICY#{policy_id or '-'}"

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
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(id_tag: str) -> tuple[str, str]:
        return f"CARD#{id_tag}", "CARD"

    def index(self) -> None:
        self.gsi1pk, self.gsi1sk = f"DRIVER#{self.driver_id}", f"CARD#{self.id_tag}"


class AllowListItem(Item, discriminator="allow_list"):
    """A policy's allow list as a whole: its sequence, raised for every entry that changes, in the transaction
    that writes the entries. An item of its own rather than an attribute of the policy: the sync function's
    stream filter takes policy items (an admin's edit changes the list), and raising a sequence there made
    every change of the list invoke it a second time, to find nothing to do. Written by the list's first
    change; before it, the sequence is 0."""

    policy_id = UnicodeAttribute()
    seq = NumberAttribute()

    @staticmethod
    def key(policy_id: str) -> tuple[str, str]:
        return f"POLICY#{policy_id}", "LIST"

    @staticmethod
    def keys(policy_id: str) -> list[tuple[str, str]]:
        """What to read for the list's sequence (`sequence`): the policy and its list, in one batch_get."""
        return [PolicyItem.key(policy_id), AllowListItem.key(policy_id)]

    @staticmethod
    def sequence(found: dict, policy_id: str) -> int:
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

    @staticmethod
    def key(policy_id: str, id_tag: str) -> tuple[str, str]:
        return f"POLICY#{policy_id}", f"TAG#{id_tag}"

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

    @staticmethod
    def key(policy_id: str, seq: int) -> tuple[str, str]:
        return AllowChangeItem.partition(policy_id), AllowChangeItem.sort(seq)

    @staticmethod
    def partition(policy_id: str) -> str:
        return f"POLICYSEQ#{policy_id}"

    @staticmethod
    def sort(seq: int) -> str:
        return f"{seq:012d}"


class AdminAlertItem(Item, discriminator="admin_alert"):
    """One admin's new-request emails for one connection: at most one per window (domain.notices). A rise of
    `sent` is the stream's cue to send one; `waiting` puts it on the digest index until the window ends."""

    organization_id = UnicodeAttribute()
    connection_id = UnicodeAttribute()
    email = UnicodeAttribute()
    window_ends = UTCDateTimeAttribute(null=True)
    waiting = BooleanAttribute(default=False)
    listed_through = UTCDateTimeAttribute(null=True)  # requests made until then are in an email already
    sent = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str, email: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", f"ALERT#{email.lower()}"

    def index(self) -> None:
        if self.waiting and self.window_ends:
            self.gsi3pk = DIGEST
            self.gsi3sk = f"{self.window_ends.isoformat()}#{self.connection_id}#{self.email}"
        else:
            self.gsi3pk = self.gsi3sk = None


class ReminderItem(Item, discriminator="reminder"):
    """Reminds a member to confirm again before the membership's re-verification date. The sweep sets `due`
    at `remind_at`, which is the stream's cue to send it."""

    connection_id = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()  # the membership's date this reminder is for
    remind_at = UTCDateTimeAttribute()
    membership_version = NumberAttribute()  # of the change that scheduled it: an older one never overwrites
    due = BooleanAttribute(default=False)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str, driver_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", f"REMIND#{driver_id}"

    def index(self) -> None:
        if not self.due:
            self.gsi3pk = REMIND
            self.gsi3sk = f"{self.remind_at.isoformat()}#{self.connection_id}#{self.driver_id}"
        else:
            self.gsi3pk = self.gsi3sk = None


class VerificationItem(Item, discriminator="verification"):
    """The one-time code sent to an address in a connection's email domains: only its salted hash, for the
    membership's request made at `requested_at`; deleted when used."""

    connection_id = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    email = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    salt = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    expires_at = UTCDateTimeAttribute()
    expires = TTLAttribute(null=True)

    @staticmethod
    def key(connection_id: str, driver_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", f"VERIFY#{driver_id}"


class CodesSentItem(Item, discriminator="codes_sent"):
    """When codes were asked for one address, whoever asked and for whichever connection (the limit per
    address, domain.verification.TO_ADDRESS); written with the request that asks, in one transaction."""

    email = UnicodeAttribute()
    sends = ListAttribute(of=NumberAttribute, default=list)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"CODESSENT#{email.lower()}", "CODESSENT"


class SuppressionItem(Item, discriminator="suppression"):
    """An address SES reported as bouncing for good or complaining: nothing is sent to it any more."""

    email = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute(null=True)
    reported_at = UTCDateTimeAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"SUPPRESSED#{email.lower()}", "SUPPRESSED"


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
