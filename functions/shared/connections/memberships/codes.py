"""Connection codes: how a driver reaches a private connection.

Codes are case-insensitive (stored upper case), 6 to 20 letters or digits, unique across the service.
Generated codes use an alphabet without look-alike characters (0/O, 1/I/L) so that a code read aloud or
copied from a poster is typed right; 10 of those 31 characters give about 8e14 codes, and code lookups
are rate limited (see memberships.ratelimit), so codes cannot be found by trying.
"""

import re
import secrets

from connections.platform.errors import InvalidInput

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_LENGTH = 10
_SHAPE = re.compile(r"^[A-Z0-9]{6,20}$")


def normalize(code: str) -> str:
    """The stored form of a code a person typed: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def is_well_formed(code: str) -> bool:
    return bool(_SHAPE.match(normalize(code)))


def chosen(code: str) -> str:
    """An admin's own code, normalized, or InvalidInput."""
    normal = normalize(code)
    if not _SHAPE.match(normal):
        raise InvalidInput(
            "A connection code has 6 to 20 letters or digits.",
            fields={"code": "Use 6 to 20 letters or digits (case does not matter)."},
        )
    return normal


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))
