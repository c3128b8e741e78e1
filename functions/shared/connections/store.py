"""The table: one DynamoDB table, several item types (single-table design), modelled with PynamoDB.

Every key of the design is built here and nowhere else; docs/architecture.md lists the access patterns.

    organization   pk ORG#<org>        sk ORG
    admin          pk ORG#<org>        sk ADMIN#<email>    gsi1 ADMIN#<email> / ORG#<org>
    connection     pk CONN#<conn>      sk CONN             gsi1 ORG#<org> / CONN#<name>#<conn>
                                                           gsi2 BROWSE / <name>#<conn>                 (*)
                                                           gsi3 BROWSE / <org name>#<name>#<conn>      (*)
    code           pk CODE#<CODE>      sk CODE
    membership     pk CONN#<conn>      sk MEMBER#<driver>  gsi1 DRIVER#<driver> / CONN#<conn>
                                                           gsi2 CONN#<conn>#<status> / <changed at>#<driver>
    lookup misses  pk MISSES#<who>     sk MISSES           (deleted by TTL on `expires`)

    (*) only while the connection is public and enabled: a sparse index is the browse list.
"""

import base64
import binascii
import json
import os
from datetime import UTC, datetime

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from connections.errors import InvalidInput

BROWSE = "BROWSE"


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


class Item(Model):
    class Meta:
        table_name = os.environ.get("TABLE_NAME", "connections")
        region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

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

    @staticmethod
    def key(organization_id: str, email: str) -> tuple[str, str]:
        return f"ORG#{organization_id}", f"ADMIN#{email.lower()}"

    @classmethod
    def new(cls, organization_id: str, email: str, added_by: str, now: datetime) -> "AdminItem":
        pk, sk = cls.key(organization_id, email)
        return cls(
            pk,
            sk,
            organization_id=organization_id,
            email=email.lower(),
            added_at=now,
            added_by=added_by,
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
    """Makes a connection code unique across the service (written in the same transaction as the
    connection) and maps it to its connection."""

    code = UnicodeAttribute()
    connection_id = UnicodeAttribute()

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


class LookupMissesItem(Item, discriminator="lookup_misses"):
    """Recent failed code lookups of one caller (a user or an address), for the rate limit."""

    misses = ListAttribute(of=NumberAttribute, default=list)
    expires = TTLAttribute(null=True)

    @staticmethod
    def key(who: str) -> tuple[str, str]:
        return f"MISSES#{who}", "MISSES"


def now() -> datetime:
    return datetime.now(UTC)


def transaction() -> TransactWrite:
    """A transaction on the table: every write in it happens, or none does."""
    return TransactWrite(connection=Connection(region=Item.Meta.region))


def batch_get(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
    """Several items of any kind in one round-trip, by key; missing ones are absent from the result."""
    return {(item.pk, item.sk): item for item in Item.batch_get(list(dict.fromkeys(keys)))}


# Pagination cursors are DynamoDB's LastEvaluatedKey, opaque to clients. A cursor can only move the start
# of a query whose key condition the server sets, so a forged one reveals nothing the caller may not see.
_CURSOR_ATTRS = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"}


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            isinstance(raw, dict)
            and raw
            and all(
                k in _CURSOR_ATTRS and isinstance(v, dict) and isinstance(v.get("S"), str)
                for k, v in raw.items()
            )
        ):
            return raw
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput(
        "This cursor is not valid: use next_cursor from the previous page.", fields={"cursor": "invalid"}
    )
