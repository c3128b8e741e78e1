"""One-time codes that prove a driver controls an address in a connection's email domains.

A code has 8 characters of the connection-code alphabet (no look-alikes; about 8.5e11 codes), is valid for
30 minutes and for 5 tries, and is used once. Only a salted scrypt hash is stored: a code is short, so a
fast hash (or an unsalted one) of a leaked table would give the code back in seconds, while scrypt makes
each guess cost memory and time, far beyond a code's 30 minutes; it needs no secret to keep and rotate.
A membership may ask for 3 codes per 15 minutes, and an address receives at most 5 codes an hour whoever
asks and for whichever connection, so that nobody can flood an address with them.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from connections.memberships import codes, ratelimit

CODE_LENGTH = 8
VALID_FOR = timedelta(minutes=30)
MAX_ATTEMPTS = 5
SENDS = ratelimit.Limit(limit=3, window=15 * 60)  # per membership
TO_ADDRESS = ratelimit.Limit(limit=5, window=60 * 60)  # per address, across connections and accounts
# scrypt's interactive-use parameters (RFC 7914): 16 MiB and some 50 ms per hash.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 2**20}


def new_code() -> str:
    return "".join(secrets.choice(codes.ALPHABET) for _ in range(CODE_LENGTH))


def display(code: str) -> str:
    """As the email shows it: two groups of four (typed with or without the dash, in any case)."""
    return f"{code[:4]}-{code[4:]}"


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_code(code: str, salt: str) -> str:
    return hashlib.scrypt(codes.normalize(code).encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def matches(typed: str, salt: str, code_hash: str) -> bool:
    normal = codes.normalize(typed)
    if len(normal) != CODE_LENGTH or not normal.isalnum():
        return False
    return hmac.compare_digest(hash_code(normal, salt), code_hash)


def expired(expires_at: datetime, now: datetime) -> bool:
    return expires_at <= now
