"""Memberships' items: organizations and their admins, connections and their codes, memberships,
the tries of codes, and the one-time codes that confirm an address (keys: platform.table)."""

from datetime import datetime

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from connections.platform.table import Item, Key, integers, strings

BROWSE = "BROWSE"
EXPIRES = "EXPIRES"


class OrganizationItem(Item, discriminator="organization"):
    organization_id = UnicodeAttribute()
    name = UnicodeAttribute()
    admin_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()

    @staticmethod
    def key(organization_id: str) -> Key["OrganizationItem"]:
        return Key(f"ORG#{organization_id}", "ORG")


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
    def key(organization_id: str, email: str) -> Key["AdminItem"]:
        return Key(f"ORG#{organization_id}", f"ADMIN#{email.lower()}")

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
    email_domains = strings(default=list)
    reverify_days = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str) -> Key["ConnectionItem"]:
        return Key(f"CONN#{connection_id}", "CONN")

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
    def key(code: str) -> Key["CodeItem"]:
        return Key(f"CODE#{code}", "CODE")


class MembershipItem(Item, discriminator="membership"):
    connection_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    driver_email = UnicodeAttribute(null=True)
    driver_email_verified = BooleanAttribute(default=False)
    status = UnicodeAttribute()
    answers = MapAttribute[str, str | int | float | bool](default=dict)
    message = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # An address in the connection's email domains that a code was sent to, while it is not confirmed.
    verify_email = UnicodeAttribute(null=True)
    verify_requested_at = UTCDateTimeAttribute(null=True)
    verify_sends = integers(default=list)  # when codes were asked for (limit)
    version = VersionAttribute()

    @staticmethod
    def key(connection_id: str, driver_id: str) -> Key["MembershipItem"]:
        return Key(f"CONN#{connection_id}", f"MEMBER#{driver_id}")

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

    misses = integers(default=list)
    attempts = NumberAttribute(null=True)  # a user's: raised by every try, the tries' optimistic lock
    trims = NumberAttribute(null=True)  # an address's: raised by every trim of its misses
    expires = TTLAttribute(null=True)

    @staticmethod
    def key(who: str) -> Key["LookupMissesItem"]:
        return Key(f"MISSES#{who}", "MISSES")


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
    def key(connection_id: str, driver_id: str) -> Key["VerificationItem"]:
        return Key(f"CONN#{connection_id}", f"VERIFY#{driver_id}")


class CodesSentItem(Item, discriminator="codes_sent"):
    """When codes were asked for one address, whoever asked and for whichever connection (the limit per
    address, one_time_codes.TO_ADDRESS); written with the request that asks, in one transaction."""

    email = UnicodeAttribute()
    sends = integers(default=list)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(email: str) -> Key["CodesSentItem"]:
        return Key(f"CODESSENT#{email.lower()}", "CODESSENT")
