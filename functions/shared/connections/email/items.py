"""Email's items: the admins' new-request alert windows, members' reminders, and the addresses SES
reported as undeliverable (keys: platform.table)."""

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from connections.platform.table import Item, Key

DIGEST = "DIGEST"
REMIND = "REMIND"


class AdminAlertItem(Item, discriminator="admin_alert"):
    """One admin's new-request emails for one connection: at most one per window (email.notices). A rise of
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
    def key(connection_id: str, email: str) -> Key["AdminAlertItem"]:
        return Key(f"CONN#{connection_id}", f"ALERT#{email.lower()}")

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
    def key(connection_id: str, driver_id: str) -> Key["ReminderItem"]:
        return Key(f"CONN#{connection_id}", f"REMIND#{driver_id}")

    def index(self) -> None:
        if not self.due:
            self.gsi3pk = REMIND
            self.gsi3sk = f"{self.remind_at.isoformat()}#{self.connection_id}#{self.driver_id}"
        else:
            self.gsi3pk = self.gsi3sk = None


class SuppressionItem(Item, discriminator="suppression"):
    """An address SES reported as bouncing for good or complaining: nothing is sent to it any more."""

    email = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute(null=True)
    reported_at = UTCDateTimeAttribute()

    @staticmethod
    def key(email: str) -> Key["SuppressionItem"]:
        return Key(f"SUPPRESSED#{email.lower()}", "SUPPRESSED")
