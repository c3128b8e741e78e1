"""A charging session as stored: one item per transaction a station reported, keyed by the station and the
transaction's id (the 1.6 id this service gave, docs/decisions/0028, or the 2.0.1 charger's own).

What the reading side may rely on (written by sessions.recording, docs/decisions/0039 and 0040):
- A session's id for the API: f"{station_id}~{transaction_id}" (`session_id`); `~` is in neither.
- `status`: "active" until an end is reported, then "ended" (and it stays so).
- `started_at`: the charger's time of the start; None while no start was reported (then `flags` holds
  NO_START once the end came). `ended_at`: the end's time, set with status "ended".
- `energy_wh`: the last reading (or the stop's) minus the start's, in Wh; 0 until both are known.
- `price`, `everyone_price`, `currency`, `group_connection_id`, `group_name`, `priced_at`: fixed at the
  start (or at the end for a session whose start never came). `price` None with `priced_at` set: free.
- `cost`, `everyone_cost`: decimal strings in `currency` ("0" when free), set when the session ended and
  is priced; None otherwise (a stop for a start never seen, without a card). The discount given is
  everyone_cost - cost (None everyone_cost: members only, no discount to speak of).
- `driver_id`: the card's driver when registered (gsi1 DRIVER#<driver>#SESSIONS, newest first); every
  session is on gsi2 ORG#<org>#SESSIONS, newest first, by `started_at` ("0" for one without a start).
- `authorized_by`: one of AUTHORIZED_BY; `flags`: UNKNOWN_CARD, NO_START.
"""

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from connections.platform.table import Item, Key, integers, strings

# How the card was let in: from the station's local list, by this service online (Authorize or the start
# itself), or by the charger on its own while offline (OCPP's offline behaviour), or not known (a stop
# for a start never seen).
AUTHORIZED_BY = ("local_list", "online", "offline", "unknown")
# Flags a session can carry, for the people who read it.
UNKNOWN_CARD = "unknown_card"  # accepted offline by the charger, a card nobody registered
NO_START = "no_start"  # its end arrived, its start never did


class SessionPrice(MapAttribute[str, str]):
    """The price fixed at the session's start, amounts as decimal strings (never floats)."""

    currency = UnicodeAttribute(null=True)
    per_kwh = UnicodeAttribute(default="0")
    per_hour = UnicodeAttribute(default="0")
    session_fee = UnicodeAttribute(default="0")


class SessionItem(Item, discriminator="session"):
    station_id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    transaction_id = UnicodeAttribute()
    evse_id = NumberAttribute(null=True)  # 2.0.1
    connector_id = NumberAttribute(null=True)
    id_tag = UnicodeAttribute(null=True)
    id_token_type = UnicodeAttribute(null=True)  # 2.0.1 IdTokenEnumType
    driver_id = UnicodeAttribute(null=True)  # the card's driver, when the card is registered
    authorized_by = UnicodeAttribute(default="unknown")
    status = UnicodeAttribute(default="active")  # active, ended
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    meter_start_wh = NumberAttribute(null=True)
    meter_last_wh = NumberAttribute(null=True)  # the latest reading, by the charger's clock
    meter_last_at = UTCDateTimeAttribute(null=True)
    energy_wh = NumberAttribute(default=0)
    stop_reason = UnicodeAttribute(null=True)
    charging_state = UnicodeAttribute(null=True)  # 2.0.1 chargingState, the latest reported
    seq_nos = integers(default=list)  # 2.0.1 TransactionEvent seqNo already applied
    # The group whose price applied: a connection of the driver's, or None for everyone else's rule.
    group_connection_id = UnicodeAttribute(null=True)
    group_name = UnicodeAttribute(null=True)
    price = SessionPrice(null=True)  # None: the station publishes no price, so the session is free
    everyone_price = SessionPrice(null=True)  # what everyone else paid then, for the discount given
    cost = UnicodeAttribute(null=True)  # decimal string in `currency`, rounded once, when ended
    everyone_cost = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    flags = strings(default=list)
    priced_at = UTCDateTimeAttribute(null=True)  # when `price` was fixed (None: not yet, so no cost)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(station_id: str, transaction_id: str) -> Key["SessionItem"]:
        return Key(f"STATION#{station_id}", f"SESSION#{transaction_id}")

    def index(self) -> None:
        # Newest first for the driver and the organization: both sort by when the session started, or
        # ended while its start is unknown (so it still falls in the periods that exports and totals read).
        at = self.started_at or self.ended_at
        when = at.isoformat() if at else "0"
        order = f"SESSION#{when}#{self.station_id}#{self.transaction_id}"
        # A partition of their own, apart from DRIVER#<driver>: that one (memberships and cards) is read
        # whole by the access check, the map and the allow lists, which must not read every session too.
        driver = f"DRIVER#{self.driver_id}#SESSIONS"
        self.gsi1pk, self.gsi1sk = (driver, order) if self.driver_id else (None, None)
        self.gsi2pk, self.gsi2sk = f"ORG#{self.organization_id}#SESSIONS", order


class StartItem(Item, discriminator="session_start"):
    """A 1.6 StartTransaction as its content says it (connector, idTag, timestamp, meterStart), and the
    transactionId it was given: the same start sent again gets the same id (docs/decisions/0039)."""

    station_id = UnicodeAttribute()
    transaction_id = UnicodeAttribute()

    @staticmethod
    def key(
        station_id: str, connector_id: int, id_tag: str, timestamp: str, meter_start: int
    ) -> Key["StartItem"]:
        return Key(f"STATION#{station_id}", f"START#{connector_id}#{id_tag}#{timestamp}#{meter_start}")
